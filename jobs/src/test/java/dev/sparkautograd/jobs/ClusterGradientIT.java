package dev.sparkautograd.jobs;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static dev.sparkautograd.jobs.StandaloneCluster.FAST_START;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The gradient job submitted through {@code bin/spark-autograd --master spark://...} to a standalone cluster
 * of two 1-core, 1 GiB workers ({@link StandaloneCluster}) gives, bit for bit, the gradient of the same job
 * run on local[*], also when an executor JVM is killed in the middle of the gradient job.
 */
class ClusterGradientIT {

    static StandaloneCluster cluster;
    static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        tmp = Files.createTempDirectory("cluster-gradient-it");
        cluster = StandaloneCluster.start(2, 1, "1g", null);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (cluster != null) cluster.close();
        } finally {
            try (Stream<Path> files = Files.walk(tmp)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    static Processes.Result local(String... args) throws Exception {
        Processes.Result r = LauncherIT.launcher(Duration.ofSeconds(240), e -> {}, args);
        assertEquals(0, r.exit(), r::toString);
        return r;
    }

    static Processes.Result onCluster(String... args) throws Exception {
        // The driver starts with C1 only (it lives for seconds); the executors keep C2: they do the arithmetic.
        List<String> all = new ArrayList<>(List.of("--master", cluster.master, "--conf", "spark.ui.enabled=false"));
        all.addAll(Arrays.asList(args));
        Processes.Result r;
        try {
            r = LauncherIT.launcher(Duration.ofSeconds(300), e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", FAST_START), all.toArray(new String[0]));
        } catch (AssertionError timeout) {
            throw new AssertionError(timeout.getMessage() + cluster.logs(), timeout);
        }
        Processes.Result result = r;
        assertEquals(0, r.exit(), () -> result + cluster.logs());
        return r;
    }

    static String line(Processes.Result r, String key) {
        return DataJobsTest.line(r.out(), key);
    }

    @Test
    void gradientOfParquetDataOnTheClusterEqualsLocalBitwise() throws Exception {
        Path data = tmp.resolve("data");
        local("generate", "--rows", "300000", "--features", "20", "--partitions", "8", "--seed", "3", "--output", data.toString());
        Path localNpy = tmp.resolve("local.npy"), clusterNpy = tmp.resolve("cluster.npy");
        Processes.Result l = local("gradient", "--input", data.toString(), "--output", localNpy.toString());
        Processes.Result c = onCluster("gradient", "--input", data.toString(), "--output", clusterNpy.toString());
        assertEquals("300000 in 8 partitions", line(c, "rows:"), c::toString);
        assertEquals(line(l, "loss:"), line(c, "loss:"));
        assertEquals(line(l, "grad norm:"), line(c, "grad norm:"));
        assertArrayEquals(Files.readAllBytes(localNpy), Files.readAllBytes(clusterNpy));
        assertEquals(128 + 8 * 21, Files.size(clusterNpy));
    }

    /**
     * An executor JVM is killed (SIGKILL) while it runs a task of the gradient job: the driver loses it, the
     * worker starts a replacement, the lost tasks are recomputed from lineage (the data are generated per
     * partition from the seed), and the gradient is still bit for bit the local one. No race with the job:
     * {@link TaskBarrierPlugin} holds the first attempts of the gradient job's first stage (stage 1; stage 0
     * is DistData's counting job) until the executor is dead, and records the task attempts that ran again.
     */
    @Test
    void executorKilledDuringTheGradientJobStillGivesTheLocalBits() throws Exception {
        String[] job = {"gradient", "--model", "mlp", "--hidden", "32", "--generate", "600000", "--features", "20",
                "--partitions", "16", "--seed", "9"};
        Path localNpy = tmp.resolve("kill-local.npy"), clusterNpy = tmp.resolve("kill-cluster.npy");
        List<String> localArgs = new ArrayList<>(Arrays.asList(job));
        localArgs.addAll(List.of("--output", localNpy.toString()));
        local(localArgs.toArray(new String[0]));

        Path barrier = Files.createDirectories(tmp.resolve("barrier"));
        Path plugin = pluginJar(tmp);
        List<String> clusterArgs = new ArrayList<>(List.of(
                "--conf", "spark.plugins=" + TaskBarrierPlugin.class.getName(),
                "--conf", "spark.jars=" + plugin,                          // the driver loads the plugin too
                "--conf", "spark.executor.extraClassPath=" + plugin,       // at executor start, before any fetch
                "--conf", TaskBarrierPlugin.DIR + "=" + barrier,
                "--conf", TaskBarrierPlugin.STAGE + "=1"));
        clusterArgs.addAll(Arrays.asList(job));
        clusterArgs.addAll(List.of("--output", clusterNpy.toString()));
        List<Path> before = executorLogs();
        CompletableFuture<Processes.Result> run = CompletableFuture.supplyAsync(() -> {
            try {
                return onCluster(clusterArgs.toArray(new String[0]));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        String victimId = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
        while (victimId == null && System.nanoTime() < deadline && !run.isDone()) {
            try (Stream<Path> files = Files.list(barrier)) {
                victimId = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("running-"))
                        .map(n -> n.substring("running-".length())).findFirst().orElse(null);
            }
            if (victimId == null) Thread.sleep(100);
        }
        if (victimId == null) {
            Files.writeString(barrier.resolve("release"), "");
            fail("no task of stage 1 reached the barrier (job done: " + run.isDone() + ")" + cluster.logs());
        }
        String id = victimId;
        ProcessHandle victim = cluster.executors().stream()
                .filter(h -> h.info().commandLine().orElse("").contains(" --executor-id " + id + " "))
                .findFirst().orElseThrow(() -> new AssertionError("executor " + id + " holds a task but has no JVM" + cluster.logs()));
        victim.destroyForcibly();
        victim.onExit().get(30, TimeUnit.SECONDS);
        Files.writeString(barrier.resolve("release"), "");
        Processes.Result r = run.get(300, TimeUnit.SECONDS);
        assertTrue(r.err().contains("Lost executor " + id), r::toString);
        List<String> reruns;
        try (Stream<Path> files = Files.list(barrier)) {
            reruns = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("rerun-")).toList();
        }
        assertFalse(reruns.isEmpty(), "no task of stage 1 ran again after its executor was killed: " + r + cluster.logs());
        // the worker started a replacement: three executor directories in the application's work directories
        long executorDirs = executorLogs().stream().filter(p -> !before.contains(p)).count();
        assertTrue(executorDirs >= 3, "executor directories: " + executorDirs + cluster.logs());
        assertEquals("600000 in 16 partitions", line(r, "rows:"));
        assertArrayEquals(Files.readAllBytes(localNpy), Files.readAllBytes(clusterNpy), r::toString);
    }

    /** {@link TaskBarrierPlugin}'s classes in a jar, for {@code spark.jars}. */
    private static Path pluginJar(Path dir) throws Exception {
        Path classes = StandaloneCluster.TARGET.resolve("test-classes");
        Path jar = dir.resolve("task-barrier-plugin.jar");
        List<Path> files;
        try (Stream<Path> all = Files.list(classes.resolve("dev/sparkautograd/jobs"))) {
            files = all.filter(p -> p.getFileName().toString().startsWith(TaskBarrierPlugin.class.getSimpleName())).toList();
        }
        assertTrue(files.size() >= 2, "TaskBarrierPlugin's class files in " + classes + ": " + files);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            for (Path f : files) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString()));
                out.write(Files.readAllBytes(f));
                out.closeEntry();
            }
        }
        return jar;
    }

    /** The executors' stderr files (one directory per executor, under the worker's application directory). */
    private static List<Path> executorLogs() throws Exception {
        for (int attempt = 0; ; attempt++) {
            try (Stream<Path> files = Files.walk(cluster.work)) {
                return files.filter(p -> p.getFileName().toString().equals("stderr")).toList();
            } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException raced) {
                if (attempt == 5) throw raced;
                Thread.sleep(50); // a directory appeared or vanished while walking
            }
        }
    }
}
