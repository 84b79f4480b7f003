package dev.sparkautograd;

import dev.sparkautograd.testing.SchedulerCounts;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BroadcastBlockId;
import org.junit.jupiter.api.Test;
import scala.runtime.AbstractFunction1;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One job per step, shape errors before any job, determinism, per-row gradients, dim-0 reductions, freeing, broadcasts. */
class DistBehaviourTest {

    /** Jobs started while running {@code body} (the listener bus drained before and after). */
    static int jobsDuring(Runnable body) {
        return SchedulerCounts.during(SharedSpark.jsc().sc(), body).jobs();
    }

    /** Stages completed while running {@code body}. */
    static int stagesDuring(Runnable body) {
        return SchedulerCounts.during(SharedSpark.jsc().sc(), body).stages();
    }

    static DistData data(int partitions) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", Tensor.randn(1, 30, 3));
        m.put("y", Tensor.rand(2, 30).gt(0.5).mul(1.0));
        return DistData.parallelize(SharedSpark.jsc(), partitions, m, DistData.options().blockRows(4));
    }

    static Tensor logistic(DistData d, Tensor w, Tensor b) {
        DistTensor z = d.tensor("x").matmul(w).add(b);
        return z.softplus().sub(d.tensor("y").mul(z)).mean().add(w.square().sum().mul(0.1));
    }

    @Test
    void oneSparkJobPerLossAndBackwardStep() {
        DistData d = data(8);
        Tensor w = Tensor.zeros(3).requiresGrad_(true), b = Tensor.scalar(0).requiresGrad_(true);
        int jobs = jobsDuring(() -> {
            for (int step = 0; step < 3; step++) {
                Tensor loss = logistic(d, w, b);
                loss.backward();
                try (Autograd.Scope ignored = Autograd.noGrad()) {
                    w.sub_(w.grad().mul(0.5));
                    b.sub_(b.grad().mul(0.5));
                }
                w.grad().zero_();
                b.grad().zero_();
            }
        });
        assertEquals(3, jobs);
    }

    @Test
    void shapeErrorsComeBeforeAnyJob() {
        DistData d = data(3);
        int jobs = jobsDuring(() -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> d.tensor("x").matmul(Tensor.zeros(5)));
            assertTrue(e.getMessage().contains("[30, 3]") && e.getMessage().contains("[5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> d.tensor("x").add(Tensor.zeros(4)));
            assertTrue(e.getMessage().contains("[30, 3]") && e.getMessage().contains("[4]"), e.getMessage());
            // [N] with [N, 1] would broadcast to [N, N] block by block: refused.
            e = assertThrows(IllegalArgumentException.class, () -> d.tensor("y").sub(d.tensor("x").matmul(Tensor.zeros(3, 1))));
            assertTrue(e.getMessage().contains("[30]") && e.getMessage().contains("[30, 1]"), e.getMessage());
            // A parameter with rows of its own would change the number of rows.
            e = assertThrows(IllegalArgumentException.class, () -> d.tensor("x").add(Tensor.zeros(2, 3)));
            assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> d.tensor("x").softmax(0));
            assertTrue(e.getMessage().contains("row dimension"), e.getMessage());
        });
        assertEquals(0, jobs);
    }

    @Test
    void eachOpIsANamedRddOfItsParentsSoTheLineageIsTheForwardGraph() {
        DistData d = data(3);
        Tensor w = Tensor.randn(3, 3);
        DistTensor out = d.tensor("x").matmul(w).sigmoid().mul(d.tensor("y"));
        int[] shape = out.shape();
        assertArrayEquals(new int[] {30}, shape);
        assertEquals("mul", out.blocks().name());
        String lineage = out.blocks().toDebugString();
        for (String op : new String[] {"mul", "sigmoid", "matmul", "parallelize"}) assertTrue(lineage.contains(op), lineage);
        assertEquals(3, out.blocks().getNumPartitions());
        Tensor local = d.tensor("x").collect().matmul(w).sigmoid().mul(d.tensor("y").collect());
        assertTrue(out.collect().allclose(local, 1e-15, 0));
        Tensor x = d.tensor("x").collect();
        assertTrue(d.tensor("x").meanRows(1, true).sub(d.tensor("x").sumRows(-1, false).mapBlocks(List.of(), (b, q) -> b.unsqueeze(1))).collect()
                .allclose(x.mean(1, true).sub(x.sum(-1, false).unsqueeze(1)), 1e-15, 0));
    }

    @Test
    void unalignedTensorsAreRefused() {
        DistTensor a = DistTensor.parallelize(SharedSpark.jsc(), Tensor.ones(10, 2), 2);
        DistTensor b = DistTensor.parallelize(SharedSpark.jsc(), Tensor.ones(10, 2), 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
        assertTrue(e.getMessage().contains("not aligned"), e.getMessage());
    }

    static double[][] gradients(DistData d) {
        Tensor w = Tensor.randn(5, 3).requiresGrad_(true), b = Tensor.scalar(0.3).requiresGrad_(true);
        logistic(d, w, b).backward();
        return new double[][] {w.grad().toArray(), b.grad().toArray()};
    }

    /** {@link #gradients} with {@code property} set to {@code value} for this thread; the stages it ran go to {@code stages[0]}. */
    static double[][] gradientsWith(DistData d, String property, String value, int[] stages) {
        JavaSparkContext sc = SharedSpark.jsc();
        sc.setLocalProperty(property, value);
        try {
            double[][][] out = new double[1][][];
            stages[0] = stagesDuring(() -> out[0] = gradients(d));
            return out[0];
        } finally {
            sc.setLocalProperty(property, null);
        }
    }

    @Test
    void gradientsAreBitwiseIdenticalAcrossRunsAndWhereverTheFinalCombineRuns() {
        DistData d = data(8);
        int[] stages = new int[1];
        double[][] first = gradientsWith(d, DistTensor.TREE_DEPTH, "2", stages);
        assertEquals(2, stages[0], "8 partials at depth 2: the partitions' stage, then a shuffle stage of 3 reducers; the driver adds 3");
        double[][] second = gradients(d);
        assertArrayEquals(first[0], second[0]);
        assertArrayEquals(first[1], second[1]);
        // The final combine on an executor (the driver receives one array): one more stage, the same bits.
        double[][] onExecutor = gradientsWith(d, DistTensor.FINAL_COMBINE_ON_EXECUTOR_ABOVE, "1", stages);
        assertEquals(3, stages[0], "the final combine ran as a stage of its own");
        assertArrayEquals(first[0], onExecutor[0]);
        assertArrayEquals(first[1], onExecutor[1]);
    }

    @Test
    void fourPartitionsAtDepthTwoGoStraightToTheDriver() {
        int[] stages = new int[1];
        double[][] four = gradientsWith(data(4), DistTensor.TREE_DEPTH, "2", stages);
        assertEquals(1, stages[0], "no shuffle stage: the driver adds the 4 partials");
        double[][] depthOne = gradientsWith(data(4), DistTensor.TREE_DEPTH, "1", stages);
        assertEquals(1, stages[0]);
        assertArrayEquals(depthOne[0], four[0], "the same additions as depth 1");
        assertArrayEquals(depthOne[1], four[1]);
    }

    /**
     * Another tree depth groups the additions differently (depth 1: all 8 partials on the driver; depth 3:
     * pairs, then 4 sums), so the bits are the same for the same depth only: across depths the gradients
     * agree to rounding. {@code TreeReduceTest} pins the grouping of each depth.
     */
    @Test
    void otherTreeDepthsAgreeToRounding() {
        DistData d = data(8);
        int[] stages = new int[1];
        double[][] depth2 = gradients(d);
        int[] expectedStages = {0, 1, 2, 2};
        for (int depth : new int[] {1, 3}) {
            double[][] other = gradientsWith(d, DistTensor.TREE_DEPTH, Integer.toString(depth), stages);
            assertEquals(expectedStages[depth], stages[0], "depth " + depth + " (depth 3: 8 > 2 + 4, then 4 is not > 2 + 2: one level)");
            for (int k = 0; k < 2; k++) {
                assertEquals(depth2[k].length, other[k].length);
                for (int i = 0; i < depth2[k].length; i++) {
                    // same sign here, so the distance of the bit patterns is the distance in ulp (1 ulp seen for b)
                    long ulps = Math.abs(Double.doubleToLongBits(depth2[k][i]) - Double.doubleToLongBits(other[k][i]));
                    assertTrue(Math.signum(depth2[k][i]) == Math.signum(other[k][i]) && ulps <= 4,
                            "depth " + depth + ", " + (k == 0 ? "w" : "b") + "[" + i + "]: " + depth2[k][i] + " vs " + other[k][i]);
                }
            }
        }
    }

    @Test
    void perRowGradientsOfAPartitionedInputEqualTheLocalOnes() {
        Tensor xl = Tensor.randn(1, 30, 3).requiresGrad_(true);
        Tensor yl = Tensor.rand(2, 30).gt(0.5).mul(1.0);
        Tensor w = Tensor.randn(9, 3).requiresGrad_(true);
        Tensor zl = xl.matmul(w);
        zl.softplus().sub(yl.mul(zl)).sum().mul(2).backward();

        DistData d = data(3);
        DistTensor x = d.tensor("x").requiresGrad_(true);
        Tensor wd = Tensor.randn(9, 3).requiresGrad_(true);
        DistTensor z = x.matmul(wd);
        z.softplus().sub(d.tensor("y").mul(z)).sum().mul(2).backward();
        assertTrue(x.grad().collect().allclose(xl.grad(), 1e-10, 1e-12));
        assertTrue(wd.grad().allclose(w.grad(), 1e-10, 1e-12));
        assertEquals(x.numPartitions(), x.grad().numPartitions());
        assertArrayEquals(x.shape(), x.grad().shape());
        // Aligned with the input: usable with it in further ops.
        assertEquals(x.mul(x.grad()).sum().item(), xl.detach().mul(xl.grad()).sum().item(), 1e-9);
    }

    @Test
    void perRowGradientsWithoutParametersAndThroughMean() {
        Tensor xl = Tensor.randn(1, 30, 3).requiresGrad_(true);
        xl.square().mean().backward();
        DistTensor x = data(2).tensor("x").requiresGrad_(true);
        int jobs = jobsDuring(() -> x.square().mean().backward());
        assertEquals(1, jobs, "the forward job only: per-row gradients are lazy");
        assertTrue(x.grad().collect().allclose(xl.grad(), 1e-12, 1e-15));
    }

    @Test
    void sumAndMeanOverRowsBackwardRunsItsOwnJob() {
        Tensor xl = Tensor.randn(1, 30, 3);
        Tensor wl = Tensor.randn(3, 3, 2).requiresGrad_(true);
        Tensor sl = xl.matmul(wl).sum(0, false);
        Tensor ml = xl.matmul(wl).tanh().mean(0, true);
        sl.square().sum().add(ml.sum()).backward();

        DistTensor x = data(3).tensor("x");
        Tensor w = Tensor.randn(3, 3, 2).requiresGrad_(true);
        Tensor[] s = new Tensor[2];
        int forward = jobsDuring(() -> {
            s[0] = x.matmul(w).sum(0, false);
            s[1] = x.matmul(w).tanh().mean(0, true);
        });
        assertEquals(2, forward);
        assertTrue(s[0].allclose(sl, 1e-12, 1e-12));
        assertArrayEquals(new int[] {1, 2}, s[1].shape());
        int backward = jobsDuring(() -> s[0].square().sum().add(s[1].sum()).backward());
        assertEquals(2, backward, "one vector-Jacobian job per non-scalar reduction");
        assertTrue(w.grad().allclose(wl.grad(), 1e-10, 1e-12));
    }

    @Test
    void aScalarSumOverRowsIsAlsoOnePass() {
        Tensor xl = Tensor.randn(1, 30, 3);
        Tensor wl = Tensor.randn(4, 3).requiresGrad_(true);
        xl.matmul(wl).sigmoid().mean(0, false).backward();
        DistTensor x = data(3).tensor("x");
        Tensor w = Tensor.randn(4, 3).requiresGrad_(true);
        Tensor[] m = new Tensor[1];
        int jobs = jobsDuring(() -> {
            m[0] = x.matmul(w).sigmoid().mean(0, false);
            m[0].backward();
        });
        assertEquals(1, jobs);
        assertEquals(0, m[0].dim());
        assertTrue(w.grad().allclose(wl.grad(), 1e-10, 1e-12));
    }

    @Test
    void retainGraphAndTheSecondBackwardErrorBehaveAsLocally() {
        DistData d = data(3);
        Tensor w = Tensor.randn(5, 3).requiresGrad_(true), b = Tensor.scalar(0).requiresGrad_(true);
        Tensor loss = logistic(d, w, b);
        assertEquals("AddBackward0", loss.gradFnName());
        loss.backward(null, true);
        Tensor once = w.grad().clone();
        int jobs = jobsDuring(() -> loss.backward(null, true));
        assertEquals(0, jobs, "backward of a scalar reduction only scales what the forward job returned");
        assertTrue(w.grad().allclose(once.mul(2), 1e-12, 0));
        loss.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("backward through the graph a second time"), e.getMessage());
        Tensor s = d.tensor("x").matmul(w).sum();
        assertEquals("DistSumBackward0", s.gradFnName());
    }

    @Test
    void noGradGivesAValueWithoutGraph() {
        DistData d = data(3);
        Tensor w = Tensor.randn(5, 3).requiresGrad_(true);
        Tensor v;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            v = d.tensor("x").matmul(w).sum();
        }
        assertNull(v.gradFnName());
        assertEquals(d.tensor("x").collect().matmul(w.detach()).sum().item(), v.item(), 1e-12);
    }

    @Test
    void parametersModifiedInPlaceAfterTheOpAreRefused() {
        DistData d = data(2);
        Tensor w = Tensor.randn(5, 3);
        DistTensor z = d.tensor("x").matmul(w);
        w.add_(1);
        IllegalStateException e = assertThrows(IllegalStateException.class, z::sum);
        assertTrue(e.getMessage().contains("modified by an inplace operation"), e.getMessage());
    }

    @Test
    void persistedAncestorsAreReusedAndGradientsStillFlow() {
        DistData d = data(3);
        Tensor mu = Tensor.of(0.1, 0.2, 0.3);
        DistTensor xs = d.tensor("x").sub(mu).persist();
        Tensor w = Tensor.randn(5, 3).requiresGrad_(true);
        Tensor wl = w.detach().clone().requiresGrad_(true);
        xs.matmul(w).tanh().sum().backward();
        xs.matmul(w).tanh().sum().backward();
        Tensor xl = d.tensor("x").collect().sub(mu);
        xl.matmul(wl).tanh().sum().mul(2).backward();
        assertTrue(w.grad().allclose(wl.grad(), 1e-10, 1e-12));
        // A persisted tensor that depends on a parameter requiring grad is replayed from above it.
        Tensor v = Tensor.randn(6, 3).requiresGrad_(true);
        Tensor vl = v.detach().clone().requiresGrad_(true);
        DistTensor h = d.tensor("x").mul(v).persist();
        h.sigmoid().sum().backward();
        d.tensor("x").collect().mul(vl).sigmoid().sum().backward();
        assertTrue(v.grad().allclose(vl.grad(), 1e-10, 1e-12));
        h.unpersist();
        xs.unpersist();
        // checkpoint() materializes now (one job or two) and truncates the lineage.
        DistTensor c = d.tensor("x").square().checkpoint();
        assertTrue(c.isPersisted());
        assertEquals(d.tensor("x").collect().square().sum().item(), c.sum().item(), 1e-12);
    }

    @Test
    void replayStartsAtTheNearestPersistedAncestor() {
        DistData d = data(3);
        org.apache.spark.util.LongAccumulator rowsComputed = SharedSpark.jsc().sc().longAccumulator("rows computed");
        DistTensor features = d.tensor("x").mapBlocks(List.of(), (x, q) -> {
            if (org.apache.spark.TaskContext.get() != null) rowsComputed.add(x.size(0));
            return x.tanh();
        });
        Tensor w = Tensor.randn(3, 3).requiresGrad_(true);
        features.matmul(w).sum().backward();
        features.matmul(w).sum().backward();
        assertEquals(60, rowsComputed.value(), "without persist each step recomputes the features");
        features.persist();
        for (int step = 0; step < 3; step++) features.matmul(w).sum().backward();
        assertEquals(90, rowsComputed.value(), "persisted: computed once, then read from the cache");
        Tensor expected = d.tensor("x").collect().tanh().sum(0, false).mul(5);
        assertTrue(w.grad().allclose(expected, 1e-10, 1e-12));
        features.unpersist();
    }

    @Test
    void emptyPartitionsAreFine() {
        Tensor xl = Tensor.randn(3, 3, 2);
        DistTensor x = DistTensor.parallelize(SharedSpark.jsc(), xl, 8);
        assertEquals(8, x.numPartitions());
        Tensor w = Tensor.randn(4, 2).requiresGrad_(true);
        Tensor wl = w.detach().clone().requiresGrad_(true);
        x.matmul(w).exp().sum().backward();
        xl.matmul(wl).exp().sum().backward();
        assertTrue(w.grad().allclose(wl.grad(), 1e-12, 1e-14));
        assertTrue(x.collect().equal(xl));
    }

    @Test
    void noBroadcastIsLeftAfterAThousandSteps() {
        DistTensor x = DistTensor.parallelize(SharedSpark.jsc(), Tensor.randn(1, 6, 2), 1);
        Tensor w = Tensor.zeros(2).requiresGrad_(true);
        // 1,000 jobs: Spark's INFO lines per job would dominate the time.
        String level = org.apache.logging.log4j.LogManager.getRootLogger().getLevel().name();
        SharedSpark.session().sparkContext().setLogLevel("WARN");
        int jobs;
        try {
            jobs = jobsDuring(() -> {
                for (int step = 0; step < 1000; step++) {
                    x.matmul(w).sub(1).square().mean().backward();
                    try (Autograd.Scope ignored = Autograd.noGrad()) {
                        w.sub_(w.grad().mul(0.1));
                    }
                    w.grad().zero_();
                }
            });
        } finally {
            SharedSpark.session().sparkContext().setLogLevel(level);
        }
        assertEquals(1000, jobs);
        List<String> left = libraryBroadcastsHeld();
        assertEquals(List.of(), left, "broadcast blocks of the library still held by the block manager");
        // ... and the loop converged, so the steps did run.
        assertTrue(x.matmul(w).sub(1).square().mean().item() < 1.0);
    }

    /** The driver's block manager holds every live broadcast's value; the library's are its parameter bundles. */
    private static List<String> libraryBroadcastsHeld() {
        List<String> left = new java.util.ArrayList<>();
        for (BlockId id : scala.jdk.javaapi.CollectionConverters.asJava(SparkEnv.get().blockManager().getMatchingBlockIds(
                new AbstractFunction1<BlockId, Object>() {
                    @Override
                    public Object apply(BlockId id) {
                        return id instanceof BroadcastBlockId b && b.field().isEmpty();
                    }
                }))) {
            scala.Option<org.apache.spark.storage.BlockResult> held = SparkEnv.get().blockManager().getLocalValues(id);
            if (held.isEmpty()) continue;
            scala.collection.Iterator<Object> values = held.get().data();
            Object v = values.hasNext() ? values.next() : null;
            SparkEnv.get().blockManager().releaseLock(id, scala.Option.empty());
            if (v != null && v.getClass().getName().equals("dev.sparkautograd.dist.Params")) left.add(id.name());
        }
        return left;
    }

    /** Broadcasts created while running {@code body} (Spark's own per-stage task binaries included): ids are sequential. */
    private static long broadcastsCreatedDuring(Runnable body) {
        JavaSparkContext jsc = SharedSpark.jsc();
        long before = jsc.broadcast(0).id();
        body.run();
        return jsc.broadcast(0).id() - before - 1;
    }

    @Test
    void smallParametersTravelInTheTaskAndLargeOnesAsABroadcastFreedAfterTheJob() throws InterruptedException {
        DistData d = data(3);
        String key = "spark.autograd.inlineParamsBelow";
        JavaSparkContext jsc = SharedSpark.jsc();
        int steps = 5;
        Map<String, long[]> created = new LinkedHashMap<>();
        Map<String, double[]> bits = new LinkedHashMap<>();
        // the default (1 MiB) ships these few parameters inline; a limit of 0 bytes broadcasts every bundle
        for (String limit : new String[] {null, "0"}) {
            jsc.setLocalProperty(key, limit);
            try {
                Tensor w = Tensor.of(0.1, -0.2, 0.3).requiresGrad_(true), b = Tensor.scalar(0.05).requiresGrad_(true);
                double[] out = new double[steps * 5];
                long n = broadcastsCreatedDuring(() -> {
                    for (int step = 0; step < steps; step++) {
                        Tensor loss = logistic(d, w, b);
                        loss.backward();
                        out[step * 5] = loss.item();
                        System.arraycopy(w.grad().toArray(), 0, out, step * 5 + 1, 3);
                        out[step * 5 + 4] = b.grad().item();
                        try (Autograd.Scope ignored = Autograd.noGrad()) {
                            w.sub_(w.grad().mul(0.5));
                            b.sub_(b.grad().mul(0.5));
                        }
                        w.grad().zero_();
                        b.grad().zero_();
                    }
                });
                created.put(String.valueOf(limit), new long[] {n});
                bits.put(String.valueOf(limit), out);
            } finally {
                jsc.setLocalProperty(key, null);
            }
        }
        // the same bits either way; exactly one broadcast more per step when broadcast
        assertArrayEquals(bits.get("null"), bits.get("0"));
        assertEquals(created.get("null")[0] + steps, created.get("0")[0], "broadcasts: inline " + created.get("null")[0]
                + ", broadcast " + created.get("0")[0]);
        // destroyed without waiting for the executors: the block managers drop them in the background
        long deadline = System.nanoTime() + 60_000_000_000L;
        List<String> left = libraryBroadcastsHeld();
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            left = libraryBroadcastsHeld();
        }
        assertEquals(List.of(), left, "broadcast blocks of the library still held by the block manager");
    }
}
