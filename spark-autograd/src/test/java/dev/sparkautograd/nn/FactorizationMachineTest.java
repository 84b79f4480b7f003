package dev.sparkautograd.nn;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The factorization machine against the pairwise loop it rewrites ({@code sum_{i<j} <v_i, v_j> x_i x_j}), its
 * gradients against finite differences, and its distributed forms (sparse rows, dense rows, ids) against the local one.
 */
class FactorizationMachineTest {

    /** {@code b + w . x + sum_{i<j} <v_i, v_j> x_i x_j}, row by row, as the definition reads. */
    private static double[] loopReference(FactorizationMachine fm, double[][] x) {
        double b = fm.bias().item();
        double[] w = fm.linear().toArray(), v = fm.factors().toArray();
        int d = w.length, k = v.length / d;
        double[] out = new double[x.length];
        for (int r = 0; r < x.length; r++) {
            double s = b;
            for (int i = 0; i < d; i++) s += w[i] * x[r][i];
            for (int i = 0; i < d; i++) {
                for (int j = i + 1; j < d; j++) {
                    double dot = 0;
                    for (int f = 0; f < k; f++) dot += v[i * k + f] * v[j * k + f];
                    s += dot * x[r][i] * x[r][j];
                }
            }
            out[r] = s;
        }
        return out;
    }

    /** {@code rows} rows of {@code d} features, {@code nnz} non-zero each (sorted indices), values in [-2, 2]. */
    private static double[][] rows(long seed, int rows, int d, int nnz) {
        Random rnd = new Random(seed);
        double[][] x = new double[rows][d];
        for (double[] row : x) {
            for (int n = 0; n < nnz; n++) row[rnd.nextInt(d)] = rnd.nextDouble() * 4 - 2;
        }
        return x;
    }

    private static FactorizationMachine fm(int d, int k, long seed) {
        FactorizationMachine fm = new FactorizationMachine(d, k, 0.5, seed);
        try (Autograd.Scope ng = Autograd.noGrad()) {
            fm.bias().add_(0.3);
            fm.linear().copy_(Tensor.randn(seed + 1, d).mul(0.5));
        }
        return fm;
    }

    private static Tensor flat(double[][] x) {
        double[] f = new double[x.length * x[0].length];
        for (int r = 0; r < x.length; r++) System.arraycopy(x[r], 0, f, r * x[0].length, x[0].length);
        return Tensor.fromArray(f, x.length, x[0].length);
    }

    @Test
    void theLinearTimeFormEqualsThePairwiseLoop() {
        int[][] sizes = {{1, 1}, {7, 3}, {20, 5}};
        for (int[] s : sizes) {
            FactorizationMachine fm = fm(s[0], s[1], s[0]);
            double[][] x = rows(s[0] + 10, 12, s[0], Math.max(1, s[0] / 3));
            double[] expected = loopReference(fm, x), actual = fm.forward(flat(x)).toArray();
            for (int r = 0; r < x.length; r++) assertEquals(expected[r], actual[r], 1e-12 * (1 + Math.abs(expected[r])), "d=" + s[0] + " k=" + s[1] + " row " + r);
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        FactorizationMachine fm = fm(6, 3, 2);
        Tensor x = flat(rows(3, 5, 6, 3)).requiresGrad_(true);
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        inputs.addAll(fm.parameters());
        assertTrue(Autograd.gradcheck(in -> fm.forward(in.get(0)), inputs));
        assertTrue(Autograd.gradgradcheck(in -> fm.forward(in.get(0)).sum(), inputs));
    }

    @Test
    void partitionedSparseDenseAndIdRowsGiveTheLocalScoresAndGradients() {
        int d = 40, k = 4, n = 90, m = 3;
        Random rnd = new Random(4);
        List<Row> data = new ArrayList<>();
        double[][] dense = new double[n][d];
        for (int r = 0; r < n; r++) {
            TreeSet<Integer> active = new TreeSet<>();
            while (active.size() < m) active.add(rnd.nextInt(d));
            int[] idx = active.stream().mapToInt(Integer::intValue).toArray();
            double[] ones = new double[m], ids = new double[m];
            for (int j = 0; j < m; j++) {
                ones[j] = 1;
                ids[j] = idx[j];
                dense[r][idx[j]] = 1;
            }
            data.add(RowFactory.create(Vectors.sparse(d, idx, ones), ids));
        }
        StructType schema = new StructType(new StructField[] {
                new StructField("x", SQLDataTypes.VectorType(), false, Metadata.empty()),
                new StructField("ids", DataTypes.createArrayType(DataTypes.DoubleType), false, Metadata.empty())});
        Dataset<Row> df = SharedSpark.session().createDataFrame(data, schema).repartition(3);
        DistData sparse = DistData.fromDataset(df, DistData.options().sparse(true).blockRows(16), "x", "ids");
        DistData denseData = DistData.fromDataset(df, DistData.options().sparse(false).blockRows(16), "x", "ids");
        assertTrue(sparse.tensor("x").isSparse());
        // the rows in the DistData's order, for the local reference
        Tensor localX = denseData.tensor("x").collect();

        List<double[]> results = new ArrayList<>();
        for (int form = 0; form < 4; form++) {
            FactorizationMachine fm = fm(d, k, 5);
            Tensor loss;
            if (form == 0) {
                loss = fm.forward(localX).sigmoid().sum();
            } else {
                DistTensor scores = switch (form) {
                    case 1 -> fm.forwardRows(sparse.tensor("x"));
                    case 2 -> fm.forwardRows(denseData.tensor("x"));
                    default -> fm.forwardIds(denseData.tensor("ids")); // array<double> stays dense unless sparse(true)
                };
                loss = scores.sigmoid().sum();
            }
            loss.backward();
            List<Double> out = new ArrayList<>(List.of(loss.item()));
            for (Tensor p : fm.parameters()) for (double v : p.grad().toArray()) out.add(v);
            results.add(out.stream().mapToDouble(Double::doubleValue).toArray());
        }
        // on CSR rows the three products (by w, V and V^2) run fused, each X^T g taken from the CSR arrays
        FactorizationMachine fused = fm(d, k, 5);
        List<String> names = dev.sparkautograd.testing.StageNames.during(() -> fused.forwardRows(sparse.tensor("x")).sigmoid().sum().backward());
        assertEquals(1, dev.sparkautograd.testing.StageNames.mentioning(names, "fused matmul: matmul, matmul, matmul").size(), names.toString());
        for (int form = 1; form < 4; form++) {
            double[] a = results.get(0), b = results.get(form);
            assertEquals(a.length, b.length);
            for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-12 * (1 + Math.abs(a[i])), "form " + form + ", element " + i);
        }
    }
}
