package dev.sparkautograd;

import dev.sparkautograd.tensor.Algebra;
import dev.sparkautograd.tensor.Comparison;
import dev.sparkautograd.tensor.Elementwise;
import dev.sparkautograd.tensor.Kernels;
import dev.sparkautograd.tensor.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleUnaryOperator;

/**
 * Every differentiable op, declared once: the element-wise ones in the op table {@link Elementwise}
 * (run here by {@link #elementwise}), the others below, each with its forward (a kernel call) and, beside it,
 * its backward formula written with differentiable Tensor ops, so that {@code createGraph} yields higher-order
 * gradients. Formulas follow PyTorch's derivatives.yaml, including its choices at non-differentiable
 * points. A formula reads saved tensors only through {@link Node#saved}, and only for the inputs that
 * need a gradient, which gives PyTorch's errors for freed graphs and in-place modification exactly
 * when PyTorch raises them. Broadcasting ops reduce their gradients with the one {@link #sumToShape}.
 */
final class Ops {
    private Ops() {}

    /** Attaches a grad_fn to {@code out} when grad mode is on and some input requires grad. */
    static Tensor record(String name, Tensor out, Tensor[] inputs, Tensor[] saved, Node.Backward backward) {
        if (!Autograd.isGradEnabled()) return out;
        Node[] next = null;
        for (int i = 0; i < inputs.length; i++) {
            Node edge = inputs[i].gradEdge();
            if (edge != null) {
                if (next == null) next = new Node[inputs.length];
                next[i] = edge;
            }
        }
        if (next == null) return out;
        out.gradFn = new Node(name, next, saved, backward);
        return out;
    }

    private static Tensor[] in(Tensor... t) {
        return t;
    }

    private static Tensor[] grads(Tensor... g) {
        return g;
    }

    /** A constant (no grad) tensor, e.g. a mask inside a backward formula. */
    private static Tensor constant(double[] data, int[] shape) {
        return new Tensor(data, shape);
    }

    // ---- the element-wise op table ----------------------------------------------------------------

    /** A unary entry of the table (attributes {@code b}, {@code c} for pow's exponent and clamp's bounds, else 0). */
    static Tensor elementwise(Elementwise op, Tensor a, double b, double c) {
        double[] out = new double[a.data.length];
        op.map(a.data, b, c, out, out.length);
        return recordElementwise(op, new Tensor(out, a.shape), a, null, b, c);
    }

    /** A binary entry of the table, NumPy broadcasting. */
    static Tensor elementwise(Elementwise op, Tensor a, Tensor b) {
        int[] s = Shapes.broadcast(a.shape, b.shape);
        return recordElementwise(op, new Tensor(Kernels.binary(op, a.data, a.shape, b.data, b.shape, s), s), a, b, 0, 0);
    }

    /**
     * The node of one table op: it saves what the entry declares, and its backward is the entry's: for a unary
     * entry outside createGraph the scalar {@link Elementwise#gradAInto} in one pass, else the differentiable
     * {@link Elementwise#backwardA}/{@link Elementwise#backwardB} (the same numbers), broadcasting undone by
     * {@link #sumToShape}.
     */
    private static Tensor recordElementwise(Elementwise op, Tensor out, Tensor a, Tensor b, double p, double q) {
        // Nothing to record (no grad mode, as in every backward formula, or constant inputs): skip the saved list and closure.
        if (!Autograd.isGradEnabled() || !(a.requiresGrad() || (b != null && b.requiresGrad()))) return out;
        int[] as = a.shape, bs = b == null ? null : b.shape;
        Tensor[] kept = new Tensor[3];
        int count = 0, ia = -1, ib = -1, iy = -1;
        if (op.saves(Elementwise.Saves.A)) { ia = count; kept[count++] = a; }
        if (b != null && op.saves(Elementwise.Saves.B)) { ib = count; kept[count++] = b; }
        if (op.saves(Elementwise.Saves.OUT)) { iy = count; kept[count++] = out; }
        final int sa = ia, sb = ib, sy = iy;
        Tensor[] saved = count == 3 ? kept : Arrays.copyOf(kept, count);
        return record(op.nodeName, out, b == null ? in(a) : in(a, b), saved, (n, g) -> {
            Elementwise.Args<Tensor> x = new Elementwise.Args<>() {
                public Tensor a() { return n.saved(sa); }
                public Tensor b() { return n.saved(sb); }
                public Tensor out() { return n.saved(sy); }
                public double attr(int i) { return i == 0 ? p : q; }
            };
            if (bs == null) {
                if (!Autograd.isGradEnabled() && Arrays.equals(g.shape, as)) {
                    double[] r = new double[g.data.length];
                    op.gradAInto(g.data, sa >= 0 ? x.a().data : null, p, q, sy >= 0 ? x.out().data : null, r, r.length);
                    return grads(new Tensor(r, as));
                }
                return grads(op.backwardA(ALGEBRA, g, x));
            }
            return grads(
                    n.needs(0) ? op.backwardA(ALGEBRA, g, x).sumToShape(as) : null,
                    n.needs(1) ? op.backwardB(ALGEBRA, g, x).sumToShape(bs) : null);
        });
    }

