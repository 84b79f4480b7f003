package dev.sparkautograd.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data larger than memory: train through bin/spark-autograd on local[2] with a 512 MB heap on a Parquet directory
 * more than four times that size runs to completion (the blocks are cached DISK_ONLY, the output says so), and
 * gives the same parameters, bit for bit, as the same training in a 5 GB heap, where the blocks are cached in
 * memory (MEMORY_AND_DISK_SER): the same 8 partitions, one per file, in both.
 */
class OutOfCoreTrainIT {

    static final long HEAP = 512L << 20;

    /** Three JVMs over 2.2 GB: 4.5 minutes on a busy 2-core machine (load 12), near the 10-minute default on a busier one. */
    @Test
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void trainingOnDataFourTimesTheHeapGivesTheInMemoryBits(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("data");
        // 2,700,000 rows x 100 features + label: 2.18 GB of Parquet (4 x 512 MiB is 2.15 GB)
        Processes.Result g = LauncherIT.launcher(Duration.ofMinutes(10), e -> {}, "--conf", "spark.master=local[2]",
                "generate", "--rows", "2700000", "--features", "100", "--partitions", "8", "--output", data.toString());
        assertEquals(0, g.exit(), g::toString);
        long bytes;
        try (Stream<Path> files = Files.list(data)) {
            bytes = files.filter(p -> p.getFileName().toString().endsWith(".parquet")).mapToLong(p -> p.toFile().length()).sum();
        }
        assertTrue(bytes > 4 * HEAP, "only " + bytes + " bytes of Parquet");

        String[] train = {"--conf", "spark.master=local[2]", "train", "--input", data.toString(), "--max-steps", "2"};
        Processes.Result small = LauncherIT.launcher(Duration.ofMinutes(10), e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", "-Xmx" + (HEAP >> 20) + "m"),
                concat(train, new String[] {"--output", tmp.resolve("small").toString()}));
        assertEquals(0, small.exit(), small::toString);
        Processes.Result big = LauncherIT.launcher(Duration.ofMinutes(10), e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", "-Xmx5g"),
                concat(train, new String[] {"--output", tmp.resolve("big").toString()}));
        assertEquals(0, big.exit(), big::toString);

        for (Processes.Result r : new Processes.Result[] {small, big}) {
            assertTrue(r.out().contains("data:      2700000 rows in 8 partitions"), r::toString);
            assertTrue(r.out().contains("stopped:   --max-steps 2 reached"), r::toString);
        }
        assertTrue(small.out().contains("cache:     DISK_ONLY ("), small::toString);
        assertTrue(big.out().contains("cache:     MEMORY_AND_DISK_SER ("), big::toString);
        assertArrayEquals(Files.readAllBytes(tmp.resolve("big/params.npy")), Files.readAllBytes(tmp.resolve("small/params.npy")),
                () -> small + "\n" + big);
    }

    private static String[] concat(String[]... parts) {
        return Stream.of(parts).flatMap(Stream::of).toArray(String[]::new);
    }
}
