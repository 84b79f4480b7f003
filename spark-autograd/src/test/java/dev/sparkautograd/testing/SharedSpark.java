package dev.sparkautograd.testing;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The one SparkSession of a test JVM: {@code local[2]} with the project's {@code conf/spark-defaults.conf}
 * (Kryo, registration required), no UI, loopback only. Created on first use and never stopped
 * between test classes (a shutdown hook stops it), so a test suite pays Spark's start-up once.
 *
 * <p>A test that needs another master (task retries on {@code local[2,4]}, forked executors) stops it,
 * runs its own context, stops that, and the next {@link #session()} makes a fresh shared one: there is
 * never more than one SparkContext in the JVM.
 */
public final class SharedSpark {

    /** System property set by surefire and failsafe (see the parent pom): the project root. */
    public static final String ROOT_PROPERTY = "sparkautograd.root";

    private static SparkSession session;

    private SharedSpark() {}

    /** The shared session, created on first call. */
    public static synchronized SparkSession session() {
        if (session == null || session.sparkContext().isStopped()) {
            SparkConf conf = testConf();
            session = SparkSession.builder().config(conf).getOrCreate();
            SparkSession created = session;
            Runtime.getRuntime().addShutdownHook(new Thread(created::stop, "shared-spark-stop"));
        }
        return session;
    }

    /** The shared session's context, for the RDD API. */
    public static JavaSparkContext jsc() {
        return JavaSparkContext.fromSparkContext(session().sparkContext());
    }

    /** The project root, from {@value #ROOT_PROPERTY}; fails with a clear message when missing. */
    public static Path projectRoot() {
        String root = System.getProperty(ROOT_PROPERTY);
        if (root == null || root.isBlank()) {
            throw new IllegalStateException("System property " + ROOT_PROPERTY + " is not set: run the tests"
                    + " through Maven (the parent pom sets it to the project root), or pass -D"
                    + ROOT_PROPERTY + "=<project root>");
        }
        Path path = Path.of(root).toAbsolutePath().normalize();
        if (!Files.isRegularFile(path.resolve("conf/spark-defaults.conf"))) {
            throw new IllegalStateException(ROOT_PROPERTY + "=" + root + " is not the project root: "
                    + path.resolve("conf/spark-defaults.conf") + " does not exist");
        }
        return path;
    }

    /** The project's conf/spark-defaults.conf, read as Spark reads a properties file. */
    public static Properties sparkDefaults() {
        Path file = projectRoot().resolve("conf/spark-defaults.conf");
        Properties props = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(in);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        return props;
    }

    static SparkConf testConf() {
        SparkConf conf = new SparkConf(false)
                .setMaster("local[2]")
                .setAppName("spark-autograd tests");
        sparkDefaults().forEach((k, v) -> conf.set(k.toString().trim(), v.toString().trim()));
        return conf
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.sql.shuffle.partitions", "4")
                .set("spark.default.parallelism", "2");
    }
}
