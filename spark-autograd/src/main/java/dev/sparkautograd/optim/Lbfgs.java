package dev.sparkautograd.optim;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Limited-memory BFGS (Nocedal and Wright, Numerical Optimization, algorithm 7.4: the two-loop recursion)
 * with a backtracking line search on the Armijo condition, the step starting at 1 (and at
 * {@code 1/|g|} on the first iteration). A pair (s, y) is kept only when {@code s.y > 0}, so the
 * implicit Hessian stays positive definite. One {@link #step()} is one iteration; every function
 * evaluation is one call of the {@link Objective} (one Spark job for a distributed loss).
 */
public final class Lbfgs {

    private final Objective f;
    private final int memory;
    private final double[] x, g;
    private double fx;
    private final Deque<double[][]> pairs = new ArrayDeque<>(); // {s, y, {rho}}
    private int evaluations, iterations;

    public Lbfgs(Objective f, double[] x0, int memory) {
        if (memory < 1) throw new IllegalArgumentException("memory must be at least 1, got " + memory);
        this.f = f;
        this.memory = memory;
        this.x = x0.clone();
        this.g = new double[x.length];
        this.fx = eval(x, g);
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

    /** One iteration; returns false when no decrease could be found along the search direction (converged or stuck). */
    public boolean step() {
        int n = x.length;
        double[] d = direction();
        double slope = dot(d, g);
        if (!(slope < 0)) { // not a descent direction (numerical trouble): restart from steepest descent
            pairs.clear();
            for (int i = 0; i < n; i++) d[i] = -g[i];
            slope = dot(d, g);
            if (!(slope < 0)) return false;
        }
        double t = iterations == 0 && pairs.isEmpty() ? Math.min(1.0, 1.0 / Math.max(norm(g), 1e-300)) : 1.0;
        double[] xn = new double[n], gn = new double[n];
        double fn = Double.NaN;
        boolean found = false;
        for (int k = 0; k < 40; k++) {
            for (int i = 0; i < n; i++) xn[i] = x[i] + t * d[i];
            fn = eval(xn, gn);
            if (Double.isFinite(fn) && fn <= fx + 1e-4 * t * slope) {
                found = true;
                break;
            }
            t *= 0.5;
        }
        if (!found) return false;
        double[] s = new double[n], y = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = xn[i] - x[i];
            y[i] = gn[i] - g[i];
        }
        double sy = dot(s, y);
        if (sy > 1e-12 * norm(s) * norm(y)) {
            if (pairs.size() == memory) pairs.removeFirst();
            pairs.addLast(new double[][] {s, y, {1.0 / sy}});
        }
        System.arraycopy(xn, 0, x, 0, n);
        System.arraycopy(gn, 0, g, 0, n);
        fx = fn;
        iterations++;
        return true;
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
