package dev.sparkautograd.jobs;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static dev.sparkautograd.jobs.StandaloneCluster.FAST_START;
import static dev.sparkautograd.jobs.StandaloneCluster.ROOT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A secured standalone cluster: master and workers run with conf/secure/spark-defaults.conf plus the shared
 * secret (in a 0600 properties file). An application given the same secret through a 0600 file
 * ({@code SPARK_AUTOGRAD_AUTH_SECRET_FILE}) runs; one without authentication is refused. Slow by nature:
 * the refusal comes after Spark's three 20 s registration attempts (~60 s), so this is the only such test.
 */
class SecureClusterIT {

    static final Path SECURE = ROOT.resolve("conf/secure/spark-defaults.conf");

    @Test
    void applicationWithTheSecretRunsOneWithoutItIsRefused() throws Exception {
        String secret = HexFormat.of().formatHex(new SecureRandom().generateSeed(32));
        List<String> daemonConf = new ArrayList<>(Files.readAllLines(SECURE));
        daemonConf.add("spark.authenticate.secret " + secret);
        try (StandaloneCluster cluster = StandaloneCluster.start(1, 1, "1g", daemonConf)) {
            Path secretFile = cluster.tmp.resolve("secret");
            Files.createFile(secretFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(secretFile, secret + "\n");

            Processes.Result ok = run(cluster, e -> {
                e.put("SPARK_AUTOGRAD_CONF", SECURE.toString());
                e.put("SPARK_AUTOGRAD_AUTH_SECRET_FILE", secretFile.toString());
            });
            assertEquals(0, ok.exit(), () -> ok + cluster.logs());
            assertTrue(ok.out().lines().anyMatch(l -> l.startsWith("Check:") && l.endsWith(": OK")), ok::toString);
            assertFalse(ok.toString().contains(secret), "the secret must not be printed");

            long start = System.nanoTime();
            Processes.Result refused = run(cluster, e -> {}); // conf/spark-defaults.conf: no authentication
            double seconds = (System.nanoTime() - start) / 1e9;
            assertNotEquals(0, refused.exit(), () -> refused + cluster.logs());
            assertTrue(refused.err().contains("All masters are unresponsive"), refused::toString);
            assertTrue(refused.err().contains("did not register this application"), refused::toString);
            assertFalse(refused.out().contains("Check:"), refused::toString);
            assertTrue(seconds > 30, "refused after " + seconds + " s");
        }
    }

    private static Processes.Result run(StandaloneCluster cluster, java.util.function.Consumer<java.util.Map<String, String>> env) throws Exception {
        return LauncherIT.launcher(Duration.ofSeconds(180), e -> {
            e.put("SPARK_AUTOGRAD_JAVA_OPTS", FAST_START);
            e.remove("SPARK_AUTOGRAD_AUTH_SECRET");
            e.remove("SPARK_AUTOGRAD_AUTH_SECRET_FILE");
            e.remove("SPARK_AUTOGRAD_CONF");
            env.accept(e);
        }, "--master", cluster.master, "--conf", "spark.ui.enabled=false",
                "--conf", "spark.executor.extraJavaOptions=" + FAST_START, "info");
    }
}
