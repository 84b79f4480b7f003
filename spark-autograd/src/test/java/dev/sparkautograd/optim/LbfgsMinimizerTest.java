package dev.sparkautograd.optim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** L-BFGS stops when it can make no more progress, and says why. */
class LbfgsMinimizerTest {

    /** f(x) = 1 everywhere while the gradient (wrongly, as rounding noise can) points somewhere: no step can decrease it. */
    @Test
    void aFlatObjectiveStopsInAFewEvaluations() {
        int[] calls = {0};
        Objective flat = (x, g) -> {
            calls[0]++;
            for (int i = 0; i < x.length; i++) g[i] = 1e-3 * (i + 1);
            return 1.0;
        };
        LbfgsMinimizer opt = new LbfgsMinimizer(flat, new double[] {0.5, -2, 3}, 10);
        assertFalse(opt.step());
        assertTrue(opt.stopReason().startsWith("no progress: the loss is flat"), opt.stopReason());
        assertEquals(4, calls[0], "the start and three trial steps");
        assertEquals(0, opt.iterations());
        assertFalse(opt.step(), "stays stopped");
        assertEquals(4, opt.evaluations());
    }

    /**
     * A quadratic whose value is rounded to 1e-9 (a loss summed in another order each time looks like this near
     * its optimum): once the decrease is below the rounding, it stops on no progress long before 1,000 steps,
     * where Armijo's test alone (which accepts no decrease once the required one is below rounding) ran on.
     */
    @Test
    void aLossAtItsRoundingFloorStopsOnNoProgress() {
        Objective rounded = (x, g) -> {
            double f = 0;
            for (int i = 0; i < x.length; i++) {
                f += (i + 1) * (x[i] - 1) * (x[i] - 1);
                g[i] = 2 * (i + 1) * (x[i] - 1) + 1e-7 * Math.sin(1e6 * x[i]); // noisy gradient
            }
            return Math.round(f * 1e9) / 1e9;
        };
        LbfgsMinimizer opt = new LbfgsMinimizer(rounded, new double[5], 5);
        int steps = 0;
        while (steps < 1000 && opt.step()) steps++;
        assertTrue(steps < 50, "steps " + steps + ", " + opt.stopReason());
        assertTrue(opt.evaluations() < 120, "evaluations " + opt.evaluations());
        assertTrue(opt.stopReason().startsWith("no "), opt.stopReason());
        for (double v : opt.x()) assertEquals(1.0, v, 1e-4);
    }

    @Test
    void anAcceptedStepNeverIncreasesOrKeepsTheLoss() {
        double[] last = {Double.POSITIVE_INFINITY};
        Objective q = (x, g) -> {
            g[0] = 2 * (x[0] - 3);
            return (x[0] - 3) * (x[0] - 3);
        };
        LbfgsMinimizer opt = new LbfgsMinimizer(q, new double[] {0}, 3);
        while (opt.step()) {
            assertTrue(opt.value() < last[0], opt.value() + " after " + last[0]);
            last[0] = opt.value();
        }
        assertEquals(3.0, opt.x()[0], 1e-7);
    }
}
