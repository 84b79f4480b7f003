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
        applySecret(conf, System.getenv());
        SparkSession spark;
        try {
            spark = SparkSession.builder().config(conf).getOrCreate();
        } catch (IllegalStateException stopped) {
            // Spark gave up on the master and stopped the context while the session was still being built
            // ("Cannot call methods on a stopped SparkContext"): the same failure as below, said the same way.
            String master = conf.get("spark.master");
            if (!master.startsWith("spark://")) throw stopped;
            throw notRegistered(master, stopped);
        }
        checkRegistered(spark);
        return spark;
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

    /**
     * A standalone master that refuses the application (a missing or wrong secret, crypto settings that
     * differ) or cannot be reached makes Spark give up after its registration attempts and stop the context
     * in another thread, while the job goes on and may wait forever for a job that never runs. So: an
     * application the standalone master did not register ({@code app-...} id) fails here, at once.
     */
    static void checkRegistered(SparkSession spark) {
        org.apache.spark.SparkContext sc = spark.sparkContext();
        if (!sc.master().startsWith("spark://")) return;
        if (!sc.isStopped() && sc.applicationId().startsWith("app-")) return;
        spark.stop();
        throw notRegistered(sc.master(), null);
    }

    private static IllegalStateException notRegistered(String master, Throwable cause) {
        return new IllegalStateException("the Spark master " + master + " did not register this application"
                + " (unreachable, or it refused the connection: with spark.authenticate, every daemon and the application"
                + " need the same secret and the same spark.network.crypto settings; see the log above)", cause);
    }

    /** Environment variable: a file (mode 0600 or stricter) holding the shared secret of a secured cluster. */
    public static final String SECRET_FILE_ENV = "SPARK_AUTOGRAD_AUTH_SECRET_FILE";
    /** Environment variable: the shared secret itself. */
    public static final String SECRET_ENV = "SPARK_AUTOGRAD_AUTH_SECRET";

    /**
     * With {@code spark.authenticate=true} and no {@code spark.authenticate.secret} yet, sets the secret from the
     * file named by {@value #SECRET_FILE_ENV} (refused when group or others may read it) or from
     * {@value #SECRET_ENV}, so that it never appears on a command line. Local masters need none (Spark makes one).
     */
    public static SparkConf applySecret(SparkConf conf, java.util.Map<String, String> env) {
        if (!conf.getBoolean("spark.authenticate", false) || conf.contains("spark.authenticate.secret")) return conf;
        String file = env.get(SECRET_FILE_ENV), value = env.get(SECRET_ENV);
        String secret = null;
        if (file != null && !file.isEmpty()) {
            Path p = Path.of(file);
            try {
                java.util.Set<java.nio.file.attribute.PosixFilePermission> perms = Files.getPosixFilePermissions(p);
                for (java.nio.file.attribute.PosixFilePermission bad : java.util.List.of(
                        java.nio.file.attribute.PosixFilePermission.GROUP_READ, java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                    if (perms.contains(bad)) {
                        throw new IllegalStateException(SECRET_FILE_ENV + "=" + file + " may be read by others ("
                                + java.nio.file.attribute.PosixFilePermissions.toString(perms) + "): chmod 600 it");
                    }
                }
                secret = Files.readString(p, StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the secret file " + file + " (" + SECRET_FILE_ENV + "): " + e, e);
            }
        } else if (value != null && !value.isEmpty()) {
            secret = value;
        }
        if (secret == null) {
            if (!isLocal(conf.get("spark.master", DEFAULT_MASTER))) {
                throw new IllegalStateException("spark.authenticate is true but no secret is given: set " + SECRET_FILE_ENV
                        + " (a file of mode 0600) or " + SECRET_ENV);
            }
            return conf;
        }
        if (secret.isEmpty()) throw new IllegalStateException("the secret (" + SECRET_FILE_ENV + ") is empty");
        return conf.set("spark.authenticate.secret", secret);
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
