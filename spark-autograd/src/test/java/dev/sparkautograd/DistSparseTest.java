package dev.sparkautograd;

import dev.sparkautograd.dist.Block;
import dev.sparkautograd.testing.SharedSpark;
import dev.sparkautograd.testing.StageNames;
import org.apache.spark.SparkContext;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.RDDInfo;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static dev.sparkautograd.DistDataTest.assertMessage;
import static dev.sparkautograd.DistDataTest.field;
import static dev.sparkautograd.DistDataTest.schema;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sparse (CSR) columns: read without densifying, aligned with the dense columns beside them, the ops a sparse
 * tensor has giving the dense tensor's numbers, the others refused on the driver, wide data costing memory in
 * proportion to its non-zeros, and every bad input's error.
 */
class DistSparseTest {

    private static final StructType XY = schema(field("x", SQLDataTypes.VectorType()), field("y", DataTypes.DoubleType));

    /** Rows of a {@code width}-wide column with about {@code nnz} non-zeros each (some rows dense Vectors), and a 0/1 label. */
    static Dataset<Row> data(long seed, int rows, int width, int nnz, int partitions) {
        Random rnd = new Random(seed);
        List<Row> out = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            java.util.TreeMap<Integer, Double> entries = new java.util.TreeMap<>();
            // non-zero values (multiples of 1/8, so sums are exact in any order)
            while (entries.size() < nnz) entries.put(rnd.nextInt(width), (rnd.nextInt(16) + 1) / 8.0 * (rnd.nextBoolean() ? 1 : -1));
            int[] idx = entries.keySet().stream().mapToInt(Integer::intValue).toArray();
            double[] vals = entries.values().stream().mapToDouble(Double::doubleValue).toArray();
            Vector v = Vectors.sparse(width, idx, vals);
            if (r % 7 == 3 && width <= 64) v = v.toDense(); // both Vector forms in one column
            out.add(RowFactory.create(v, (double) rnd.nextInt(2)));
        }
        return SharedSpark.session().createDataFrame(out, XY).repartition(partitions).sortWithinPartitions("y");
    }

    private static DistData read(Dataset<Row> df, Boolean sparse, int blockRows) {
        DistData.Options o = DistData.options().sparse(sparse);
        if (blockRows > 0) o.blockRows(blockRows);
        return DistData.fromDataset(df, o, "x", "y");
    }

    @Test
    void theOptionAndTheCountingJobDecideSparseOrDense() {
        Dataset<Row> narrowSparse = data(1, 60, 40, 2, 2);   // 5% non-zero: sparse when unset
        Dataset<Row> narrowDense = data(2, 60, 10, 5, 2);    // 50% non-zero: dense when unset
        assertTrue(read(narrowSparse, null, 0).tensor("x").isSparse());
        assertFalse(read(narrowDense, null, 0).tensor("x").isSparse());
        assertTrue(read(narrowDense, true, 0).tensor("x").isSparse());
        assertFalse(read(narrowSparse, false, 0).tensor("x").isSparse());
        assertFalse(read(narrowSparse, true, 0).tensor("y").isSparse(), "a numeric column stays dense");
        // wider than 65,536: sparse however dense its rows
        Dataset<Row> wide = SharedSpark.session().createDataFrame(List.of(RowFactory.create(Vectors.sparse(70_000, new int[] {0}, new double[] {1}), 1.0)), XY);
        assertTrue(read(wide, null, 0).tensor("x").isSparse());
        // array<double> stays dense unless sparse(true)
        StructType a = schema(field("a", DataTypes.createArrayType(DataTypes.DoubleType)));
        Dataset<Row> arrays = SharedSpark.session().createDataFrame(List.of(RowFactory.create((Object) new double[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2.5}),
                RowFactory.create((Object) new double[12])), a);
        DistData dense = DistData.fromDataset(arrays, "a"), sparse = DistData.fromDataset(arrays, DistData.options().sparse(true), "a");
        assertFalse(dense.tensor("a").isSparse());
        assertTrue(sparse.tensor("a").isSparse());
        assertTrue(sparse.tensor("a").collect().equal(dense.tensor("a").collect()));
    }

    @Test
    void sparseColumnsReadTheSameValuesAlignedWithTheDenseColumns() {
        Dataset<Row> df = data(3, 200, 30, 3, 3);
        DistData s = read(df, true, 0), d = read(df, false, 0);
        assertTrue(s.tensor("x").isSparse());
        assertTrue(s.tensor("x").collect().equal(d.tensor("x").collect()), "the same values, dense or sparse");
        assertTrue(s.tensor("x").toDense().collect().equal(d.tensor("x").collect()));
        assertTrue(s.tensor("y").collect().equal(d.tensor("y").collect()), "the label column beside a sparse one reads the same rows");
        // each block holds every column for the same rows
        for (Block b : s.blocks().collect()) {
            assertTrue(b.isSparse(0));
            assertFalse(b.isSparse(1));
            assertEquals(b.rows(), b.csr(0).rows());
            assertEquals(b.rows(), b.column(1).size(0));
        }
        // y * (row sums of x) needs the two columns aligned row for row
        Tensor viaSparse = s.tensor("x").sumRows(1, false).mul(s.tensor("y")).sum(0, false);
        Tensor viaDense = d.tensor("x").sumRows(1, false).mul(d.tensor("y")).sum(0, false);
        assertEquals(viaDense.item(), viaSparse.item(), 1e-12);
    }

    /** [loss, gradients] of a model at fresh copies of {@code init}, fused or not. */
    private static double[] lossAndGrads(boolean fuse, List<Tensor> init, Function<List<Tensor>, Tensor> model) {
        return FusionSwitch.lossAndGrads(DistTensor.FUSE_MATMUL, fuse, init, model);
    }

    private static void assertClose(double[] expected, double[] actual, double rel, String what) {
        assertEquals(expected.length, actual.length, what);
        double scale = 0;
        for (double v : expected) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= rel * scale, what + ": element " + i + ": " + expected[i] + " vs " + actual[i]);
        }
    }

    /** The fused Hessian-vector product reads CSR blocks as the fused gradient does: X v and X^T (.) from the CSR arrays. */
    @Test
    void theFusedProductOfASparseLogisticLossEqualsTheDenseOne() {
        Dataset<Row> df = data(5, 200, 25, 4, 3);
        DistData s = read(df, true, 16), d = read(df, false, 16);
        Tensor x = Tensor.randn(44, 26).mul(0.3), v = Tensor.randn(45, 26);
        Function<DistData, Function<Tensor, Tensor>> loss = data -> p -> {
            DistTensor z = data.tensor("x").matmul(p.slice(0, 0, 25)).add(p.slice(0, 25, 26).reshape());
            return z.softplus().sub(data.tensor("y").mul(z)).mean();
        };
        Tensor[] hv = new Tensor[2];
        List<String> names = StageNames.during(() -> {
            hv[0] = Autograd.hvp(loss.apply(s), x, v).get(1);
            hv[1] = Autograd.hvp(loss.apply(d), x, v).get(1);
        });
        assertEquals(2, StageNames.mentioning(names, "[fused product: matmul; row program: add, softplus, mul, sub]").size(), names.toString());
        assertClose(hv[1].toArray(), hv[0].toArray(), 1e-12, "sparse vs dense");
    }

    @Test
    void sparseGradientsEqualDenseOnesForLogisticSoftmaxAndTheScalarOps() {
        Dataset<Row> df = data(4, 300, 25, 4, 3);
        DistData s = read(df, true, 16), d = read(df, false, 16);
        List<Tensor> logistic = List.of(Tensor.randn(41, 25).mul(0.3), Tensor.scalar(0.1));
        List<Tensor> softmax = List.of(Tensor.randn(42, 25, 3).mul(0.3), Tensor.randn(43, 3).mul(0.1));
        List<Function<DistData, Function<List<Tensor>, Tensor>>> models = List.of(
                data -> p -> {
                    DistTensor z = data.tensor("x").matmul(p.get(0)).add(p.get(1));
                    return z.softplus().sub(data.tensor("y").mul(z)).mean();
                },
                data -> p -> data.tensor("x").matmul(p.get(0)).add(p.get(1)).logSoftmax(1).sumRows(1, false).mean(),
                data -> p -> data.tensor("x").mul(2.0).neg().div(3.0).square().abs().matmul(p.get(0)).add(p.get(1))
                        .add(data.tensor("x").sumRows(1, false)).tanh().sum());
        List<List<Tensor>> inits = List.of(logistic, softmax, logistic);
        for (int m = 0; m < models.size(); m++) {
            for (boolean fuse : new boolean[] {true, false}) {
                double[] dense = lossAndGrads(fuse, inits.get(m), models.get(m).apply(d));
                double[] sparse = lossAndGrads(fuse, inits.get(m), models.get(m).apply(s));
                assertClose(dense, sparse, 1e-12, "model " + m + (fuse ? " fused" : " unfused"));
            }
        }
        // the fused job says so in its name
        List<String> names = StageNames.during(() -> lossAndGrads(true, logistic, models.get(0).apply(s)));
        assertEquals(1, StageNames.mentioning(names, "fused matmul: matmul").size(), names.toString());
    }

    @Test
    void everyOtherOpOnASparseTensorFailsOnTheDriverNamingIt() {
        DistData s = read(data(6, 40, 20, 2, 2), true, 0);
        DistTensor x = s.tensor("x"), y = s.tensor("y");
        List<Object[]> cases = List.of(
                new Object[] {"exp", (Runnable) x::exp},
                new Object[] {"add", (Runnable) () -> x.add(1.0)},
                new Object[] {"add", (Runnable) () -> x.add(Tensor.ones(20))},
                new Object[] {"mul", (Runnable) () -> x.mul(y.toDense())},
                new Object[] {"mul", (Runnable) () -> y.mul(x)},
                new Object[] {"softmax", (Runnable) () -> x.softmax(1)},
                new Object[] {"meanRows", (Runnable) () -> x.meanRows(1, false)},
                new Object[] {"mapBlocks", (Runnable) () -> x.mapBlocks(List.of(), (b, p) -> b)},
                new Object[] {"sum", (Runnable) x::sum},
                new Object[] {"mean", (Runnable) () -> x.mean(0, false)},
                new Object[] {"requiresGrad_", (Runnable) () -> x.requiresGrad_(true)},
                new Object[] {"div(0.0)", (Runnable) () -> x.div(0.0)});
        int jobs = jobsDuring(() -> {
            for (Object[] c : cases) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ((Runnable) c[1]).run(), (String) c[0]);
                assertMessage(e, (String) c[0], "sparse");
            }
        });
        assertEquals(0, jobs, "refused before any job");
    }

    /** Jobs started during {@code body}, as a SparkListener counts them (the bus drained before and after). */
    static int jobsDuring(Runnable body) {
        SparkContext sc = SharedSpark.jsc().sc();
        AtomicInteger jobs = new AtomicInteger();
        SparkListener l = new SparkListener() {
            @Override
            public void onJobStart(SparkListenerJobStart e) {
                jobs.incrementAndGet();
            }
        };
        drain(sc);
        sc.addSparkListener(l);
        try {
            body.run();
            drain(sc);
        } finally {
            sc.removeSparkListener(l);
        }
        return jobs.get();
    }

    private static void drain(SparkContext sc) {
        try {
            sc.listenerBus().waitUntilEmpty();
        } catch (TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aMillionWideColumnRunsOneJobPerStepCachedInProportionToItsNonZeros() {
        int width = 1 << 20, rows = 20_000, nnz = 30;
        DistData s = DistData.fromDataset(data(7, rows, width, nnz, 4), DistData.options().storageLevel(StorageLevel.MEMORY_ONLY()), "x", "y");
        DistTensor x = s.tensor("x"), y = s.tensor("y");
        assertTrue(x.isSparse());
        assertArrayEquals(new int[] {rows, width}, x.shape());
        Tensor w = Tensor.zeros(width).requiresGrad_(true), b = Tensor.scalar(0).requiresGrad_(true);
        double[][] firstGrad = new double[1][];
        for (int step = 0; step < 3; step++) {
            int jobs = jobsDuring(() -> {
                w.setGrad(null);
                b.setGrad(null);
                DistTensor z = x.matmul(w).add(b);
                z.softplus().sub(y.mul(z)).mean().backward();
            });
            assertEquals(1, jobs, "step " + step + ": one job for the loss and its gradients");
            if (step == 0) firstGrad[0] = w.grad().toArray();
            try (Autograd.Scope ng = Autograd.noGrad()) {
                w.sub_(w.grad().mul(50));
                b.sub_(b.grad().mul(50));
            }
        }
        long entries = (long) rows * nnz;
        long cached = 0;
        for (RDDInfo info : SharedSpark.jsc().sc().getRDDStorageInfo()) if (info.id() == s.blocks().id()) cached = info.memSize();
        assertTrue(cached >= 12 * entries && cached <= 2 * (12 * entries + 8L * rows) + (1 << 20),
                "cached " + cached + " bytes for " + entries + " non-zeros (12 bytes each)");
        s.unpersist();
        // bitwise reproducible: the first step again, from the same start
        Tensor w2 = Tensor.zeros(width).requiresGrad_(true), b2 = Tensor.scalar(0).requiresGrad_(true);
        DistTensor z = x.matmul(w2).add(b2);
        z.softplus().sub(y.mul(z)).mean().backward();
        assertArrayEquals(firstGrad[0], w2.grad().toArray(), 0.0, "the same bits in another run");
    }

    /** [w's gradient, b's gradient, loss] of a logistic step on sparse data, every task failing its first attempt if asked. */
    private static double[][] sparseStep(SparkSession session, boolean failFirstAttempts) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
        List<Integer> ids = new ArrayList<>();
        for (int r = 0; r < 300; r++) ids.add(r);
        // four partitions whatever the master; each row a function of its index
        Dataset<Row> df = session.createDataFrame(sc.parallelize(ids, 4).map(r -> {
            Random rnd = new Random(11 + r);
            int a = rnd.nextInt(5000), b = 5000 + rnd.nextInt(5000);
            return RowFactory.create(Vectors.sparse(10_000, new int[] {a, b}, new double[] {rnd.nextGaussian(), rnd.nextGaussian()}), (double) rnd.nextInt(2));
        }), XY);
        DistData d = DistData.fromDataset(df, DistData.options().sparse(true).blockRows(20), "x", "y");
        Tensor w = Tensor.randn(12, 10_000).mul(0.1).requiresGrad_(true), b = Tensor.scalar(0.3).requiresGrad_(true);
        DistTensor y = d.tensor("y").mapBlocks(List.of(), (t, q) -> {
            TaskContext tc = TaskContext.get();
            if (failFirstAttempts && tc != null && tc.attemptNumber() == 0) throw new IllegalStateException("injected failure of attempt 0");
            return t;
        });
        DistTensor z = d.tensor("x").matmul(w).add(b);
        Tensor loss = z.softplus().sub(y.mul(z)).mean();
        loss.backward();
        return new double[][] {w.grad().toArray(), b.grad().toArray(), {loss.item()}};
    }

    @Test
    void taskRetriesAndOtherSlotCountsGiveTheSameBits() {
        double[][] reference = sparseStep(SharedSpark.session(), false);
        SharedSpark.session().stop();
        for (String master : new String[] {"local[1]", "local[2,4]"}) {
            SparkSession s = DistRetryTest.session(master);
            try {
                s.sparkContext().setLogLevel("ERROR");
                AtomicInteger failed = new AtomicInteger();
                s.sparkContext().addSparkListener(new SparkListener() {
                    @Override
                    public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) {
                        if (!e.taskInfo().successful()) failed.incrementAndGet();
                    }
                });
                double[][] again = sparseStep(s, master.equals("local[2,4]"));
                drain(s.sparkContext());
                if (master.equals("local[2,4]")) assertTrue(failed.get() >= 4, "every task of the step failed once: " + failed.get());
                for (int i = 0; i < reference.length; i++) assertArrayEquals(reference[i], again[i], 0.0, master + ", array " + i);
            } finally {
                DistRetryTest.stop(s);
            }
        }
    }

    @Test
    void badSparseVectorsNameTheColumnAndTheRow(@TempDir Path dir) {
        // Spark's SparseVector refuses such indices, but files hold what they hold: the Vector's struct form is
        // written to Parquet and read back as a Vector column, as a file written elsewhere would be.
        StructType struct = schema(field("x", new StructType(new StructField[] {
                field("type", DataTypes.ByteType), field("size", DataTypes.IntegerType),
                field("indices", DataTypes.createArrayType(DataTypes.IntegerType)), field("values", DataTypes.createArrayType(DataTypes.DoubleType))})),
                field("y", DataTypes.DoubleType));
        List<Object[]> cases = List.of(
                new Object[] {sparse(4, new int[] {1, 4}, 1, 2), "out of range"},
                new Object[] {sparse(4, new int[] {2, 1}, 1, 2), "unsorted"},
                new Object[] {sparse(4, new int[] {1, 1}, 1, 2), "duplicated"},
                new Object[] {sparse(4, new int[] {0, 3}, 1, Double.NaN), "NaN"},
                new Object[] {RowFactory.create((byte) 1, null, null, new double[] {1, Double.POSITIVE_INFINITY, 0, 0}), "infinite"},
                new Object[] {sparse(5, new int[] {0}, 1), "ragged"});
        int k = 0;
        for (Object[] c : cases) {
            String path = dir.resolve("case" + k++).toString();
            SharedSpark.session().createDataFrame(List.of(RowFactory.create(sparse(4, new int[] {0}, 1), 0.0), RowFactory.create(c[0], 1.0)), struct)
                    .coalesce(1).write().parquet(path);
            Dataset<Row> df = SharedSpark.session().read().schema(XY).parquet(path);
            for (Boolean sparse : new Boolean[] {true, false}) {
                DistData d = read(df, sparse, 0);
                // Dense and sparse blocks alike come from the Parquet reader's columnar batches.
                assertTrue(d.blocks().name().endsWith("(columnar batches)"), d.blocks().name());
                DistTensor x = d.tensor("x");
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.sumRows(1, false).sum(), (String) c[1]);
                assertMessage(e, "column 'x'", "row 1", (String) c[1]);
            }
        }
    }

    /** A sparse Vector's struct form (type 0, size, indices, values), unchecked. */
    private static Row sparse(int size, int[] indices, double... values) {
        return RowFactory.create((byte) 0, size, indices, values);
    }
}
