package dev.sparkautograd.dist;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The out-of-memory line's advice: what to change, most likely first for the sizes the task knows. */
class MemoryGuardAdviceTest {

    private static final long MB = 1L << 20;

    @Test
    void adviceFollowsTheSizes() {
        record Case(String what, long heap, int tasks, long split, long block, boolean caching, List<String> order) {}
        String disk = "cache at DISK_ONLY", partitions = "read the data in more, smaller partitions", memory = "give the executors more memory",
                blocks = "make the blocks smaller", ifCached = "if the data are cached, cache at DISK_ONLY";
        Case[] cases = {
                new Case("caching a large split in a small heap", 512 * MB, 2, 270 * MB, MB, true, List.of(disk, partitions, memory)),
                new Case("reading a large split, not caching", 512 * MB, 2, 270 * MB, MB, false, List.of(partitions, memory, ifCached)),
                new Case("small splits, a big heap, caching", 8192 * MB, 2, 32 * MB, MB, true, List.of(disk, memory, partitions)),
                new Case("small splits, not caching", 8192 * MB, 2, 32 * MB, MB, false, List.of(memory, partitions, ifCached)),
                new Case("huge blocks", 512 * MB, 2, 0, 200 * MB, false, List.of(blocks, memory, partitions, ifCached)),
                new Case("not a file (no split size)", 1024 * MB, 4, 0, MB, false, List.of(memory, partitions, ifCached)),
                new Case("OutOfMemoryIT's 160 MB heap (spark.testing.memory), a 96 MB file", 160 * MB, 2, 96_000_000, MB, false,
                        List.of(partitions, memory, ifCached)),
        };
        for (Case c : cases) {
            String a = MemoryGuard.advice(c.heap, c.tasks, c.split, c.block, c.caching);
            String[] parts = a.split("; (or )?");
            assertEquals(c.order.size(), parts.length, c.what + ": " + a);
            for (int i = 0; i < parts.length; i++) assertTrue(parts[i].startsWith(c.order.get(i)), c.what + ", advice " + i + ": " + a);
            assertTrue(a.contains("; or " + c.order.get(c.order.size() - 1)), c.what + ": " + a);
            // the suggested partitions: a quarter of a task's share of the heap above Spark's reserved 300 MB, at least 1 MB
            double share = (c.heap >= 450 * MB ? c.heap - 300 * MB : c.heap / 2) / (double) c.tasks; // Spark refuses heaps under 450 MB unless testing
            assertEquals(Math.max(MB, (long) share / 4) / 1e6, megabytes(a, "of at most ([\\d,.]+) MB each for " + c.tasks + " tasks"), 0.05, a);
            // the suggested heap: at least twice this one, and room for 4 splits (or 8 blocks) per task
            double heap = megabytes(a, "more memory, about ([\\d,.]+) MB");
            assertTrue(heap >= 2 * c.heap / 1e6 && heap >= (300 * MB + 4L * c.tasks * Math.max(c.split, 2 * c.block)) / 1e6, a);
            assertEquals(c.split > 0, a.contains(" reading " + String.format("%,.1f MB", c.split / 1e6) + " at a time"), a);
            assertTrue(a.contains("spark.executor.memory") && a.contains("MEMORY_AND_DISK_SER") && a.contains("autoStorageLevel()"), a);
        }
    }

    /**
     * Knowing the blocks' size and the storage memory (after the counting job), the cache advice follows them: far
     * above the storage memory DISK_ONLY alone (most partitions spill, each after an unroll the heap keeps), first;
     * above it but near, DISK_ONLY first or MEMORY_AND_DISK_SER in a heap whose storage memory holds the blocks;
     * within it, after more memory, MEMORY_AND_DISK_SER or DISK_ONLY.
     */
    @Test
    void theCacheAdviceFollowsTheBlocksOverTheStorageMemory() {
        long storage = 127 * MB; // 0.6 of a 512 MB heap above 300 MB
        record Case(String what, long data, boolean caching, List<String> order, boolean memoryLevel) {}
        String diskAlone = "cache at DISK_ONLY (each block serialized straight to disk): the ", diskOrSer = "cache at DISK_ONLY (each block serialized straight to disk) (",
                serOrDisk = "cache at MEMORY_AND_DISK_SER (", memory = "give the executors more memory", partitions = "read the data in more, smaller partitions";
        Case[] cases = {
                new Case("17 times the storage memory (OutOfCoreTrainIT's 2.18 GB in 512 MB)", 2181 * MB, true, List.of(diskAlone, partitions, memory), false),
                new Case("just over twice it", 2 * storage + 1, true, List.of(diskAlone, partitions, memory), false),
                new Case("twice it", 2 * storage, true, List.of(diskOrSer, partitions, memory), true),
                new Case("just over it", storage + 1, true, List.of(diskOrSer, partitions, memory), true),
                new Case("all of it", storage, true, List.of(partitions, memory, serOrDisk), true),
                new Case("a tenth of it", storage / 10, true, List.of(partitions, memory, serOrDisk), true),
                new Case("far over it, not caching", 2181 * MB, false, List.of(partitions, memory, "if the data are cached, " + diskAlone), false),
                new Case("within it, not caching", storage / 10, false, List.of(partitions, memory, "if the data are cached, " + serOrDisk), true),
        };
        for (Case c : cases) {
            String a = MemoryGuard.advice(512 * MB, 2, 270 * MB, MB, c.caching, c.data, storage);
            String[] parts = a.split("; (or )?");
            assertEquals(c.order.size(), parts.length, c.what + ": " + a);
            for (int i = 0; i < parts.length; i++) assertTrue(parts[i].startsWith(c.order.get(i)), c.what + ", advice " + i + ": " + a);
            assertEquals(c.memoryLevel, a.contains("MEMORY_AND_DISK_SER"), c.what + ": " + a);
            assertTrue(a.contains(String.format("%,.1f MB", c.data / 1e6)) && a.contains(String.format("%,.1f MB of storage memory", storage / 1e6)), c.what + ": " + a);
            if (c.order.get(0).equals(diskOrSer)) {
                // a heap whose storage memory (0.6 of it above 300 MB) holds the blocks: 212 MB above 300 MB scaled by data / storage
                double heap = megabytes(a, "MEMORY_AND_DISK_SER in executors of about ([\\d,.]+) MB");
                assertTrue(heap * 1e6 >= 300 * MB + 212.0 * MB * c.data / storage && heap * 1e6 < 300 * MB + 212.0 * MB * c.data / storage + 256 * MB, a);
            }
        }
    }

    private static double megabytes(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), regex + " in " + text);
        return Double.parseDouble(m.group(1).replace(",", ""));
    }
}