    /** The table's backward formulas on tensors: every call a recorded op, so they can be differentiated again. */
    static final Algebra<Tensor> ALGEBRA = new Algebra<>() {
        public Tensor apply(Elementwise op, Tensor a) { return elementwise(op, a, 0, 0); }
        public Tensor apply(Elementwise op, Tensor a, Tensor b) { return elementwise(op, a, b); }
        public Tensor apply(Elementwise op, Tensor a, double b, double c) { return elementwise(op, a, b, c); }
        public Tensor scalar(double v) { return Tensor.scalar(v); }
        public Tensor zerosLike(Tensor a) { return Tensor.zeros(a.shape); }
        public Tensor constant(Tensor a, java.util.function.DoubleUnaryOperator f) { return Ops.constant(Kernels.unary(a.data, f), a.shape); }
        public Tensor piecewiseConstant(Tensor a, java.util.function.DoubleUnaryOperator f) {
            int[] as = a.shape;
            return record("PiecewiseConstantBackward", Ops.constant(Kernels.unary(a.data, f), as), in(a), null, (n, g) -> grads(Tensor.zeros(as)));
        }
        public Tensor where(Tensor cond, Tensor a, Tensor b) { return Ops.where(cond, a, b); }
        public Tensor eq(Tensor a, Tensor b) { return compare(a, Comparison.EQ, b); }
        public Tensor lt(Tensor a, Tensor b) { return compare(a, Comparison.LT, b); }
        public Tensor ge(Tensor a, Tensor b) { return compare(a, Comparison.GE, b); }
        public Tensor and(Tensor a, Tensor b) { return compare(a, Comparison.AND, b); }
    };

    // ---- products --------------------------------------------------------------------------------

    static Tensor dot(Tensor a, Tensor b) {
        if (a.dim() != 1 || b.dim() != 1 || a.numel() != b.numel()) {
            throw new IllegalArgumentException("dot: expected two 1-d tensors of the same size, got shapes "
                    + Shapes.str(a.shape) + " and " + Shapes.str(b.shape));
        }
        Tensor out = new Tensor(new double[] {Kernels.dot(a.data, b.data)}, Shapes.SCALAR);
        return record("DotBackward0", out, in(a, b), in(a, b), (n, g) -> grads(
                n.needs(0) ? g.mul(n.saved(1)) : null,
                n.needs(1) ? g.mul(n.saved(0)) : null));
    }

    /**
     * PyTorch's matmul dispatch for 1-d and 2-d operands (and a batch of rows times a matrix), with its node
     * names: 1-d @ 2-d ends in {@code SqueezeBackward3}, n-d @ 2-d in {@code UnsafeViewBackward0}. A size mismatch
     * is reported with the user's shapes, not the internal 2-d ones.
     */
    static Tensor matmul(Tensor a, Tensor b) {
        int ad = a.dim(), bd = b.dim();
        if (ad == 0 || bd == 0) {
            throw new IllegalArgumentException("both arguments to matmul need to be at least 1D, but they are " + ad + "D and " + bd
                    + "D (shapes " + Shapes.str(a.shape) + " and " + Shapes.str(b.shape) + ")");
        }
        if (ad == 1 && bd == 1) return dot(a, b);
        boolean supported = bd <= 2 && (ad <= 2 || bd == 2);
        if (!supported) {
            throw new IllegalArgumentException("matmul: unsupported shapes " + Shapes.str(a.shape) + " and " + Shapes.str(b.shape)
                    + " (1-d and 2-d operands, or an n-d tensor times a matrix)");
        }
        int k = a.shape[ad - 1], k2 = b.shape[0];
        if (k != k2) {
            throw new IllegalArgumentException("matmul: shapes " + Shapes.str(a.shape) + " and " + Shapes.str(b.shape)
                    + " cannot be multiplied (" + k + " columns and " + k2 + " rows)");
        }
        if (ad == 2 && bd == 1) return mv(a, b);
        if (ad == 1) return renamedReshape(mm(a.unsqueeze(0), b), new int[] {b.shape[1]}, "SqueezeBackward3");
        if (ad == 2) return mm(a, b);
        int[] outShape = a.shape.clone();
        outShape[ad - 1] = b.shape[1];
        int rows = Shapes.numel(Arrays.copyOf(a.shape, ad - 1));
        return renamedReshape(mm(a.reshape(rows, k), b), outShape, "UnsafeViewBackward0");
    }

