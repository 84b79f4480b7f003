package dev.sparkautograd.ml;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.nn.Linear;
import dev.sparkautograd.nn.Losses;
import dev.sparkautograd.nn.Module;
import dev.sparkautograd.nn.ReLU;
import dev.sparkautograd.nn.Sequential;
import dev.sparkautograd.nn.Sigmoid;
import dev.sparkautograd.nn.Tanh;
import dev.sparkautograd.optim.Adam;
import dev.sparkautograd.optim.LBFGS;
import dev.sparkautograd.optim.NewtonCG;
import dev.sparkautograd.optim.Optimizer;
import dev.sparkautograd.optim.SGD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** Internal: the model built from the Params, the label checks and the full-batch optimization loop. */
final class Training {

    private Training() {}

    /** The network: Linear layers with the activation between them; a single logit for a linear binary model. */
    static Module network(int features, int[] hidden, String activation, int outputs, long seed) {
        List<Module> layers = new ArrayList<>();
        int in = features;
        for (int i = 0; i < hidden.length; i++) {
            layers.add(new Linear(in, hidden[i], seed + i));
            layers.add(activation(activation));
            in = hidden[i];
        }
        layers.add(new Linear(in, outputs, seed + hidden.length));
        return new Sequential(layers);
    }

    /** One logit for a binary model without hidden layers and without a custom module, else one per class. */
    static int outputs(int numClasses, int[] hidden, String moduleClass) {
        return numClasses == 2 && hidden.length == 0 && (moduleClass == null || moduleClass.isEmpty()) ? 1 : numClasses;
    }

    private static Module activation(String name) {
        switch (name) {
            case "tanh": return new Tanh();
            case "relu": return new ReLU();
            case "sigmoid": return new Sigmoid();
            default: throw new IllegalArgumentException("activation must be tanh, relu or sigmoid, got '" + name + "'");
        }
    }

    /**
     * One aggregation job over the label column: no nulls or NaNs, only whole numbers from 0; returns the
     * number of classes (the largest label plus one, at least 2).
     */
    static int checkLabels(Dataset<?> ds, String labelCol) {
        org.apache.spark.sql.Column y = functions.col(labelCol);
        Row r = ds.agg(
                functions.count(functions.lit(1)),
                functions.sum(functions.when(y.isNull().or(functions.isnan(y)), 1).otherwise(0)),
                functions.min(y), functions.max(y),
                functions.sum(functions.when(y.notEqual(functions.floor(y)), 1).otherwise(0))).first();
        long rows = r.getLong(0);
        if (rows == 0) throw new IllegalArgumentException("the dataset has no rows to fit");
        long missing = r.isNullAt(1) ? 0 : r.getLong(1);
        if (missing > 0) throw new IllegalArgumentException("labelCol '" + labelCol + "' is null or NaN in " + missing + " of " + rows + " rows: labels must be class indices 0, 1, ...");
        double min = r.getDouble(2), max = r.getDouble(3);
        long fractional = r.isNullAt(4) ? 0 : r.getLong(4);
        if (min < 0) throw new IllegalArgumentException("labelCol '" + labelCol + "' has the label " + min + ": labels must be class indices 0, 1, ...");
        if (fractional > 0) throw new IllegalArgumentException("labelCol '" + labelCol + "' has " + fractional + " labels that are not whole numbers: labels must be class indices 0, 1, ...");
        if (max >= Integer.MAX_VALUE - 1) throw new IllegalArgumentException("labelCol '" + labelCol + "' has the label " + max + ", too large for a class index");
        return Math.max(2, (int) max + 1);
    }

    /** One aggregation job over the label column of a regression: rows present, no nulls, NaNs or infinities. */
    static void checkTargets(Dataset<?> ds, String labelCol) {
        org.apache.spark.sql.Column y = functions.col(labelCol);
        Row r = ds.agg(functions.count(functions.lit(1)), functions.sum(functions.when(y.isNull().or(functions.isnan(y))
                .or(y.equalTo(Double.POSITIVE_INFINITY)).or(y.equalTo(Double.NEGATIVE_INFINITY)), 1).otherwise(0))).first();
        long rows = r.getLong(0);
        if (rows == 0) throw new IllegalArgumentException("the dataset has no rows to fit");
        long bad = r.isNullAt(1) ? 0 : r.getLong(1);
        if (bad > 0) throw new IllegalArgumentException("labelCol '" + labelCol + "' is null, NaN or infinite in " + bad + " of " + rows + " rows");
    }

