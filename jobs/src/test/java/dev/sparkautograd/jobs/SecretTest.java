package dev.sparkautograd.jobs;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SparkSessions.applySecret: the shared secret of a secured cluster from a 0600 file or the environment. */
class SecretTest {

    private static SparkConf secured(String master) {
        return new SparkConf(false).set("spark.master", master).set("spark.authenticate", "true");
    }

    @Test
    void fromA0600File(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("secret");
        Files.writeString(f, "s3cret\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        SparkConf conf = SparkSessions.applySecret(secured("spark://h:7077"), Map.of(SparkSessions.SECRET_FILE_ENV, f.toString()));
        assertEquals("s3cret", conf.get("spark.authenticate.secret"));

        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("r--------"));
        assertEquals("s3cret", SparkSessions.applySecret(secured("spark://h:7077"), Map.of(SparkSessions.SECRET_FILE_ENV, f.toString()))
                .get("spark.authenticate.secret"), "0400 is stricter than 0600: accepted");
    }

    /** A file the group or others may read is refused (the README: "refused if group or others may read it"). */
    @Test
    void aSecretFileTheGroupOrOthersMayReadIsRefused(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("secret");
        Files.writeString(f, "s3cret\n");
        for (String mode : new String[] {"rw-r--r--", "rw-r-----", "rw----r--", "r--r-----", "rw-rw-rw-"}) {
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> SparkSessions.applySecret(secured("spark://h:7077"), Map.of(SparkSessions.SECRET_FILE_ENV, f.toString())), mode);
            assertTrue(e.getMessage().endsWith("may be read by others (" + mode + "): chmod 600 it"), e.getMessage());
        }
    }

    @Test
    void fromTheEnvironmentOrNotAtAll() {
        assertEquals("abc", SparkSessions.applySecret(secured("spark://h:7077"), Map.of(SparkSessions.SECRET_ENV, "abc"))
                .get("spark.authenticate.secret"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SparkSessions.applySecret(secured("spark://h:7077"), Map.of()));
        assertEquals("spark.authenticate is true but no secret is given: set SPARK_AUTOGRAD_AUTH_SECRET_FILE (a file of mode 0600)"
                + " or SPARK_AUTOGRAD_AUTH_SECRET", e.getMessage());
        // local mode: Spark makes its own; no authentication: nothing to do; a secret already set wins
        assertFalse(SparkSessions.applySecret(secured("local[2]"), Map.of()).contains("spark.authenticate.secret"));
        assertFalse(SparkSessions.applySecret(new SparkConf(false).set("spark.master", "spark://h:1"), Map.of(SparkSessions.SECRET_ENV, "x"))
                .contains("spark.authenticate.secret"));
        assertEquals("set", SparkSessions.applySecret(secured("spark://h:1").set("spark.authenticate.secret", "set"),
                Map.of(SparkSessions.SECRET_ENV, "x")).get("spark.authenticate.secret"));
    }

    /** conf/secure/with-secret: the profile plus the secret in a fresh 0600 file, whose path replaces @SECURE_CONF@. */
    @Test
    void withSecretWritesA0600PropertiesFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("secret");
        Files.writeString(f, "xyz\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        Path script = dev.sparkautograd.testing.SharedSpark.projectRoot().resolve("conf/secure/with-secret");
        Processes.Result r = Processes.run(java.util.List.of(script.toString(), "sh", "-c", "stat -c %a \"$1\"; cat \"$1\"; rm \"$1\"", "_", "@SECURE_CONF@"),
                dir, java.time.Duration.ofSeconds(30), e -> {
                    e.remove(SparkSessions.SECRET_ENV);
                    e.put(SparkSessions.SECRET_FILE_ENV, f.toString());
                    e.put("TMPDIR", dir.toString());
                });
        assertEquals(0, r.exit(), r::toString);
        java.util.List<String> lines = r.out().lines().toList();
        assertEquals("600", lines.get(0));
        assertTrue(lines.contains("spark.authenticate                     true"), r::toString);
        assertEquals("spark.authenticate.secret xyz", lines.get(lines.size() - 1));

        Processes.Result none = Processes.run(java.util.List.of(script.toString(), "true"), dir, java.time.Duration.ofSeconds(30), e -> {
            e.remove(SparkSessions.SECRET_ENV);
            e.put(SparkSessions.SECRET_FILE_ENV, dir.resolve("missing").toString());
        });
        assertEquals(2, none.exit(), none::toString);
    }
}
