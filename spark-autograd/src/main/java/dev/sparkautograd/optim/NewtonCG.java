package dev.sparkautograd.optim;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * Trust-region Newton with conjugate-gradient inner steps: TRON (Lin, Weng and Keerthi, "Trust region Newton method
 * for large-scale logistic regression", JMLR 9, 2008, algorithms 2 and 3), with the trust-region update of LIBLINEAR's
 * {@code tron.cpp}: a step is accepted when the actual reduction exceeds {@code eta0 = 1e-4} times the predicted one;
 * the radius moves by {@code sigma1 = 0.25}, {@code sigma2 = 0.5}, {@code sigma3 = 4} with the ratio's thresholds
 * {@code eta1 = 0.25}, {@code eta2 = 0.75} (and a quadratic fit along the step), starts at {@code |g0|} and is
 * cut to the first step's length. CG stops when the residual is at most {@code xi = 0.1} times the gradient's norm,
 * or at the trust region's boundary. Two additions to TRON: a direction of non-positive curvature goes to the
 * boundary (Steihaug 1983), so non-convex objectives work (TRON's Hessians are positive definite); and where tron.cpp
 * stops because both reductions are below {@code 1e-12 |f|}, a trial is accepted if its gradient is smaller, so
 * tight gradient tolerances are reached (the value no longer resolves such steps; the gradient still does).
 *
 * <p>As {@code torch.optim}: the optimizer holds a list of parameter tensors and {@link #step} updates them in place
 * (under no-grad). A step runs the method until a stopping rule holds ({@link Result#reason()}); every trial point
 * costs one evaluation of the closure and every CG iteration one Hessian-vector product (for a distributed loss:
 * one Spark job each). The trust radius carries over from one {@code step} to the next, and so does the point a step
 * left: a step given the same closure object as the previous one, with the parameters still holding (bit for bit) the
 * values that step left them at, starts from the value and gradient it had there instead of evaluating them again
 * (one pass over the data less per step when steps are taken one at a time). A closure whose objective changes
 * between steps (a minibatch) should be a new object per step, or call {@link #forget()}.
 *
 * <p>Two ways to give it the objective: a closure for value and gradient (as {@code torch.optim.LBFGS}'s: it returns
 * the loss after {@code backward()}) plus a {@link HessianVectorProduct}; or one closure returning the loss with its
 * graph, from which the optimizer takes the gradient with {@code createGraph} and each product as
 * {@code grad(g . v)} (reverse over reverse), reusing that graph for all CG iterations at a point.
 */
public final class NewtonCG {

    /** The Hessian of the objective at the parameters' current values times {@code v} (one tensor per parameter). */
    @FunctionalInterface
    public interface HessianVectorProduct {
        List<Tensor> apply(List<Tensor> v);
    }

    /** Why a {@link #step} returned. */
    public enum StopReason {
        /** {@code |g| <= max(tolerance, relativeTolerance * |g0|)}. */
        GRADIENT_TOLERANCE,
        /** {@code maxIter} trial steps taken. */
        MAX_ITERATIONS,
        /** The quadratic model predicts no decrease (the Hessian is not positive definite along the gradient, or round-off). */
        NO_PREDICTED_REDUCTION,
        /**
         * Actual and predicted reductions both at most {@code 1e-12 |f|} (tron.cpp's test) and the trial's gradient no
         * smaller: no more progress in double precision.
         */
        REDUCTION_TOO_SMALL,
        /** {@code f < -1e32} (tron.cpp's test): the objective looks unbounded below. */
        UNBOUNDED_BELOW
    }

    /**
     * What a step did: why it stopped, the loss and gradient norm at the parameters it left, trial steps taken
     * ({@code iterations}, of which {@code accepted}), CG iterations (= Hessian-vector products), closure
     * evaluations, and the gradient norm at every accepted point (the first is the starting point's).
     */
    public record Result(StopReason reason, double loss, double gradientNorm, int iterations, int accepted,
                         int cgIterations, int evaluations, List<Double> gradientNorms) {}

    /** Settings; the defaults are TRON's where TRON has one. */
    public record Options(int maxIter, double tolerance, double relativeTolerance, double cgTolerance, double initialRadius) {
        public Options {
            if (maxIter < 0) throw new IllegalArgumentException("maxIter must be at least 0, got " + maxIter);
            if (!(tolerance >= 0)) throw new IllegalArgumentException("tolerance must be at least 0, got " + tolerance);
            if (!(relativeTolerance >= 0)) throw new IllegalArgumentException("relativeTolerance must be at least 0, got " + relativeTolerance);
            if (!(cgTolerance > 0 && cgTolerance < 1)) throw new IllegalArgumentException("cgTolerance must be in (0, 1), got " + cgTolerance);
            if (!(initialRadius >= 0)) throw new IllegalArgumentException("initialRadius must be at least 0 (0: |g0|), got " + initialRadius);
        }

        /** 100 trial steps, |g| <= 1e-7 (torch.optim.LBFGS's tolerance_grad), no relative test, CG to 0.1 |g|, radius |g0|. */
        public static Options defaults() {
            return new Options(100, 1e-7, 0, 0.1, 0);
        }

        public Options maxIter(int v) { return new Options(v, tolerance, relativeTolerance, cgTolerance, initialRadius); }
        /** Stop when the gradient's Euclidean norm is at most this. */
        public Options tolerance(double v) { return new Options(maxIter, v, relativeTolerance, cgTolerance, initialRadius); }
        /** Stop when the gradient's norm is at most this times the first one's, where the first step started (TRON's {@code eps}). */
        public Options relativeTolerance(double v) { return new Options(maxIter, tolerance, v, cgTolerance, initialRadius); }
        /** CG stops when its residual is at most this times the gradient's norm (TRON's {@code xi}, 0.1). */
        public Options cgTolerance(double v) { return new Options(maxIter, tolerance, relativeTolerance, v, initialRadius); }
        /** The first trust radius; 0 means {@code |g0|}, as TRON. */
        public Options initialRadius(double v) { return new Options(maxIter, tolerance, relativeTolerance, cgTolerance, v); }
    }

    // tron.cpp's constants
    private static final double ETA0 = 1e-4, ETA1 = 0.25, ETA2 = 0.75;
    private static final double SIGMA1 = 0.25, SIGMA2 = 0.5, SIGMA3 = 4;

    private final List<Tensor> params;
    private final Options options;
    private final int size;
    private double radius = Double.NaN;
    /** |g0| of the relative tolerance: the gradient's norm where the first step started (carried over, as the radius). */
    private double firstGradientNorm = Double.NaN;
    private boolean firstStepPending;
    private int evaluations;
    // Where the previous step left the parameters: the closure it had, its objective (holding a gradient graph), the
    // point, and the value and gradient there.
    private Object lastClosure;
    private Objective lastObjective;
    private double[] lastPoint, lastGradient;
    private double lastLoss;

    public NewtonCG(List<Tensor> params) {
        this(params, Options.defaults());
    }

    public NewtonCG(List<Tensor> params, Options options) {
        if (params.isEmpty()) throw new IllegalArgumentException("NewtonCG: the parameter list is empty");
        int n = 0;
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (!p.requiresGrad() || !p.isLeaf()) {
                throw new IllegalArgumentException("NewtonCG: parameter " + i + " (shape " + Arrays.toString(p.shape())
                        + ") must be a leaf that requires grad");
            }
            n += p.numel();
        }
        this.params = List.copyOf(params);
        this.options = options;
        this.size = n;
    }

    /** Clears every parameter's gradient. */
    public void zeroGrad() {
        for (Tensor p : params) p.setGrad(null);
    }

    /** Drops the value and gradient kept from the previous step: the next step evaluates the closure first. */
    public void forget() {
        lastClosure = null;
        lastObjective = null;
        lastPoint = null;
        lastGradient = null;
    }

    /**
     * Evaluates the loss closure (as {@link #step(Supplier)} takes it) at the parameters' values without stepping: one
     * evaluation, kept for the next {@code step} with the same closure (which then starts without evaluating). Returns
     * a result of no trial steps ({@link StopReason#MAX_ITERATIONS}, or {@link StopReason#GRADIENT_TOLERANCE} when the
     * gradient already meets the tolerance).
     */
    public Result evaluate(Supplier<Tensor> loss) {
        return run(graphObjective(loss), loss, 0);
    }

    /** The current trust radius (NaN before the first step). */
    public double radius() {
        return radius;
    }

    /**
     * Runs the method with a value-and-gradient closure (it computes the loss from the parameters, calls
     * {@code backward()} and returns the loss; the optimizer clears the gradients before each call) and a
     * Hessian-vector product at the parameters' current values.
     */
    public Result step(Supplier<Tensor> closure, HessianVectorProduct hvp) {
        return run(new Objective() {
            @Override
            public double evaluate(double[] g) {
                evaluations++;
                zeroGrad();
                Tensor loss;
                try (Autograd.Scope s = Autograd.enableGrad()) {
                    loss = closure.get();
                }
                readGrads(g);
                return loss.item();
            }

            @Override
            public void product(double[] d, double[] out) {
                List<Tensor> hv = hvp.apply(unflatten(d));
                flatten(hv, out, "the Hessian-vector product");
            }
        }, closure, options.maxIter());
    }

    /**
     * Runs the method with one closure that returns the loss computed from the parameters, with its graph
     * (no {@code backward()}): the gradient is taken with {@code createGraph}, and each Hessian-vector product
     * differentiates {@code g . v} through that graph, kept for all CG iterations at a point. After a rejected
     * trial the graph at the current point is rebuilt (one more evaluation) only if another product is needed.
     */
    public Result step(Supplier<Tensor> loss) {
        return run(graphObjective(loss), loss, options.maxIter());
    }

    /** The objective of a loss closure differentiated with createGraph; the previous step's when the closure is the same (its graph kept). */
    private Objective graphObjective(Supplier<Tensor> loss) {
        if (loss == lastClosure && lastObjective != null && lastObjective.keepsGraph()) return lastObjective;
        return new Objective() {
            private List<Tensor> gradGraph; // the gradient with its graph at the parameters' current values
            private boolean stale;
            private int[] versions; // the parameters' version counters when the graph was built

            @Override
            public boolean keepsGraph() {
                return true;
            }

            @Override
            public double evaluate(double[] g) {
                evaluations++;
                Tensor f;
                List<Tensor> gs;
                try (Autograd.Scope s = Autograd.enableGrad()) {
                    f = loss.get();
                    gs = f.requiresGrad() ? Autograd.grad(List.of(f), params, null, true, true, true) : nulls();
                }
                flatten(gs, g, "the gradient");
                gradGraph = gs;
                stale = false;
                versions = versions();
                return f.item();
            }

            @Override
            public void restored() {
                stale = true;
            }

            @Override
            public void product(double[] d, double[] out) {
                // the parameters were written since the graph was built (restored, or by the caller between steps)
                if (stale || !Arrays.equals(versions, versions())) evaluate(new double[size]);
                List<Tensor> v = unflatten(d);
                Tensor gv = null;
                try (Autograd.Scope s = Autograd.enableGrad()) {
                    for (int i = 0; i < params.size(); i++) {
                        Tensor gi = gradGraph.get(i);
                        if (gi == null || !gi.requiresGrad()) continue;
                        Tensor term = gi.mul(v.get(i)).sum();
                        gv = gv == null ? term : gv.add(term);
                    }
                    List<Tensor> hv = gv == null ? nulls() : Autograd.grad(List.of(gv), params, null, true, false, true);
                    flatten(hv, out, "the Hessian-vector product");
                }
            }
        };
    }

    private int[] versions() {
        int[] v = new int[params.size()];
        for (int i = 0; i < v.length; i++) v[i] = params.get(i).version();
        return v;
    }

    /** What the method sees: values and gradients at the parameters, products at the current point. */
    private interface Objective {
        /** f and its gradient (into g) at the parameters' values. */
        double evaluate(double[] g);

        /** H d at the current point into out. */
        void product(double[] d, double[] out);

        /** The parameters were set back to the current point after a rejected trial. */
        default void restored() {}

        /** Whether it differentiates one loss closure through a gradient graph it keeps (reusable by the next step). */
        default boolean keepsGraph() {
            return false;
        }
    }

    private Result run(Objective f, Object closure, int maxIter) {
        int n = size;
        double[] w = new double[n], g = new double[n];
        gather(w);
        evaluations = 0;
        double fx;
        if (closure == lastClosure && lastPoint != null && Arrays.equals(w, lastPoint)) {
            fx = lastLoss; // where the previous step left off: no evaluation
            System.arraycopy(lastGradient, 0, g, 0, n);
        } else {
            fx = f.evaluate(g);
        }
        Result result = iterate(f, w, g, fx, maxIter);
        lastClosure = closure;
        lastObjective = f;
        lastPoint = w;
        lastGradient = g;
        lastLoss = result.loss();
        return result;
    }

    /** The trust-region iterations from {@code w} (value {@code fx}, gradient {@code g}); leaves the point reached in {@code w} and {@code g}. */
    private Result iterate(Objective f, double[] w, double[] g, double fx, int maxIter) {
        int n = size;
        int iterations = 0, accepted = 0, cgTotal = 0;
        double gnorm = norm(g);
        if (Double.isNaN(firstGradientNorm)) firstGradientNorm = gnorm;
        double gnorm0 = firstGradientNorm;
        List<Double> history = new ArrayList<>(List.of(gnorm));
        double stopAt = Math.max(options.tolerance(), options.relativeTolerance() * gnorm0);
        if (Double.isNaN(radius)) {
            radius = options.initialRadius() > 0 ? options.initialRadius() : gnorm0;
            firstStepPending = true;
        }
        double[] s = new double[n], r = new double[n], wNew = new double[n], gNew = new double[n];
        StopReason reason = null;
        if (gnorm <= stopAt) reason = StopReason.GRADIENT_TOLERANCE;
        while (reason == null) {
            if (iterations >= maxIter) {
                reason = StopReason.MAX_ITERATIONS;
                break;
            }
            iterations++;
            Cg cg = conjugateGradient(f, g, gnorm, radius, s, r);
            cgTotal += cg.iterations;
            for (int i = 0; i < n; i++) wNew[i] = w[i] + s[i];
            double gs = dot(g, s);
            double prered = -0.5 * (gs - dot(s, r));
            scatter(wNew);
            double fNew = f.evaluate(gNew);
            double actred = Double.isNaN(fNew) ? Double.NEGATIVE_INFINITY : fx - fNew;
            double snorm = norm(s);
            if (firstStepPending) radius = Math.min(radius, snorm); // until the first accepted step, as tron.cpp
            // A quadratic fit of f along s predicts the step alpha * s (tron.cpp).
            double curvature = fNew - fx - gs, alpha;
            if (Double.isNaN(fNew)) alpha = SIGMA1;
            else if (curvature <= 0) alpha = SIGMA3;
            else alpha = Math.max(SIGMA1, -0.5 * (gs / curvature));
            // f no longer resolves the step when both reductions are at round-off (tron.cpp stops here): the trial's
            // gradient decides instead, so |g| targets below sqrt(eps |f| / |H^-1|) stay reachable.
            boolean unresolved = Math.abs(actred) <= 1.0e-12 * Math.abs(fx) && Math.abs(prered) <= 1.0e-12 * Math.abs(fx);
            boolean accept;
            if (unresolved) {
                accept = Double.isFinite(fNew) && norm(gNew) < gnorm;
            } else {
                if (actred < ETA0 * prered) radius = Math.min(Math.max(alpha, SIGMA1) * snorm, SIGMA2 * radius);
                else if (actred < ETA1 * prered) radius = Math.max(SIGMA1 * radius, Math.min(alpha * snorm, SIGMA2 * radius));
                else if (actred < ETA2 * prered) radius = Math.max(SIGMA1 * radius, Math.min(alpha * snorm, SIGMA3 * radius));
                else radius = Math.max(radius, Math.min(alpha * snorm, SIGMA3 * radius));
                accept = actred > ETA0 * prered;
            }
            if (accept) {
                accepted++;
                firstStepPending = false;
                System.arraycopy(wNew, 0, w, 0, n);
                System.arraycopy(gNew, 0, g, 0, n);
                fx = fNew;
                gnorm = norm(g);
                history.add(gnorm);
                if (gnorm <= stopAt) {
                    reason = StopReason.GRADIENT_TOLERANCE;
                    break;
                }
            } else {
                scatter(w);
                f.restored();
            }
            if (fx < -1.0e32) reason = StopReason.UNBOUNDED_BELOW;
            else if (prered <= 0) reason = StopReason.NO_PREDICTED_REDUCTION;
            else if (unresolved && !accept) reason = StopReason.REDUCTION_TOO_SMALL;
        }
        return new Result(reason, fx, gnorm, iterations, accepted, cgTotal, evaluations, List.copyOf(history));
    }

    private record Cg(int iterations, boolean boundary) {}

    /**
     * Approximately solves {@code H s = -g} within {@code |s| <= radius} (tron.cpp's trcg, Steihaug's rule added for
     * non-positive curvature). Leaves the step in {@code s} and the residual {@code -g - H s} in {@code r}.
     */
    private Cg conjugateGradient(Objective f, double[] g, double gnorm, double radius, double[] s, double[] r) {
        int n = g.length;
        double[] d = new double[n], hd = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = 0;
            r[i] = -g[i];
            d[i] = r[i];
        }
        double cgtol = options.cgTolerance() * gnorm;
        double rTr = dot(r, r);
        int iterations = 0;
        while (Math.sqrt(rTr) > cgtol) {
            iterations++;
            f.product(d, hd);
            double dHd = dot(d, hd);
            double alpha = rTr / dHd;
            if (!(dHd > 0) || norm2After(s, alpha, d) > radius * radius) {
                // to the boundary along d: the positive root t of |s + t d| = radius
                double std = dot(s, d), sts = dot(s, s), dtd = dot(d, d), dsq = radius * radius;
                double rad = Math.sqrt(std * std + dtd * (dsq - sts));
                double t = std >= 0 ? (dsq - sts) / (std + rad) : (rad - std) / dtd;
                axpy(t, d, s);
                axpy(-t, hd, r);
                return new Cg(iterations, true);
            }
            axpy(alpha, d, s);
            axpy(-alpha, hd, r);
            double rNew = dot(r, r);
            double beta = rNew / rTr;
            for (int i = 0; i < n; i++) d[i] = r[i] + beta * d[i];
            rTr = rNew;
        }
        return new Cg(iterations, false);
    }

    private static double norm2After(double[] s, double alpha, double[] d) {
        double t = 0;
        for (int i = 0; i < s.length; i++) {
            double x = s[i] + alpha * d[i];
            t += x * x;
        }
        return t;
    }

    // ---- the parameters as one vector ------------------------------------------------------------

    private void gather(double[] w) {
        int off = 0;
        for (Tensor p : params) {
            double[] a = p.toArray();
            System.arraycopy(a, 0, w, off, a.length);
            off += a.length;
        }
    }

    private void scatter(double[] w) {
        int off = 0;
        try (Autograd.Scope s = Autograd.noGrad()) {
            for (Tensor p : params) {
                int k = p.numel();
                p.copy_(Tensor.fromArray(Arrays.copyOfRange(w, off, off + k), p.shape()));
                off += k;
            }
        }
    }

    private void readGrads(double[] g) {
        List<Tensor> gs = new ArrayList<>(params.size());
        for (Tensor p : params) gs.add(p.grad());
        flatten(gs, g, "the gradient");
    }

    /** One tensor per parameter (null: zeros) into a flat vector; a wrong shape is an error naming the parameter. */
    private void flatten(List<Tensor> ts, double[] out, String what) {
        if (ts.size() != params.size()) {
            throw new IllegalArgumentException("NewtonCG: " + what + " has " + ts.size() + " tensors for " + params.size() + " parameters");
        }
        int off = 0;
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i), t = ts.get(i);
            int k = p.numel();
            if (t == null) {
                Arrays.fill(out, off, off + k, 0);
            } else {
                if (!Arrays.equals(t.shape(), p.shape())) {
                    throw new IllegalArgumentException("NewtonCG: " + what + " for parameter " + i + " has shape "
                            + Arrays.toString(t.shape()) + " but the parameter has shape " + Arrays.toString(p.shape()));
                }
                System.arraycopy(t.toArray(), 0, out, off, k);
            }
            off += k;
        }
    }

    private List<Tensor> unflatten(double[] d) {
        List<Tensor> out = new ArrayList<>(params.size());
        int off = 0;
        for (Tensor p : params) {
            int k = p.numel();
            out.add(Tensor.fromArray(Arrays.copyOfRange(d, off, off + k), p.shape()));
            off += k;
        }
        return out;
    }

    private List<Tensor> nulls() {
        return new ArrayList<>(java.util.Collections.nCopies(params.size(), null));
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) y[i] += a * x[i];
    }
}
