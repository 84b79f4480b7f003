package dev.sparkautograd.jobs;

import dev.sparkautograd.DistData;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** Scores a dataset with a model saved by train and writes the predictions as Parquet. */
@Command(name = "predict",
        description = {"Score a dataset with a model saved by train (its --output directory:",
                "params.npy and model.properties) and write Parquet with the columns row,",
                "features, label, prediction and, for classifiers, rawPrediction and",
                "probability (ML Vectors, as Spark's classifiers write them: Spark's evaluators",
                "read the file as it is). The data are read as train reads them (--input/--format/--label or --generate); the label column",
                "is required and carried through, so evaluate-style metrics can follow."})
public final class PredictJob extends SparkJob {

    @Option(names = "--model-dir", paramLabel = "DIR", required = true, description = "train's --output directory.")
    String modelDir;

    @Mixin
    DataOptions data = new DataOptions();

    @Option(names = "--features", paramLabel = "D", description = "Width of LIBSVM data (default: the model's).")
    int features;

    @Option(names = "--output", paramLabel = "DIR", description = "Where to write the Parquet predictions (any Hadoop path; default: ${DEFAULT-VALUE}).")
    String output = "predictions";

    @Option(names = "--overwrite", description = "Replace an existing --output directory.")
    boolean overwrite;

    @Override
    protected void validate() {
        String problem = data.validate();
        if (problem != null) throw badOption(problem);
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        long start = System.nanoTime();
        Scoring.Loaded m = load(spark, modelDir);
        claimOutput(spark, output, overwrite);
        describe(spark, "reading and checking the data");
        DataOptions.Input in = data.load(spark, m.options(features), null);
        DistData d = in.data();
        String mismatch = m.checkWidth(in.x().shape()[1], in.source());
        if (mismatch != null) throw badOption("--model-dir " + modelDir + ": " + mismatch);
        describe(spark, "scoring and writing");
        Dataset<Row> scored = Scoring.score(spark, m.model(), m.params(), in.x(), in.y());
        scored.write().parquet(output);
        spark.sparkContext().setJobDescription(null);
        out.printf("model:     %s (%d parameters, %s)%n", m.model().describe(), m.model().size(), HadoopFiles.qualify(spark, modelDir));
        out.printf("data:      %d rows in %d partitions (%s)%n", d.rows(), d.numPartitions(), in.source());
        if (in.labelNote() != null) out.printf("labels:    %s%n", in.labelNote());
        out.printf("columns:   %s%n", String.join(", ", Scoring.schema(m.model(), in.x().isSparse()).fieldNames()));
        out.printf("time:      %.1f s%n", (System.nanoTime() - start) / 1e9);
        out.printf("written:   %s%n", HadoopFiles.qualify(spark, output));
        out.flush();
        return 0;
    }

    /** The saved model, or a one-line usage error naming what is missing or mismatched. */
    Scoring.Loaded load(SparkSession spark, String dir) throws java.io.IOException {
        try {
            return Scoring.load(spark, dir);
        } catch (IllegalArgumentException e) {
            throw badOption(e.getMessage());
        }
    }
}
