package dev.sparkautograd.optim;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Adam on Rosenbrock's function, its gradient from the library's autograd; Adam's and SGD's steps against their closed forms. */
class OptimTest {

    private static double rosenbrock(double[] x, double[] grad) {
        Tensor p = Tensor.fromArray(x, 2).requiresGrad_(true);
        Tensor a = p.index(0), b = p.index(1);
        Tensor f = a.neg().add(1).square().add(b.sub(a.square()).square().mul(100));
        f.backward();
        System.arraycopy(p.grad().toArray(), 0, grad, 0, 2);
        return f.item();
    }

    /**
     * Adam's steps on {@code f(x) = sum_i a_i (x_i - c_i)^2}, every coordinate against the closed form of the
     * paper's update: {@code m_t = (1 - b1) sum_s b1^(t-s) g_s}, {@code v_t = (1 - b2) sum_s b2^(t-s) g_s^2},
     * {@code x_t = x_(t-1) - lr (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps)}, with PyTorch's b1 = 0.9,
     * b2 = 0.999, eps = 1e-8. Coordinates of very different scales, both signs, and one already at its
     * minimum (gradient 0: it must not move).
     */
    @Test
    void adamTakesThePapersStepsOnEveryCoordinate() {
        double[] a = {1, 1e-3, 1e3, 2, 0.5}, c = {0.5, -3, 2, 1, 0.25};
        double[] x = {-1.2, 1.0, 2.5, 1, -7}, x0 = x.clone(), expected = x.clone();
        double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        Tensor p = Tensor.fromArray(x.clone(), x.length).requiresGrad_(true);
        Adam adam = new Adam(java.util.List.of(p), lr);
        java.util.List<double[]> history = new java.util.ArrayList<>();
        for (int t = 1; t <= 6; t++) {
            double[] g = new double[x.length];
            for (int i = 0; i < x.length; i++) g[i] = 2 * a[i] * (x[i] - c[i]);
            history.add(g);
            p.setGrad(Tensor.fromArray(g.clone(), x.length));
            adam.step();
            System.arraycopy(p.toArray(), 0, x, 0, x.length);
            for (int i = 0; i < x.length; i++) {
                double m = 0, v = 0;
                for (int s = 1; s <= t; s++) {
                    double gs = history.get(s - 1)[i];
                    m += (1 - b1) * Math.pow(b1, t - s) * gs;
                    v += (1 - b2) * Math.pow(b2, t - s) * gs * gs;
                }
                expected[i] -= lr * (m / (1 - Math.pow(b1, t))) / (Math.sqrt(v / (1 - Math.pow(b2, t))) + eps);
                assertEquals(expected[i], x[i], 1e-12, "step " + t + ", coordinate " + i);
            }
            // the first step, bias-corrected, is lr * |g| / (|g| + eps) against the gradient: about lr, whatever the scale
            if (t == 1) {
                for (int i = 0; i < x.length; i++) {
                    double g0 = Math.abs(g[i]);
                    assertEquals(lr * g0 / (g0 + eps), Math.abs(x[i] - x0[i]), 1e-15, "first step, coordinate " + i);
                }
            }
        }
        assertEquals(1, x[3], 0.0, "a coordinate with gradient 0 stays where it is");
    }

    @Test
    void adamDescendsRosenbrockAndSgdTakesExactSteps() {
        double[] x = {-1.2, 1.0}, g = new double[2];
        Tensor p = Tensor.fromArray(x.clone(), 2).requiresGrad_(true);
        Adam adam = new Adam(java.util.List.of(p), 0.02);
        for (int i = 0; i < 5000; i++) {
            rosenbrock(p.toArray(), g);
            p.setGrad(Tensor.fromArray(g.clone(), 2));
            adam.step();
        }
        x = p.toArray();
        assertEquals(1.0, x[0], 1e-2);
        // sgd on y^2 with lr 0.25: y <- y - 0.25 * 2y = y / 2, exact in binary
        Tensor y = Tensor.of(3.0).requiresGrad_(true);
        SGD sgd = new SGD(java.util.List.of(y), 0.25);
        for (int i = 1; i <= 60; i++) {
            y.setGrad(Tensor.of(2 * y.toArray()[0]));
            sgd.step();
            assertEquals(3.0 * Math.scalb(1.0, -i), y.toArray()[0], 0.0, "step " + i);
        }
    }
}
