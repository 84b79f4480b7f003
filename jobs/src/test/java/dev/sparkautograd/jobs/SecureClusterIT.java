package dev.sparkautograd.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.rpc.RpcAddress;
import org.apache.spark.rpc.RpcEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static dev.sparkautograd.jobs.StandaloneCluster.FAST_START;
import static dev.sparkautograd.jobs.StandaloneCluster.ROOT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A secured standalone cluster: master and worker run with conf/secure/spark-defaults.conf plus the shared
 * secret (in a 0600 properties file), and, for the UI test only, {@link HeaderUserFilter} so that a request
 * can name its user. One test per claim of the profile, each able to fail if the profile lost the setting:
 * the secret reaches no command line; an application with the secret runs; one without is refused by
 * authentication (not for want of a master); a client with the secret but only SASL is refused
 * ({@code saslFallback=false}); the UI refuses a user outside the ACLs; the REST server is off.
 */
class SecureClusterIT {

    static final Path SECURE = ROOT.resolve("conf/secure/spark-defaults.conf");

    static String secret;
    static StandaloneCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        secret = HexFormat.of().formatHex(new SecureRandom().generateSeed(32));
        List<String> daemonConf = new ArrayList<>(Files.readAllLines(SECURE));
        daemonConf.add("spark.authenticate.secret " + secret);
        daemonConf.add("spark.ui.filters " + HeaderUserFilter.class.getName());
        cluster = StandaloneCluster.start(1, 1, "1g", daemonConf);
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) cluster.close();
    }

    @Test
    void applicationWithTheSecretRunsAndNoProcessHasTheSecretOnItsCommandLine() throws Exception {
        Path secretFile = cluster.tmp.resolve("secret");
        Files.createFile(secretFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(secretFile, secret + "\n");

        CommandLines seen = new CommandLines(secret);
        Thread scanner = new Thread(seen, "cmdline-scanner");
        scanner.start();
        Processes.Result ok;
        try {
            ok = run(e -> {
                e.put("SPARK_AUTOGRAD_CONF", SECURE.toString());
                e.put("SPARK_AUTOGRAD_AUTH_SECRET_FILE", secretFile.toString());
            });
        } finally {
            seen.stop.set(true);
            scanner.join();
        }
        assertEquals(0, ok.exit(), () -> ok + cluster.logs());
        assertTrue(ok.out().lines().anyMatch(l -> l.startsWith("Check:") && l.endsWith(": OK")), ok::toString);
        assertFalse(ok.toString().contains(secret), "the secret must not be printed");
        assertEquals(Set.of(), seen.withSecret.keySet(), "processes with the secret on their command line: " + seen.withSecret.values());
        // every kind of process the secured cluster runs was looked at while it ran
        assertEquals(new TreeSet<>(CommandLines.KINDS.values()), new TreeSet<>(seen.kinds), "processes seen");
    }

    @Test
    void applicationWithoutTheSecretIsRefusedByAuthentication() throws Exception {
        long refusalsBefore = authRefusals();
        long start = System.nanoTime();
        Processes.Result refused = run(e -> {}); // conf/spark-defaults.conf: no authentication
        double seconds = (System.nanoTime() - start) / 1e9;
        assertNotEquals(0, refused.exit(), () -> refused + cluster.logs());
        assertTrue(refused.err().contains("All masters are unresponsive"), refused::toString);
        assertTrue(refused.err().contains("did not register this application"), refused::toString);
        assertFalse(refused.out().contains("Check:"), refused::toString);
        assertTrue(seconds > 30, "refused after " + seconds + " s");
        // The master was there and its authentication handler turned the application away (not: no master).
        assertTrue(authRefusals() > refusalsBefore, "the master's log names no refused client" + cluster.logs());
        assertFalse(refused.err().contains("Connection refused"), refused::toString);
    }

    /** Clients the master's authentication handler closed the channel on, so far (its DEBUG lines). */
    private static long authRefusals() throws IOException {
        return cluster.masterLog().lines().filter(l -> l.contains("Unexpected challenge message from client")
                || l.contains("Authentication failed for client")).count();
    }

    /**
     * RPC clients in this JVM, straight to the master: with the secret and AES it connects (the control);
     * without authentication, with the secret but SASL only (crypto off: {@code saslFallback=false} refuses
     * it), or with another secret it is refused by the authentication handler.
     */
    @Test
    void onlyAnAesClientWithTheSecretConnects() throws Exception {
        assertEquals("connected", connect(Map.of("spark.authenticate", "true", "spark.authenticate.secret", secret,
                "spark.network.crypto.enabled", "true")));
        Map<String, Map<String, String>> refused = new java.util.LinkedHashMap<>();
        // saslFallback=false: the secret is right, the handshake is the old SASL one
        refused.put("the secret over SASL", Map.of("spark.authenticate", "true", "spark.authenticate.secret", secret,
                "spark.network.crypto.enabled", "false"));
        refused.put("no authentication", Map.of());
        refused.put("another secret", Map.of("spark.authenticate", "true", "spark.authenticate.secret", "not-" + secret,
                "spark.network.crypto.enabled", "true"));
        for (Map.Entry<String, Map<String, String>> client : refused.entrySet()) {
            long before = authRefusals();
            String result = connect(client.getValue());
            assertNotEquals("connected", result, client.getKey());
            assertTrue(authRefusals() > before, client.getKey() + ": " + result + ", and the master's authentication handler"
                    + " logged no refusal" + cluster.logs());
        }
        assertFalse(cluster.masterLog().contains("reverting to SASL"), "the master fell back to SASL" + cluster.logs());
    }

    /** "connected", or the failure's messages (causes included). */
    private static String connect(Map<String, String> settings) {
        SparkConf conf = new SparkConf(false).set("spark.rpc.lookupTimeout", "30s").set("spark.network.timeout", "30s");
        settings.forEach(conf::set);
        org.apache.spark.SecurityManager security = new org.apache.spark.SecurityManager(conf,
                org.apache.spark.SecurityManager.$lessinit$greater$default$2(), org.apache.spark.SecurityManager.$lessinit$greater$default$3());
        RpcEnv env = RpcEnv.create("secure-cluster-it-probe", "127.0.0.1", 0, conf, security, true);
        try {
            env.setupEndpointRef(new RpcAddress("127.0.0.1", cluster.masterPort), "Master");
            return "connected";
        } catch (Exception e) {
            StringBuilder sb = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause()) sb.append(t).append(" / ");
            return sb.toString();
        } finally {
            env.shutdown();
            env.awaitTermination();
        }
    }

    @Test
    void theUiRefusesAUserOutsideTheAcls() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        URI page = URI.create("http://127.0.0.1:" + cluster.webUiPort + "/json/");
        HttpResponse<String> owner = http.send(HttpRequest.newBuilder(page).header(HeaderUserFilter.HEADER, System.getProperty("user.name"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, owner.statusCode(), owner::body);
        HttpResponse<String> other = http.send(HttpRequest.newBuilder(page).header(HeaderUserFilter.HEADER, "mallory")
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(403, other.statusCode(), other::body);
        // What the ACLs cannot do alone: a request that names no user (no authentication filter) is let in.
        HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(page).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, anonymous.statusCode(), "the README says anonymous requests pass without an authentication filter");
    }

    @Test
    void theRestSubmissionServerIsOff() throws Exception {
        String log = cluster.masterLog();
        // the master's INFO lines are in its log (StandaloneCluster), so a REST server would be named there
        assertTrue(log.contains("Starting Spark master at"), log);
        assertFalse(log.contains("REST server"), log);
    }

    private static Processes.Result run(Consumer<Map<String, String>> env) throws Exception {
        return LauncherIT.launcher(Duration.ofSeconds(180), e -> {
            e.put("SPARK_AUTOGRAD_JAVA_OPTS", FAST_START);
            e.remove("SPARK_AUTOGRAD_AUTH_SECRET");
            e.remove("SPARK_AUTOGRAD_AUTH_SECRET_FILE");
            e.remove("SPARK_AUTOGRAD_CONF");
            env.accept(e);
        }, "--master", cluster.master, "--conf", "spark.ui.enabled=false",
                "--conf", "spark.executor.extraJavaOptions=" + FAST_START, "info");
    }

    /** Reads every process's command line (/proc/PID/cmdline) until stopped: which kinds ran, which held the secret. */
    static final class CommandLines implements Runnable {
        static final Map<String, String> KINDS = Map.of(
                "org.apache.spark.deploy.master.Master", "master",
                "org.apache.spark.deploy.worker.Worker", "worker",
                "org.apache.spark.executor.CoarseGrainedExecutorBackend", "executor",
                "org.apache.spark.deploy.SparkSubmit", "submit JVM");
        final AtomicBoolean stop = new AtomicBoolean();
        final Set<String> kinds = ConcurrentHashMap.newKeySet();
        final Map<String, String> withSecret = new ConcurrentHashMap<>();
        private final byte[] secret;

        CommandLines(String secret) {
            this.secret = secret.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public void run() {
            while (!stop.get()) {
                try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
                    for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                        byte[] cmd;
                        try {
                            cmd = Files.readAllBytes(p.resolve("cmdline"));
                        } catch (IOException gone) {
                            continue; // exited meanwhile, or not ours to read
                        }
                        String text = new String(cmd, StandardCharsets.UTF_8).replace('\0', ' ');
                        KINDS.forEach((cls, kind) -> {
                            if (text.contains(" " + cls + " ") || text.endsWith(" " + cls)) kinds.add(kind);
                        });
                        if (indexOf(cmd, secret) >= 0) {
                            withSecret.put(p.getFileName().toString(), text.replace(new String(secret, StandardCharsets.UTF_8), "<SECRET>"));
                        }
                    }
                } catch (IOException e) {
                    fail(e);
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private static int indexOf(byte[] hay, byte[] needle) {
            outer:
            for (int i = 0; i + needle.length <= hay.length; i++) {
                for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
                return i;
            }
            return -1;
        }
    }
}
