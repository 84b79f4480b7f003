package dev.sparkautograd.nn;

import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;

import java.util.Random;

/**
 * Rendle's factorization machine of degree 2: {@code y(x) = b + w . x + sum_{i<j} <v_i, v_j> x_i x_j}, with the
 * pairwise term in its O(k * nnz) form {@code 0.5 * sum_f [(sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2]}, written with
 * library ops only. {@code x V} is the sum of the active features' embeddings (rows of {@code V}) weighted by
 * their values, so on sparse rows it reads only the non-zeros: {@link #forwardRows(DistTensor)} takes a sparse
 * (CSR) or dense {@code [N, d]} DistTensor, and its three products with {@code w}, {@code V} and {@code V^2}
 * run fused in a reduction (gradients {@code X^T g} straight from the CSR arrays). {@link #forwardIds(DistTensor)}
 * takes the active features as ids ({@code [N, m]}, each of value 1) through {@code embedding}.
 *
 * <p>Parameters: {@code bias} {@code []} (0), {@code linear} {@code [d]} (0) and {@code factors} {@code [d, k]}
 * (normal with standard deviation {@code initStd}, from {@code java.util.Random(seed)}, row by row).
 */
public final class FactorizationMachine extends Module {
    private static final long serialVersionUID = 1L;

    private final int features, factors;
    private final Parameter bias, linear, v;

    public FactorizationMachine(int features, int factors, double initStd, long seed) {
        if (features < 1 || factors < 1) {
            throw new IllegalArgumentException("FactorizationMachine: features and factors must be positive, got " + features + " and " + factors);
        }
        this.features = features;
        this.factors = factors;
        Random random = new Random(seed);
        double[] init = new double[Math.multiplyExact(features, factors)];
        for (int i = 0; i < init.length; i++) init[i] = initStd * random.nextGaussian();
        this.bias = registerParameter("bias", Tensor.scalar(0));
        this.linear = registerParameter("linear", Tensor.zeros(features));
        this.v = registerParameter("factors", Tensor.fromArray(init, features, factors));
    }

    public Tensor bias() {
        return bias.value();
    }

    public Tensor linear() {
        return linear.value();
    }

    public Tensor factors() {
        return v.value();
    }

    /** The scores {@code [B]} of a dense block {@code [B, d]}. */
    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() != 2 || x.shape()[1] != features) {
            throw new IllegalArgumentException(this + ": the input must be [rows, " + features + "], got shape " + java.util.Arrays.toString(x.shape()));
        }
        Tensor vv = v.value();
        Tensor pairs = x.matmul(vv).square().sub(x.square().matmul(vv.square())).sum(1, false).mul(0.5);
        return x.matmul(linear.value()).add(bias.value()).add(pairs);
    }

    /** The scores {@code [N]} of partitioned rows {@code [N, d]}, sparse (CSR) or dense. */
    public DistTensor forwardRows(DistTensor x) {
        int[] shape = x.shape();
        if (shape.length != 2 || shape[1] != features) {
            throw new IllegalArgumentException(this + ": the rows must be [N, " + features + "], got shape " + java.util.Arrays.toString(shape));
        }
        Tensor vv = v.value();
        DistTensor pairs = x.matmul(vv).square().sumRows(1, false).sub(x.square().matmul(vv.square()).sumRows(1, false)).mul(0.5);
        return x.matmul(linear.value()).add(bias.value()).add(pairs);
    }

    /** The scores {@code [N]} of rows given as the ids of their active features {@code [N, m]} (each of value 1). */
    public DistTensor forwardIds(DistTensor ids) {
        if (ids.shape().length != 2) throw new IllegalArgumentException(this + ": the ids must be [N, m], got shape " + java.util.Arrays.toString(ids.shape()));
        DistTensor e = ids.embedding(v.value());                        // [N, m, k]
        DistTensor pairs = e.sumRows(1, false).square().sumRows(1, false).sub(e.square().sumRows(1, false).sumRows(1, false)).mul(0.5);
        DistTensor lin = ids.embedding(linear.value().unsqueeze(1)).sumRows(1, false).sumRows(1, false); // [N, m, 1] -> [N]
        return lin.add(bias.value()).add(pairs);
    }

    @Override
    public String toString() {
        return "FactorizationMachine(features=" + features + ", factors=" + factors + ")";
    }
}
