package dev.sparkautograd;


import java.io.Serializable;
import java.util.List;

/**
 * A per-block function written with Tensor ops, for {@code DistTensor.mapBlocks}: given one row block
 * (rows along the first dimension) and the local parameters, it returns the block of the result,
 * with the same number of rows. Java control flow is allowed. It runs on the executors (serialized
 * with the task) and, once, on the driver on tiny zero blocks to infer the result's shape.
 */
@FunctionalInterface
public interface BlockFunction extends Serializable {
    Tensor apply(Tensor block, List<Tensor> params);
}
