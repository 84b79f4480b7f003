package dev.sparkautograd.dist;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CSR block kind: its wire forms (Kryo with registration required, Java) and its product with a parameter, against dense. */
class SparseBlockTest {

    /** [[0, 2, 0], [0, 0, 0], [-1.5, 0, 4]] with an explicit zero row. */
    private static Block.Csr csr() {
        return new Block.Csr(3, new int[] {0, 1, 1, 3}, new int[] {1, 0, 2}, new double[] {2, -1.5, 4});
    }

    private static Tensor dense() {
        return Tensor.fromArray(new double[] {0, 2, 0, 0, 0, 0, -1.5, 0, 4}, 3, 3);
    }

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(SerializerInstance ser, T value) {
        ByteBuffer bytes = ser.serialize(value, scala.reflect.ClassTag$.MODULE$.Any());
        return (T) ser.deserialize(bytes, scala.reflect.ClassTag$.MODULE$.Any());
    }

    @Test
    void blocksWithSparseColumnsSurviveKryoAndJavaSerialization() {
        SerializerInstance kryo = SharedSpark.session().sparkContext().env().serializer().newInstance();
        SerializerInstance java = new JavaSerializer(SharedSpark.session().sparkContext().getConf()).newInstance();
        Block mixed = new Block(7, new Tensor[] {null, Tensor.of(1, 0, 1)}, new Block.Csr[] {csr(), null});
        for (SerializerInstance ser : List.of(kryo, java)) {
            Block back = roundTrip(ser, mixed);
            assertEquals(7, back.firstRow());
            assertEquals(3, back.rows());
            assertTrue(back.isSparse(0));
            assertFalse(back.isSparse(1));
            assertEquals(csr(), back.csr(0));
            assertTrue(back.column(1).equal(Tensor.of(1, 0, 1)));
            Block dense = roundTrip(ser, new Block(3, Tensor.of(1, 2)));
            assertFalse(dense.isSparse(0));
            assertTrue(dense.tensor().equal(Tensor.of(1, 2)));
            assertEquals(csr(), roundTrip(ser, csr()));
        }
        assertThrows(IllegalStateException.class, () -> mixed.column(0), "a sparse column is read with csr()");
    }

    @Test
    void denseBlocksKeepTheirKryoBytes() {
        // the format dense blocks always had: first row, column count, each column's tensor
        com.esotericsoftware.kryo.Kryo k = new com.esotericsoftware.kryo.Kryo();
        Tensor a = Tensor.of(1.5, -2), b = Tensor.fromArray(new double[] {3, 4, 5, 6}, 2, 2);
        com.esotericsoftware.kryo.io.Output expected = new com.esotericsoftware.kryo.io.Output(256);
        expected.writeLong(5);
        expected.writeInt(2, true);
        new AutogradKryoRegistrator.TensorSerializer().write(k, expected, a);
        new AutogradKryoRegistrator.TensorSerializer().write(k, expected, b);
        com.esotericsoftware.kryo.io.Output actual = new com.esotericsoftware.kryo.io.Output(256);
        new AutogradKryoRegistrator.BlockSerializer().write(k, actual, new Block(5, a, b));
        assertArrayEquals(expected.toBytes(), actual.toBytes());
    }

    @Test
    void theProductAndItsGradientsEqualDenseOnesToSecondOrder() {
        for (int[] shape : new int[][] {{3}, {3, 2}}) {
            Tensor w0 = Tensor.randn(51, shape).mul(0.7);
            double[][] out = new double[2][];
            for (int k = 0; k < 2; k++) {
                Tensor w = w0.detach().requiresGrad_(true);
                Tensor y = k == 0 ? dense().matmul(w) : SparseStep.matmul(csr(), w);
                Tensor loss = y.sigmoid().sum();
                Tensor g = Autograd.gradWithGraph(loss, w);
                Tensor hv = Autograd.grad(g.mul(Tensor.randn(52, shape)).sum(), w);
                out[k] = concat(y.detach().toArray(), g.detach().toArray(), hv.toArray());
            }
            assertArrayEquals(out[0], out[1], 1e-12, "w of shape " + java.util.Arrays.toString(shape));
            Tensor w = w0.detach().requiresGrad_(true);
            assertTrue(Autograd.gradcheck(p -> SparseStep.matmul(csr(), p.get(0)).tanh().sum(), List.of(w)));
            assertTrue(Autograd.gradgradcheck(p -> SparseStep.matmul(csr(), p.get(0)).tanh().sum(), List.of(w)));
        }
    }

    private static double[] concat(double[]... parts) {
        int n = 0;
        for (double[] p : parts) n += p.length;
        double[] out = new double[n];
        int o = 0;
        for (double[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    @Test
    void offsetsMustCoverTheEntries() {
        assertThrows(IllegalArgumentException.class, () -> new Block.Csr(3, new int[] {0, 2}, new int[] {1}, new double[] {1}));
    }
}
