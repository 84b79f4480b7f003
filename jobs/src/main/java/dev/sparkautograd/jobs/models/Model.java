package dev.sparkautograd.jobs.models;

import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.BlockFunction;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The models of the jobs, written once with the library's tensor ops: a per-block forward function
 * (run on the executors through {@link DistTensor#mapBlocks}, and locally by the data generator's
 * teacher) and a loss. Gradients come from autograd only.
 *
 * <p>Data: features {@code x} of shape {@code [N, d]}; label {@code y} of shape {@code [N]}: 0/1 (logistic),
 * a real number (linear) or a class index {@code 0..k-1} (softmax, mlp). The parameters travel as one flat
 * vector (for .npy files and the optimizers), in the order of {@link #shapes()}.
 */
public final class Model implements Serializable {

    public enum Kind { logistic, linear, softmax, mlp }

    private final Kind kind;
    private final int features, classes;
    private final int[] hidden;

    public Model(Kind kind, int features, int classes, int[] hidden) {
        if (features < 1) throw new IllegalArgumentException("features must be at least 1, got " + features);
        if ((kind == Kind.softmax || kind == Kind.mlp) && classes < 2) {
            throw new IllegalArgumentException(kind + " needs at least 2 classes, got " + classes);
        }
        for (int h : hidden) if (h < 1) throw new IllegalArgumentException("hidden sizes must be positive, got " + Arrays.toString(hidden));
        this.kind = kind;
        this.features = features;
        this.classes = kind == Kind.softmax || kind == Kind.mlp ? classes : 1;
        this.hidden = kind == Kind.mlp ? hidden.clone() : new int[0];
    }

    public Kind kind() { return kind; }
    public int features() { return features; }
    public int classes() { return classes; }
    public boolean isClassifier() { return kind != Kind.linear; }

    /** "logistic regression, 10 features", ... */
    public String describe() {
        return switch (kind) {
            case logistic -> "logistic regression, " + features + " features";
            case linear -> "linear regression, " + features + " features";
            case softmax -> "softmax regression, " + features + " features, " + classes + " classes";
            case mlp -> "MLP " + features + " -> " + Arrays.toString(hidden) + " (tanh) -> " + classes + " classes";
        };
    }

    /** The parameter shapes: weight, bias (per layer for the MLP). */
    public List<int[]> shapes() {
        List<int[]> s = new ArrayList<>();
        switch (kind) {
            case logistic, linear -> { s.add(new int[] {features}); s.add(new int[] {}); }
            case softmax -> { s.add(new int[] {features, classes}); s.add(new int[] {classes}); }
            case mlp -> {
                int in = features;
                for (int h : hidden) { s.add(new int[] {in, h}); s.add(new int[] {h}); in = h; }
                s.add(new int[] {in, classes}); s.add(new int[] {classes});
            }
        }
        return s;
    }

    public int size() {
        int n = 0;
        for (int[] shape : shapes()) n += numel(shape);
        return n;
    }

    private static int numel(int[] shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** Leaf tensors holding {@code flat}'s values; they require grad when {@code requiresGrad}. */
    public List<Tensor> unflatten(double[] flat, boolean requiresGrad) {
        if (flat.length != size()) throw new IllegalArgumentException(describe() + " has " + size() + " parameters, got " + flat.length);
        List<Tensor> ps = new ArrayList<>();
        int at = 0;
        for (int[] shape : shapes()) {
            int n = numel(shape);
            ps.add(Tensor.fromArray(Arrays.copyOfRange(flat, at, at + n), shape).requiresGrad_(requiresGrad));
            at += n;
        }
        return ps;
    }

    /** The parameters' values (or their gradients: pass {@code p.grad()}s) as one flat vector. */
    public static double[] flatten(List<Tensor> tensors) {
        int n = tensors.stream().mapToInt(Tensor::numel).sum();
        double[] flat = new double[n];
        int at = 0;
        for (Tensor t : tensors) {
            double[] d = t.toArray();
            System.arraycopy(d, 0, flat, at, d.length);
            at += d.length;
        }
        return flat;
    }

    /**
     * Where training starts: zeros for the convex models; for the MLP small random weights (a zero MLP
     * has zero hidden gradients), scaled by 1/sqrt(fan-in), from {@code seed}.
     */
    public double[] initial(long seed) {
        double[] flat = new double[size()];
        if (kind != Kind.mlp) return flat;
        Random r = new Random(seed);
        int at = 0;
        for (int[] shape : shapes()) {
            int n = numel(shape);
            if (shape.length == 2) for (int i = 0; i < n; i++) flat[at + i] = r.nextGaussian() / Math.sqrt(shape[0]);
            at += n;
        }
        return flat;
    }

    /**
     * The hidden teacher of the generated data, from {@code seed}: standard normal weights (for the MLP
     * scaled by 2/sqrt(fan-in), so its decision boundary is clearly non-linear) and biases of 0.5 times a standard normal.
     */
    public double[] teacher(long seed) {
        double[] flat = new double[size()];
        Random r = new Random(seed);
        int at = 0;
        for (int[] shape : shapes()) {
            int n = numel(shape);
            double scale = shape.length == 2 || kind != Kind.mlp && shape.length == 1 ? 1.0 : 0.5;
            if (kind == Kind.mlp && shape.length == 2) scale = 2.0 / Math.sqrt(shape[0]);
            for (int i = 0; i < n; i++) flat[at + i] = scale * r.nextGaussian();
            at += n;
        }
        return flat;
    }

    // ---- the forward pass, per block of rows -------------------------------------------------------

    /** The model's output for a block {@code x [b, d]}: {@code [b]} (logistic: the logit; linear: the prediction) or logits {@code [b, k]}. */
    public BlockFunction forward() {
        Kind k = kind;
        return (x, p) -> {
            if (k != Kind.mlp) return x.matmul(p.get(0)).add(p.get(1));
            Tensor h = x;
            int layers = p.size() / 2;
            for (int l = 0; l < layers; l++) {
                h = h.matmul(p.get(2 * l)).add(p.get(2 * l + 1));
                if (l < layers - 1) h = h.tanh();
            }
            return h;
        };
    }

    public DistTensor output(DistTensor x, List<Tensor> params) {
        if (!x.isSparse()) return x.mapBlocks(params, forward());
        // CSR blocks (a wide LIBSVM or Vector column) have matmul, not mapBlocks: the first layer from the CSR
        // arrays, the mlp's other layers per block of the dense hidden values
        DistTensor h = x.matmul(params.get(0)).add(params.get(1));
        if (kind != Kind.mlp) return h;
        return h.tanh().mapBlocks(params.subList(2, params.size()), new Model(kind, hidden[0], classes, java.util.Arrays.copyOfRange(hidden, 1, hidden.length)).forward());
    }

    /** The mean loss over the rows: logistic loss, half the squared error, or softmax cross-entropy. */
    public Tensor loss(DistTensor x, DistTensor y, List<Tensor> params) {
        DistTensor z = output(x, params);
        return switch (kind) {
            case logistic -> z.softplus().sub(y.mul(z)).mean();
            case linear -> z.sub(y).square().mean().mul(0.5);
            case softmax, mlp -> z.logSoftmax(1).mul(oneHot(y, classes)).sumRows(1, false).mean().neg();
        };
    }

    /** Class indices {@code [N]} as one-hot rows {@code [N, k]} (no gradient flows to labels). */
    static DistTensor oneHot(DistTensor y, int k) {
        return y.mapBlocks(List.of(), (b, p) -> {
            Tensor hit = b.unsqueeze(1).eq(Tensor.arange(k).unsqueeze(0));
            return Tensor.where(hit, Tensor.ones(1), Tensor.zeros(1));
        });
    }

    /**
     * The L2 penalty {@code lambda/2 * |w|^2} over the weights (every parameter but the biases), as Spark's
     * {@code regParam} with {@code elasticNetParam = 0} and scikit-learn's {@code alpha}-style ridge on a mean loss.
     */
    public Tensor l2(List<Tensor> params, double lambda) {
        Tensor sum = Tensor.scalar(0);
        for (int i = 0; i < params.size(); i += 2) sum = sum.add(params.get(i).square().sum());
        return sum.mul(lambda / 2);
    }

    /** The L2 norm of the weights (every parameter but the biases) of a flat parameter vector. */
    public double weightNorm(double[] flat) {
        double s = 0;
        int at = 0, i = 0;
        for (int[] shape : shapes()) {
            int n = numel(shape);
            if (i++ % 2 == 0) for (int j = at; j < at + n; j++) s += flat[j] * flat[j];
            at += n;
        }
        return Math.sqrt(s);
    }

    /** The name of {@link #metric}: accuracy for classifiers, RMSE for linear regression. */
    public String metricName() {
        return isClassifier() ? "accuracy" : "RMSE";
    }

    /** Accuracy (the share of rows whose predicted class is the label) or the root mean squared error: one Spark job. */
    public double metric(DistTensor x, DistTensor y, double[] flat) {
        List<Tensor> params = unflatten(flat, false);
        DistTensor z = output(x, params);
        switch (kind) {
            case linear:
                return Math.sqrt(z.sub(y).square().mean().item());
            case logistic: {
                // predict class 1 where the logit is positive; |prediction - y| is 1 exactly on the errors
                DistTensor predicted = z.mapBlocks(List.of(), (b, p) -> Tensor.where(b.gt(0), Tensor.ones(1), Tensor.zeros(1)));
                return 1 - predicted.sub(y).abs().mean().item();
            }
            default: {
                DistTensor predicted = z.mapBlocks(List.of(), (b, p) -> argmaxOneHot(b));
                return predicted.mul(oneHot(y, classes)).sumRows(1, false).mean().item();
            }
        }
    }

    /** Rows of {@code b [n, k]} as one-hot rows of their first largest entry. */
    private static Tensor argmaxOneHot(Tensor b) {
        int n = b.size(0), k = b.size(1);
        double[] v = b.toArray(), out = new double[v.length];
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < k; j++) if (v[i * k + j] > v[i * k + best]) best = j;
            if (k > 0) out[i * k + best] = 1;
        }
        return Tensor.fromArray(out, n, k);
    }

    // ---- labels from the teacher, for the generator -------------------------------------------------

    /** Labels for a block {@code x [b, d]} under parameters {@code teacher}, sampled with {@code r}. */
    public double[] sampleLabels(Tensor x, List<Tensor> teacher, Random r) {
        double[] z = forward().apply(x, teacher).toArray();
        int n = x.size(0);
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            switch (kind) {
                case logistic -> y[i] = r.nextDouble() < 1 / (1 + Math.exp(-z[i])) ? 1 : 0;
                case linear -> y[i] = z[i] + LINEAR_NOISE * r.nextGaussian();
                default -> {
                    double max = Double.NEGATIVE_INFINITY, total = 0;
                    for (int j = 0; j < classes; j++) max = Math.max(max, z[i * classes + j]);
                    double[] e = new double[classes];
                    for (int j = 0; j < classes; j++) total += e[j] = Math.exp(z[i * classes + j] - max);
                    double u = r.nextDouble() * total;
                    int c = 0;
                    while (c < classes - 1 && (u -= e[c]) >= 0) c++;
                    y[i] = c;
                }
            }
        }
        return y;
    }

    /** The standard deviation of the noise added to the linear teacher's predictions. */
    public static final double LINEAR_NOISE = 0.1;
}
