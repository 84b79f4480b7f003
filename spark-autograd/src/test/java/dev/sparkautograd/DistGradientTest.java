package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The distributed gradient of a sum-style loss equals the local one, for several models and partitionings. */
class DistGradientTest {

    static final int N = 45, D = 4;

    /** A loss written once over "tensors" that are either local or distributed. */
    interface Model {
        /** The loss from the local data. */
        Tensor local(Map<String, Tensor> data, List<Tensor> params);

        /** The same loss from the distributed data. */
        Tensor dist(DistData data, List<Tensor> params);
    }

    static Map<String, Tensor> data(long seed) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        Tensor x = Tensor.randn(seed, N, D);
        m.put("x", x);
        m.put("y01", Tensor.rand(seed + 1, N).gt(0.5).mul(1.0));
        m.put("y2", Tensor.randn(seed + 2, N, 2));
        // one-hot labels over 3 classes
        double[] oh = new double[N * 3];
        Tensor r = Tensor.rand(seed + 3, N);
        for (int i = 0; i < N; i++) oh[i * 3 + (int) Math.min(2, Math.floor(r.get(i) * 3))] = 1;
        m.put("onehot", Tensor.fromArray(oh, N, 3));
        m.put("y1", Tensor.randn(seed + 4, N, 1));
        return m;
    }

    static List<Tensor> params(long seed, int[]... shapes) {
        List<Tensor> ps = new ArrayList<>();
        for (int i = 0; i < shapes.length; i++) ps.add(Tensor.randn(seed + i, shapes[i]).mul(0.5).requiresGrad_(true));
        return ps;
    }

    static final Model LOGISTIC = new Model() {
        public Tensor local(Map<String, Tensor> d, List<Tensor> p) {
            Tensor z = d.get("x").matmul(p.get(0)).add(p.get(1));
            return z.softplus().sub(d.get("y01").mul(z)).mean().add(p.get(0).square().sum().mul(0.1));
        }

        public Tensor dist(DistData d, List<Tensor> p) {
            DistTensor z = d.tensor("x").matmul(p.get(0)).add(p.get(1));
            return z.softplus().sub(d.tensor("y01").mul(z)).mean().add(p.get(0).square().sum().mul(0.1));
        }
    };

    static final Model LEAST_SQUARES = new Model() {
        public Tensor local(Map<String, Tensor> d, List<Tensor> p) {
            return d.get("x").matmul(p.get(0)).add(p.get(1)).sub(d.get("y2")).square().sum().mul(0.5)
                    .add(p.get(0).square().sum().mul(0.01));
        }

        public Tensor dist(DistData d, List<Tensor> p) {
            return d.tensor("x").matmul(p.get(0)).add(p.get(1)).sub(d.tensor("y2")).square().sum().mul(0.5)
                    .add(p.get(0).square().sum().mul(0.01));
        }
    };

    static final Model SOFTMAX = new Model() {
        public Tensor local(Map<String, Tensor> d, List<Tensor> p) {
            return d.get("x").matmul(p.get(0)).add(p.get(1)).logSoftmax(1).mul(d.get("onehot")).sum().neg().div(N)
                    .add(p.get(0).norm().mul(0.05));
        }

        public Tensor dist(DistData d, List<Tensor> p) {
            return d.tensor("x").matmul(p.get(0)).add(p.get(1)).logSoftmax(1).mul(d.tensor("onehot")).sum().neg().div(N)
                    .add(p.get(0).norm().mul(0.05));
        }
    };

    static Tensor mlp(Tensor x, List<Tensor> p) {
        Tensor h = x.matmul(p.get(0)).add(p.get(1));
        // Java control flow inside a block function: a branch on the parameters' values.
        h = p.get(3).sum().item() > -1e9 ? h.tanh() : h.relu();
        return h.matmul(p.get(2)).add(p.get(3));
    }

    static final Model MLP = new Model() {
        public Tensor local(Map<String, Tensor> d, List<Tensor> p) {
            return mlp(d.get("x"), p).sub(d.get("y1")).square().mean().add(p.get(0).square().sum().mul(0.001));
        }

        public Tensor dist(DistData d, List<Tensor> p) {
            return d.tensor("x").mapBlocks(p, DistGradientTest::mlp).sub(d.tensor("y1")).square().mean()
                    .add(p.get(0).square().sum().mul(0.001));
        }
    };

    static void assertClose(Tensor expected, Tensor actual, String what) {
        assertNotNull(actual, what + ": no gradient");
        assertEquals(List.of(box(expected.shape())), List.of(box(actual.shape())), what + ": shape");
        double scale = 0;
        for (double v : expected.toArray()) scale = Math.max(scale, Math.abs(v));
        double[] e = expected.toArray(), a = actual.toArray();
        for (int i = 0; i < e.length; i++) {
            assertTrue(Math.abs(e[i] - a[i]) <= 1e-10 * Math.max(scale, 1e-300) + 1e-15,
                    what + "[" + i + "]: expected " + e[i] + " got " + a[i]);
        }
    }

    private static Integer[] box(int[] a) {
        Integer[] b = new Integer[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }

    static void check(Model model, int partitions, int[]... shapes) {
        JavaSparkContext sc = SharedSpark.jsc();
        Map<String, Tensor> local = data(7);
        DistData dist = DistData.parallelize(sc, partitions, local, DistData.options().blockRows(4));

        List<Tensor> pl = params(11, shapes);
        Tensor lossL = model.local(local, pl);
        lossL.backward();

        List<Tensor> pd = params(11, shapes);
        Tensor lossD = model.dist(dist, pd);
        assertEquals(lossL.item(), lossD.item(), 1e-10 * Math.abs(lossL.item()), "loss");
        lossD.backward();
        for (int i = 0; i < pl.size(); i++) assertClose(pl.get(i).grad(), pd.get(i).grad(), "grad of param " + i);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 8})
    void logisticRegression(int partitions) {
        check(LOGISTIC, partitions, new int[] {D}, new int[] {});
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 8})
    void leastSquares(int partitions) {
        check(LEAST_SQUARES, partitions, new int[] {D, 2}, new int[] {2});
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 8})
    void softmaxCrossEntropy(int partitions) {
        check(SOFTMAX, partitions, new int[] {D, 3}, new int[] {3});
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 8})
    void twoLayerMlp(int partitions) {
        check(MLP, partitions, new int[] {D, 5}, new int[] {5}, new int[] {5, 1}, new int[] {1});
    }
}
