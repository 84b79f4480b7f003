package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bin/spark-autograd, run for real (on the jars this build just packaged: it must not build again). */
class LauncherIT {

    static final Path ROOT = SharedSpark.projectRoot();
    static final Path LAUNCHER = ROOT.resolve("bin/spark-autograd");
    static final String THIN = ROOT.resolve("jobs/target/spark-autograd-jobs-" + BuildInfo.version() + "-thin.jar").toString();
    static final String DEFAULTS = ROOT.resolve("conf/spark-defaults.conf").toString();

    /** The launcher in a clean environment: no SPARK_HOME, no SPARK_LOCAL_IP/HOSTNAME, no build. */
    static Processes.Result launcher(Duration timeout, Consumer<Map<String, String>> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        return Processes.run(cmd, ROOT, timeout, e -> {
            clean(e);
            env.accept(e);
        });
    }

    /** The launcher's clean environment: no SPARK_HOME, no SPARK_LOCAL_IP/HOSTNAME, no JVM options, no build. */
    static void clean(Map<String, String> e) {
        e.remove("SPARK_HOME");
        e.remove("SPARK_LOCAL_IP");
        e.remove("SPARK_LOCAL_HOSTNAME");
        e.remove("SPARK_AUTOGRAD_JAVA_OPTS");
        e.put("SPARK_AUTOGRAD_SKIP_BUILD", "1");
    }

    static Processes.Result launcher(String... args) throws Exception {
        return launcher(Duration.ofSeconds(60), e -> {}, args);
    }

