package dev.sparkautograd.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data larger than memory: train through bin/spark-autograd on local[2] with a 256 MB heap on a Parquet directory
 * four times that size runs to completion (its cached blocks spill to disk serialized), and gives the same
 * parameters, bit for bit, as the same training in a JVM with the default heap, where the data fit in memory.
 */
class OutOfCoreTrainIT {

    static final long HEAP = 256L << 20;

    @Test
    void trainingOnDataFourTimesTheHeapGivesTheInMemoryBits(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("data");
        // 1,300,000 rows x 100 features + label: 1.05 GB of float64, written as about 1.06 GB of Parquet
        Processes.Result g = LauncherIT.launcher(Duration.ofMinutes(15), e -> {}, "--conf", "spark.master=local[2]",
                "generate", "--rows", "1300000", "--features", "100", "--partitions", "8", "--output", data.toString());
        assertEquals(0, g.exit(), g::toString);
        long bytes;
        try (Stream<Path> files = Files.list(data)) {
            bytes = files.filter(p -> p.getFileName().toString().endsWith(".parquet")).mapToLong(p -> p.toFile().length()).sum();
        }
        assertTrue(bytes > 4 * HEAP, "only " + bytes + " bytes of Parquet");

        // Spark sets 300 MB of a heap aside and refuses heaps under 450 MB; 64 MB reserved lets a 256 MB one run as an
        // executor of that size would
        String[] train = {"train", "--input", data.toString(), "--max-steps", "3"};
        Processes.Result small = LauncherIT.launcher(Duration.ofMinutes(15), e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", "-Xmx" + (HEAP >> 20) + "m"),
                concat(new String[] {"--conf", "spark.master=local[2]", "--conf", "spark.testing.reservedMemory=" + (64L << 20)},
                        train, new String[] {"--output", tmp.resolve("small").toString()}));
        assertEquals(0, small.exit(), small::toString);
        Processes.Result big = LauncherIT.launcher(Duration.ofMinutes(15), e -> {},
                concat(new String[] {"--conf", "spark.master=local[2]"}, train, new String[] {"--output", tmp.resolve("big").toString()}));
        assertEquals(0, big.exit(), big::toString);

        assertTrue(small.out().contains("data:      1300000 rows in 8 partitions"), small::toString);
        assertArrayEquals(Files.readAllBytes(tmp.resolve("big/params.npy")), Files.readAllBytes(tmp.resolve("small/params.npy")),
                () -> small + "\n" + big);
    }

    private static String[] concat(String[]... parts) {
        return Stream.of(parts).flatMap(Stream::of).toArray(String[]::new);
    }
}
