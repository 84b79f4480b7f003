package dev.sparkautograd.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A task that runs out of memory ends the job with one line saying what was being read and what to change, and
 * exit code 3, not with the executor's exit (code 52) and pages of stack traces: gradient through bin/spark-autograd
 * in a JVM of 160 MB on a Parquet file whose rows are 48 MB each.
 */
class OutOfMemoryIT {

    @Test
    void aTaskOutOfMemoryIsOneLineAndExitCode3(@TempDir Path tmp) throws Exception {
        int width = 6_000_000;
        double[][] x = new double[2][width];
        for (int j = 0; j < width; j++) x[1][j] = j % 7;
        Path file = tmp.resolve("wide.parquet");
        UserDataTest.writeParquet(file, "message m { required group features (LIST) { repeated group list { required double element; } }"
                + " required double label; }", x, new double[] {0, 1}, true);

        // Spark refuses a heap under 450 MB unless spark.testing.memory says how much it may assume
        Processes.Result r = LauncherIT.launcher(Duration.ofSeconds(300), e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", "-Xmx160m"),
                "--conf", "spark.master=local[2]", "--conf", "spark.testing.memory=" + (512L << 20),
                "gradient", "--input", file.toString(), "--output", tmp.resolve("g.npy").toString());
        assertEquals(3, r.exit(), r::toString);
        // Spark may log an unrelated WARN (e.g. a busy UI port on a shared machine): no ERROR, no trace, one message line
        java.util.List<String> lines = r.err().lines().filter(l -> !l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN .*")).toList();
        assertEquals(1, lines.size(), r::toString);
        String line = lines.get(0);
        assertTrue(line.startsWith("spark-autograd gradient: out of memory counting partition 0 of 'fromDataset features, label' (file file:"), line);
        assertTrue(line.contains("wide.parquet, "), line);
        assertTrue(line.contains(" MB) after 0 rows, in a heap of "), line);
        for (String advice : new String[] {"more memory", "more, smaller partitions", "MEMORY_AND_DISK_SER", "SPARK_AUTOGRAD_JAVA_OPTS=-Xmx",
                "spark.executor.memory", "(stack trace: "}) {
            assertTrue(line.contains(advice), advice + " missing in: " + line);
        }
        assertEquals("", r.out(), r::toString);
    }
}
