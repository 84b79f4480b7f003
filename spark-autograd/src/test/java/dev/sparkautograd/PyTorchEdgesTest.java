package dev.sparkautograd;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One regression test per class of PyTorch disagreement found by the differential test (issue 11), each
 * with what PyTorch 1.13 (float64) prints for the same program; TorchGoldenReplayTest covers the classes
 * at large.
 */
class PyTorchEdgesTest {

    /** A program and PyTorch's printed result. */
    record Case(String name, Supplier<Object> ours, String torch) {}

    private static final double INF = Double.POSITIVE_INFINITY, NAN = Double.NaN;

    private static Tensor leaf(double... v) {
        return Tensor.of(v).requiresGrad_(true);
    }

    /** The gradient of the (scalar) {@code f(x)} with respect to {@code x = leaf(v)}. */
    private static Supplier<Object> grad(Function<Tensor, Tensor> f, double... v) {
        return () -> {
            Tensor x = leaf(v);
            f.apply(x).backward();
            return x.grad();
        };
    }

    /** The message of the exception {@code f} throws. */
    private static Supplier<Object> error(Supplier<Object> f) {
        return () -> {
            try {
                return "no error: " + f.get();
            } catch (RuntimeException e) {
                return e.getClass().getSimpleName() + ": " + e.getMessage();
            }
        };
    }