    /** A reshape recorded under another node name (the name PyTorch's composite op leaves on its result). */
    private static Tensor renamedReshape(Tensor a, int[] shape, String name) {
        int[] as = a.shape;
        return record(name, new Tensor(a.data, shape.clone()), in(a), null, (n, g) -> grads(g.reshape(as)));
    }

    static Tensor mm(Tensor a, Tensor b) {
        int m = a.shape[0], k = a.shape[1], k2 = b.shape[0], nn = b.shape[1];
        if (k != k2) {
            throw new IllegalArgumentException("matmul: shapes " + Shapes.str(a.shape) + " and " + Shapes.str(b.shape)
                    + " cannot be multiplied (" + m + "x" + k + " and " + k2 + "x" + nn + ")");
        }
        Tensor out = new Tensor(Kernels.mm(a.data, b.data, m, k, nn), new int[] {m, nn});
        return record("MmBackward0", out, in(a, b), in(a, b), (n, g) -> grads(
                n.needs(0) ? g.matmul(n.saved(1).t()) : null,
                n.needs(1) ? mmTN(n.saved(0), g) : null));
    }

    /**
     * {@code a.t().matmul(b)} for 2-d {@code a} [k, m] and {@code b} [k, n], without materializing the
     * transpose of {@code a} (the weight gradient of a matmul: a pass over the data saved, not a copy of it).
     */
    static Tensor mmTN(Tensor a, Tensor b) {
        int k = a.shape[0], m = a.shape[1], k2 = b.shape[0], nn = b.shape[1];
        if (k != k2) {
            throw new IllegalArgumentException("matmul: shapes " + Shapes.str(new int[] {m, k}) + " and " + Shapes.str(b.shape)
                    + " cannot be multiplied (" + m + "x" + k + " and " + k2 + "x" + nn + ")");
        }
        Tensor out = new Tensor(Kernels.mmTN(a.data, b.data, k, m, nn), new int[] {m, nn});
        return record("MmBackward0", out, in(a, b), in(a, b), (n, g) -> grads(
                n.needs(0) ? n.saved(1).matmul(g.t()) : null,
                n.needs(1) ? n.saved(0).matmul(g) : null));
    }

    static Tensor mv(Tensor a, Tensor v) {
        int m = a.shape[0], k = a.shape[1];
        if (v.numel() != k) {
            throw new IllegalArgumentException("matmul: shapes " + Shapes.str(a.shape) + " and " + Shapes.str(v.shape)
                    + " cannot be multiplied (" + m + "x" + k + " and " + v.numel() + ")");
        }
        Tensor out = new Tensor(Kernels.mv(a.data, v.data, m, k), new int[] {m});
        return record("MvBackward0", out, in(a, v), in(a, v), (n, g) -> grads(
                // the outer product g v^T as PyTorch's ger: element-wise products, so a zero keeps its sign
                n.needs(0) ? g.unsqueeze(1).mul(n.saved(1).unsqueeze(0)) : null,
                n.needs(1) ? g.matmul(n.saved(0)) : null)); // A^T g as g A: no transpose of A
    }

    // ---- reductions ------------------------------------------------------------------------------

    static Tensor sum(Tensor a) {
        int[] as = a.shape;
        Tensor out = new Tensor(new double[] {Kernels.sum(a.data)}, Shapes.SCALAR);
        return record("SumBackward0", out, in(a), null, (n, g) -> grads(g.expand(as)));
    }

    static Tensor sum(Tensor a, int dim, boolean keepdim) {
        int[] as = a.shape;
        int d = Shapes.dim(dim, as.length);
        if (as.length == 0) {
            // A 0-d tensor takes dim 0 or -1; the node is still sum.dim_IntList's. 0 + x, as PyTorch's accumulator: sum(-0.) = 0.
            return record("SumBackward1", new Tensor(new double[] {Kernels.sum(a.data)}, Shapes.SCALAR), in(a), null, (n, g) -> grads(g));
        }
        int[] outShape = keepdim ? keptShape(as, d) : Shapes.removeDim(as, d);
        Tensor out = new Tensor(Kernels.sumDim(a.data, Shapes.outer(as, d), as[d], Shapes.inner(as, d)), outShape);
        return record("SumBackward1", out, in(a), null, (n, g) -> grads((keepdim ? g : g.unsqueeze(d)).expand(as)));
    }

