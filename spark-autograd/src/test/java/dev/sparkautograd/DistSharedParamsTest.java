package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Tasks read a broadcast parameter bundle without copying it when every step only reads its parameters, and get
 * copies when a user's block function might write into one: either way each task computes with the values the
 * driver shipped, as if it had them alone (the same bits as parameters shipped inside each task).
 */
class DistSharedParamsTest {

    private static final String INLINE_BELOW = "spark.autograd.inlineParamsBelow";

    /** {@code step} with the bundle inline (each task deserializes its own) and broadcast (one object per executor). */
    private static double[][] inlineAndBroadcast(Supplier<double[]> step) {
        JavaSparkContext jsc = SharedSpark.jsc();
        double[] inline = step.get();
        jsc.setLocalProperty(INLINE_BELOW, "0");
        try {
            return new double[][] {inline, step.get(), step.get()};
        } finally {
            jsc.setLocalProperty(INLINE_BELOW, null);
        }
    }

    @Test
    void readOnlyStepsShareTheBroadcastValuesWithTheSameBitsAsPrivateCopies() {
        DistData d = DistBehaviourTest.data(4);
        double[] w0 = {0.1, -0.2, 0.3};
        Tensor w = Tensor.of(w0).requiresGrad_(true), b = Tensor.scalar(0.05).requiresGrad_(true);
        double[][] runs = inlineAndBroadcast(() -> {
            w.setGrad(null);
            b.setGrad(null);
            Tensor loss = DistBehaviourTest.logistic(d, w, b);
            loss.backward();
            double[] g = w.grad().toArray();
            return new double[] {loss.item(), g[0], g[1], g[2], b.grad().item()};
        });
        assertArrayEquals(runs[0], runs[1]);
        assertArrayEquals(runs[0], runs[2]);
        assertArrayEquals(w0, w.toArray(), "the driver's parameter is unchanged");
    }

    @Test
    void aBlockFunctionWritingIntoItsParameterChangesOnlyItsOwnTasksCopy() {
        DistData d = DistBehaviourTest.data(4);
        Tensor shift = Tensor.of(0.5, 0.25, -0.125);
        Tensor w = Tensor.of(0.1, -0.2, 0.3).requiresGrad_(true);
        double[][] runs = inlineAndBroadcast(() -> {
            w.setGrad(null);
            // the function adds one to its (constant) parameter in place at every block: within a task the blocks see
            // 1, 2, 3, ... added; another task, or another job, must not see this task's additions, and neither must the
            // driver's tensor, though the driver runs the function too (on empty blocks, to infer the result's shape)
            DistTensor z = d.tensor("x").mapBlocks(List.of(shift, w), (x, q) -> {
                try (Autograd.Scope ignored = Autograd.noGrad()) {
                    q.get(0).add_(1.0);
                }
                return x.add(q.get(0)).matmul(q.get(1));
            });
            Tensor loss = z.square().mean();
            loss.backward();
            double[] g = w.grad().toArray();
            return new double[] {loss.item(), g[0], g[1], g[2]};
        });
        assertArrayEquals(runs[0], runs[1]);
        assertArrayEquals(runs[0], runs[2]);
        assertArrayEquals(new double[] {0.5, 0.25, -0.125}, shift.toArray(), "the driver's parameter is unchanged");
    }
}
