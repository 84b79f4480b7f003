package dev.sparkautograd.jobs;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The job dispatcher, in process: parsing, help and usage errors (no Spark is started). */
class MainTest {

    record Run(int exit, String out, String err) {
        long errLines() {
            return err.lines().count();
        }
    }

    static Run main(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void helpListsTheJobsAndTheLauncherOptions() {
        Run r = main("--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("Usage: spark-autograd [--master URL]"), r.out());
        assertTrue(r.out().contains("--dry-run"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+info\\s+Print versions.*")), r.out());
        for (String job : Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter())).getSubcommands().keySet()) {
            assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+" + job + "\\s+\\S.*")), "job " + job + " listed");
        }
    }

    @Test
    void everyJobHasHelp() {
        CommandLine main = Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        assertFalse(main.getSubcommands().isEmpty());
        for (var job : main.getSubcommands().entrySet()) {
            assertTrue(job.getValue().getCommandSpec().options().stream().anyMatch(OptionSpec::usageHelp), job.getKey());
            Run r = main(job.getKey(), "--help");
            assertEquals(0, r.exit(), job.getKey());
            assertTrue(r.out().startsWith("Usage: spark-autograd " + job.getKey()), r.out());
            assertTrue(r.out().contains("-h, --help"), r.out());
            assertEquals("", r.err());
        }
        assertTrue(main("info", "--help").out().contains("--tensors=N"));
    }

    @Test
    void unknownJobIsOneLineAndExitCode2() {
        Run r = main("nosuchjob");
        assertEquals(2, r.exit());
        assertEquals("", r.out());
        assertEquals(1, r.errLines(), r.err());
        assertTrue(r.err().startsWith("spark-autograd: unknown job 'nosuchjob' (jobs: info"), r.err());
    }

    @Test
    void unknownOptionOfAJobIsOneLineAndExitCode2() {
        Run r = main("info", "--bogus");
        assertEquals(2, r.exit());
        assertEquals(1, r.errLines(), r.err());
        assertTrue(r.err().startsWith("spark-autograd info: unknown option '--bogus'"), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }

    @Test
    void badValuesAndMissingJobAreOneLineUsageErrors() {
        for (String[] args : new String[][] {{}, {"--bogus"}, {"info", "--tensors", "x"}, {"info", "--tensors", "0"},
                {"info", "--partitions", "-1"}, {"info", "extra"}}) {
            Run r = main(args);
            assertEquals(2, r.exit(), String.join(" ", args));
            assertEquals(1, r.errLines(), r.err());
            assertTrue(r.err().startsWith("spark-autograd"), r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void versionIsTheProjectVersion() {
        Run r = main("--version");
        assertEquals(0, r.exit());
        assertEquals("spark-autograd " + BuildInfo.version() + " (built for Spark 4.2.0)", r.out().strip());
        assertTrue(BuildInfo.version().matches("\\d+\\.\\d+\\.\\d+.*"), BuildInfo.version());
    }
}
