package dev.sparkautograd.nn;

import dev.sparkautograd.Tensor;

import java.util.Random;

/**
 * {@code y = x W^T + b} as {@code torch.nn.Linear}: weight {@code [out, in]}, bias {@code [out]}, initialised
 * as PyTorch does (Kaiming-uniform with {@code a = sqrt(5)} for the weight, which is uniform on
 * {@code (-1/sqrt(in), 1/sqrt(in))}, and the bias uniform on the same interval), the values drawn from
 * {@code java.util.Random(seed)}: the weight row by row, then the bias.
 */
public final class Linear extends Module {
    private static final long serialVersionUID = 1L;

    private final int in, out;
    private final Parameter weight, bias;

    public Linear(int in, int out, long seed) {
        this(in, out, true, seed);
    }

    public Linear(int in, int out, boolean bias, long seed) {
        if (in < 1 || out < 1) throw new IllegalArgumentException("Linear: in and out features must be positive, got " + in + " and " + out);
        this.in = in;
        this.out = out;
        Random random = new Random(seed);
        double bound = 1 / Math.sqrt(in);
        this.weight = registerParameter("weight", uniform(random, bound, out, in));
        this.bias = bias ? registerParameter("bias", uniform(random, bound, out)) : null;
    }

    private static Tensor uniform(Random random, double bound, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = -bound + 2 * bound * random.nextDouble();
        return Tensor.fromArray(v, shape);
    }

    public Tensor weight() {
        return weight.value();
    }

    /** The bias, or null for a layer without one. */
    public Tensor bias() {
        return bias == null ? null : bias.value();
    }

    @Override
    public Tensor forward(Tensor x) {
        int last = x.dim() == 0 ? -1 : x.shape()[x.dim() - 1];
        if (last != in) {
            throw new IllegalArgumentException("Linear(" + in + ", " + out + "): the input's last dimension must be " + in
                    + ", got shape " + java.util.Arrays.toString(x.shape()));
        }
        Tensor y = x.matmul(weight.value().t());
        return bias == null ? y : y.add(bias.value());
    }

    @Override
    public String toString() {
        return "Linear(in_features=" + in + ", out_features=" + out + ", bias=" + (bias != null) + ")";
    }
}
