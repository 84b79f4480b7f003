package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Second order through distributed reductions: Autograd.hvp of a loss that reduces a DistTensor, and
 * grad(..., createGraph=true) whose result's backward runs a Hessian-vector product job, against the local
 * engine's Hessian of the same loss on the same rows.
 */
class DistHvpTest {

    private static final int ROWS = 37;
    private static final Tensor X = Tensor.randn(31, ROWS, 4);
    private static final Tensor Y01 = Tensor.rand(32, ROWS).gt(0.5).mul(1.0);
    private static final Tensor ONE_HOT = oneHot();

    private static Tensor oneHot() {
        double[] y = new double[ROWS * 3];
        Tensor c = Tensor.rand(33, ROWS).mul(3);
        for (int i = 0; i < ROWS; i++) y[i * 3 + Math.min(2, (int) c.get(i))] = 1;
        return Tensor.fromArray(y, ROWS, 3);
    }

    private static DistData data;

    /** Three partitions of blocks of 5 rows: several blocks per partition, a short last one. */
    private static synchronized DistData data() {
        if (data == null) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("x", X);
            m.put("y", Y01);
            m.put("onehot", ONE_HOT);
            data = DistData.parallelize(SharedSpark.jsc(), 3, m, DistData.options().blockRows(5));
        }
        return data;
    }

    /** One loss, written once over the DistTensor and once over the local rows, of one flat parameter x. */
    record Model(String name, Function<Tensor, Tensor> dist, Function<Tensor, Tensor> local, Tensor x) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Tensor w1(Tensor x) { return x.slice(0, 0, 20).reshape(4, 5); }
    private static Tensor b1(Tensor x) { return x.slice(0, 20, 25); }
    private static Tensor w2(Tensor x) { return x.slice(0, 25, 30); }

    static Stream<Model> models() {
        return Stream.of(
                // logistic loss plus a local L2 term
                new Model("logistic",
                        w -> {
                            DistTensor z = data().tensor("x").matmul(w);
                            return z.softplus().sub(data().tensor("y").mul(z)).mean().add(w.square().sum().mul(0.05));
                        },
                        w -> {
                            Tensor z = X.matmul(w);
                            return z.softplus().sub(Y01.mul(z)).mean().add(w.square().sum().mul(0.05));
                        },
                        Tensor.randn(34, 4).mul(0.5)),
                // wholly fused (matmul, then a row program): the product runs fused too (RowProduct)
                new Model("logistic with bias",
                        x -> {
                            DistTensor z = data().tensor("x").matmul(x.slice(0, 0, 4)).add(x.slice(0, 4, 5).reshape());
                            return z.softplus().sub(data().tensor("y").mul(z)).mean();
                        },
                        x -> {
                            Tensor z = X.matmul(x.slice(0, 0, 4)).add(x.slice(0, 4, 5).reshape());
                            return z.softplus().sub(Y01.mul(z)).mean();
                        },
                        Tensor.randn(38, 5).mul(0.5)),
                new Model("sigmoid squared error",
                        x -> data().tensor("x").matmul(x.slice(0, 0, 4)).mul(x.slice(0, 4, 5).reshape()).sigmoid()
                                .sub(data().tensor("y")).square().mean().mul(0.5),
                        x -> X.matmul(x.slice(0, 0, 4)).mul(x.slice(0, 4, 5).reshape()).sigmoid().sub(Y01).square().mean().mul(0.5),
                        Tensor.randn(39, 5).mul(0.5)),
                new Model("softmax cross-entropy",
                        w -> data().tensor("x").matmul(w).logSoftmax(1).mul(data().tensor("onehot")).sum().neg().div(ROWS),
                        w -> X.matmul(w).logSoftmax(1).mul(ONE_HOT).sum().neg().div(ROWS),
                        Tensor.randn(35, 4, 3).mul(0.5)),
                // a 2-layer tanh MLP through mapBlocks with three parameter tensors (slices of x)
                new Model("tanh MLP",
                        x -> data().tensor("x")
                                .mapBlocks(List.of(w1(x), b1(x), w2(x)), (blk, p) -> blk.matmul(p.get(0)).add(p.get(1)).tanh().matmul(p.get(2)))
                                .sub(data().tensor("y")).square().mean().mul(0.5),
                        x -> X.matmul(w1(x)).add(b1(x)).tanh().matmul(w2(x)).sub(Y01).square().mean().mul(0.5),
                        Tensor.randn(36, 30).mul(0.5)));
    }

    private static Tensor direction(Tensor x) {
        return Tensor.randn(37, x.shape());
    }

    private static Tensor localHessianTimes(Model m, Tensor v) {
        int n = m.x().numel();
        return Autograd.hessian(m.local(), m.x()).reshape(n, n).matmul(v.reshape(n)).reshape(m.x().shape());
    }

    private static void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double scale = Math.max(1, expected.abs().max().item());
        double err = actual.sub(expected).abs().max().item();
        assertTrue(err <= tol * scale, what + ": off by " + err + "\n expected " + expected + "\n actual   " + actual);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void hvpOfADistributedLossEqualsTheLocalHessianTimesV(Model m) {
        Tensor v = direction(m.x());
        List<Tensor> r = Autograd.hvp(m.dist(), m.x(), v);
        assertEquals(m.local().apply(m.x()).item(), r.get(0).item(), 1e-12);
        assertClose(localHessianTimes(m, v), r.get(1), 1e-10, m.name());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void oneJobForValueAndGradientAndOneForTheProduct(Model m) {
        Tensor v = direction(m.x());
        assertEquals(2, DistBehaviourTest.jobsDuring(() -> Autograd.hvp(m.dist(), m.x(), v)), m.name());
        Tensor x = m.x().detach().clone().requiresGrad_(true);
        Tensor[] g = new Tensor[1];
        assertEquals(1, DistBehaviourTest.jobsDuring(() -> g[0] = Autograd.grad(List.of(m.dist().apply(x)), List.of(x), null, true, true, false).get(0)));
        assertEquals(1, DistBehaviourTest.jobsDuring(() -> Autograd.grad(g[0].mul(v).sum(), x)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void createGraphGivesADifferentiableGradient(Model m) {
        Tensor x = m.x().detach().clone().requiresGrad_(true);
        Tensor g = Autograd.grad(List.of(m.dist().apply(x)), List.of(x), null, true, true, false).get(0);
        assertTrue(g.requiresGrad(), "the gradient has a grad_fn: " + g.gradFnName());
        Tensor xl = m.x().detach().clone().requiresGrad_(true);
        assertClose(Autograd.grad(m.local().apply(xl), xl), g.detach(), 1e-12, m.name() + " gradient");
        Tensor v = direction(m.x());
        Tensor hv = Autograd.grad(g.mul(v).sum(), x);
        assertClose(localHessianTimes(m, v), hv, 1e-10, m.name());
        // the same bits as Autograd.hvp, run after run
        Tensor again = Autograd.hvp(m.dist(), m.x(), v).get(1);
        assertTrue(again.equal(Autograd.hvp(m.dist(), m.x(), v).get(1)), "bitwise equal across runs");
        assertTrue(again.equal(hv), "hvp and grad(g . v) run the same product job");
    }

    /** The fused product's job names, by model (null: the product replays blocks through the engine). */
    private static final Map<String, String> FUSED_PRODUCT = Map.of(
            "logistic", "fused product: matmul; row program: softplus, mul, sub]",
            "logistic with bias", "fused product: matmul; row program: add, softplus, mul, sub]",
            "sigmoid squared error", "fused product: matmul; row program: mul, sigmoid, sub, square]");

    /**
     * A wholly fused first-order path (fused matmul and a row program) gives a fused product job, named so; with the
     * row program switched off the engine replays the blocks. Both equal the local hessian . v; the fused one to the bit
     * run after run.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void theProductRunsFusedWhereTheGradientDoes(Model m) {
        Tensor v = direction(m.x());
        Tensor[] fused = new Tensor[2];
        List<String> names = dev.sparkautograd.testing.StageNames.during(() -> {
            fused[0] = Autograd.hvp(m.dist(), m.x(), v).get(1);
            fused[1] = Autograd.hvp(m.dist(), m.x(), v).get(1);
        });
        List<String> products = dev.sparkautograd.testing.StageNames.mentioning(names, "(Hessian-vector product)");
        assertEquals(2, products.size(), names.toString());
        String expected = FUSED_PRODUCT.get(m.name());
        for (String n : products) {
            if (expected == null) assertTrue(!n.contains("fused product"), n);
            else assertTrue(n.endsWith(expected), n);
        }
        assertTrue(fused[0].equal(fused[1]), "bitwise equal across runs");
        Tensor local = localHessianTimes(m, v);
        assertClose(local, fused[0], 1e-10, m.name());
        org.apache.spark.api.java.JavaSparkContext sc = SharedSpark.jsc();
        Tensor[] engine = new Tensor[1];
        sc.setLocalProperty(DistTensor.FUSE_POINTWISE, "false");
        List<String> off;
        try {
            off = dev.sparkautograd.testing.StageNames.during(() -> engine[0] = Autograd.hvp(m.dist(), m.x(), v).get(1));
        } finally {
            sc.setLocalProperty(DistTensor.FUSE_POINTWISE, null);
        }
        assertEquals(List.of(), dev.sparkautograd.testing.StageNames.mentioning(off, "fused product"));
        assertClose(local, engine[0], 1e-10, m.name() + " through the engine");
        assertClose(engine[0], fused[0], 1e-12, m.name() + " fused vs engine");
    }

    /** Autograd.hessian of a distributed loss: one product job per column, the local Hessian. */
    @Test
    void hessianOfADistributedLoss() {
        Model m = models().findFirst().orElseThrow();
        Tensor[] h = new Tensor[1];
        assertEquals(1 + m.x().numel(), DistBehaviourTest.jobsDuring(() -> h[0] = Autograd.hessian(m.dist(), m.x())));
        assertClose(Autograd.hessian(m.local(), m.x()), h[0], 1e-10, "hessian");
    }

    /** gradgradcheck-style: the product against central differences of the distributed gradient along v. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void matchesFiniteDifferencesOfTheDistributedGradient(Model m) {
        Tensor v = direction(m.x());
        double eps = 1e-6;
        Tensor plus = distGradient(m, m.x().add(v.mul(eps))), minus = distGradient(m, m.x().sub(v.mul(eps)));
        Tensor numerical = plus.sub(minus).div(2 * eps);
        assertClose(numerical, Autograd.hvp(m.dist(), m.x(), v).get(1), 1e-6, m.name());
    }

    private static Tensor distGradient(Model m, Tensor at) {
        Tensor x = at.detach().clone().requiresGrad_(true);
        return Autograd.grad(m.dist().apply(x), x);
    }

    /** Several leaf parameter tensors and a local L2 term on two of them, differentiated twice through one reduction. */
    @Test
    void severalParameterTensorsMixedWithALocalPenalty() {
        Tensor x0 = Tensor.randn(41, 30).mul(0.5);
        Tensor w1 = w1(x0).detach().clone().requiresGrad_(true), b1 = b1(x0).detach().clone().requiresGrad_(true),
                w2 = w2(x0).detach().clone().requiresGrad_(true);
        List<Tensor> params = List.of(w1, b1, w2);
        Tensor loss = data().tensor("x")
                .mapBlocks(params, (blk, p) -> blk.matmul(p.get(0)).add(p.get(1)).tanh().matmul(p.get(2)))
                .sub(data().tensor("y")).square().mean().mul(0.5)
                .add(w1.square().sum().add(w2.square().sum()).mul(0.1));
        List<Tensor> g = Autograd.grad(List.of(loss), params, null, true, true, false);
        Tensor v = Tensor.randn(42, 30);
        Tensor gv = g.get(0).mul(w1(v)).sum().add(g.get(1).mul(b1(v)).sum()).add(g.get(2).mul(w2(v)).sum());
        List<Tensor> hv = Autograd.grad(List.of(gv), params, null, false, false, false);
        Tensor flat = Tensor.cat(List.of(hv.get(0).reshape(20), hv.get(1), hv.get(2)), 0);
        Function<Tensor, Tensor> local = x -> X.matmul(w1(x)).add(b1(x)).tanh().matmul(w2(x)).sub(Y01).square().mean().mul(0.5)
                .add(w1(x).square().sum().add(w2(x).square().sum()).mul(0.1));
        Tensor expected = Autograd.hessian(local, x0).matmul(v);
        assertClose(expected, flat, 1e-10, "three parameter tensors");
    }

    @Test
    void aNonScalarReductionWithCreateGraphIsAClearError() {
        Tensor w = Tensor.randn(43, 4, 3).requiresGrad_(true);
        Tensor loss = data().tensor("x").matmul(w).sum(0, false).square().sum();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Autograd.grad(List.of(loss), List.of(w), null, true, true, false));
        assertTrue(e.getMessage().contains("DistSumBackward1") && e.getMessage().contains("createGraph"), e.getMessage());
        // without createGraph it is an ordinary gradient
        Tensor g = Autograd.grad(List.of(loss), List.of(w), null, false, false, false).get(0);
        Tensor wl = w.detach().clone().requiresGrad_(true);
        assertClose(Autograd.grad(X.matmul(wl).sum(0, false).square().sum(), wl), g, 1e-12, "first order");
    }

    @Test
    void theProductIsDifferentiableOnce() {
        Model m = models().findFirst().orElseThrow();
        Tensor x = m.x().detach().clone().requiresGrad_(true);
        Tensor g = Autograd.grad(List.of(m.dist().apply(x)), List.of(x), null, true, true, false).get(0);
        Tensor hv = Autograd.grad(List.of(g.mul(direction(x)).sum()), List.of(x), null, true, true, false).get(0);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Autograd.grad(hv.sum(), x));
        assertTrue(e.getMessage().contains("third"), e.getMessage());
    }

    /** NewtonCG with one loss closure over a distributed loss: one job per evaluation and one per CG iteration, the local optimum. */
    @Test
    void newtonCGOnADistributedLoss() {
        double[][] solutions = new double[2][];
        int[] jobs = new int[1];
        dev.sparkautograd.optim.NewtonCG.Result[] result = new dev.sparkautograd.optim.NewtonCG.Result[1];
        for (int run = 0; run < 2; run++) {
            boolean distributed = run == 0;
            Tensor w = Tensor.zeros(4).requiresGrad_(true), bias = Tensor.scalar(0).requiresGrad_(true);
            java.util.function.Supplier<Tensor> loss = () -> {
                Tensor penalty = w.square().sum().mul(0.05);
                if (!distributed) {
                    Tensor z = X.matmul(w).add(bias);
                    return z.softplus().sub(Y01.mul(z)).mean().add(penalty);
                }
                DistTensor z = data().tensor("x").matmul(w).add(bias);
                return z.softplus().sub(data().tensor("y").mul(z)).mean().add(penalty);
            };
            dev.sparkautograd.optim.NewtonCG opt = new dev.sparkautograd.optim.NewtonCG(List.of(w, bias),
                    dev.sparkautograd.optim.NewtonCG.Options.defaults().tolerance(1e-9));
            if (distributed) jobs[0] = DistBehaviourTest.jobsDuring(() -> result[0] = opt.step(loss));
            else result[0] = opt.step(loss);
            assertEquals(dev.sparkautograd.optim.NewtonCG.StopReason.GRADIENT_TOLERANCE, result[0].reason(), result[0].toString());
            if (distributed) {
                assertEquals(result[0].evaluations() + result[0].cgIterations(), jobs[0], result[0].toString());
            }
            solutions[run] = new double[] {w.get(0), w.get(1), w.get(2), w.get(3), bias.item()};
        }
        for (int i = 0; i < 5; i++) assertEquals(solutions[1][i], solutions[0][i], 1e-8);
    }
}
