package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

/**
 * The fused data-times-parameter products of a reduction over a float32 column ({@link Block.Float32}) and a
 * vector parameter: {@code X w} forward and {@code X^T g} for the gradient, reading the floats directly (no
 * widened copy of the block), each product of a float and a double taken in float64 and accumulated in float64.
 * Plain loops in a fixed order, so the bits depend on the data and the parameters only (interpreted or compiled,
 * whatever the executor count). A matrix parameter ({@code [d, k]}: the MLP's first layer) is not taken here: its
 * block is widened and goes to BLAS {@code dgemm} as a float64 block does (see {@link #readsDirectly}).
 */
final class Float32Kernels {
    private Float32Kernels() {}

    /**
     * Whether frontier slot {@code slot} of this tuple of blocks is a float32 column read only by a fused matmul
     * by a vector parameter ({@link Plan#fusable}: the fused op is then its only reader), so the replay leaves it
     * unwidened and {@link #times} and {@link #transposeTimesAdd} read the floats.
     */
    static boolean readsDirectly(Plan plan, Block[] blocks, int slot, boolean[] fused, Tensor[] params) {
        if (fused == null || plan.float32Slot(blocks, slot) == null) return false;
        for (int k = 0; k < fused.length; k++) {
            if (fused[k] && plan.opInputs[k][0] == slot && params[plan.opParams[k][0]].dim() == 1) return true;
        }
        return false;
    }

    /** {@code x @ w} for {@code x} of {@code [rows, d]} and {@code w} of {@code [d]}: {@code [rows]}. */
    static Tensor times(Block.Float32 x, Tensor w) {
        int rows = x.shape[0], d = x.shape.length == 2 ? x.shape[1] : -1;
        if (d < 0 || w.dim() != 1 || w.size(0) != d) {
            throw new IllegalArgumentException("matmul: float32 rows of shape " + java.util.Arrays.toString(x.shape)
                    + " and a parameter of shape " + java.util.Arrays.toString(w.shape()) + " (a [rows, d] block times [d])");
        }
        double[] out = new double[rows];
        // the one-read pass's kernel: each dot summed in column order (mv's loop), rows interleaved
        dev.sparkautograd.tensor.Kernels.rowDots(x.data, 0, rows, d, w.toArrayUnsafe(), out);
        return Tensor.wrap(out, new int[] {rows}, false);
    }

    /** {@code out += x^T g} for {@code x} of {@code [rows, d]} and {@code g} of {@code [rows]}: row by row, in row order. */
    static void transposeTimesAdd(Block.Float32 x, double[] g, double[] out) {
        dev.sparkautograd.tensor.Kernels.addRowsTimes(g, x.data, 0, x.shape[0], x.shape[1], out);
    }
}