    static Tensor mean(Tensor a) {
        int[] as = a.shape;
        int count = a.numel();
        Tensor out = new Tensor(new double[] {Kernels.sum(a.data) / count}, Shapes.SCALAR);
        return record("MeanBackward0", out, in(a), null, (n, g) -> grads(g.expand(as).div(count)));
    }

    static Tensor mean(Tensor a, int dim, boolean keepdim) {
        int[] as = a.shape;
        int d = Shapes.dim(dim, as.length);
        if (as.length == 0) {
            return record("MeanBackward1", new Tensor(new double[] {Kernels.sum(a.data)}, Shapes.SCALAR), in(a), null, (n, g) -> grads(g));
        }
        int size = as[d];
        int[] outShape = keepdim ? keptShape(as, d) : Shapes.removeDim(as, d);
        double[] s = Kernels.sumDim(a.data, Shapes.outer(as, d), size, Shapes.inner(as, d));
        for (int i = 0; i < s.length; i++) s[i] /= size;
        return record("MeanBackward1", new Tensor(s, outShape), in(a), null,
                (n, g) -> grads((keepdim ? g : g.unsqueeze(d)).expand(as).div(size)));
    }

    static Tensor norm(Tensor a) {
        Tensor out = new Tensor(new double[] {Math.sqrt(Kernels.dot(a.data, a.data))}, Shapes.SCALAR);
        // norm_backward: g * (x / norm), the factor (not the product) 0 at norm 0, so an inf/NaN g still gives NaN there.
        return record("NormBackward1", out, in(a), in(a, out), (n, g) -> {
            Tensor x = n.saved(0), r = n.saved(1);
            return grads(g.mul(where(r.eq(0), Tensor.scalar(0), x.div(r))));
        });
    }

    static Tensor max(Tensor a) {
        return extremumAll("MaxBackward1", a, 1);
    }

    static Tensor min(Tensor a) {
        return extremumAll("MinBackward1", a, -1);
    }

    /** max/min over all elements; the gradient is split evenly among ties (evenly_distribute_backward). */
    private static Tensor extremumAll(String name, Tensor a, int sign) {
        if (a.numel() == 0) {
            throw new IllegalArgumentException((sign > 0 ? "max" : "min") + "(): Expected reduction dim to be specified for input.numel() == 0.");
        }
        double best = a.data[0];
        for (double v : a.data) {
            if (Double.isNaN(v)) { best = v; break; }
            // >=: of equal values the last, as PyTorch's reduction (max([-0., 0.]) is 0., max([0., -0.]) is -0.)
            if (sign > 0 ? v >= best : v <= best) best = v;
        }
        Tensor out = new Tensor(new double[] {best}, Shapes.SCALAR);
        return record(name, out, in(a), in(a, out), (n, g) -> {
            Tensor x = n.saved(0);
            double r = n.saved(1).data[0];
            double[] m = new double[x.numel()];
            int count = 0;
            for (int i = 0; i < m.length; i++) {
                double v = x.data[i];
                if (v == r || (Double.isNaN(r) && Double.isNaN(v))) { m[i] = 1; count++; }
            }
            // Selected, not multiplied: an infinite upstream gradient leaves the other elements at 0 (masked_fill).
            return grads(where(Tensor.bool(m, x.shape), g.div(count), Tensor.scalar(0)));
        });
    }

    static Tensor logSumExp(Tensor a, int dim, boolean keepdim) {
        int[] as = a.shape;
        int d = Shapes.dim(dim, as.length);
        // A 0-d tensor takes dim 0 or -1 and reduces over its one element, keepdim or not.
        boolean squeezed = !keepdim && as.length > 0;
        Tensor out = new Tensor(Kernels.logSumExpDim(a.data, Shapes.outer(as, d), as.length == 0 ? 1 : as[d], Shapes.inner(as, d)),
                squeezed ? Shapes.removeDim(as, d) : keptShape(as, d));
        return record("LogsumexpBackward0", out, in(a), in(a, out), (n, g) -> {
            Tensor r = n.saved(1);
            return grads((squeezed ? g.unsqueeze(d) : g).mul(n.saved(0).sub(squeezed ? r.unsqueeze(d) : r).exp()));
        });
    }

