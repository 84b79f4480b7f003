package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import dev.sparkautograd.testing.StageNames;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused matmul of a reduction (data block times a parameter without a graph, the engine on the
 * product only, then X^T g per block) gives the gradients of the unfused path: the same bits, so
 * certainly within 1e-12 relative, for a vector and a matrix parameter; shapes it does not cover
 * (the data used twice) run unfused.
 */
class DistFusedMatmulTest {

    private static DistData data(int partitions) {
        Map<String, Tensor> cols = new LinkedHashMap<>();
        cols.put("x", Tensor.randn(11, 503, 7));
        cols.put("y", Tensor.rand(12, 503).gt(0.5).mul(1.0));
        return DistData.parallelize(SharedSpark.jsc(), partitions, cols, DistData.options().blockRows(40));
    }

    private static double[] lossAndGrads(boolean fuse, List<Tensor> init, Function<List<Tensor>, Tensor> model) {
        return FusionSwitch.lossAndGrads(DistTensor.FUSE_MATMUL, fuse, init, model);
    }

    /** Checks fused == unfused bitwise and returns the products the fused run's job names as fused. */
    private static long check(List<Tensor> init, Function<List<Tensor>, Tensor> model) {
        double[][] unfusedRun = new double[1][], fusedRun = new double[1][];
        List<String> off = StageNames.during(() -> unfusedRun[0] = lossAndGrads(false, init, model));
        assertEquals(List.of(), StageNames.mentioning(off, "fused matmul"), "fusion off: nothing fused");
        List<String> on = StageNames.during(() -> fusedRun[0] = lossAndGrads(true, init, model));
        double[] unfused = unfusedRun[0], fused = fusedRun[0];
        List<String> named = StageNames.mentioning(on, "fused matmul: ");
        long fusedBlocks = named.isEmpty() ? 0 : named.get(0).replaceAll(".*fused matmul: ([^;\\]]*).*", "$1").split(", ").length;
        double diff = 0, scale = 0;
        for (int i = 0; i < fused.length; i++) {
            diff = Math.max(diff, Math.abs(fused[i] - unfused[i]));
            scale = Math.max(scale, Math.abs(unfused[i]));
        }
        assertTrue(diff <= 1e-12 * scale, "relative difference " + diff / scale);
        assertArrayEquals(unfused, fused, 0.0, "the same kernels in the same order: the same bits");
        return fusedBlocks;
    }

    @Test
    void logisticLossWithAVectorParameterIsFused() {
        DistData d = data(3);
        DistTensor x = d.tensor("x"), y = d.tensor("y");
        long fused = check(List.of(Tensor.randn(13, 7).mul(0.3), Tensor.scalar(0.2)), p -> {
            DistTensor z = x.matmul(p.get(0)).add(p.get(1));
            return z.softplus().sub(y.mul(z)).mean();
        });
        assertEquals(1, fused, "the job runs its one product fused");
    }

    @Test
    void mlpWithAMatrixParameterIsFusedAtTheDataOnly() {
        DistData d = data(2);
        DistTensor x = d.tensor("x"), y = d.tensor("y");
        long fused = check(List.of(Tensor.randn(14, 7, 5).mul(0.4), Tensor.randn(15, 5).mul(0.1), Tensor.randn(16, 5), Tensor.scalar(-0.1)),
                p -> x.matmul(p.get(0)).add(p.get(1)).tanh().matmul(p.get(2)).add(p.get(3)).sub(y).square().mean());
        assertEquals(1, fused, "the first layer's product is fused, the second (not of data) is not");
    }

    @Test
    void dataOrParameterUsedTwiceRunsUnfused() {
        DistData d = data(3);
        DistTensor x = d.tensor("x");
        assertEquals(0, check(List.of(Tensor.randn(17, 7).mul(0.3)), p -> x.matmul(p.get(0)).mul(x.matmul(p.get(0))).mean()));
        assertEquals(0, check(List.of(Tensor.randn(18, 7).mul(0.3)), p -> x.matmul(p.get(0)).sigmoid().mul(x.sumRows(1, false)).sum()));
    }
}
