package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Kernels;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One read of each data row for a wholly fused scalar reduction such as the logistic loss
 * {@code softplus(X w + b) - y (X w + b)}: every op either a fused {@code X w} (dense data times a vector parameter,
 * {@link Plan#fusable}) or in the element-wise {@link RowProgram} tail.
 *
 * <p>The fused path without this class reads each block's {@code X} twice: {@code X w} over the whole block, the
 * row program, then {@code X^T g} over the whole block. A block (about 1 MB) does not stay in L1 or L2 between the
 * two, so the second pass reads it again from memory or L3. Here a block runs as tiles of rows small enough to stay
 * in L1 ({@link #TILE_BYTES}): the tile's margins, the row program on the tile's rows, then the tile's {@code X^T g}
 * added into the block's accumulator, while the tile's rows are still in cache.
 *
 * <p>The bits do not depend on the tiling: each margin is summed in column order from 0 and each gradient column in
 * row order ({@link Kernels#rowDots}, {@link Kernels#addRowsTimes}: the additions of {@link Kernels#mv}'s and
 * {@link Kernels#mm}'s loops), and the program's sums (the loss value, a bias's gradient) are carried from tile to
 * tile ({@link RowProgram#forward(Tensor[], Tensor[], int, double)}), so a block gives what the unfused engine gives
 * where its kernels are those loops (blocks of at most 4,096 multiply-adds), bit for bit. Larger blocks, for which
 * the engine calls BLAS {@code dgemv}, differ from it by rounding only (BLAS sums in its own order); they are the same
 * bits run after run, interpreted or compiled (plain multiplications and additions in a fixed order, never fused),
 * whatever the number of executors: blocks and rows are taken in partition order.
 *
 * <p>Not serialized: each task builds it from its {@link Plan}.
 */
final class RowTiles {
    /**
     * Bytes of data rows per tile, at most: a tile, its margins and the gradient accumulator stay in L1 (32 KiB on
     * common x86 cores, 48 KiB on newer ones) from the margins to the gradient. Tiles are a multiple of 8 rows
     * ({@link Kernels#rowDots} runs 8 rows at a time), at least 8.
     */
    static final int TILE_BYTES = 24 << 10;

    private final RowProgram program;
    private final int frontier;
    private final int nOps;
    /** Per fused matmul: its op, its data slot (a frontier slot), its parameter. */
    private final int[] op, dataSlot, param;
    /** Frontier slots the program reads directly (labels, weights: one value per row), copied per tile. */
    private final int[] rowSlots;

    /** Full-tile buffers and their tensors, reused from tile to tile and block to block (a task's thread only). */
    private int bufferedTile = -1;
    private Tensor[] marginTiles, rowTiles;

    private RowTiles(RowProgram program, int frontier, int nOps, int[] op, int[] dataSlot, int[] param, int[] rowSlots) {
        this.program = program;
        this.frontier = frontier;
        this.nOps = nOps;
        this.op = op;
        this.dataSlot = dataSlot;
        this.param = param;
        this.rowSlots = rowSlots;
    }

    /**
     * The tiled pass for {@code plan}, or null when it does not apply: a row program and fused matmuls ({@code fused},
     * non-null) cover every op, each fused matmul reads a dense frontier slot and gives one value per row (so its
     * parameter is a vector), and the program reads only fused matmuls' results and frontier slots. Decided from the
     * plan alone, so the driver (naming the job, {@link Plan#fusion}) and the executors take the same decision.
     */
    static RowTiles of(Plan plan, RowProgram program, boolean[] fused) {
        if (program == null || fused == null) return null;
        int f = plan.frontierRdd.length, n = plan.steps.length;
        boolean[] region = program.regionOps(n);
        List<Integer> ops = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            if (fused[k]) {
                int s = plan.opInputs[k][0];
                if (plan.isSparseSlot(s) || plan.rowScalar == null || !plan.rowScalar[f + k]) return null;
                ops.add(k);
            } else if (!region[k]) {
                return null;
            }
        }
        if (ops.isEmpty()) return null;
        List<Integer> rows = new ArrayList<>();
        for (int s : program.inputs) {
            if (s < f) {
                if (plan.isSparseSlot(s)) return null;
                rows.add(s);
            } else if (!fused[s - f]) {
                return null;
            }
        }
        int[] op = ops.stream().mapToInt(Integer::intValue).toArray();
        int[] dataSlot = new int[op.length], param = new int[op.length];
        for (int m = 0; m < op.length; m++) {
            dataSlot[m] = plan.opInputs[op[m]][0];
            param[m] = plan.opParams[op[m]][0];
        }
        return new RowTiles(program, f, n, op, dataSlot, param, rows.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * One block: adds its reduced value to {@code value[0]}, its scalar parameters' gradients (from the program) to
     * {@code programGrads} and each fused matmul's {@code X^T g} to {@code fusedGrads[p]} (the block's array
     * becomes it when it is still null, else is added to it: as {@link Plan}'s unfused accumulation).
     */
    /** The fused matmuls' op names, for the job's name. */
    List<String> describe(Plan plan) {
        List<String> names = new ArrayList<>();
        for (int k : op) names.add(plan.opNames().get(k));
        return names;
    }

    void block(Plan plan, Block[] blocks, Tensor[] params, boolean[] needGrad, double u, double[] value,
               double[] programGrads, double[][] fusedGrads) {
        int rows = blocks[0].rows();
        int mats = op.length;
        double[][] x = new double[mats][];
        float[][] x32 = new float[mats][]; // a float32 data column, read as floats (float64 products and sums)
        double[][] w = new double[mats][];
        double[][] acc = new double[mats][];
        int[] d = new int[mats];
        int rowBytes = 0;
        for (int m = 0; m < mats; m++) {
            Block.Float32 floats = plan.float32Slot(blocks, dataSlot[m]);
            int[] shape;
            if (floats != null) {
                shape = floats.shape();
                x32[m] = floats.dataUnsafe();
            } else {
                Tensor t = data(plan, blocks, dataSlot[m]);
                shape = t.shape();
                x[m] = t.toArrayUnsafe();
            }
            if (shape.length != 2 || shape[0] != rows) {
                throw new IllegalStateException(plan.opNames().get(op[m]) + ": data block of shape " + Arrays.toString(shape)
                        + " where a matrix of " + rows + " rows was expected");
            }
            d[m] = shape[1];
            w[m] = params[param[m]].toArrayUnsafe();
            if (w[m].length != d[m]) {
                throw new IllegalArgumentException(plan.opNames().get(op[m]) + ": shapes " + Arrays.toString(shape) + " and ["
                        + w[m].length + "] cannot be multiplied");
            }
            acc[m] = new double[d[m]];
            rowBytes += 8 * d[m];
        }
        double[][] rowValues = new double[rowSlots.length][];
        for (int r = 0; r < rowSlots.length; r++) rowValues[r] = data(plan, blocks, rowSlots[r]).toArrayUnsafe();
        int tile = Math.max(8, TILE_BYTES / Math.max(1, rowBytes) & ~7);
        double sum = 0;
        double[] running = program.newRunningSums();
        Tensor[] slots = new Tensor[frontier + nOps];
        if (bufferedTile != tile) {
            bufferedTile = tile;
            marginTiles = new Tensor[mats];
            rowTiles = new Tensor[rowSlots.length];
            for (int m = 0; m < mats; m++) marginTiles[m] = Tensor.wrap(new double[tile], new int[] {tile}, false).requiresGrad_(true);
            for (int r = 0; r < rowSlots.length; r++) rowTiles[r] = Tensor.wrap(new double[tile], new int[] {tile}, false);
        }
        for (int first = 0; first < rows; first += tile) {
            int n = Math.min(tile, rows - first);
            for (int m = 0; m < mats; m++) {
                Tensor z = n == tile ? marginTiles[m] : Tensor.wrap(new double[n], new int[] {n}, false).requiresGrad_(true);
                if (x32[m] != null) Kernels.rowDots(x32[m], first, n, d[m], w[m], z.toArrayUnsafe());
                else Kernels.rowDots(x[m], first, n, d[m], w[m], z.toArrayUnsafe());
                slots[frontier + op[m]] = z;
            }
            for (int r = 0; r < rowSlots.length; r++) {
                Tensor v = n == tile ? rowTiles[r] : Tensor.wrap(new double[n], new int[] {n}, false);
                System.arraycopy(rowValues[r], first, v.toArrayUnsafe(), 0, n);
                slots[rowSlots[r]] = v;
            }
            sum = program.forward(slots, params, n, sum);
            double[][] g = program.backward(slots, params, needGrad, n, u, running, false);
            for (int m = 0; m < mats; m++) {
                if (x32[m] != null) Kernels.addRowsTimes(g[frontier + op[m]], x32[m], first, n, d[m], acc[m]);
                else Kernels.addRowsTimes(g[frontier + op[m]], x[m], first, n, d[m], acc[m]);
            }
        }
        value[0] += sum;
        program.addParamSums(running, needGrad, programGrads);
        for (int m = 0; m < mats; m++) {
            double[] into = fusedGrads[param[m]];
            if (into == null) {
                fusedGrads[param[m]] = acc[m];
            } else {
                for (int j = 0; j < into.length; j++) into[j] += acc[m][j];
            }
        }
    }

    /** A dense column of this tuple of blocks (a float32 one widened). */
    private static Tensor data(Plan plan, Block[] blocks, int slot) {
        return blocks[plan.frontierRdd[slot]].column(plan.frontierColumn[slot]);
    }
}
