package dev.sparkautograd.dist;

import dev.sparkautograd.testing.LocalCluster;
import dev.sparkautograd.testing.SchedulerCounts;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tree reduce with its reducers on two executor JVMs ({@code local-cluster[2,1,1024]}). A reducer reads
 * its own executor's map outputs before the other executor's, so the partials arrive out of index order
 * (the test shows that they do): only the reducer's sort by partition index keeps the in-process bits.
 */
class TreeReduceClusterIT {

    @Test
    void reducersOnExecutorsAddInPartitionOrderWhateverTheArrival() throws Exception {
        // 16 partials at depth 2: fan-in 4, so 4 reducers of 4 partials each, then the driver.
        List<double[]> parts = TreeReduceTest.partials(16, 256, 5);
        double[] expected = TreeReduceTest.inGroupsOf(4, parts);
        try (LocalCluster cluster = LocalCluster.start("tree-reduce-cluster-it")) {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(cluster.session().sparkContext());
            JavaRDD<double[]> rdd = sc.parallelize(parts, parts.size());
            boolean outOfOrder = false;
            for (int run = 0; run < 2; run++) {
                double[][] out = new double[2][];
                var counts = SchedulerCounts.during(sc.sc(), () -> out[0] = TreeReduce.sum(rdd, 256, 2, false));
                assertEquals(2, counts.stages(), "a map stage and the reducers' shuffle stage");
                assertArrayEquals(expected, out[0], "run " + run + ": the in-process bits");
                counts = SchedulerCounts.during(sc.sc(), () -> out[1] = TreeReduce.sum(rdd, 256, 2, true));
                assertEquals(3, counts.stages(), "with the final combine on an executor");
                assertArrayEquals(expected, out[1], "run " + run + ", final combine on an executor");
                outOfOrder |= arrivalOrders(rdd).stream().anyMatch(keys -> !keys.equals(keys.stream().sorted().toList()));
            }
            assertEquals(2, sc.sc().getExecutorIds().size(), "two executor JVMs");
            assertTrue(outOfOrder, "no reducer ever received its partials out of index order: this test could not see a sum in arrival order");
        }
    }

    /** The partition indices in the order each of the 4 reducers receives them through the same shuffle. */
    private static List<List<Integer>> arrivalOrders(JavaRDD<double[]> rdd) {
        return rdd.mapPartitionsWithIndex((Integer p, java.util.Iterator<double[]> it) -> {
                    List<Tuple2<Integer, double[]>> one = new ArrayList<>();
                    it.forEachRemaining(a -> one.add(new Tuple2<>(p, a)));
                    return one.iterator();
                }, true)
                .mapToPair(t -> t)
                .partitionBy(new TreeReduce.IndexPartitioner(4, 4))
                .mapPartitions(it -> {
                    List<Integer> keys = new ArrayList<>();
                    it.forEachRemaining(t -> keys.add(t._1()));
                    // as double[]: what Kryo is registered for
                    return List.of(keys.stream().mapToDouble(Integer::doubleValue).toArray()).iterator();
                })
                .collect().stream()
                .map(keys -> java.util.Arrays.stream(keys).mapToObj(k -> (int) k).toList())
                .toList();
    }
}
