package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The info job on the shared local[2] session (Kryo, registration required). */
class InfoJobTest {

    private static String run(String... args) throws Exception {
        InfoJob job = new InfoJob();
        new CommandLine(job).parseArgs(args);
        StringWriter out = new StringWriter();
        assertEquals(0, job.run(SharedSpark.session(), new PrintWriter(out, true)), out.toString());
        return out.toString();
    }

    @Test
    void printsVersionsMasterAndAPassingKryoCheck() throws Exception {
        String out = run();
        assertTrue(out.contains("spark-autograd: " + BuildInfo.version() + "\n"), out);
        assertTrue(out.contains("Spark:          4.2.0 (Scala 2.13."), out);
        assertTrue(out.contains("Java:           " + System.getProperty("java.version") + " "), out);
        assertTrue(out.contains("Master:         local[2] "), out);
        assertTrue(out.contains("KryoSerializer (registration required: true"), out);
        // tensor i is (arange(12) + i).reshape(4, 3) * [1, 2, 3]; its sum is 140 + 24 i: 8 * 140 + 24 * 28 = 1792
        // local tasks run in the test JVM: the same BLAS
        assertTrue(out.contains("Math (driver):  BLAS "), out);
        assertTrue(out.contains("Math (tasks):   BLAS "), out);
        assertFalse(out.contains("Note:"), out);
        assertTrue(out.contains("Check:          8 tensors of shape [4, 3] on 2 partitions: sum 1792.0, local 1792.0: OK"), out);
        assertEquals(8, out.lines().count(), out);
    }

    @Test
    void optionsChangeTheCheck() throws Exception {
        String out = run("--tensors", "3", "--partitions", "3");
        assertTrue(out.contains("3 tensors of shape [4, 3] on 3 partitions: sum 492.0, local 492.0: OK"), out);
    }
}
