package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

/**
 * {@code block.matmul(w)}: declared as a matmul so that a reduction can run a product of data blocks with a
 * parameter fused: the product without a graph, the local engine on its [rows] (or [rows, k]) result only,
 * then one {@code X^T g} per block for the parameter's gradient.
 */
final class MatmulStep implements Step {
    private static final long serialVersionUID = 1L;

    static final MatmulStep INSTANCE = new MatmulStep();

    private MatmulStep() {}

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params) {
        return inputs[0].matmul(params[0]);
    }

    @Override
    public boolean isMatmul() {
        return true;
    }

    private Object readResolve() {
        return INSTANCE;
    }
}
