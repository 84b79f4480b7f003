package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The cluster path for real: a standalone master and worker (separate JVMs started from the Maven
 * classpath on 127.0.0.1) and {@code bin/spark-autograd --master spark://...} submitting the thin jar,
 * whose classes (the Kryo registrator, the tensors) must then load on a real executor.
 */
class StandaloneSubmitIT {

    private static final Path ROOT = SharedSpark.projectRoot();
    private static final Path TARGET = ROOT.resolve("jobs/target");

    @Test
    void infoRunsOnAStandaloneClusterFromTheThinJar() throws Exception {
        // Not @TempDir: JUnit warns about every symbolic link it deletes.
        Path tmp = Files.createTempDirectory("standalone-it");
        Process masterJvm = null;
        Process workerJvm = null;
        try {
            // A SPARK_HOME whose jars/ is the Spark classpath, as in a distribution (executors use it).
            Path home = tmp.resolve("spark-home");
            Path jars = Files.createDirectories(home.resolve("jars"));
            for (String jar : Files.readString(TARGET.resolve("spark-classpath.txt")).strip().split(":")) {
                Files.createSymbolicLink(jars.resolve(Path.of(jar).getFileName()), Path.of(jar));
            }
            Path work = Files.createDirectories(tmp.resolve("work"));
            int port = freePort();
            String master = "spark://127.0.0.1:" + port;

            masterJvm = daemon(home, tmp.resolve("master.log"), "-Dspark.master.rest.enabled=false",
                    "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", String.valueOf(port), "--webui-port", String.valueOf(freePort()));
            // A worker that finds no master waits 5-15 s before retrying: start it once the master listens.
            awaitListening(port, masterJvm, tmp);
            workerJvm = daemon(home, tmp.resolve("worker.log"), "-Dspark.worker.cleanup.enabled=false",
                    "org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--port", "0", "--webui-port", "0", "--cores", "2", "--memory", "1g",
                    "--work-dir", work.toString(), master);

            // Submitted while the worker registers: the application waits for its executor.
            Processes.Result r;
            try {
                r = LauncherIT.launcher(Duration.ofSeconds(150), e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", FAST_START),
                        "--master", master, "--conf", "spark.ui.enabled=false",
                        "--conf", "spark.executor.extraJavaOptions=" + FAST_START, "info");
            } catch (AssertionError timeout) {
                throw new AssertionError(timeout.getMessage() + logs(tmp), timeout);
            }
            assertEquals(0, r.exit(), () -> r + logs(tmp));
            assertTrue(r.out().contains("Master:         " + master + " "), r::toString);
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith("Check:") && l.endsWith(": OK")), r::toString);

            // The executor ran on the worker, from the thin jar the driver served.
            try (Stream<Path> files = Files.walk(work)) {
                List<String> names = files.map(p -> p.getFileName().toString()).toList();
                assertTrue(names.contains("spark-autograd-jobs-" + BuildInfo.version() + "-thin.jar"), names::toString);
            }
        } finally {
            if (workerJvm != null) Processes.kill(workerJvm.toHandle());
            if (masterJvm != null) Processes.kill(masterJvm.toHandle());
            try (Stream<Path> files = Files.walk(tmp)) { // does not follow the links: deletes them, not the jars
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    /** C1 only: these JVMs live for seconds, so start-up time is what counts. */
    private static final String FAST_START = "-XX:TieredStopAtLevel=1";

    private static String logs(Path tmp) {
        StringBuilder sb = new StringBuilder();
        for (String name : List.of("master.log", "worker.log")) {
            Path log = tmp.resolve(name);
            sb.append("\n--- ").append(name).append('\n');
            try {
                sb.append(Files.exists(log) ? Files.readString(log) : "(none)");
            } catch (IOException e) {
                sb.append(e);
            }
        }
        return sb.toString();
    }

    private static void awaitListening(int port, Process jvm, Path tmp) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && jvm.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        fail("the master did not listen on port " + port + logs(tmp));
    }

    private static Process daemon(Path home, Path log, String... mainAndArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(Files.readString(TARGET.resolve("jvm-options.txt")).strip().split("\\s+")));
        cmd.add("-Xmx512m");
        cmd.add(FAST_START);
        cmd.add("-Dlog4j2.configurationFile=" + ROOT.resolve("conf/log4j2.properties"));
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + "/*");
        cmd.addAll(Arrays.asList(mainAndArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("SPARK_HOME", home.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("SPARK_LOCAL_HOSTNAME", "127.0.0.1");
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