    /**
     * A network by the estimator's Params: the class named by {@code module} (see {@link #custom}) when it is
     * set, else Linear layers of the {@code hidden} sizes with the activation between them.
     */
    static Module network(String moduleClass, int features, int[] hidden, String activation, int outputs, long seed) {
        return moduleClass == null || moduleClass.isEmpty() ? network(features, hidden, activation, outputs, seed)
                : custom(moduleClass, features, outputs, seed);
    }

    /**
     * A user's {@link Module} subclass by class name, through its public constructor {@code (int inputs, int
     * outputs, long seed)}, else {@code (int inputs, int outputs)}, else {@code ()}; looked up in the thread's
     * context class loader (where spark-submit puts the user's jars).
     */
    static Module custom(String className, int features, int outputs, long seed) {
        Class<?> c;
        try {
            c = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("module: no class '" + className + "' on the classpath", e);
        }
        if (!Module.class.isAssignableFrom(c)) throw new IllegalArgumentException("module: " + className + " is not a dev.sparkautograd.nn.Module");
        try {
            try {
                return (Module) c.getConstructor(int.class, int.class, long.class).newInstance(features, outputs, seed);
            } catch (NoSuchMethodException e) {
                try {
                    return (Module) c.getConstructor(int.class, int.class).newInstance(features, outputs);
                } catch (NoSuchMethodException e2) {
                    return (Module) c.getConstructor().newInstance();
                }
            }
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException("module: " + className + " needs a public constructor (int inputs, int outputs, long seed), "
                    + "(int inputs, int outputs) or ()", e);
        } catch (ReflectiveOperationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("module: constructing " + className + " failed: " + cause, cause);
        }
    }

    /** The mean loss over the rows of the objective. */
    enum Loss {
        /** One logit, the logistic loss (Spark's binomial LogisticRegression). */
        LOGISTIC,
        /** One logit per class, the softmax cross-entropy (Spark's multinomial objective). */
        CROSS_ENTROPY,
        /** One output, half the squared error (Spark's LinearRegression). */
        HALF_SQUARED_ERROR
    }

    /** The optimization Params of an estimator. */
    record Settings(String optimizer, int maxIter, double tol, double regParam, double stepSize, long seed, int batchSize) {}

    /** The parameters after training, the history and the module. */
    record Result(Module module, double[] history, int iterations, String stoppedBecause, int features) {
        Result(Module module, double[] history, int iterations, String stoppedBecause) {
            this(module, history, iterations, stoppedBecause, 0);
        }

        Result withFeatures(int n) {
            return new Result(module, history, iterations, stoppedBecause, n);
        }
    }

