package dev.sparkautograd.ml;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.ml.regression.LinearRegressionModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.sparkautograd.ml.AutogradClassifierTest.SCHEMA;
import static dev.sparkautograd.ml.AutogradClassifierTest.assembler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AutogradRegressor against Spark's LinearRegression, saved in a PipelineModel, bad labels rejected before training. */
class AutogradRegressorTest {

    /** y = 1.5 x1 - 2 x2 + 0.5 x3 + 0.7 + N(0, 0.3^2). */
    static Dataset<Row> data(SparkSession spark, int rows, long seed) {
        Random r = new Random(seed);
        List<Row> out = new ArrayList<>();
        for (long i = 0; i < rows; i++) {
            double a = r.nextGaussian(), b = r.nextGaussian() * 2, c = r.nextDouble() - 0.5;
            out.add(RowFactory.create(i, a, b, c, 1.5 * a - 2 * b + 0.5 * c + 0.7 + 0.3 * r.nextGaussian()));
        }
        return spark.createDataFrame(out, SCHEMA).repartition(2);
    }

    static List<Row> predictions(Dataset<Row> df) {
        return df.orderBy("id").select("id", "prediction").collectAsList();
    }

    /**
     * Spark's LinearRegression (its WeightedLeastSquares, with the label standardized as glmnet does) minimizes
     * {@code 1/(2n) |y - Xw - b|^2 + regParam / (2 sd(y)) |w|^2}: its L2 penalty is divided by the label's population
     * standard deviation. So the same solution takes {@code regParam / sd(y)} here; without a penalty the two
     * objectives are the same. In the lenient session: LinearRegression ships classes Spark does not register with Kryo.
     */
    @Test
    void withoutHiddenLayersIsSparksLinearRegression() {
        AutogradClassifierTest.withSparkMllibSession(spark -> {
            Dataset<Row> df = assembler().transform(data(spark, 300, 1));
            double sd = df.agg(functions.stddev_pop("label")).first().getDouble(0);
            for (double sparkReg : new double[] {0, 0.1}) {
                double reg = sparkReg / sd;
                AutogradRegressionModel ours = new AutogradRegressor().setRegParam(reg).setTol(1e-14).setMaxIter(200).fit(df);
                LinearRegressionModel lr = new LinearRegression().setStandardization(false).setRegParam(sparkReg).setElasticNetParam(0).fit(df);
                List<Row> expected = predictions(lr.transform(df)), actual = predictions(ours.transform(df));
                for (int i = 0; i < expected.size(); i++) {
                    assertEquals(expected.get(i).getDouble(1), actual.get(i).getDouble(1), 1e-6, "prediction of row " + i + ", Spark's regParam " + sparkReg);
                }
                double[] w = ours.parameters().get("0.weight").toArray();
                for (int i = 0; i < 3; i++) assertEquals(lr.coefficients().apply(i), w[i], 1e-6, "coefficient " + i);
                assertEquals(lr.intercept(), ours.parameters().get("0.bias").item(), 1e-6, "intercept");

                // the objective: half the mean squared error plus regParam / 2 |w|^2, at Spark's solution
                double sq = 0, n = 0;
                for (Row r : lr.transform(df).select("label", "prediction").collectAsList()) {
                    sq += Math.pow(r.getDouble(0) - r.getDouble(1), 2);
                    n++;
                }
                double penalty = 0;
                for (int i = 0; i < 3; i++) penalty += lr.coefficients().apply(i) * lr.coefficients().apply(i);
                double[] history = ours.summary().objectiveHistory();
                assertEquals(sq / n / 2 + reg / 2 * penalty, history[history.length - 1], 1e-10, "objective at the optimum");
                assertEquals(history.length, ours.summary().totalIterations() + 1);
                for (int i = 1; i < history.length; i++) assertTrue(history[i] <= history[i - 1], "objective rose at iteration " + i);
                assertEquals(3, ours.numFeatures());
                double rmse = new RegressionEvaluator().setMetricName("rmse").evaluate(ours.transform(df));
                assertTrue(rmse < 0.4, "rmse " + rmse);
            }
        });
    }

    @Test
    void aSavedPipelineModelLoadsAndPredictsTheSameBits(@TempDir Path dir) throws java.io.IOException {
        Dataset<Row> df = data(SharedSpark.session(), 100, 2);
        AutogradRegressor reg = new AutogradRegressor().setHiddenLayers(3).setActivation("sigmoid").setRegParam(0.01).setMaxIter(15).setSeed(4);
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {assembler(), reg}).fit(df);
        String path = dir.resolve("pipeline").toUri().toString();
        fitted.write().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        AutogradRegressionModel original = (AutogradRegressionModel) fitted.stages()[1], back = (AutogradRegressionModel) loaded.stages()[1];
        assertEquals(original.uid(), back.uid());
        assertEquals("sigmoid", back.activation());
        assertEquals(3, back.numFeatures());
        assertTrue(original.hasSummary() && !back.hasSummary(), "a loaded model has no training summary");
        assertEquals(16, original.summary().objectiveHistory().length, "the initial objective and 15 iterations");
        List<Row> expected = predictions(fitted.transform(df)), actual = predictions(loaded.transform(df));
        assertEquals(100, actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(Double.doubleToRawLongBits(expected.get(i).getDouble(1)), Double.doubleToRawLongBits(actual.get(i).getDouble(1)), "row " + i);
        }

        String estimatorPath = dir.resolve("estimator").toUri().toString();
        reg.write().save(estimatorPath);
        AutogradRegressor regBack = AutogradRegressor.load(estimatorPath);
        assertEquals(reg.uid(), regBack.uid());
        assertEquals(15, regBack.getMaxIter());
        assertEquals("sigmoid", regBack.getActivation());
    }

    @Test
    void badLabelsAreRejectedBeforeTraining() {
        Dataset<Row> good = assembler().transform(data(SharedSpark.session(), 20, 3));
        assertEquals("labelCol 'label' is null, NaN or infinite in 1 of 20 rows",
                assertThrows(IllegalArgumentException.class, () -> new AutogradRegressor().fit(good.withColumn("label",
                        functions.when(good.col("id").equalTo(5), Double.NaN).otherwise(good.col("label"))))).getMessage());
        String stringLabel = assertThrows(IllegalArgumentException.class,
                () -> new AutogradRegressor().fit(good.withColumn("label", good.col("label").cast("string")))).getMessage();
        assertTrue(stringLabel.contains("label") && stringLabel.contains("numeric"), stringLabel);
        String missing = assertThrows(IllegalArgumentException.class, () -> new AutogradRegressor().setFeaturesCol("nope").fit(good)).getMessage();
        assertTrue(missing.contains("nope"), missing);
        assertEquals("batchSize 10 needs optimizer adam or sgd (lbfgs is full-batch; batchSize 0 means the full batch)",
                assertThrows(IllegalArgumentException.class, () -> new AutogradRegressor().setBatchSize(10).fit(good)).getMessage());
    }
}
