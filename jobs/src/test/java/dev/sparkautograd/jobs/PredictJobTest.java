package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.sparkautograd.jobs.UserDataTest.failure;
import static dev.sparkautograd.jobs.UserDataTest.main;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** predict and evaluate through the real entry point on local[2], with models saved by train. */
class PredictJobTest {

    @TempDir
    static Path tmp;

    private static final String[] DATA = {"--generate", "3000", "--features", "3", "--partitions", "2", "--seed", "4"};

    private static String[] with(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** {@code job} with the data options and then {@code rest}. */
    private static String[] job(String job, String[] data, String... rest) {
        return with(with(new String[] {job}, data), rest);
    }

    private static UserDataTest.Run ok(String... args) {
        UserDataTest.Run r = main(args);
        assertEquals(0, r.exit(), r.out() + r.err());
        return r;
    }

    private static double lastLoss(Path trainOutput) throws Exception {
        List<String> csv = Files.readAllLines(trainOutput.resolve("loss.csv"));
        return Double.parseDouble(csv.get(csv.size() - 1).split(",")[1]);
    }

    /**
     * Logistic: predict writes one row per input row with Spark's columns (rawPrediction and probability ML
     * Vectors), prediction = (probability of 1 > 1/2); its accuracy is train's; evaluate's accuracy is train's, its
     * log-loss is train's final mean loss, its AUC Spark's BinaryClassificationEvaluator's on predict's Parquet as
     * read back (and the AUC counted by hand: the share of (positive, negative) pairs ordered by the score, ties counting half).
     */
    @Test
    void logisticPredictionsAndTheirMetricsAgreeWithTrain() throws Exception {
        Path model = tmp.resolve("logistic"), predictions = tmp.resolve("logistic-predictions");
        UserDataTest.Run train = ok(job("train", DATA, "--output", model.toString()));
        UserDataTest.Run predict = ok(job("predict", DATA, "--model-dir", model.toString(), "--output", predictions.toString()));
        assertEquals("row, features, label, rawPrediction, probability, prediction", predict.line("columns:"));

        Dataset<Row> df = SharedSpark.session().read().parquet(predictions.toString());
        List<Row> rows = df.orderBy("row").collectAsList();
        assertEquals(3000, rows.size());
        int right = 0;
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            assertEquals(i, r.getLong(0));
            Vector raw = r.getAs("rawPrediction"), p = r.getAs("probability");
            double prediction = r.getDouble(r.fieldIndex("prediction"));
            assertEquals(2, raw.size());
            assertEquals(1 / (1 + Math.exp(-raw.apply(1))), p.apply(1), 1e-15);
            assertEquals(-raw.apply(1), raw.apply(0), 0.0);
            assertEquals(p.apply(1) > 0.5 ? 1.0 : 0.0, prediction, "row " + i);
            if (prediction == r.getDouble(2)) right++;
        }
        assertEquals(Double.parseDouble(train.line("accuracy:")), right / 3000.0, 1e-6);

        UserDataTest.Run eval = ok(job("evaluate", DATA, "--model-dir", model.toString()));
        assertEquals(Double.parseDouble(train.line("accuracy:")), Double.parseDouble(eval.line("accuracy:")), 1e-6, eval.out());
        assertEquals(lastLoss(model), Double.parseDouble(eval.line("log-loss:")), 1e-6, eval.out());
        double auc = Double.parseDouble(eval.line("AUC:"));
        assertEquals(new BinaryClassificationEvaluator().setNumBins(0).evaluate(df), auc, 1e-6, eval.out());
        long pairs = 0, ordered = 0;
        for (Row a : rows) {
            if (a.getDouble(2) != 1) continue;
            for (Row b : rows) {
                if (b.getDouble(2) != 0) continue;
                double sa = ((Vector) a.getAs("rawPrediction")).apply(1), sb = ((Vector) b.getAs("rawPrediction")).apply(1);
                pairs += 2;
                ordered += sa > sb ? 2 : sa == sb ? 1 : 0;
            }
        }
        assertEquals((double) ordered / pairs, auc, 1e-6, eval.out()); // (evaluate prints 6 decimals)
        assertTrue(auc > 0.6, eval.out());

        // the output rule of every job
        String again = failure(main(job("predict", DATA, "--model-dir", model.toString(), "--output", predictions.toString())), 2);
        assertEquals("spark-autograd predict: the output file:" + predictions + " exists: pass --overwrite to replace it, or choose another --output"
                + " (see 'spark-autograd predict --help')", again);
        ok(job("predict", DATA, "--model-dir", model.toString(), "--output", predictions.toString(), "--overwrite"));
    }

