package dev.sparkautograd;

import dev.sparkautograd.tensor.Kernels;
import dev.sparkautograd.tensor.Comparison;
import dev.sparkautograd.tensor.Elementwise;
import dev.sparkautograd.tensor.Shapes;
import dev.sparkautograd.tensor.TensorFormatter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;

/**
 * A dense, row-major float64 (or bool) n-d tensor with PyTorch's autograd semantics.
 *
 * <p>Ops are recorded define-by-run: when grad mode is on and an input requires grad, the result
 * carries a grad_fn and {@link #backward()} differentiates through it. Every differentiable op is
 * declared once, forward and backward side by side, in {@code Ops}; this class is the public face.
 */
public final class Tensor {

    /** Storage; shared with {@link #detach() detached} tensors, written by in-place ops. */
    final double[] data;
    final int[] shape;
    final boolean bool;
    /** Version counter, shared with detached tensors: bumped by every in-place op. */
    final int[] version;

    private boolean requiresGradLeaf;
    Node gradFn;
    Tensor grad;
    /** The AccumulateGrad node of a leaf that requires grad, made on first use so all uses share it. */
    private Node accumulator;
    List<UnaryOperator<Tensor>> hooks;

    Tensor(double[] data, int[] shape) {
        this(data, shape, false, new int[1]);
    }

    Tensor(double[] data, int[] shape, boolean bool, int[] version) {
        this.data = data;
        this.shape = shape;
        this.bool = bool;
        this.version = version;
    }

    /**
     * A tensor over {@code data} without copying it (the caller hands the array over). For the
     * library's own layers (serialization, blocks), where a copy per block would cost a pass over memory.
     */
    public static Tensor wrap(double[] data, int[] shape, boolean bool) {
        if (Shapes.numel(shape) != data.length) {
            throw new IllegalArgumentException("wrap: " + data.length + " values do not fill shape " + Shapes.str(shape));
        }
        return new Tensor(data, shape.clone(), bool, new int[1]);
    }

    /** The storage itself, not a copy: for the library's own layers, which must not modify it. */
    public double[] toArrayUnsafe() {
        return data;
    }

    static Tensor bool(double[] data, int[] shape) {
        return new Tensor(data, shape, true, new int[1]);
    }

    // ---- factories -----------------------------------------------------------------------------

    public static Tensor arange(double end) {
        return arange(0, end, 1);
    }

    public static Tensor arange(double start, double end, double step) {
        if (step == 0) throw new IllegalArgumentException("arange: step must be nonzero");
        if (!Double.isFinite(start) || !Double.isFinite(end)) throw new IllegalArgumentException("arange: unsupported range " + start + " to " + end);
        if ((end - start) / step < 0) throw new IllegalArgumentException("arange: upper bound and larger bound inconsistent with step sign");
        int n = (int) Math.ceil((end - start) / step);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = start + i * step;
        return new Tensor(d, new int[] {n});
    }

    public static Tensor of(double... values) {
        return new Tensor(values.clone(), new int[] {values.length});
    }

    public static Tensor scalar(double v) {
        return new Tensor(new double[] {v}, Shapes.SCALAR);
    }

    /** A tensor holding a copy of {@code data} (row-major) with the given shape. */
    public static Tensor fromArray(double[] data, int... shape) {
        if (Shapes.numel(shape) != data.length) {
            throw new IllegalArgumentException("fromArray: " + data.length + " values do not fill shape " + Shapes.str(shape));
        }
        return new Tensor(data.clone(), shape.clone());
    }

    public static Tensor zeros(int... shape) {
        return new Tensor(new double[Shapes.numel(shape)], shape.clone());
    }

    public static Tensor ones(int... shape) {
        return full(1, shape);
    }

    public static Tensor full(double v, int... shape) {
        double[] d = new double[Shapes.numel(shape)];
        Arrays.fill(d, v);
        return new Tensor(d, shape.clone());
    }

    public static Tensor eye(int n) {
        double[] d = new double[Shapes.numel(new int[] {n, n})];
        for (int i = 0; i < n; i++) d[i * n + i] = 1;
        return new Tensor(d, new int[] {n, n});
    }

