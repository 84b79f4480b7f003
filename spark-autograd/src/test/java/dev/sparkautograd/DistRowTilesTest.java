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
 * The one-read pass of a wholly fused reduction (dist.RowTiles: each block in tiles of rows, margins, the row
 * program and the tile's X^T g while the tile is in cache): where the unfused engine's kernels are loops (blocks of
 * at most 4,096 multiply-adds) it gives their bits, with several tiles per block; on larger blocks, where the engine
 * calls BLAS, it is within rounding of it (1e-12 relative) and the same bits run after run. Plans it does not cover
 * (a matrix parameter) do not name it.
 */
class DistRowTilesTest {

    private static DistData data(int rows, int d, int blockRows, int partitions) {
        Map<String, Tensor> cols = new LinkedHashMap<>();
        cols.put("x", Tensor.randn(41L + d, rows, d));
        cols.put("y", Tensor.rand(42L + d, rows).gt(0.5).mul(1.0));
        cols.put("weight", Tensor.rand(43L + d, rows).add(0.5));
        return DistData.parallelize(SharedSpark.jsc(), partitions, cols, DistData.options().blockRows(blockRows));
    }

    /** A weighted logistic loss with a bias: matmul, then add, softplus, mul, sub, mul (weights): one read per row. */
    private static Function<List<Tensor>, Tensor> logistic(DistData d) {
        DistTensor x = d.tensor("x"), y = d.tensor("y"), weight = d.tensor("weight");
        return p -> {
            DistTensor z = x.matmul(p.get(0)).add(p.get(1));
            return z.softplus().sub(y.mul(z)).mul(weight).mean();
        };
    }

    private static List<Tensor> init(int d) {
        return List.of(Tensor.randn(44L + d, d).mul(0.1), Tensor.scalar(0.2));
    }

    /** [loss, gradients] with the matmul fused (so one read per row) or not, and the job names of the run. */
    private static double[] run(boolean fused, List<Tensor> init, Function<List<Tensor>, Tensor> model, List<List<String>> names) {
        double[][] out = new double[1][];
        SharedSpark.jsc().setLocalProperty(DistTensor.ONE_READ_PASS, "true"); // opt-in
        try {
            names.add(StageNames.during(() -> out[0] = FusionSwitch.lossAndGrads(DistTensor.FUSE_MATMUL, fused, init, model)));
        } finally {
            SharedSpark.jsc().setLocalProperty(DistTensor.ONE_READ_PASS, null);
        }
        return out[0];
    }

    private static double relativeDifference(double[] a, double[] b) {
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    @Test
    void withSeveralTilesPerBlockItGivesTheLoopEnginesBits() {
        // 200 features: tiles of 8 rows (12.5 KiB), blocks of 20 rows (tiles of 8, 8 and 4) (4,000 multiply-adds: the engine's loops), 3 partitions
        DistData d = data(230, 200, 20, 3);
        List<List<String>> names = new java.util.ArrayList<>();
        double[] unfused = run(false, init(200), logistic(d), names);
        double[] tiled = run(true, init(200), logistic(d), names);
        assertEquals(List.of(), StageNames.mentioning(names.get(0), "one read per row"), "matmul fusion off: no one-read pass");
        assertEquals(1, StageNames.mentioning(names.get(1), "one read per row: matmul").size(), "the job names its one-read pass: " + names.get(1));
        assertArrayEquals(unfused, tiled, 0.0, "the loops' order, tile by tile: the same bits");
    }

    @Test
    void onBlasSizedBlocksItIsWithinRoundingOfTheEngineAndReproducible() {
        // 50 features, blocks of 500 rows (25,000 multiply-adds: the engine calls BLAS dgemv), tiles of 56 rows and a ragged last one
        DistData d = data(1234, 50, 500, 2);
        List<List<String>> names = new java.util.ArrayList<>();
        double[] unfused = run(false, init(50), logistic(d), names);
        double[] tiled = run(true, init(50), logistic(d), names);
        double[] again = run(true, init(50), logistic(d), names);
        assertTrue(relativeDifference(tiled, unfused) <= 1e-12, "relative difference " + relativeDifference(tiled, unfused));
        assertArrayEquals(tiled, again, 0.0, "run after run, the same bits");
        // and the closed form: dL/dw = mean(weight * (sigmoid(z) - y) x), dL/db = mean(weight * (sigmoid(z) - y))
        Tensor x = d.tensor("x").collect(), y = d.tensor("y").collect(), weight = d.tensor("weight").collect();
        List<Tensor> p = init(50);
        Tensor r = x.matmul(p.get(0)).add(p.get(1)).sigmoid().sub(y).mul(weight);
        double[] gw = r.unsqueeze(1).mul(x).mean(0, false).toArray();
        for (int j = 0; j < 50; j++) assertEquals(gw[j], tiled[1 + j], 1e-12, "dL/dw" + j);
        assertEquals(r.mean().item(), tiled[51], 1e-12, "dL/db");
    }

    @Test
    void itIsOffUnlessAskedFor() {
        DistData d = data(300, 5, 100, 2);
        List<String> names = StageNames.during(() -> FusionSwitch.lossAndGrads(DistTensor.FUSE_MATMUL, true, init(5), logistic(d)));
        assertEquals(List.of(), StageNames.mentioning(names, "one read per row"), "default: two passes: " + names);
        assertEquals(1, StageNames.mentioning(names, "fused matmul").size(), "still fused: " + names);
    }

    @Test
    void aMatrixParameterRunsWithoutIt() {
        DistData d = data(100, 6, 30, 2);
        DistTensor x = d.tensor("x"), y = d.tensor("y");
        List<List<String>> names = new java.util.ArrayList<>();
        run(true, List.of(Tensor.randn(45, 6, 4).mul(0.3), Tensor.randn(46, 4)),
                p -> x.matmul(p.get(0)).tanh().matmul(p.get(1)).sub(y).square().mean(), names);
        assertEquals(List.of(), StageNames.mentioning(names.get(0), "one read per row"), "not wholly fused: " + names.get(0));
    }
}
