package dev.sparkautograd.optim;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** L-BFGS and Adam on Rosenbrock's function, its gradient from the library's autograd. */
class OptimTest {

    private static double rosenbrock(double[] x, double[] grad) {
        Tensor p = Tensor.fromArray(x, 2).requiresGrad_(true);
        Tensor a = p.index(0), b = p.index(1);
        Tensor f = a.neg().add(1).square().add(b.sub(a.square()).square().mul(100));
        f.backward();
        System.arraycopy(p.grad().toArray(), 0, grad, 0, 2);
        return f.item();
    }

    @Test
    void lbfgsFindsRosenbrocksMinimum() {
        LbfgsMinimizer opt = new LbfgsMinimizer(OptimTest::rosenbrock, new double[] {-1.2, 1.0}, 10);
        for (int i = 0; i < 200 && opt.gradientNorm() > 1e-10; i++) {
            if (!opt.step()) break;
        }
        assertEquals(1.0, opt.x()[0], 1e-6);
        assertEquals(1.0, opt.x()[1], 1e-6);
        assertTrue(opt.iterations() < 100, "iterations " + opt.iterations());
    }

    @Test
    void lbfgsSolvesAQuadraticInAFewSteps() {
        // f(x) = sum_i (i+1) (x_i - i)^2
        Objective q = (x, g) -> {
            double f = 0;
            for (int i = 0; i < x.length; i++) {
                f += (i + 1) * (x[i] - i) * (x[i] - i);
                g[i] = 2 * (i + 1) * (x[i] - i);
            }
            return f;
        };
        LbfgsMinimizer opt = new LbfgsMinimizer(q, new double[10], 10);
        for (int i = 0; i < 50 && opt.gradientNorm() > 1e-9; i++) opt.step();
        for (int i = 0; i < 10; i++) assertEquals(i, opt.x()[i], 1e-8);
        assertTrue(opt.iterations() <= 20, "iterations " + opt.iterations());
    }

    @Test
    void adamAndSgdDescend() {
        double[] x = {-1.2, 1.0}, g = new double[2];
        AdamMinimizer adam = new AdamMinimizer(2, 0.02);
        for (int i = 0; i < 5000; i++) {
            rosenbrock(x, g);
            adam.step(x, g);
        }
        assertEquals(1.0, x[0], 1e-2);
        double[] y = {3.0}, gy = new double[1];
        AdamMinimizer sgd = AdamMinimizer.sgd(1, 0.25);
        for (int i = 0; i < 60; i++) {
            gy[0] = 2 * y[0];
            sgd.step(y, gy);
        }
        assertEquals(0.0, y[0], 1e-12);
    }
}