    /**
     * Softmax: evaluate's accuracy is train's, and Spark's MulticlassClassificationEvaluator's on predict's Parquet;
     * linear regression: evaluate's RMSE is train's, and RegressionEvaluator's on predict's Parquet.
     */
    @Test
    void softmaxAccuracyAndLinearRmseAreTrainsThroughSparksEvaluators() throws Exception {
        String[] softmax = with(DATA, "--model", "softmax", "--classes", "3");
        Path model = tmp.resolve("softmax");
        UserDataTest.Run train = ok(job("train", softmax, "--output", model.toString()));
        UserDataTest.Run eval = ok(job("evaluate", DATA, "--model-dir", model.toString()));
        assertEquals(Double.parseDouble(train.line("accuracy:")), Double.parseDouble(eval.line("accuracy:")), 1e-6, eval.out());
        assertEquals(lastLoss(model), Double.parseDouble(eval.line("log-loss:")), 1e-6, eval.out());
        assertTrue(!eval.out().contains("AUC:"), eval.out());
        Path predictions = tmp.resolve("softmax-predictions");
        ok(job("predict", DATA, "--model-dir", model.toString(), "--output", predictions.toString()));
        Dataset<Row> scored = SharedSpark.session().read().parquet(predictions.toString());
        assertEquals(Double.parseDouble(eval.line("log-loss:")), new MulticlassClassificationEvaluator().setMetricName("logLoss").evaluate(scored), 1e-6);
        assertEquals(Double.parseDouble(eval.line("accuracy:")), new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(scored), 1e-6);

        String[] linear = with(DATA, "--model", "linear");
        Path lin = tmp.resolve("linear");
        UserDataTest.Run trainLin = ok(job("train", linear, "--output", lin.toString()));
        UserDataTest.Run evalLin = ok(job("evaluate", DATA, "--model-dir", lin.toString()));
        assertEquals(Double.parseDouble(trainLin.line("RMSE:")), Double.parseDouble(evalLin.line("RMSE:")), 1e-6, evalLin.out());
        Path linPredictions = tmp.resolve("linear-predictions");
        UserDataTest.Run predictLin = ok(job("predict", DATA, "--model-dir", lin.toString(), "--output", linPredictions.toString()));
        assertEquals("row, features, label, prediction", predictLin.line("columns:"));
        Dataset<Row> lp = SharedSpark.session().read().parquet(linPredictions.toString());
        double rmse = new RegressionEvaluator().evaluate(lp), sum = 0;
        for (Row r : lp.collectAsList()) sum += Math.pow(r.getDouble(r.fieldIndex("prediction")) - r.getDouble(r.fieldIndex("label")), 2);
        assertEquals(Math.sqrt(sum / 3000), rmse, 1e-12);
        assertEquals(Double.parseDouble(evalLin.line("RMSE:")), rmse, 1e-6);
    }

    @Test
    void aMissingOrMismatchedModelIsAOneLineError() throws Exception {
        Path none = tmp.resolve("no-model");
        assertEquals("spark-autograd predict: --model-dir " + none + ": no file:" + none.resolve("model.properties")
                        + " (give the --output directory of train) (see 'spark-autograd predict --help')",
                failure(main(job("predict", DATA, "--model-dir", none.toString(), "--output", tmp.resolve("p0").toString())), 2));

        Path model = tmp.resolve("mismatch");
        ok(job("train", DATA, "--max-steps", "2", "--output", model.toString()));
        Files.writeString(model.resolve("model.properties"), Files.readString(model.resolve("model.properties")).replace("features=3", "features=5"));
        assertEquals("spark-autograd evaluate: --model-dir " + model + ": params.npy holds 4 values but logistic regression, 5 features"
                        + " (model.properties) has 6 parameters (see 'spark-autograd evaluate --help')",
                failure(main(job("evaluate", DATA, "--model-dir", model.toString())), 2));
        Files.writeString(model.resolve("model.properties"), "model=forest\nfeatures=3\nclasses=1\n");
        assertEquals("spark-autograd predict: file:" + model.resolve("model.properties") + ": 'model' is 'forest', not one of [logistic, linear, softmax, mlp, fm]"
                        + " (see 'spark-autograd predict --help')",
                failure(main(job("predict", DATA, "--model-dir", model.toString(), "--output", tmp.resolve("p1").toString())), 2));
    }
}
