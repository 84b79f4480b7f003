package dev.sparkautograd.testing;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the scheduler ran while a piece of test code ran: jobs started, stages completed (a stage a job
 * skipped because its shuffle output existed is not counted), tasks ended. The listener bus is drained
 * before the listener is added and before the counts are read, so events of earlier code are not
 * counted and events of this code are not missed.
 */
public final class SchedulerCounts extends SparkListener {
    private final AtomicInteger jobs = new AtomicInteger(), stages = new AtomicInteger(), tasks = new AtomicInteger();

    private SchedulerCounts() {}

    /** Runs {@code body} and returns what the scheduler of {@code sc} ran meanwhile. */
    public static Counts during(SparkContext sc, Runnable body) {
        SchedulerCounts c = new SchedulerCounts();
        drain(sc);
        sc.addSparkListener(c);
        try {
            body.run();
            drain(sc);
            return new Counts(c.jobs.get(), c.stages.get(), c.tasks.get());
        } finally {
            sc.removeSparkListener(c);
        }
    }

    private static void drain(SparkContext sc) {
        try {
            sc.listenerBus().waitUntilEmpty();
        } catch (TimeoutException e) {
            throw new AssertionError("Spark's listener bus did not drain", e);
        }
    }

    /** Jobs started, stages completed, tasks ended. */
    public record Counts(int jobs, int stages, int tasks) {}

    @Override
    public void onJobStart(SparkListenerJobStart jobStart) {
        jobs.incrementAndGet();
    }

    @Override
    public void onStageCompleted(SparkListenerStageCompleted stageCompleted) {
        stages.incrementAndGet();
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
        tasks.incrementAndGet();
    }
}
