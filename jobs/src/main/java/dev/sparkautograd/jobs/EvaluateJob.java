package dev.sparkautograd.jobs;

import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** Scores a dataset with a model saved by train and prints Spark's evaluation metrics. */
@Command(name = "evaluate",
        description = {"Evaluate a model saved by train (its --output directory) on a dataset with",
                "Spark ML's evaluators: for classifiers accuracy and log-loss",
                "(MulticlassClassificationEvaluator) and, with two classes, the area under",
                "the ROC curve (BinaryClassificationEvaluator); for linear regression RMSE",
                "(RegressionEvaluator).",
                "The data are read as train reads them. Writes nothing."})
public final class EvaluateJob extends SparkJob {

    @Option(names = "--model-dir", paramLabel = "DIR", required = true, description = "train's --output directory.")
    String modelDir;

    @Mixin
    DataOptions data = new DataOptions();

    @Option(names = "--features", paramLabel = "D", description = "Width of LIBSVM data (default: the model's).")
    int features;

    @Override
    protected void validate() {
        String problem = data.validate();
        if (problem != null) throw badOption(problem);
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        Scoring.Loaded m;
        try {
            m = Scoring.load(spark, modelDir);
        } catch (IllegalArgumentException e) {
            throw badOption(e.getMessage());
        }
        describe(spark, "reading and checking the data");
        // Scoring reads the features, the labels and the model's output from the same blocks: cached, at the level the
        // blocks' size calls for (DISK_ONLY when they do not fit the storage memory), as train caches them.
        DataOptions.Input in = data.load(spark, m.options(features), null);
        try {
            in.persistAtAutoLevel(spark.sparkContext());
            String mismatch = m.checkWidth(in.x().shape()[1], in.source());
            if (mismatch != null) throw badOption("--model-dir " + modelDir + ": " + mismatch);
            Dataset<Row> scored = Scoring.score(spark, m.model(), m.params(), in.x(), in.y()).cache();
            out.printf("model:     %s (%s)%n", m.model().describe(), HadoopFiles.qualify(spark, modelDir));
            out.printf("data:      %d rows (%s)%n", in.data().rows(), in.source());
            if (in.labelNote() != null) out.printf("labels:    %s%n", in.labelNote());
            if (m.model().isClassifier()) {
                MulticlassClassificationEvaluator multi = new MulticlassClassificationEvaluator().setLabelCol("label");
                describe(spark, "accuracy");
                out.printf("accuracy:  %.6f%n", multi.setMetricName("accuracy").evaluate(scored));
                describe(spark, "log-loss");
                out.printf("log-loss:  %.6f%n", multi.setMetricName("logLoss").evaluate(scored));
                if (m.model().isBinary() || m.model().classes() == 2) {
                    // numBins 0: the exact area (the default 1,000 bins group the sorted scores per partition, so the area
                    // would depend on the partitioning); the curve stays distributed either way
                    describe(spark, "AUC");
                    out.printf("AUC:       %.6f%n", new BinaryClassificationEvaluator().setLabelCol("label").setMetricName("areaUnderROC")
                            .setNumBins(0).evaluate(scored));
                }
            } else {
                describe(spark, "RMSE");
                out.printf("RMSE:      %.6f%n", new RegressionEvaluator().setLabelCol("label").setMetricName("rmse").evaluate(scored));
            }
            scored.unpersist();
            out.flush();
            return 0;
        } finally {
            in.data().unpersist();
            spark.sparkContext().setJobDescription(null);
        }
    }
}
