package dev.sparkautograd;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Autograd.hvp (torch.autograd.functional.hvp) for local functions: against the Hessian, closed forms and finite differences. */
class HvpTest {

    /** One scalar function of x, at a point. */
    record Case(String name, Function<Tensor, Tensor> f, Tensor x) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final Tensor X = Tensor.randn(11, 7, 4);
    private static final Tensor Y01 = Tensor.rand(12, 7).gt(0.5).mul(1.0);

    private static Tensor labels3() {
        // rows 0..6 with classes 0,1,2,0,1,2,0 as one-hot rows
        double[] y = new double[7 * 3];
        for (int i = 0; i < 7; i++) y[i * 3 + i % 3] = 1;
        return Tensor.fromArray(y, 7, 3);
    }

    /** Logistic loss of the rows of X with weights x [4]: mean(softplus(Xw) - y Xw). */
    static Tensor logistic(Tensor w) {
        Tensor z = X.matmul(w);
        return z.softplus().sub(Y01.mul(z)).mean();
    }

    /** Softmax cross-entropy with weights x [4, 3]. */
    static Tensor softmaxCrossEntropy(Tensor w) {
        return labels3().mul(X.matmul(w).logSoftmax(1)).sum().neg().div(7);
    }

    /** A 2-layer tanh MLP with every parameter in one flat x: W1 [4, 5], b1 [5], w2 [5]; squared error against y. */
    static Tensor mlp(Tensor x) {
        Tensor w1 = x.slice(0, 0, 20).reshape(4, 5), b1 = x.slice(0, 20, 25), w2 = x.slice(0, 25, 30);
        Tensor out = X.matmul(w1).add(b1).tanh().matmul(w2);
        return out.sub(Y01).square().mean().mul(0.5);
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("cubic", t -> t.pow(3).sum(), Tensor.of(1, -2, 0.5)),
                new Case("coupled", t -> t.index(0).mul(t.index(1)).mul(t.index(2).exp()).add(t.sin().sum()), Tensor.of(0.3, -0.7, 0.2)),
                new Case("logistic", HvpTest::logistic, Tensor.randn(3, 4).mul(0.5)),
                new Case("softmax cross-entropy", HvpTest::softmaxCrossEntropy, Tensor.randn(4, 4, 3).mul(0.5)),
                new Case("tanh MLP", HvpTest::mlp, Tensor.randn(5, 30).mul(0.5)));
    }

    private static Tensor direction(Tensor x) {
        return Tensor.randn(99, x.shape());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void equalsTheHessianTimesV(Case c) {
        Tensor v = direction(c.x());
        List<Tensor> r = Autograd.hvp(c.f(), c.x(), v);
        int n = c.x().numel();
        Tensor expected = Autograd.hessian(c.f(), c.x()).reshape(n, n).matmul(v.reshape(n)).reshape(c.x().shape());
        assertArrayEquals(c.x().shape(), r.get(1).shape());
        assertTrue(r.get(1).allclose(expected, 1e-12, 1e-13), c + ": " + r.get(1) + " vs " + expected);
        assertEquals(c.f().apply(c.x()).item(), r.get(0).item(), 0.0);
        assertFalse(r.get(0).requiresGrad());
        assertFalse(r.get(1).requiresGrad());
    }

    /** gradgradcheck-style: H v against central differences of the gradient along v. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesFiniteDifferencesOfTheGradient(Case c) {
        Tensor v = direction(c.x());
        double eps = 1e-6;
        Tensor plus = gradient(c.f(), c.x().add(v.mul(eps))), minus = gradient(c.f(), c.x().sub(v.mul(eps)));
        Tensor numerical = plus.sub(minus).div(2 * eps);
        Tensor hv = Autograd.hvp(c.f(), c.x(), v).get(1);
        assertTrue(hv.allclose(numerical, 1e-5, 1e-7), c + ": " + hv + " vs " + numerical);
    }

    private static Tensor gradient(Function<Tensor, Tensor> f, Tensor at) {
        Tensor x = at.detach().clone().requiresGrad_(true);
        return Autograd.grad(f.apply(x), x);
    }

    @Test
    void closedForms() {
        // f = x^T A x / 2 + b.x with A symmetric: H v = A v
        Tensor a = Tensor.of(4, 1, 0, 1, 3, -1, 0, -1, 2).reshape(3, 3), b = Tensor.of(1, -1, 2);
        Tensor x = Tensor.of(0.5, 2, -1), v = Tensor.of(1, 0.5, -2);
        Tensor hv = Autograd.hvp(t -> t.dot(a.matmul(t)).mul(0.5).add(b.dot(t)), x, v).get(1);
        assertTrue(hv.allclose(a.matmul(v), 0, 1e-15), hv.toString());
        // f = sum exp(x): H = diag(exp(x))
        Tensor he = Autograd.hvp(t -> t.exp().sum(), x, v).get(1);
        assertTrue(he.allclose(x.exp().mul(v), 1e-15, 0), he.toString());
    }

    @Test
    void aFunctionThatDoesNotDependOnXOrOnlyLinearlyGivesZero() {
        Tensor x = Tensor.of(1, 2), v = Tensor.of(3, 4);
        List<Tensor> constant = Autograd.hvp(t -> Tensor.scalar(7), x, v);
        assertEquals(7.0, constant.get(0).item());
        assertTrue(constant.get(1).equal(Tensor.zeros(2)));
        List<Tensor> linear = Autograd.hvp(t -> t.mul(Tensor.of(2, -1)).sum(), x, v);
        assertEquals(0.0, linear.get(0).item());
        assertTrue(linear.get(1).equal(Tensor.zeros(2)));
    }

    @Test
    void leavesXAndItsGradientAlone() {
        Tensor x = Tensor.of(1, 2).requiresGrad_(true);
        Autograd.hvp(t -> t.pow(3).sum(), x, Tensor.of(1, 1));
        assertNull(x.grad());
        assertTrue(x.equal(Tensor.of(1, 2)));
    }

    @Test
    void badInputIsNamed() {
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> Autograd.hvp(t -> t.sum(), Tensor.zeros(2, 3), Tensor.zeros(3, 2)));
        assertEquals("hvp: v has invalid size: should be [2, 3] but got [3, 2]", shape.getMessage());
        IllegalArgumentException vector = assertThrows(IllegalArgumentException.class,
                () -> Autograd.hvp(t -> t.square(), Tensor.zeros(2), Tensor.zeros(2)));
        assertTrue(vector.getMessage().contains("single element") && vector.getMessage().contains("[2]"), vector.getMessage());
    }
}
