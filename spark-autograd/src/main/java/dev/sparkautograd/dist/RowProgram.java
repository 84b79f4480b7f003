package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Kernels;
import dev.sparkautograd.tensor.Elementwise;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The element-wise tail of a scalar reduction, run as loops over a block's rows instead of engine nodes.
 *
 * <p>A loss such as {@code softplus(z) - y * z} over {@code z = X w + b} is, per block, a handful of
 * element-wise ops on vectors of a block's rows. Through the engine each op allocates its result,
 * records a node and, on the way back, allocates gradients of its own: a dozen passes and as many
 * temporaries per block, several times the cost of the arithmetic. Here the tail (the ops from the
 * reduction's root back to the first op that is not element-wise on one value per row, see
 * {@link #of}) is evaluated forward into buffers reused from block to block, then in reverse with the
 * scalar gradients of the op table ({@link Elementwise#gradA}, {@link Elementwise#gradB}: the same entry the engine
 * runs), giving the gradient with respect to each of its inputs. Inputs
 * that carry a graph (a fused {@code X w}, the rest of a network) get that gradient through the engine;
 * scalar parameters (a bias) get theirs summed here. The engine's work per block shrinks to what is
 * not element-wise.
 *
 * <p>Not serialized: each task builds it from its {@link Plan}.
 */
final class RowProgram {
    private final int[] region;      // op indices of the tail, ascending (topological)
    private final int[] outSlot;     // slot of each region op
    private final Elementwise[] kind;
    private final ElementwiseStep.Operand[] second;
    private final double[] constB, constC;
    private final int[] a;           // slot of the first operand
    private final int[] b;           // slot (DIST) or parameter index (PARAM) of the second, else -1
    private final int output;
    /** Slots read by the tail but computed outside it (engine slots and data), ascending. */
    final int[] inputs;
    private final boolean[] inRegionSlot;

    // Scratch, reused from block to block.
    private double[][] value;
    private double[][] adjoint;
    private int capacity = -1;

    private RowProgram(Plan plan, boolean[] inRegion) {
        int f = plan.frontierRdd.length;
        List<Integer> ops = new ArrayList<>();
        for (int k = 0; k < inRegion.length; k++) if (inRegion[k]) ops.add(k);
        int n = ops.size();
        region = new int[n];
        outSlot = new int[n];
        kind = new Elementwise[n];
        second = new ElementwiseStep.Operand[n];
        constB = new double[n];
        constC = new double[n];
        a = new int[n];
        b = new int[n];
        inRegionSlot = new boolean[f + inRegion.length];
        for (int j = 0; j < n; j++) {
            int k = ops.get(j);
            ElementwiseStep op = plan.steps[k].elementwise();
            region[j] = k;
            outSlot[j] = f + k;
            kind[j] = op.op;
            second[j] = op.second;
            constB[j] = op.b;
            constC[j] = op.c;
            a[j] = plan.opInputs[k][0];
            b[j] = op.second == ElementwiseStep.Operand.DIST ? plan.opInputs[k][1]
                    : op.second == ElementwiseStep.Operand.PARAM ? plan.opParams[k][0] : -1;
            inRegionSlot[f + k] = true;
        }
        output = plan.output;
        List<Integer> in = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            addInput(in, a[j]);
            if (second[j] == ElementwiseStep.Operand.DIST) addInput(in, b[j]);
        }
        inputs = in.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    private void addInput(List<Integer> in, int slot) {
        if (!inRegionSlot[slot] && !in.contains(slot)) in.add(slot);
    }

    /**
     * The program of {@code plan}'s tail, or null when there is none: the reduction is to a scalar, its
     * root is an element-wise step with one value per row, and the tail grows backwards over
     * such ops whose every consumer is already in it. Operands from outside the tail must hold one value
     * per row too (scalar parameters broadcast).
     */
    static RowProgram of(Plan plan) {
        int f = plan.frontierRdd.length;
        if (plan.reduce != Plan.Reduce.ALL || plan.output < f || plan.rowScalar == null) return null;
        int nOps = plan.steps.length;
        List<List<Integer>> consumers = new ArrayList<>();
        for (int s = 0; s < f + nOps; s++) consumers.add(new ArrayList<>());
        for (int k = 0; k < nOps; k++) for (int s : plan.opInputs[k]) consumers.get(s).add(k);
        boolean[] inRegion = new boolean[nOps];
        for (int k = plan.output - f; k >= 0; k--) {
            if (plan.steps[k].elementwise() == null || !plan.rowScalar[f + k]) {
                if (k == plan.output - f) return null;
                continue;
            }
            boolean all = k == plan.output - f;
            if (!all) {
                List<Integer> cs = consumers.get(f + k);
                all = !cs.isEmpty();
                for (int c : cs) all &= inRegion[c];
            }
            if (!all) continue;
            boolean operandsFit = true;
            for (int s : plan.opInputs[k]) operandsFit &= plan.rowScalar[s];
            inRegion[k] = operandsFit;
            if (!operandsFit && k == plan.output - f) return null;
        }
        return new RowProgram(plan, inRegion);
    }

    /** Whether op {@code k} runs in the program (the plan's replay skips it). */
    boolean[] regionOps(int nOps) {
        boolean[] r = new boolean[nOps];
        for (int k : region) r[k] = true;
        return r;
    }

    private void ensure(int rows) {
        if (rows <= capacity) return;
        capacity = rows;
        value = new double[inRegionSlot.length][];
        adjoint = new double[inRegionSlot.length][];
        for (int s : outSlot) {
            value[s] = new double[rows];
            adjoint[s] = new double[rows];
        }
        for (int s : inputs) adjoint[s] = new double[rows];
    }

    private double[] values(Tensor[] slots, int slot, int rows) {
        if (inRegionSlot[slot]) return value[slot];
        Tensor t = slots[slot];
        if (t.dim() != 1 || t.size(0) != rows) {
            throw new IllegalStateException("pointwise program: slot " + slot + " holds shape " + Arrays.toString(t.shape())
                    + " where one value per row (" + rows + ") was expected");
        }
        return t.toArrayUnsafe();
    }

    private static double scalarParam(Tensor p) {
        if (p.numel() != 1) throw new IllegalStateException("pointwise program: a parameter of shape " + Arrays.toString(p.shape())
                + " where a scalar was expected");
        return p.toArrayUnsafe()[0];
    }

    /** Evaluates the tail for one block whose other slots are filled; returns the sum of the root's values (in row order). */
    double forward(Tensor[] slots, Tensor[] params, int rows) {
        return forward(slots, params, rows, 0.0);
    }

    /**
     * As above, the root's values added in row order to {@code sumSoFar}: a block run as consecutive tiles of rows
     * ({@link RowTiles}), each tile's sum started from the previous one's, has the bits of the whole block's sum.
     */
    double forward(Tensor[] slots, Tensor[] params, int rows, double sumSoFar) {
        ensure(rows);
        for (int j = 0; j < region.length; j++) {
            double[] x = values(slots, a[j], rows), out = value[outSlot[j]];
            Elementwise op = kind[j];
            switch (second[j]) {
                case NONE -> op.map(x, constB[j], constC[j], out, rows);
                case DIST -> Kernels.binaryInto(op, x, values(slots, b[j], rows), out, rows);
                default -> Kernels.binaryInto(op, x, second[j] == ElementwiseStep.Operand.CONST ? constB[j] : scalarParam(params[b[j]]), out, rows);
            }
        }
        double[] root = value[output];
        double s = sumSoFar;
        for (int i = 0; i < rows; i++) s += root[i];
        return s;
    }

    /**
     * {@code ga += gradA(g, ...)}: for add and sub that is {@code g} itself, for mul {@code g * b}, as plain loops
     * (the same numbers as {@link Elementwise#gradA}); {@code y} null means the number {@code c}.
     */
    private static void accumulateA(Elementwise op, double[] ga, double[] g, double[] x, double[] y, double c, double[] out, int rows) {
        switch (op) {
            case ADD, SUB -> { for (int i = 0; i < rows; i++) ga[i] += g[i]; }
            case MUL -> {
                if (y == null) for (int i = 0; i < rows; i++) ga[i] += g[i] * c;
                else for (int i = 0; i < rows; i++) ga[i] += g[i] * y[i];
            }
            default -> {
                if (y == null) for (int i = 0; i < rows; i++) ga[i] += op.gradA(g[i], x[i], c, 0, out[i]);
                else for (int i = 0; i < rows; i++) ga[i] += op.gradA(g[i], x[i], y[i], 0, out[i]);
            }
        }
    }

    /**
     * Reverse pass for upstream {@code u} on every root value (after {@link #forward} of the same block).
     * Adds each scalar parameter's gradient to {@code paramGrads[p]} (this block's sum, then added) and
     * returns the gradient of each input slot that requires grad (a fresh array per slot, null for the rest).
     */
    double[][] backward(Tensor[] slots, Tensor[] params, boolean[] paramNeedsGrad, int rows, double u, double[] paramGrads) {
        double[] blockSums = new double[region.length];
        double[][] result = backward(slots, params, paramNeedsGrad, rows, u, blockSums, true);
        addParamSums(blockSums, paramNeedsGrad, paramGrads);
        return result;
    }

    /** Scratch for {@link #backward}'s running sums: one per op of the tail. */
    double[] newRunningSums() {
        return new double[region.length];
    }

    /**
     * As above, but each scalar parameter's gradient terms of tail op {@code j} are added in row order to
     * {@code runningSums[j]} (a block's sum carried from tile to tile, see
     * {@link #forward(Tensor[], Tensor[], int, double)}; {@link #addParamSums} adds them to the parameters at the
     * block's end), and, unless {@code copy}, the input gradients returned are the program's own buffers (valid until
     * its next call).
     */
    double[][] backward(Tensor[] slots, Tensor[] params, boolean[] paramNeedsGrad, int rows, double u, double[] runningSums, boolean copy) {
        for (int s : outSlot) Arrays.fill(adjoint[s], 0, rows, 0.0);
        for (int s : inputs) Arrays.fill(adjoint[s], 0, rows, 0.0);
        Arrays.fill(adjoint[output], 0, rows, u);
        for (int j = region.length - 1; j >= 0; j--) {
            double[] g = adjoint[outSlot[j]], out = value[outSlot[j]], x = values(slots, a[j], rows);
            Elementwise op = kind[j];
            double[] ga = wants(slots, a[j]) ? adjoint[a[j]] : null;
            switch (second[j]) {
                case NONE -> {
                    double pb = constB[j], pc = constC[j];
                    if (ga != null) for (int i = 0; i < rows; i++) ga[i] += op.gradA(g[i], x[i], pb, pc, out[i]);
                }
                case DIST -> {
                    double[] y = values(slots, b[j], rows);
                    if (ga != null) accumulateA(op, ga, g, x, y, 0, out, rows);
                    double[] gb = wants(slots, b[j]) ? adjoint[b[j]] : null;
                    if (gb != null) {
                        switch (op) {
                            case ADD -> { for (int i = 0; i < rows; i++) gb[i] += g[i]; }
                            case SUB -> { for (int i = 0; i < rows; i++) gb[i] += -g[i]; }
                            case MUL -> { for (int i = 0; i < rows; i++) gb[i] += g[i] * x[i]; }
                            default -> { for (int i = 0; i < rows; i++) gb[i] += op.gradB(g[i], x[i], y[i], 0, out[i]); }
                        }
                    }
                }
                case CONST -> {
                    if (ga != null) accumulateA(op, ga, g, x, null, constB[j], out, rows);
                }
                case PARAM -> {
                    double c = scalarParam(params[b[j]]);
                    if (ga != null) accumulateA(op, ga, g, x, null, c, out, rows);
                    if (paramNeedsGrad[b[j]]) {
                        double s = runningSums[j];
                        for (int i = 0; i < rows; i++) s += op.gradB(g[i], x[i], c, 0, out[i]);
                        runningSums[j] = s;
                    }
                }
            }
        }
        double[][] result = new double[inRegionSlot.length][];
        for (int s : inputs) if (slots[s].requiresGrad()) result[s] = copy ? Arrays.copyOf(adjoint[s], rows) : adjoint[s];
        return result;
    }

    /** Adds one block's per-op sums to the scalar parameters' gradients, in the order of the reverse pass (last op first). */
    void addParamSums(double[] runningSums, boolean[] paramNeedsGrad, double[] paramGrads) {
        for (int j = region.length - 1; j >= 0; j--) {
            if (second[j] == ElementwiseStep.Operand.PARAM && paramNeedsGrad[b[j]]) paramGrads[b[j]] += runningSums[j];
        }
    }

    /** A region slot always carries an adjoint; an input only when its tensor requires grad. */
    private boolean wants(Tensor[] slots, int slot) {
        return inRegionSlot[slot] || slots[slot].requiresGrad();
    }
}