    static Tensor softmax(Tensor a, int dim) {
        int[] as = a.shape;
        int d = Shapes.dim(dim, as.length);
        Tensor out = new Tensor(Kernels.softmaxDim(a.data, Shapes.outer(as, d), as.length == 0 ? 1 : as[d], Shapes.inner(as, d)), as);
        return record("SoftmaxBackward0", out, in(a), in(out), (n, g) -> {
            Tensor y = n.saved(0);
            return grads(y.mul(g.sub(g.mul(y).sum(d, true))));
        });
    }

    static Tensor logSoftmax(Tensor a, int dim) {
        int[] as = a.shape;
        int d = Shapes.dim(dim, as.length);
        Tensor out = new Tensor(Kernels.logSoftmaxDim(a.data, Shapes.outer(as, d), as.length == 0 ? 1 : as[d], Shapes.inner(as, d)), as);
        return record("LogSoftmaxBackward0", out, in(a), in(out), (n, g) -> grads(g.sub(n.saved(0).exp().mul(g.sum(d, true)))));
    }

    private static int[] keptShape(int[] shape, int dim) {
        int[] s = shape.clone();
        if (s.length > 0) s[dim] = 1;
        return s;
    }

    // ---- shape ops (they copy: storage is never aliased except by detach) --------------------------

    static Tensor reshape(Tensor a, int[] shape) {
        int[] as = a.shape;
        int[] s = Shapes.inferReshape(as, shape);
        return record("ViewBackward0", new Tensor(a.data.clone(), s), in(a), null, (n, g) -> grads(g.reshape(as)));
    }

    static Tensor t(Tensor a) {
        if (a.dim() > 2) throw new IllegalArgumentException("t() expects a tensor with <= 2 dimensions, but got shape " + Shapes.str(a.shape));
        Tensor out = a.dim() < 2 ? new Tensor(a.data.clone(), a.shape) : new Tensor(Kernels.transpose(a.data, a.shape, 0, 1), new int[] {a.shape[1], a.shape[0]});
        return record("TBackward0", out, in(a), null, (n, g) -> grads(g.t()));
    }

    static Tensor transpose(Tensor a, int dim0, int dim1) {
        int d0 = Shapes.dim(dim0, a.dim()), d1 = Shapes.dim(dim1, a.dim());
        int[] s = a.shape.clone();
        if (s.length > 0) {
            s[d0] = a.shape[d1];
            s[d1] = a.shape[d0];
        }
        Tensor out = new Tensor(a.dim() == 0 ? a.data.clone() : Kernels.transpose(a.data, a.shape, d0, d1), s);
        return record("TransposeBackward0", out, in(a), null, (n, g) -> grads(g.transpose(d0, d1)));
    }

    static Tensor unsqueeze(Tensor a, int dim) {
        int d = Shapes.dim(dim, a.dim() + 1);
        return record("UnsqueezeBackward0", new Tensor(a.data.clone(), Shapes.insertDim(a.shape, d, 1)), in(a), null,
                (n, g) -> grads(g.squeeze(d)));
    }

    static Tensor squeeze(Tensor a) {
        int[] as = a.shape;
        int[] s = Arrays.stream(as).filter(x -> x != 1).toArray();
        return record("SqueezeBackward0", new Tensor(a.data.clone(), s), in(a), null, (n, g) -> grads(g.reshape(as)));
    }

    static Tensor squeeze(Tensor a, int dim) {
        int[] as = a.shape;
        int d = Shapes.dim(dim, as.length);
        int[] s = as.length > 0 && as[d] == 1 ? Shapes.removeDim(as, d) : as.clone();
        return record("SqueezeBackward1", new Tensor(a.data.clone(), s), in(a), null, (n, g) -> grads(g.reshape(as)));
    }

    static Tensor expand(Tensor a, int[] shape) {
        int[] as = a.shape;
        int[] s = shape.clone();
        for (int i = 0; i < s.length; i++) {
            int j = i - (s.length - as.length);
            if (s[i] == -1) {
                if (j < 0) {
                    throw new IllegalArgumentException("expand: -1 is not allowed in a new leading dimension: shape " + Shapes.str(as)
                            + " to " + Shapes.str(shape));
                }
                s[i] = as[j];
            }
        }
        if (!Shapes.broadcastsTo(as, s)) {
            throw new IllegalArgumentException("expand: shape " + Shapes.str(as) + " cannot be expanded to " + Shapes.str(shape));
        }
        return record("ExpandBackward0", new Tensor(Kernels.expand(a.data, as, s).clone(), s), in(a), null,
                (n, g) -> grads(g.sumToShape(as)));
    }