    /**
     * Fits {@code network} (built for the number of features) to the rows: the objective is the mean {@code loss}
     * plus {@code regParam / 2} times the sum of squares of every parameter whose name does not end in "bias".
     * The rows are read once and cached for the fit.
     */
    static Result fit(Dataset<?> ds, String featuresCol, String labelCol, Loss loss, int outputs,
                      java.util.function.IntFunction<Module> network, Settings s) {
        if (s.batchSize() > 0 && !(s.optimizer().equals("adam") || s.optimizer().equals("sgd"))) {
            throw new IllegalArgumentException("batchSize " + s.batchSize() + " needs optimizer adam or sgd (" + s.optimizer()
                    + " is full-batch; batchSize 0 means the full batch)");
        }
        @SuppressWarnings("unchecked")
        Dataset<Row> rows = (Dataset<Row>) ds;
        DistData data = DistData.fromDataset(rows, DistData.options().autoStorageLevel(), featuresCol, labelCol);
        try {
            int features = data.tensor(featuresCol).shape()[1];
            Module module = network.apply(features);
            List<Tensor> penalized = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : module.namedParameters().entrySet()) {
                if (!e.getKey().endsWith("bias")) penalized.add(e.getValue());
            }
            java.util.function.Function<DistData, Tensor> objective = d -> {
                DistTensor x = d.tensor(featuresCol), y = d.tensor(labelCol);
                DistTensor z = module.forward(x);
                if (z.dim() != 2 || z.shape()[1] != outputs) {
                    throw new IllegalArgumentException("the module's output has shape " + Arrays.toString(z.shape()) + " per batch; it must be [rows, "
                            + outputs + "]");
                }
                Tensor l = switch (loss) {
                    case LOGISTIC -> Losses.binaryCrossEntropyWithLogits(z, y.mapBlocks(List.of(), (b, q) -> b.unsqueeze(1)));
                    case CROSS_ENTROPY -> Losses.crossEntropy(z, y);
                    case HALF_SQUARED_ERROR -> Losses.mse(z, y.mapBlocks(List.of(), (b, q) -> b.unsqueeze(1))).mul(0.5);
                };
                if (s.regParam() != 0 && !penalized.isEmpty()) {
                    Tensor sq = null;
                    for (Tensor w : penalized) sq = sq == null ? w.square().sum() : sq.add(w.square().sum());
                    l = l.add(sq.mul(s.regParam() / 2));
                }
                return l;
            };
            Result r;
            if (s.batchSize() > 0) r = miniBatch(data, objective, s, module);
            else if (s.optimizer().equals("newton")) r = newton(() -> objective.apply(data), s, module);
            else r = minimize(module.parameters(), () -> objective.apply(data), s.optimizer(), s.maxIter(), s.tol(), s.stepSize(), module);
            return r.withFeatures(features);
        } finally {
            data.unpersist();
        }
    }

    /**
     * Mini-batch Adam or SGD: step {@code t} evaluates the objective on {@link MiniBatches}' batch {@code t} (one
     * Spark job, which also picks the rows) and updates the parameters. {@code maxIter} counts epochs (passes
     * over the data, as for full-batch adam and sgd): {@code maxIter * ceil(N / batchSize)} steps; no tolerance
     * test (a mini-batch objective is noisy). The history holds each step's mini-batch objective before its update.
     */
    static Result miniBatch(DistData data, java.util.function.Function<DistData, Tensor> objective, Settings s, Module module) {
        MiniBatches batches = new MiniBatches(MiniBatches.partitionRows(data), s.batchSize(), s.seed());
        int steps = Math.toIntExact(s.maxIter() * batches.stepsPerEpoch());
        List<Tensor> params = module.parameters();
        Optimizer opt = s.optimizer().equals("adam") ? new Adam(params, s.stepSize()) : new SGD(params, s.stepSize());
        double[] history = new double[steps];
        for (int step = 0; step < steps; step++) {
            DistData batch = batches.batch(data, step);
            double f = opt.step(() -> {
                opt.zeroGrad();
                Tensor l = objective.apply(batch);
                l.backward();
                return l;
            }).item();
            if (!Double.isFinite(f)) throw new IllegalStateException("the objective became " + f + " at step " + (step + 1) + " (try a smaller stepSize)");
            history[step] = f;
        }
        return new Result(module, history, steps, "maxIter reached");
    }

    /**
     * Newton-CG (trust region, {@link NewtonCG}) one trial step per iteration: each iteration is one job for the
     * loss and gradient (with its graph), one per Hessian-vector product of the CG loop, and one for the trial
     * point. It stops at {@code maxIter}, when NewtonCG stops (gradient norm at most 1e-9 or no more progress), or
     * when an accepted step changes the objective by at most {@code tol * max(|objective|, 1)}.
     */
    static Result newton(Supplier<Tensor> objective, Settings s, Module module) {
        NewtonCG opt = new NewtonCG(module.parameters(), NewtonCG.Options.defaults().maxIter(1).tolerance(1e-9));
        List<Double> history = new ArrayList<>();
        double f;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            f = objective.get().item();
        }
        history.add(f);
        String stop = "maxIter reached";
        int iterations = 0;
        for (int it = 0; it < s.maxIter(); it++) {
            NewtonCG.Result r = opt.step(objective);
            iterations++;
            double now = r.loss();
            history.add(now);
            if (!Double.isFinite(now)) throw new IllegalStateException("the objective became " + now + " at iteration " + iterations);
            if (r.reason() != NewtonCG.StopReason.MAX_ITERATIONS) {
                stop = r.reason() == NewtonCG.StopReason.GRADIENT_TOLERANCE ? "gradient vanished" : "no more progress";
                break;
            }
            if (r.accepted() > 0 && Math.abs(f - now) <= s.tol() * Math.max(Math.abs(now), 1)) {
                stop = "tol reached";
                break;
            }
            f = now;
        }
        return new Result(module, history.stream().mapToDouble(Double::doubleValue).toArray(), iterations, stop);
    }

    /**
     * Full-batch minimization, one Spark job per objective evaluation. L-BFGS runs PyTorch's algorithm with the
     * strong-Wolfe line search one iteration per {@code step}, so the objective is recorded after each; a
     * closure call at parameters evaluated just before (the start of the next step after the line search's
     * last point) reuses that evaluation instead of running another job.
     */
    static Result minimize(List<Tensor> params, Supplier<Tensor> objective, String optimizer, int maxIter, double tol, double stepSize, Module module) {
        CachedClosure closure = new CachedClosure(params, objective);
        Optimizer opt;
        switch (optimizer) {
            case "lbfgs": opt = new LBFGS(params, 1, 1, null, 0, 1e-12, 10, LBFGS.STRONG_WOLFE); break;
            case "adam": opt = new Adam(params, stepSize); break;
            case "sgd": opt = new SGD(params, stepSize); break;
            default: throw new IllegalArgumentException("optimizer must be lbfgs, adam or sgd, got '" + optimizer + "'");
        }
        List<Double> history = new ArrayList<>();
        String stop = "maxIter reached";
        int iterations = 0;
        for (int it = 0; it < maxIter; it++) {
            double f = opt.step(closure).item();
            if (it == 0) history.add(f);
            iterations++;
            double now = closure.get().item();
            history.add(now);
            if (!Double.isFinite(now)) throw new IllegalStateException("the objective became " + now + " at iteration " + iterations + " (try a smaller stepSize)");
            if (closure.gradientMax() == 0) {
                stop = "gradient vanished";
                break;
            }
            if (Math.abs(f - now) <= tol * Math.max(Math.abs(now), 1)) {
                stop = "tol reached";
                break;
            }
        }
        double[] h = new double[history.size()];
        for (int i = 0; i < h.length; i++) h[i] = history.get(i);
        return new Result(module, h, iterations, stop);
    }

    /** The objective with its gradient, remembered for the last parameter values it was evaluated at. */
    static final class CachedClosure implements Supplier<Tensor> {
        private final List<Tensor> params;
        private final Supplier<Tensor> objective;
        private double[][] at;
        private double loss;
        private Tensor[] grads;

        CachedClosure(List<Tensor> params, Supplier<Tensor> objective) {
            this.params = params;
            this.objective = objective;
        }

        @Override
        public Tensor get() {
            if (!sameAsCached()) {
                for (Tensor p : params) p.setGrad(null);
                Tensor l = objective.get();
                l.backward();
                at = new double[params.size()][];
                grads = new Tensor[params.size()];
                for (int i = 0; i < at.length; i++) {
                    at[i] = params.get(i).toArray();
                    Tensor g = params.get(i).grad();
                    grads[i] = g == null ? Tensor.zeros(params.get(i).shape()) : Tensor.fromArray(g.toArray(), g.shape());
                }
                loss = l.item();
            }
            for (int i = 0; i < at.length; i++) params.get(i).setGrad(Tensor.fromArray(grads[i].toArrayUnsafe(), grads[i].shape()));
            return Tensor.scalar(loss);
        }

        private boolean sameAsCached() {
            if (at == null) return false;
            for (int i = 0; i < at.length; i++) if (!Arrays.equals(at[i], params.get(i).toArrayUnsafe())) return false;
            return true;
        }

        double gradientMax() {
            double m = 0;
            for (Tensor g : grads) for (double v : g.toArrayUnsafe()) m = Math.max(m, Math.abs(v));
            return m;
        }
    }
}
