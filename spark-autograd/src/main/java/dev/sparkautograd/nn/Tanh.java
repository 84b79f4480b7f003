package dev.sparkautograd.nn;

import dev.sparkautograd.Tensor;

/** Element-wise {@code tanh}, as {@code torch.nn.Tanh}. */
public final class Tanh extends Module {
    private static final long serialVersionUID = 1L;

    @Override
    public Tensor forward(Tensor x) {
        return x.tanh();
    }
}
