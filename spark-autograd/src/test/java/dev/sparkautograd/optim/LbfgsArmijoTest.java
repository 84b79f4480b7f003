package dev.sparkautograd.optim;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LBFGS with the strict-decrease backtracking line search ("armijo"), stepped one iteration at a time as train
 * does: it stops when it can make no more progress, says why, never accepts a step without a decrease, and a
 * state dict saved mid-run continues the same bits.
 */
class LbfgsArmijoTest {

    /** An LBFGS of one iteration per step over {@code x}, the closure counting its calls. */
    private static final class Run {
        final Tensor x;
        final LBFGS opt;
        final Supplier<Tensor> closure;
        int calls;

        Run(double[] x0, int history, Function<Tensor, Tensor> f) {
            x = Tensor.fromArray(x0.clone(), x0.length).requiresGrad_(true);
            opt = new LBFGS(List.of(x), 1, 1, null, 0, 1e-15, history, LBFGS.ARMIJO);
            closure = () -> {
                calls++;
                opt.zeroGrad();
                Tensor loss = f.apply(x);
                loss.backward();
                return loss;
            };
        }

        boolean step() {
            opt.step(closure);
            return opt.stopReason() == null;
        }
    }

    /** f = 1 everywhere while the gradient (as rounding noise can) points somewhere: no step decreases it. */
    @Test
    void aFlatObjectiveStopsAfterThreeTrialsAndStaysPut() {
        double[] x0 = {0.5, -2, 3};
        Tensor c = Tensor.of(1e-3, 2e-3, 3e-3);
        Run r = new Run(x0, 10, x -> x.mul(c).sum().sub(x.mul(c).sum().detach()).add(1)); // value 1, gradient c
        assertTrue(!r.step());
        assertTrue(r.opt.stopReason().startsWith("no progress: the loss is flat"), r.opt.stopReason());
        assertEquals(4, r.calls, "the start and three trial steps");
        assertArrayEquals(x0, r.x.toArray(), 0.0, "a failed line search leaves the parameters where they were");
    }

    /**
     * A quadratic whose value is rounded to 1e-9 (a loss summed in another order each time looks like this near
     * its optimum): it stops on no progress / no decrease long before 1,000 steps.
     */
    @Test
    void aLossAtItsRoundingFloorStopsOnNoProgress() {
        Tensor weights = Tensor.of(1, 2, 3, 4, 5);
        Run r = new Run(new double[5], 5, x -> {
            Tensor exact = x.sub(1).square().mul(weights).sum();
            double rounded = Math.round(exact.item() * 1e9) / 1e9;
            return exact.sub(exact.item()).add(rounded); // the value rounded, the gradient exact
        });
        int steps = 0;
        while (steps < 1000 && r.step()) steps++;
        assertTrue(steps < 50, "steps " + steps + ", " + r.opt.stopReason());
        assertTrue(r.calls < 120, "evaluations " + r.calls);
        assertTrue(r.opt.stopReason().startsWith("no "), r.opt.stopReason());
        for (double v : r.x.toArray()) assertEquals(1.0, v, 1e-4);
    }

    @Test
    void anAcceptedStepNeverIncreasesTheLossBeyondRounding() {
        Run r = new Run(new double[] {0}, 3, x -> x.sub(3).square().sum());
        double last = Double.POSITIVE_INFINITY;
        for (int i = 0; i < 100 && r.step(); i++) {
            double now = x3(r.x);
            assertTrue(now <= last + 1e-15, now + " after " + last); // a decrease, or a step at the rounding floor
            last = now;
        }
        assertEquals(3.0, r.x.toArray()[0], 1e-7);
    }

    private static double x3(Tensor x) {
        double v = x.toArray()[0] - 3;
        return v * v;
    }

