package dev.sparkautograd.jobs;

import dev.sparkautograd.jobs.models.Model;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.util.List;

/** The model options shared by generate, gradient and train. */
public final class ModelOptions {

    /** Classes of generated data when --classes is not given. */
    static final int GENERATED_CLASSES = 3;

    @Option(names = "--model", paramLabel = "KIND", description = "logistic, linear, softmax, mlp or fm (a factorization machine with the logistic loss; default: ${DEFAULT-VALUE}).")
    Model.Kind kind = Model.Kind.logistic;

    /** Features per row of generated data (10 unless --features is given). */
    int features = 10;

    /** Whether --features was given (LIBSVM data: its width; else Spark's libsvm source reads the width from the data). */
    boolean featuresGiven;

    @Option(names = "--features", paramLabel = "D", description = "Features per row of generated data (default: 10), and the width of LIBSVM data"
            + " (Spark's numFeatures; default: the largest index in the data, found by an extra pass of Spark's libsvm source); Parquet and CSV data give their own width.")
    void features(int d) {
        features = d;
        featuresGiven = true;
    }

    @Option(names = "--classes", paramLabel = "K", description = "Classes of softmax and mlp (default: the largest label + 1 of the data; 3 for generated data).")
    Integer classes;

    @Option(names = "--hidden", paramLabel = "H", split = ",", description = "Hidden layer sizes of the mlp (default: 16).")
    List<Integer> hidden = List.of(16);

    /** The command this mixin belongs to (for a usage error naming it). */
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    /** Factors per feature of the fm. */
    int factors = Model.DEFAULT_FACTORS;

    @Option(names = "--factors", paramLabel = "K", description = "Factors per feature of the fm (its embedding size; default: 8).")
    void factors(int k) {
        if (k < 1) throw new ParameterException(mixee.commandLine(), "--factors must be positive, got " + k);
        factors = k;
    }

    Model model(int d) {
        return model(d, classes != null ? classes : GENERATED_CLASSES);
    }

    Model model(int d, int k) {
        return new Model(kind, d, k, hidden.stream().mapToInt(Integer::intValue).toArray(), factors);
    }
}
