package dev.sparkautograd.dist;

import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * A deterministic tree sum of one array per partition. Each partition's partial is keyed by its
 * partition index; every level sends index {@code i} to reducer {@code i / fanIn}, and a reducer sorts
 * what it received by index before adding, so the additions happen in an order fixed by partition
 * index, never by task completion (unlike {@code RDD.treeAggregate}, whose last level merges on the
 * driver as tasks finish). Same partials in, same bits out, whatever the scheduling or retries.
 */
final class TreeReduce {
    private TreeReduce() {}

    /** Sends key i to partition i / fanIn. */
    static final class IndexPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int partitions;
        private final int fanIn;

        IndexPartitioner(int partitions, int fanIn) {
            this.partitions = partitions;
            this.fanIn = fanIn;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            return (Integer) key / fanIn;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof IndexPartitioner p && p.partitions == partitions && p.fanIn == fanIn;
        }

        @Override
        public int hashCode() {
            return partitions * 31 + fanIn;
        }
    }

    /**
     * The sum of the partials (each partition of {@code partials} yields exactly one array of {@code length}).
     *
     * @param depth            levels of the tree, counting the final combine (1: every partial goes to the driver)
     * @param finalOnExecutor  when true the last combine also runs on an executor and the driver receives one array
     */
    static double[] sum(JavaRDD<double[]> partials, int length, int depth, boolean finalOnExecutor) {
        return sumPartials(partials.map(Partial::dense), length, depth, finalOnExecutor, false);
    }

    /**
     * The sum of {@link Partial}s (one per partition, {@code length} elements in all), added segment by segment in
     * partition order with the bits of adding their dense forms. With {@code sparse}, a level's sums travel on as
     * (rows, values) where they are still under a quarter full.
     */
    static double[] sumPartials(JavaRDD<Partial> partials, int length, int depth, boolean finalOnExecutor, boolean sparse) {
        int count = partials.getNumPartitions();
        if (count == 0) return new double[length];
        int fanIn = Math.max(2, (int) Math.ceil(Math.pow(count, 1.0 / Math.max(1, depth))));
        boolean levels = depth > 1 && count > fanIn + (count + fanIn - 1) / fanIn;
        if (!levels && !(finalOnExecutor && count > 1)) {
            // Every partial straight to the driver: one job over the partials themselves (no keyed RDDs to build),
            // each stored at its partition's index, then added in that order: the bits of the keyed path below.
            double[] out = Partial.sum(StepCalls.onePerPartition(partials)).flat();
            if (out.length != length) throw new IllegalStateException("partials of length " + out.length + ", expected " + length);
            return out;
        }
        JavaPairRDD<Integer, Partial> level = partials
                .mapPartitionsWithIndex((Integer p, Iterator<Partial> it) -> keyed(p, it), true)
                .mapToPair(t -> t);
        // As RDD.treeAggregate: a level only where it cuts what the next one receives (4 partials at
        // depth 2 go straight to the driver; a shuffle stage for them would cost more than it saves).
        for (int l = 1; l < depth && count > fanIn + (count + fanIn - 1) / fanIn; l++) {
            count = (count + fanIn - 1) / fanIn;
            level = combine(level, fanIn, count, sparse);
        }
        if (finalOnExecutor && count > 1) {
            level = combine(level, count, 1, false);
        }
        level.setName("treeReduce");
        List<Tuple2<Integer, Partial>> parts = new ArrayList<>(level.collect());
        double[] out = sortedSum(parts).flat();
        if (out.length != length) throw new IllegalStateException("partials of length " + out.length + ", expected " + length);
        return out;
    }

    private static JavaPairRDD<Integer, Partial> combine(JavaPairRDD<Integer, Partial> level, int fanIn, int reducers, boolean sparse) {
        final int f = fanIn;
        return level.partitionBy(new IndexPartitioner(reducers, f))
                .mapPartitionsWithIndex((Integer p, Iterator<Tuple2<Integer, Partial>> it) -> {
                    List<Tuple2<Integer, Partial>> got = new ArrayList<>();
                    it.forEachRemaining(got::add);
                    List<Tuple2<Integer, Partial>> out = new ArrayList<>(1);
                    if (!got.isEmpty()) out.add(new Tuple2<>(p, sortedSum(got).result(sparse)));
                    return out.iterator();
                }, true)
                .mapToPair(t -> t);
    }

    private static <T> Iterator<Tuple2<Integer, T>> keyed(int p, Iterator<T> it) {
        List<Tuple2<Integer, T>> out = new ArrayList<>(1);
        while (it.hasNext()) out.add(new Tuple2<>(p, it.next()));
        if (out.size() != 1) throw new IllegalStateException("partition " + p + " yielded " + out.size() + " partials instead of one");
        return out.iterator();
    }

    /**
     * How many partials the driver receives from {@code partitions} partials at {@code depth} when the final combine
     * stays on the driver: the last level's count, as {@link #sumPartials} forms the levels.
     */
    static int driverPartials(int partitions, int depth) {
        int count = partitions;
        if (count == 0) return 0;
        int fanIn = Math.max(2, (int) Math.ceil(Math.pow(count, 1.0 / Math.max(1, depth))));
        for (int l = 1; l < depth && count > fanIn + (count + fanIn - 1) / fanIn; l++) count = (count + fanIn - 1) / fanIn;
        return count;
    }

    /** Adds the partials in increasing key order. */
    static Partial.Sum sortedSum(List<Tuple2<Integer, Partial>> parts) {
        parts.sort(Comparator.comparing(Tuple2::_1));
        List<Partial> ordered = new ArrayList<>(parts.size());
        for (Tuple2<Integer, Partial> t : parts) ordered.add(t._2());
        return Partial.sum(ordered);
    }

    /** Adds the arrays in increasing key order. */
    static double[] sumSorted(List<Tuple2<Integer, double[]>> parts, int length) {
        List<Tuple2<Integer, Partial>> wrapped = new ArrayList<>(parts.size());
        for (Tuple2<Integer, double[]> t : parts) {
            if (t._2().length != length) throw new IllegalStateException("partial of length " + t._2().length + ", expected " + length);
            wrapped.add(new Tuple2<>(t._1(), Partial.dense(t._2())));
        }
        return sortedSum(wrapped).flat();
    }
}