    /** The adjoint of broadcasting: the one reduction every broadcasting op's backward uses. */
    static Tensor sumToShape(Tensor a, int[] shape) {
        int[] as = a.shape;
        if (Arrays.equals(as, shape)) return a;
        if (!Shapes.broadcastsTo(shape, as)) {
            throw new IllegalArgumentException("sumToShape: shape " + Shapes.str(shape) + " does not broadcast to " + Shapes.str(as));
        }
        int[] s = shape.clone();
        return record("SumBackward1", new Tensor(Kernels.sumToShape(a.data, as, s), s), in(a), null, (n, g) -> grads(g.expand(as)));
    }

    static Tensor slice(Tensor a, int dim, int start, int end) {
        int[] as = a.shape;
        if (as.length == 0) throw new IllegalArgumentException("slice() cannot be applied to a 0-dim tensor");
        int d = Shapes.dim(dim, as.length);
        int size = as[d];
        // Python slice semantics: negative from the end, clamped to the bounds.
        int s0 = Math.min(Math.max(start < 0 ? start + size : start, 0), size);
        int e0 = Math.min(Math.max(end < 0 ? end + size : end, s0), size);
        int[] s = as.clone();
        s[d] = e0 - s0;
        Tensor out = new Tensor(Kernels.slice(a.data, Shapes.outer(as, d), size, Shapes.inner(as, d), s0, e0), s);
        return record("SliceBackward0", out, in(a), null, (n, g) -> grads(padAlong(g, as, d, s0)));
    }

    static Tensor index(Tensor a, int i) {
        int[] as = a.shape;
        if (as.length == 0) throw new IndexOutOfBoundsException("invalid index of a 0-dim tensor");
        int k = i < 0 ? i + as[0] : i;
        if (k < 0 || k >= as[0]) throw new IndexOutOfBoundsException("index " + i + " is out of bounds for dimension 0 with size " + as[0]);
        int[] s = Shapes.removeDim(as, 0);
        int inner = Shapes.numel(s);
        Tensor out = new Tensor(Arrays.copyOfRange(a.data, k * inner, (k + 1) * inner), s);
        return record("SelectBackward0", out, in(a), null, (n, g) -> grads(padAlong(g.unsqueeze(0), as, 0, k)));
    }

    /** Places {@code g} at offset {@code start} along {@code dim} inside zeros of {@code shape} (the adjoint of slicing). */
    private static Tensor padAlong(Tensor g, int[] shape, int dim, int start) {
        int before = start, after = shape[dim] - start - g.shape[dim];
        List<Tensor> parts = new ArrayList<>(3);
        if (before > 0) {
            int[] s = shape.clone();
            s[dim] = before;
            parts.add(Tensor.zeros(s));
        }
        parts.add(g);
        if (after > 0) {
            int[] s = shape.clone();
            s[dim] = after;
            parts.add(Tensor.zeros(s));
        }
        return parts.size() == 1 ? g : cat(parts, dim);
    }

