package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Task failures do not change a bit of the gradient: every task of the step fails its first attempt
 * (master {@code local[2,4]} retries it), and the result equals the failure-free run on {@code local[2]}.
 */
class DistRetryTest {

    static double[][] gradients(JavaSparkContext sc, boolean failFirstAttempts) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", Tensor.randn(21, 40, 3));
        m.put("y", Tensor.randn(22, 40, 1));
        DistData d = DistData.parallelize(sc, 6, m, DistData.options().blockRows(3));
        List<Tensor> p = List.of(Tensor.randn(23, 3, 4).requiresGrad_(true), Tensor.randn(24, 4).requiresGrad_(true),
                Tensor.randn(25, 4, 1).requiresGrad_(true));
        DistTensor out = d.tensor("x").mapBlocks(p, (x, q) -> {
            TaskContext tc = TaskContext.get();
            if (failFirstAttempts && tc != null && tc.attemptNumber() == 0) {
                throw new IllegalStateException("injected failure of task attempt 0 (partition " + tc.partitionId() + ")");
            }
            return x.matmul(q.get(0)).add(q.get(1)).relu().matmul(q.get(2));
        });
        Tensor loss = out.sub(d.tensor("y")).square().mean().add(p.get(0).square().sum().mul(0.01));
        loss.backward();
        return new double[][] {p.get(0).grad().toArray(), p.get(1).grad().toArray(), p.get(2).grad().toArray(), {loss.item()}};
    }

    static SparkSession session(String master) {
        return SparkSession.builder()
                .master(master)
                .appName("spark-autograd-retry-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                .config("spark.kryo.registrator", "dev.sparkautograd.dist.AutogradKryoRegistrator")
                .config("spark.kryo.registrationRequired", "true")
                .getOrCreate();
    }

    static void stop(SparkSession s) {
        s.stop();
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }

    @Test
    void injectedTaskFailuresAndOtherSlotCountsGiveBitwiseIdenticalGradients() {
        double[][] reference = gradients(SharedSpark.jsc(), false);
        SharedSpark.session().stop();
        // Another number of task slots (one core): the same bits.
        SparkSession single = session("local[1]");
        try {
            double[][] one = gradients(JavaSparkContext.fromSparkContext(single.sparkContext()), false);
            for (int i = 0; i < reference.length; i++) assertArrayEquals(reference[i], one[i], "local[1], array " + i);
        } finally {
            stop(single);
        }
        SparkSession retrying = session("local[2,4]");
        try {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(retrying.sparkContext());
            sc.setLogLevel("ERROR");
            java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
            org.apache.spark.scheduler.SparkListener failures = new org.apache.spark.scheduler.SparkListener() {
                @Override
                public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd taskEnd) {
                    if (!taskEnd.taskInfo().successful()) failed.incrementAndGet();
                }
            };
            sc.sc().addSparkListener(failures);
            double[][] retried = gradients(sc, true);
            sc.sc().listenerBus().waitUntilEmpty();
            assertEquals(6, failed.get(), "each of the 6 map tasks failed once");
            for (int i = 0; i < reference.length; i++) assertArrayEquals(reference[i], retried[i], "array " + i);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError(e);
        } finally {
            stop(retrying);
        }
        assertTrue(org.apache.spark.SparkContext$.MODULE$.getActive().isEmpty(), "the retrying context is stopped");
        // The shared session comes back for the next tests.
        assertEquals(3.0, SharedSpark.jsc().parallelize(List.of(1, 2), 2).map(i -> (double) i).reduce(Double::sum));
    }
}