    /** Standard normal values, reproducible from the seed ({@link Random#nextGaussian()}, a specified algorithm). */
    public static Tensor randn(long seed, int... shape) {
        Random r = new Random(seed);
        double[] d = new double[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian();
        return new Tensor(d, shape.clone());
    }

    /** Uniform values in [0, 1), reproducible from the seed. */
    public static Tensor rand(long seed, int... shape) {
        Random r = new Random(seed);
        double[] d = new double[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = r.nextDouble();
        return new Tensor(d, shape.clone());
    }

    // ---- facts ---------------------------------------------------------------------------------

    public int[] shape() {
        return shape.clone();
    }

    public int dim() {
        return shape.length;
    }

    public int numel() {
        return data.length;
    }

    /** Size of one dimension (negative counts from the end). */
    public int size(int dim) {
        return shape[Shapes.dim(dim, shape.length)];
    }

    /**
     * The version counter (PyTorch's {@code _version}): bumped by every in-place op on this tensor or one
     * sharing its storage. Whoever keeps a tensor to read later checks it did not change meanwhile.
     */
    public int version() {
        return version[0];
    }

    public boolean isBool() {
        return bool;
    }

    public double item() {
        if (data.length != 1) {
            throw new IllegalStateException("a Tensor with " + data.length + " elements cannot be converted to Scalar");
        }
        return data[0];
    }

    public double[] toArray() {
        return data.clone();
    }

    public double get(int... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index of " + index.length + " dimensions for a tensor of shape " + Shapes.str(shape));
        }
        int off = 0;
        for (int i = 0; i < index.length; i++) {
            int k = index[i] < 0 ? index[i] + shape[i] : index[i];
            if (k < 0 || k >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + index[i] + " is out of bounds for dimension " + i + " with size " + shape[i]);
            }
            off = off * shape[i] + k;
        }
        return data[off];
    }

    /** Same shape and the same values (as torch.equal). */
    public boolean equal(Tensor other) {
        if (!Arrays.equals(shape, other.shape)) return false;
        for (int i = 0; i < data.length; i++) if (data[i] != other.data[i]) return false;
        return true;
    }

