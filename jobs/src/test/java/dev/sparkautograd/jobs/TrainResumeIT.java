package dev.sparkautograd.jobs;

import dev.sparkautograd.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The acceptance "resume-after-kill equals an uninterrupted run": train through bin/spark-autograd with
 * --checkpoint-every 1, its driver killed (SIGKILL, the JVM and its children) once a checkpoint of step 2 or later
 * exists; train --resume then runs to the end, and params.npy and loss.csv (step, loss, gradient norm) are those of
 * a run that was never interrupted, bit for bit. Mini-batch Adam (--batch-size: the resumed run must also continue
 * the killed run's batch sequence); the full-batch optimizers' resume is TrainJobTest's (in one JVM): each forked
 * run here costs a JVM and a SparkContext.
 */
class TrainResumeIT {

    /** Enough steps that the kill lands mid-run even on an idle machine (each step is a Spark job of several ms). */
    static final int STEPS = 150;

    @Test
    void resumeAfterTheDriverIsKilledEqualsAnUninterruptedRun(@TempDir Path tmp) throws Exception {
        String[][] variants = {{"mini-batch", "--batch-size", "700"}};
        for (String[] variant : variants) {
            String name = variant[0];
            List<String> options = new ArrayList<>(List.of("--conf", "spark.master=local[2]", "train",
                    "--generate", "20000", "--features", "4", "--partitions", "2", "--seed", "7", "--optimizer", "adam", "--lr", "0.02",
                    "--tolerance", "0", "--max-steps", String.valueOf(STEPS)));
            options.addAll(List.of(variant).subList(1, variant.length));
            Path killed = tmp.resolve(name + "-killed"), whole = tmp.resolve(name + "-whole");
            Path checkpoints = killed.resolve("checkpoint");

            List<String> first = new ArrayList<>(List.of(LauncherIT.LAUNCHER.toString()));
            first.addAll(options);
            first.addAll(List.of("--checkpoint-every", "1", "--output", killed.toString()));
            Processes.Started run = Processes.start(first, LauncherIT.ROOT, LauncherIT::clean);
            int seen = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            while (seen < 2) {
                if (!run.process().isAlive()) fail(name + ": train ended (exit " + run.process().exitValue() + ") before a checkpoint of step 2\n" + run.soFar());
                if (System.nanoTime() > deadline) {
                    Processes.kill(run.process().toHandle());
                    fail(name + ": no checkpoint of step 2 after 240 s\n" + run.soFar());
                }
                seen = newestStep(checkpoints);
                if (seen < 2) Thread.sleep(5);
            }
            Processes.kill(run.process().toHandle());
            int exit = run.process().exitValue();
            String killedOut = run.out().get(30, TimeUnit.SECONDS);
            // the kill landed mid-run: a SIGKILL's exit status, no outputs, the newest checkpoint before the last step
            assertNotEquals(0, exit, name + "\n" + killedOut);
            assertFalse(killedOut.contains("stopped:"), killedOut);
            assertFalse(Files.exists(killed.resolve("params.npy")), name + ": the killed run wrote its output\n" + killedOut);
            int at = newestStep(checkpoints);
            assertTrue(at >= 2 && at < STEPS, name + ": newest checkpoint after the kill is of step " + at);

            List<String> resume = new ArrayList<>(options);
            resume.addAll(List.of("--checkpoint-every", "1", "--resume", "--output", killed.toString()));
            Processes.Result resumed = LauncherIT.launcher(Duration.ofSeconds(300), e -> {}, resume.toArray(String[]::new));
            assertEquals(0, resumed.exit(), resumed::toString);
            assertTrue(DataJobsTest.line(resumed.out(), "resumed:").startsWith("from step " + at + " ("), resumed::toString);
            assertEquals(STEPS, newestStep(checkpoints), "the last step is checkpointed");

            List<String> uninterrupted = new ArrayList<>(options);
            uninterrupted.addAll(List.of("--output", whole.toString()));
            Processes.Result w = LauncherIT.launcher(Duration.ofSeconds(300), e -> {}, uninterrupted.toArray(String[]::new));
            assertEquals(0, w.exit(), w::toString);

            double[] a = Npy.read(whole.resolve("params.npy")).toArray(), b = Npy.read(killed.resolve("params.npy")).toArray();
            assertEquals(a.length, b.length);
            for (int i = 0; i < a.length; i++) {
                assertEquals(Double.doubleToRawLongBits(a[i]), Double.doubleToRawLongBits(b[i]), name + " parameter " + i + ": " + a[i] + " vs " + b[i]);
            }
            List<String> ca = Files.readAllLines(whole.resolve("loss.csv")), cb = Files.readAllLines(killed.resolve("loss.csv"));
            assertEquals(STEPS + 2, ca.size(), name + ": header, step 0 and every step");
            assertEquals(ca.size(), cb.size(), name);
            for (int i = 0; i < ca.size(); i++) { // all but the elapsed time
                assertEquals(ca.get(i).substring(0, ca.get(i).lastIndexOf(',')), cb.get(i).substring(0, cb.get(i).lastIndexOf(',')), name + " loss.csv line " + i);
            }
            assertEquals(DataJobsTest.line(w.out(), "accuracy:"), DataJobsTest.line(resumed.out(), "accuracy:"), name);
        }
    }

    /** The newest complete checkpoint's step in {@code dir} (0: none yet). */
    private static int newestStep(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) return 0;
        int newest = 0;
        try (Stream<Path> steps = Files.list(dir)) {
            for (Path p : steps.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(Checkpoint.PREFIX)) newest = Math.max(newest, Integer.parseInt(n.substring(Checkpoint.PREFIX.length())));
            }
        } catch (java.nio.file.NoSuchFileException e) { // a step directory renamed or deleted while listed
            return newestStep(dir);
        }
        return newest;
    }
}
