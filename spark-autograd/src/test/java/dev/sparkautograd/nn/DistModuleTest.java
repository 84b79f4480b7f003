package dev.sparkautograd.nn;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.optim.Adam;
import dev.sparkautograd.optim.Optimizer;
import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A module's forward over a DistTensor (replayed per block on local[2]): the loss and the parameters'
 * gradients equal those of the same module and loss on the local rows, for each loss and a custom module.
 */
class DistModuleTest {

    static final int N = 45, D = 4;

    static Map<String, Tensor> data() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", Tensor.randn(3, N, D));
        m.put("y01", Tensor.rand(4, N, 1).gt(0.5).mul(1.0));
        m.put("class", Tensor.rand(5, N).mul(3).sub(0.5).clamp(0, 2).add(0.5).mul(1.0));   // 0.5..2.5, floored below
        m.put("y", Tensor.randn(6, N, 2));
        double[] c = m.get("class").toArray();
        for (int i = 0; i < N; i++) c[i] = Math.floor(c[i]);
        m.put("class", Tensor.of(c));
        return m;
    }

    /** A custom module: child modules held in fields, Java control flow on a parameter's value, a constant double[]. */
    static final class TwoTowers extends Module {
        private final Linear left, right;
        private final Parameter gate;
        private final double[] scale = {0.5, 2.0};

        TwoTowers(long seed) {
            left = registerModule("left", new Linear(D, 2, seed));
            right = registerModule("right", new Linear(D, 2, seed + 1));
            gate = registerParameter("gate", Tensor.of(0.3));
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor l = left.forward(x).tanh().mul(Tensor.of(scale));
            Tensor r = gate.value().item() > 0 ? right.forward(x).sigmoid() : right.forward(x).relu();
            return l.add(r.mul(gate.value()));
        }
    }

    record Case(String name, Supplier<Module> model, BiFunction<Tensor, Map<String, Tensor>, Tensor> local,
                BiFunction<DistTensor, DistData, Tensor> dist) {}

    static final List<Case> CASES = List.of(
            new Case("bce", () -> new Sequential(new Linear(D, 5, 1), new Tanh(), new Linear(5, 1, 2)),
                    (out, d) -> Losses.binaryCrossEntropyWithLogits(out, d.get("y01")),
                    (out, d) -> Losses.binaryCrossEntropyWithLogits(out, d.tensor("y01"))),
            new Case("crossEntropy", () -> new Sequential(new Linear(D, 6, 3), new ReLU(), new Linear(6, 3, 4)),
                    (out, d) -> Losses.crossEntropy(out, d.get("class")),
                    (out, d) -> Losses.crossEntropy(out, d.tensor("class"))),
            new Case("mse", () -> new Sequential(new Linear(D, 2, 5), new Sigmoid()),
                    (out, d) -> Losses.mse(out, d.get("y")),
                    (out, d) -> Losses.mse(out, d.tensor("y"))),
            new Case("custom module", () -> new TwoTowers(6),
                    (out, d) -> Losses.mse(out, d.get("y")),
                    (out, d) -> Losses.mse(out, d.tensor("y"))));

    @Test
    void distributedLossGradientEqualsTheLocalOne() {
        Map<String, Tensor> local = data();
        DistData dist = DistData.parallelize(SharedSpark.jsc(), 2, local, DistData.options().blockRows(4));
        for (Case c : CASES) {
            Module ml = c.model().get(), md = c.model().get();
            Tensor lossL = c.local().apply(ml.forward(local.get("x")), local);
            lossL.backward();
            List<Tensor> before = md.parameters();
            Tensor lossD = c.dist().apply(md.forward(dist.tensor("x")), dist);
            assertEquals(lossL.item(), lossD.item(), 1e-12 * Math.abs(lossL.item()), c.name() + " loss");
            lossD.backward();
            List<Tensor> pl = ml.parameters(), pd = md.parameters();
            for (int i = 0; i < pl.size(); i++) {
                assertSame(before.get(i), pd.get(i), c.name() + ": the driver's module keeps its own parameters");
                assertNotNull(pd.get(i).grad(), c.name() + ": no gradient for parameter " + i);
                double[] e = pl.get(i).grad().toArray(), a = pd.get(i).grad().toArray();
                for (int k = 0; k < e.length; k++) {
                    assertEquals(e[k], a[k], 1e-12 * Math.max(1, Math.abs(e[k])), c.name() + " grad of " + i + "[" + k + "]");
                }
            }
        }
    }

    @Test
    void adamStepsOverADistributedLossFollowTheLocalRun() {
        Map<String, Tensor> local = data();
        DistData dist = DistData.parallelize(SharedSpark.jsc(), 2, local, DistData.options().blockRows(8));
        Module ml = new Sequential(new Linear(D, 3, 7), new Tanh(), new Linear(3, 1, 8)), md = new Sequential(new Linear(D, 3, 7), new Tanh(), new Linear(3, 1, 8));
        Optimizer ol = new Adam(ml.parameters(), 0.05), od = new Adam(md.parameters(), 0.05);
        for (int step = 0; step < 3; step++) {
            Tensor l = ol.step(() -> {
                ol.zeroGrad();
                Tensor loss = Losses.binaryCrossEntropyWithLogits(ml.forward(local.get("x")), local.get("y01"));
                loss.backward();
                return loss;
            });
            Tensor d = od.step(() -> {
                od.zeroGrad();
                Tensor loss = Losses.binaryCrossEntropyWithLogits(md.forward(dist.tensor("x")), dist.tensor("y01"));
                loss.backward();
                return loss;
            });
            assertEquals(l.item(), d.item(), 1e-12, "loss at step " + step);
        }
        for (int i = 0; i < ml.parameters().size(); i++) {
            assertTrue(ml.parameters().get(i).allclose(md.parameters().get(i), 0, 1e-12), "parameter " + i);
        }
    }

    /** A module with a tensor field cannot be shipped: the error names it, on the driver. */
    static final class HoldsATensor extends Module {
        private final Tensor offset = Tensor.of(1.0, 2.0);

        @Override
        public Tensor forward(Tensor x) {
            return x.add(offset);
        }
    }

    @Test
    void aModuleThatCannotBeShippedIsNamed() {
        DistData dist = DistData.parallelize(SharedSpark.jsc(), 2, Map.of("y", Tensor.zeros(4, 2)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new HoldsATensor().forward(dist.tensor("y")));
        assertEquals("dev.sparkautograd.nn.DistModuleTest$HoldsATensor cannot be shipped to the executors: it holds a dev.sparkautograd.Tensor, "
                + "which is not serializable (register tensors with registerParameter; keep constants as double[])", e.getMessage());
    }
}
