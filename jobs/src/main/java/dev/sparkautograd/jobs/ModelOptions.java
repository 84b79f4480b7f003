package dev.sparkautograd.jobs;

import dev.sparkautograd.jobs.models.Model;
import picocli.CommandLine.Option;

import java.util.List;

/** The model options shared by generate, gradient and train. */
public final class ModelOptions {

    @Option(names = "--model", paramLabel = "KIND", description = "logistic, linear, softmax or mlp (default: ${DEFAULT-VALUE}).")
    Model.Kind kind = Model.Kind.logistic;

    @Option(names = "--features", paramLabel = "D", description = "Features per row (default: ${DEFAULT-VALUE}; read from the data when it is given).")
    int features = 10;

    @Option(names = "--classes", paramLabel = "K", description = "Classes of softmax and mlp (default: ${DEFAULT-VALUE}).")
    int classes = 3;

    @Option(names = "--hidden", paramLabel = "H", split = ",", description = "Hidden layer sizes of the mlp (default: 16).")
    List<Integer> hidden = List.of(16);

    Model model(int d) {
        return new Model(kind, d, classes, hidden.stream().mapToInt(Integer::intValue).toArray());
    }
}
