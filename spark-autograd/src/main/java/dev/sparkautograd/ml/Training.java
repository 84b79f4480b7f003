package dev.sparkautograd.ml;

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
import dev.sparkautograd.optim.Optimizer;
import dev.sparkautograd.optim.SGD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;

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

    static int outputs(int numClasses, int[] hidden) {
        return numClasses == 2 && hidden.length == 0 ? 1 : numClasses;
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

    /** The parameters after training, the history and the module. */
    record Result(Module module, double[] history, int iterations, String stoppedBecause) {}

    static Result fit(Dataset<?> ds, String featuresCol, String labelCol, int numClasses, int[] hidden, String activation,
                      String optimizer, int maxIter, double tol, double regParam, double stepSize, long seed) {
        @SuppressWarnings("unchecked")
        Dataset<Row> rows = (Dataset<Row>) ds;
        DistData data = DistData.fromDataset(rows, DistData.options().storageLevel(StorageLevel.MEMORY_AND_DISK()), featuresCol, labelCol);
        try {
            DistTensor x = data.tensor(featuresCol), y = data.tensor(labelCol);
            int features = x.shape()[1];
            int outputs = outputs(numClasses, hidden);
            Module module = network(features, hidden, activation, outputs, seed);
            DistTensor target = outputs == 1 ? y.mapBlocks(List.of(), (b, q) -> b.unsqueeze(1)) : y;
            List<Tensor> weights = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : module.namedParameters().entrySet()) if (e.getKey().endsWith("weight")) weights.add(e.getValue());
            Supplier<Tensor> objective = () -> {
                DistTensor z = module.forward(x);
                Tensor loss = outputs == 1 ? Losses.binaryCrossEntropyWithLogits(z, target) : Losses.crossEntropy(z, target);
                if (regParam != 0) {
                    Tensor sq = null;
                    for (Tensor w : weights) sq = sq == null ? w.square().sum() : sq.add(w.square().sum());
                    loss = loss.add(sq.mul(regParam / 2));
                }
                return loss;
            };
            return minimize(module.parameters(), objective, optimizer, maxIter, tol, stepSize, module);
        } finally {
            data.unpersist();
        }
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