    static Tensor cat(List<Tensor> tensors, int dim) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("cat: expected a non-empty list of tensors");
        int[] first = tensors.get(0).shape;
        if (first.length == 0) throw new IllegalArgumentException("cat: zero-dimensional tensor cannot be concatenated");
        int d = Shapes.dim(dim, first.length);
        double[][] parts = new double[tensors.size()][];
        int[] sizes = new int[tensors.size()];
        int total = 0;
        for (int p = 0; p < parts.length; p++) {
            Tensor t = tensors.get(p);
            boolean ok = t.shape.length == first.length;
            for (int i = 0; ok && i < first.length; i++) ok = i == d || t.shape[i] == first[i];
            if (!ok) {
                throw new IllegalArgumentException("cat: sizes of tensors must match except in dimension " + d + ": shapes "
                        + Shapes.str(first) + " and " + Shapes.str(t.shape) + " (tensor " + p + ")");
            }
            parts[p] = t.data;
            sizes[p] = t.shape[d];
            total += sizes[p];
        }
        int[] s = first.clone();
        s[d] = total;
        Tensor out = new Tensor(Kernels.cat(parts, sizes, Shapes.outer(first, d), Shapes.inner(first, d)), s);
        return record("CatBackward0", out, tensors.toArray(new Tensor[0]), null, (n, g) -> {
            Tensor[] gs = new Tensor[sizes.length];
            for (int p = 0, off = 0; p < sizes.length; off += sizes[p], p++) {
                if (n.needs(p)) gs[p] = g.slice(d, off, off + sizes[p]);
            }
            return gs;
        });
    }

    // ---- selecting by an index tensor ----------------------------------------------------------

    /** {@code torch.index_select}: the slices {@code index[j]} of {@code a} along {@code dim}, in index order. */
    static Tensor indexSelect(Tensor a, int dim, Tensor index) {
        if (a.shape.length == 0) throw new IllegalArgumentException("indexSelect: cannot select from a 0-dim tensor");
        if (index.shape.length > 1) {
            throw new IllegalArgumentException("indexSelect: index must be 0-d or 1-d, got shape " + Shapes.str(index.shape));
        }
        int d = Shapes.dim(dim, a.shape.length);
        return select(a, d, indices("indexSelect", index, a.shape[d]));
    }

    private static Tensor select(Tensor a, int d, int[] idx) {
        int[] as = a.shape, s = as.clone();
        s[d] = idx.length;
        Tensor out = new Tensor(gather(a.data, Shapes.outer(as, d), as[d], Shapes.inner(as, d), idx), s);
        return record("IndexSelectBackward0", out, in(a), null, (n, g) -> grads(indexAdd(g, as, d, idx)));
    }

    /** Zeros of {@code shape} with the slices of {@code g} added at {@code idx} along {@code d} (repeats add up): the adjoint of {@link #select}. */
    private static Tensor indexAdd(Tensor g, int[] shape, int d, int[] idx) {
        Tensor out = new Tensor(scatterAdd(g.data, Shapes.outer(shape, d), shape[d], Shapes.inner(shape, d), idx), shape.clone());
        return record("IndexAddBackward0", out, in(g), null, (n, gg) -> grads(select(gg, d, idx)));
    }

    /**
     * {@code torch.nn.functional.embedding}: row {@code indices[...]} of {@code weight} ({@code [n, k]}) for each
     * index, shape {@code indices.shape + [k]}. The gradient scatter-adds into the weight's rows.
     */
    static Tensor embedding(Tensor indices, Tensor weight) {
        if (weight.shape.length != 2) {
            throw new IllegalArgumentException("embedding: weight must be 2-d [n, k], got shape " + Shapes.str(weight.shape));
        }
        int n = weight.shape[0], k = weight.shape[1];
        int[] idx = indices("embedding", indices, n);
        int[] s = Arrays.copyOf(indices.shape, indices.shape.length + 1);
        s[s.length - 1] = k;
        int[] ws = weight.shape;
        Tensor out = new Tensor(gather(weight.data, 1, n, k, idx), s);
        return record("EmbeddingBackward0", out, in(weight), null, (nd, g) -> grads(indexAdd(g.reshape(idx.length, k), ws, 0, idx)));
    }

    /** The entries of an index tensor as ints in {@code [0, size)}; an error naming the first that is not. */
    private static int[] indices(String op, Tensor index, int size) {
        int[] idx = new int[index.data.length];
        for (int j = 0; j < idx.length; j++) {
            double v = index.data[j];
            if (v != Math.rint(v) || v < 0 || v >= size) {
                String shown = v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
                throw new IllegalArgumentException(op + ": index " + shown + " (element " + j + " of the index tensor) is "
                        + (v != Math.rint(v) ? "not an integer" : "out of range [0, " + size + ")"));
            }
            idx[j] = (int) v;
        }
        return idx;
    }

    /** {@code [outer, idx.length, inner]}: the slices {@code idx} of {@code a} seen as {@code [outer, size, inner]}. */
    private static double[] gather(double[] a, int outer, int size, int inner, int[] idx) {
        double[] out = new double[outer * idx.length * inner];
        for (int o = 0, p = 0; o < outer; o++) {
            for (int j : idx) {
                System.arraycopy(a, (o * size + j) * inner, out, p, inner);
                p += inner;
            }
        }
        return out;
    }

    /** {@code [outer, size, inner]} zeros with the slices of {@code g} ({@code [outer, idx.length, inner]}) added at {@code idx}, in index order. */
    private static double[] scatterAdd(double[] g, int outer, int size, int inner, int[] idx) {
        double[] out = new double[outer * size * inner];
        for (int o = 0, p = 0; o < outer; o++) {
            for (int j : idx) {
                int base = (o * size + j) * inner;
                for (int i = 0; i < inner; i++) out[base + i] += g[p++];
            }
        }
        return out;
    }

    static Tensor clone(Tensor a) {
        return record("CloneBackward0", new Tensor(a.data.clone(), a.shape), in(a), null, (n, g) -> grads(g));
    }

    // ---- selection -------------------------------------------------------------------------------

    /** The gradient goes only to the chosen side; NaN from the other side's own backward still leaks, as in PyTorch. */
    static Tensor where(Tensor cond, Tensor a, Tensor b) {
        int[] as = a.shape, bs = b.shape;
        int[] s;
        try {
            s = Shapes.broadcast(Shapes.broadcast(cond.shape, as), bs);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("where: shapes " + Shapes.str(cond.shape) + " (condition), " + Shapes.str(as) + " and "
                    + Shapes.str(bs) + " cannot be broadcast together");
        }
        Tensor out = new Tensor(Kernels.where(cond.data, cond.shape, a.data, as, b.data, bs, s), s);
        return record("WhereBackward0", out, in(a, b), in(cond), (n, g) -> {
            Tensor c = n.saved(0);
            Tensor zero = Tensor.scalar(0);
            return grads(
                    n.needs(0) ? where(c, g, zero).sumToShape(as) : null,
                    n.needs(1) ? where(c, zero, g).sumToShape(bs) : null);
        });
    }

    // ---- comparisons and masks (constants: never recorded) ------------------------------------------

    static Tensor compare(Tensor a, Comparison op, Tensor b) {
        int[] s = Shapes.broadcast(a.shape, b.shape);
        return Tensor.bool(Kernels.binary(op, a.data, a.shape, b.data, b.shape, s), s);
    }


    // ---- in place --------------------------------------------------------------------------------

    private static void checkLeaf(Tensor self) {
        if (self.isLeaf() && self.requiresGrad() && Autograd.isGradEnabled()) {
            throw new IllegalStateException("a leaf Variable that requires grad is being used in an in-place operation.");
        }
    }

    private static void checkInPlace(Tensor self) {
        checkLeaf(self);
        if (self.bool) throw new IllegalStateException("in-place arithmetic on a bool tensor is not supported");
    }

    /**
     * self (op)= other. Recorded as the out-of-place op whose result replaces self's values and
     * history (PyTorch's rebase_history); the version bump makes nodes that saved the old self refuse
     * to run, as PyTorch does.
     */
    static Tensor inPlace(Tensor self, Elementwise op, Tensor other) {
        checkInPlace(self);
        int[] s = Shapes.broadcast(self.shape, other.shape);
        if (!Arrays.equals(s, self.shape)) {
            throw new IllegalArgumentException("output with shape " + Shapes.str(self.shape)
                    + " doesn't match the broadcast shape " + Shapes.str(s) + " (operand shape " + Shapes.str(other.shape) + ")");
        }
        if (Autograd.isGradEnabled() && (self.requiresGrad() || other.requiresGrad())) {
            rebase(self, elementwise(op, self, other));
        } else {
            Kernels.binaryInPlace(op, self.data, self.shape, other.data, other.shape);
            self.version[0]++;
        }
        return self;
    }

    static Tensor fill_(Tensor self, double v) {
        checkLeaf(self);
        if (Autograd.isGradEnabled() && self.requiresGrad()) {
            int[] ss = self.shape;
            Tensor r = record(v == 0 ? "ZeroBackward0" : "FillBackward0", new Tensor(self.data, ss), in(self), null,
                    (n, g) -> grads(Tensor.zeros(ss)));
            self.gradFn = r.gradFn;
        }
        Arrays.fill(self.data, v);
        self.version[0]++;
        return self;
    }

    static Tensor copy_(Tensor self, Tensor src) {
        checkInPlace(self);
        if (!Shapes.broadcastsTo(src.shape, self.shape)) {
            throw new IllegalArgumentException("copy_: source shape " + Shapes.str(src.shape) + " does not broadcast to " + Shapes.str(self.shape));
        }
        int[] ss = self.shape, rs = src.shape;
        Tensor out = new Tensor(Kernels.expand(src.data, rs, ss).clone(), ss);
        if (Autograd.isGradEnabled() && (self.requiresGrad() || src.requiresGrad())) {
            rebase(self, record("CopyBackwards", out, in(self, src), null, (n, g) -> grads(
                    n.needs(0) ? Tensor.zeros(ss) : null,
                    n.needs(1) ? g.sumToShape(rs) : null)));
        } else {
            System.arraycopy(out.data, 0, self.data, 0, out.data.length);
            self.version[0]++;
        }
        return self;
    }

    private static void rebase(Tensor self, Tensor result) {
        System.arraycopy(result.data, 0, self.data, 0, self.data.length);
        self.version[0]++;
        self.gradFn = result.gradFn;
    }
}