    /** |this - other| <= atol + rtol * |other| everywhere, shapes broadcasting (as torch.allclose; NaN never close). */
    public boolean allclose(Tensor other, double rtol, double atol) {
        int[] s = Shapes.broadcast(shape, other.shape);
        double[] a = Kernels.expand(data, shape, s), b = Kernels.expand(other.data, other.shape, s);
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) continue;
            if (!(Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]))) return false;
        }
        return true;
    }

    // ---- autograd ------------------------------------------------------------------------------

    public boolean requiresGrad() {
        return requiresGradLeaf || gradFn != null;
    }

    /** Marks a leaf as requiring grad (returns this). */
    public Tensor requiresGrad_(boolean requiresGrad) {
        if (gradFn != null) {
            if (!requiresGrad) {
                throw new IllegalStateException("you can only change requires_grad flags of leaf variables. If you want to use "
                        + "a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().");
            }
            return this;
        }
        if (requiresGrad && bool) throw new IllegalStateException("only Tensors of floating point dtype can require gradients");
        requiresGradLeaf = requiresGrad;
        return this;
    }

    public Tensor requiresGrad_() {
        return requiresGrad_(true);
    }

    public boolean isLeaf() {
        return gradFn == null;
    }

    /** The accumulated gradient of a leaf (or of a non-leaf that called {@link #retainGrad()}); null until a backward reaches it. */
    public Tensor grad() {
        return grad;
    }

    /** Replaces the stored gradient (as assigning {@code x.grad} in PyTorch); null clears it. */
    public void setGrad(Tensor g) {
        if (g != null && !Arrays.equals(g.shape, shape)) {
            throw new IllegalArgumentException("assigned grad has shape " + Shapes.str(g.shape) + " but the tensor has shape " + Shapes.str(shape));
        }
        grad = g;
    }

    /** "MulBackward0" and the like; null for leaves. */
    public String gradFnName() {
        return gradFn == null ? null : gradFn.name;
    }

    /** The node a gradient for this tensor flows into: its grad_fn, its accumulator, or null. */
    Node gradEdge() {
        if (gradFn != null) return gradFn;
        if (!requiresGradLeaf) return null;
        if (accumulator == null) accumulator = new Node(this);
        return accumulator;
    }

    public void backward() {
        if (!requiresGrad()) throw new IllegalStateException("element 0 of tensors does not require grad and does not have a grad_fn");
        if (data.length != 1) throw new IllegalArgumentException("grad can be implicitly created only for scalar outputs");
        backward(Tensor.full(1, shape), false);
    }

    public void backward(Tensor gradient) {
        backward(gradient, false);
    }

    public void backward(Tensor gradient, boolean retainGraph) {
        backward(gradient, retainGraph, false);
    }

    public void backward(Tensor gradient, boolean retainGraph, boolean createGraph) {
        if (!requiresGrad()) throw new IllegalStateException("element 0 of tensors does not require grad and does not have a grad_fn");
        if (gradient == null) {
            if (data.length != 1) throw new IllegalArgumentException("grad can be implicitly created only for scalar outputs");
            gradient = Tensor.full(1, shape);
        }
        if (!Arrays.equals(gradient.shape, shape)) {
            throw new IllegalArgumentException("Mismatch in shape: grad_output[0] has a shape of " + Shapes.str(gradient.shape)
                    + " and output[0] has a shape of " + Shapes.str(shape) + ".");
        }
        Engine.run(new Tensor[] {this}, new Tensor[] {gradient}, retainGraph || createGraph, createGraph, null);
    }

    /** Keeps this non-leaf's gradient in {@link #grad()} during backward. */
    public void retainGrad() {
        if (gradFn == null) {
            if (!requiresGradLeaf) throw new IllegalStateException("can't retain_grad on Tensor that has requires_grad=False");
            return;
        }
        gradFn.retainedOutput = this;
    }

    public boolean retainsGrad() {
        return gradFn != null && gradFn.retainedOutput == this;
    }

    /** A hook on this tensor's gradient: it may return a replacement, or null to keep the gradient. */
    public Hook registerHook(UnaryOperator<Tensor> hook) {
        if (!requiresGrad()) throw new IllegalStateException("cannot register a hook on a tensor that doesn't require gradient");
        if (gradFn != null) return gradFn.addPreHook(hook);
        if (hooks == null) hooks = new ArrayList<>(1);
        hooks.add(hook);
        return () -> hooks.remove(hook);
    }

    /** A tensor sharing this one's storage and version counter, cut from the graph. */
    public Tensor detach() {
        return new Tensor(data, shape, bool, version);
    }

    /** A fresh copy outside the graph. */
    Tensor detachedCopy() {
        return new Tensor(data.clone(), shape, bool, new int[1]);
    }

    // ---- differentiable ops (declared in Ops) ----------------------------------------------------

    /**
     * One unary entry of the element-wise op table with its numeric attributes (0 where it has none): what
     * every element-wise method here calls, and how the distributed layer replays a table op on a block.
     */
    public Tensor apply(Elementwise op, double b, double c) {
        if (op.arity() != 1) throw new IllegalArgumentException(op.method + " takes a second tensor operand");
        return Ops.elementwise(op, this, b, c);
    }

    /** One binary entry of the element-wise op table, broadcasting as NumPy. */
    public Tensor apply(Elementwise op, Tensor other) {
        if (op.arity() != 2) throw new IllegalArgumentException(op.method + " takes one tensor operand");
        return Ops.elementwise(op, this, other);
    }

    private Tensor unary(Elementwise op) { return Ops.elementwise(op, this, 0, 0); }

    public Tensor add(Tensor o) { return Ops.elementwise(Elementwise.ADD, this, o); }
    public Tensor add(double v) { return Ops.elementwise(Elementwise.ADD, this, scalar(v)); }
    public Tensor sub(Tensor o) { return Ops.elementwise(Elementwise.SUB, this, o); }
    public Tensor sub(double v) { return Ops.elementwise(Elementwise.SUB, this, scalar(v)); }
    public Tensor mul(Tensor o) { return Ops.elementwise(Elementwise.MUL, this, o); }
    public Tensor mul(double v) { return Ops.elementwise(Elementwise.MUL, this, scalar(v)); }
    public Tensor div(Tensor o) { return Ops.elementwise(Elementwise.DIV, this, o); }
    public Tensor div(double v) { return Ops.elementwise(Elementwise.DIV, this, scalar(v)); }
    public Tensor neg() { return unary(Elementwise.NEG); }
    public Tensor pow(double exponent) { return Ops.elementwise(Elementwise.POW_SCALAR, this, exponent, 0); }
    public Tensor pow(Tensor exponent) { return Ops.elementwise(Elementwise.POW, this, exponent); }
    public Tensor exp() { return unary(Elementwise.EXP); }
    public Tensor expm1() { return unary(Elementwise.EXPM1); }
    public Tensor log() { return unary(Elementwise.LOG); }
    public Tensor log2() { return unary(Elementwise.LOG2); }
    public Tensor log1p() { return unary(Elementwise.LOG1P); }
    public Tensor sqrt() { return unary(Elementwise.SQRT); }
    public Tensor abs() { return unary(Elementwise.ABS); }
    public Tensor sin() { return unary(Elementwise.SIN); }
    public Tensor cos() { return unary(Elementwise.COS); }
    public Tensor sinh() { return unary(Elementwise.SINH); }
    public Tensor cosh() { return unary(Elementwise.COSH); }
    public Tensor tanh() { return unary(Elementwise.TANH); }
    public Tensor sigmoid() { return unary(Elementwise.SIGMOID); }
    public Tensor relu() { return unary(Elementwise.RELU); }
    public Tensor softplus() { return unary(Elementwise.SOFTPLUS); }
    public Tensor square() { return unary(Elementwise.SQUARE); }
    /** Clamps into [min, max]; pass Double.NEGATIVE_INFINITY / POSITIVE_INFINITY for a one-sided clamp. */
    public Tensor clamp(double min, double max) { return Ops.elementwise(Elementwise.CLAMP, this, min, max); }
    public Tensor maximum(Tensor o) { return Ops.elementwise(Elementwise.MAXIMUM, this, o); }
    public Tensor minimum(Tensor o) { return Ops.elementwise(Elementwise.MINIMUM, this, o); }
    public Tensor dot(Tensor o) { return Ops.dot(this, o); }
    public Tensor matmul(Tensor o) { return Ops.matmul(this, o); }
    public Tensor sum() { return Ops.sum(this); }
    public Tensor sum(int dim, boolean keepdim) { return Ops.sum(this, dim, keepdim); }
    public Tensor mean() { return Ops.mean(this); }
    public Tensor mean(int dim, boolean keepdim) { return Ops.mean(this, dim, keepdim); }
    /** The 2-norm over all elements. */
    public Tensor norm() { return Ops.norm(this); }
    public Tensor max() { return Ops.max(this); }
    public Tensor min() { return Ops.min(this); }
    public Tensor logSumExp(int dim, boolean keepdim) { return Ops.logSumExp(this, dim, keepdim); }
    public Tensor softmax(int dim) { return Ops.softmax(this, dim); }
    public Tensor logSoftmax(int dim) { return Ops.logSoftmax(this, dim); }
    public Tensor reshape(int... shape) { return Ops.reshape(this, shape); }
    public Tensor t() { return Ops.t(this); }
    public Tensor transpose(int dim0, int dim1) { return Ops.transpose(this, dim0, dim1); }
    public Tensor unsqueeze(int dim) { return Ops.unsqueeze(this, dim); }
    public Tensor squeeze() { return Ops.squeeze(this); }
    public Tensor squeeze(int dim) { return Ops.squeeze(this, dim); }
    public Tensor expand(int... shape) { return Ops.expand(this, shape); }
    /** Sums this tensor down to {@code shape}, which must broadcast to this tensor's shape (the adjoint of expand). */
    public Tensor sumToShape(int... shape) { return Ops.sumToShape(this, shape); }
    public Tensor slice(int dim, int start, int end) { return Ops.slice(this, dim, start, end); }
    /** Row {@code i} along the first dimension. */
    public Tensor index(int i) { return Ops.index(this, i); }
    /** {@code torch.index_select}: the slices at {@code index} (0-d or 1-d, integer values) along {@code dim}. */
    public Tensor indexSelect(int dim, Tensor index) { return Ops.indexSelect(this, dim, index); }
    /** {@code torch.nn.functional.embedding}: this tensor holds indices into the rows of {@code weight} ({@code [n, k]}); shape {@code shape() + [k]}. */
    public Tensor embedding(Tensor weight) { return Ops.embedding(this, weight); }
    public Tensor clone() { return Ops.clone(this); }
    public static Tensor cat(List<Tensor> tensors, int dim) { return Ops.cat(tensors, dim); }
    public static Tensor where(Tensor cond, Tensor a, Tensor b) { return Ops.where(cond, a, b); }

    // ---- in place --------------------------------------------------------------------------------

    public Tensor add_(Tensor o) { return Ops.inPlace(this, Elementwise.ADD, o); }
    public Tensor add_(double v) { return Ops.inPlace(this, Elementwise.ADD, scalar(v)); }
    public Tensor sub_(Tensor o) { return Ops.inPlace(this, Elementwise.SUB, o); }
    public Tensor sub_(double v) { return Ops.inPlace(this, Elementwise.SUB, scalar(v)); }
    public Tensor mul_(Tensor o) { return Ops.inPlace(this, Elementwise.MUL, o); }
    public Tensor mul_(double v) { return Ops.inPlace(this, Elementwise.MUL, scalar(v)); }
    public Tensor div_(Tensor o) { return Ops.inPlace(this, Elementwise.DIV, o); }
    public Tensor div_(double v) { return Ops.inPlace(this, Elementwise.DIV, scalar(v)); }
    public Tensor zero_() { return Ops.fill_(this, 0); }
    public Tensor fill_(double v) { return Ops.fill_(this, v); }
    public Tensor copy_(Tensor src) { return Ops.copy_(this, src); }

    // ---- comparisons (bool results, never recorded) ------------------------------------------------

    public Tensor eq(Tensor o) { return Ops.compare(this, Comparison.EQ, o); }
    public Tensor eq(double v) { return Ops.compare(this, Comparison.EQ, scalar(v)); }
    public Tensor ne(Tensor o) { return Ops.compare(this, Comparison.NE, o); }
    public Tensor ne(double v) { return Ops.compare(this, Comparison.NE, scalar(v)); }
    public Tensor lt(Tensor o) { return Ops.compare(this, Comparison.LT, o); }
    public Tensor lt(double v) { return Ops.compare(this, Comparison.LT, scalar(v)); }
    public Tensor le(Tensor o) { return Ops.compare(this, Comparison.LE, o); }
    public Tensor le(double v) { return Ops.compare(this, Comparison.LE, scalar(v)); }
    public Tensor gt(Tensor o) { return Ops.compare(this, Comparison.GT, o); }
    public Tensor gt(double v) { return Ops.compare(this, Comparison.GT, scalar(v)); }
    public Tensor ge(Tensor o) { return Ops.compare(this, Comparison.GE, o); }
    public Tensor ge(double v) { return Ops.compare(this, Comparison.GE, scalar(v)); }

    /** True when every element is non-zero (a bool scalar). */
    public Tensor all() {
        for (double v : data) if (v == 0) return bool(new double[] {0}, Shapes.SCALAR);
        return bool(new double[] {1}, Shapes.SCALAR);
    }

    /** True when some element is non-zero (a bool scalar). */
    public Tensor any() {
        for (double v : data) if (v != 0) return bool(new double[] {1}, Shapes.SCALAR);
        return bool(new double[] {0}, Shapes.SCALAR);
    }

    // ---- printing --------------------------------------------------------------------------------

    /** PyTorch's repr: {@code tensor([0., 1., 2., 3.], requires_grad=True)}, {@code tensor(28., grad_fn=<MulBackward0>)}. */
    @Override
    public String toString() {
        List<String> suffixes = new ArrayList<>(1);
        if (gradFn != null) suffixes.add("grad_fn=<" + gradFn.name + ">");
        else if (requiresGradLeaf) suffixes.add("requires_grad=True");
        return TensorFormatter.repr(data, shape, bool, suffixes);
    }
}
