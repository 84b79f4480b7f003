package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.testing.QuietLogs;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;

import java.io.Serializable;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tensors cross Spark's wire through Kryo with registration required (conf/spark-defaults.conf). */
class KryoRegistrationTest {

    @Test
    void sessionUsesKryoWithRegistrationRequired() {
        var conf = SharedSpark.session().sparkContext().getConf();
        assertEquals("true", conf.get("spark.kryo.registrationRequired"));
        assertEquals(AutogradKryoRegistrator.class.getName(), conf.get("spark.kryo.registrator"));
        assertInstanceOf(KryoSerializer.class, SharedSpark.session().sparkContext().env().serializer());
        // Tensors are not java.io.Serializable: a job that moves them can only be using Kryo.
        assertFalse(Serializable.class.isAssignableFrom(Tensor.class));
    }

    @Test
    void tensorsSurviveParallelizeBroadcastShuffleAndCollect() {
        JavaSparkContext jsc = SharedSpark.jsc();
        List<Tensor> blocks = IntStream.range(0, 12)
                .mapToObj(i -> Tensor.arange(6).add(10.0 * i).reshape(2, 3))
                .toList();
        // The closure carries a Tensor through a broadcast (broadcast values use Kryo; closures
        // themselves are always Java-serialized by Spark, and Tensor is deliberately not Serializable).
        Broadcast<Tensor> weight = jsc.broadcast(Tensor.of(1, -2, 0.5));
        try {
            JavaRDD<Tensor> scaled = jsc.parallelize(blocks, 3)          // task data: Kryo
                    .map(t -> t.mul(weight.value()))
                    .repartition(4);                                   // shuffle: Kryo
            assertEquals(4, scaled.getNumPartitions());
            List<Tensor> out = scaled.collect();                       // task results: Kryo

            assertEquals(blocks.size(), out.size());
            List<double[]> got = out.stream().map(Tensor::toArray)
                    .sorted(Comparator.comparingDouble(a -> a[0])).toList();
            for (int i = 0; i < blocks.size(); i++) {
                double[] expected = blocks.get(i).mul(Tensor.of(1, -2, 0.5)).toArray();
                assertArrayEquals(expected, got.get(i), 0.0, "block " + i);
            }
            for (Tensor t : out) {
                assertArrayEquals(new int[] {2, 3}, t.shape());
                assertTrue(t.isLeaf());
                assertFalse(t.requiresGrad());
            }
        } finally {
            weight.destroy();
        }
    }

    @Test
    void tensorRoundTripKeepsShapeValuesAndBoolFlag() {
        SerializerInstance kryo = SharedSpark.session().sparkContext().env().serializer().newInstance();
        Tensor x = Tensor.fromArray(new double[] {1.5, -0.0, Double.NaN, 1e300, -7, 3}, 3, 2);
        Tensor back = roundTrip(kryo, x);
        assertArrayEquals(new int[] {3, 2}, back.shape());
        assertArrayEquals(x.toArray(), back.toArray(), 0.0);
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(back.toArray()[1]));

        Tensor scalar = roundTrip(kryo, Tensor.scalar(42));
        assertEquals(0, scalar.dim());
        assertEquals(42.0, scalar.item());

        Tensor mask = roundTrip(kryo, Tensor.of(1, 2, 3).gt(Tensor.of(2, 2, 2)));
        assertTrue(mask.isBool());
        assertArrayEquals(new double[] {0, 0, 1}, mask.toArray(), 0.0);

        Tensor[] array = roundTrip(kryo, new Tensor[] {Tensor.of(1), Tensor.zeros(2, 2)});
        assertArrayEquals(new int[] {2, 2}, array[1].shape());
        double[][] rows = roundTrip(kryo, new double[][] {{1, 2}, {3}});
        assertArrayEquals(new double[] {3}, rows[1], 0.0);
    }

    @Test
    void unregisteredClassIsRefused() {
        // Proves registration is really required: a record of a class the registrator does not know
        // fails the shuffle write on the executor. One partition, so every log line of the expected
        // failure is written before the job fails (and is silenced, to keep the test output readable).
        JavaSparkContext jsc = SharedSpark.jsc();
        Exception e;
        try (var quiet = QuietLogs.off("org.apache.spark.executor", "org.apache.spark.scheduler")) {
            e = assertThrows(Exception.class, () -> jsc.parallelize(List.of(1, 2), 1)
                    .map(Unregistered::new)
                    .repartition(1)
                    .collect());
        }
        assertTrue(fullMessage(e).contains("Class is not registered: " + Unregistered.class.getName()),
                () -> "unexpected failure: " + fullMessage(e));

        SerializerInstance kryo = SharedSpark.session().sparkContext().env().serializer().newInstance();
        Exception direct = assertThrows(Exception.class, () -> roundTrip(kryo, new Unregistered(3)));
        assertTrue(fullMessage(direct).contains("Class is not registered: " + Unregistered.class.getName()),
                () -> fullMessage(direct));
    }

    /** A class nobody registers (java.io.Serializable, so only Kryo's registration can refuse it). */
    static final class Unregistered implements Serializable {
        int value;

        Unregistered() {}

        Unregistered(int value) {
            this.value = value;
        }
    }

    private static <T> T roundTrip(SerializerInstance kryo, T value) {
        @SuppressWarnings("unchecked")
        scala.reflect.ClassTag<T> tag = (scala.reflect.ClassTag<T>) (Object) scala.reflect.ClassTag$.MODULE$.AnyRef();
        return kryo.deserialize(kryo.serialize(value, tag), tag);
    }

    private static String fullMessage(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) sb.append(c).append(" | ");
        return sb.toString();
    }

    /** Java serialization (Spark's fallback, e.g. in task closures) keeps what Kryo keeps: shapes, values and the bool flag. */
    @Test
    void blocksSurviveJavaSerializationWithTheirDtype() throws Exception {
        Block b = new Block(7, Tensor.of(1, -2, 3), Tensor.of(0, 1, 1).gt(0.5));
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(b);
        }
        Block back;
        try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            back = (Block) in.readObject();
        }
        assertEquals(7, back.firstRow());
        assertTrue(back.column(0).equal(b.column(0)));
        assertFalse(back.column(0).isBool());
        assertTrue(back.column(1).isBool(), "a comparison's bool flag survives");
        assertEquals("tensor([False,  True,  True])", back.column(1).toString());
    }
}
