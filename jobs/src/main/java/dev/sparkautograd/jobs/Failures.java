package dev.sparkautograd.jobs;

import dev.sparkautograd.BadDataException;
import dev.sparkautograd.OutOfMemoryException;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** How a failed job is reported (see {@link Main}): one line for the user, the stack trace in a log file. */
final class Failures {

    private Failures() {}

    /**
     * The one-line message for {@code ex}: the message of a bad-data error anywhere in the cause chain (a task's
     * failure arrives wrapped in Spark's), else the first line of the exception's own message, else its class.
     */
    static String message(Throwable ex) {
        for (Throwable c = ex; c != null; c = c.getCause()) {
            if (c instanceof BadDataException) return firstLine(c.getMessage());
            if (c instanceof OutOfMemoryException) return firstLine(c.getMessage()) + MEMORY_HINT;
        }
        for (Throwable c = ex; c != null; c = c.getCause()) {
            String m = c.getMessage() == null ? "" : firstLine(c.getMessage());
            if (c instanceof OutOfMemoryError) return "out of memory (" + (m.isEmpty() ? c.getClass().getSimpleName() : m) + "): " + MORE_HEAP;
            // Spark's own check of the driver's heap (its hint, where it gives one, names spark-submit's
            // --driver-memory, which the launcher does not take)
            if (m.contains("INVALID_DRIVER_MEMORY") || m.contains("--driver-memory")) {
                return m.replace("[INVALID_DRIVER_MEMORY] ", "").replaceAll("\\.?\\s*Please increase heap size using the --driver-memory option.*$", "")
                        .replaceAll("\\.$", "") + ": " + MORE_HEAP;
            }
        }
        String m = ex.getMessage();
        boolean expected = ex instanceof IllegalArgumentException || ex instanceof IllegalStateException
                || ex instanceof IOException || ex instanceof org.apache.spark.sql.AnalysisException;
        if (expected && m != null && !m.isBlank()) return firstLine(m);
        return "failed: " + ex.getClass().getName() + (m == null || m.isBlank() ? "" : ": " + firstLine(m));
    }

    /** What to do about a heap that is too small, in the launcher's terms (bin/spark-autograd). */
    static final String MORE_HEAP = "give the JVM a larger heap with the launcher's setting SPARK_AUTOGRAD_JAVA_OPTS (e.g. SPARK_AUTOGRAD_JAVA_OPTS=-Xmx8g):"
            + " it sizes the driver, and in local mode the tasks too; executors on a cluster take --conf spark.executor.memory=8g";

    /** The exit code of a job that ran out of memory (a task's reading of the data, or the driver). */
    static final int OUT_OF_MEMORY = 3;

    /** How the jobs' users set the memory the library's message names. */
    private static final String MEMORY_HINT = " (bin/spark-autograd: SPARK_AUTOGRAD_JAVA_OPTS=-Xmx4g in local mode,"
            + " --conf spark.executor.memory=4g on a cluster)";

    /** The exit code for a job that failed with {@code ex}: {@value #OUT_OF_MEMORY} when it ran out of memory, else 1. */
    static int exitCode(Throwable ex) {
        for (Throwable c = ex; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryException || c instanceof OutOfMemoryError) return OUT_OF_MEMORY;
        }
        return 1;
    }

    private static String firstLine(String m) {
        String s = m.strip();
        int nl = s.indexOf('\n');
        return (nl >= 0 ? s.substring(0, nl) : s).strip();
    }

    /** Writes {@code ex}'s stack trace to a new file in the temporary directory; returns its path (or why it could not). */
    static String log(String job, Throwable ex) {
        StringWriter trace = new StringWriter();
        ex.printStackTrace(new PrintWriter(trace, true));
        try {
            Path file = Files.createTempFile("spark-autograd-" + job + "-", ".log");
            Files.writeString(file, trace.toString(), StandardCharsets.UTF_8);
            return file.toString();
        } catch (IOException | RuntimeException e) {
            return "not written: " + e.getMessage();
        }
    }
}