    /** Rosenbrock from (-1.2, 1): the minimum (1, 1). */
    @Test
    void findsRosenbrocksMinimum() {
        Run r = new Run(new double[] {-1.2, 1}, 10, p -> {
            Tensor a = p.index(0), b = p.index(1);
            return a.neg().add(1).square().add(b.sub(a.square()).square().mul(100));
        });
        int steps = 0;
        while (steps < 200 && r.step()) steps++;
        assertEquals(1.0, r.x.toArray()[0], 1e-6, r.opt.stopReason());
        assertEquals(1.0, r.x.toArray()[1], 1e-6);
        assertTrue(steps < 100, "steps " + steps);
    }

    /** The optimizer's state dict saved after 4 steps and loaded into a fresh one continues with the same bits. */
    @Test
    void aStateDictSavedMidRunContinuesTheSameBits() {
        Function<Tensor, Tensor> f = x -> x.sub(Tensor.of(1, -2, 0.5)).square().mul(Tensor.of(1, 10, 100)).sum().add(x.index(0).mul(x.index(1)).sin());
        Run a = new Run(new double[] {0.3, 0.1, -0.2}, 2, f);
        for (int i = 0; i < 4; i++) a.step();
        Map<String, Object> saved = a.opt.stateDict();
        double[] at = a.x.toArray();
        for (int i = 0; i < 4; i++) a.step();

        Run b = new Run(at, 2, f);
        b.opt.loadStateDict(saved);
        for (int i = 0; i < 4; i++) b.step();
        assertArrayEquals(a.x.toArray(), b.x.toArray(), 0.0);
    }

    @Test
    void stopReasonOfTheTorchRules() {
        Tensor x = Tensor.of(2.0).requiresGrad_(true);
        LBFGS opt = new LBFGS(List.of(x), 1, 20, null, 1e-7, 1e-9, 10, LBFGS.STRONG_WOLFE);
        opt.step(() -> {
            opt.zeroGrad();
            Tensor l = x.sub(1).square().sum();
            l.backward();
            return l;
        });
        assertTrue(opt.stopReason().startsWith("gradient max ") || opt.stopReason().startsWith("no progress"), opt.stopReason());
        try (var ignored = Autograd.noGrad()) {
            assertEquals(1.0, x.item(), 1e-7);
        }
    }

    /**
     * The curvature pairs of a tiny objective (a mean loss over many rows near its optimum: |s| and |y| both
     * small) are kept: y.s is judged relative to |y||s|, not against PyTorch's absolute 1e-10, so L-BFGS stays
     * quasi-Newton. The same ill-conditioned quadratic scaled by 1e-12 needs about as many iterations as unscaled;
     * with every pair dropped it would be scaled steepest descent (thousands of iterations at condition 1e3).
     */
    @Test
    void tinyCurvaturePairsAreKeptSoATinyObjectiveConvergesAsFastAsTheUnscaledOne() {
        int n = 10;
        double[] a = new double[n], x0 = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = Math.pow(1e3, i / (n - 1.0)); // eigenvalues 1 .. 1e3
            x0[i] = 1 + i;
        }
        Tensor diag = Tensor.fromArray(a, n);
        int[] iterations = new int[2];
        double[] scales = {1, 1e-12};
        for (int k = 0; k < 2; k++) {
            double c = scales[k];
            Run r = new Run(x0, 10, x -> x.mul(x).mul(diag).sum().mul(0.5 * c));
            double g0 = 0;
            for (int i = 0; i < n; i++) g0 = Math.max(g0, Math.abs(c * a[i] * x0[i]));
            int it = 0;
            while (it < 500) {
                it++;
                boolean more = r.step();
                double g = 0;
                double[] x = r.x.toArray();
                for (int i = 0; i < n; i++) g = Math.max(g, Math.abs(c * a[i] * x[i]));
                if (g <= 1e-6 * g0 || !more) break;
            }
            iterations[k] = it;
        }
        assertTrue(iterations[0] < 100, "unscaled: " + iterations[0] + " iterations");
        assertTrue(iterations[1] <= iterations[0] + 10, "scaled by 1e-12: " + iterations[1] + " iterations, unscaled " + iterations[0]);
    }
}
