package dev.sparkautograd;

import dev.sparkautograd.testing.LocalCluster;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
