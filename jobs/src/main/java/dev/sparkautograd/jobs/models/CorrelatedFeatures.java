package dev.sparkautograd.jobs.models;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Correlated features for ill-conditioned problems: each row's independent standard normals {@code e} become an AR(1)
 * sequence, {@code x_0 = e_0}, {@code x_j = rho x_{j-1} + sqrt(1 - rho^2) e_j}: every feature is still N(0, 1), and
 * the covariance is {@code Sigma_ij = rho^|i-j|} (the Kac-Murdock-Szegő matrix). Its condition number grows as
 * {@code ((1 + rho) / (1 - rho))^2} with the width ({@link #conditionNumber}: 1.96e4 for 20 features at
 * rho 0.998, 7.7e3 at rho 0.995), so a logistic regression on such features is ill-conditioned where standard normal ones are not.
 *
 * <p>The eigenvalues are computed exactly (to round-off) from the inverse, which is tridiagonal:
 * {@code Sigma^-1 = T / (1 - rho^2)} with {@code T} of diagonal {@code 1, 1 + rho^2, ..., 1 + rho^2, 1} and
 * off-diagonal {@code -rho}; {@code T}'s eigenvalues by Sturm-sequence bisection.
 */
public final class CorrelatedFeatures implements Serializable {
    private static final long serialVersionUID = 1L;

    private final double rho;

    public CorrelatedFeatures(double rho) {
        if (!(rho > -1 && rho < 1)) throw new IllegalArgumentException("the correlation must be in (-1, 1), got " + rho);
        this.rho = rho;
    }

    public double rho() {
        return rho;
    }

    /** Turns {@code n} rows of {@code d} independent standard normals ({@code x}, row-major) into AR(1) rows, in place. */
    public void correlate(double[] x, int n, int d) {
        double s = Math.sqrt(1 - rho * rho);
        for (int i = 0; i < n; i++) {
            int o = i * d;
            for (int j = 1; j < d; j++) x[o + j] = rho * x[o + j - 1] + s * x[o + j];
        }
    }

    /** The covariance of {@code d} such features: {@code rho^|i-j|}. */
    public static double[][] covariance(double rho, int d) {
        double[][] c = new double[d][d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) c[i][j] = Math.pow(rho, Math.abs(i - j));
        return c;
    }

    /** The covariance's eigenvalues, ascending. */
    public static double[] eigenvalues(double rho, int d) {
        if (d < 1) throw new IllegalArgumentException("features must be positive, got " + d);
        double[] diag = new double[d];
        Arrays.fill(diag, 1 + rho * rho);
        diag[0] = 1;
        diag[d - 1] = 1;
        if (d == 1) diag[0] = 1 - rho * rho; // Sigma = [1]: T = [1 - rho^2]
        double lo = 0, hi = 0;
        for (double a : diag) hi = Math.max(hi, a + 2 * Math.abs(rho)); // Gershgorin; T is positive definite
        double[] sigma = new double[d];
        for (int k = 0; k < d; k++) {
            // the (k+1)-th smallest eigenvalue of T: bisection on the Sturm count
            double a = lo, b = hi;
            for (int it = 0; it < 200 && b - a > 0; it++) {
                double m = 0.5 * (a + b);
                if (m == a || m == b) break;
                if (countBelow(diag, rho, m) > k) b = m;
                else a = m;
            }
            sigma[d - 1 - k] = (1 - rho * rho) / (0.5 * (a + b));
        }
        return sigma;
    }

    /** How many eigenvalues of the tridiagonal (diagonal {@code diag}, off-diagonal {@code -rho}) are below {@code x}. */
    private static int countBelow(double[] diag, double rho, double x) {
        int count = 0;
        double q = 1;
        for (int i = 0; i < diag.length; i++) {
            q = diag[i] - x - (i == 0 ? 0 : rho * rho / q);
            if (q == 0) q = -1e-300;
            if (q < 0) count++;
        }
        return count;
    }

    /** The covariance's condition number (largest over smallest eigenvalue) for {@code d} features. */
    public static double conditionNumber(double rho, int d) {
        double[] e = eigenvalues(rho, d);
        return e[d - 1] / e[0];
    }
}
