package dev.sparkautograd;

import dev.sparkautograd.dist.Block;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code DistData.options().dtype(FLOAT32)}: gradients over float32 blocks against float64 ones on the same
 * (float-representable) data and against finite differences, bitwise reproducibility (runs, where the final combine
 * runs, task slot counts), and bad input named with column and row.
 */
class DistFloat32Test {

    /** randn values rounded to float, so float32 and float64 blocks hold the same numbers. */
    static Tensor floats(long seed, int... shape) {
        double[] v = Tensor.randn(seed, shape).toArray();
        for (int i = 0; i < v.length; i++) v[i] = (float) v[i];
        return Tensor.fromArray(v, shape);
    }

    static DistData data(JavaSparkContext sc, int partitions, DistData.Dtype dtype) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", floats(1, 30, 3));
        m.put("y", Tensor.rand(2, 30).gt(0.5).mul(1.0));
        return DistData.parallelize(sc, partitions, m, DistData.options().blockRows(4).dtype(dtype));
    }

    /** [loss, dL/dw, dL/db] of the logistic loss (its X w runs fused: on float32 blocks, from the floats). */
    static double[] logistic(DistData d, double[] w0, double b0) {
        Tensor w = Tensor.fromArray(w0.clone(), w0.length).requiresGrad_(true), b = Tensor.scalar(b0).requiresGrad_(true);
        DistTensor z = d.tensor("x").matmul(w).add(b);
        Tensor loss = z.softplus().sub(d.tensor("y").mul(z)).mean().add(w.square().sum().mul(0.1));
        loss.backward();
        double[] out = new double[w0.length + 2];
        out[0] = loss.item();
        System.arraycopy(w.grad().toArray(), 0, out, 1, w0.length);
        out[w0.length + 1] = b.grad().item();
        return out;
    }

    /** [loss, dL/dW1, dL/dw2] of a small MLP: its X W1 has a matrix parameter (the block widened, then BLAS as in float64). */
    static double[] mlp(DistData d) {
        Tensor w1 = Tensor.randn(5, 3, 4).requiresGrad_(true), w2 = Tensor.randn(6, 4).requiresGrad_(true);
        Tensor loss = d.tensor("x").matmul(w1).tanh().matmul(w2).sub(d.tensor("y")).square().mean();
        loss.backward();
        double[] out = new double[1 + 12 + 4];
        out[0] = loss.item();
        System.arraycopy(w1.grad().toArray(), 0, out, 1, 12);
        System.arraycopy(w2.grad().toArray(), 0, out, 13, 4);
        return out;
    }

    private static final double[] W = {0.4, -0.7, 0.25};

    @Test
    void blocksHoldFloatFeaturesAndFloat64Labels() {
        Block b = data(SharedSpark.jsc(), 3, DistData.Dtype.FLOAT32).blocks().first();
        assertTrue(b.isFloat32(0), "x [30, 3] is stored as float");
        assertFalse(b.isFloat32(1), "y [30] (labels) stays float64");
        assertTrue(data(SharedSpark.jsc(), 3, DistData.Dtype.FLOAT32).tensor("x").collect().equal(floats(1, 30, 3)));
        assertThrows(IllegalArgumentException.class, () -> DistData.options().dtype(null));
    }

    @Test
    void gradientsOverFloat32BlocksEqualFloat64OnesOnTheSameValues() {
        DistData f32 = data(SharedSpark.jsc(), 4, DistData.Dtype.FLOAT32), f64 = data(SharedSpark.jsc(), 4, DistData.Dtype.FLOAT64);
        // fused X w from the floats: the same float64 products summed in another order (4 partial sums, not dgemv's)
        double[] a = logistic(f32, W, 0.3), b = logistic(f64, W, 0.3);
        for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-14 * Math.max(1, Math.abs(b[i])), "entry " + i);
        // unfused, every op reads the widened block: the float64 path on the same numbers, the same bits
        double[] unfused = FusionSwitch.lossAndGrads(DistTensor.FUSE_MATMUL, false,
                List.of(Tensor.fromArray(W.clone(), 3), Tensor.scalar(0.3)), p -> {
                    DistTensor z = f32.tensor("x").matmul(p.get(0)).add(p.get(1));
                    return z.softplus().sub(f32.tensor("y").mul(z)).mean().add(p.get(0).square().sum().mul(0.1));
                });
        for (int i = 0; i < a.length; i++) assertEquals(b[i], unfused[i], 1e-14 * Math.max(1, Math.abs(b[i])), "unfused entry " + i);
        // a matrix parameter: the block widened, then the float64 kernels: the same bits
        assertArrayEquals(mlp(f64), mlp(f32), 0.0);
    }

    @Test
    void theFloat32GradientIsTheFiniteDifferenceOfItsLoss() {
        DistData d = data(SharedSpark.jsc(), 4, DistData.Dtype.FLOAT32);
        double[] g = logistic(d, W, 0.3);
        double eps = 1e-6;
        for (int j = 0; j <= W.length; j++) {
            double[] up = W.clone(), down = W.clone();
            double bu = 0.3, bd = 0.3;
            if (j < W.length) {
                up[j] += eps;
                down[j] -= eps;
            } else {
                bu += eps;
                bd -= eps;
            }
            double fd = (logistic(d, up, bu)[0] - logistic(d, down, bd)[0]) / (2 * eps);
            // central differences of a smooth loss of size ~1: truncation ~eps^2, cancellation ~1e-16 / eps
            assertEquals(fd, g[1 + j], 1e-8, "parameter " + j);
        }
    }

    static double[][] gradients(JavaSparkContext sc) {
        DistData d = data(sc, 8, DistData.Dtype.FLOAT32);
        return new double[][] {logistic(d, W, 0.3), mlp(d)};
    }

    @Test
    void float32GradientsAreBitwiseIdenticalAcrossRunsCombinesAndSlotCounts() {
        JavaSparkContext sc = SharedSpark.jsc();
        double[][] first = gradients(sc);
        double[][] second = gradients(sc);
        for (int k = 0; k < 2; k++) assertArrayEquals(first[k], second[k], 0.0, "run after run, model " + k);
        // the final combine on an executor (the driver receives one array): the same bits
        sc.setLocalProperty(DistTensor.FINAL_COMBINE_ON_EXECUTOR_ABOVE, "1");
        try {
            double[][] onExecutor = gradients(sc);
            for (int k = 0; k < 2; k++) assertArrayEquals(first[k], onExecutor[k], 0.0, "combined on an executor, model " + k);
        } finally {
            sc.setLocalProperty(DistTensor.FINAL_COMBINE_ON_EXECUTOR_ABOVE, null);
        }
        // another number of task slots (one core), as DistRetryTest: the same bits
        SharedSpark.session().stop();
        SparkSession single = DistRetryTest.session("local[1]");
        try {
            double[][] one = gradients(JavaSparkContext.fromSparkContext(single.sparkContext()));
            for (int k = 0; k < 2; k++) assertArrayEquals(first[k], one[k], 0.0, "local[1], model " + k);
        } finally {
            DistRetryTest.stop(single);
        }
        assertEquals(3.0, SharedSpark.jsc().parallelize(List.of(1, 2), 2).map(i -> (double) i).reduce(Double::sum));
    }

    @Test
    void badFloat32InputIsNamedWithColumnAndRow() {
        StructType s = new StructType().add("features", DataTypes.createArrayType(DataTypes.DoubleType)).add("label", DataTypes.DoubleType);
        DistData.Options f32 = DistData.options().dtype(DistData.Dtype.FLOAT32);
        Dataset<Row> nan = SharedSpark.session().createDataFrame(Arrays.asList(RowFactory.create(new double[] {1, 2}, 0.0),
                RowFactory.create(new double[] {3, Double.NaN}, 1.0)), s).coalesce(1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DistData.fromDataset(nan, f32, "features", "label").tensor("features").sum());
        for (String part : List.of("column 'features'", "NaN", "row 1", "index 1")) assertTrue(e.getMessage().contains(part), e.getMessage());
        Dataset<Row> big = SharedSpark.session().createDataFrame(Arrays.asList(RowFactory.create(new double[] {1, 2}, 0.0),
                RowFactory.create(new double[] {3, 2}, 1.0), RowFactory.create(new double[] {-1e39, 2}, 1.0)), s).coalesce(1);
        IllegalArgumentException range = assertThrows(IllegalArgumentException.class, () -> DistData.fromDataset(big, f32, "features", "label").tensor("features").sum());
        for (String part : List.of("column 'features'", "row 2", "index 0", "float32")) assertTrue(range.getMessage().contains(part), range.getMessage());
        // float64 reads it
        assertEquals(-1e39 + 11, DistData.fromDataset(big, "features", "label").tensor("features").sum().item(), 1e24);
    }
}
