package dev.sparkautograd.dist;

import dev.sparkautograd.testing.SchedulerCounts;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tree reduce's additions happen in an order fixed by partition index: a reducer given the partials
 * in any arrival order adds them in index order, and each level groups the indices as the README says
 * (key {@code i} to reducer {@code i / fanIn}), so the bits of the sum are fixed by the partials, the
 * partition count and the depth.
 */
class TreeReduceTest {

    /**
     * {@code count} partials of {@code length} values of magnitudes 2^-40 .. 2^40, so that adding them in
     * another order changes the rounding of almost every coordinate.
     */
    static List<double[]> partials(int count, int length, long seed) {
        Random r = new Random(seed);
        List<double[]> out = new ArrayList<>();
        for (int p = 0; p < count; p++) {
            double[] a = new double[length];
            for (int i = 0; i < length; i++) a[i] = r.nextGaussian() * Math.scalb(1.0, r.nextInt(81) - 40);
            out.add(a);
        }
        return out;
    }

    /** Left to right, as given: {@code ((a0 + a1) + a2) + ...}. */
    static double[] inOrder(List<double[]> parts) {
        double[] acc = parts.get(0).clone();
        for (double[] a : parts.subList(1, parts.size())) for (int i = 0; i < acc.length; i++) acc[i] += a[i];
        return acc;
    }

    /** The partials added in groups of {@code fanIn} consecutive indices, then the groups' sums in order. */
    static double[] inGroupsOf(int fanIn, List<double[]> parts) {
        List<double[]> groups = new ArrayList<>();
        for (int g = 0; g < parts.size(); g += fanIn) groups.add(inOrder(parts.subList(g, Math.min(parts.size(), g + fanIn))));
        return inOrder(groups);
    }

    private static List<Tuple2<Integer, double[]>> keyed(List<double[]> parts) {
        List<Tuple2<Integer, double[]>> out = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) out.add(new Tuple2<>(i, parts.get(i)));
        return out;
    }

    @Test
    void aReducerAddsInIndexOrderWhateverOrderThePartialsArriveIn() {
        List<double[]> parts = partials(16, 64, 1);
        double[] expected = inOrder(parts);
        Random shuffle = new Random(2);
        int orderMatters = 0;
        for (int trial = 0; trial < 50; trial++) {
            List<Tuple2<Integer, double[]>> arrived = keyed(parts);
            Collections.shuffle(arrived, shuffle);
            // the sum in arrival order, which the sort prevents
            if (!Arrays.equals(expected, inOrder(arrived.stream().map(Tuple2::_2).toList()))) orderMatters++;
            assertArrayEquals(expected, TreeReduce.sumSorted(arrived, 64), "arrival order " + arrived.stream().map(Tuple2::_1).toList());
        }
        assertTrue(orderMatters >= 45, "these partials must be order-sensitive for the test to mean anything: " + orderMatters + " of 50");
    }

    private static JavaRDD<double[]> onePerPartition(List<double[]> parts) {
        JavaSparkContext sc = SharedSpark.jsc();
        JavaRDD<double[]> rdd = sc.parallelize(parts, parts.size());
        assertEquals(parts.size(), rdd.getNumPartitions());
        return rdd;
    }

    /** {@link TreeReduce#sum} on the shared session; the stages it ran go to {@code stages[0]}. */
    private static double[] treeSum(List<double[]> parts, int depth, boolean finalOnExecutor, int[] stages) {
        JavaRDD<double[]> rdd = onePerPartition(parts);
        double[][] out = new double[1][];
        stages[0] = SchedulerCounts.during(SharedSpark.jsc().sc(),
                () -> out[0] = TreeReduce.sum(rdd, parts.get(0).length, depth, finalOnExecutor)).stages();
        return out[0];
    }

    @Test
    void eachLevelAddsGroupsOfConsecutiveIndices() {
        List<double[]> parts = partials(16, 64, 3);
        int[] stages = new int[1];
        // depth 1: every partial to the driver, added left to right; one stage
        assertArrayEquals(inOrder(parts), treeSum(parts, 1, false, stages));
        assertEquals(1, stages[0]);
        // depth 2: fan-in ceil(16^(1/2)) = 4, reducers add 0-3, 4-7, 8-11, 12-15; a shuffle stage, then the driver
        double[] depth2 = treeSum(parts, 2, false, stages);
        assertArrayEquals(inGroupsOf(4, parts), depth2);
        assertEquals(2, stages[0]);
        assertTrue(!Arrays.equals(inOrder(parts), depth2), "another grouping, other bits: the depths are not interchangeable");
        // the final combine on an executor: one more stage, the same additions
        assertArrayEquals(depth2, treeSum(parts, 2, true, stages));
        assertEquals(3, stages[0]);
    }

    @Test
    void fourPartialsAtDepthTwoGoStraightToTheDriver() {
        List<double[]> parts = partials(4, 64, 4);
        int[] stages = new int[1];
        assertArrayEquals(inOrder(parts), treeSum(parts, 2, false, stages));
        assertEquals(1, stages[0], "no shuffle stage for 4 partials");
    }

    /**
     * What the driver receives (the final level's partials), which decides where the final combine runs: counted from
     * the jobs the reduce runs (one stage: every partition's task result; two: the shuffle stage's reducers').
     */
    @Test
    void driverPartialsAreTheTaskResultsTheDriverReceives() {
        int[][] cases = {{4, 2, 4}, {8, 2, 3}, {16, 2, 4}, {16, 1, 16}, {1, 2, 1}, {36, 2, 6}};
        for (int[] c : cases) {
            int partitions = c[0], depth = c[1], expected = c[2];
            assertEquals(expected, TreeReduce.driverPartials(partitions, depth), partitions + " partitions at depth " + depth);
            JavaRDD<double[]> rdd = onePerPartition(partials(partitions, 2, 5));
            SchedulerCounts.Counts counts = SchedulerCounts.during(SharedSpark.jsc().sc(), () -> TreeReduce.sum(rdd, 2, depth, false));
            int received = counts.stages() == 1 ? counts.tasks() : counts.tasks() - partitions;
            assertEquals(expected, received, partitions + " partitions at depth " + depth + ": " + counts);
        }
        assertEquals(3, TreeReduce.driverPartials(27, 3), "27 -> 9 -> 3");
        assertEquals(0, TreeReduce.driverPartials(0, 2));
    }
}
