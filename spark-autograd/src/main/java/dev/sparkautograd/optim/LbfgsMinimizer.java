package dev.sparkautograd.optim;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Limited-memory BFGS on a flat {@code double[]} (Nocedal and Wright, Numerical Optimization, algorithm 7.4:
 * the two-loop recursion) with a backtracking line search, the step starting at 1 (and at {@code 1/|g|} on
 * the first iteration). A pair (s, y) is kept only when {@code s.y > 0}, so the implicit Hessian stays
 * positive definite. One {@link #step()} is one iteration; every function evaluation is one call of the
 * {@link Objective} (one Spark job for a distributed loss).
 *
 * <p>It stops (and says why, {@link #stopReason()}) when it can no longer make progress:
 * <ul>
 *   <li>the line search accepts a step only if it decreases the loss strictly and satisfies Armijo's
 *       condition: near the optimum Armijo's required decrease falls below rounding, and a step with no
 *       decrease at all would be accepted forever;</li>
 *   <li>the loss is flat: three trial steps in a row change it by at most {@code ftol} relative (its
 *       rounding), so no step length can decrease it;</li>
 *   <li>after an accepted step, the relative change of the loss is at most {@code ftol}, or the largest
 *       parameter change is at most {@code xtol} relative to the largest parameter (as scipy's
 *       {@code ftol} and PyTorch's {@code tolerance_change}; defaults a few ulps, so a fit is as exact
 *       as the arithmetic allows).</li>
 * </ul>
 */
public final class LbfgsMinimizer {

    /** Default relative tolerance on a change of the loss: about 5 ulps. */
    public static final double FTOL = 1e-15;
    /** Default relative tolerance on the largest change of a parameter. */
    public static final double XTOL = 1e-15;

    private static final int MAX_HALVINGS = 40, FLAT_TRIALS = 3;

    private final Objective f;
    private final int memory;
    private final double[] x, g;
    private double fx;
    private double ftol = FTOL, xtol = XTOL;
    private final Deque<double[][]> pairs = new ArrayDeque<>(); // {s, y, {rho}}
    private int evaluations, iterations;
    private String stopReason;

    public LbfgsMinimizer(Objective f, double[] x0, int memory) {
        if (memory < 1) throw new IllegalArgumentException("memory must be at least 1, got " + memory);
        this.f = f;
        this.memory = memory;
        this.x = x0.clone();
        this.g = new double[x.length];
        this.fx = eval(x, g);
    }

    /** Relative tolerances on the change of the loss and of the parameters (see the class comment). */
    public LbfgsMinimizer tolerances(double ftol, double xtol) {
        if (!(ftol >= 0) || !(xtol >= 0)) throw new IllegalArgumentException("tolerances must be non-negative, got " + ftol + ", " + xtol);
        this.ftol = ftol;
        this.xtol = xtol;
        return this;
    }

    private double eval(double[] at, double[] grad) {
        evaluations++;
        return f.evaluate(at, grad);
    }

    public double[] x() { return x.clone(); }
    public double value() { return fx; }
    public double[] gradient() { return g.clone(); }
    public double gradientNorm() { return norm(g); }
    public int evaluations() { return evaluations; }
    public int iterations() { return iterations; }

    /** Why the last {@link #step()} returned false (null while it can go on). */
    public String stopReason() { return stopReason; }

    /**
     * One iteration. Returns false when it cannot make progress any more ({@link #stopReason()} says why);
     * an accepted step that made too little progress is kept (x, value and gradient are the new ones).
     */
    public boolean step() {
        if (stopReason != null) return false;
        int n = x.length;
        double[] d = direction();
        double slope = dot(d, g);
        if (!(slope < 0)) { // not a descent direction (numerical trouble): restart from steepest descent
            pairs.clear();
            for (int i = 0; i < n; i++) d[i] = -g[i];
            slope = dot(d, g);
            if (!(slope < 0)) return stop("no descent direction (gradient " + norm(g) + ")");
        }
        double t = iterations == 0 && pairs.isEmpty() ? Math.min(1.0, 1.0 / Math.max(norm(g), 1e-300)) : 1.0;
        double[] xn = new double[n], gn = new double[n];
        double fn = Double.NaN;
        boolean found = false;
        int flat = 0;
        for (int k = 0; k < MAX_HALVINGS; k++) {
            for (int i = 0; i < n; i++) xn[i] = x[i] + t * d[i];
            fn = eval(xn, gn);
            if (Double.isFinite(fn) && fn < fx && fn <= fx + 1e-4 * t * slope) {
                found = true;
                break;
            }
            if (Double.isFinite(fn) && Math.abs(fn - fx) <= ftol * Math.max(Math.abs(fx), 1.0)) {
                if (++flat == FLAT_TRIALS) {
                    return stop(String.format("no progress: the loss is flat to %.1e (relative) along the search direction", ftol));
                }
            } else {
                flat = 0;
            }
            t *= 0.5;
        }
        if (!found) return stop("no decrease along the search direction in " + MAX_HALVINGS + " halvings of the step");
        double[] s = new double[n], y = new double[n];
        double maxStep = 0, maxX = 0;
        for (int i = 0; i < n; i++) {
            s[i] = xn[i] - x[i];
            y[i] = gn[i] - g[i];
            maxStep = Math.max(maxStep, Math.abs(s[i]));
            maxX = Math.max(maxX, Math.abs(x[i]));
        }
        double sy = dot(s, y);
        if (sy > 1e-12 * norm(s) * norm(y)) {
            if (pairs.size() == memory) pairs.removeFirst();
            pairs.addLast(new double[][] {s, y, {1.0 / sy}});
        }
        double relativeLossChange = (fx - fn) / Math.max(Math.max(Math.abs(fx), Math.abs(fn)), 1.0);
        System.arraycopy(xn, 0, x, 0, n);
        System.arraycopy(gn, 0, g, 0, n);
        fx = fn;
        iterations++;
        if (relativeLossChange <= ftol) {
            return stop(String.format("no progress: relative loss change %.1e <= %.1e", relativeLossChange, ftol));
        }
        if (maxStep <= xtol * Math.max(maxX, 1.0)) {
            return stop(String.format("no progress: largest parameter change %.1e <= %.1e (relative)", maxStep / Math.max(maxX, 1.0), xtol));
        }
        return true;
    }

    private boolean stop(String reason) {
        stopReason = reason;
        return false;
    }

    private double[] direction() {
        int n = x.length, m = pairs.size();
        double[] q = new double[n];
        for (int i = 0; i < n; i++) q[i] = -g[i];
        double[] alpha = new double[m];
        double[][][] ps = pairs.toArray(new double[0][][]);
        for (int k = m - 1; k >= 0; k--) {
            alpha[k] = ps[k][2][0] * dot(ps[k][0], q);
            axpy(-alpha[k], ps[k][1], q);
        }
        if (m > 0) {
            double[] s = ps[m - 1][0], y = ps[m - 1][1];
            double gamma = dot(s, y) / dot(y, y);
            for (int i = 0; i < n; i++) q[i] *= gamma;
        }
        for (int k = 0; k < m; k++) {
            double beta = ps[k][2][0] * dot(ps[k][1], q);
            axpy(alpha[k] - beta, ps[k][0], q);
        }
        return q;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) y[i] += a * x[i];
    }
}
