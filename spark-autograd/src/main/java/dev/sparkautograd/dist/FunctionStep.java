package dev.sparkautograd.dist;

import dev.sparkautograd.BlockFunction;
import dev.sparkautograd.Tensor;

import java.util.Arrays;

/** A user's per-block function ({@code mapBlocks}): one input block and the parameters, through the engine. */
final class FunctionStep implements Step {
    private static final long serialVersionUID = 1L;

    private final BlockFunction fn;

    FunctionStep(BlockFunction fn) {
        this.fn = fn;
    }

    @Override
    public boolean mayWriteParams() {
        return true;
    }

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params) {
        return fn.apply(inputs[0], Arrays.asList(params));
    }
}
