package dev.sparkautograd.optim;

import dev.sparkautograd.Tensor;

import java.util.List;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter) as {@code torch.optim.AdamW}: each step first
 * shrinks the parameter, {@code p *= 1 - lr * weightDecay}, then takes {@link Adam}'s step on the plain
 * gradient. Defaults: betas 0.9 and 0.999, eps 1e-8, weight decay 0.01.
 */
public final class AdamW extends Adam {

    public AdamW(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 1e-2, false);
    }

    public AdamW(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad) {
        super(params, lr, beta1, beta2, eps, weightDecay, amsgrad);
    }

    @Override
    boolean decoupledWeightDecay() {
        return true;
    }
}
