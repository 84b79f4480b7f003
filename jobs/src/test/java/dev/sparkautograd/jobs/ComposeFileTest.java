package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * docker-compose.yml, validated offline with Debian's docker-compose client (no Docker engine needed).
 * Skipped when the client is missing, except under CI=true, where .ci/run installs it.
 */
class ComposeFileTest {

    private static final Path ROOT = SharedSpark.projectRoot();
    private static final Path COMPOSE = ROOT.resolve("docker-compose.yml");

    private static String dockerCompose() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path exe = Path.of(dir.isEmpty() ? "." : dir, "docker-compose");
            if (Files.isExecutable(exe)) return exe.toString();
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("CI=true but the docker-compose client is not on the PATH (.ci/run installs it)");
        }
        Assumptions.abort("docker-compose is not installed (apt-get install docker-compose):"
                + " skipping the offline validation of docker-compose.yml");
        return null;
    }

    private static Processes.Result compose(Path file, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(dockerCompose(), "-f", file.toString()));
        cmd.addAll(List.of(args));
        return Processes.run(cmd, file.getParent(), Duration.ofSeconds(60), env -> {});
    }

    @Test
    void composeFileIsValid() throws Exception {
        Processes.Result r = compose(COMPOSE, "config", "-q");
        assertEquals(0, r.exit(), r::toString);

        Processes.Result services = compose(COMPOSE, "config", "--services");
        assertEquals(0, services.exit(), services::toString);
        assertEquals(List.of("spark-master", "spark-worker-1", "spark-worker-2", "submit"),
                services.out().lines().sorted().toList());
    }

    @Test
    void theValidatorRejectsABrokenFile(@TempDir Path dir) throws Exception {
        Path broken = dir.resolve("docker-compose.yml");
        Files.writeString(broken, Files.readString(COMPOSE).replace("command:", "comand:"));
        Processes.Result r = compose(broken, "config", "-q");
        assertNotEquals(0, r.exit(), r::toString);
    }

    @Test
    void submitRunsThisVersionsThinJarWithTheProjectConf() throws Exception {
        String text = Files.readString(COMPOSE);
        assertTrue(text.contains("image: apache/spark:4.2.0"), "Spark 4.2.0 image");
        assertTrue(text.contains("- ./jobs/target:/opt/spark-autograd/jobs:ro"), "jobs/target mounted");
        assertTrue(text.contains("- ./conf:/opt/spark-autograd/conf:ro"), "conf/ mounted");
        // the secured profile, with the secret from a compose secret, for every daemon and the application
        assertTrue(text.contains("--properties-file @SECURE_CONF@"), "Spark defaults: the secured profile");
        assertEquals(4, text.split("command: >-\n      /opt/spark-autograd/conf/secure/with-secret\n", -1).length - 1,
                "every service runs through conf/secure/with-secret");
        assertEquals(4, text.split("--properties-file @SECURE_CONF@", -1).length - 1, "every service gets the secured profile");
        assertTrue(text.contains("secrets:\n  spark_auth_secret:\n    file: ./conf/secure/spark-auth-secret\n"), "the secret's source");
        assertTrue(text.contains("  secrets: [spark_auth_secret]\n"), "every service gets the secret");
        assertTrue(Files.isExecutable(ROOT.resolve("conf/secure/with-secret")));
        assertTrue(Files.readString(ROOT.resolve("conf/secure/spark-defaults.conf")).contains("spark.authenticate                     true"));
        assertTrue(text.contains("--class dev.sparkautograd.jobs.Main"), "main class");
        assertTrue(text.contains("/opt/spark-autograd/jobs/spark-autograd-jobs-" + BuildInfo.version() + "-thin.jar\n      info"),
                "the thin jar of version " + BuildInfo.version() + " runs info");
        assertTrue(Files.isRegularFile(ROOT.resolve("conf/log4j2.properties")));
        assertTrue(text.contains("-Dlog4j2.configurationFile=file:/opt/spark-autograd/conf/log4j2.properties"));
    }
}
