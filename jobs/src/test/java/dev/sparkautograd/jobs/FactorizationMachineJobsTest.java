package dev.sparkautograd.jobs;

import dev.sparkautograd.DistData;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static dev.sparkautograd.jobs.UserDataTest.failure;
import static dev.sparkautograd.jobs.UserDataTest.main;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --model fm} (nn.FactorizationMachine with the logistic loss) through the jobs' entry point on local[2]:
 * on {@code generate --sparse} data (read as CSR blocks) its gradient is that of the same loss written locally with
 * the pairwise sum (not Rendle's form), train reaches the sparse logistic teacher's accuracy, predict and evaluate
 * score with the saved model.
 */
class FactorizationMachineJobsTest {

    @TempDir
    static Path tmp;

    static final int FEATURES = 64, NNZ = 4, ROWS = 20_000, FACTORS = 4;
    static Path data;
    /** The generated rows' features (dense) and labels, in the files' order. */
    static double[][] rows;
    static final List<Double> labels = new java.util.ArrayList<>();

    @BeforeAll
    static void generate() {
        data = tmp.resolve("sparse");
        ok("generate", "--sparse", "--features", "" + FEATURES, "--nnz", "" + NNZ, "--rows", "" + ROWS, "--partitions", "2", "--seed", "3",
                "--output", data.toString());
        Dataset<Row> df = SharedSpark.session().read().parquet(data.toString());
        List<Row> all = df.select(org.apache.spark.ml.functions.vector_to_array(df.col("features"), "float64"), df.col("label")).collectAsList();
        rows = new double[all.size()][];
        for (int i = 0; i < all.size(); i++) {
            rows[i] = all.get(i).<Double>getList(0).stream().mapToDouble(Double::doubleValue).toArray();
            labels.add(all.get(i).getDouble(1));
        }
    }

    private static UserDataTest.Run ok(String... args) {
        UserDataTest.Run r = main(args);
        assertEquals(0, r.exit(), r.out() + r.err());
        return r;
    }

    /** The fm's score of one row from params.npy's layout (bias, linear [d], factors [d, k] C order), by the pairwise loop. */
    private static double score(double[] p, double[] x, int k) {
        int d = x.length;
        double z = p[0];
        for (int i = 0; i < d; i++) {
            if (x[i] == 0) continue;
            z += p[1 + i] * x[i];
            for (int j = i + 1; j < d; j++) {
                if (x[j] == 0) continue;
                double dot = 0;
                for (int f = 0; f < k; f++) dot += p[1 + d + i * k + f] * p[1 + d + j * k + f];
                z += dot * x[i] * x[j];
            }
        }
        return z;
    }

    @Test
    void gradientOnSparseRowsEqualsTheLocalAutogradGradientOfThePairwiseForm() throws Exception {
        // the gradient job reads this column as CSR blocks (under 10% of its entries are non-zero)
        assertTrue(DistData.fromDataset(DataOptions.readParquet(SharedSpark.session(), data.toString()), DistData.options(), "features", "label")
                .tensor("features").isSparse());
        int d = FEATURES, k = FACTORS;
        double[] at = new double[1 + d + d * k];
        Random r = new Random(5);
        for (int i = 0; i < at.length; i++) at[i] = 0.3 * r.nextGaussian(); // away from the start, where the factors' gradient is tiny
        Path params = tmp.resolve("at.npy"), grad = tmp.resolve("grad.npy");
        Npy.write(params, Tensor.fromArray(at, at.length));
        UserDataTest.Run run = ok("gradient", "--model", "fm", "--factors", "" + k, "--input", data.toString(), "--params", params.toString(),
                "--output", grad.toString());
        assertEquals("factorization machine, 64 features, 4 factors (321 parameters)", run.line("model:"));

        int n = rows.length;
        double[] xs = new double[n * d], ys = labels.stream().mapToDouble(Double::doubleValue).toArray();
        for (int i = 0; i < n; i++) System.arraycopy(rows[i], 0, xs, i * d, d);
        Tensor x = Tensor.fromArray(xs, n, d), y = Tensor.fromArray(ys, n);
        Tensor b = Tensor.scalar(at[0]).requiresGrad_(true);
        Tensor w = Tensor.fromArray(java.util.Arrays.copyOfRange(at, 1, 1 + d), d).requiresGrad_(true);
        Tensor v = Tensor.fromArray(java.util.Arrays.copyOfRange(at, 1 + d, at.length), d, k).requiresGrad_(true);
        double[] upper = new double[d * d];
        for (int i = 0; i < d; i++) for (int j = i + 1; j < d; j++) upper[i * d + j] = 1;
        // sum_{i<j} <v_i, v_j> x_i x_j as x (V V^T masked to i<j) x^T, row by row
        Tensor pairs = x.matmul(v.matmul(v.t()).mul(Tensor.fromArray(upper, d, d))).mul(x).sum(1, false);
        Tensor z = x.matmul(w).add(b).add(pairs);
        Tensor loss = z.softplus().sub(y.mul(z)).mean();
        loss.backward();
        Tensor expected = Tensor.cat(List.of(b.grad().reshape(1), w.grad(), v.grad().reshape(d * k)), 0);
        Tensor got = Npy.read(grad);
        assertTrue(got.allclose(expected, 1e-10, 1e-13), got + " vs " + expected);
        assertEquals(loss.item(), Double.parseDouble(run.line("loss:")), 1e-12);
        assertTrue(expected.sub(Tensor.cat(List.of(b.grad().reshape(1), w.grad(), Tensor.zeros(d * k)), 0)).norm().item() > 1e-3,
                "the factors' gradient is not negligible");
    }

    /**
     * The fm's linear term holds the sparse logistic teacher, so its fit reaches the teacher's accuracy (within 0.01,
     * on the training rows); predict's scores are the saved parameters' fm scores (pairwise loop), evaluate's accuracy
     * is train's and its log-loss train's final loss.
     */
    @Test
    void trainReachesTheTeachersAccuracyAndPredictAndEvaluateScoreWithTheSavedFm() throws Exception {
        Path model = tmp.resolve("fm-model"), predictions = tmp.resolve("fm-predictions");
        UserDataTest.Run train = ok("train", "--model", "fm", "--factors", "" + FACTORS, "--input", data.toString(), "--max-steps", "60",
                "--output", model.toString());
        assertTrue(train.line("model:").startsWith("factorization machine, 64 features, 4 factors (321 parameters), lbfgs"), train.out());
        assertTrue(Files.readString(model.resolve("model.properties")).contains("\nmodel=fm\n"), "model.properties");
        assertTrue(Files.readString(model.resolve("model.properties")).contains("\nfactors=4\n"), "model.properties");

        double[] teacher = Npy.read(data.resolve("_teacher.npy")).toArray();
        int teacherRight = 0;
        for (int i = 0; i < rows.length; i++) {
            double z = teacher[FEATURES];
            for (int j = 0; j < FEATURES; j++) z += teacher[j] * rows[i][j];
            if ((z > 0 ? 1.0 : 0.0) == labels.get(i)) teacherRight++;
        }
        double accuracy = Double.parseDouble(train.line("accuracy:")), teacherAccuracy = (double) teacherRight / rows.length;
        assertTrue(Math.abs(accuracy - teacherAccuracy) <= 0.01, "accuracy " + accuracy + ", the teacher's " + teacherAccuracy + "\n" + train.out());

        String[] input = {"--input", data.toString()};
        UserDataTest.Run predict = ok(with(with(new String[] {"predict", "--model-dir", model.toString()}, input), "--output", predictions.toString()));
        assertEquals("row, features, label, rawPrediction, probability, prediction", predict.line("columns:"));
        double[] params = Npy.read(model.resolve("params.npy")).toArray();
        List<Row> scored = SharedSpark.session().read().parquet(predictions.toString()).orderBy("row").collectAsList();
        assertEquals(ROWS, scored.size());
        int right = 0;
        for (Row r : scored) {
            // CSR rows go back out as sparse Vectors (not densified), the scores as Vectors (Spark's evaluators read them)
            assertTrue(r.get(r.fieldIndex("features")) instanceof org.apache.spark.ml.linalg.SparseVector, "features: " + r.get(r.fieldIndex("features")));
            double[] f = ((org.apache.spark.ml.linalg.Vector) r.get(r.fieldIndex("features"))).toArray();
            double z = ((org.apache.spark.ml.linalg.Vector) r.get(r.fieldIndex("rawPrediction"))).apply(1), prediction = r.getDouble(r.fieldIndex("prediction"));
            assertEquals(score(params, f, FACTORS), z, 1e-9, "row " + r.getLong(0));
            assertEquals(z > 0 ? 1.0 : 0.0, prediction);
            if (prediction == r.getDouble(r.fieldIndex("label"))) right++;
        }
        assertEquals(accuracy, (double) right / ROWS, 1e-6);

        UserDataTest.Run eval = ok(with(new String[] {"evaluate", "--model-dir", model.toString()}, input));
        assertEquals("factorization machine, 64 features, 4 factors (file:" + model + ")", eval.line("model:"));
        assertEquals(accuracy, Double.parseDouble(eval.line("accuracy:")), 1e-6, eval.out());
        List<String> csv = Files.readAllLines(model.resolve("loss.csv"));
        assertEquals(Double.parseDouble(csv.get(csv.size() - 1).split(",")[1]), Double.parseDouble(eval.line("log-loss:")), 1e-6, eval.out());
        assertTrue(eval.out().contains("AUC:"), eval.out());
    }

    @Test
    void denseGeneratedDataAndBadFactors() throws Exception {
        // dense rows (--generate: an fm teacher on standard normal features) through the same module
        Path model = tmp.resolve("fm-dense");
        UserDataTest.Run train = ok("train", "--model", "fm", "--factors", "2", "--generate", "3000", "--features", "5", "--partitions", "2",
                "--seed", "2", "--max-steps", "30", "--output", model.toString());
        double accuracy = Double.parseDouble(train.line("accuracy:"));
        double teacher = Double.parseDouble(train.line("teacher:").split("\\s+")[1]);
        assertTrue(accuracy >= teacher - 0.01, "accuracy " + accuracy + ", teacher " + teacher + "\n" + train.out());
        assertTrue(!train.line("teacher:").contains("parameter error"), train.out());

        assertEquals("spark-autograd train: --factors must be positive, got 0 (see 'spark-autograd train --help')",
                failure(main("train", "--model", "fm", "--factors", "0", "--generate", "10", "--output", tmp.resolve("none").toString()), 2));
    }

    private static String[] with(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
