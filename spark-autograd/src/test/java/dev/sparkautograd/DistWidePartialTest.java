package dev.sparkautograd;

import dev.sparkautograd.dist.Block;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A wide parameter's partial gradient: a partition that touched under a quarter of its rows sends (rows, values),
 * the bytes on the wire follow the touched rows, and the sum has the same bits as with dense partials, run after run.
 */
class DistWidePartialTest {

    /** Bytes the tasks of {@code body} sent: [shuffle bytes written (partials to a tree level), task result bytes]. */
    static long[] bytesSent(Runnable body) {
        SparkContext sc = SharedSpark.jsc().sc();
        AtomicLong shuffle = new AtomicLong(), result = new AtomicLong();
        SparkListener l = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd e) {
                TaskMetrics m = e.taskMetrics();
                if (m == null) return;
                shuffle.addAndGet(m.shuffleWriteMetrics().bytesWritten());
                result.addAndGet(m.resultSize());
            }
        };
        drain(sc);
        sc.addSparkListener(l);
        try {
            body.run();
            drain(sc);
        } finally {
            sc.removeSparkListener(l);
        }
        return new long[] {shuffle.get(), result.get()};
    }

    private static void drain(SparkContext sc) {
        try {
            sc.listenerBus().waitUntilEmpty();
        } catch (TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * [loss, w's gradient..., b's gradient] of a logistic step, sparse partials on or off, the final combine on an
     * executor or not (null: where the default puts it); its bytes go to {@code bytes[0]}.
     */
    private static double[] logisticStep(DistData data, int width, boolean sparsePartials, Boolean finalOnExecutor, long[][] bytes) {
        double[][] out = new double[1][];
        Function<List<Tensor>, Tensor> model = p -> {
            DistTensor z = data.tensor("x").matmul(p.get(0)).add(p.get(1));
            return z.softplus().sub(data.tensor("y").mul(z)).mean();
        };
        List<Tensor> init = List.of(Tensor.randn(3, width).mul(0.1), Tensor.scalar(0.2));
        org.apache.spark.api.java.JavaSparkContext sc = SharedSpark.jsc();
        sc.setLocalProperty(DistTensor.FINAL_COMBINE_ON_EXECUTOR_ABOVE, finalOnExecutor == null ? null : finalOnExecutor ? "1" : Long.toString(Long.MAX_VALUE));
        try {
            bytes[0] = bytesSent(() -> out[0] = FusionSwitch.lossAndGrads(DistTensor.SPARSE_PARTIALS, sparsePartials, init, model));
        } finally {
            sc.setLocalProperty(DistTensor.FINAL_COMBINE_ON_EXECUTOR_ABOVE, null);
        }
        return out[0];
    }

    private static void assertSameBits(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Double.doubleToRawLongBits(expected[i]) != Double.doubleToRawLongBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + ": " + expected[i] + " vs " + actual[i]);
            }
        }
    }

    @Test
    void aMillionWideGradientTravelsAsTouchedRowsWithTheSameBits() {
        int width = 1 << 20, rows = 20_000, nnz = 30, partitions = 4;
        Dataset<Row> df = DistSparseTest.data(8, rows, width, nnz, partitions);
        DistData data = DistData.fromDataset(df, DistData.options().sparse(true).storageLevel(StorageLevel.MEMORY_ONLY()), "x", "y");
        // the rows each partition touches: the distinct feature indices of its blocks
        List<Long> touched = data.blocks().mapPartitions(it -> {
            java.util.BitSet seen = new java.util.BitSet();
            while (it.hasNext()) for (int i : it.next().csr(0).indices()) seen.set(i);
            return List.of((long) seen.cardinality()).iterator();
        }).collect();
        long touchedRows = touched.stream().mapToLong(Long::longValue).sum();
        for (long t : touched) assertTrue(t * 4 < width, "each partition touches under a quarter of the rows: " + touched);

        // partials straight to the driver, as task results (not compressed): bytes in proportion to the touched rows
        long[][] sparseBytes = new long[1][], denseBytes = new long[1][];
        double[] sparse = logisticStep(data, width, true, false, sparseBytes);
        double[] dense = logisticStep(data, width, false, false, denseBytes);
        assertSameBits(dense, sparse, "sparse and dense partials");
        long sparseResults = sparseBytes[0][1], denseResults = denseBytes[0][1];
        assertTrue(denseResults >= 8L * width * partitions, "dense partials: " + denseResults + " bytes");
        // (row, value): 9 to 12 bytes a touched row (Kryo sends a row as its gap, a byte here)
        assertTrue(sparseResults >= 9 * touchedRows && sparseResults <= 12 * touchedRows + 64 * 1024,
                "sparse partials: " + sparseResults + " bytes for " + touchedRows + " touched rows");

        // by default, four 2^20-wide partials (under 2^23 doubles together) go to the driver as task results: no shuffle
        long[][] defaultBytes = new long[1][];
        assertSameBits(sparse, logisticStep(data, width, true, null, defaultBytes), "the default");
        assertEquals(0, defaultBytes[0][0], "no shuffle stage by default");

        // the final combine on an executor: one array to the driver, the same bits
        long[][] sparseCombined = new long[1][], denseCombined = new long[1][];
        double[] combined = logisticStep(data, width, true, true, sparseCombined);
        logisticStep(data, width, false, true, denseCombined);
        double[] again = logisticStep(data, width, true, true, new long[1][]);
        assertSameBits(sparse, combined, "four partials added in order on an executor or on the driver");
        assertSameBits(combined, again, "another run");
        assertTrue(sparseCombined[0][1] < 8L * width + (1 << 20), "the driver receives one array: " + sparseCombined[0][1] + " bytes of results");
        System.out.printf("wide partials, %d x %d, %d nnz/row, %d partitions, %d touched rows. To the driver: %d bytes sparse, %d dense. "
                        + "Final combine on an executor: shuffle (lz4) %d bytes sparse, %d dense; results %d and %d bytes%n",
                rows, width, nnz, partitions, touchedRows, sparseResults, denseResults,
                sparseCombined[0][0], denseCombined[0][0], sparseCombined[0][1], denseCombined[0][1]);
        assertTrue(sparseCombined[0][0] < denseCombined[0][0], "fewer shuffle bytes than dense partials, even compressed");
        data.unpersist();
    }

    @Test
    void aSixteenMillionWideParameterIsBroadcastReducedOnAnExecutorAndReceivedAsOneArray() {
        int width = 1 << 24, rows = 2_000, partitions = 2;
        Dataset<Row> df = DistSparseTest.data(10, rows, width, 3, partitions);
        DistData data = DistData.fromDataset(df, DistData.options().sparse(true), "x", "y");
        Tensor w = Tensor.zeros(width).requiresGrad_(true), b = Tensor.scalar(0).requiresGrad_(true);
        long[] bytes = bytesSent(() -> {
            DistTensor z = data.tensor("x").matmul(w).add(b);
            z.softplus().sub(data.tensor("y").mul(z)).sum().backward();
        });
        // at w = 0, b = 0 the gradient of sum(softplus(z) - y z) is X^T (1/2 - y): a loop over the rows' entries
        double[] expected = new double[width];
        for (Block blk : data.blocks().collect()) {
            Block.Csr c = blk.csr(0);
            int[] off = c.offsets(), idx = c.indices();
            double[] v = c.values(), y = blk.column(1).toArray();
            for (int r = 0; r < c.rows(); r++) for (int e = off[r]; e < off[r + 1]; e++) expected[idx[e]] += v[e] * (0.5 - y[r]);
        }
        assertArrayEquals(expected, w.grad().toArray(), 1e-12);
        assertTrue(bytes[1] < 8L * width + (1 << 20), "the driver receives one 128 MB array: " + bytes[1] + " bytes of task results");
        assertTrue(bytes[0] < 12L * 3 * rows + (1 << 20), "the partials shuffled to the final combine are (rows, values): " + bytes[0] + " bytes");
    }

    @Test
    void anEmbeddingsGradientTravelsAsTouchedRowsWithTheSameBits() {
        int n = 50_000, k = 3;
        List<double[]> ids = new ArrayList<>();
        java.util.Random r = new java.util.Random(9);
        for (int i = 0; i < 400; i++) ids.add(new double[] {r.nextInt(n), r.nextInt(n)});
        DistTensor id = DistTensor.fromRows(SharedSpark.jsc().parallelize(ids, 4), 2);
        Function<List<Tensor>, Tensor> model = p -> id.embedding(p.get(0)).tanh().sum();
        List<Tensor> init = List.of(Tensor.randn(4, n, k));
        long[][] bytes = new long[2][];
        double[][] out = new double[2][];
        for (int s = 0; s < 2; s++) {
            boolean sparse = s == 0;
            bytes[s] = bytesSent(() -> out[sparse ? 0 : 1] = FusionSwitch.lossAndGrads(DistTensor.SPARSE_PARTIALS, sparse, init, model));
        }
        assertArrayEquals(out[1], out[0], 0.0);
        // 4 partials of 50,000 x 3 doubles: under 2^23 together, so they go straight to the driver as task results
        long sparseSent = bytes[0][0] + bytes[0][1], denseSent = bytes[1][0] + bytes[1][1];
        assertTrue(denseSent >= 4L * 8 * n * k, "dense: " + denseSent);
        assertTrue(sparseSent < 4L * (8 * 2 * 100 * k + 4 * 2 * 100) + 64 * 1024, "sparse: " + sparseSent + " bytes for at most 800 touched rows");
        assertEquals(out[0].length, 1 + n * k);
    }
}
