package dev.sparkautograd.dist;

import dev.sparkautograd.BadDataException;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Kernels;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The float32 block kind: its wire forms (Kryo with registration required, Java), the conversion, and its kernels against float64 ones. */
class Float32BlockTest {

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(SerializerInstance ser, T value) {
        ByteBuffer bytes = ser.serialize(value, scala.reflect.ClassTag$.MODULE$.Any());
        return (T) ser.deserialize(bytes, scala.reflect.ClassTag$.MODULE$.Any());
    }

    /** 4 rows: features [4, 3] (one value not a float: 0.1), label [4]. */
    private static Block doubles() {
        Tensor x = Tensor.fromArray(new double[] {0.1, -2, 3.5, 1e-3, 0, 7, -0.25, 1e30, 2, 5, -6, 0.5}, 4, 3);
        return new Block(10, x, Tensor.of(0, 1, 1, 0));
    }

    @Test
    void conversionStoresArrayColumnsAsFloatAndKeepsScalarOnes() {
        Block f = doubles().toFloat32(List.of("features", "label"), false);
        assertTrue(f.isFloat32(0));
        assertFalse(f.isFloat32(1), "a scalar column (labels, ids) stays float64");
        assertEquals(4, f.rows());
        assertEquals(10, f.firstRow());
        double[] original = doubles().column(0).toArray(), widened = f.column(0).toArray();
        for (int i = 0; i < original.length; i++) assertEquals((double) (float) original[i], widened[i], 0.0, "element " + i + ": rounded to float once");
        assertArrayEquals(new int[] {4, 3}, f.column(0).shape());
        assertTrue(f.column(1).equal(Tensor.of(0, 1, 1, 0)));
        Block gathered = Block.gather(0, List.of(f, f), new int[] {1, 0}, new int[] {3, 0});
        assertTrue(gathered.isFloat32(0));
        assertArrayEquals(new double[] {5, -6, 0.5, (float) 0.1, -2, 3.5}, gathered.column(0).toArray());
        assertTrue(f.select(0).isFloat32(0));
    }

    @Test
    void aValueBeyondFloatRangeIsNamedWithColumnAndRow() {
        Block big = new Block(100, Tensor.fromArray(new double[] {1, 2, 3, 4e38}, 2, 2));
        BadDataException e = assertThrows(BadDataException.class, () -> big.toFloat32(List.of("features"), false));
        assertTrue(e.getMessage().contains("column 'features'") && e.getMessage().contains("row 101") && e.getMessage().contains("index 1"), e.getMessage());
        assertEquals(Float.POSITIVE_INFINITY, big.toFloat32(List.of("features"), true).float32(0).data()[3], "allowed: infinite, as a cast");
    }

    @Test
    void blocksWithFloat32ColumnsSurviveKryoAndJavaSerialization() {
        SerializerInstance kryo = SharedSpark.session().sparkContext().env().serializer().newInstance();
        SerializerInstance java = new JavaSerializer(SharedSpark.session().sparkContext().getConf()).newInstance();
        Block.Csr csr = new Block.Csr(3, new int[] {0, 1, 1, 1, 2}, new int[] {1, 0}, new double[] {2, -1.5});
        Block f = doubles().toFloat32(List.of("features", "label"), false);
        Block all = new Block(10, new Tensor[] {null, f.column(1), null}, new Block.Csr[] {null, null, csr}, new Block.Float32[] {f.float32(0), null, null});
        for (SerializerInstance ser : List.of(kryo, java)) {
            Block back = roundTrip(ser, f);
            assertEquals(10, back.firstRow());
            assertEquals(f.float32(0), back.float32(0));
            assertNull(back.float32(1));
            assertTrue(back.column(1).equal(f.column(1)));
            Block three = roundTrip(ser, all);
            assertEquals(f.float32(0), three.float32(0));
            assertTrue(three.column(1).equal(f.column(1)));
            assertEquals(csr, three.csr(2));
            assertFalse(three.isSparse(0) || three.isSparse(1) || three.isFloat32(2));
            // a float64 block still reads as before
            assertTrue(roundTrip(ser, doubles()).column(0).equal(doubles().column(0)));
        }
        // the float32 column's payload is 4 bytes a value (12 values: 48 bytes fewer), less the marker (5 bytes) and kinds (2)
        int f32 = kryo.serialize(f, scala.reflect.ClassTag$.MODULE$.Any()).remaining();
        int f64 = kryo.serialize(doubles(), scala.reflect.ClassTag$.MODULE$.Any()).remaining();
        assertTrue(f32 <= f64 - 4 * 12 + 7, f32 + " vs " + f64 + " bytes");
    }

    @Test
    void kernelsReadingFloatsEqualFloat64KernelsOnTheWidenedBlockToRounding() {
        // 300 rows x 37 (not a multiple of the 4 partial sums); values random floats
        Block.Float32 x = Block.gather(0, List.of(new Block(0, Tensor.randn(71, 300, 37)).toFloat32(List.of("x"), false)),
                new int[300], java.util.stream.IntStream.range(0, 300).toArray()).float32(0);
        Tensor wide = x.widen(), w = Tensor.randn(72, 37), g = Tensor.randn(73, 300);
        double[] z = Float32Kernels.times(x, w).toArray(), zRef = Kernels.mm(wide.toArrayUnsafe(), w.toArrayUnsafe(), 300, 37, 1);
        double[] xg = new double[37];
        Float32Kernels.transposeTimesAdd(x, g.toArrayUnsafe(), xg);
        double[] xgRef = Kernels.mm(g.toArrayUnsafe(), wide.toArrayUnsafe(), 1, 300, 37);
        // the same products in float64, summed in another order: |error| <= n eps sum |terms|
        for (int r = 0; r < 300; r++) assertEquals(zRef[r], z[r], 37 * 0x1p-52 * 40 * 4, "row " + r);
        for (int j = 0; j < 37; j++) assertEquals(xgRef[j], xg[j], 300 * 0x1p-52 * 300 * 4, "column " + j);
        double[] again = new double[37];
        Float32Kernels.transposeTimesAdd(x, g.toArrayUnsafe(), again);
        assertArrayEquals(xg, again, 0.0);
        assertThrows(IllegalArgumentException.class, () -> Float32Kernels.times(x, Tensor.randn(1, 36)));
    }
}
