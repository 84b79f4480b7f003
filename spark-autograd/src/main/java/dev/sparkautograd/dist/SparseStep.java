package dev.sparkautograd.dist;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;

import java.util.List;

/**
 * An op on a sparse (CSR) block, the only ones a sparse DistTensor has: the element-wise ops that keep zeros
 * zero (a CSR result with the same pattern), and the ones with a dense result — {@code matmul} by a parameter
 * (declared a matmul, so a reduction fuses it and takes {@code X^T g} from the CSR arrays), {@code sumRows} and
 * {@code toDense}. Never densifies except in {@code toDense}.
 */
final class SparseStep implements Step {
    private static final long serialVersionUID = 1L;

    enum Kind { SCALE, SQUARE, ABS, MATMUL, SUM_ROWS, TO_DENSE }

    final Kind kind;
    private final double factor;
    /** SCALE: divide by {@code factor} (as the dense op does: one division, not a product with 1/factor). */
    private final boolean divide;
    private final boolean keepdim;

    private SparseStep(Kind kind, double factor, boolean divide, boolean keepdim) {
        this.kind = kind;
        this.factor = factor;
        this.divide = divide;
        this.keepdim = keepdim;
    }

    /** Each entry times {@code factor}. */
    static SparseStep scale(double factor) {
        return new SparseStep(Kind.SCALE, factor, false, false);
    }

    /** Each entry divided by {@code divisor}. */
    static SparseStep divide(double divisor) {
        return new SparseStep(Kind.SCALE, divisor, true, false);
    }

    static SparseStep of(Kind kind) {
        return new SparseStep(kind, 0, false, false);
    }

    static SparseStep sumRows(boolean keepdim) {
        return new SparseStep(Kind.SUM_ROWS, 0, false, keepdim);
    }

    /** Whether the result is sparse too (the step maps entries). */
    boolean sparseResult() {
        return kind == Kind.SCALE || kind == Kind.SQUARE || kind == Kind.ABS;
    }

    /** The result's CSR rows (for {@link #sparseResult()} steps). */
    Block.Csr map(Block.Csr x) {
        return switch (kind) {
            case SCALE -> divide ? x.map(v -> v / factor) : x.map(v -> v * factor);
            case SQUARE -> x.map(v -> v * v);
            case ABS -> x.map(Math::abs);
            default -> throw new IllegalStateException(kind + " has a dense result");
        };
    }

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params) {
        throw new IllegalStateException("sparse " + kind + " on a dense block");
    }

    @Override
    public Tensor applySparse(Block.Csr x, Tensor[] params) {
        return switch (kind) {
            case MATMUL -> matmul(x, params[0]);
            case SUM_ROWS -> Tensor.wrap(x.rowSums(), keepdim ? new int[] {x.rows, 1} : new int[] {x.rows}, false);
            case TO_DENSE -> x.toDense();
            default -> throw new IllegalStateException(kind + " has a sparse result");
        };
    }

    @Override
    public boolean isMatmul() {
        return kind == Kind.MATMUL;
    }

    /**
     * {@code x @ w} for {@code w} {@code [d]} or {@code [d, k]}; when recorded (grad mode on, w requiring grad) a node
     * whose backward is {@code x^T g}, itself differentiable in {@code g}, so second order works.
     */
    static Tensor matmul(Block.Csr x, Tensor w) {
        int k = w.dim() == 1 ? 0 : w.size(1);
        Tensor out = Tensor.wrap(x.times(w.toArrayUnsafe(), k), k == 0 ? new int[] {x.rows} : new int[] {x.rows, k}, false);
        if (!Autograd.isGradEnabled() || !w.requiresGrad()) return out;
        return Autograd.function("SparseMmBackward0", out, List.of(w), List.of(),
                (n, g) -> new Tensor[] {n.needsInputGrad(0) ? transposeTimes(x, g, w.shape()) : null});
    }

    /** {@code x^T g}, of {@code shape} (the parameter's); recorded as a node whose backward is {@code x @ gg}. */
    static Tensor transposeTimes(Block.Csr x, Tensor g, int[] shape) {
        int k = shape.length == 1 ? 0 : shape[1];
        Tensor out = Tensor.wrap(x.transposeTimes(g.toArrayUnsafe(), k), shape, false);
        if (!Autograd.isGradEnabled() || !g.requiresGrad()) return out;
        return Autograd.function("SparseMmTBackward0", out, List.of(g), List.of(),
                (n, gg) -> new Tensor[] {n.needsInputGrad(0) ? matmul(x, gg) : null});
    }
}
