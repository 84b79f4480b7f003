package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

import java.io.Serializable;

/**
 * Internal: one recorded DistTensor op as a function of its input blocks (one per DistTensor operand,
 * aligned row for row) and its local parameters. Replayed per block on the executors.
 */
@FunctionalInterface
public interface BlockOp extends Serializable {
    Tensor apply(Tensor[] inputs, Tensor[] params);
}
