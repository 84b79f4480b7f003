package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Runs a model with one of the reductions' fusions ({@link DistTensor#FUSE_MATMUL}, {@link DistTensor#FUSE_POINTWISE}) on or off. */
final class FusionSwitch {
    private FusionSwitch() {}

    /**
     * {@code [loss, every parameter's gradient]} of {@code model} at fresh copies of {@code init}, built
     * with {@code property} set to {@code on} for this thread. A parameter the model leaves unused has no
     * gradient: one NaN marks it.
     */
    static double[] lossAndGrads(String property, boolean on, List<Tensor> init, Function<List<Tensor>, Tensor> model) {
        JavaSparkContext sc = SharedSpark.jsc();
        List<Tensor> ps = new ArrayList<>();
        for (Tensor t : init) ps.add(t.detach().requiresGrad_(true));
        sc.setLocalProperty(property, Boolean.toString(on));
        Tensor loss;
        try {
            loss = model.apply(ps);
        } finally {
            sc.setLocalProperty(property, null);
        }
        loss.backward();
        List<Double> out = new ArrayList<>();
        out.add(loss.item());
        for (Tensor p : ps) {
            if (p.grad() == null) out.add(Double.NaN);
            else for (double v : p.grad().toArray()) out.add(v);
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
