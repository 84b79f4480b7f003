package dev.sparkautograd.ml;

import dev.sparkautograd.DistData;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.testing.SchedulerCounts;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeSet;

import static dev.sparkautograd.ml.AutogradClassifierTest.assembler;
import static dev.sparkautograd.ml.AutogradClassifierTest.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The estimators' training options: mini-batches, Newton-CG, a user's module; their Spark Connect registration. */
class AutogradTrainingTest {

    static final MulticlassClassificationEvaluator ACCURACY = new MulticlassClassificationEvaluator().setMetricName("accuracy");

    static long[] bits(Map<String, Tensor> params) {
        return params.values().stream().flatMapToDouble(t -> Arrays.stream(t.toArray())).mapToLong(Double::doubleToRawLongBits).toArray();
    }

    // ---- mini-batches ------------------------------------------------------------------------------

    @Test
    void anEpochOfMiniBatchesTakesEachRowOnceInProportionalShares() {
        long[] partitionRows = {7, 0, 13, 5};
        MiniBatches b = new MiniBatches(partitionRows, 6, 42);
        assertEquals(5, b.stepsPerEpoch(), "ceil(25 / 6)");
        for (int epoch = 0; epoch < 2; epoch++) {
            for (int p = 0; p < partitionRows.length; p++) {
                List<Integer> seen = new ArrayList<>();
                for (int k = 0; k < 5; k++) {
                    int[] picks = b.picks(p, epoch * 5L + k);
                    assertEquals(b.share(p, k), picks.length);
                    for (int i : picks) seen.add(i);
                }
                TreeSet<Integer> distinct = new TreeSet<>(seen);
                assertEquals(partitionRows[p], seen.size(), "partition " + p + " epoch " + epoch);
                assertEquals(seen.size(), distinct.size(), "no row twice in an epoch");
            }
        }
        long total = 0;
        for (int k = 0; k < 5; k++) {
            assertTrue(b.rows(k) <= 6 && b.rows(k) >= 4, "rows of step " + k + ": " + b.rows(k));
            total += b.rows(k);
        }
        assertEquals(25, total);
        assertFalse(Arrays.equals(b.picks(2, 0), b.picks(2, 5)), "the next epoch walks the rows in another order");
        assertArrayEquals(b.picks(2, 3), new MiniBatches(partitionRows, 6, 42).picks(2, 3), "the same seed, the same rows");
        assertFalse(Arrays.equals(b.picks(2, 0), new MiniBatches(partitionRows, 6, 43).picks(2, 0)), "another seed, other rows");
    }

    /** The batches as DistData: over an epoch every row's values arrive once, dense and sparse columns aligned. */
    @Test
    void miniBatchesGatherTheRowsOfTheirBlocks() {
        Dataset<Row> df = assembler().transform(data(103, 2, 11));
        for (boolean sparse : new boolean[] {false, true}) {
            DistData all = DistData.fromDataset(df, DistData.options().blockRows(8).sparse(sparse), "features", "id");
            MiniBatches b = new MiniBatches(MiniBatches.partitionRows(all), 10, 5);
            Map<Long, double[]> expected = new LinkedHashMap<>();
            for (Row r : df.select("id", "features").collectAsList()) expected.put(r.getLong(0), ((Vector) r.get(1)).toArray());
            TreeSet<Long> seen = new TreeSet<>();
            for (long step = 0; step < b.stepsPerEpoch(); step++) {
                DistData batch = b.batch(all, step);
                assertEquals(b.rows(step), batch.rows());
                double[] ids = batch.tensor("id").collect().toArray();
                Tensor x = batch.tensor("features").toDense().collect();
                assertEquals(ids.length, x.size(0));
                for (int i = 0; i < ids.length; i++) {
                    assertTrue(seen.add((long) ids[i]), "row " + ids[i] + " twice");
                    assertArrayEquals(expected.get((long) ids[i]), x.index(i).toArray(), "features of row " + ids[i] + (sparse ? " (sparse)" : ""));
                }
            }
            assertEquals(103, seen.size());
        }
    }

    @Test
    void miniBatchAdamReachesTheFullBatchAccuracy() {
        Dataset<Row> df = assembler().transform(data(1200, 2, 12)).cache();
        double full = ACCURACY.evaluate(new AutogradClassifier().setRegParam(0.001).fit(df).transform(df));
        AutogradClassifier mini = new AutogradClassifier().setOptimizer("adam").setBatchSize(100).setStepSize(0.05).setMaxIter(10)
                .setRegParam(0.001).setSeed(3);
        AutogradClassificationModel model = mini.fit(df);
        double accuracy = ACCURACY.evaluate(model.transform(df));
        assertTrue(accuracy >= full - 0.01, "mini-batch Adam " + accuracy + ", full-batch L-BFGS " + full);
        assertEquals(10 * 12, model.summary().totalIterations(), "10 epochs of ceil(1200 / 100) steps");
        assertEquals(120, model.summary().objectiveHistory().length, "one mini-batch objective per step");
        df.unpersist();
    }

