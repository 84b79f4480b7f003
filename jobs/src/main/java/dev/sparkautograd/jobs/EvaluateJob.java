package dev.sparkautograd.jobs;

import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
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
                "(Spark SQL: RegressionEvaluator needs MLlib's classes registered with Kryo).",
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
        DataOptions.Input in = data.load(spark, m.options(features), org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        try {
            String mismatch = m.checkWidth(in.x().shape()[1], in.source());
            if (mismatch != null) throw badOption("--model-dir " + modelDir + ": " + mismatch);
            Dataset<Row> scored = Scoring.score(spark, m.model(), m.params(), in.x(), in.y(), true).cache();
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
                    describe(spark, "AUC");
                    try {
                        out.printf("AUC:       %.6f%n", new BinaryClassificationEvaluator().setLabelCol("label").setMetricName("areaUnderROC").evaluate(scored));
                    } catch (Exception e) { // a SparkException, undeclared by the Scala method
                        if (String.valueOf(e.getMessage()).contains("Class is not registered")) {
                            // BinaryClassificationEvaluator ships mllib's BinaryLabelCounter, refused by Kryo with registration required
                            out.printf("AUC:       not available: BinaryClassificationEvaluator needs MLlib's classes registered with Kryo%n");
                        } else {
                            throw e;
                        }
                    }
                }
            } else {
                // RegressionEvaluator aggregates an ml.stat.SummarizerBuffer, which the project's Kryo (registration
                // required) refuses until MLlib's classes are registered: until then the same RMSE in Spark SQL
                describe(spark, "RMSE");
                double rmse = scored.agg(org.apache.spark.sql.functions.sqrt(org.apache.spark.sql.functions.avg(
                        org.apache.spark.sql.functions.pow(scored.col("prediction").minus(scored.col("label")), 2)))).first().getDouble(0);
                out.printf("RMSE:      %.6f%n", rmse);
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
