package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How a job's SparkConf is put together (no Spark is started). */
class SparkSessionsTest {

    private static final String DEFAULTS = SharedSpark.projectRoot().resolve("conf/spark-defaults.conf").toString();

    @Test
    void defaultsToLocalStarAndAppliesTheProjectDefaults() {
        SparkConf conf = SparkSessions.configure(new SparkConf(false), DEFAULTS);
        assertEquals("local[*]", conf.get("spark.master"));
        assertEquals("org.apache.spark.serializer.KryoSerializer", conf.get("spark.serializer"));
        assertEquals("dev.sparkautograd.dist.AutogradKryoRegistrator", conf.get("spark.kryo.registrator"));
        assertEquals("true", conf.get("spark.kryo.registrationRequired"));
    }

    @Test
    void keysAlreadySetWinOverTheDefaultsFile() {
        SparkConf conf = new SparkConf(false).setMaster("local[3]").set("spark.kryo.registrationRequired", "false");
        SparkSessions.configure(conf, DEFAULTS);
        assertEquals("local[3]", conf.get("spark.master"));
        assertEquals("false", conf.get("spark.kryo.registrationRequired"));
        assertEquals("org.apache.spark.serializer.KryoSerializer", conf.get("spark.serializer"));
    }

    @Test
    void aClusterMasterIsLeftToSparkSubmit() {
        SparkConf conf = SparkSessions.configure(new SparkConf(false).setMaster("spark://10.0.0.1:7077"), DEFAULTS);
        assertEquals("spark://10.0.0.1:7077", conf.get("spark.master"));
        assertFalse(conf.contains("spark.serializer"));
    }

    @Test
    void valuesAreTrimmedAndEitherSeparatorWorks(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("spark-defaults.conf");
        Files.writeString(file, "# comment\nspark.a   x  \nspark.b=y\n\nspark.c\tz\n");
        SparkConf conf = SparkSessions.configure(new SparkConf(false), file.toString());
        assertEquals("x", conf.get("spark.a"));
        assertEquals("y", conf.get("spark.b"));
        assertEquals("z", conf.get("spark.c"));
    }

    @Test
    void aMissingDefaultsFileFailsClearly(@TempDir Path dir) {
        Path missing = dir.resolve("nope.conf");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SparkSessions.configure(new SparkConf(false), missing.toString()));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("sparkautograd.conf"), e.getMessage());
    }

    @Test
    void localMasters() {
        assertTrue(SparkSessions.isLocal("local"));
        assertTrue(SparkSessions.isLocal("local[*]"));
        assertTrue(SparkSessions.isLocal("local[2,4]"));
        assertTrue(SparkSessions.isLocal("local-cluster[2,1,1024]"));
        assertFalse(SparkSessions.isLocal("spark://127.0.0.1:7077"));
        assertFalse(SparkSessions.isLocal("yarn"));
    }
}
