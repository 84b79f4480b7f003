package dev.sparkautograd.ml;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.nn.Module;
import org.apache.spark.ml.classification.ProbabilisticClassificationModel;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.ParamMap;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fitted {@link AutogradClassifier}: {@code transform} adds {@code rawPrediction} (the logits; for the
 * one-logit binary model {@code [-z, z]}, as Spark's LogisticRegression), {@code probability} (the softmax,
 * or {@code [1 - sigmoid(z), sigmoid(z)]}) and {@code prediction}. The parameters are kept as plain arrays
 * (the model is serialized into Spark's transform); the network is rebuilt from them once per JVM.
 */
public class AutogradClassificationModel extends ProbabilisticClassificationModel<Vector, AutogradClassificationModel> {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final int numClasses, numFeatures;
    private final int[] hiddenLayers;
    private final String activation;
    private final LinkedHashMap<String, double[]> values = new LinkedHashMap<>();
    private final LinkedHashMap<String, int[]> shapes = new LinkedHashMap<>();
    private final AutogradTrainingSummary summary;
    private transient volatile Module network;

    AutogradClassificationModel(String uid, int numClasses, int[] hiddenLayers, String activation, Module trained, AutogradTrainingSummary summary) {
        this(Uids.stash(uid), numClasses, hiddenLayers, activation, trained, summary, true);
    }

    private AutogradClassificationModel(String uid, int numClasses, int[] hiddenLayers, String activation, Module trained,
                                        AutogradTrainingSummary summary, boolean stashed) {
        this.uid = uid;
        Uids.done();
        this.numClasses = numClasses;
        this.hiddenLayers = hiddenLayers.clone();
        this.activation = activation;
        this.summary = summary;
        for (Map.Entry<String, Tensor> e : trained.stateDict().entrySet()) {
            values.put(e.getKey(), e.getValue().toArray());
            shapes.put(e.getKey(), e.getValue().shape());
        }
        this.numFeatures = shapes.values().iterator().next()[1];
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

    public AutogradTrainingSummary summary() {
        return summary;
    }

    private boolean oneLogit() {
        return Training.outputs(numClasses, hiddenLayers) == 1;
    }

    private Module network() {
        Module n = network;
        if (n == null) {
            synchronized (this) {
                if (network == null) {
                    Module m = Training.network(numFeatures, hiddenLayers, activation, Training.outputs(numClasses, hiddenLayers), 0);
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
        AutogradClassificationModel m = new AutogradClassificationModel(uid, numClasses, hiddenLayers, activation, network(), summary);
        return copyValues(m, extra).setParent(parent());
    }
}
