package dev.sparkautograd.optim;

/**
 * Adam (Kingma and Ba, 2015) on a flat parameter vector, with PyTorch's defaults (betas 0.9 and 0.999,
 * eps 1e-8) and bias correction. {@code beta1 = 0, beta2 = 0}-free plain SGD is {@link #sgd}.
 *
 * <p>Internal: the jobs' minimizer over a flat {@code double[]} until they move to the tensor optimizers
 * ({@link Adam}, {@link SGD}), which are the public API.
 */
public final class AdamMinimizer {

    private final double lr, beta1, beta2, eps;
    private final boolean plainSgd;
    private final double[] m, v;
    private int t;

    public AdamMinimizer(int size, double lr) {
        this(size, lr, 0.9, 0.999, 1e-8, false);
    }

    private AdamMinimizer(int size, double lr, double beta1, double beta2, double eps, boolean plainSgd) {
        if (!(lr > 0)) throw new IllegalArgumentException("learning rate must be positive, got " + lr);
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.plainSgd = plainSgd;
        this.m = new double[size];
        this.v = new double[size];
    }

    /** Plain gradient descent: {@code x -= lr * g}. */
    public static AdamMinimizer sgd(int size, double lr) {
        return new AdamMinimizer(size, lr, 0, 0, 0, true);
    }

    /** Updates {@code x} in place from the gradient {@code g} at {@code x}. */
    public void step(double[] x, double[] g) {
        t++;
        if (plainSgd) {
            for (int i = 0; i < x.length; i++) x[i] -= lr * g[i];
            return;
        }
        double c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
        for (int i = 0; i < x.length; i++) {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i];
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            x[i] -= lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps);
        }
    }
}
