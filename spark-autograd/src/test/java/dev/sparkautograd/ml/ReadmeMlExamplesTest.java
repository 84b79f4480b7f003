package dev.sparkautograd.ml;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.nn.Linear;
import dev.sparkautograd.nn.Losses;
import dev.sparkautograd.nn.Module;
import dev.sparkautograd.nn.Sequential;
import dev.sparkautograd.nn.Tanh;
import dev.sparkautograd.optim.Adam;
import dev.sparkautograd.optim.LBFGS;
import dev.sparkautograd.optim.Optimizer;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.BinaryClassificationEvaluator;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's sections "Spark ML pipelines" and "Training loops": each fenced block after a
 * {@code <!-- readme-ml-example NAME -->} marker is, line for line (indentation aside), the region of this file
 * between {@code // --- README NAME ---} and {@code // --- end ---}, and the tests below run those regions.
 */
class ReadmeMlExamplesTest {

    @Test
    void pipelinesExampleRuns(@TempDir Path dir) {
        AutogradClassifierTest.withSparkMllibSession(spark -> {
            try {
                pipelines(spark, dir.resolve("model").toUri().toString());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /** In the lenient session: BinaryClassificationEvaluator and CrossValidator ship classes Spark does not register with Kryo. */
    private static void pipelines(org.apache.spark.sql.SparkSession spark, String path) throws IOException {
        {
            Dataset<Row>[] split = AutogradClassifierTest.data(spark, 600, 2, 21).randomSplit(new double[] {0.8, 0.2}, 1);
            Dataset<Row> train = split[0], test = split[1];

            // --- README pipelines ---
            VectorAssembler assembler = new VectorAssembler().setInputCols(new String[] {"x1", "x2", "x3"}).setOutputCol("features");
            AutogradClassifier clf = new AutogradClassifier()            // Spark's LogisticRegression without hidden layers
                    .setHiddenLayers(8).setActivation("tanh").setRegParam(0.001).setMaxIter(20);
            PipelineModel model = new Pipeline().setStages(new PipelineStage[] {assembler, clf}).fit(train);
            model.write().overwrite().save(path);
            Dataset<Row> scored = PipelineModel.load(path).transform(test);   // + rawPrediction, probability, prediction
            double auc = new BinaryClassificationEvaluator().evaluate(scored);

            AutogradClassificationModel fitted = (AutogradClassificationModel) model.stages()[1];
            double[] objective = fitted.summary().objectiveHistory();      // at the start, then after each iteration

            ParamMap[] grid = new ParamGridBuilder().addGrid(clf.regParam(), new double[] {0.001, 0.1}).build();
            CrossValidatorModel cv = new CrossValidator().setEstimator(new Pipeline().setStages(new PipelineStage[] {assembler, clf}))
                    .setEstimatorParamMaps(grid).setEvaluator(new BinaryClassificationEvaluator()).setNumFolds(2).fit(train);

            AutogradRegressor reg = new AutogradRegressor()               // LinearRegression without hidden layers
                    .setLabelCol("x3").setOptimizer("adam").setBatchSize(64).setStepSize(0.05).setMaxIter(3); // epochs
            AutogradRegressionModel linear = reg.fit(assembler.setInputCols(new String[] {"x1", "x2"}).transform(train));
            // --- end ---

            assertTrue(auc > 0.75, "AUC " + auc);
            assertTrue(objective[objective.length - 1] < objective[0]);
            assertEquals(2, cv.avgMetrics().length);
            assertEquals(3 * (int) Math.ceil(train.count() / 64.0), linear.summary().totalIterations(), "3 epochs of ceil(rows / 64) steps");
            assertEquals(2, linear.numFeatures());
        }
    }

    @Test
    void trainingLoopExampleRuns() {
        Dataset<Row> df = AutogradClassifierTest.assembler().transform(AutogradClassifierTest.data(300, 3, 22));
        Module untrained = new Sequential(new Linear(3, 8, 0), new Tanh(), new Linear(8, 3, 1));

        // --- README training loop ---
        DistData data = DistData.fromDataset(df, "features", "label");
        DistTensor x = data.tensor("features"), y = data.tensor("label");  // [N, 3] and [N] (class indices)
        Module net = new Sequential(new Linear(3, 8, 0), new Tanh(), new Linear(8, 3, 1));
        Optimizer opt = new Adam(net.parameters(), 0.05);
        for (int step = 0; step < 30; step++) {
            opt.zeroGrad();
            Tensor loss = Losses.crossEntropy(net.forward(x), y);         // forward, loss and gradients: one Spark job
            loss.backward();
            opt.step();
        }
        // --- end ---
        double first = lossOf(untrained, x, y), last = lossOf(net, x, y);
        assertTrue(last < 0.8 * first, "the loss falls: " + first + " -> " + last);

        // --- README lbfgs ---
        LBFGS lbfgs = new LBFGS(net.parameters(), 1, 5, LBFGS.STRONG_WOLFE);
        Tensor before = lbfgs.step(() -> {                                // PyTorch's closure: one Spark job per call
            lbfgs.zeroGrad();
            Tensor loss = Losses.crossEntropy(net.forward(x), y);
            loss.backward();
            return loss;
        });
        // --- end ---
        assertEquals(last, before.item(), 1e-12, "the step returns the loss where it started");
        assertTrue(lossOf(net, x, y) < last, "L-BFGS lowers the loss further");
    }

    private static double lossOf(Module net, DistTensor x, DistTensor y) {
        try (dev.sparkautograd.Autograd.Scope ignored = dev.sparkautograd.Autograd.noGrad()) {
            return Losses.crossEntropy(net.forward(x), y).item();
        }
    }

    @Test
    void theReadmeBlocksAreTheseRegions() throws IOException {
        Path root = Path.of(System.getProperty(SharedSpark.ROOT_PROPERTY, ".")).toAbsolutePath();
        String readme = Files.readString(root.resolve("README.md"));
        String test = Files.readString(root.resolve("spark-autograd/src/test/java/dev/sparkautograd/ml/ReadmeMlExamplesTest.java"));
        for (String name : new String[] {"pipelines", "training loop", "lbfgs"}) {
            String marker = "<!-- readme-ml-example " + name + " -->";
            int m = readme.indexOf(marker);
            assertTrue(m >= 0, "README.md has no " + marker);
            int open = readme.indexOf("```java\n", m), close = readme.indexOf("```", open + 8);
            int from = test.indexOf("// --- README " + name + " ---\n"), to = test.indexOf("// --- end ---", from);
            assertTrue(from >= 0 && to > from, "no region " + name);
            assertEquals(lines(test.substring(test.indexOf('\n', from) + 1, to)), lines(readme.substring(open + 8, close)), "README block " + name);
        }
    }

    /** The lines without their common indentation. */
    private static String lines(String block) {
        String[] ls = block.stripTrailing().split("\n");
        int indent = Arrays.stream(ls).filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return Arrays.stream(ls).map(l -> l.isBlank() ? "" : l.substring(indent)).collect(Collectors.joining("\n"));
    }
}
