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

    /** {@code out}, built over {@code input}, with every OutOfMemoryError of its calls turned into the one-line error. */
    static <T> Iterator<T> reading(Iterator<T> out, Counted<?> input, String source, int partition, long blockBytes) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                try {
                    return out.hasNext();
                } catch (Throwable e) {
                    throw error(e, "reading", source, partition, input.rows, blockBytes);
                }
            }

            @Override
            public T next() {
                try {
                    return out.next();
                } catch (Throwable e) {
                    throw error(e, "reading", source, partition, input.rows, blockBytes);
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
        OutOfMemoryError e = null;
        for (Throwable c = thrown; c != null && e == null; c = c.getCause()) if (c instanceof OutOfMemoryError o) e = o;
        if (e == null) throw MemoryGuard.<RuntimeException>rethrow(thrown);
        StringBuilder m = new StringBuilder("out of memory ").append(what).append(" partition ").append(partition)
                .append(" of '").append(source).append("'");
        String file = InputFileBlockHolder.getInputFilePath().toString();
        if (!file.isEmpty()) m.append(" (file ").append(file).append(", ").append(mb(InputFileBlockHolder.getLength())).append(")");
        m.append(" after ").append(String.format("%,d", rows)).append(" rows");
        if (blockBytes > 0) m.append(" in blocks of ").append(mb(blockBytes));
        m.append(", in a heap of ").append(mb(Runtime.getRuntime().maxMemory()));
        m.append(" (").append(e.getMessage()).append("): give the executors more memory (spark.executor.memory; -Xmx in local mode),"
                + " read the data in more, smaller partitions (smaller files, or spark.sql.files.maxPartitionBytes),"
                + " or cache at a level that spills serialized blocks to disk (MEMORY_AND_DISK_SER, DISK_ONLY)");
        return new OutOfMemoryException(m.toString(), e);
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
