package dev.sparkautograd.ml;

import dev.sparkautograd.nn.Module;
import org.apache.spark.ml.classification.ProbabilisticClassifier;
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
 * A classifier trained with autograd over the partitioned rows, as a Spark ML {@code Estimator}: the features
 * (an ML Vector column) go through Linear layers of the sizes in {@code hiddenLayers} with {@code activation}
 * between them (or through the user's {@code module}); the objective is the mean loss over the rows plus
 * {@code regParam / 2} times the sum of the squared parameters whose names do not end in "bias". Without hidden
 * layers and with 2 classes the model has one logit and the logistic loss, exactly Spark's binomial
 * {@code LogisticRegression} with {@code standardization=false}; otherwise it has one logit per class and the
 * softmax cross-entropy (Spark's multinomial objective).
 *
 * <p>{@code optimizer}: "lbfgs" (the default; PyTorch's L-BFGS with the strong-Wolfe line search, history 10),
 * "newton" (trust-region Newton-CG, {@link dev.sparkautograd.optim.NewtonCG}, one trial step per iteration),
 * "adam" or "sgd" (learning rate {@code stepSize}). Full-batch, each objective evaluation is one Spark job over
 * the rows (cached for the fit); it stops after {@code maxIter} iterations, or when an iteration changes the
 * objective by at most {@code tol * max(|objective|, 1)}. With {@code batchSize > 0} (adam and sgd only) each step
 * is one Spark job over a mini-batch of about {@code batchSize} rows drawn without a shuffle (each partition walks
 * its rows in a seeded order, so an epoch of {@code ceil(rows / batchSize)} steps reads every row once; the same
 * seed and partitioning give the same bits); {@code maxIter} then counts epochs (as full-batch adam and sgd count
 * passes), {@code totalIterations} the steps, and {@code tol} is not used.
 *
 * <p>{@code module}: the class name of a {@link Module} subclass with a public constructor
 * {@code (int inputs, int outputs, long seed)}, {@code (int inputs, int outputs)} or {@code ()}; its forward takes
 * {@code [rows, features]} to {@code [rows, numClasses]} logits. A fitted model records the name and rebuilds the
 * module on load (the class must be on the classpath there too); {@code hiddenLayers} and {@code activation} are
 * then unused.
 */
public class AutogradClassifier extends ProbabilisticClassifier<Vector, AutogradClassifier, AutogradClassificationModel>
        implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;

    private final IntParam maxIter = new IntParam(this, "maxIter", "maximum number of iterations (>= 0)", ParamValidators.gtEq(0));
    private final DoubleParam tol = new DoubleParam(this, "tol", "convergence tolerance: the relative change of the objective over an iteration (>= 0)",
            ParamValidators.gtEq(0));
    private final DoubleParam regParam = new DoubleParam(this, "regParam", "L2 regularization: regParam / 2 * sum of squared weights (>= 0)",
            ParamValidators.gtEq(0));
    private final DoubleParam stepSize = new DoubleParam(this, "stepSize", "learning rate of adam and sgd (> 0)", ParamValidators.gt(0));
    private final LongParam seed = new LongParam(this, "seed", "random seed of the parameters' initialisation");
    private final IntArrayParam hiddenLayers = new IntArrayParam(this, "hiddenLayers",
            "sizes of the hidden layers (empty: a linear model)", AutogradClassifier::positiveSizes);
    private final Param<String> activation = new Param<>(this, "activation", "activation between layers: tanh, relu or sigmoid",
            ParamValidators.inArray(new String[] {"tanh", "relu", "sigmoid"}));
    private final Param<String> optimizer = new Param<>(this, "optimizer", "optimizer: lbfgs, newton, adam or sgd",
            ParamValidators.inArray(new String[] {"lbfgs", "newton", "adam", "sgd"}));
    private final IntParam batchSize = new IntParam(this, "batchSize",
            "rows per step of adam or sgd (0: the full batch; else mini-batches, an epoch of ceil(rows / batchSize) steps, maxIter counting epochs)", ParamValidators.gtEq(0));
    private final Param<String> module = new Param<>(this, "module",
            "class name of a dev.sparkautograd.nn.Module subclass to train instead of the Linear layers (empty: none)");

    public AutogradClassifier() {
        this(Identifiable$.MODULE$.randomUID("autogradClassifier"));
    }

    public AutogradClassifier(String uid) {
        this(Uids.stash(uid), true);
    }

    private AutogradClassifier(String uid, boolean stashed) {
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

    private static boolean positiveSizes(int[] sizes) {
        return Arrays.stream(sizes).allMatch(s -> s > 0);
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

    public AutogradClassifier setMaxIter(int value) { set(maxIter, value); return this; }
    public AutogradClassifier setTol(double value) { set(tol, value); return this; }
    public AutogradClassifier setRegParam(double value) { set(regParam, value); return this; }
    public AutogradClassifier setStepSize(double value) { set(stepSize, value); return this; }
    public AutogradClassifier setSeed(long value) { set(seed, value); return this; }
    public AutogradClassifier setHiddenLayers(int... value) { set(hiddenLayers, value.clone()); return this; }
    public AutogradClassifier setActivation(String value) { set(activation, value); return this; }
    public AutogradClassifier setOptimizer(String value) { set(optimizer, value); return this; }
    public AutogradClassifier setBatchSize(int value) { set(batchSize, value); return this; }
    /** A Module subclass to train (see the class comment for its constructor); {@code setModule(MyNet.class)} is the same. */
    public AutogradClassifier setModule(String className) { set(module, className); return this; }
    public AutogradClassifier setModule(Class<? extends Module> c) { return setModule(c.getName()); }

    /** Reads an estimator saved with {@code write().save(path)} (its Params). */
    public static MLReader<AutogradClassifier> read() {
        return new DefaultParamsReader<>();
    }

    public static AutogradClassifier load(String path) {
        return read().load(path);
    }

    @Override
    public AutogradClassifier copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Spark's {@code fit} has checked the schema (features a Vector, label numeric) and cast the label to double. */
    @Override
    public AutogradClassificationModel train(Dataset<?> dataset) {
        int numClasses = Training.checkLabels(dataset, getLabelCol());
        int[] hidden = getHiddenLayers();
        String moduleClass = getModule();
        int outputs = Training.outputs(numClasses, hidden, moduleClass);
        Training.Result r = Training.fit(dataset, getFeaturesCol(), getLabelCol(),
                outputs == 1 ? Training.Loss.LOGISTIC : Training.Loss.CROSS_ENTROPY, outputs,
                features -> Training.network(moduleClass, features, hidden, getActivation(), outputs, getSeed()),
                new Training.Settings(getOptimizer(), getMaxIter(), getTol(), getRegParam(), getStepSize(), getSeed(), getBatchSize()));
        Module m = r.module();
        return new AutogradClassificationModel(uid, numClasses, r.features(), hidden, getActivation(), moduleClass, m.stateDict(),
                new AutogradTrainingSummary(r.history(), r.iterations(), r.stoppedBecause()));
    }
}
