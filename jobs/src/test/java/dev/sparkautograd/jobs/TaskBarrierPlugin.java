package dev.sparkautograd.jobs;

import org.apache.spark.TaskContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * A test-only Spark plugin ({@code spark.plugins}) that holds the first attempt of every task of one stage
 * at a barrier, so that a test can kill an executor while it certainly runs a task of that stage, and
 * records the task attempts that ran again, so that the test can see the recomputation. Files in the
 * directory {@value #DIR}:
 * <ul>
 * <li>{@code running-<executor id>}: written by a held task as it reaches the barrier;</li>
 * <li>{@code release}: written by the test; held tasks go on (after 5 minutes they go on anyway, so a
 * broken test cannot hang the cluster);</li>
 * <li>{@code rerun-<partition>-<stage attempt>-<task attempt>}: a task of the stage that succeeded on a
 * second or later attempt.</li>
 * </ul>
 */
public final class TaskBarrierPlugin implements SparkPlugin {
    /** The barrier directory (a path every executor can reach: the tests run on one machine). */
    static final String DIR = "spark.sparkautograd.test.barrierDir";
    /** The stage whose tasks wait. */
    static final String STAGE = "spark.sparkautograd.test.barrierStage";

    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new Barrier();
    }

    static final class Barrier implements ExecutorPlugin {
        private Path dir;
        private int stage;
        private String executor;

        @Override
        public void init(PluginContext ctx, Map<String, String> extraConf) {
            dir = Path.of(ctx.conf().get(DIR));
            stage = ctx.conf().getInt(STAGE, -1);
            executor = ctx.executorID();
        }

        /** The running task's rerun file name, or null: TaskContext is unset by the time onTaskSucceeded runs. */
        private final ThreadLocal<String> rerun = new ThreadLocal<>();

        @Override
        public void onTaskStart() {
            TaskContext tc = TaskContext.get();
            rerun.set(null);
            if (tc.stageId() != stage) return;
            if (tc.stageAttemptNumber() > 0 || tc.attemptNumber() > 0) {
                rerun.set("rerun-" + tc.partitionId() + "-" + tc.stageAttemptNumber() + "-" + tc.attemptNumber());
                return;
            }
            touch("running-" + executor);
            long deadline = System.nanoTime() + 300_000_000_000L;
            while (!Files.exists(dir.resolve("release")) && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        @Override
        public void onTaskSucceeded() {
            String name = rerun.get();
            rerun.remove();
            if (name != null) touch(name);
        }

        private void touch(String name) {
            try {
                Files.write(dir.resolve(name), new byte[0], StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