    static List<Case> cases() {
        return List.of(
                // 1. an inf/NaN upstream gradient meets a 0 mask: PyTorch selects, it does not multiply
                new Case("1 relu then sqrt", grad(x -> x.relu().sqrt().sum(), -1, 4), "tensor([0.0000, 0.2500])"),
                new Case("1 clamp then sqrt", grad(x -> x.clamp(0, 1).sqrt().sum(), -1, 4), "tensor([0., 0.])"),
                new Case("1 min then log", grad(x -> x.min().log(), 0, 1), "tensor([inf, 0.])"),
                new Case("1 max then log", grad(x -> x.max().neg().log(), -1, 0), "tensor([0., inf])"),
                new Case("1 maximum's loser", () -> {
                    Tensor x = leaf(0), y = leaf(-1);
                    x.maximum(y).sqrt().sum().backward();
                    return x.grad() + " " + y.grad();
                }, "tensor([inf]) tensor([0.])"),
                new Case("1 minimum's loser", () -> {
                    Tensor x = leaf(0), y = leaf(1);
                    x.minimum(y).neg().sqrt().sum().backward();
                    return x.grad() + " " + y.grad();
                }, "tensor([inf]) tensor([0.])"),
                // 2. gradients at a NaN input
                new Case("2 relu at NaN (threshold_backward)", grad(x -> x.relu().sum(), NAN, 1), "tensor([1., 1.])"),
                new Case("2 abs at NaN (sgn(nan) = 0)", grad(x -> x.abs().sum(), NAN), "tensor([0.])"),
                // 3. where PyTorch does not mask
                new Case("3 norm at 0", grad(x -> {
                    Tensor n = x.norm();
                    return n.div(n);
                }, 0, 0), "tensor([nan, nan])"),
                new Case("3 pow's exponent gradient at base 0", () -> {
                    Tensor x = leaf(0), y = leaf(0);
                    x.pow(y).sub(2).sqrt().sum().backward();
                    return y.grad();
                }, "tensor([nan])"),
                new Case("3 second derivative of 0^y in y", () -> {
                    Tensor y = leaf(0);
                    Tensor d = Autograd.gradWithGraph(Tensor.of(0).pow(y).sum(), y);
                    return d.detach() + " " + Autograd.grad(d.sum(), y);
                }, "tensor([0.]) tensor([nan])"),
                // 4. pow's forward: C's rules, and exponents +-0.5 of pow(double) as sqrt / rsqrt
                new Case("4 pow at base +-1, exponent inf/NaN", () -> Tensor.of(1, 1, -1).pow(Tensor.of(NAN, INF, INF)), "tensor([1., 1., 1.])"),
                new Case("4 pow(double) at base 1, exponent NaN", () -> Tensor.of(1, -1).pow(NAN), "tensor([1., nan])"),
                new Case("4 pow(-0., -0.5) as rsqrt", () -> Tensor.of(-INF, -0.0, INF).pow(-0.5), "tensor([nan, -inf, 0.])"),
                new Case("4 pow(-inf, 0.5) as sqrt", () -> Tensor.of(-INF).pow(0.5), "tensor([nan])"),
                new Case("4 pow(Tensor) keeps C's pow at -0. and -inf", () -> Tensor.of(-0.0, -INF).pow(Tensor.of(-0.5, 0.5)), "tensor([inf, inf])"),
                // 5. +inf in softmax / logSoftmax
                new Case("5 logSoftmax with +inf", () -> Tensor.of(1, INF).logSoftmax(0), "tensor([nan, nan])"),
                new Case("5 softmax with +inf", () -> Tensor.of(1, INF).softmax(0), "tensor([nan, nan])"),
                // 6. logSoftmax's precision at large magnitudes
                new Case("6 logSoftmax at 1e17", () -> Arrays.toString(Tensor.of(1e17, 1e17).logSoftmax(0).toArray()),
                        "[-0.6931471805599453, -0.6931471805599453]"),
                new Case("6 logSoftmax at 1e8", () -> Arrays.toString(Tensor.of(1e8, 1e8).logSoftmax(0).toArray()),
                        "[-0.6931471805599453, -0.6931471805599453]"),
                // 7. signed zeros
                new Case("7 relu(-0.)", () -> Tensor.of(-0.0).relu(), "tensor([-0.])"),
                new Case("7 1 / relu(-0.)", () -> Tensor.scalar(1).div(Tensor.of(-0.0).relu()), "tensor([-inf])"),
                new Case("7 clamp(-0., 0, 1)", () -> Tensor.of(-0.0).clamp(0, 1), "tensor([-0.])"),
                new Case("7 maximum/minimum return the first argument on a tie", () ->
                        Tensor.scalar(0).maximum(Tensor.scalar(-0.0)) + " " + Tensor.scalar(-0.0).maximum(Tensor.scalar(0)) + " "
                                + Tensor.scalar(0).minimum(Tensor.scalar(-0.0)) + " " + Tensor.scalar(-0.0).minimum(Tensor.scalar(0)),
                        "tensor(0.) tensor(-0.) tensor(0.) tensor(-0.)"),
                new Case("7 expand keeps -0.", () -> Tensor.fromArray(new double[] {-0.0, 1}, 2, 1).expand(2, 2),
                        "tensor([[-0., -0.],\n        [1., 1.]])"),
                // 8. 0-d tensors take dim 0 and -1
                new Case("8 logSumExp of a 0-d tensor", () -> Tensor.scalar(3).logSumExp(0, false), "tensor(3.)"),
                new Case("8 logSumExp of a 0-d tensor, dim -1, keepdim", () -> Tensor.scalar(3).logSumExp(-1, true), "tensor(3.)"),
                // 9. hessian / jacobian of an f that does not depend on x
                new Case("9 hessian of a constant", () -> Autograd.hessian(z -> Tensor.of(3, -1).mul(2).sum(), Tensor.of(1, 2)),
                        "tensor([[0., 0.],\n        [0., 0.]])"),
                new Case("9 hessian of a linear f", () -> Autograd.hessian(z -> z.mul(2).sum(), Tensor.of(1, 2)),
                        "tensor([[0., 0.],\n        [0., 0.]])"),
                new Case("9 jacobian of a constant", () -> Autograd.jacobian(z -> Tensor.of(3, -1).mul(2), Tensor.of(1, 2)),
                        "tensor([[0., 0.],\n        [0., 0.]])"),
                // 10. zero-size dimensions
                new Case("10 [2,0,0] @ [0,3]", () -> Arrays.toString(Tensor.zeros(2, 0, 0).matmul(Tensor.zeros(0, 3)).shape()), "[2, 0, 3]"),
                new Case("10 sum and mean of an empty tensor", () -> Tensor.zeros(0).sum() + " " + Tensor.zeros(0).mean(), "tensor(0.) tensor(nan)"),
                new Case("10 max of an empty tensor", error(() -> Tensor.zeros(0).max()),
                        "IllegalArgumentException: max(): Expected reduction dim to be specified for input.numel() == 0."),
                // 11. names of sum / mean with a dim on 0-d tensors
                new Case("11 0-d sum(0)", () -> Tensor.scalar(3).requiresGrad_(true).sum(0, false), "tensor(3., grad_fn=<SumBackward1>)"),
                new Case("11 0-d mean(-1, keepdim)", () -> Tensor.scalar(3).requiresGrad_(true).mean(-1, true), "tensor(3., grad_fn=<MeanBackward1>)"),
                // 12. matmul's grad_fn names
                new Case("12 1-d @ 2-d", () -> Tensor.ones(3).requiresGrad_(true).matmul(Tensor.ones(3, 2)),
                        "tensor([3., 3.], grad_fn=<SqueezeBackward3>)"),
                new Case("12 n-d @ 2-d", () -> Tensor.ones(2, 1, 3).requiresGrad_(true).matmul(Tensor.ones(3, 2)),
                        "tensor([[[3., 3.]],\n\n        [[3., 3.]]], grad_fn=<UnsafeViewBackward0>)"),
                // 13. matmul's shape errors name the user's shapes
                new Case("13 [3] @ [5, 2]", error(() -> Tensor.zeros(3).matmul(Tensor.zeros(5, 2))),
                        "IllegalArgumentException: matmul: shapes [3] and [5, 2] cannot be multiplied (3 columns and 5 rows)"),
                new Case("13 [4, 3, 1] @ [2, 2]", error(() -> Tensor.zeros(4, 3, 1).matmul(Tensor.zeros(2, 2))),
                        "IllegalArgumentException: matmul: shapes [4, 3, 1] and [2, 2] cannot be multiplied (1 columns and 2 rows)"));
    }

    @TestFactory
    Stream<DynamicTest> eachClassAgreesWithPyTorch() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> assertEquals(c.torch(), String.valueOf(c.ours().get()))));
    }
}
