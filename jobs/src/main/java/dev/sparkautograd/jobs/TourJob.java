package dev.sparkautograd.jobs;

import dev.sparkautograd.jobs.tour.SeedTour;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** The seed notebooks replayed cell by cell with the local engine (no Spark needed). */
@Command(name = "tour",
        description = {"Replay the d2l autograd seed notebooks cell by cell: the Java code, then its output.",
                "",
                "Deterministic cells print what PyTorch printed in the notebooks; random cells",
                "(randn) print their own values."})
public final class TourJob implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--section", paramLabel = "NAME", split = ",",
            description = "Show only these parts: simple, non-scalar, detach, control-flow (the cells before still run, silently).")
    List<String> sections = List.of();

    @Option(names = "--notebook", paramLabel = "ID", split = ",", description = "Only these notebooks: 000 to 004.")
    List<String> notebooks = List.of();

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the random cells' randn (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Override
    public Integer call() {
        for (String s : sections) {
            if (!SeedTour.SECTIONS.contains(s)) {
                throw new ParameterException(spec.commandLine(), "unknown section '" + s + "' (one of " + String.join(", ", SeedTour.SECTIONS) + ")");
            }
        }
        SeedTour tour = new SeedTour(seed);
        Set<String> ids = new LinkedHashSet<>(notebooks);
        for (String id : ids) {
            if (!tour.notebookIds().contains(id)) {
                throw new ParameterException(spec.commandLine(), "unknown notebook '" + id + "' (000 to 004)");
            }
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        tour.run(new PrintStream(buf, true, StandardCharsets.UTF_8), new LinkedHashSet<>(sections), ids);
        spec.commandLine().getOut().print(buf.toString(StandardCharsets.UTF_8));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
