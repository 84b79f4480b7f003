package dev.sparkautograd.ml;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.nn.Module;
import org.apache.spark.ml.classification.ProbabilisticClassificationModel;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fitted {@link AutogradClassifier}: {@code transform} adds {@code rawPrediction} (the logits; for the
 * one-logit binary model {@code [-z, z]}, as Spark's LogisticRegression), {@code probability} (the softmax,
 * or {@code [1 - sigmoid(z), sigmoid(z)]}) and {@code prediction}. The parameters are kept as plain arrays
 * (the model is serialized into Spark's transform); the network (the built-in layers, or the user's module
 * class, recorded by name) is rebuilt from them once per JVM.
 */
public class AutogradClassificationModel extends ProbabilisticClassificationModel<Vector, AutogradClassificationModel> implements MLWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final int numClasses, numFeatures;
    private final int[] hiddenLayers;
    private final String activation;
    private final String moduleClass;
    private final LinkedHashMap<String, double[]> values = new LinkedHashMap<>();
    private final LinkedHashMap<String, int[]> shapes = new LinkedHashMap<>();
    private final AutogradTrainingSummary summary;
    private transient volatile Module network;

    /**
     * An empty model (2 classes, no features, no parameters): what Spark Connect's ML discovery instantiates
     * through {@code META-INF/services}. A usable model comes from {@link AutogradClassifier#fit} or {@link #load}.
     */
    public AutogradClassificationModel() {
        this(Identifiable$.MODULE$.randomUID("autogradClassificationModel"), 2, 0, new int[0], "tanh", "", Map.of(), null);
    }

    AutogradClassificationModel(String uid, int numClasses, int numFeatures, int[] hiddenLayers, String activation, String moduleClass,
                                Map<String, Tensor> parameters, AutogradTrainingSummary summary) {
        this(Uids.stash(uid), numClasses, numFeatures, hiddenLayers, activation, moduleClass, parameters, summary, true);
    }

    private AutogradClassificationModel(String uid, int numClasses, int numFeatures, int[] hiddenLayers, String activation, String moduleClass,
                                        Map<String, Tensor> parameters, AutogradTrainingSummary summary, boolean stashed) {
        this.uid = uid;
        Uids.done();
        this.numClasses = numClasses;
        this.hiddenLayers = hiddenLayers.clone();
        this.activation = activation;
        this.moduleClass = moduleClass == null ? "" : moduleClass;
        this.summary = summary;
        for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
            values.put(e.getKey(), e.getValue().toArray());
            shapes.put(e.getKey(), e.getValue().shape());
        }
        this.numFeatures = numFeatures;
    }

    @Override
    public String uid() {
        return uid != null ? uid : Uids.pending();
    }

    @Override
    public int numClasses() {
        return numClasses;
    }

    @Override
    public int numFeatures() {
        return numFeatures;
    }

    /** The trained parameters by name ("0.weight", "0.bias", ...), as copies. */
    public Map<String, Tensor> parameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, Tensor.fromArray(v, shapes.get(k))));
        return out;
    }

    /** Whether this model has the summary of its training (a loaded model has none, as in Spark). */
    public boolean hasSummary() {
        return summary != null;
    }

    public AutogradTrainingSummary summary() {
        if (summary == null) throw new IllegalStateException("No training summary available for this AutogradClassificationModel (a loaded model has none)");
        return summary;
    }

    public int[] hiddenLayers() {
        return hiddenLayers.clone();
    }

    public String activation() {
        return activation;
    }

    /** The class name of the user's module the model was fit with ("" for the built-in Linear layers). */
    public String moduleClass() {
        return moduleClass;
    }

    private boolean oneLogit() {
        return Training.outputs(numClasses, hiddenLayers, moduleClass) == 1;
    }

    private Module network() {
        Module n = network;
        if (n == null) {
            synchronized (this) {
                if (network == null) {
                    Module m = Training.network(moduleClass, numFeatures, hiddenLayers, activation, Training.outputs(numClasses, hiddenLayers, moduleClass), 0);
                    m.loadStateDict(parameters());
                    network = m;
                }
                n = network;
            }
        }
        return n;
    }

    @Override
    public Vector predictRaw(Vector features) {
        if (features.size() != numFeatures) {
            throw new IllegalArgumentException("the features vector has " + features.size() + " values; the model was fit on " + numFeatures);
        }
        double[] out;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            out = network().forward(Tensor.fromArray(features.toArray(), 1, numFeatures)).toArray();
        }
        return oneLogit() ? Vectors.dense(-out[0], out[0]) : Vectors.dense(out);
    }

    @Override
    public Vector raw2probabilityInPlace(Vector raw) {
        double[] v = ((DenseVector) raw).values();
        if (oneLogit()) {
            double p = 1 / (1 + Math.exp(-v[1]));
            v[0] = 1 - p;
            v[1] = p;
            return raw;
        }
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double x : v) max = Math.max(max, x);
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.exp(v[i] - max);
            sum += v[i];
        }
        for (int i = 0; i < v.length; i++) v[i] /= sum;
        return raw;
    }

    /**
     * Scala's covariant override seen from Java: the two inherited declarations differ only in their
     * generic return types, so Java needs this one (the erased type satisfies both).
     */
    @Override
    @SuppressWarnings("rawtypes")
    public scala.Tuple3 findSummaryModel() {
        return super.findSummaryModel();
    }

    @Override
    public AutogradClassificationModel copy(ParamMap extra) {
        AutogradClassificationModel m = new AutogradClassificationModel(uid, numClasses, numFeatures, hiddenLayers, activation, moduleClass, parameters(), summary);
        return copyValues(m, extra).setParent(parent());
    }

    // ---- save and load -------------------------------------------------------------------------------

    /**
     * Saves as Spark's models do: the Params as {@code metadata} (JSON), the network's shape as {@code spec}
     * and the parameters as {@code data} (Parquet, one row per parameter: name, shape, values; exact doubles).
     */
    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<AutogradClassificationModel> read() {
        return new Reader();
    }

    public static AutogradClassificationModel load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final AutogradClassificationModel model;

        Writer(AutogradClassificationModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            DefaultParamsWriter$.MODULE$.saveMetadata(model, path, sparkSession());
            NetworkFiles.save(sparkSession(), path, new NetworkFiles.Spec(model.numClasses, model.numFeatures, model.hiddenLayers, model.activation,
                    model.moduleClass), model.values, model.shapes);
        }
    }

    private static final class Reader extends MLReader<AutogradClassificationModel> {
        @Override
        public AutogradClassificationModel load(String path) {
            DefaultParamsReader.Metadata meta = DefaultParamsReader$.MODULE$.loadMetadata(path, sparkSession(), AutogradClassificationModel.class.getName());
            Map<String, Tensor> params = NetworkFiles.loadParameters(sparkSession(), path);
            NetworkFiles.Spec spec = NetworkFiles.loadSpec(sparkSession(), path, params);
            AutogradClassificationModel model = new AutogradClassificationModel(meta.uid(), spec.numClasses(), spec.numFeatures(), spec.hiddenLayers(),
                    spec.activation(), spec.moduleClass(), params, null);
            meta.getAndSetParams(model, scala.Option.empty());
            return model;
        }
    }
}
