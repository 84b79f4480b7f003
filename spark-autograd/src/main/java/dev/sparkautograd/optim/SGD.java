package dev.sparkautograd.optim;

import dev.sparkautograd.Tensor;

import java.util.List;

/**
 * Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov momentum, as
 * {@code torch.optim.SGD}: with {@code g} the gradient plus {@code weightDecay * p},
 * the momentum buffer starts as a copy of {@code g} and is then {@code b = momentum * b + (1 - dampening) * g};
 * the step is {@code p -= lr * (nesterov ? g + momentum * b : b)} (or {@code lr * g} without momentum).
 * State per parameter: {@code "momentum_buffer"}.
 */
public class SGD extends Optimizer {

    public SGD(List<Tensor> params, double lr) {
        this(params, lr, 0);
    }

    public SGD(List<Tensor> params, double lr, double momentum) {
        this(params, lr, momentum, 0, 0, false);
    }

    public SGD(List<Tensor> params, double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        super(params);
        checkNonNegative("learning rate", lr);
        checkNonNegative("momentum", momentum);
        checkNonNegative("weight_decay", weightDecay);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("Nesterov momentum requires a momentum and zero dampening (momentum " + momentum + ", dampening " + dampening + ")");
        }
        group.put("lr", lr);
        group.put("momentum", momentum);
        group.put("dampening", dampening);
        group.put("weight_decay", weightDecay);
        group.put("nesterov", nesterov);
    }

    @Override
    protected void update() {
        double lr = hp("lr"), momentum = hp("momentum"), dampening = hp("dampening"), weightDecay = hp("weight_decay");
        boolean nesterov = flag("nesterov");
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p.grad() == null) continue;
            Tensor d = p.grad();
            if (weightDecay != 0) d = d.add(p.mul(weightDecay));
            if (momentum != 0) {
                Tensor buf = (Tensor) state.get(i).get("momentum_buffer");
                if (buf == null) {
                    buf = copy(d);
                    state.get(i).put("momentum_buffer", buf);
                } else {
                    buf.mul_(momentum).add_(d.mul(1 - dampening));
                }
                d = nesterov ? d.add(buf.mul(momentum)) : buf;
            }
            p.sub_(d.mul(lr));
        }
    }
}
