package dev.sparkautograd.ml;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.nn.Module;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.regression.RegressionModel;
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
 * A fitted {@link AutogradRegressor}: {@code transform} adds {@code prediction}, the network's one output. The
 * parameters are kept as plain arrays (the model is serialized into Spark's transform); the network (the
 * built-in layers, or the user's module class, recorded by name) is rebuilt from them once per JVM.
 */
public class AutogradRegressionModel extends RegressionModel<Vector, AutogradRegressionModel> implements MLWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final int numFeatures;
    private final int[] hiddenLayers;
    private final String activation;
    private final String moduleClass;
    private final LinkedHashMap<String, double[]> values = new LinkedHashMap<>();
    private final LinkedHashMap<String, int[]> shapes = new LinkedHashMap<>();
    private final AutogradTrainingSummary summary;
    private transient volatile Module network;

    /**
     * An empty model (no features, no parameters): what Spark Connect's ML discovery instantiates through
     * {@code META-INF/services}. A usable model comes from {@link AutogradRegressor#fit} or {@link #load}.
     */
    public AutogradRegressionModel() {
        this(Identifiable$.MODULE$.randomUID("autogradRegressionModel"), 0, new int[0], "tanh", "", Map.of(), null);
    }

    AutogradRegressionModel(String uid, int numFeatures, int[] hiddenLayers, String activation, String moduleClass,
                            Map<String, Tensor> parameters, AutogradTrainingSummary summary) {
        this(Uids.stash(uid), numFeatures, hiddenLayers, activation, moduleClass, parameters, summary, true);
    }

    private AutogradRegressionModel(String uid, int numFeatures, int[] hiddenLayers, String activation, String moduleClass,
                                    Map<String, Tensor> parameters, AutogradTrainingSummary summary, boolean stashed) {
        this.uid = uid;
        Uids.done();
        this.numFeatures = numFeatures;
        this.hiddenLayers = hiddenLayers.clone();
        this.activation = activation;
        this.moduleClass = moduleClass == null ? "" : moduleClass;
        this.summary = summary;
        for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
            values.put(e.getKey(), e.getValue().toArray());
            shapes.put(e.getKey(), e.getValue().shape());
        }
    }

    @Override
    public String uid() {
        return uid != null ? uid : Uids.pending();
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
        if (summary == null) throw new IllegalStateException("No training summary available for this AutogradRegressionModel (a loaded model has none)");
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

    private Module network() {
        Module n = network;
        if (n == null) {
            synchronized (this) {
                if (network == null) {
                    Module m = Training.network(moduleClass, numFeatures, hiddenLayers, activation, 1, 0);
                    m.loadStateDict(parameters());
                    network = m;
                }
                n = network;
            }
        }
        return n;
    }

    @Override
    public double predict(Vector features) {
        if (features.size() != numFeatures) {
            throw new IllegalArgumentException("the features vector has " + features.size() + " values; the model was fit on " + numFeatures);
        }
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            return network().forward(Tensor.fromArray(features.toArray(), 1, numFeatures)).item();
        }
    }

    @Override
    public AutogradRegressionModel copy(ParamMap extra) {
        AutogradRegressionModel m = new AutogradRegressionModel(uid, numFeatures, hiddenLayers, activation, moduleClass, parameters(), summary);
        return copyValues(m, extra).setParent(parent());
    }

    // ---- save and load: as AutogradClassificationModel (metadata, spec, data) ------------------------------

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    public static MLReader<AutogradRegressionModel> read() {
        return new Reader();
    }

    public static AutogradRegressionModel load(String path) {
        return read().load(path);
    }

    private static final class Writer extends MLWriter {
        private final AutogradRegressionModel model;

        Writer(AutogradRegressionModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            DefaultParamsWriter$.MODULE$.saveMetadata(model, path, sparkSession());
            NetworkFiles.save(sparkSession(), path, new NetworkFiles.Spec(0, model.numFeatures, model.hiddenLayers, model.activation, model.moduleClass),
                    model.values, model.shapes);
        }
    }

    private static final class Reader extends MLReader<AutogradRegressionModel> {
        @Override
        public AutogradRegressionModel load(String path) {
            DefaultParamsReader.Metadata meta = DefaultParamsReader$.MODULE$.loadMetadata(path, sparkSession(), AutogradRegressionModel.class.getName());
            Map<String, Tensor> params = NetworkFiles.loadParameters(sparkSession(), path);
            NetworkFiles.Spec spec = NetworkFiles.loadSpec(sparkSession(), path, params);
            AutogradRegressionModel model = new AutogradRegressionModel(meta.uid(), spec.numFeatures(), spec.hiddenLayers(), spec.activation(),
                    spec.moduleClass(), params, null);
            meta.getAndSetParams(model, scala.Option.empty());
            return model;
        }
    }
}
