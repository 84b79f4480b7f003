package dev.sparkautograd.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.spark.memory.UnifiedMemoryManager;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A heap that is too small is reported in the launcher's terms (SPARK_AUTOGRAD_JAVA_OPTS), not spark-submit's. */
class FailuresTest {

    @Test
    void tooSmallAHeapNamesTheLaunchersSettingNotDriverMemory() {
        // Spark's own check of the driver's heap, as a SparkContext makes it (here on a 100 MB "system memory")
        IllegalArgumentException spark = assertThrows(IllegalArgumentException.class,
                () -> UnifiedMemoryManager.apply(new SparkConf(false).set("spark.testing.memory", "100000000"), 1));
        // (Spark 4.2 says "[INVALID_DRIVER_MEMORY] System memory ... must be at least ...", earlier versions add
        // "Please increase heap size using the --driver-memory option ...")
        assertTrue(spark.getMessage().contains("System memory 100000000 must be at least"), spark.getMessage());
        String older = Failures.message(new IllegalArgumentException("System memory 100000000 must be at least 471859200."
                + " Please increase heap size using the --driver-memory option or spark.driver.memory in Spark configuration."));
        assertEquals("System memory 100000000 must be at least 471859200: " + Failures.MORE_HEAP, older);
        String msg = Failures.message(spark);
        assertTrue(msg.matches("System memory 100000000 must be at least \\d+: give the JVM a larger heap with the launcher's setting"
                + " SPARK_AUTOGRAD_JAVA_OPTS \\(e\\.g\\. SPARK_AUTOGRAD_JAVA_OPTS=-Xmx8g\\): it sizes the driver, and in local mode the tasks too;"
                + " executors on a cluster take --conf spark.executor.memory=8g"), msg);
        assertFalse(msg.contains("driver-memory"), msg);

        // an OutOfMemoryError anywhere in the chain (SparkJob turns the Error into an exception picocli hands on)
        Exception task = new IllegalStateException("out of memory",
                new SparkException("Job aborted due to stage failure", new OutOfMemoryError("Java heap space")));
        assertEquals("out of memory (Java heap space): " + Failures.MORE_HEAP, Failures.message(task));
        assertEquals("out of memory (OutOfMemoryError): " + Failures.MORE_HEAP, Failures.message(new IllegalStateException("x", new OutOfMemoryError())));
    }
}
