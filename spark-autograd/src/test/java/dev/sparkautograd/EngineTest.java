package dev.sparkautograd;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine's mechanics: depth, control flow, the functional API's edge cases, anomaly mode, threads. */
class EngineTest {

    @Test
    void chainOf100000OpsBackpropagatesIteratively() {
        Tensor x = Tensor.scalar(1).requiresGrad_(true);
        Tensor y = x;
        for (int i = 0; i < 100_000; i++) y = y.mul(1.00001);
        y.backward();
        assertEquals(Math.pow(1.00001, 100_000), x.grad().item(), 1e-9);
    }

    /** The seeds' control-flow function: loops and ifs on tensor values build the graph as they run. */
    static Tensor f(Tensor a) {
        Tensor b = a.mul(2);
        while (b.norm().item() < 1000) b = b.mul(2);
        return b.sum().item() > 0 ? b : b.mul(100);
    }

    @Test
    void gradientsThroughJavaControlFlow() {
        for (long seed = 0; seed < 20; seed++) {
            Tensor a = Tensor.randn(seed).requiresGrad_(true);
            Tensor d = f(a);
            d.backward();
            // f is linear in a with a piecewise constant scale, so grad = d / a.
            assertEquals(d.div(a).item(), a.grad().item(), 1e-9 * Math.abs(a.grad().item()));
            assertEquals(a.grad().eq(d.div(a)).item(), 1.0, "exact equality, as the seed checks");
        }
    }

    @Test
    void gradOfSeveralOutputsAndUnusedInputs() {
        Tensor x = Tensor.of(1, 2).requiresGrad_(true), u = Tensor.of(5).requiresGrad_(true);
        Tensor y1 = x.mul(x).sum(), y2 = x.mul(3).sum();
        List<Tensor> g = Autograd.grad(List.of(y1, y2), List.of(x, u), null, false, false, true);
        assertEquals("tensor([5., 7.])", g.get(0).toString());   // 2x + 3
        assertNull(g.get(1));
        assertNull(x.grad(), "Autograd.grad does not accumulate into leaves");
        Tensor z = x.mul(x).sum();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Autograd.grad(List.of(z), List.of(x, u), null, false, false, false));
        assertTrue(e.getMessage().contains("not have been used"), e.getMessage());
    }

    @Test
    void gradOfALeafRunsItsHooksButLeavesGradAlone() {
        Tensor x = Tensor.of(1, 2).requiresGrad_(true);
        x.registerHook(g -> g.mul(2));
        assertEquals("tensor([2., 2.])", Autograd.grad(x.sum(), x).toString());
        assertNull(x.grad());
    }

    @Test
    void gradOfAnIntermediate() {
        Tensor x = Tensor.of(1, 2).requiresGrad_(true);
        Tensor h = x.mul(2);
        Tensor y = h.pow(2).sum();
        assertEquals("tensor([4., 8.])", Autograd.grad(y, h).toString());  // 2h
    }

    @Test
    void anomalyModeNamesTheOpWhoseBackwardMadeNan() {
        Tensor x = Tensor.of(0, 1).requiresGrad_(true);
        try (Autograd.Scope s = Autograd.detectAnomaly()) {
            Tensor y = x.sqrt().mul(0);   // forward is fine: 0 * sqrt(0) = 0
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> y.sum().backward());
            // MulBackward0 passes 0 to sqrt; SqrtBackward0 computes 0 / (2 * 0) = NaN.
            assertEquals("Function 'SqrtBackward0' returned nan values in its 0th output.", e.getMessage());
            assertTrue(e.getCause().getMessage().contains("SqrtBackward0"));
        }
        x.sqrt().mul(0).sum().backward();   // outside anomaly mode the NaN goes through
        assertTrue(Double.isNaN(x.grad().get(0)));
    }

    @Test
    void retainGraphAllowsASecondBackward() {
        Tensor x = Tensor.of(1, 2).requiresGrad_(true);
        Tensor y = x.exp().sum();
        y.backward(Tensor.scalar(1), true);
        y.backward();
        assertTrue(x.grad().allclose(Tensor.of(1, 2).exp().mul(2), 1e-12, 0));
        assertThrows(IllegalStateException.class, y::backward);
    }

    @Test
    void inPlaceRules() {
        Tensor x = Tensor.of(1, 2).requiresGrad_(true);
        assertThrows(IllegalStateException.class, x::zero_);
        try (Autograd.Scope s = Autograd.noGrad()) {
            x.sub_(Tensor.of(1, 1));   // an optimizer step
        }
        assertEquals("tensor([0., 1.], requires_grad=True)", x.toString());
        Tensor d = x.detach();
        int before = d.version[0];
        d.fill_(7);
        assertEquals(before + 1, x.version[0], "detach shares the version counter");
        assertEquals(7.0, x.get(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3).add_(Tensor.zeros(2, 3)));
        assertTrue(e.getMessage().contains("[3]") && e.getMessage().contains("[2, 3]"));
    }

    @Test
    void copyAndFillInsideTheGraph() {
        Tensor w = Tensor.of(1, 2).requiresGrad_(true);
        Tensor buf = Tensor.zeros(2);
        buf.copy_(w.mul(3));           // a plain buffer becomes part of the graph
        buf.sum().backward();
        assertEquals("tensor([3., 3.])", w.grad().toString());
        Tensor y = w.mul(2);
        y.zero_();
        assertEquals("ZeroBackward0", y.gradFnName());
        w.grad().zero_();
        y.add(w).sum().backward();
        assertEquals("tensor([1., 1.])", w.grad().toString());
    }

    @Test
    void independentGraphsOnManyThreads() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Double>> results = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                final int k = t;
                results.add(pool.submit(() -> {
                    Tensor x = Tensor.full(k, 3).requiresGrad_(true);
                    try (Autograd.Scope s = k % 2 == 0 ? Autograd.enableGrad() : Autograd.noGrad()) {
                        if (k % 2 == 1) return -1.0;
                        x.pow(2).sum().backward();
                    }
                    return x.grad().sum().item();
                }));
            }
            for (int t = 0; t < 16; t++) assertEquals(t % 2 == 0 ? 6.0 * t : -1.0, results.get(t).get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void jacobianOfAVectorFunction() {
        Tensor j = Autograd.jacobian(t -> Tensor.cat(List.of(t.mul(t).sum(0, true), t), 0), Tensor.of(1, 2));
        assertEquals("tensor([[2., 4.],\n        [1., 0.],\n        [0., 1.]])", j.toString());
    }
}
