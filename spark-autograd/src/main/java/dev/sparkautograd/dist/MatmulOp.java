package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

/**
 * Internal: the block op of {@code DistTensor.matmul(w)}, {@code block.matmul(w)}. A class of its own so
 * that {@link Plan} can recognise a product of data blocks with a parameter and run it fused: the
 * product without a graph, the local engine on its [rows] (or [rows, k]) result only, then one
 * {@code X^T g} per block for the parameter's gradient.
 */
public final class MatmulOp implements BlockOp {
    private static final long serialVersionUID = 1L;

    public static final MatmulOp INSTANCE = new MatmulOp();

    private MatmulOp() {}

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params) {
        return inputs[0].matmul(params[0]);
    }

    private Object readResolve() {
        return INSTANCE;
    }
}
