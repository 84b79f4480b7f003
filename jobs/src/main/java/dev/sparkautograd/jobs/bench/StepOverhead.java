package dev.sparkautograd.jobs.bench;

import dev.sparkautograd.DistData;
import dev.sparkautograd.dist.Block;

/**
 * The fixed cost of one distributed loss+gradient step, on data so small (4 partitions of 10 rows) that the
 * arithmetic is nothing: spark-autograd's step ({@link Logistic#autograd}), MLlib's ({@link Logistic#mllib}, as
 * {@code RDDLossFunction} runs it) and, as the floor, a bare {@code treeAggregate} of the same cached blocks
 * computing the same loss and gradient ({@link Logistic#onePass}) with the coefficients captured in the closure:
 * one Spark job, no broadcast. All three return {@code [loss, dL/dw..., dL/db]}.
 */
public final class StepOverhead {

    private StepOverhead() {}

    /** Rows and partitions of the step-overhead data. */
    public static final int ROWS = 40, PARTITIONS = 4;

    /** The floor: one {@code treeAggregate} (depth 2, as MLlib's) over the blocks, the coefficients in the closure. */
    public static double[] treeAggregate(DistData data, double[] coef) {
        int d = coef.length - 1;
        double[] c = coef.clone();
        double[] s = data.blocks().treeAggregate(new double[d + 3], (double[] acc, Block b) -> {
            Logistic.onePass(b, c, acc);
            return acc;
        }, Logistic::addInto, 2);
        double[] out = new double[d + 2];
        out[0] = s[1] / s[0];
        for (int j = 0; j <= d; j++) out[1 + j] = s[2 + j] / s[0];
        return out;
    }
}
