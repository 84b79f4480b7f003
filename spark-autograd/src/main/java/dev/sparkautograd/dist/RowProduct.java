package dev.sparkautograd.dist;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Algebra;
import dev.sparkautograd.tensor.Elementwise;
import dev.sparkautograd.tensor.Kernels;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.DoubleUnaryOperator;

/**
 * The Hessian-vector product of a scalar reduction whose first-order path is wholly fused: every op is either a
 * fused {@code X w} (data times a vector parameter) or in the element-wise {@link RowProgram} tail, as in a
 * logistic loss ({@code matmul > add > softplus > mul > sub}). The product then costs about one gradient pass:
 *
 * <ol>
 *   <li>forward with tangents: {@code z = X w} and its tangent {@code X v_w} (the same step applied to the
 *       direction: it is linear in its parameter), scalar parameters carry their direction as tangent;
 *   <li>the tail forward and then in reverse over {@link Rows} (values with tangents over a block's rows),
 *       where the reverse runs each entry's <em>differentiable</em> backward ({@link Elementwise#backwardA},
 *       {@link Elementwise#backwardB}) in an {@link Algebra} of such rows: forward mode over the table's own
 *       backward formulas, so the tangent of every adjoint is exact (forward over reverse) and no second
 *       derivative is written a second time;
 *   <li>{@code H v} for {@code w} is {@code X^T (tangent of z's adjoint)} (X is data), with the kernels of the
 *       fused gradient; a scalar parameter's is the row-order sum of its gradient's tangent.
 * </ol>
 * No engine node is recorded; blocks are summed in partition order as the engine path's partials are, so the
 * result is the same bits run after run. Plans of another shape use {@link Plan#productPartial}'s engine replay.
 */
final class RowProduct {
    private final Plan plan;
    private final boolean[] want;
    private final boolean[] fused;
    private final boolean[] region;
    /** Region op indices, ascending (topological). */
    private final int[] ops;

