package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A Spark standalone cluster for integration tests: one Master and N Workers, each a separate JVM started
 * from the Maven classpath (a SPARK_HOME whose {@code jars/} links {@code jobs/target/spark-classpath.txt},
 * plus the jobs' test classes for test-only UI filters) on 127.0.0.1. Every daemon binds port 0 and the
 * test reads the master's ports from its log, so no port is picked free and then lost to another process.
 * {@link #close()} kills the workers (with their executors: they are the workers' child processes), then
 * the master, by PID, and deletes the temporary directory; use it in try-with-resources so that happens
 * when a test fails too.
 *
 * <p>With {@code daemonProperties}, the daemons get {@code --properties-file} with those lines (a 0600 file:
 * it may hold {@code spark.authenticate.secret}), and those lines alone decide whether the master's REST
 * server runs; without, it is off. The daemons log as {@code conf/log4j2.properties} says, plus the
 * master's start-up lines (its URL, its UI's port, a REST server) and the authentication handler's
 * decisions ({@code AuthRpcHandler} at DEBUG: a refused client is named there).
 */
final class StandaloneCluster implements AutoCloseable {

    static final Path ROOT = SharedSpark.projectRoot();
    static final Path TARGET = ROOT.resolve("jobs/target");

    /** C1 only: these JVMs live for seconds to a minute, so start-up time is what counts. */
    static final String FAST_START = "-XX:TieredStopAtLevel=1";

    /** Logger settings added to conf/log4j2.properties for the daemons (see the class comment). */
    static final String DAEMON_LOGGERS = """

            # StandaloneCluster: the master's ports and REST server, and who the authentication handler refused
            logger.standaloneMaster.name = org.apache.spark.deploy.master
            logger.standaloneMaster.level = info
            logger.standaloneRest.name = org.apache.spark.deploy.rest
            logger.standaloneRest.level = info
            logger.standaloneUi.name = org.apache.spark.ui
            logger.standaloneUi.level = info
            logger.standaloneAuth.name = org.apache.spark.network.crypto.AuthRpcHandler
            logger.standaloneAuth.level = debug
            """;

    private static final Pattern MASTER_URL = Pattern.compile("Starting Spark master at (spark://127\\.0\\.0\\.1:(\\d+))");
    private static final Pattern MASTER_UI = Pattern.compile("Bound MasterWebUI to 127\\.0\\.0\\.1, and started at http://[^:]+:(\\d+)");

    final Path tmp, home, work;
    private final Path propertiesFile, log4j;
    private final List<Process> daemons = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();

    /** {@code spark://127.0.0.1:PORT}, as the master reported it. */
    String master;
    int masterPort, webUiPort;

    private StandaloneCluster(Path tmp, Path propertiesFile) {
        this.tmp = tmp;
        this.home = tmp.resolve("spark-home");
        this.work = tmp.resolve("work");
        this.log4j = tmp.resolve("log4j2.properties");
        this.propertiesFile = propertiesFile;
    }

    /** Starts a master and {@code workers} workers of {@code cores} cores and {@code memory} (e.g. "1g") each. */
    static StandaloneCluster start(int workers, int cores, String memory, List<String> daemonProperties) throws Exception {
        // Not @TempDir: JUnit warns about every symbolic link it deletes.
        Path tmp = Files.createTempDirectory("standalone-it");
        Path props = null;
        if (daemonProperties != null) {
            props = tmp.resolve("daemon.conf");
            Files.createFile(props, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(props, daemonProperties);
        }
        StandaloneCluster c = new StandaloneCluster(tmp, props);
        try {
            Path jars = Files.createDirectories(c.home.resolve("jars"));
            for (String jar : Files.readString(TARGET.resolve("spark-classpath.txt")).strip().split(":")) {
                Files.createSymbolicLink(jars.resolve(Path.of(jar).getFileName()), Path.of(jar));
            }
            Files.createDirectories(c.work);
            Files.writeString(c.log4j, Files.readString(ROOT.resolve("conf/log4j2.properties")) + DAEMON_LOGGERS);
            // REST off unless the daemon properties (a profile under test) say otherwise
            String rest = props == null ? "-Dspark.master.rest.enabled=false" : "-Dspark.master.rest.port=0";
            Process m = c.daemon("master", rest, "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", "0", "--webui-port", "0");
            // A worker that finds no master waits 5-15 s before retrying: start it once the master listens.
            c.awaitMasterPorts(m);
            for (int i = 0; i < workers; i++) {
                Path dir = Files.createDirectories(c.work.resolve("worker-" + i));
                c.daemon("worker-" + i, "-Dspark.worker.cleanup.enabled=false", "org.apache.spark.deploy.worker.Worker",
                        "--host", "127.0.0.1", "--port", "0", "--webui-port", "0", "--cores", String.valueOf(cores),
                        "--memory", memory, "--work-dir", dir.toString(), c.master);
            }
            c.awaitWorkers(workers);
            return c;
        } catch (Throwable t) {
            c.close();
            throw t;
        }
    }

    private Process daemon(String name, String property, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(Files.readString(TARGET.resolve("jvm-options.txt")).strip().split("\\s+")));
        cmd.add("-Xmx512m");
        cmd.add(FAST_START);
        cmd.add(property);
        cmd.add("-Dlog4j2.configurationFile=" + log4j);
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + "/*:" + TARGET.resolve("test-classes"));
        cmd.add(mainClass);
        cmd.addAll(Arrays.asList(args));
        if (propertiesFile != null) {
            cmd.add("--properties-file");
            cmd.add(propertiesFile.toString());
        }
        Path log = tmp.resolve(name + ".log");
        logs.add(log);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("SPARK_HOME", home.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("SPARK_LOCAL_HOSTNAME", "127.0.0.1");
        Process p = pb.start();
        daemons.add(p);
        return p;
    }

    /** Waits until the master's {@code /json/} page reports {@code n} alive workers. */
    private void awaitWorkers(int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        java.util.regex.Pattern alive = java.util.regex.Pattern.compile("\"aliveworkers\"\\s*:\\s*(\\d+)");
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                last = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + webUiPort + "/json/"))
                        .timeout(Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                java.util.regex.Matcher m = alive.matcher(last);
                if (m.find() && Integer.parseInt(m.group(1)) == n) return;
            } catch (IOException notYet) {
                // the UI is not up yet
            }
            for (Process p : daemons) if (!p.isAlive()) fail("a daemon died" + logs());
            Thread.sleep(250);
        }
        fail(n + " workers did not register within 90 s; the master's /json/: " + last + logs());
    }

    /** Waits for the master's log to name its RPC and web UI ports (it bound port 0 for both). */
    private void awaitMasterPorts(Process jvm) throws Exception {
        Path log = logs.get(0);
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline && jvm.isAlive()) {
            String text = Files.readString(log);
            Matcher url = MASTER_URL.matcher(text), ui = MASTER_UI.matcher(text);
            if (url.find() && ui.find()) {
                master = url.group(1);
                masterPort = Integer.parseInt(url.group(2));
                webUiPort = Integer.parseInt(ui.group(1));
                return;
            }
            Thread.sleep(200);
        }
        fail("the master did not log its URL and UI port within 120 s" + logs());
    }

    /** The master's log so far. */
    String masterLog() throws IOException {
        return Files.readString(logs.get(0));
    }

    /** The master and worker JVMs. */
    List<ProcessHandle> daemons() {
        return daemons.stream().map(Process::toHandle).toList();
    }

    /** The executor JVMs running now (children of the workers). */
    List<ProcessHandle> executors() {
        List<ProcessHandle> out = new ArrayList<>();
        for (Process d : daemons) {
            d.toHandle().descendants()
                    .filter(h -> h.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
                    .forEach(out::add);
        }
        return out;
    }

    /** Every daemon log and executor stderr, for failure messages. */
    String logs() {
        StringBuilder sb = new StringBuilder();
        List<Path> all = new ArrayList<>(logs);
        try (Stream<Path> files = Files.walk(work)) {
            files.filter(p -> p.getFileName().toString().equals("stderr")).forEach(all::add);
        } catch (IOException ignored) {
            // the work directory may be gone already
        }
        for (Path log : all) {
            sb.append("\n--- ").append(tmp.relativize(log)).append('\n');
            try {
                String text = Files.exists(log) ? Files.readString(log) : "(none)";
                sb.append(text.length() > 20_000 ? "..." + text.substring(text.length() - 20_000) : text);
            } catch (IOException e) {
                sb.append(e);
            }
        }
        return sb.toString();
    }

    @Override
    public void close() throws IOException {
        // workers first (their executors are their descendants), then the master
        for (int i = daemons.size() - 1; i >= 0; i--) Processes.kill(daemons.get(i).toHandle());
        try (Stream<Path> files = Files.walk(tmp)) { // does not follow the links: deletes them, not the jars
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
