package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

import java.io.Serializable;

/**
 * One op of the block graph: a function of its input blocks (one per DistTensor operand, aligned row for
 * row) and its local parameters, replayed per block on the executors. What a reduction may fuse is read
 * from what the step declares ({@link #elementwise()}, {@link #isMatmul()}), never from its class.
 */
interface Step extends Serializable {
    Tensor apply(Tensor[] inputs, Tensor[] params);

    /** As {@link #apply(Tensor[], Tensor[])} on a block whose first row is global row {@code firstRow} (for steps whose errors name rows). */
    default Tensor apply(Tensor[] inputs, Tensor[] params, long firstRow) {
        return apply(inputs, params);
    }

    /** This step as a call of the element-wise op table, which the row program can run; null for other steps. */
    default ElementwiseStep elementwise() {
        return null;
    }

    /** This step on a sparse (CSR) input block; only steps made for sparse input ({@link SparseStep}) take one. */
    default Tensor applySparse(Block.Csr x, Tensor[] params) {
        throw new IllegalStateException(getClass().getSimpleName() + " does not take a sparse block");
    }

    /** Whether this step may write into its parameters' values (a user's function may); library steps only read them. */
    default boolean mayWriteParams() {
        return false;
    }

    /** Whether this step is {@code block.matmul(parameter)}, whose parameter gradient a reduction may take fused. */
    default boolean isMatmul() {
        return false;
    }
}
