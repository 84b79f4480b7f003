package dev.sparkautograd.dist;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.ml.classification.LinearSVC;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.evaluation.RegressionEvaluator;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.regression.LinearRegression;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spark's own ML algorithms and evaluators on the shared session, whose Kryo requires registration
 * (conf/spark-defaults.conf): without {@link AutogradKryoRegistrator#SPARK_ML_CLASSES} they fail with
 * "Class is not registered: org.apache.spark.ml.stat.SummarizerBuffer" (BinaryLabelCounter, the block
 * aggregators, ...). Each metric is also computed from the collected predictions, so a wrong one fails too.
 */
class SparkMlStrictKryoTest {

    static Dataset<Row> data(SparkSession spark) {
        Random r = new Random(11);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            double a = r.nextGaussian(), b = r.nextGaussian();
            double binary = a - 0.5 * b + 0.7 * r.nextGaussian() > 0 ? 1 : 0;
            double cls = a > 0.5 ? 2 : b > 0 ? 1 : 0;
            rows.add(RowFactory.create(a, b, binary, cls, 2 * a - b + 0.3 + 0.2 * r.nextGaussian()));
        }
        StructType schema = new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType)
                .add("label", DataTypes.DoubleType).add("cls", DataTypes.DoubleType).add("y", DataTypes.DoubleType);
        return new VectorAssembler().setInputCols(new String[] {"a", "b"}).setOutputCol("features")
                .transform(spark.createDataFrame(rows, schema).repartition(2));
    }

    @Test
    void sparksLogisticRegressionSvmLinearRegressionAndEvaluatorsRunWithRegistrationRequired() {
        SparkSession spark = SharedSpark.session();
        assertEquals("true", spark.sparkContext().getConf().get("spark.kryo.registrationRequired"));
        Dataset<Row> df = data(spark).cache();

        // binary: LogisticRegression, areaUnderROC against the rank statistic of the collected scores
        Dataset<Row> binary = new LogisticRegression().setMaxIter(15).fit(df).transform(df);
        double auc = new BinaryClassificationEvaluator().evaluate(binary);
        List<Row> scored = binary.select("label", "rawPrediction").collectAsList();
        long pairs = 0, wins2 = 0;
        for (Row p : scored) {
            if (p.getDouble(0) != 1) continue;
            for (Row n : scored) {
                if (n.getDouble(0) != 0) continue;
                double sp = ((Vector) p.get(1)).apply(1), sn = ((Vector) n.get(1)).apply(1);
                pairs++;
                wins2 += sp > sn ? 2 : sp == sn ? 1 : 0;
            }
        }
        assertEquals(wins2 / (2.0 * pairs), auc, 1e-12);
        assertTrue(auc > 0.8, "AUC " + auc);

        // multiclass: multinomial LogisticRegression and LinearSVC, accuracy against the collected predictions
        Dataset<Row> multi = new LogisticRegression().setLabelCol("cls").setMaxIter(15).fit(df).transform(df);
        double accuracy = new MulticlassClassificationEvaluator().setLabelCol("cls").setMetricName("accuracy").evaluate(multi);
        List<Row> predicted = multi.select("cls", "prediction").collectAsList();
        assertEquals(predicted.stream().filter(r -> r.getDouble(0) == r.getDouble(1)).count() / (double) predicted.size(), accuracy, 1e-15);
        double f1 = new MulticlassClassificationEvaluator().setLabelCol("cls").evaluate(multi);
        assertTrue(f1 > 0.7 && f1 <= 1, "f1 " + f1);
        Dataset<Row> svm = new LinearSVC().setMaxIter(10).fit(df).transform(df);
        assertTrue(new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(svm) > 0.7);

        // regression: LinearRegression by the normal equations and by L-BFGS (regularized), RMSE against the residuals
        for (LinearRegression lr : List.of(new LinearRegression().setLabelCol("y"),
                new LinearRegression().setLabelCol("y").setSolver("l-bfgs").setRegParam(0.01).setMaxIter(15))) {
            Dataset<Row> fit = lr.fit(df).transform(df);
            double rmse = new RegressionEvaluator().setLabelCol("y").evaluate(fit);
            double ss = 0;
            List<Row> res = fit.select("y", "prediction").collectAsList();
            for (Row r : res) ss += Math.pow(r.getDouble(0) - r.getDouble(1), 2);
            assertEquals(Math.sqrt(ss / res.size()), rmse, 1e-12);
            assertTrue(rmse < 0.3, "RMSE " + rmse);
        }
        df.unpersist();
    }
}
