package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A Spark standalone cluster for integration tests: one Master and N Workers, each a separate JVM started
 * from the Maven classpath (a SPARK_HOME whose {@code jars/} links {@code jobs/target/spark-classpath.txt})
 * on 127.0.0.1 and free ports. {@link #close()} kills the workers (with their executors: they are the
 * workers' child processes), then the master, by PID, and deletes the temporary directory; use it in
 * try-with-resources so that happens when a test fails too.
 *
 * <p>With {@code daemonProperties}, the daemons get {@code --properties-file} with those lines (a 0600 file:
 * it may hold {@code spark.authenticate.secret}).
 */
final class StandaloneCluster implements AutoCloseable {

    static final Path ROOT = SharedSpark.projectRoot();
    static final Path TARGET = ROOT.resolve("jobs/target");

    /** C1 only: these JVMs live for seconds to a minute, so start-up time is what counts. */
    static final String FAST_START = "-XX:TieredStopAtLevel=1";

    final Path tmp, home, work;
    final String master;
    private final Path propertiesFile;
    private final List<Process> daemons = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();

    private int webUiPort;

    private StandaloneCluster(Path tmp, String master, Path propertiesFile) {
        this.tmp = tmp;
        this.home = tmp.resolve("spark-home");
        this.work = tmp.resolve("work");
        this.master = master;
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
        int port = freePort();
        StandaloneCluster c = new StandaloneCluster(tmp, "spark://127.0.0.1:" + port, props);
        try {
            Path jars = Files.createDirectories(c.home.resolve("jars"));
            for (String jar : Files.readString(TARGET.resolve("spark-classpath.txt")).strip().split(":")) {
                Files.createSymbolicLink(jars.resolve(Path.of(jar).getFileName()), Path.of(jar));
            }
            Files.createDirectories(c.work);
            c.webUiPort = freePort();
            Process m = c.daemon("master", "-Dspark.master.rest.enabled=false", "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", String.valueOf(port), "--webui-port", String.valueOf(c.webUiPort));
            // A worker that finds no master waits 5-15 s before retrying: start it once the master listens.
            c.awaitListening(port, m);
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
        cmd.add("-Dlog4j2.configurationFile=" + ROOT.resolve("conf/log4j2.properties"));
        cmd.add("-cp");
        cmd.add(home.resolve("jars") + "/*");
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

    private void awaitListening(int port, Process jvm) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && jvm.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        fail("the master did not listen on port " + port + logs());
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

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
