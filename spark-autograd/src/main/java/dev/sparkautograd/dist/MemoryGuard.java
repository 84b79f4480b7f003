package dev.sparkautograd.dist;

import dev.sparkautograd.OutOfMemoryException;
import org.apache.spark.rdd.InputFileBlockHolder;

import java.util.Iterator;
import java.util.function.Supplier;

/**
 * Reading a partition, an {@link OutOfMemoryError} becomes an {@link OutOfMemoryException} that names the data,
 * the partition, the input file and its size, the rows read so far and the heap, and says what to change. The
 * executor would otherwise exit on the error (code 52, the task's and every thread's stack traces). The reading
 * side is where a task allocates in proportion to its data (Parquet's row groups, the blocks, the cache's unroll
 * of a whole partition), so that is where it is caught.
 */
final class MemoryGuard {
    private MemoryGuard() {}

    /** An input iterator that counts the rows taken from it. */
    static final class Counted<T> implements Iterator<T> {
        private final Iterator<T> in;
        long rows;

        Counted(Iterator<T> in) {
            this.in = in;
        }

        @Override
        public boolean hasNext() {
            return in.hasNext();
        }

        @Override
        public T next() {
            T t = in.next();
            rows++;
            return t;
        }
    }

    /**
     * {@code out}, built over {@code input}, with every OutOfMemoryError of its calls turned into the one-line error;
     * {@code dataBytes} (all the source's blocks) and {@code storageBytes} (the executors' storage memory), known on
     * the driver, choose the cache advice (0: unknown, e.g. sparse blocks).
     */
    static <T> Iterator<T> reading(Iterator<T> out, Counted<?> input, String source, int partition, long blockBytes, long dataBytes, long storageBytes) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                try {
                    return out.hasNext();
                } catch (Throwable e) {
                    throw error(e, "reading", source, partition, input.rows, blockBytes, dataBytes, storageBytes);
                }
            }

            @Override
            public T next() {
                try {
                    return out.next();
                } catch (Throwable e) {
                    throw error(e, "reading", source, partition, input.rows, blockBytes, dataBytes, storageBytes);
                }
            }
        };
    }

    /** Runs {@code pass} (a whole pass over {@code input}, e.g. the counting job's), turning an OutOfMemoryError into the one-line error. */
    static <R> R pass(Supplier<R> pass, Counted<?> input, String what, String source, int partition) {
        try {
            return pass.get();
        } catch (Throwable e) {
            throw error(e, what, source, partition, input.rows, 0);
        }
    }

    /**
     * The one-line error for an OutOfMemoryError, also when a reader wrapped it (Spark's file scan reports it as a
     * {@code SparkException} "Encountered error while reading file" whose cause is the error); anything else is
     * rethrown as it is.
     */
    static RuntimeException error(Throwable thrown, String what, String source, int partition, long rows, long blockBytes) {
        return error(thrown, what, source, partition, rows, blockBytes, 0, 0);
    }

    /** {@link #error(Throwable, String, String, int, long, long)} knowing the data's and the storage memory's size (0: unknown). */
    static RuntimeException error(Throwable thrown, String what, String source, int partition, long rows, long blockBytes, long dataBytes, long storageBytes) {
        OutOfMemoryError e = null;
        for (Throwable c = thrown; c != null && e == null; c = c.getCause()) if (c instanceof OutOfMemoryError o) e = o;
        if (e == null) throw MemoryGuard.<RuntimeException>rethrow(thrown);
        StringBuilder m = new StringBuilder("out of memory ").append(what).append(" partition ").append(partition)
                .append(" of '").append(source).append("'");
        String file = InputFileBlockHolder.getInputFilePath().toString();
        long fileBytes = file.isEmpty() ? 0 : InputFileBlockHolder.getLength();
        if (!file.isEmpty()) m.append(" (file ").append(file).append(", ").append(mb(fileBytes)).append(")");
        m.append(" after ").append(String.format("%,d", rows)).append(" rows");
        if (blockBytes > 0) m.append(" in blocks of ").append(mb(blockBytes));
        long heap = Runtime.getRuntime().maxMemory();
        int tasks = concurrentTasks();
        m.append(", in a heap of ").append(mb(heap)).append(" shared by ").append(tasks).append(tasks == 1 ? " task" : " tasks");
        m.append(" (").append(e.getMessage()).append("): ").append(advice(heap, tasks, fileBytes, blockBytes, cachingInMemory(), dataBytes, storageBytes));
        return new OutOfMemoryException(m.toString(), e);
    }

    /** Spark's reserved memory, which no task gets. */
    private static final long RESERVED = 300L << 20;

    /** {@link #advice(long, int, long, long, boolean, long, long)} not knowing the data's size. */
    static String advice(long heap, int tasks, long splitBytes, long blockBytes, boolean cachingInMemory) {
        return advice(heap, tasks, splitBytes, blockBytes, cachingInMemory, 0, 0);
    }

    /**
     * What to change, most likely first for the sizes at hand. A task gets about {@code (heap - 300 MB) / tasks}; it
     * holds its input split's current Parquet row group (at most the split), two blocks, and when it caches at a memory
     * level, the serialized partition Spark unrolls on the heap before it knows whether it fits. {@code dataBytes}
     * (the source's blocks) and {@code storageBytes} (the executors' storage memory), when known (positive), choose
     * the cache level advised ({@link #cacheAdvice}).
     */
    static String advice(long heap, int tasks, long splitBytes, long blockBytes, boolean cachingInMemory, long dataBytes, long storageBytes) {
        // a heap under Spark's minimum of 1.5 x 300 MB runs only with spark.testing.memory: count half of it
        long perTask = Math.max(1, (heap >= RESERVED * 3 / 2 ? heap - RESERVED : heap / 2) / tasks);
        java.util.List<String> advice = new java.util.ArrayList<>();
        String cache = cacheAdvice(heap, dataBytes, storageBytes);
        // the blocks fit the storage memory: the cache level is not what overflows, the heap is too small for it and the tasks
        boolean cacheFits = dataBytes > 0 && storageBytes > 0 && dataBytes <= storageBytes;
        if (cachingInMemory && !cacheFits) advice.add(cache);
        long partitionTarget = Math.max(1L << 20, perTask / 4);
        String partitions = "read the data in more, smaller partitions, of at most " + mb(partitionTarget) + " each for " + tasks
                + (tasks == 1 ? " task" : " tasks") + " in this heap (smaller files, or spark.sql.files.maxPartitionBytes where files are split)";
        boolean bigSplit = splitBytes > perTask / 4;
        if (bigSplit) advice.add(partitions);
        if (blockBytes > perTask / 8) advice.add("make the blocks smaller (DistData.options().blockBytes, now " + mb(blockBytes) + ")");
        long suggested = Math.max(2 * heap, RESERVED + (long) tasks * 4 * Math.max(splitBytes, 2 * blockBytes));
        advice.add("give the executors more memory, about " + mb(roundUp(suggested, 256L << 20)) + " for " + tasks
                + (tasks == 1 ? " task" : " tasks") + (splitBytes > 0 ? " reading " + mb(splitBytes) + " at a time" : "")
                + " (spark.executor.memory, or -Xmx in local mode)");
        if (cachingInMemory && cacheFits) advice.add(cache);
        if (!bigSplit) advice.add(partitions);
        if (!cachingInMemory) advice.add("if the data are cached, " + cache);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < advice.size(); i++) out.append(i == 0 ? "" : i == advice.size() - 1 ? "; or " : "; ").append(advice.get(i));
        return out.toString();
    }

    /**
     * The storage level to cache at, for blocks of {@code dataBytes} in {@code storageBytes} of storage memory (0: unknown):
     * <ul>
     * <li>unknown: DISK_ONLY, not a memory level (the data may be larger than the storage memory);
     * <li>far above it (over {@link AutoStorageLevel#FAR_ABOVE} times): DISK_ONLY alone, as {@link AutoStorageLevel}
     *     chooses: most partitions do not fit, and Spark keeps each one's unroll on the heap while it spills it;
     * <li>above it, but near: DISK_ONLY, or MEMORY_AND_DISK_SER in executors whose storage memory holds the blocks
     *     (the heap scaled by the blocks over the storage memory);
     * <li>within it: MEMORY_AND_DISK_SER (serialized, the cache's memory counted exactly; the whole cache in memory),
     *     or DISK_ONLY to leave the heap to the tasks.
     * </ul>
     */
    static String cacheAdvice(long heap, long dataBytes, long storageBytes) {
        String disk = "cache at DISK_ONLY (each block serialized straight to disk)";
        if (dataBytes <= 0 || storageBytes <= 0) {
            return disk + ", not MEMORY_AND_DISK_SER or another memory level, which unrolls a partition that does not fit on the heap"
                    + " (DistData.options().autoStorageLevel() chooses DISK_ONLY when the blocks exceed the storage memory)";
        }
        String sizes = mb(dataBytes) + " of blocks, " + mb(storageBytes) + " of storage memory";
        if (dataBytes > AutoStorageLevel.FAR_ABOVE * storageBytes) {
            return disk + ": the " + mb(dataBytes) + " of blocks are " + String.format("%.0f", (double) dataBytes / storageBytes) + " times the "
                    + mb(storageBytes) + " of storage memory, and a memory level unrolls each partition that does not fit on the heap"
                    + " (DistData.options().autoStorageLevel() chooses DISK_ONLY for them)";
        }
        if (dataBytes > storageBytes) {
            long above = Math.max(0, heap - RESERVED);
            long needed = RESERVED + (long) Math.ceil((double) above * dataBytes / storageBytes);
            return disk + " (" + sizes + ": a memory level unrolls each partition that does not fit on the heap), or at"
                    + " MEMORY_AND_DISK_SER in executors of about " + mb(roundUp(needed, 256L << 20)) + ", whose storage memory holds them all";
        }
        return "cache at MEMORY_AND_DISK_SER (" + sizes + ": they fit, serialized, their memory counted exactly), or at DISK_ONLY"
                + " (each block serialized straight to disk) to leave the heap to the tasks";
    }

    private static long roundUp(long bytes, long unit) {
        return (bytes + unit - 1) / unit * unit;
    }

    /** Tasks an executor runs at once: N of local[N], the cores of local[*], else spark.executor.cores (default 1). */
    private static int concurrentTasks() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        if (env == null) return 1;
        String master = env.conf().get("spark.master", "");
        java.util.regex.Matcher local = java.util.regex.Pattern.compile("local\\[(\\d+|\\*)(?:,\\d+)?]").matcher(master);
        int cores = local.matches() ? (local.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(local.group(1)))
                : master.equals("local") ? 1 : env.conf().getInt("spark.executor.cores", 1);
        int perTask = env.conf().getInt("spark.task.cpus", 1);
        return Math.max(1, cores / Math.max(1, perTask));
    }

    /** Whether the failing read is Spark caching the partition at a memory level (its MemoryStore unrolling it). */
    private static boolean cachingInMemory() {
        try {
            for (StackTraceElement f : Thread.currentThread().getStackTrace()) {
                if (f.getClassName().startsWith("org.apache.spark.storage.memory.MemoryStore") && f.getMethodName().startsWith("putIterator")) return true;
            }
        } catch (OutOfMemoryError again) {
            // no room even for the stack: say nothing about it
        }
        return false;
    }

    /** Throws {@code t} as it is (Spark's readers throw checked exceptions through iterators). */
    @SuppressWarnings("unchecked")
    private static <E extends Throwable> E rethrow(Throwable t) throws E {
        throw (E) t;
    }

    private static String mb(long bytes) {
        return String.format("%,.1f MB", bytes / 1e6);
    }
}
