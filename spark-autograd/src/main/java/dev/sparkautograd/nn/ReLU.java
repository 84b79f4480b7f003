package dev.sparkautograd.nn;

import dev.sparkautograd.Tensor;

/** Element-wise {@code relu}, as {@code torch.nn.ReLU}. */
public final class ReLU extends Module {
    private static final long serialVersionUID = 1L;

    @Override
    public Tensor forward(Tensor x) {
        return x.relu();
    }
}
