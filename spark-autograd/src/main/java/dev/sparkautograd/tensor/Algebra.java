package dev.sparkautograd.tensor;

import java.util.function.DoubleUnaryOperator;

/**
 * The arithmetic that {@link Elementwise}'s differentiable backward formulas are written in. The engine
 * instantiates it with tensors (each call a recorded, differentiable op, so a backward can itself be
 * differentiated); the table itself stays free of the Tensor class, below it in the layers.
 * Comparisons and {@link #constant} give constants (no gradient flows through a mask).
 */
public interface Algebra<T> {
    T apply(Elementwise op, T a);

    T apply(Elementwise op, T a, T b);

    /** A unary entry with numeric attributes (in its {@code b} and {@code c} slots). */
    T apply(Elementwise op, T a, double b, double c);

    default T add(T a, double b) {
        return apply(Elementwise.ADD, a, scalar(b));
    }

    default T mul(T a, T b) {
        return apply(Elementwise.MUL, a, b);
    }

    default T div(T a, T b) {
        return apply(Elementwise.DIV, a, b);
    }

    default T neg(T a) {
        return apply(Elementwise.NEG, a);
    }

    /** A 0-d constant. */
    T scalar(double v);

    T zerosLike(T a);

    /** A constant of {@code a}'s shape: {@code f} of each of its values. */
    T constant(T a, DoubleUnaryOperator f);

    /**
     * {@code f} of each value of {@code a} for a piecewise-constant {@code f} (a sign, a mask of {@code a}): its value
     * is {@link #constant}'s, but it is recorded with a zero gradient for {@code a}, as PyTorch records
     * threshold_backward (relu's backward; sgn's zero is PyTorch's efficient zero tensor, which annihilates an
     * infinity in element-wise ops, so abs uses a plain {@link #constant}). A double backward thus carries that zero into {@code a}'s
     * history, where it meets that history's own infinities (0 * inf = NaN), as in PyTorch.
     */
    T piecewiseConstant(T a, DoubleUnaryOperator f);

    /** {@code cond ? a : b} element-wise with broadcasting; differentiable in {@code a} and {@code b}. */
    T where(T cond, T a, T b);

    T eq(T a, T b);

    T lt(T a, T b);

    T ge(T a, T b);

    T and(T a, T b);
}