    private RowProduct(Plan plan, boolean[] want, boolean[] fused, boolean[] region) {
        this.plan = plan;
        this.want = want;
        this.fused = fused;
        this.region = region;
        List<Integer> r = new ArrayList<>();
        for (int k = 0; k < region.length; k++) if (region[k]) r.add(k);
        ops = r.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The fused product of {@code plan} for the wanted parameters (of these shapes), or null when the plan is not
     * wholly fused: matmul fusion and the row program both on, every op a fused matmul by a vector parameter or in
     * the tail, every parameter the tail reads a scalar. Decided from the plan and the shapes alone, so the driver
     * (naming the job) and the executors take the same decision.
     */
    static RowProduct of(Plan plan, boolean[] want, int[][] paramShapes) {
        if (!plan.fusesMatmul() || !plan.fusesPointwise()) return null;
        RowProgram program = RowProgram.of(plan);
        if (program == null) return null;
        int f = plan.frontierRdd.length, n = plan.steps.length;
        boolean[] region = program.regionOps(n);
        boolean[] fused = plan.fusable(want);
        for (int k = 0; k < n; k++) {
            if (fused[k]) {
                if (paramShapes[plan.opParams[k][0]].length != 1 || !plan.rowScalar[f + k]) return null;
            } else if (region[k]) {
                ElementwiseStep op = plan.steps[k].elementwise();
                if (op.second == ElementwiseStep.Operand.PARAM && numel(paramShapes[plan.opParams[k][0]]) != 1) return null;
            } else {
                return null;
            }
        }
        return new RowProduct(plan, want, fused, region);
    }

    private static int numel(int[] shape) {
        int n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    /** How the job shows it in its name: {@code " [fused product: matmul; row program: softplus, mul, sub]"}. */
    String describe() {
        List<String> m = new ArrayList<>(), r = new ArrayList<>();
        for (int k = 0; k < fused.length; k++) {
            if (fused[k]) m.add(plan.opNames[k]);
            if (region[k]) r.add(plan.opNames[k]);
        }
        return " [fused product: " + String.join(", ", m) + "; row program: " + String.join(", ", r) + "]";
    }

    /**
     * One partition's product, as {@link Plan#productPartial}: {@code bundle} holds the parameter values, then one
     * direction per wanted parameter; the result is {@code H v} of the reduction's sum, wanted parameters in order.
     */
    double[] partial(Iterator<Block[]> blocks, Params bundle) {
        Tensor[] all = bundle.tensors();
        int np = want.length, f = plan.frontierRdd.length;
        Tensor[] params = Arrays.copyOf(all, np);
        Tensor[] direction = new Tensor[np];
        int[] offset = new int[np];
        int len = 0;
        for (int i = 0, j = np; i < np; i++) {
            if (!want[i]) continue;
            direction[i] = all[j++];
            offset[i] = len;
            len += params[i].numel();
        }
        double[] acc = new double[len];
        while (blocks.hasNext()) {
            Block[] b = blocks.next();
            int rows = b[0].rows();
            Tensor[] slots;
            Rows[] dual = new Rows[f + plan.steps.length];
            try (Autograd.Scope ignored = Autograd.noGrad()) {
                slots = plan.replay(b, params, -1, null, region);
                for (int k = 0; k < fused.length; k++) {
                    if (!fused[k]) continue;
                    int in = plan.opInputs[k][0];
                    Block.Csr csr = plan.sparseSlot(b, in);
                    Tensor[] d = {direction[plan.opParams[k][0]]};
                    Tensor tangent = csr != null ? plan.steps[k].applySparse(csr, d) : plan.steps[k].apply(new Tensor[] {slots[in]}, d, b[0].firstRow());
                    dual[f + k] = new Rows(slots[f + k].toArrayUnsafe(), tangent.toArrayUnsafe());
                }
            }
            Tangents m = new Tangents(rows);
            // forward over the tail
            for (int k : ops) {
                ElementwiseStep op = plan.steps[k].elementwise();
                Rows x = rowsOf(slots, dual, plan.opInputs[k][0], rows);
                dual[f + k] = switch (op.second) {
                    case NONE -> m.apply(op.op, x, op.b, op.c);
                    case CONST -> m.apply(op.op, x, m.scalar(op.b));
                    case DIST -> m.apply(op.op, x, rowsOf(slots, dual, plan.opInputs[k][1], rows));
                    case PARAM -> m.apply(op.op, x, paramRows(params, direction, plan.opParams[k][0]));
                };
            }
            // reverse over the tail, tangents carried: adjoint[s].t is d(adjoint of s)/d(direction)
            Rows[] adjoint = new Rows[dual.length];
            double[] ones = new double[rows];
            Arrays.fill(ones, 1.0);
            adjoint[plan.output] = new Rows(ones, null);
            for (int j = ops.length - 1; j >= 0; j--) {
                int k = ops[j];
                Rows g = adjoint[f + k];
                if (g == null) continue;
                ElementwiseStep op = plan.steps[k].elementwise();
                int sa = plan.opInputs[k][0];
                Rows x = rowsOf(slots, dual, sa, rows);
                Rows y = switch (op.second) {
                    case NONE -> null;
                    case CONST -> m.scalar(op.b);
                    case DIST -> rowsOf(slots, dual, plan.opInputs[k][1], rows);
                    case PARAM -> paramRows(params, direction, plan.opParams[k][0]);
                };
                Elementwise.Args<Rows> args = new Operands(x, y, dual[f + k], op.b, op.c);
                if (carriesAdjoint(sa, f)) adjoint[sa] = m.accumulate(adjoint[sa], op.op.backwardA(m, g, args));
                if (op.second == ElementwiseStep.Operand.DIST && carriesAdjoint(plan.opInputs[k][1], f)) {
                    int sb = plan.opInputs[k][1];
                    adjoint[sb] = m.accumulate(adjoint[sb], op.op.backwardB(m, g, args));
                } else if (op.second == ElementwiseStep.Operand.PARAM && want[plan.opParams[k][0]]) {
                    Rows gp = op.op.backwardB(m, g, args);
                    if (gp.t != null) {
                        double s = 0;
                        for (int i = 0; i < rows; i++) s += gp.t[gp.t.length == 1 ? 0 : i];
                        acc[offset[plan.opParams[k][0]]] += s;
                    }
                }
            }
            // H v of each fused matmul's parameter: X^T (the tangent of its output's adjoint)
            for (int k = 0; k < fused.length; k++) {
                Rows a = adjoint[f + k];
                if (!fused[k] || a == null || a.t == null) continue;
                int p = plan.opParams[k][0];
                double[] dz = a.t.length == rows ? a.t : m.full(a.t);
                Block.Csr csr = plan.sparseSlot(b, plan.opInputs[k][0]);
                double[] hv;
                if (csr != null) {
                    hv = csr.transposeTimes(dz, 0);
                } else {
                    Tensor x = slots[plan.opInputs[k][0]];
                    hv = Kernels.mm(dz, x.toArrayUnsafe(), 1, rows, x.size(1));
                }
                for (int i = 0; i < hv.length; i++) acc[offset[p] + i] += hv[i];
            }
        }
        return acc;
    }

    /** Region slots and fused outputs carry adjoints; data slots do not. */
    private boolean carriesAdjoint(int slot, int f) {
        return slot >= f && (region[slot - f] || fused[slot - f]);
    }

    private static Rows rowsOf(Tensor[] slots, Rows[] dual, int slot, int rows) {
        if (dual[slot] != null) return dual[slot];
        Tensor t = slots[slot];
        if (t == null || t.dim() != 1 || t.size(0) != rows) {
            throw new IllegalStateException("fused product: slot " + slot + " holds " + (t == null ? "a sparse block" : "shape "
                    + Arrays.toString(t.shape())) + " where one value per row (" + rows + ") was expected");
        }
        return new Rows(t.toArrayUnsafe(), null);
    }

    private Rows paramRows(Tensor[] params, Tensor[] direction, int p) {
        double[] t = want[p] ? new double[] {direction[p].toArrayUnsafe()[0]} : null;
        return new Rows(new double[] {params[p].toArrayUnsafe()[0]}, t);
    }

    /** Values over a block's rows (or one value for all of them) with their tangents; null tangents: a constant. */
    record Rows(double[] v, double[] t) {}

    /** The saved operands of one tail op, as the table's backward formulas read them. */
    private record Operands(Rows a, Rows b, Rows out, double attr0, double attr1) implements Elementwise.Args<Rows> {
        public double attr(int i) {
            return i == 0 ? attr0 : attr1;
        }
    }

    /**
     * Forward-mode arithmetic over {@link Rows}: each entry's value by its scalar forward {@link Elementwise#f}, its
     * tangent by its scalar derivative ({@link Elementwise#gradA}/{@link Elementwise#gradB} of the tangent: the
     * Jacobian of an element-wise op is diagonal, so its vector-Jacobian product is its Jacobian-vector product).
     * Masks and {@link #constant}s have no tangent.
     */
    static final class Tangents implements Algebra<Rows> {
        private final int rows;

        Tangents(int rows) {
            this.rows = rows;
        }

        private static double at(double[] x, int i) {
            return x.length == 1 ? x[0] : x[i];
        }

        private int length(Rows a, Rows b) {
            return a.v.length == 1 && (b == null || b.v.length == 1) ? 1 : rows;
        }

        double[] full(double[] x) {
            double[] r = new double[rows];
            Arrays.fill(r, x[0]);
            return r;
        }

        Rows accumulate(Rows into, Rows g) {
            return into == null ? g : apply(Elementwise.ADD, into, g);
        }

        @Override
        public Rows apply(Elementwise op, Rows a) {
            return apply(op, a, 0, 0);
        }

        @Override
        public Rows apply(Elementwise op, Rows a, double b, double c) {
            int n = a.v.length;
            double[] v = new double[n];
            double[] t = a.t == null ? null : new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = op.f(a.v[i], b, c);
                if (t != null) t[i] = op.gradA(a.t[i], a.v[i], b, c, v[i]);
            }
            return new Rows(v, t);
        }

        @Override
        public Rows apply(Elementwise op, Rows a, Rows b) {
            int n = length(a, b);
            double[] v = new double[n];
            double[] t = a.t == null && b.t == null ? null : new double[n];
            for (int i = 0; i < n; i++) {
                double x = at(a.v, i), y = at(b.v, i);
                v[i] = op.f(x, y, 0);
                if (t == null) continue;
                if (a.t != null && b.t != null) t[i] = op.gradA(at(a.t, i), x, y, 0, v[i]) + op.gradB(at(b.t, i), x, y, 0, v[i]);
                else if (a.t != null) t[i] = op.gradA(at(a.t, i), x, y, 0, v[i]);
                else t[i] = op.gradB(at(b.t, i), x, y, 0, v[i]);
            }
            return new Rows(v, t);
        }

        @Override
        public Rows scalar(double v) {
            return new Rows(new double[] {v}, null);
        }

        @Override
        public Rows zerosLike(Rows a) {
            return new Rows(new double[a.v.length], null);
        }

        @Override
        public Rows constant(Rows a, DoubleUnaryOperator f) {
            double[] v = new double[a.v.length];
            for (int i = 0; i < v.length; i++) v[i] = f.applyAsDouble(a.v[i]);
            return new Rows(v, null);
        }

        @Override
        public Rows piecewiseConstant(Rows a, DoubleUnaryOperator f) {
            return constant(a, f);
        }

        @Override
        public Rows where(Rows cond, Rows a, Rows b) {
            int n = cond.v.length == 1 && a.v.length == 1 && b.v.length == 1 ? 1 : rows;
            double[] v = new double[n];
            double[] t = a.t == null && b.t == null ? null : new double[n];
            for (int i = 0; i < n; i++) {
                boolean c = at(cond.v, i) != 0;
                v[i] = c ? at(a.v, i) : at(b.v, i);
                if (t != null) {
                    Rows s = c ? a : b;
                    t[i] = s.t == null ? 0 : at(s.t, i);
                }
            }
            return new Rows(v, t);
        }

        private Rows compare(Rows a, Rows b, java.util.function.BiPredicate<Double, Double> p) {
            int n = length(a, b);
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = p.test(at(a.v, i), at(b.v, i)) ? 1 : 0;
            return new Rows(v, null);
        }

        @Override
        public Rows eq(Rows a, Rows b) {
            return compare(a, b, (x, y) -> x.doubleValue() == y.doubleValue());
        }

        @Override
        public Rows lt(Rows a, Rows b) {
            return compare(a, b, (x, y) -> x < y);
        }

        @Override
        public Rows ge(Rows a, Rows b) {
            return compare(a, b, (x, y) -> x >= y);
        }

        @Override
        public Rows and(Rows a, Rows b) {
            return compare(a, b, (x, y) -> x != 0 && y != 0);
        }
    }
}
