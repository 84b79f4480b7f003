package dev.sparkautograd.ml;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.SparkConf;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.classification.LogisticRegressionModel;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AutogradClassifier in Spark ML pipelines, against Spark's LogisticRegression; bad input rejected before training. */
class AutogradClassifierTest {

    static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.LongType).add("x1", DataTypes.DoubleType).add("x2", DataTypes.DoubleType)
            .add("x3", DataTypes.DoubleType).add("label", DataTypes.DoubleType);

    /** Rows from a noisy linear teacher: 2 classes by a logistic draw, or 3 by the largest of three noisy scores. */
    static Dataset<Row> data(int rows, int classes, long seed) {
        return data(SharedSpark.session(), rows, classes, seed);
    }

    static Dataset<Row> data(SparkSession spark, int rows, int classes, long seed) {
        Random r = new Random(seed);
        List<Row> out = new ArrayList<>();
        for (long i = 0; i < rows; i++) {
            double a = r.nextGaussian(), b = r.nextGaussian() * 2, c = r.nextDouble() - 0.5;
            double label;
            if (classes == 2) {
                double z = 0.8 * a - 0.6 * b + 2 * c + 0.3;
                label = r.nextDouble() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
            } else {
                double[] s = {a + r.nextGaussian(), b * 0.5 + r.nextGaussian(), -a + c * 3 + r.nextGaussian()};
                label = s[0] >= s[1] && s[0] >= s[2] ? 0 : s[1] >= s[2] ? 1 : 2;
            }
            out.add(RowFactory.create(i, a, b, c, label));
        }
        return spark.createDataFrame(out, SCHEMA).repartition(2);
    }

    /**
     * Runs {@code body} on a local[2] session with the project's Spark defaults except
     * {@code spark.kryo.registrationRequired}: Spark's own LogisticRegression ships classes that Spark does not
     * register with Kryo (org.apache.spark.ml.stat.SummarizerBuffer, ...), so it cannot run under the project's
     * registration-required setting, nor can BinaryClassificationEvaluator. The shared session is stopped first (one SparkContext per JVM) and
     * made afresh by the next test that asks for it.
     */
    static void withSparkMllibSession(Consumer<SparkSession> body) {
        SharedSpark.session().stop();
        SparkConf conf = new SparkConf(false).setMaster("local[2]").setAppName("spark-autograd ml comparison test");
        SharedSpark.sparkDefaults().forEach((k, v) -> conf.set(k.toString().trim(), v.toString().trim()));
        conf.set("spark.kryo.registrationRequired", "false").set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.sql.shuffle.partitions", "4").set("spark.default.parallelism", "2");
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        try {
            body.accept(spark);
        } finally {
            spark.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }

    static VectorAssembler assembler() {
        return new VectorAssembler().setInputCols(new String[] {"x1", "x2", "x3"}).setOutputCol("features");
    }

    static List<Row> byId(Dataset<Row> df) {
        return df.orderBy("id").select("id", "probability", "rawPrediction", "prediction").collectAsList();
    }

    static void assertSameProbabilities(List<Row> expected, List<Row> actual, double tol) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            Vector e = expected.get(i).getAs(1), a = actual.get(i).getAs(1);
            assertEquals(e.size(), a.size());
            for (int k = 0; k < e.size(); k++) assertEquals(e.apply(k), a.apply(k), tol, "row " + i + " probability of class " + k);
        }
    }

    @Test
    void binaryWithoutHiddenLayersIsSparksLogisticRegression() {
        withSparkMllibSession(spark -> binaryAgainstSpark(data(spark, 400, 2, 1)));
    }

    static void binaryAgainstSpark(Dataset<Row> df) {
        AutogradClassifier ours = new AutogradClassifier().setRegParam(0.02).setTol(1e-12).setMaxIter(200);
        LogisticRegression spark = new LogisticRegression().setStandardization(false).setRegParam(0.02).setTol(1e-12).setMaxIter(500);
        PipelineModel fitOurs = new Pipeline().setStages(new PipelineStage[] {assembler(), ours}).fit(df);
        PipelineModel fitSpark = new Pipeline().setStages(new PipelineStage[] {assembler(), spark}).fit(df);
        Dataset<Row> outOurs = fitOurs.transform(df), outSpark = fitSpark.transform(df);
        assertSameProbabilities(byId(outSpark), byId(outOurs), 1e-4);

        BinaryClassificationEvaluator auc = new BinaryClassificationEvaluator();
        double aucOurs = auc.evaluate(outOurs), aucSpark = auc.evaluate(outSpark);
        assertEquals(aucSpark, aucOurs, 1e-4, "area under ROC");
        assertTrue(aucOurs > 0.75, "AUC " + aucOurs);
        MulticlassClassificationEvaluator accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy");
        assertEquals(accuracy.evaluate(outSpark), accuracy.evaluate(outOurs), 1.0 / 400 + 1e-12, "accuracy");

        AutogradClassificationModel model = (AutogradClassificationModel) fitOurs.stages()[1];
        LogisticRegressionModel lr = (LogisticRegressionModel) fitSpark.stages()[1];
        double[] history = model.summary().objectiveHistory();
        double[] sparkHistory = lr.summary().objectiveHistory();
        // the same objective: mean log-loss + regParam / 2 * |w|^2, at the initial point (log 2 at zero weights for Spark) and at the optimum
        assertEquals(sparkHistory[sparkHistory.length - 1], history[history.length - 1], 1e-9, "objective at the optimum");
        for (int i = 1; i < history.length; i++) assertTrue(history[i] <= history[i - 1], "objective rose at iteration " + i);
        assertEquals(history.length, model.summary().totalIterations() + 1);
        assertEquals("tol reached", model.summary().stoppedBecause());
        assertEquals(2, model.numClasses());
        assertEquals(3, model.numFeatures());
        double[] w = model.parameters().get("0.weight").toArray();
        for (int i = 0; i < 3; i++) assertEquals(lr.coefficients().apply(i), w[i], 1e-5, "coefficient " + i);
        assertEquals(lr.intercept(), model.parameters().get("0.bias").item(), 1e-5, "intercept");
    }

    @Test
    void multiclassWithoutHiddenLayersIsSparksMultinomialLogisticRegression() {
        withSparkMllibSession(spark -> multiclassAgainstSpark(data(spark, 450, 3, 2)));
    }

    static void multiclassAgainstSpark(Dataset<Row> df) {
        AutogradClassifier ours = new AutogradClassifier().setRegParam(0.05).setTol(1e-12).setMaxIter(300);
        LogisticRegression spark = new LogisticRegression().setFamily("multinomial").setStandardization(false).setRegParam(0.05)
                .setTol(1e-12).setMaxIter(500);
        Dataset<Row> features = assembler().transform(df);
        AutogradClassificationModel model = ours.fit(features);
        assertEquals(3, model.numClasses());
        assertSameProbabilities(byId(spark.fit(features).transform(features)), byId(model.transform(features)), 1e-4);
    }

    @Test
    void aHiddenLayerSeparatesXor() {
        List<Row> rows = new ArrayList<>();
        Random r = new Random(3);
        for (long i = 0; i < 200; i++) {
            int a = r.nextInt(2), b = r.nextInt(2);
            rows.add(RowFactory.create(i, a + 0.1 * r.nextGaussian(), b + 0.1 * r.nextGaussian(), 0.0, (double) (a ^ b)));
        }
        Dataset<Row> df = assembler().transform(SharedSpark.session().createDataFrame(rows, SCHEMA));
        AutogradClassificationModel linear = new AutogradClassifier().setSeed(5).fit(df);
        AutogradClassificationModel mlp = new AutogradClassifier().setHiddenLayers(4).setSeed(5).setMaxIter(300).fit(df);
        MulticlassClassificationEvaluator accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy");
        assertTrue(accuracy.evaluate(linear.transform(df)) < 0.8, "a linear model cannot separate XOR");
        assertEquals(1.0, accuracy.evaluate(mlp.transform(df)), "the MLP's accuracy on XOR");
        assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(mlp.parameters().keySet()));
    }

    /** In the lenient session: BinaryClassificationEvaluator ships org.apache.spark.mllib.evaluation.binary.BinaryLabelCounter, unregistered. */
    @Test
    void crossValidatorPicksRegParam() {
        withSparkMllibSession(spark -> crossValidate(assembler().transform(data(spark, 240, 2, 6))));
    }

    static void crossValidate(Dataset<Row> df) {
        AutogradClassifier clf = new AutogradClassifier().setMaxIter(50);
        ParamMap[] grid = new ParamGridBuilder().addGrid(clf.regParam(), new double[] {0.001, 10.0}).build();
        BinaryClassificationEvaluator auc = new BinaryClassificationEvaluator();
        CrossValidatorModel cv = new CrossValidator().setEstimator(clf).setEstimatorParamMaps(grid).setEvaluator(auc)
                .setNumFolds(2).setSeed(7).fit(df);
        double[] metrics = cv.avgMetrics();
        assertEquals(2, metrics.length);
        assertTrue(metrics[0] > metrics[1], "a strong penalty shrinks the weights and the fit: AUC " + metrics[0] + " vs " + metrics[1]);
        AutogradClassificationModel best = (AutogradClassificationModel) cv.bestModel();
        assertEquals(0.001, ((AutogradClassifier) best.parent()).getRegParam());
        assertTrue(auc.evaluate(best.transform(df)) > 0.75);
    }

    @Test
    void aSavedPipelineModelLoadsAndPredictsTheSameBits(@TempDir Path dir) throws Exception {
        Dataset<Row> df = data(120, 3, 8);
        AutogradClassifier clf = new AutogradClassifier().setHiddenLayers(3).setActivation("relu").setRegParam(0.01).setMaxIter(20).setSeed(9);
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {assembler(), clf}).fit(df);
        String path = dir.resolve("pipeline").toUri().toString();
        fitted.write().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        AutogradClassificationModel original = (AutogradClassificationModel) fitted.stages()[1], back = (AutogradClassificationModel) loaded.stages()[1];
        assertEquals(original.uid(), back.uid());
        assertEquals(List.copyOf(original.parameters().keySet()), List.copyOf(back.parameters().keySet()));
        assertEquals("relu", back.activation());
        assertEquals(original.getProbabilityCol(), back.getProbabilityCol());
        assertTrue(original.hasSummary() && !back.hasSummary(), "a loaded model has no training summary");
        List<Row> expected = byId(fitted.transform(df)), actual = byId(loaded.transform(df));
        for (int i = 0; i < expected.size(); i++) {
            for (int c = 1; c <= 2; c++) {
                double[] e = ((Vector) expected.get(i).get(c)).toArray(), a = ((Vector) actual.get(i).get(c)).toArray();
                for (int k = 0; k < e.length; k++) assertEquals(Double.doubleToRawLongBits(e[k]), Double.doubleToRawLongBits(a[k]), "row " + i + " column " + c);
            }
            assertEquals(expected.get(i).getDouble(3), actual.get(i).getDouble(3));
        }

        String estimatorPath = dir.resolve("estimator").toUri().toString();
        clf.write().save(estimatorPath);
        AutogradClassifier clfBack = AutogradClassifier.load(estimatorPath);
        assertEquals(clf.uid(), clfBack.uid());
        assertEquals(List.of(3), List.of(clfBack.getHiddenLayers()[0]));
        assertEquals(20, clfBack.getMaxIter());
        assertEquals(9L, clfBack.getSeed());
    }

    @Test
    void badInputIsRejectedBeforeTraining() {
        Dataset<Row> good = assembler().transform(data(20, 2, 4));
        AutogradClassifier clf = new AutogradClassifier();
        String missing = assertThrows(IllegalArgumentException.class, () -> clf.setFeaturesCol("nope").fit(good)).getMessage();
        assertTrue(missing.contains("nope"), missing);
        clf.setFeaturesCol("features");
        String wrongType = assertThrows(IllegalArgumentException.class, () -> clf.fit(good.withColumn("features", good.col("x1")))).getMessage();
        assertTrue(wrongType.contains("features") && wrongType.contains("VectorUDT"), wrongType);
        String stringLabel = assertThrows(IllegalArgumentException.class, () -> clf.fit(good.withColumn("label", good.col("label").cast("string")))).getMessage();
        assertTrue(stringLabel.contains("label") && stringLabel.contains("numeric"), stringLabel);

        assertEquals("labelCol 'label' is null or NaN in 1 of 20 rows: labels must be class indices 0, 1, ...",
                assertThrows(IllegalArgumentException.class, () -> clf.fit(good.withColumn("label",
                        org.apache.spark.sql.functions.when(good.col("id").equalTo(3), Double.NaN).otherwise(good.col("label"))))).getMessage());
        assertEquals("labelCol 'label' has the label -1.0: labels must be class indices 0, 1, ...",
                assertThrows(IllegalArgumentException.class, () -> clf.fit(good.withColumn("label", good.col("label").minus(1)))).getMessage());
        assertEquals("labelCol 'label' has 20 labels that are not whole numbers: labels must be class indices 0, 1, ...",
                assertThrows(IllegalArgumentException.class, () -> clf.fit(good.withColumn("label", good.col("label").plus(0.5)))).getMessage());
        assertEquals(clf.uid() + " parameter activation given invalid value softmax.",
                assertThrows(IllegalArgumentException.class, () -> clf.setActivation("softmax")).getMessage());
    }
}
