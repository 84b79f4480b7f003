package dev.sparkautograd;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The golden table: values, printed strings and error texts as PyTorch gives them for the same
 * program (each case notes the closed form or the PyTorch rule it follows).
 */
class GoldenTest {

    private static Tensor leaf(double... v) {
        return Tensor.of(v).requiresGrad_(true);
    }

    private static Tensor leaf2(int rows, double... v) {
        return Tensor.fromArray(v, rows, v.length / rows).requiresGrad_(true);
    }

    @Test
    void broadcastBackwardOf2x3Times3() {
        Tensor a = leaf2(2, 1, 2, 3, 4, 5, 6), b = leaf(1, 2, 3);
        Tensor y = a.mul(b);
        assertEquals("tensor([[ 1.,  4.,  9.],\n        [ 4., 10., 18.]], grad_fn=<MulBackward0>)", y.toString());
        y.sum().backward();
        // d/da = b broadcast over rows; d/db = column sums of a.
        assertEquals("tensor([[1., 2., 3.],\n        [1., 2., 3.]])", a.grad().toString());
        assertEquals("tensor([5., 7., 9.])", b.grad().toString());
    }

    @Test
    void broadcastBackwardOf2x1Plus1x3() {
        Tensor a = leaf2(2, 1, 2), b = leaf2(1, 10, 20, 30);
        Tensor y = a.add(b);
        assertEquals("tensor([[11., 21., 31.],\n        [12., 22., 32.]], grad_fn=<AddBackward0>)", y.toString());
        y.sum().backward();
        assertEquals("tensor([[3.],\n        [3.]])", a.grad().toString());
        assertEquals("tensor([[2., 2., 2.]])", b.grad().toString());
    }

    @Test
    void diamond() {
        // y = (2x)(x^2) = 2x^3, dy/dx = 6x^2 = 54 at 3: both paths meet at x.
        Tensor x = Tensor.scalar(3).requiresGrad_(true);
        Tensor y = x.mul(2).mul(x.mul(x));
        y.backward();
        assertEquals("tensor(54.)", x.grad().toString());
        assertEquals("tensor(54., grad_fn=<MulBackward0>)", y.toString());
    }

    @Test
    void tensorUsedTwice() {
        Tensor x = leaf(1, 2);
        x.mul(x).add(x).sum().backward();
        assertEquals("tensor([3., 5.])", x.grad().toString());  // 2x + 1
    }

    @Test
    void detachMidGraph() {
        Tensor x = leaf(0, 1, 2, 3);
        Tensor y = x.mul(x);
        Tensor u = y.detach();
        assertFalse(u.requiresGrad());
        Tensor z = u.mul(x);
        z.sum().backward();
        assertTrue(x.grad().eq(u).all().item() == 1);   // u acts as a constant
        assertEquals("tensor([0., 1., 4., 9.])", x.grad().toString());
        x.grad().zero_();
        y.sum().backward();                               // y's own graph is intact
        assertEquals("tensor([0., 2., 4., 6.])", x.grad().toString());
        // detach shares storage and the version counter.
        u.add_(1);
        assertEquals("tensor([ 1.,  2.,  5., 10.], grad_fn=<MulBackward0>)", y.toString());
    }

    @Test
    void accumulationUntilZero() {
        Tensor x = leaf(0, 1, 2, 3);
        x.dot(x).mul(2).backward();
        x.sum().backward();
        assertEquals("tensor([ 1.,  5.,  9., 13.])", x.grad().toString());
        assertEquals("tensor([0., 0., 0., 0.])", x.grad().zero_().toString());
        x.sum().backward();
        assertEquals("tensor([1., 1., 1., 1.])", x.grad().toString());
    }

    @Test
    void hooksChangeGradients() {
        Tensor x = leaf(1, 2);
        List<String> seen = new ArrayList<>();
        Hook h = x.registerHook(g -> {
            seen.add(g.toString());
            return g.mul(2);
        });
        // A leaf's hook sees the SUMMED gradient once, even though x is used twice.
        x.mul(3).add(x).sum().backward();
        assertEquals(List.of("tensor([4., 4.])"), seen);
        assertEquals("tensor([8., 8.])", x.grad().toString());
        h.remove();
        x.grad().zero_();
        x.sum().backward();
        assertEquals("tensor([1., 1.])", x.grad().toString());

        // A non-leaf's hook replaces the gradient flowing through it; returning null keeps it.
        Tensor w = leaf(1, 2);
        Tensor y = w.mul(2);
        AtomicInteger calls = new AtomicInteger();
        y.registerHook(g -> g.mul(10));
        y.registerHook(g -> {
            calls.incrementAndGet();
            return null;
        });
        y.retainGrad();
        y.sum().backward();
        assertEquals("tensor([20., 20.])", w.grad().toString());
        assertEquals("tensor([10., 10.])", y.grad().toString()); // retain_grad sees the hooked gradient
        assertEquals(1, calls.get());
    }