    /** Splits a line printed with bash's printf %q (backslash escapes) into words. */
    static List<String> words(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                w.append(line.charAt(++i));
            } else if (c == ' ') {
                words.add(w.toString());
                w.setLength(0);
            } else {
                w.append(c);
            }
        }
        words.add(w.toString());
        return words;
    }

    static String dryRunLine(Processes.Result r) {
        assertEquals(0, r.exit(), r::toString);
        assertEquals(1, r.outLines(), r::toString);
        assertEquals("", r.err(), r::toString);
        return r.out().strip();
    }

    @Test
    void dryRunWithMasterPrintsASparkSubmitOfTheThinJar() throws Exception {
        List<String> w = words(dryRunLine(launcher("--master", "spark://127.0.0.1:7077", "--dry-run", "info")));
        assertEquals(List.of("SPARK_LOCAL_IP=127.0.0.1", "SPARK_LOCAL_HOSTNAME=127.0.0.1"), w.subList(0, 2),
                "loopback master: the launcher sets the loopback address");
        int submit = w.indexOf("org.apache.spark.deploy.SparkSubmit");
        assertTrue(submit > 0, w::toString);
        assertEquals(List.of("--master", "spark://127.0.0.1:7077", "--properties-file", DEFAULTS,
                "--class", "dev.sparkautograd.jobs.Main", THIN, "info"), w.subList(submit + 1, w.size()));
        String cp = w.get(submit - 1);
        assertEquals("-cp", w.get(submit - 2));
        assertTrue(cp.contains("/spark-core_2.13-4.2.0.jar"), cp);
        assertFalse(cp.contains("spark-autograd"), "SparkSubmit's classpath is Spark alone: " + cp);
        assertTrue(w.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), "Spark's JVM options");
        assertTrue(w.contains("-Dlog4j2.configurationFile=" + ROOT.resolve("conf/log4j2.properties")));
    }

    @Test
    void dryRunToARemoteMasterLeavesTheAddressToSparkAndPassesConfsAndJobOptions() throws Exception {
        List<String> w = words(dryRunLine(launcher("--master", "spark://10.1.2.3:7077", "--conf", "spark.executor.memory=2g",
                "--dry-run", "info", "--tensors", "3")));
        assertFalse(w.get(0).startsWith("SPARK_LOCAL_IP="), w::toString);
        int submit = w.indexOf("org.apache.spark.deploy.SparkSubmit");
        assertEquals(List.of("--master", "spark://10.1.2.3:7077", "--properties-file", DEFAULTS,
                "--conf", "spark.executor.memory=2g", "--class", "dev.sparkautograd.jobs.Main", THIN,
                "info", "--tensors", "3"), w.subList(submit + 1, w.size()));
    }

    @Test
    void withSparkHomeItsSparkSubmitRunsTheThinJar(@TempDir Path home) throws Exception {
        Path bin = Files.createDirectories(home.resolve("bin"));
        Path submit = bin.resolve("spark-submit");
        Files.writeString(submit, "#!/usr/bin/env bash\nprintf 'ARG %s\\n' \"$@\"\n");
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
        Consumer<Map<String, String>> sparkHome = e -> e.put("SPARK_HOME", home.toString());

        List<String> w = words(dryRunLine(launcher(Duration.ofSeconds(60), sparkHome,
                "--master", "spark://127.0.0.1:7077", "--dry-run", "info")));
        assertEquals(submit.toString(), w.get(2), w::toString);

        // Not a dry run: the launcher executes SPARK_HOME's spark-submit (here a stub printing its arguments).
        Processes.Result r = launcher(Duration.ofSeconds(60), sparkHome, "--master", "spark://127.0.0.1:7077", "info");
        assertEquals(0, r.exit(), r::toString);
        assertEquals(List.of("--master", "spark://127.0.0.1:7077", "--properties-file", DEFAULTS,
                        "--driver-java-options", "-Dlog4j2.configurationFile=" + ROOT.resolve("conf/log4j2.properties"),
                        "--class", "dev.sparkautograd.jobs.Main", THIN, "info"),
                r.out().lines().map(l -> l.substring("ARG ".length())).toList());

        // The heap of SPARK_AUTOGRAD_JAVA_OPTS goes to --driver-memory (spark-submit refuses -Xmx in java options).
        Processes.Result withHeap = launcher(Duration.ofSeconds(60), sparkHome.andThen(e -> e.put("SPARK_AUTOGRAD_JAVA_OPTS", "-Xmx3g -Dx.y=z")),
                "--master", "spark://127.0.0.1:7077", "info");
        assertEquals(0, withHeap.exit(), withHeap::toString);
        assertEquals(List.of("--master", "spark://127.0.0.1:7077", "--properties-file", DEFAULTS, "--driver-memory", "3g",
                        "--driver-java-options", "-Dlog4j2.configurationFile=" + ROOT.resolve("conf/log4j2.properties") + " -Dx.y=z",
                        "--class", "dev.sparkautograd.jobs.Main", THIN, "info"),
                withHeap.out().lines().map(l -> l.substring("ARG ".length())).toList());
    }

    @Test
    void dryRunWithoutMasterPrintsTheLocalCommand() throws Exception {
        List<String> w = words(dryRunLine(launcher("--dry-run", "info")));
        assertEquals(List.of("SPARK_LOCAL_IP=127.0.0.1", "SPARK_LOCAL_HOSTNAME=127.0.0.1"), w.subList(0, 2));
        assertFalse(w.contains("org.apache.spark.deploy.SparkSubmit"));
        assertTrue(w.contains("-Dsparkautograd.conf=" + DEFAULTS), w::toString);
        assertTrue(w.contains("-Dspark.driver.host=127.0.0.1"), w::toString);
        assertEquals(List.of("dev.sparkautograd.jobs.Main", "info"), w.subList(w.size() - 2, w.size()));
        String cp = w.get(w.size() - 3);
        assertTrue(cp.contains("/spark-core_2.13-4.2.0.jar") && cp.contains("spark-autograd"), cp);
    }

    /** The acceptance: the tour through the launcher prints the seeds' deterministic outputs byte for byte. */
    @Test
    void tourPrintsTheSeedNotebooksOutputs() throws Exception {
        Processes.Result r = launcher("tour");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(dev.sparkautograd.jobs.tour.SeedTourTest.assertMatchesSeeds(r.out()) >= 45, r::toString);
        Processes.Result detach = launcher("tour", "--section", "detach", "--notebook", "004");
        assertEquals(0, detach.exit(), detach::toString);
        assertFalse(detach.out().contains("control-flow"), detach::toString);
        assertTrue(detach.out().contains("tensor([0., 1., 4., 9.])"), detach::toString);
        Processes.Result bad = launcher("tour", "--section", "nosuch");
        assertEquals(2, bad.exit(), bad::toString);
        assertEquals(1, bad.errLines(), bad::toString);
    }

    @Test
    void helpListsTheJobs() throws Exception {
        Processes.Result r = launcher("--help");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+info\\s+\\S.*")), r::toString);
        Processes.Result info = launcher("info", "--help");
        assertEquals(0, info.exit(), info::toString);
        assertTrue(info.out().startsWith("Usage: spark-autograd info"), info::toString);
    }

    @Test
    void unknownJobIsOneLineAndExitCode2() throws Exception {
        Processes.Result r = launcher("nosuchjob");
        assertEquals(2, r.exit(), r::toString);
        assertEquals("", r.out(), r::toString);
        assertEquals(1, r.errLines(), r::toString);
        assertTrue(r.err().contains("unknown job 'nosuchjob'"), r::toString);
    }

    @Test
    void unknownOptionIsOneLineAndExitCode2() throws Exception {
        for (List<String> args : List.of(List.of("info", "--bogus"), List.of("--bogus", "info"),
                List.of("--master", "spark://127.0.0.1:7077", "info", "--bogus"))) {
            Processes.Result r = launcher(args.toArray(String[]::new));
            assertEquals(2, r.exit(), () -> args + "\n" + r);
            assertEquals("", r.out(), r::toString);
            assertEquals(1, r.errLines(), () -> args + "\n" + r);
            assertTrue(r.err().contains("unknown option '--bogus'"), r::toString);
        }
    }

    @Test
    void infoRunsEndToEndOnLocalStar() throws Exception {
        Processes.Result r = launcher(Duration.ofSeconds(120), e -> e.remove("OPENBLAS_NUM_THREADS"), "info");
        assertEquals(0, r.exit(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertEquals("spark-autograd: " + BuildInfo.version(), lines.get(0), r::toString);
        assertTrue(lines.get(1).startsWith("Spark:          4.2.0 (Scala 2.13."), r::toString);
        assertTrue(lines.get(2).matches("Java: +\\d+.*"), r::toString);
        assertTrue(lines.get(3).startsWith("Master:         local[*] "), r::toString);
        assertTrue(lines.get(4).contains("KryoSerializer (registration required: true"), r::toString);
        // the launcher keeps a native BLAS to one thread per task in local mode
        assertTrue(lines.get(5).startsWith("Math (driver):  BLAS ") && lines.get(5).endsWith("OPENBLAS_NUM_THREADS=1"), r::toString);
        assertTrue(lines.get(6).startsWith("Math (tasks):   BLAS "), r::toString);
        assertTrue(lines.get(7).endsWith(": OK"), r::toString);
        assertFalse(r.err().contains("Exception"), r::toString);
        assertFalse(r.err().lines().anyMatch(l -> l.contains(" ERROR ")), r::toString);
        assertFalse(r.err().contains("Using incubator modules"), r::toString);
    }

    /** A bad cell in the user's CSV, through the launcher: one line on stderr (no Spark task report), exit code 1. */
    @Test
    void aBadDataFileIsOneLineOnStderrAndExitCode1(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("bad.csv");
        Files.writeString(csv, "f1,f2,label\n1,2,0\n3,oops,1\n");
        Processes.Result r = launcher(Duration.ofSeconds(120), e -> {}, "gradient", "--input", csv.toString(), "--format", "csv",
                "--output", dir.resolve("g.npy").toString());
        assertEquals(1, r.exit(), r::toString);
        // Spark may log an unrelated WARN (e.g. a busy UI port on a shared machine): no ERROR, no trace, one message line
        List<String> lines = r.err().lines().filter(l -> !l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN .*")).toList();
        assertEquals(1, lines.size(), r::toString);
        String err = lines.get(0);
        assertTrue(err.startsWith("spark-autograd gradient: CSV file:" + csv + " line 3, column 'f2': 'oops' is not a number;"
                + " fix the cell or remove the row (stack trace: "), r::toString);
        assertFalse(Files.exists(dir.resolve("g.npy")), r::toString);
        Path log = Path.of(err.substring(err.indexOf("(stack trace: ") + "(stack trace: ".length(), err.lastIndexOf(';')));
        assertTrue(Files.readString(log).contains("BadDataException"), log::toString);
        Files.delete(log);
    }
}
