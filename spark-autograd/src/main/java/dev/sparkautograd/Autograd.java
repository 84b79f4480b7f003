package dev.sparkautograd;

import dev.sparkautograd.tensor.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Grad mode, anomaly mode and the functional API (PyTorch's torch.autograd and torch.autograd.functional).
 * Modes are per thread, as in PyTorch, so Spark tasks running side by side do not see each other's.
 */
public final class Autograd {
    private Autograd() {}

    /** A mode scope for try-with-resources; closing it restores the mode in force before it. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    private static final ThreadLocal<boolean[]> GRAD_ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});
    private static final ThreadLocal<boolean[]> ANOMALY = ThreadLocal.withInitial(() -> new boolean[] {false});

    public static boolean isGradEnabled() {
        return GRAD_ENABLED.get()[0];
    }

    /** Turns recording off until the scope closes (nestable). */
    public static Scope noGrad() {
        return setMode(GRAD_ENABLED, false);
    }

    /** Turns recording on until the scope closes (nestable, also inside {@link #noGrad()}). */
    public static Scope enableGrad() {
        return setMode(GRAD_ENABLED, true);
    }

    public static Scope setGradEnabled(boolean enabled) {
        return setMode(GRAD_ENABLED, enabled);
    }

    public static boolean isAnomalyEnabled() {
        return ANOMALY.get()[0];
    }

    /**
     * Anomaly detection until the scope closes: ops remember where they were called, and a backward
     * formula that returns NaN raises an error naming its op, caused by the forward call's stack.
     */
    public static Scope detectAnomaly() {
        return setMode(ANOMALY, true);
    }

    private static Scope setMode(ThreadLocal<boolean[]> mode, boolean value) {
        boolean[] cell = mode.get();
        boolean previous = cell[0];
        cell[0] = value;
        return () -> cell[0] = previous;
    }

    // ---- gradients -----------------------------------------------------------------------------

    /**
     * The gradients of {@code outputs} with respect to {@code inputs}, without touching any {@code grad()}.
     *
     * @param gradOutputs the vector in the vector-Jacobian product, one per output; null (or a null entry) means ones for a scalar output
     * @param allowUnused an input the outputs do not depend on gives null; otherwise that is an error
     */
    public static List<Tensor> grad(List<Tensor> outputs, List<Tensor> inputs, List<Tensor> gradOutputs,
                                    boolean retainGraph, boolean createGraph, boolean allowUnused) {
        Tensor[] outs = outputs.toArray(new Tensor[0]);
        Tensor[] gs = new Tensor[outs.length];
        for (int i = 0; i < outs.length; i++) {
            Tensor g = gradOutputs == null ? null : gradOutputs.get(i);
            if (g == null) {
                if (outs[i].numel() != 1) throw new IllegalArgumentException("grad can be implicitly created only for scalar outputs");
                g = Tensor.full(1, outs[i].shape);
            } else if (!Arrays.equals(g.shape, outs[i].shape)) {
                throw new IllegalArgumentException("Mismatch in shape: grad_output[" + i + "] has a shape of " + Shapes.str(g.shape)
                        + " and output[" + i + "] has a shape of " + Shapes.str(outs[i].shape) + ".");
            }
            gs[i] = g;
        }
        Tensor[] result = Engine.run(outs, gs, retainGraph, createGraph, inputs.toArray(new Tensor[0]));
        for (int i = 0; i < result.length; i++) {
            if (result[i] == null && !allowUnused) {
                throw new IllegalStateException("One of the differentiated Tensors (input " + i
                        + ") appears to not have been used in the graph. Set allowUnused=true if this is the desired behavior.");
            }
        }
        return Arrays.asList(result);
    }

    /** d(output)/d(input) for a scalar output, the graph freed afterwards. */
    public static Tensor grad(Tensor output, Tensor input) {
        return grad(List.of(output), List.of(input), null, false, false, false).get(0);
    }

    /** d(output)/d(input) for a scalar output, recorded so it can itself be differentiated. */
    public static Tensor gradWithGraph(Tensor output, Tensor input) {
        return grad(List.of(output), List.of(input), null, true, true, false).get(0);
    }

    // ---- torch.autograd.functional -------------------------------------------------------------

    /** The Jacobian of f at x: shape f(x).shape ++ x.shape. */
    public static Tensor jacobian(Function<Tensor, Tensor> f, Tensor x) {
        Tensor in = x.detach().clone().requiresGrad_(true);
        Tensor out;
        try (Scope s = enableGrad()) {
            out = f.apply(in);
        }
        int m = out.numel(), n = in.numel();
        double[] jac = new double[m * n];
        for (int i = 0; i < m; i++) {
            if (!out.requiresGrad()) break;
            Tensor onehot = Tensor.zeros(out.shape);
            onehot.data[i] = 1;
            Tensor g = grad(List.of(out), List.of(in), List.of(onehot), true, false, true).get(0);
            if (g != null) System.arraycopy(g.data, 0, jac, i * n, n);
        }
        return new Tensor(jac, concat(out.shape, in.shape));
    }

    /** The Hessian of a scalar function f at x: shape x.shape ++ x.shape. */
    public static Tensor hessian(Function<Tensor, Tensor> f, Tensor x) {
        return jacobian(z -> {
            Tensor y = f.apply(z);
            if (y.numel() != 1) throw new IllegalArgumentException("hessian: the function must return a single-element tensor, got shape " + Shapes.str(y.shape));
            // f not depending on z (a constant, or no path to z): the gradient is zero, and so is the Hessian.
            Tensor g = y.requiresGrad() ? grad(List.of(y), List.of(z), null, true, true, true).get(0) : null;
            return g != null ? g : Tensor.zeros(z.shape);
        }, x);
    }

    /** [f(x), v^T J]: the vector-Jacobian product. */
    public static List<Tensor> vjp(Function<Tensor, Tensor> f, Tensor x, Tensor v) {
        Tensor in = x.detach().clone().requiresGrad_(true);
        Tensor out;
        try (Scope s = enableGrad()) {
            out = f.apply(in);
        }
        Tensor g = out.requiresGrad() ? grad(List.of(out), List.of(in), List.of(v), false, false, true).get(0) : null;
        return List.of(out.detach(), g == null ? Tensor.zeros(in.shape) : g);
    }

    /** [f(x), J v]: the Jacobian-vector product, by differentiating a vector-Jacobian product (the double-backward trick). */
    public static List<Tensor> jvp(Function<Tensor, Tensor> f, Tensor x, Tensor v) {
        if (!Arrays.equals(v.shape, x.shape)) {
            throw new IllegalArgumentException("jvp: v has shape " + Shapes.str(v.shape) + " but x has shape " + Shapes.str(x.shape));
        }
        Tensor in = x.detach().clone().requiresGrad_(true);
        try (Scope s = enableGrad()) {
            Tensor out = f.apply(in);
            if (!out.requiresGrad()) return List.of(out.detach(), Tensor.zeros(out.shape));
            Tensor u = Tensor.zeros(out.shape).requiresGrad_(true);
            Tensor vjp = grad(List.of(out), List.of(in), List.of(u), true, true, true).get(0);
            if (vjp == null || !vjp.requiresGrad()) return List.of(out.detach(), Tensor.zeros(out.shape));
            Tensor jv = grad(List.of(vjp), List.of(u), List.of(v), false, false, true).get(0);
            return List.of(out.detach(), jv == null ? Tensor.zeros(out.shape) : jv);
        }
    }

    /**
     * [f(x), H v] for a scalar f: the Hessian-vector product, as {@code torch.autograd.functional.hvp} (strict=False).
     * Reverse over reverse: the gradient g of f is recorded (createGraph), then {@code H v = d(g . v)/dx}.
     * PyTorch's hvp takes one more backward (the double-backward trick, H v as a Jacobian-vector product of g);
     * a scalar's Hessian is symmetric, so {@code H v = (v^T H)^T} and the pass it saves changes nothing.
     * An f that does not depend on x, or only linearly, gives {@code H v = 0}. Neither result requires grad.
     */
    public static List<Tensor> hvp(Function<Tensor, Tensor> f, Tensor x, Tensor v) {
        if (!Arrays.equals(v.shape, x.shape)) {
            throw new IllegalArgumentException("hvp: v has invalid size: should be " + Shapes.str(x.shape) + " but got " + Shapes.str(v.shape));
        }
        Tensor in = x.detach().clone().requiresGrad_(true);
        Tensor direction = v.detach();
        try (Scope s = enableGrad()) {
            Tensor out = f.apply(in);
            if (out.numel() != 1) {
                throw new IllegalArgumentException("hvp: the Tensor returned by the function should contain a single element, got shape "
                        + Shapes.str(out.shape));
            }
            if (!out.requiresGrad()) return List.of(out.detach(), Tensor.zeros(in.shape));
            Tensor g = grad(List.of(out), List.of(in), null, true, true, true).get(0);
            if (g == null || !g.requiresGrad()) return List.of(out.detach(), Tensor.zeros(in.shape));
            Tensor hv = grad(List.of(g.mul(direction).sum()), List.of(in), null, false, false, true).get(0);
            return List.of(out.detach(), hv == null ? Tensor.zeros(in.shape) : hv);
        }
    }

    // ---- gradcheck -----------------------------------------------------------------------------

    public static final double GRADCHECK_EPS = 1e-6, GRADCHECK_ATOL = 1e-5, GRADCHECK_RTOL = 1e-3;

    /**
     * Compares the analytical Jacobian of f (from backward) with central finite differences for every
     * input that requires grad (eps 1e-6, atol 1e-5, rtol 1e-3). Throws AssertionError naming the worst entry.
     */
    public static boolean gradcheck(Function<List<Tensor>, Tensor> f, List<Tensor> inputs) {
        return gradcheck(f, inputs, GRADCHECK_EPS, GRADCHECK_ATOL, GRADCHECK_RTOL);
    }

    public static boolean gradcheck(Function<List<Tensor>, Tensor> f, List<Tensor> inputs, double eps, double atol, double rtol) {
        Tensor out0;
        try (Scope s = noGrad()) {
            out0 = f.apply(inputs);
        }
        int m = out0.numel();
        String worst = null;
        double worstExcess = 0;
        for (int k = 0; k < inputs.size(); k++) {
            Tensor x = inputs.get(k);
            if (!x.requiresGrad()) continue;
            int n = x.numel();
            double[] numerical = new double[m * n];
            try (Scope s = noGrad()) {
                for (int j = 0; j < n; j++) {
                    double orig = x.data[j];
                    x.data[j] = orig + eps;
                    double[] plus = f.apply(inputs).data.clone();
                    x.data[j] = orig - eps;
                    double[] minus = f.apply(inputs).data;
                    x.data[j] = orig;
                    for (int i = 0; i < m; i++) numerical[i * n + j] = (plus[i] - minus[i]) / (2 * eps);
                }
            }
            double[] analytical = new double[m * n];
            for (int i = 0; i < m; i++) {
                Tensor out;
                try (Scope s = enableGrad()) {
                    out = f.apply(inputs);
                }
                if (!out.requiresGrad()) continue;
                Tensor onehot = Tensor.zeros(out.shape);
                onehot.data[i] = 1;
                Tensor g = grad(List.of(out), List.of(x), List.of(onehot), false, false, true).get(0);
                if (g == null) continue;
                if (!Arrays.equals(g.shape, x.shape)) {
                    throw new AssertionError("gradcheck: the gradient for input " + k + " has shape " + Shapes.str(g.shape)
                            + " but the input has shape " + Shapes.str(x.shape));
                }
                System.arraycopy(g.data, 0, analytical, i * n, n);
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double a = analytical[i * n + j], num = numerical[i * n + j];
                    double excess = Math.abs(a - num) - (atol + rtol * Math.abs(num));
                    if (Double.isNaN(a) != Double.isNaN(num)) excess = Double.POSITIVE_INFINITY;
                    if (excess > 0 && excess > worstExcess || excess > 0 && worst == null) {
                        worstExcess = excess;
                        worst = "Jacobian mismatch for output 0 with respect to input " + k + " at (output element " + i
                                + ", input element " + j + "): numerical " + num + ", analytical " + a;
                    }
                }
            }
        }
        if (worst != null) throw new AssertionError("gradcheck failed: " + worst + " (eps " + eps + ", atol " + atol + ", rtol " + rtol + ")");
        return true;
    }

    /**
     * Second-order check: gradcheck of the map (inputs, v) -> v^T J computed with createGraph, i.e. of
     * every backward formula's own backward (as torch.autograd.gradgradcheck).
     */
    public static boolean gradgradcheck(Function<List<Tensor>, Tensor> f, List<Tensor> inputs) {
        Tensor out0;
        try (Scope s = noGrad()) {
            out0 = f.apply(inputs);
        }
        Tensor v = Tensor.randn(1234, out0.shape).requiresGrad_(true);
        List<Tensor> withV = new ArrayList<>(inputs);
        withV.add(v);
        List<Integer> diff = new ArrayList<>();
        for (int k = 0; k < inputs.size(); k++) if (inputs.get(k).requiresGrad()) diff.add(k);
        return gradcheck(all -> {
          try (Scope s = enableGrad()) {
            List<Tensor> xs = all.subList(0, inputs.size());
            Tensor out = f.apply(xs);
            List<Tensor> wrt = new ArrayList<>();
            for (int k : diff) wrt.add(xs.get(k));
            List<Tensor> gs = grad(List.of(out), wrt, List.of(all.get(inputs.size())), true, true, true);
            List<Tensor> flat = new ArrayList<>();
            for (int i = 0; i < gs.size(); i++) {
                Tensor g = gs.get(i);
                flat.add((g == null ? Tensor.zeros(wrt.get(i).shape) : g).reshape(-1));
            }
            return Tensor.cat(flat, 0);
          }
        }, withV);
    }

    // ---- custom functions ---------------------------------------------------------------------------

    /** The backward of a {@link #function custom function}: the gradients of its inputs given its output's. */
    @FunctionalInterface
    public interface Backward {
        /** One gradient per input (null where {@code ctx.needsInputGrad(i)} is false or the gradient is zero). */
        Tensor[] apply(BackwardContext ctx, Tensor grad);
    }

    /** What a custom backward may read: which inputs need a gradient now, and the tensors saved at forward time. */
    public interface BackwardContext {
        boolean needsInputGrad(int input);

        /** Saved tensor {@code i}; an error when the graph was freed or the tensor modified in place since. */
        Tensor saved(int i);
    }

    /**
     * A custom differentiable function, as PyTorch's {@code torch.autograd.Function}: attaches a grad_fn named
     * {@code name} to {@code output} (computed by the caller outside the graph) whose backward is {@code backward},
     * when grad mode is on and some input requires grad; otherwise returns {@code output} as it is. The saved
     * tensors obey the engine's rules (freed after backward unless retained, version-checked). The library's own
     * distributed reductions are such functions.
     */
    public static Tensor function(String name, Tensor output, List<Tensor> inputs, List<Tensor> saved, Backward backward) {
        if (output.gradFn != null || output.requiresGrad()) {
            throw new IllegalArgumentException("function " + name + ": the output must be a fresh tensor outside the graph");
        }
        return Ops.record(name, output, inputs.toArray(new Tensor[0]), saved == null ? null : saved.toArray(new Tensor[0]),
                (n, g) -> backward.apply(n, g));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
