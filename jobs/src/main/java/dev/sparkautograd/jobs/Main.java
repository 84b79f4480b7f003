package dev.sparkautograd.jobs;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;
import org.apache.spark.sql.SparkSession;

import java.io.PrintWriter;

/**
 * The entry point of every job: {@code bin/spark-autograd} runs it on the embedded local[*] Spark, and
 * spark-submit runs it with {@code --class dev.sparkautograd.jobs.Main} from the thin jar.
 *
 * <p>A job is one class (see {@link SparkJob}) listed in {@code subcommands} below. Every failure ends here, as
 * one line on stderr: usage errors (unknown job, unknown or bad option, an output that exists without
 * {@code --overwrite}) exit with 2; running out of memory with 3; bad data and other failures with 1; the stack trace goes to a log
 * file whose path ends the line (or to stderr with {@code --verbose}).
 */
@Command(name = Main.NAME,
        mixinStandardHelpOptions = true,
        versionProvider = BuildInfo.class,
        customSynopsis = Main.NAME + " [--master URL] [--conf K=V]... [--dry-run] <job> [options]",
        description = {
            "PyTorch-style autograd for Java, with big tensors on Apache Spark.",
            "Runs a job on the embedded local[*] Spark, or submits it to a Spark master.",
            "",
            "Launcher options (bin/spark-autograd, before the job):",
            "      --master URL        Submit the thin jar to this Spark master with",
            "                          spark-submit (SPARK_HOME's, if SPARK_HOME is set).",
            "      --conf KEY=VALUE    A Spark setting for this run (repeatable).",
            "      --dry-run           Print the command instead of running it."},
        optionListHeading = "%nOptions:%n",
        subcommands = {
            InfoJob.class,
            TourJob.class,
            GenerateJob.class,
            GradientJob.class,
            TrainJob.class,
            CompareOptimizersJob.class,
            PredictJob.class,
            EvaluateJob.class,
            BenchJob.class,
        },
        commandListHeading = "%nJobs:%n",
        footer = {"", "Run '" + Main.NAME + " <job> --help' for the options of a job."})
public final class Main implements Runnable {

    static final String NAME = "spark-autograd";

    @Spec
    CommandSpec spec;

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "On failure, print the stack trace on stderr (default: to a log file, whose path is printed).")
    boolean verbose;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "no job given");
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Parses {@code args} and runs the job; returns the exit code (0 ok, 1 job failed, 2 usage error). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return commandLine(out, err).execute(args);
    }

    /** As {@link #execute(String[], PrintWriter, PrintWriter)}, on {@code session}, which the job does not stop (tests). */
    static int execute(String[] args, PrintWriter out, PrintWriter err, SparkSession session) {
        CommandLine main = commandLine(out, err);
        for (CommandLine job : main.getSubcommands().values()) {
            if (job.getCommand() instanceof SparkJob j) j.session = session;
        }
        return main.execute(args);
    }

    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine main = new CommandLine(new Main());
        // Every job gets -h/--help, whether or not its class declares it.
        for (CommandLine job : main.getSubcommands().values()) {
            CommandSpec spec = job.getCommandSpec();
            if (spec.usageMessage().optionListHeading().isEmpty()) {
                spec.usageMessage().optionListHeading("%nOptions:%n");
            }
            if (spec.options().stream().noneMatch(OptionSpec::usageHelp)) {
                spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true)
                        .description("Show this help message and exit.").build());
            }
        }
        return main
                .setOut(out)
                .setErr(err)
                .setParameterExceptionHandler(Main::usageError)
                .setExecutionExceptionHandler(Main::failure);
    }

    /**
     * A job failed: one line on stderr naming what was wrong, exit code 1 (3: out of memory). The stack trace goes to a log file
     * whose path ends the line, or before the line on stderr with {@code --verbose}.
     */
    private static int failure(Exception ex, CommandLine cmd, ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        boolean verbose = false;
        for (ParseResult r = parsed; r != null; r = r.subcommand()) verbose |= r.hasMatchedOption("--verbose");
        String line = cmd.getCommandSpec().qualifiedName() + ": " + Failures.message(ex);
        if (verbose) {
            ex.printStackTrace(err);
        } else {
            line += " (stack trace: " + Failures.log(cmd.getCommandSpec().name(), ex) + "; --verbose prints it)";
        }
        err.println(line);
        err.flush();
        return Failures.exitCode(ex);
    }

    /** One line on stderr, exit code 2: no stack trace, no usage dump. */
    private static int usageError(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        String where = cmd.getCommandSpec().qualifiedName();
        String message;
        if (ex instanceof UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
            String arg = unmatched.getUnmatched().get(0);
            if (cmd.getCommandSpec().parent() == null && !arg.startsWith("-")) {
                message = "unknown job '" + arg + "' (jobs: " + String.join(", ", cmd.getSubcommands().keySet()) + ")";
            } else if (unmatched.isUnknownOption()) {
                message = "unknown option '" + arg + "'";
            } else {
                message = "unexpected argument '" + arg + "'";
            }
        } else {
            message = ex.getMessage() == null ? ex.toString() : ex.getMessage().strip().replaceAll("\\s*\\R\\s*", "; ");
        }
        cmd.getErr().println(where + ": " + message + " (see '" + where + " --help')");
        cmd.getErr().flush();
        return 2;
    }
}
