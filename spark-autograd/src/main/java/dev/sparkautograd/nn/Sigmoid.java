package dev.sparkautograd.nn;

import dev.sparkautograd.Tensor;

/** Element-wise {@code sigmoid}, as {@code torch.nn.Sigmoid}. */
public final class Sigmoid extends Module {
    private static final long serialVersionUID = 1L;

    @Override
    public Tensor forward(Tensor x) {
        return x.sigmoid();
    }
}
