package dev.sparkautograd.optim;

import dev.sparkautograd.Tensor;

import java.util.List;

/**
 * Adam (Kingma and Ba, 2015) as {@code torch.optim.Adam}: with {@code g} the gradient plus
 * {@code weightDecay * p} (L2 regularization; {@link AdamW} decouples it), at step {@code t}
 * <pre>
 *   m = beta1 * m + (1 - beta1) * g,   v = beta2 * v + (1 - beta2) * g * g   (vMax = max(vMax, v) with amsgrad)
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * Defaults: betas 0.9 and 0.999, eps 1e-8, no weight decay. State per parameter: {@code "step"} (a number),
 * {@code "exp_avg"}, {@code "exp_avg_sq"} and, with amsgrad, {@code "max_exp_avg_sq"}.
 */
public class Adam extends Optimizer {

    public Adam(List<Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0, false);
    }

    public Adam(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad) {
        super(params);
        checkNonNegative("learning rate", lr);
        checkNonNegative("epsilon", eps);
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("Invalid beta parameter at index 0: " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("Invalid beta parameter at index 1: " + beta2);
        checkNonNegative("weight_decay", weightDecay);
        group.put("lr", lr);
        group.put("beta1", beta1);
        group.put("beta2", beta2);
        group.put("eps", eps);
        group.put("weight_decay", weightDecay);
        group.put("amsgrad", amsgrad);
    }

    /** AdamW applies its weight decay to the parameter itself; Adam adds it to the gradient. */
    boolean decoupledWeightDecay() {
        return false;
    }

    @Override
    protected void update() {
        double lr = hp("lr"), beta1 = hp("beta1"), beta2 = hp("beta2"), eps = hp("eps"), weightDecay = hp("weight_decay");
        boolean amsgrad = flag("amsgrad");
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p.grad() == null) continue;
            Tensor g = p.grad();
            java.util.Map<String, Object> s = state.get(i);
            if (s.isEmpty()) {
                s.put("step", 0L);
                s.put("exp_avg", Tensor.zeros(p.shape()));
                s.put("exp_avg_sq", Tensor.zeros(p.shape()));
                if (amsgrad) s.put("max_exp_avg_sq", Tensor.zeros(p.shape()));
            }
            long step = ((Number) s.get("step")).longValue() + 1;
            s.put("step", step);
            if (decoupledWeightDecay()) {
                p.mul_(1 - lr * weightDecay);
            } else if (weightDecay != 0) {
                g = g.add(p.mul(weightDecay));
            }
            Tensor m = (Tensor) s.get("exp_avg"), v = (Tensor) s.get("exp_avg_sq");
            m.mul_(beta1).add_(g.mul(1 - beta1));
            v.mul_(beta2).add_(g.mul(g).mul(1 - beta2));
            double biasCorrection1 = 1 - Math.pow(beta1, step), biasCorrection2 = 1 - Math.pow(beta2, step);
            double stepSize = lr / biasCorrection1;
            Tensor second = v;
            if (amsgrad) {
                Tensor vMax = (Tensor) s.get("max_exp_avg_sq");
                if (vMax == null) throw new IllegalStateException("amsgrad is on but parameter " + i + "'s state has no max_exp_avg_sq (loaded from a run without amsgrad?)");
                vMax.copy_(vMax.maximum(v));
                second = vMax;
            }
            Tensor denom = second.sqrt().div(Math.sqrt(biasCorrection2)).add(eps);
            p.sub_(m.div(denom).mul(stepSize));
        }
    }
}
