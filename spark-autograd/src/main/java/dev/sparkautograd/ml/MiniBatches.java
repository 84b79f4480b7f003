package dev.sparkautograd.ml;

import dev.sparkautograd.DistData;
import dev.sparkautograd.dist.Block;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mini-batches drawn without a shuffle (the estimators' {@code batchSize}; public so that a training loop over
 * {@link DistData} draws the same batches). An epoch is {@code S = ceil(N / batchSize)} steps. Each
 * partition permutes its own rows with a generator seeded by (seed, epoch, partition) and cuts the permutation
 * into S consecutive chunks of {@code floor((k+1) n_p / S) - floor(k n_p / S)} rows; step k of the epoch takes
 * chunk k of every partition. So each partition contributes its proportional share, a batch has about
 * {@code N / S <= batchSize} rows, an epoch reads every row exactly once, and everything follows from the seed
 * and the partitioning (no job beyond the step's own: each step's rows are picked inside that job's tasks).
 */
public final class MiniBatches implements Serializable {
    private static final long serialVersionUID = 1L;

    private final long[] partitionRows;
    private final long seed;
    private final long stepsPerEpoch;

    MiniBatches(long[] partitionRows, int batchSize, long seed) {
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        this.partitionRows = partitionRows.clone();
        this.seed = seed;
        long n = Arrays.stream(partitionRows).sum();
        this.stepsPerEpoch = Math.max(1, (n + batchSize - 1) / batchSize);
    }

    /** The batches of {@code data} ({@code batchSize} rows at most, seeded by {@code seed}): one job counts each partition's rows. */
    public MiniBatches(DistData data, int batchSize, long seed) {
        this(partitionRows(data), batchSize, seed);
    }

    /** The rows per partition of {@code data}: one job over its (cached) blocks. */
    static long[] partitionRows(DistData data) {
        List<Long> counts = data.blocks().mapPartitions(it -> {
            long c = 0;
            while (it.hasNext()) c += it.next().rows();
            return Collections.singletonList(c).iterator();
        }).collect();
        return counts.stream().mapToLong(Long::longValue).toArray();
    }

    /** Steps per epoch: {@code ceil(N / batchSize)}. */
    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    /** How many rows partition {@code p} gives to step {@code step}. */
    long share(int p, long step) {
        long k = step % stepsPerEpoch, n = partitionRows[p];
        return Math.floorDiv((k + 1) * n, stepsPerEpoch) - Math.floorDiv(k * n, stepsPerEpoch);
    }

    /** The rows of step {@code step} in all partitions. */
    public long rows(long step) {
        long r = 0;
        for (int p = 0; p < partitionRows.length; p++) r += share(p, step);
        return r;
    }

    /** Partition {@code p}'s rows (indices within the partition, ascending) in step {@code step}. */
    int[] picks(int p, long step) {
        int n = Math.toIntExact(partitionRows[p]);
        long epoch = step / stepsPerEpoch, k = step % stepsPerEpoch;
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        SplittableRandom r = new SplittableRandom(mix(mix(mix(seed) + epoch) + p));
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int from = (int) Math.floorDiv(k * n, stepsPerEpoch), to = (int) Math.floorDiv((k + 1) * n, stepsPerEpoch);
        int[] out = Arrays.copyOfRange(perm, from, to);
        Arrays.sort(out);
        return out;
    }

    /** Step {@code step}'s rows of {@code data}: one block per partition, numbered from 0 in partition order. */
    public DistData batch(DistData data, long step) {
        long[] first = new long[partitionRows.length];
        for (int p = 1; p < first.length; p++) first[p] = first[p - 1] + share(p - 1, step);
        return data.selectRows(rows(step), (p, blocks) -> {
            int[] picks = picks(p, step);
            if (picks.length == 0) return Collections.emptyIterator();
            List<Block> all = new ArrayList<>();
            blocks.forEachRemaining(all::add);
            int[] blockOf = new int[picks.length], rowOf = new int[picks.length];
            int b = 0;
            long start = 0;
            for (int i = 0; i < picks.length; i++) {
                while (picks[i] >= start + all.get(b).rows()) start += all.get(b++).rows();
                blockOf[i] = b;
                rowOf[i] = (int) (picks[i] - start);
            }
            Iterator<Block> one = Collections.singletonList(Block.gather(first[p], all, blockOf, rowOf)).iterator();
            return one;
        });
    }

    /** SplitMix64's finalizer: nearby seeds, epochs and partitions give unrelated streams. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
