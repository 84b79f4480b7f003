package dev.sparkautograd.jobs.models;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.nn.FactorizationMachine;
import dev.sparkautograd.nn.Linear;
import dev.sparkautograd.nn.Losses;
import dev.sparkautograd.nn.Module;
import dev.sparkautograd.nn.Sequential;
import dev.sparkautograd.nn.Tanh;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The model kinds of the jobs: each is a module of the library's {@code nn} package ({@link #module}) with a
 * loss from {@code nn.Losses}, as a library user would write it. The module's forward runs on the executors
 * ({@code Module.forward(DistTensor)}) and locally in the data generator's teacher. Gradients come from autograd only.
 * A new kind is one more case in each switch below (and in {@code Labels} for its labels).
 *
 * <p>Data: features {@code x} of shape {@code [N, d]}; label {@code y} of shape {@code [N]}: 0/1 (logistic, fm),
 * a real number (linear) or a class index {@code 0..k-1} (softmax, mlp). The parameters travel as one flat
 * vector (params.npy, the teacher), in the order and shapes of {@link #shapes()}.
 *
 * <p>{@code fm} is {@code nn.FactorizationMachine} (Rendle's degree-2 machine, pairwise term in its O(k nnz) form)
 * scored with the logistic loss: params.npy holds its bias {@code []}, linear weights {@code [d]} and factors
 * {@code [d, k]} (C order, row {@code i} the embedding of feature {@code i}), the module's own layout.
 */
public final class Model implements Serializable {

    public enum Kind { logistic, linear, softmax, mlp, fm }

    /** Factors of the fm when none are given. */
    public static final int DEFAULT_FACTORS = 8;

    /** Standard deviation of the fm's random starting factors (zero factors would have zero gradient). */
    public static final double FM_INIT_STD = 0.01;

    private final Kind kind;
    private final int features, classes, factors;
    private final int[] hidden;

    public Model(Kind kind, int features, int classes, int[] hidden) {
        this(kind, features, classes, hidden, DEFAULT_FACTORS);
    }

    /** {@code factors}: the fm's embedding size (ignored by the other kinds). */
    public Model(Kind kind, int features, int classes, int[] hidden, int factors) {
        if (kind == Kind.fm && factors < 1) throw new IllegalArgumentException("fm needs at least 1 factor, got " + factors);
        if (features < 1) throw new IllegalArgumentException("features must be at least 1, got " + features);
        if ((kind == Kind.softmax || kind == Kind.mlp) && classes < 2) {
            throw new IllegalArgumentException(kind + " needs at least 2 classes, got " + classes);
        }
        for (int h : hidden) if (h < 1) throw new IllegalArgumentException("hidden sizes must be positive, got " + Arrays.toString(hidden));
        this.kind = kind;
        this.features = features;
        this.classes = kind == Kind.softmax || kind == Kind.mlp ? classes : 1;
        this.hidden = kind == Kind.mlp ? hidden.clone() : new int[0];
        this.factors = kind == Kind.fm ? factors : 0;
        if (kind == Kind.fm) Math.multiplyExact(features, factors); // the factors must fit one array
    }

    public Kind kind() { return kind; }
    public int features() { return features; }
    public int classes() { return classes; }
    public int[] hidden() { return hidden.clone(); }
    /** The fm's factors per feature; 0 for the other kinds. */
    public int factors() { return factors; }
    public boolean isClassifier() { return kind != Kind.linear; }
    /** One logit per row, 0/1 labels: logistic and fm. */
    public boolean isBinary() { return kind == Kind.logistic || kind == Kind.fm; }

    /** "logistic regression, 10 features", ... */
    public String describe() {
        return switch (kind) {
            case logistic -> "logistic regression, " + features + " features";
            case linear -> "linear regression, " + features + " features";
            case softmax -> "softmax regression, " + features + " features, " + classes + " classes";
            case mlp -> "MLP " + features + " -> " + Arrays.toString(hidden) + " (tanh) -> " + classes + " classes";
            case fm -> "factorization machine, " + features + " features, " + factors + " factors";
        };
    }

    /** The parameter shapes: weight, bias (per layer for the MLP); for the fm bias, linear, factors. */
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
            case fm -> { s.add(new int[] {}); s.add(new int[] {features}); s.add(new int[] {features, factors}); }
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

    // ---- the model as an nn.Module ------------------------------------------------------------------

    /**
     * The model as a module of the library's {@code nn} package holding {@code flat}'s values: {@code Linear(d, 1)}
     * (logistic, linear), {@code Linear(d, k)} (softmax), or {@code Sequential(Linear, Tanh, ..., Linear)} (mlp).
     * A module's weight is {@code [out, in]} as in PyTorch; the flat vector (params.npy) keeps the jobs' layout,
     * each weight {@code [in, out]} in C order, then its bias. The fm is {@code FactorizationMachine(d, k)}, its
     * parameters in its own order and shapes (bias, linear, factors {@code [d, k]}: nothing transposed).
     */
    public Module module(double[] flat) {
        if (flat.length != size()) throw new IllegalArgumentException(describe() + " has " + size() + " parameters, got " + flat.length);
        Module m = switch (kind) {
            case logistic, linear -> new Linear(features, 1, 0);
            case softmax -> new Linear(features, classes, 0);
            case mlp -> {
                List<Module> layers = new ArrayList<>();
                int in = features;
                for (int h : hidden) {
                    layers.add(new Linear(in, h, layers.size()));
                    layers.add(new Tanh());
                    in = h;
                }
                layers.add(new Linear(in, classes, layers.size()));
                yield new Sequential(layers);
            }
            case fm -> new FactorizationMachine(features, factors, 0, 0); // values loaded below
        };
        Map<String, Tensor> values = new LinkedHashMap<>();
        int at = 0;
        for (Map.Entry<String, Tensor> e : m.namedParameters().entrySet()) {
            int[] shape = e.getValue().shape();
            int n = e.getValue().numel();
            double[] v = Arrays.copyOfRange(flat, at, at + n);
            values.put(e.getKey(), Tensor.fromArray(shape.length == 2 && kind != Kind.fm ? transpose(v, shape[1], shape[0]) : v, shape));
            at += n;
        }
        m.loadStateDict(values);
        return m;
    }

    /** The module's parameter values in the flat layout of {@link #module}. */
    public static double[] flatten(Module m) {
        return flat(m.namedParameters().values().stream().map(Tensor::toArray).toList(), m);
    }

    /** The gradients of the module's parameters (zeros where none) in the flat layout of {@link #module}. */
    public static double[] gradient(Module m) {
        return flat(m.parameters().stream().map(p -> p.grad() == null ? new double[p.numel()] : p.grad().toArray()).toList(), m);
    }

    private static double[] flat(List<double[]> values, Module m) {
        List<Tensor> ps = m.parameters();
        double[] out = new double[ps.stream().mapToInt(Tensor::numel).sum()];
        int at = 0;
        for (int i = 0; i < ps.size(); i++) {
            int[] shape = ps.get(i).shape();
            double[] v = shape.length == 2 && !(m instanceof FactorizationMachine) ? transpose(values.get(i), shape[0], shape[1]) : values.get(i);
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }

    /** {@code v} as a C-order {@code [rows, cols]} matrix, transposed (C order {@code [cols, rows]}). */
    private static double[] transpose(double[] v, int rows, int cols) {
        double[] t = new double[v.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = v[r * cols + c];
        return t;
    }

    /**
     * Where training starts: zeros for the convex models; for the MLP small random weights (a zero MLP
     * has zero hidden gradients), scaled by 1/sqrt(fan-in), from {@code seed}; for the fm
     * {@code FactorizationMachine}'s seeded start (bias and linear 0, factors normal with standard deviation
     * {@link #FM_INIT_STD}: zero factors have zero gradient).
     */
    public double[] initial(long seed) {
        if (kind == Kind.fm) return flatten(new FactorizationMachine(features, factors, FM_INIT_STD, seed));
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
     * The fm's teacher: bias 0.5 N(0, 1), linear weights N(0, 1), factors N(0, s^2) with
     * {@code s = (d(d-1)/2 * k)^(-1/4)}, so that on standard normal features its pairwise term has variance about 1.
     */
    public double[] teacher(long seed) {
        double[] flat = new double[size()];
        Random r = new Random(seed);
        if (kind == Kind.fm) {
            double s = Math.pow(Math.max(1.0, features * (features - 1) / 2.0) * factors, -0.25);
            flat[0] = 0.5 * r.nextGaussian();
            for (int i = 1; i < flat.length; i++) flat[i] = (i <= features ? 1 : s) * r.nextGaussian();
            return flat;
        }
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

    // ---- the forward pass and the loss ---------------------------------------------------------------

    /** The model's output for the rows {@code x [N, d]}: {@code [N]} (logistic, fm: the logit; linear: the prediction) or logits {@code [N, k]}. */
    public DistTensor output(DistTensor x, Module m) {
        if (kind == Kind.fm) return ((FactorizationMachine) m).forwardRows(x); // CSR or dense rows, [N]
        DistTensor z = x.isSparse() ? sparseForward(x, m) : m.forward(x);
        return kind == Kind.logistic || kind == Kind.linear ? z.sumRows(1, false) : z; // [N, 1] -> [N]
    }

    /**
     * CSR rows (a wide LIBSVM or Vector column) have {@code matmul}, not {@code mapBlocks}: the first Linear as
     * {@code x W^T + b} straight from the CSR arrays, the mlp's other layers per block of the dense hidden values.
     */
    private static DistTensor sparseForward(DistTensor x, Module m) {
        Sequential layers = m instanceof Sequential s ? s : null;
        Linear first = (Linear) (layers != null ? layers.get(0) : m);
        DistTensor h = x.matmul(first.weight().t());
        if (first.bias() != null) h = h.add(first.bias());
        if (layers == null || layers.size() == 1) return h;
        List<Module> rest = new ArrayList<>();
        for (int i = 1; i < layers.size(); i++) rest.add(layers.get(i));
        return new Sequential(rest).forward(h);
    }

    /** {@link #output(DistTensor, Module)} for a local block of rows. */
    public Tensor output(Tensor x, Module m) {
        Tensor z = m.forward(x);
        return kind == Kind.logistic || kind == Kind.linear ? z.reshape(z.size(0)) : z; // (the fm's forward is [B] already)
    }

    /** The mean loss over the rows: logistic loss, half the squared error, or softmax cross-entropy (the nn losses). */
    public Tensor loss(DistTensor x, DistTensor y, Module m) {
        DistTensor z = output(x, m);
        return switch (kind) {
            case logistic, fm -> Losses.binaryCrossEntropyWithLogits(z, y);
            case linear -> Losses.mse(z, y).mul(0.5);
            case softmax, mlp -> Losses.crossEntropy(z, y);
        };
    }

    /**
     * The L2 penalty {@code lambda/2 * |w|^2} over the weights (every parameter but the biases; the fm's linear
     * weights and factors), as Spark's {@code regParam} with {@code elasticNetParam = 0} and scikit-learn's
     * {@code alpha}-style ridge on a mean loss.
     */
    public static Tensor l2(Module m, double lambda) {
        Tensor sum = Tensor.scalar(0);
        for (Map.Entry<String, Tensor> e : m.namedParameters().entrySet()) {
            if (!e.getKey().equals("bias") && !e.getKey().endsWith(".bias")) sum = sum.add(e.getValue().square().sum());
        }
        return sum.mul(lambda / 2);
    }

    /** The L2 norm of the weights (every parameter but the biases) of a flat parameter vector. */
    public double weightNorm(double[] flat) {
        double s = 0;
        int at = 0, i = 0;
        for (int[] shape : shapes()) {
            int n = numel(shape);
            boolean weight = kind == Kind.fm ? i > 0 : i % 2 == 0; // the fm's bias comes first
            i++;
            if (weight) for (int j = at; j < at + n; j++) s += flat[j] * flat[j];
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
        DistTensor z;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            z = output(x, module(flat));
        }
        switch (kind) {
            case linear:
                return Math.sqrt(z.sub(y).square().mean().item());
            case logistic:
            case fm: {
                // predict class 1 where the logit is positive; |prediction - y| is 1 exactly on the errors
                DistTensor predicted = z.mapBlocks(List.of(), (b, p) -> Tensor.where(b.gt(0), Tensor.ones(1), Tensor.zeros(1)));
                return 1 - predicted.sub(y).abs().mean().item();
            }
            default: {
                int k = classes;
                DistTensor predicted = z.mapBlocks(List.of(), (b, p) -> argmaxOneHot(b));
                return predicted.mul(y.mapBlocks(List.of(), (b, p) -> Losses.oneHot(b, k))).sumRows(1, false).mean().item();
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
    public double[] sampleLabels(Tensor x, Module teacher, Random r) {
        double[] z;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            z = output(x, teacher).toArray();
        }
        int n = x.size(0);
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            switch (kind) {
                case logistic, fm -> y[i] = r.nextDouble() < 1 / (1 + Math.exp(-z[i])) ? 1 : 0;
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
