package dev.sparkautograd.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Builds the SparkSession of a job.
 *
 * <ul>
 *   <li>The master is {@code spark.master} when set (spark-submit sets it), else {@value #DEFAULT_MASTER}.</li>
 *   <li>In local mode, the Spark defaults file named by the system property {@value #CONF_PROPERTY}
 *       (the launcher passes {@code conf/spark-defaults.conf}) fills in every key not already set, so local
 *       runs serialize exactly as cluster runs, where spark-submit applies the same file.</li>
 * </ul>
 */
public final class SparkSessions {

    /** System property: path of the Spark defaults file applied in local mode. */
    public static final String CONF_PROPERTY = "sparkautograd.conf";
    public static final String DEFAULT_MASTER = "local[*]";

    private static final Logger LOG = LoggerFactory.getLogger(SparkSessions.class);

    private SparkSessions() {}

    /** A session for the named job, configured as described above. */
    public static SparkSession forJob(String job) {
        String defaults = System.getProperty(CONF_PROPERTY);
        SparkConf conf = configure(new SparkConf(), defaults);
        // spark-submit (which marks its JVM with SPARK_SUBMIT=true) has applied its --properties-file.
        if (defaults == null && System.getProperty("SPARK_SUBMIT") == null && isLocal(conf.get("spark.master"))) {
            LOG.warn("No -D{}: running {} with Spark's own defaults, not the project's conf/spark-defaults.conf",
                    CONF_PROPERTY, conf.get("spark.master"));
        }
        conf.setIfMissing("spark.app.name", "spark-autograd " + job);
        return SparkSession.builder().config(conf).getOrCreate();
    }

    /**
     * Sets the default master if none is set and, in local mode, fills in the keys of {@code defaultsFile}
     * (null: none) that {@code conf} does not set yet. Returns {@code conf}.
     */
    public static SparkConf configure(SparkConf conf, String defaultsFile) {
        conf.setIfMissing("spark.master", DEFAULT_MASTER);
        if (isLocal(conf.get("spark.master")) && defaultsFile != null) {
            loadDefaults(Path.of(defaultsFile)).forEach((k, v) -> conf.setIfMissing(k.toString(), v.toString()));
        }
        return conf;
    }

    /** Whether the master runs in this JVM ({@code local}, {@code local[N]}, {@code local-cluster[...]}...). */
    public static boolean isLocal(String master) {
        return master.startsWith("local");
    }

    /** A Spark properties file, read as spark-submit reads {@code --properties-file} (values trimmed). */
    public static Properties loadDefaults(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("Spark defaults file " + file.toAbsolutePath()
                    + " (from -D" + CONF_PROPERTY + ") does not exist");
        }
        Properties raw = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            raw.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read Spark defaults file " + file + ": " + e.getMessage(), e);
        }
        Properties trimmed = new Properties();
        raw.forEach((k, v) -> trimmed.setProperty(k.toString().trim(), v.toString().trim()));
        return trimmed;
    }
}