    @Test
    void noGradRegions() {
        Tensor x = leaf(1, 2);
        Tensor y;
        try (Autograd.Scope s = Autograd.noGrad()) {
            y = x.mul(2);
            assertFalse(Autograd.isGradEnabled());
            try (Autograd.Scope e = Autograd.enableGrad()) {
                Tensor z = x.mul(2);
                assertEquals("tensor([2., 4.], grad_fn=<MulBackward0>)", z.toString());
            }
            assertFalse(Autograd.isGradEnabled());
            x.mul_(1);   // in place on a leaf is allowed under no-grad
        }
        assertTrue(Autograd.isGradEnabled());
        assertEquals("tensor([2., 4.])", y.toString());
        assertFalse(y.requiresGrad());
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("does not require grad"), e.getMessage());
    }

    @Test
    void gradModeIsPerThread() throws Exception {
        try (Autograd.Scope s = Autograd.noGrad()) {
            boolean[] other = new boolean[1];
            Thread t = new Thread(() -> other[0] = Autograd.isGradEnabled());
            t.start();
            t.join();
            assertTrue(other[0]);
            assertFalse(Autograd.isGradEnabled());
        }
    }

    @Test
    void higherOrder() {
        Tensor x = Tensor.scalar(2).requiresGrad_(true);
        Tensor y = x.pow(3);
        Tensor d1 = Autograd.grad(List.of(y), List.of(x), null, true, true, false).get(0);
        Tensor d2 = Autograd.grad(List.of(d1), List.of(x), null, true, true, false).get(0);
        Tensor d3 = Autograd.grad(List.of(d2), List.of(x), null, false, false, false).get(0);
        assertEquals("tensor(12., grad_fn=<MulBackward0>)", d1.toString()); // 3x^2
        assertEquals(12.0, d2.item());                                      // 6x
        assertEquals("tensor(6.)", d3.toString());                          // 6

        // Hessian-vector product of sum(x^3): H = diag(6x), so Hv = 6 x v.
        Tensor p = leaf(1, 2);
        Tensor g = Autograd.grad(List.of(p.pow(3).sum()), List.of(p), null, true, true, false).get(0);
        Tensor hv = Autograd.grad(List.of(g), List.of(p), List.of(Tensor.of(1, 1)), false, false, false).get(0);
        assertEquals("tensor([ 6., 12.])", hv.toString());
        assertEquals("tensor([[ 6.,  0.],\n        [ 0., 12.]])", Autograd.hessian(t -> t.pow(3).sum(), Tensor.of(1, 2)).toString());
        // J of x^3 is diag(3x^2) = diag(3, 12): J v and v^T J for v = (1, 0).
        assertEquals("tensor([3., 0.])", Autograd.jvp(t -> t.pow(3), Tensor.of(1, 2), Tensor.of(1, 0)).get(1).toString());
        assertEquals("tensor([ 0., 12.])", Autograd.vjp(t -> t.pow(3), Tensor.of(1, 2), Tensor.of(0, 1)).get(1).toString());
        // createGraph backward accumulates a grad that itself has a graph.
        Tensor q = Tensor.scalar(3).requiresGrad_(true);
        q.pow(2).backward(Tensor.scalar(1), true, true);
        assertEquals("tensor(6., grad_fn=<MulBackward0>)", q.grad().toString());
    }

    @Test
    void tiesAndKinks() {
        Tensor x = leaf(1, 3, 3);
        x.max().backward();
        assertEquals("tensor([0.0000, 0.5000, 0.5000])", x.grad().toString());   // split evenly
        Tensor m = leaf(2, 2, 5);
        m.min().backward();
        assertArrayEquals(new double[] {0.5, 0.5, 0}, m.grad().toArray());

        Tensor a = leaf(1, 2), b = leaf(1, 3);
        a.maximum(b).sum().backward();
        assertEquals("tensor([0.5000, 0.0000])", a.grad().toString());   // a tie gives half to each side
        assertEquals("tensor([0.5000, 1.0000])", b.grad().toString());

        Tensor z = leaf(-1, 0, 2);
        z.abs().sum().backward();
        assertEquals("tensor([-1.,  0.,  1.])", z.grad().toString());     // abs'(0) = 0
        z.grad().zero_();
        z.relu().sum().backward();
        assertEquals("tensor([0., 0., 1.])", z.grad().toString());        // relu'(0) = 0
        Tensor c = leaf(0, 1, 2, 3);
        c.clamp(0, 2).sum().backward();
        assertEquals("tensor([1., 1., 1., 0.])", c.grad().toString());    // 1 at both bounds
    }

    @Test
    void infAndNan() {
        Tensor x = leaf(0, 4);
        x.sqrt().sum().backward();
        assertEquals("tensor([   inf, 0.2500])", x.grad().toString());   // 1/(2 sqrt 0)
        Tensor y = leaf(0, 1);
        Tensor ly = y.log();
        assertEquals("tensor([-inf, 0.], grad_fn=<LogBackward0>)", ly.toString());
        ly.sum().backward();
        assertEquals("tensor([inf, 1.])", y.grad().toString());
        Tensor d = leaf(1, -1);
        Tensor q = Tensor.scalar(1).div(d.sub(Tensor.of(1, -1)));
        assertEquals("tensor([inf, inf], grad_fn=<DivBackward0>)", q.toString());   // 1/0 and 1/(-0)

        // where: the gradient goes only to the chosen side, but NaN from the other side's backward leaks.
        Tensor w = leaf(-1, 4);
        Tensor.where(w.gt(0), w.sqrt(), Tensor.scalar(0)).sum().backward();
        assertEquals("tensor([   nan, 0.2500])", w.grad().toString());
    }

    @Test
    void errorTexts() {
        Tensor x = leaf(1, 2, 3);
        IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class, () -> x.mul(2).backward());
        assertTrue(e1.getMessage().contains("grad can be implicitly created only for scalar outputs"));

        Tensor y = x.dot(x).mul(2);
        y.backward();
        IllegalStateException e2 = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e2.getMessage().contains("backward through the graph a second time"));
        Tensor s = x.sum();
        s.backward();
        s.backward(); // SumBackward0 saved nothing: PyTorch allows it

        IllegalStateException e3 = assertThrows(IllegalStateException.class, () -> Tensor.of(1, 2).sum().backward());
        assertTrue(e3.getMessage().contains("does not require grad"));

        Tensor a = x.mul(2);
        Tensor b = a.exp();          // ExpBackward0 saves its output b
        b.add_(1);
        IllegalStateException e4 = assertThrows(IllegalStateException.class, () -> b.sum().backward());
        assertTrue(e4.getMessage().contains("modified by an inplace operation"), e4.getMessage());
        assertTrue(e4.getMessage().contains("is at version 1; expected version 0"), e4.getMessage());

        IllegalStateException e5 = assertThrows(IllegalStateException.class, () -> x.add_(1));
        assertTrue(e5.getMessage().contains("leaf"));

        IllegalArgumentException e6 = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3, 4).add(Tensor.zeros(5)));
        assertTrue(e6.getMessage().contains("[3, 4]") && e6.getMessage().contains("[5]"), e6.getMessage());
        IllegalArgumentException e7 = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3, 4).matmul(Tensor.zeros(5, 2)));
        assertTrue(e7.getMessage().contains("[3, 4]") && e7.getMessage().contains("[5, 2]"), e7.getMessage());
        assertThrows(IllegalStateException.class, () -> Tensor.of(1, 2).item());
    }

    @Test
    void backwardWithGradientAndRetainGraph() {
        Tensor x = leaf(0, 1, 2, 3);
        Tensor y = x.mul(x);
        y.backward(Tensor.ones(4), true);
        y.backward(Tensor.of(1, 0, 0, 1));
        assertEquals("tensor([ 0.,  2.,  4., 12.])", x.grad().toString());   // 2x + (1,0,0,1) * 2x
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.mul(x).backward(Tensor.ones(3)));
        assertTrue(e.getMessage().contains("[3]") && e.getMessage().contains("[4]"));
    }

    @Test
    void retainGradAndNonLeafGrad() {
        Tensor x = leaf(1, 2);
        Tensor y = x.mul(3);
        Tensor z = y.mul(y).sum();
        y.retainGrad();
        z.backward();
        assertEquals("tensor([ 6., 12.])", y.grad().toString()); // 2y
        assertNull(z.grad());                                     // not retained
        assertEquals("tensor([18., 36.])", x.grad().toString());
        assertFalse(y.isLeaf());
        assertNull(x.gradFnName());
        assertEquals("SumBackward0", z.gradFnName());
    }

    @Test
    void inPlaceOnNonLeafIsRecorded() {
        Tensor x = leaf(1, 2);
        Tensor y = x.mul(2);
        y.add_(1);                        // history rebased: y = 2x + 1
        assertEquals("tensor([3., 5.], grad_fn=<AddBackward0>)", y.toString());
        y.mul_(Tensor.of(3, 5));          // the old y is saved only if the constant needed a gradient
        y.sum().backward();
        assertEquals("tensor([ 6., 10.])", x.grad().toString());  // 2 * (3, 5)
        // A detached alias shares the version counter, so PyTorch's error follows.
        Tensor w = x.mul(1);
        w.mul_(w.detach());
        assertThrows(IllegalStateException.class, () -> w.sum().backward());
    }
}
