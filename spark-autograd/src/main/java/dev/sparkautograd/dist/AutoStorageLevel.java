package dev.sparkautograd.dist;

import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.List;

/**
 * The storage level for caching blocks of a known size: serialized in memory, spilling to disk
 * ({@code MEMORY_AND_DISK_SER}), when they fit the executors' storage memory; written straight to disk
 * ({@code DISK_ONLY}) when they do not. {@code DistData.options().autoStorageLevel()} and train's cache use it.
 * <p>
 * Why not always MEMORY_AND_DISK_SER: when a partition does not fit, Spark's MemoryStore has already unrolled
 * part of it serialized on the heap (as much as the storage memory let it, 65 to 113 MB per task in a 512 MB
 * heap); it then writes those bytes to disk, releases their memory from its accounting, and streams the rest of
 * the partition after them, but keeps the unrolled buffers referenced until the whole partition is written. The
 * next task is granted that "free" memory again, so with two tasks the heap holds two hidden unrolls on top of
 * the storage memory and the Parquet readers, and the job dies of OutOfMemoryError (see the README's "Data larger
 * than memory"). DISK_ONLY serializes each block straight into the block's file: a task then holds one block.
 *
 * @param level        the chosen level
 * @param blockBytes   the blocks' size it was chosen for
 * @param storageBytes the executors' storage memory it was compared with
 */
public record AutoStorageLevel(StorageLevel level, long blockBytes, long storageBytes) {

    /**
     * Blocks over this many times the storage memory are far above it: most partitions spill, each after an unroll
     * that the heap keeps until the partition is on disk. The out-of-memory advice then says DISK_ONLY alone, and a
     * level that unrolls and spills chosen for them gets a warning.
     */
    public static final int FAR_ABOVE = 2;

    /** MEMORY_AND_DISK_SER if {@code blockBytes} fit the executors' storage memory, else DISK_ONLY. */
    public static AutoStorageLevel forBlocks(SparkContext sc, long blockBytes) {
        long storage = storageMemory(sc);
        return new AutoStorageLevel(blockBytes <= storage ? StorageLevel.MEMORY_AND_DISK_SER() : StorageLevel.DISK_ONLY(), blockBytes, storage);
    }

    /**
     * Bytes a row of dense columns with these row shapes takes in the cached blocks: 8 per value, 4 per value of an
     * array or vector column stored as float32 ({@code DistData.Dtype.FLOAT32}, {@link Block#toFloat32}: scalar
     * columns stay float64). Multiplied by the rows, the blocks' size for {@link #forBlocks}.
     */
    public static long bytesPerRow(List<int[]> rowShapes, boolean float32) {
        long bytes = 0;
        for (int[] shape : rowShapes) {
            long values = 1;
            for (int n : shape) values *= n;
            bytes += values * (float32 && shape.length > 0 ? Float.BYTES : Double.BYTES);
        }
        return bytes;
    }

    /**
     * The block managers' memory for cached blocks (Spark's unified memory: what execution does not use), summed
     * over the executors; the driver's counts only when it is the executor (local mode).
     */
    public static long storageMemory(SparkContext sc) {
        scala.collection.Map<String, Tuple2<Object, Object>> status = sc.getExecutorMemoryStatus();
        String driver = SparkEnv.get().blockManager().blockManagerId().hostPort();
        long all = 0, executors = 0;
        scala.collection.Iterator<Tuple2<String, Tuple2<Object, Object>>> it = status.iterator();
        while (it.hasNext()) {
            Tuple2<String, Tuple2<Object, Object>> e = it.next();
            long max = (Long) e._2()._1();
            all += max;
            if (!e._1().equals(driver)) executors += max;
        }
        return status.size() > 1 ? executors : all;
    }

    /**
     * One line, logged as a warning on the driver and returned, when blocks of {@code dataBytes} are to be cached at a
     * level that unrolls a partition on the heap and spills what does not fit to disk ({@code MEMORY_AND_DISK},
     * {@code MEMORY_AND_DISK_SER}, their replicated forms) while they are over {@link #FAR_ABOVE} times the
     * {@code storageBytes} of storage memory: most partitions then spill, each one's unroll kept on the heap until it is
     * written (see the class comment), and the executors can run out of memory. The level is kept (the user chose it);
     * the line names DISK_ONLY and {@code autoStorageLevel()}. Null (nothing logged) otherwise, and when a size is
     * unknown (0).
     */
    public static String warnIfUnrolling(String what, StorageLevel level, long dataBytes, long storageBytes) {
        if (level == null || !level.useMemory() || !level.useDisk() || level.useOffHeap()
                || dataBytes <= 0 || storageBytes <= 0 || dataBytes <= FAR_ABOVE * storageBytes) {
            return null;
        }
        String line = String.format("%s: caching %s of blocks at %s, %.0f times the %s of storage memory: Spark unrolls each partition"
                        + " that does not fit on the heap and keeps those bytes until the partition is on disk, which can exhaust the executors'"
                        + " heap (OutOfMemoryError); DISK_ONLY writes each block straight to disk (DistData.options().autoStorageLevel()"
                        + " chooses it for blocks this size)", what, mb(dataBytes), name(level), (double) dataBytes / storageBytes, mb(storageBytes));
        LoggerFactory.getLogger(AutoStorageLevel.class).warn(line);
        return line;
    }

    /** The level's name in Spark's constants ({@code MEMORY_AND_DISK_SER}), else its description. */
    static String name(StorageLevel level) {
        for (String n : List.of("NONE", "DISK_ONLY", "DISK_ONLY_2", "DISK_ONLY_3", "MEMORY_ONLY", "MEMORY_ONLY_2", "MEMORY_ONLY_SER",
                "MEMORY_ONLY_SER_2", "MEMORY_AND_DISK", "MEMORY_AND_DISK_2", "MEMORY_AND_DISK_SER", "MEMORY_AND_DISK_SER_2", "OFF_HEAP")) {
            if (StorageLevel.fromString(n).equals(level)) return n;
        }
        return level.description();
    }

    /** E.g. {@code DISK_ONLY (2181.6 MB of blocks, 133.4 MB of storage memory: the blocks do not fit, each is written straight to disk)}. */
    public String describe() {
        boolean disk = level.equals(StorageLevel.DISK_ONLY());
        return String.format("%s (%s of blocks, %s of storage memory%s)", disk ? "DISK_ONLY" : "MEMORY_AND_DISK_SER", mb(blockBytes), mb(storageBytes),
                disk ? ": the blocks do not fit, each is written straight to disk" : "");
    }

    private static String mb(long bytes) {
        return String.format("%.1f MB", bytes / 1e6);
    }
}
