package dev.sparkautograd;

import dev.sparkautograd.testing.LocalCluster;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The distributed gradient with executors in separate JVMs ({@code local-cluster[2,1,1024]}): blocks,
 * parameter bundles, block functions and partial gradients really cross process boundaries, through
 * Kryo with registration required. Runs in {@code mvn verify} (failsafe). The tree reduce across them:
 * {@code dist.TreeReduceClusterIT}.
 */
class DistClusterIT {

    @Test
    void gradientsAcrossExecutorJvmsEqualTheLocalOnesAndTheLocalModeBits() throws Exception {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", Tensor.randn(31, 50, 4));
        m.put("y", Tensor.randn(32, 50, 1));
        List<Tensor> pl = List.of(Tensor.randn(33, 4, 6).requiresGrad_(true), Tensor.randn(34, 6).requiresGrad_(true),
                Tensor.randn(35, 6, 1).requiresGrad_(true), Tensor.randn(36, 1).requiresGrad_(true));
        DistGradientTest.mlp(m.get("x"), pl).sub(m.get("y")).square().mean().backward();
        double[] inLocalMode = run(SharedSpark.jsc(), m);
        try (LocalCluster cluster = LocalCluster.start("spark-autograd-cluster-it")) {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(cluster.session().sparkContext());
            double[] onCluster = run(sc, m);
            assertArrayEquals(inLocalMode, onCluster, "same partitioning, same bits, in one JVM or across three");
            int off = 0;
            for (Tensor p : pl) {
                double[] e = p.grad().toArray();
                for (int i = 0; i < e.length; i++, off++) {
                    assertTrue(Math.abs(e[i] - onCluster[off]) <= 1e-10 * Math.max(1, Math.abs(e[i])), "entry " + off);
                }
            }
        }
    }

    /**
     * Spark ML on the cluster: an AutogradClassifier (an MLP, L-BFGS) fitted with executors in separate JVMs (MLlib's
     * classes and ours crossing them through Kryo, registration required) has the parameters of the same fit in
     * local mode, bit for bit (same rows, same partitions).
     */
    @Test
    void anAutogradClassifierFitsOnTheClusterWithTheLocalModeBits() throws Exception {
        Map<String, double[]> inLocalMode = fit(SharedSpark.session());
        try (LocalCluster cluster = LocalCluster.start("spark-autograd-ml-cluster-it")) {
            Map<String, double[]> onCluster = fit(cluster.session());
            assertEquals(inLocalMode.keySet(), onCluster.keySet());
            for (String name : inLocalMode.keySet()) {
                assertArrayEquals(inLocalMode.get(name), onCluster.get(name), name + ": the same bits on the cluster");
            }
        }
    }

    private static Map<String, double[]> fit(org.apache.spark.sql.SparkSession spark) {
        java.util.Random r = new java.util.Random(5);
        List<org.apache.spark.sql.Row> rows = new java.util.ArrayList<>();
        for (int i = 0; i < 120; i++) {
            double a = r.nextGaussian(), b = r.nextGaussian();
            rows.add(org.apache.spark.sql.RowFactory.create(org.apache.spark.ml.linalg.Vectors.dense(a, b), a * b > 0 ? 1.0 : 0.0));
        }
        org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
                .add("features", org.apache.spark.ml.linalg.SQLDataTypes.VectorType(), false)
                .add("label", org.apache.spark.sql.types.DataTypes.DoubleType, false);
        // a local relation: split over the default parallelism, 2 in both sessions (local[2]; 2 executors of 1 core)
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> df = spark.createDataFrame(rows, schema);
        dev.sparkautograd.ml.AutogradClassificationModel model = new dev.sparkautograd.ml.AutogradClassifier()
                .setHiddenLayers(4).setActivation("tanh").setMaxIter(15).setSeed(3).fit(df);
        Map<String, double[]> out = new java.util.TreeMap<>();
        model.parameters().forEach((name, t) -> out.put(name, t.toArray()));
        return out;
    }

    /** The MLP's parameter gradients, flattened, and the per-row gradient's sum appended. */
    private static double[] run(JavaSparkContext sc, Map<String, Tensor> m) {
        DistData d = DistData.parallelize(sc, 4, m, DistData.options().blockRows(7));
        List<Tensor> p = List.of(Tensor.randn(33, 4, 6).requiresGrad_(true), Tensor.randn(34, 6).requiresGrad_(true),
                Tensor.randn(35, 6, 1).requiresGrad_(true), Tensor.randn(36, 1).requiresGrad_(true));
        DistTensor x = d.tensor("x").requiresGrad_(true);
        x.mapBlocks(p, DistGradientTest::mlp).sub(d.tensor("y")).square().mean().backward();
        double[] out = new double[0];
        for (Tensor t : p) {
            double[] g = t.grad().toArray();
            int n = out.length;
            out = java.util.Arrays.copyOf(out, n + g.length);
            System.arraycopy(g, 0, out, n, g.length);
        }
        out = java.util.Arrays.copyOf(out, out.length + 1);
        out[out.length - 1] = x.grad().collect().sum().item();
        return out;
    }
}
