package dev.sparkautograd.ml;

import dev.sparkautograd.nn.Module;
import org.apache.spark.ml.Predictor;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;

import java.util.Arrays;

/**
 * A regressor trained with autograd over the partitioned rows, as a Spark ML {@code Estimator}: the features
 * (an ML Vector column) go through Linear layers of the sizes in {@code hiddenLayers} with {@code activation}
 * between them to one output (or through the user's {@code module}, {@code [rows, features]} to
 * {@code [rows, 1]}). The objective is half the mean squared error plus {@code regParam / 2} times the sum of the
 * squared parameters whose names do not end in "bias"; without hidden layers that is Spark's
 * {@code LinearRegression} with {@code standardization=false} and {@code elasticNetParam=0}.
 *
 * <p>The optimization Params ({@code optimizer}, {@code maxIter}, {@code tol}, {@code stepSize},
 * {@code batchSize}, {@code seed}) and {@code module} mean what they mean for {@link AutogradClassifier}.
 */
public class AutogradRegressor extends Predictor<Vector, AutogradRegressor, AutogradRegressionModel> implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;

    private final IntParam maxIter = new IntParam(this, "maxIter", "maximum number of iterations (>= 0)", ParamValidators.gtEq(0));
    private final DoubleParam tol = new DoubleParam(this, "tol", "convergence tolerance: the relative change of the objective over an iteration (>= 0)",
            ParamValidators.gtEq(0));
    private final DoubleParam regParam = new DoubleParam(this, "regParam", "L2 regularization: regParam / 2 * sum of squared weights (>= 0)",
            ParamValidators.gtEq(0));
    private final DoubleParam stepSize = new DoubleParam(this, "stepSize", "learning rate of adam and sgd (> 0)", ParamValidators.gt(0));
    private final LongParam seed = new LongParam(this, "seed", "random seed of the parameters' initialisation and the mini-batches");
    private final IntArrayParam hiddenLayers = new IntArrayParam(this, "hiddenLayers",
            "sizes of the hidden layers (empty: a linear model)", (int[] sizes) -> Arrays.stream(sizes).allMatch(x -> x > 0));
    private final Param<String> activation = new Param<>(this, "activation", "activation between layers: tanh, relu or sigmoid",
            ParamValidators.inArray(new String[] {"tanh", "relu", "sigmoid"}));
    private final Param<String> optimizer = new Param<>(this, "optimizer", "optimizer: lbfgs, newton, adam or sgd",
            ParamValidators.inArray(new String[] {"lbfgs", "newton", "adam", "sgd"}));
    private final IntParam batchSize = new IntParam(this, "batchSize",
            "rows per step of adam or sgd (0: the full batch; else mini-batches, an epoch of ceil(rows / batchSize) steps, maxIter counting epochs)", ParamValidators.gtEq(0));
    private final Param<String> module = new Param<>(this, "module",
            "class name of a dev.sparkautograd.nn.Module subclass to train instead of the Linear layers (empty: none)");

    public AutogradRegressor() {
        this(Identifiable$.MODULE$.randomUID("autogradRegressor"));
    }

    public AutogradRegressor(String uid) {
        this(Uids.stash(uid), true);
    }

    private AutogradRegressor(String uid, boolean stashed) {
        this.uid = uid;
        Uids.done();
        setDefault(maxIter, 100);
        setDefault(tol, 1e-6);
        setDefault(regParam, 0.0);
        setDefault(stepSize, 0.1);
        setDefault(seed, (long) getClass().getName().hashCode());
        setDefault(hiddenLayers, new int[0]);
        setDefault(activation, "tanh");
        setDefault(optimizer, "lbfgs");
        setDefault(batchSize, 0);
        setDefault(module, "");
    }

    @Override
    public String uid() {
        return uid != null ? uid : Uids.pending();
    }

    public IntParam maxIter() { return maxIter; }
    public DoubleParam tol() { return tol; }
    public DoubleParam regParam() { return regParam; }
    public DoubleParam stepSize() { return stepSize; }
    public LongParam seed() { return seed; }
    public IntArrayParam hiddenLayers() { return hiddenLayers; }
    public Param<String> activation() { return activation; }
    public Param<String> optimizer() { return optimizer; }
    public IntParam batchSize() { return batchSize; }
    public Param<String> module() { return module; }

    public int getMaxIter() { return (Integer) $(maxIter); }
    public double getTol() { return (Double) $(tol); }
    public double getRegParam() { return (Double) $(regParam); }
    public double getStepSize() { return (Double) $(stepSize); }
    public long getSeed() { return (Long) $(seed); }
    public int[] getHiddenLayers() { return $(hiddenLayers).clone(); }
    public String getActivation() { return $(activation); }
    public String getOptimizer() { return $(optimizer); }
    public int getBatchSize() { return (Integer) $(batchSize); }
    public String getModule() { return $(module); }

    public AutogradRegressor setMaxIter(int value) { set(maxIter, value); return this; }
    public AutogradRegressor setTol(double value) { set(tol, value); return this; }
    public AutogradRegressor setRegParam(double value) { set(regParam, value); return this; }
    public AutogradRegressor setStepSize(double value) { set(stepSize, value); return this; }
    public AutogradRegressor setSeed(long value) { set(seed, value); return this; }
    public AutogradRegressor setHiddenLayers(int... value) { set(hiddenLayers, value.clone()); return this; }
    public AutogradRegressor setActivation(String value) { set(activation, value); return this; }
    public AutogradRegressor setOptimizer(String value) { set(optimizer, value); return this; }
    public AutogradRegressor setBatchSize(int value) { set(batchSize, value); return this; }
    public AutogradRegressor setModule(String className) { set(module, className); return this; }
    public AutogradRegressor setModule(Class<? extends Module> c) { return setModule(c.getName()); }

    /** Reads an estimator saved with {@code write().save(path)} (its Params). */
    public static MLReader<AutogradRegressor> read() {
        return new DefaultParamsReader<>();
    }

    public static AutogradRegressor load(String path) {
        return read().load(path);
    }

    @Override
    public AutogradRegressor copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Spark's {@code fit} has checked the schema (features a Vector, label numeric) and cast the label to double. */
    @Override
    public AutogradRegressionModel train(Dataset<?> dataset) {
        Training.checkTargets(dataset, getLabelCol());
        int[] hidden = getHiddenLayers();
        String moduleClass = getModule();
        Training.Result r = Training.fit(dataset, getFeaturesCol(), getLabelCol(), Training.Loss.HALF_SQUARED_ERROR, 1,
                features -> Training.network(moduleClass, features, hidden, getActivation(), 1, getSeed()),
                new Training.Settings(getOptimizer(), getMaxIter(), getTol(), getRegParam(), getStepSize(), getSeed(), getBatchSize()));
        return new AutogradRegressionModel(uid, r.features(), hidden, getActivation(), moduleClass, r.module().stateDict(),
                new AutogradTrainingSummary(r.history(), r.iterations(), r.stoppedBecause()));
    }
}
