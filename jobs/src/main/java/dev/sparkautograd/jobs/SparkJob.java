package dev.sparkautograd.jobs;

import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * A job that needs Spark: picocli parses its options, {@link #validate()} checks them before Spark
 * starts, then {@link #run} gets a session from {@link SparkSessions#forJob} that is stopped afterwards.
 *
 * <p>Adding a job: one class extending this, annotated {@code @Command(name = ..., description = ...)},
 * listed in {@link Main}'s {@code subcommands}. Results go to {@code out} (stdout); logs go to stderr.
 */
public abstract class SparkJob implements Callable<Integer> {

    @Spec
    protected CommandSpec spec;

    /** A session to run on instead of building one (set by {@link Main#execute} for in-process runs); not stopped. */
    SparkSession session;

    @Override
    public final Integer call() throws Exception {
        validate();
        SparkSession spark = session != null ? session : SparkSessions.forJob(spec.name());
        try {
            return run(spark, spec.commandLine().getOut());
        } catch (OutOfMemoryError e) {
            // an Error would pass picocli's handler by: one line naming the launcher's heap setting (Failures)
            throw new IllegalStateException("out of memory", e);
        } finally {
            if (session == null) spark.stop();
        }
    }

    /**
     * Checks the options before Spark starts; throw {@code picocli.CommandLine.ParameterException}
     * (via {@link #badOption}) for a one-line usage error with exit code 2.
     */
    protected void validate() {}

    /** A usage error of this job (one line on stderr, exit code 2). */
    protected final RuntimeException badOption(String message) {
        return new picocli.CommandLine.ParameterException(spec.commandLine(), message);
    }

    /** Applies the jobs' one output rule (see {@link HadoopFiles#claimOutput}): a usage error if it exists without --overwrite. */
    protected final void claimOutput(SparkSession spark, String path, boolean overwrite) throws java.io.IOException {
        String problem = HadoopFiles.claimOutput(spark, path, overwrite);
        if (problem != null) throw badOption(problem);
    }

    /** Names the Spark jobs that follow in the UI: "{@code <job> <what>}", e.g. "train logistic: step 7 loss+gradient". */
    protected final void describe(SparkSession spark, String what) {
        spark.sparkContext().setJobDescription(spec.name() + " " + what);
    }

    /** The job's work on {@code spark} (which the job must not stop); returns the process exit code. */
    public abstract int run(SparkSession spark, PrintWriter out) throws Exception;
}