    @Test
    void miniBatchTrainingIsOneJobPerStepAndReproducibleFromTheSeed() {
        Dataset<Row> df = assembler().transform(data(300, 3, 13)).cache();
        df.count();
        AutogradClassifier clf = new AutogradClassifier().setOptimizer("sgd").setBatchSize(64).setStepSize(0.2).setHiddenLayers(3).setSeed(8);
        AutogradClassificationModel[] fits = new AutogradClassificationModel[3];
        int oneEpoch = SchedulerCounts.during(SharedSpark.session().sparkContext(), () -> fits[0] = clf.copy(new org.apache.spark.ml.param.ParamMap())
                .setMaxIter(1).fit(df)).jobs();
        int twoEpochs = SchedulerCounts.during(SharedSpark.session().sparkContext(), () -> fits[1] = clf.setMaxIter(2).fit(df)).jobs();
        assertEquals(5, twoEpochs - oneEpoch, "one Spark job per step, ceil(300 / 64) steps an epoch");
        assertEquals(10, fits[1].summary().totalIterations());
        AutogradClassificationModel again = clf.fit(df);
        assertArrayEquals(bits(fits[1].parameters()), bits(again.parameters()), "the same seed, the same bits");
        assertArrayEquals(fits[1].summary().objectiveHistory(), again.summary().objectiveHistory());
        fits[2] = clf.copy(new org.apache.spark.ml.param.ParamMap()).setSeed(9).fit(df);
        assertFalse(Arrays.equals(bits(fits[1].parameters()), bits(fits[2].parameters())), "another seed, another fit");
        df.unpersist();
    }

    // ---- Newton-CG ---------------------------------------------------------------------------------

    @Test
    void newtonReachesTheLbfgsOptimum() {
        Dataset<Row> df = assembler().transform(data(300, 3, 14)).cache();
        AutogradClassificationModel lbfgs = new AutogradClassifier().setRegParam(0.01).setTol(1e-14).setMaxIter(300).fit(df);
        AutogradClassificationModel newton = new AutogradClassifier().setOptimizer("newton").setRegParam(0.01).setTol(1e-14).setMaxIter(40).fit(df);
        double[] hl = lbfgs.summary().objectiveHistory(), hn = newton.summary().objectiveHistory();
        assertEquals(hl[hl.length - 1], hn[hn.length - 1], 1e-10, "objective at the optimum");
        double[] a = lbfgs.parameters().get("0.weight").toArray(), b = newton.parameters().get("0.weight").toArray();
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-5, "weight " + i);
        assertTrue(newton.summary().totalIterations() < 40, "Newton stopped by itself: " + newton.summary().stoppedBecause());
        assertEquals(hn.length, newton.summary().totalIterations() + 1);
        df.unpersist();
    }

    // ---- a user's module ---------------------------------------------------------------------------

    @Test
    void aCustomModuleIsTrainedSavedByClassNameAndRebuilt(@TempDir Path dir) throws java.io.IOException {
        Dataset<Row> df = data(150, 3, 15);
        AutogradClassifier clf = new AutogradClassifier().setModule(SkipNet.class).setRegParam(0.01).setMaxIter(30).setSeed(2);
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {assembler(), clf}).fit(df);
        AutogradClassificationModel model = (AutogradClassificationModel) fitted.stages()[1];
        assertEquals(SkipNet.class.getName(), model.moduleClass());
        assertEquals(List.of("hidden.weight", "hidden.bias", "out.weight", "out.bias", "skip.weight"), List.copyOf(model.parameters().keySet()));
        assertTrue(ACCURACY.evaluate(fitted.transform(df)) > 0.6, "it learned something");

        String path = dir.resolve("pipeline").toUri().toString();
        fitted.write().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        assertEquals(SkipNet.class.getName(), ((AutogradClassificationModel) loaded.stages()[1]).moduleClass());
        List<Row> expected = AutogradClassifierTest.byId(fitted.transform(df)), actual = AutogradClassifierTest.byId(loaded.transform(df));
        for (int i = 0; i < expected.size(); i++) {
            for (int c = 1; c <= 2; c++) {
                double[] e = ((Vector) expected.get(i).get(c)).toArray(), g = ((Vector) actual.get(i).get(c)).toArray();
                for (int k = 0; k < e.length; k++) assertEquals(Double.doubleToRawLongBits(e[k]), Double.doubleToRawLongBits(g[k]), "row " + i + " column " + c);
            }
        }

        AutogradRegressionModel reg = new AutogradRegressor().setModule(SkipNet.class).setMaxIter(5).fit(assembler().transform(df));
        assertEquals(1, reg.parameters().get("out.weight").shape()[0], "one output for a regression");

        Dataset<Row> features = assembler().transform(df);
        assertEquals("module: no class 'no.such.Net' on the classpath",
                assertThrows(IllegalArgumentException.class, () -> new AutogradClassifier().setModule("no.such.Net").fit(features)).getMessage());
        assertEquals("module: java.lang.String is not a dev.sparkautograd.nn.Module",
                assertThrows(IllegalArgumentException.class, () -> new AutogradClassifier().setModule("java.lang.String").fit(features)).getMessage());
    }

    // ---- Spark Connect's discovery -----------------------------------------------------------------

    @Test
    void serviceLoaderFindsAndInstantiatesTheEstimatorsAndModels() {
        // only ours are instantiated (Provider.get), as Spark Connect does for every listed class
        List<String> estimators = ServiceLoader.load(Estimator.class).stream().filter(p -> p.type().getName().startsWith("dev.sparkautograd."))
                .map(p -> p.get().getClass().getName()).toList();
        List<String> models = ServiceLoader.load(Transformer.class).stream().filter(p -> p.type().getName().startsWith("dev.sparkautograd."))
                .map(p -> p.get().getClass().getName()).toList();
        assertEquals(List.of(AutogradClassifier.class.getName(), AutogradRegressor.class.getName()), estimators);
        assertEquals(List.of(AutogradClassificationModel.class.getName(), AutogradRegressionModel.class.getName()), models);
        AutogradClassificationModel empty = new AutogradClassificationModel();
        assertEquals(2, empty.numClasses());
        assertEquals(0, empty.numFeatures());
        assertNotEquals(empty.uid(), new AutogradClassificationModel().uid());
        assertEquals(0, new AutogradRegressionModel().numFeatures());
    }
}
