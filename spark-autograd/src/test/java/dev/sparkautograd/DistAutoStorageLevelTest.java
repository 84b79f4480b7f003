package dev.sparkautograd;

import dev.sparkautograd.dist.AutoStorageLevel;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.SparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code DistData.options().autoStorageLevel()}: MEMORY_AND_DISK_SER when the blocks fit the executors' storage
 * memory, DISK_ONLY when they do not (Spark's unroll of a partition that does not fit can exhaust the heap).
 */
class DistAutoStorageLevelTest {

    private static final StructType XY = new StructType()
            .add("x", SQLDataTypes.VectorType(), false)
            .add("y", DataTypes.DoubleType, false);

    /** {@code rows} rows of a Vector column {@code width} wide with one non-zero each: dense blocks of 8 * rows * (width + 1) bytes. */
    private static Dataset<Row> wide(int rows, int width) {
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < rows; i++) out.add(RowFactory.create(Vectors.sparse(width, new int[]{i}, new double[]{i + 1}), (double) i));
        return SharedSpark.session().createDataFrame(out, XY);
    }

    @Test
    void cachesInMemoryWhenTheBlocksFitAndStraightOnDiskWhenNot() {
        SparkContext sc = SharedSpark.session().sparkContext();
        long storage = AutoStorageLevel.storageMemory(sc);
        // local mode: the driver's block manager is the executor; Spark gives it 0.6 of the heap above 300 MB
        assertTrue(storage > 0 && storage < Runtime.getRuntime().maxMemory(), storage + " bytes of storage memory");
        int width = 100_000_000; // 800 MB per dense row: the counting job sees the width, no block is ever built here
        int over = (int) (storage / (8L * width)) + 2;
        record Case(String what, Supplier<DistData> data, StorageLevel expected) {}
        Case[] cases = {
                new Case("1,000 x 5 local rows", () -> DistData.parallelize(SharedSpark.jsc(), 2,
                        Map.of("x", Tensor.arange(5000).reshape(1000, 5), "y", Tensor.arange(1000)), DistData.options().autoStorageLevel()),
                        StorageLevel.MEMORY_AND_DISK_SER()),
                new Case("3 dense rows of " + width, () -> DistData.fromDataset(wide(3, width),
                        DistData.options().sparse(false).autoStorageLevel(), "x", "y"),
                        3L * 8 * (width + 1) <= storage ? StorageLevel.MEMORY_AND_DISK_SER() : StorageLevel.DISK_ONLY()),
                new Case(over + " dense rows of " + width + " (more than the storage memory)", () -> DistData.fromDataset(wide(over, width),
                        DistData.options().sparse(false).autoStorageLevel(), "x", "y"), StorageLevel.DISK_ONLY()),
                new Case("the same, sparse (size unknown before reading)", () -> DistData.fromDataset(wide(over, width),
                        DistData.options().sparse(true).autoStorageLevel(), "x", "y"), StorageLevel.MEMORY_AND_DISK_SER()),
                new Case("an explicit level after autoStorageLevel()", () -> DistData.fromDataset(wide(over, width),
                        DistData.options().sparse(false).autoStorageLevel().storageLevel(StorageLevel.MEMORY_ONLY()), "x", "y"),
                        StorageLevel.MEMORY_ONLY()),
                new Case("autoStorageLevel() after an explicit level", () -> DistData.fromDataset(wide(over, width),
                        DistData.options().sparse(false).storageLevel(StorageLevel.MEMORY_ONLY()).autoStorageLevel(), "x", "y"),
                        StorageLevel.DISK_ONLY()),
        };
        for (Case c : cases) {
            DistData d = c.data.get();
            try {
                assertEquals(c.expected, d.blocks().getStorageLevel(), c.what + ", " + storage + " bytes of storage memory");
            } finally {
                d.unpersist();
            }
        }
        // the data read through the automatic level are the data
        DistData small = cases[0].data.get();
        try {
            assertEquals(5000L * 4999 / 2, small.tensor("x").sum().item(), 0.0);
            assertEquals(StorageLevel.MEMORY_AND_DISK_SER(), small.blocks().getStorageLevel());
        } finally {
            small.unpersist();
        }
    }

    /**
     * The size the automatic level is chosen by, known before any block is read: dense values at 8 bytes (4 as
     * float32 arrays), a sparse column at 12 bytes a non-zero and 4 a row when the counting job chose sparse (it
     * counted the non-zeros); not known (-1) when the caller chose sparse, or for a selection of rows.
     */
    @Test
    void sizeInBytesCountsWhatTheBlocksHold() {
        int width = 100_000; // wider than 65,536: the counting job chooses sparse; one non-zero a row
        record Case(String what, Supplier<DistData> data, long bytes) {}
        Case[] cases = {
                new Case("sparse chosen by the counting job", () -> DistData.fromDataset(wide(50, width), DistData.options(), "x", "y"),
                        50L * (12 + 4) + 50L * 8),
                new Case("sparse given", () -> DistData.fromDataset(wide(50, width), DistData.options().sparse(true), "x", "y"), -1),
                new Case("dense", () -> DistData.fromDataset(wide(50, width), DistData.options().sparse(false), "x", "y"), 50L * (8L * width + 8)),
                new Case("dense float32", () -> DistData.fromDataset(wide(50, width), DistData.options().sparse(false).dtype(DistData.Dtype.FLOAT32), "x", "y"),
                        50L * (4L * width + 8)),
                new Case("local tensors", () -> DistData.parallelize(SharedSpark.jsc(), 2,
                        Map.of("x", Tensor.arange(5000).reshape(1000, 5), "y", Tensor.arange(1000))), 1000L * 5 * 8 + 1000L * 8),
                new Case("a selection of rows", () -> DistData.parallelize(SharedSpark.jsc(), 2,
                        Map.of("x", Tensor.arange(10).reshape(5, 2))).selectRows(5, (p, blocks) -> blocks), -1),
        };
        for (Case c : cases) assertEquals(c.bytes, c.data.get().sizeInBytes(), c.what);
        assertTrue(cases[0].data.get().tensor("x").isSparse(), "the counting job chose sparse");
    }

    /** Float32 blocks hold an array or vector column at 4 bytes per value (scalars stay at 8): sized so, the same rows fit only as float32. */
    @Test
    void float32ArrayColumnsCountFourBytesPerValue() {
        long storage = AutoStorageLevel.storageMemory(SharedSpark.session().sparkContext());
        int width = (int) (storage / 18); // 3 rows: 2/3 of the storage memory as float32, 4/3 of it as float64
        record Case(DistData.Dtype dtype, long bytes, StorageLevel expected) {}
        Case[] cases = {
                new Case(DistData.Dtype.FLOAT64, 3L * (8L * width + 8), StorageLevel.DISK_ONLY()),
                new Case(DistData.Dtype.FLOAT32, 3L * (4L * width + 8), StorageLevel.MEMORY_AND_DISK_SER()),
        };
        for (Case c : cases) {
            DistData d = DistData.fromDataset(wide(3, width), DistData.options().sparse(false).dtype(c.dtype).autoStorageLevel(), "x", "y");
            try {
                assertEquals(c.expected, d.blocks().getStorageLevel(), c.dtype + ", " + storage + " bytes of storage memory");
                assertEquals(c.bytes, AutoStorageLevel.bytesPerRow(List.of(new int[] {width}, new int[0]), c.dtype == DistData.Dtype.FLOAT32) * d.rows());
            } finally {
                d.unpersist();
            }
        }
    }

    /**
     * A level that unrolls and spills (MEMORY_AND_DISK, MEMORY_AND_DISK_SER) given for blocks over twice the storage
     * memory gets one warning line on the driver, naming both sizes, DISK_ONLY and autoStorageLevel(); the level is kept.
     * Other levels and sizes get none.
     */
    @Test
    void aSpillingMemoryLevelForBlocksFarAboveTheStorageMemoryIsWarnedOf() {
        long storage = AutoStorageLevel.storageMemory(SharedSpark.session().sparkContext());
        int width = 100_000_000;
        int far = (int) (2 * storage / (8L * width)) + 2, near = (int) (storage / (8L * width)) + 1;
        record Case(String what, int rows, StorageLevel level, boolean warned) {}
        Case[] cases = {
                new Case(far + " dense rows of " + width + " at MEMORY_AND_DISK_SER", far, StorageLevel.MEMORY_AND_DISK_SER(), true),
                new Case("the same at MEMORY_AND_DISK", far, StorageLevel.MEMORY_AND_DISK(), true),
                new Case("the same at MEMORY_AND_DISK_2", far, StorageLevel.MEMORY_AND_DISK_2(), true),
                new Case("the same at DISK_ONLY", far, StorageLevel.DISK_ONLY(), false),
                new Case("the same at MEMORY_ONLY (nothing spills: what does not fit is read again)", far, StorageLevel.MEMORY_ONLY(), false),
                new Case("the same, not cached", far, null, false),
                new Case(near + " rows at MEMORY_AND_DISK_SER (at most twice the storage memory)", near, StorageLevel.MEMORY_AND_DISK_SER(), false),
        };
        org.apache.logging.log4j.core.Logger logger = (org.apache.logging.log4j.core.Logger) org.apache.logging.log4j.LogManager.getLogger(AutoStorageLevel.class);
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        org.apache.logging.log4j.core.appender.AbstractAppender capture = new org.apache.logging.log4j.core.appender.AbstractAppender(
                "capture", null, null, true, org.apache.logging.log4j.core.config.Property.EMPTY_ARRAY) {
            @Override
            public void append(org.apache.logging.log4j.core.LogEvent e) {
                lines.add(e.getLevel() + " " + e.getMessage().getFormattedMessage());
            }
        };
        capture.start();
        org.apache.logging.log4j.Level before = logger.getLevel();
        logger.addAppender(capture);
        logger.setLevel(org.apache.logging.log4j.Level.WARN);
        try {
            for (Case c : cases) {
                lines.clear();
                DistData.Options options = DistData.options().sparse(false);
                if (c.level != null) options.storageLevel(c.level);
                DistData d = DistData.fromDataset(wide(c.rows, width), options, "x", "y");
                try {
                    assertEquals(c.level == null ? StorageLevel.NONE() : c.level, d.blocks().getStorageLevel(), c.what);
                    long bytes = 8L * c.rows * (width + 1);
                    assertEquals(c.warned ? 1 : 0, lines.size(), c.what + ": " + lines);
                    if (c.warned) {
                        String line = lines.get(0);
                        assertTrue(line.startsWith("WARN fromDataset x, y: caching " + String.format("%.1f MB of blocks at ", bytes / 1e6)), line);
                        assertTrue(line.contains(String.format(" times the %.1f MB of storage memory", storage / 1e6)), line);
                        assertTrue(line.contains("DISK_ONLY") && line.contains("autoStorageLevel()") && !line.contains("\n"), line);
                    }
                } finally {
                    d.unpersist();
                }
            }
        } finally {
            logger.removeAppender(capture);
            logger.setLevel(before);
            capture.stop();
        }
        // the level is named as Spark's constant
        assertTrue(AutoStorageLevel.warnIfUnrolling("w", StorageLevel.MEMORY_AND_DISK_SER(), 3 * storage, storage).startsWith("w: caching "), "");
        assertTrue(AutoStorageLevel.warnIfUnrolling("w", StorageLevel.MEMORY_AND_DISK_SER(), 3 * storage, storage).contains(" at MEMORY_AND_DISK_SER, 3 times the "), "");
        assertEquals(null, AutoStorageLevel.warnIfUnrolling("w", StorageLevel.MEMORY_AND_DISK(), 0, storage), "unknown size");
    }

    @Test
    void theLevelFollowsTheStorageMemory() {
        SparkContext sc = SharedSpark.session().sparkContext();
        long storage = AutoStorageLevel.storageMemory(sc);
        Object[][] cases = {
                {1L, StorageLevel.MEMORY_AND_DISK_SER()},
                {storage, StorageLevel.MEMORY_AND_DISK_SER()},
                {storage + 1, StorageLevel.DISK_ONLY()},
                {4 * storage, StorageLevel.DISK_ONLY()},
        };
        for (Object[] c : cases) {
            AutoStorageLevel choice = AutoStorageLevel.forBlocks(sc, (Long) c[0]);
            assertEquals(c[1], choice.level(), () -> c[0] + " bytes of blocks, " + storage + " of storage memory");
            assertEquals(storage, choice.storageBytes());
            assertEquals(c[1] == StorageLevel.DISK_ONLY(), choice.describe().startsWith("DISK_ONLY ("), choice::describe);
            assertTrue(choice.describe().contains(String.format("%.1f MB of blocks, %.1f MB of storage memory", (Long) c[0] / 1e6, storage / 1e6)), choice::describe);
        }
    }
}
