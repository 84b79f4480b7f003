package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
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
     * Logistic: predict writes one row per input row with Spark's columns, prediction = (probability of 1 > 1/2);
     * its accuracy is train's; evaluate's accuracy is train's, its log-loss is train's final mean loss, its AUC a
     * probability above 1/2.
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
            List<Double> raw = r.getList(r.fieldIndex("rawPrediction")), p = r.getList(r.fieldIndex("probability"));
            double prediction = r.getDouble(r.fieldIndex("prediction"));
            assertEquals(1 / (1 + Math.exp(-raw.get(1))), p.get(1), 1e-15);
            assertEquals(-raw.get(1), raw.get(0), 0.0);
            assertEquals(p.get(1) > 0.5 ? 1.0 : 0.0, prediction, "row " + i);
            if (prediction == r.getDouble(2)) right++;
        }
        assertEquals(Double.parseDouble(train.line("accuracy:")), right / 3000.0, 1e-6);

        UserDataTest.Run eval = ok(job("evaluate", DATA, "--model-dir", model.toString()));
        assertEquals(Double.parseDouble(train.line("accuracy:")), Double.parseDouble(eval.line("accuracy:")), 1e-6, eval.out());
        assertEquals(lastLoss(model), Double.parseDouble(eval.line("log-loss:")), 1e-6, eval.out());
        // until MLlib's classes are registered with the project's Kryo, the binary evaluator's job is refused, and evaluate says so
        String auc = eval.line("AUC:");
        assertTrue(auc.equals("not available: BinaryClassificationEvaluator needs MLlib's classes registered with Kryo")
                || Double.parseDouble(auc) > 0.5 && Double.parseDouble(auc) <= 1, eval.out());

        // the output rule of every job
        String again = failure(main(job("predict", DATA, "--model-dir", model.toString(), "--output", predictions.toString())), 2);
        assertEquals("spark-autograd predict: the output file:" + predictions + " exists: pass --overwrite to replace it, or choose another --output"
                + " (see 'spark-autograd predict --help')", again);
        ok(job("predict", DATA, "--model-dir", model.toString(), "--output", predictions.toString(), "--overwrite"));
    }

    /** Softmax: evaluate's accuracy is train's; linear regression: evaluate's RMSE is train's. */
    @Test
    void softmaxAccuracyAndLinearRmseAreTrainsThroughSparksEvaluators() throws Exception {
        String[] softmax = with(DATA, "--model", "softmax", "--classes", "3");
        Path model = tmp.resolve("softmax");
        UserDataTest.Run train = ok(job("train", softmax, "--output", model.toString()));
        UserDataTest.Run eval = ok(job("evaluate", DATA, "--model-dir", model.toString()));
        assertEquals(Double.parseDouble(train.line("accuracy:")), Double.parseDouble(eval.line("accuracy:")), 1e-6, eval.out());
        assertEquals(lastLoss(model), Double.parseDouble(eval.line("log-loss:")), 1e-6, eval.out());
        assertTrue(!eval.out().contains("AUC:"), eval.out());

        String[] linear = with(DATA, "--model", "linear");
        Path lin = tmp.resolve("linear");
        UserDataTest.Run trainLin = ok(job("train", linear, "--output", lin.toString()));
        UserDataTest.Run evalLin = ok(job("evaluate", DATA, "--model-dir", lin.toString()));
        assertEquals(Double.parseDouble(trainLin.line("RMSE:")), Double.parseDouble(evalLin.line("RMSE:")), 1e-6, evalLin.out());
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
