package dev.sparkautograd.optim;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NewtonCG (TRON) on Rosenbrock, strictly convex quadratics and a two-tensor logistic regression. */
class NewtonCGTest {

    private static Tensor rosenbrock(Tensor p) {
        Tensor a = p.index(0), b = p.index(1);
        return a.neg().add(1).square().add(b.sub(a.square()).square().mul(100));
    }

    /** The value-and-gradient closure of torch.optim, and the product from Autograd.hvp. */
    private static NewtonCG.Result minimizeWithTwoClosures(NewtonCG opt, Tensor p, java.util.function.Function<Tensor, Tensor> f) {
        Supplier<Tensor> closure = () -> {
            Tensor loss = f.apply(p);
            loss.backward();
            return loss;
        };
        return opt.step(closure, v -> List.of(Autograd.hvp(f, p, v.get(0)).get(1)));
    }

    @Test
    void rosenbrockConvergesFromTheClassicStart() {
        for (boolean oneClosure : new boolean[] {false, true}) {
            Tensor p = Tensor.of(-1.2, 1.0).requiresGrad_(true);
            NewtonCG opt = new NewtonCG(List.of(p), NewtonCG.Options.defaults().tolerance(1e-10));
            NewtonCG.Result r = oneClosure ? opt.step(() -> rosenbrock(p)) : minimizeWithTwoClosures(opt, p, NewtonCGTest::rosenbrock);
            assertEquals(NewtonCG.StopReason.GRADIENT_TOLERANCE, r.reason(), r.toString());
            assertEquals(1.0, p.get(0), 1e-9);
            assertEquals(1.0, p.get(1), 1e-9);
            assertTrue(r.gradientNorm() <= 1e-10, r.toString());
            assertTrue(r.iterations() < 60, r.toString());
            // one evaluation at the start and one per trial step; the graph style may rebuild the graph after a rejected trial
            int rejected = r.iterations() - r.accepted();
            assertTrue(r.evaluations() >= 1 + r.iterations() && r.evaluations() <= 1 + r.iterations() + (oneClosure ? rejected : 0), r.toString());
        }
    }

    /** f(x) = x^T A x / 2 - b.x with A symmetric positive definite, eigenvalues distinct: H = A, minimizer A^-1 b. */
    private static Tensor quadratic(Tensor a, Tensor b, Tensor x) {
        return x.dot(a.matmul(x)).mul(0.5).sub(b.dot(x));
    }

    private static Tensor spd(int n, long seed) {
        // M^T M + n I: symmetric, eigenvalues at least n, distinct almost surely
        Tensor m = Tensor.randn(seed, n, n);
        return m.t().matmul(m).add(Tensor.eye(n).mul(n));
    }

    @Test
    void aStrictlyConvexQuadraticIsSolvedExactlyInNConjugateGradientSteps() {
        int n = 6;
        Tensor a = spd(n, 7), b = Tensor.randn(8, n);
        Tensor x = Tensor.zeros(n).requiresGrad_(true);
        NewtonCG opt = new NewtonCG(List.of(x), NewtonCG.Options.defaults().cgTolerance(1e-10).tolerance(1e-9).initialRadius(1e6));
        NewtonCG.Result r = minimizeWithTwoClosures(opt, x, t -> quadratic(a, b, t));
        assertEquals(NewtonCG.StopReason.GRADIENT_TOLERANCE, r.reason(), r.toString());
        assertEquals(1, r.iterations(), "one Newton step: " + r);
        assertEquals(n, r.cgIterations(), "CG on an n-dimensional quadratic ends in n steps: " + r);
        // the exact minimizer solves A x = b
        Tensor residual = a.matmul(x.detach()).sub(b);
        assertTrue(residual.norm().item() <= 1e-9, residual.toString());
    }

    @Test
    void tronsConjugateGradientStopsAtATenthOfTheGradient() {
        // On a quadratic the gradient after the step is minus CG's residual, so TRON's rule |r| <= 0.1 |g| is visible.
        int n = 40;
        Tensor a = spd(n, 3), b = Tensor.randn(4, n);
        Tensor x = Tensor.zeros(n).requiresGrad_(true);
        NewtonCG opt = new NewtonCG(List.of(x), NewtonCG.Options.defaults().maxIter(1).initialRadius(1e6));
        NewtonCG.Result r = opt.step(() -> quadratic(a, b, x));
        assertEquals(NewtonCG.StopReason.MAX_ITERATIONS, r.reason());
        assertEquals(1, r.accepted());
        double g0 = r.gradientNorms().get(0), g1 = r.gradientNorms().get(1);
        assertTrue(g1 <= 0.1 * g0 && g1 > 1e-3 * g0, g0 + " -> " + g1);
        assertTrue(r.cgIterations() < n, r.toString());
    }

    @Test
    void stopsAtTheFirstPointWhoseGradientIsWithinTheTolerance() {
        Tensor p = Tensor.of(-1.2, 1.0).requiresGrad_(true);
        double tol = 1e-3;
        NewtonCG.Result r = new NewtonCG(List.of(p), NewtonCG.Options.defaults().tolerance(tol)).step(() -> rosenbrock(p));
        assertEquals(NewtonCG.StopReason.GRADIENT_TOLERANCE, r.reason());
        List<Double> norms = r.gradientNorms();
        assertTrue(norms.get(norms.size() - 1) <= tol, norms.toString());
        for (int i = 0; i < norms.size() - 1; i++) assertTrue(norms.get(i) > tol, norms.toString());
        assertEquals(norms.get(norms.size() - 1), r.gradientNorm());
        Tensor check = p.detach().clone().requiresGrad_(true);
        assertEquals(r.gradientNorm(), Autograd.grad(rosenbrock(check), check).norm().item(), 1e-15);

        // started at the optimum: no step at all
        Tensor q = Tensor.of(1.0, 1.0).requiresGrad_(true);
        NewtonCG.Result none = new NewtonCG(List.of(q)).step(() -> rosenbrock(q));
        assertEquals(NewtonCG.StopReason.GRADIENT_TOLERANCE, none.reason());
        assertEquals(0, none.iterations());
        assertEquals(1, none.evaluations());
    }

    /**
     * Steps taken one trial at a time (as train does, one progress line each) with the same closure objects: each step
     * starts from the value and gradient the previous one left, so the evaluations (passes over the data for a distributed
     * loss) and the iterates are those of one run, bit for bit; the relative tolerance is relative to the first step's |g0|.
     */
    @Test
    void stepsTakenOneAtATimeReuseThePreviousStepsValueAndGradient() {
        for (boolean oneClosure : new boolean[] {false, true}) {
            NewtonCG.Options options = NewtonCG.Options.defaults().tolerance(0).relativeTolerance(1e-9);
            Tensor p = Tensor.of(-1.2, 1.0).requiresGrad_(true);
            NewtonCG whole = new NewtonCG(List.of(p), options);
            NewtonCG.Result all = oneClosure ? whole.step(() -> rosenbrock(p)) : minimizeWithTwoClosures(whole, p, NewtonCGTest::rosenbrock);
            assertEquals(NewtonCG.StopReason.GRADIENT_TOLERANCE, all.reason(), all.toString());

            Tensor q = Tensor.of(-1.2, 1.0).requiresGrad_(true);
            NewtonCG single = new NewtonCG(List.of(q), options.maxIter(1));
            int[] calls = {0};
            Supplier<Tensor> loss = () -> {
                calls[0]++;
                return rosenbrock(q);
            };
            Supplier<Tensor> closure = () -> {
                Tensor l = loss.get();
                l.backward();
                return l;
            };
            NewtonCG.HessianVectorProduct hvp = v -> List.of(Autograd.hvp(NewtonCGTest::rosenbrock, q, v.get(0)).get(1));
            int evaluations = 0, cg = 0, steps = 0;
            NewtonCG.Result r;
            do {
                r = oneClosure ? single.step(loss) : single.step(closure, hvp);
                evaluations += r.evaluations();
                cg += r.cgIterations();
                steps++;
            } while (r.reason() == NewtonCG.StopReason.MAX_ITERATIONS && steps < 200);
            String what = (oneClosure ? "one closure: " : "two closures: ") + all;
            assertEquals(all.reason(), r.reason(), what);
            assertEquals(all.iterations(), steps, what);
            assertEquals(all.evaluations(), evaluations, what);
            assertEquals(all.evaluations(), calls[0], what);
            assertEquals(all.cgIterations(), cg, what);
            assertEquals(Double.doubleToLongBits(p.get(0)), Double.doubleToLongBits(q.get(0)), what);
            assertEquals(Double.doubleToLongBits(p.get(1)), Double.doubleToLongBits(q.get(1)), what);

            // parameters moved by the caller: evaluated again
            try (Autograd.Scope ng = Autograd.noGrad()) {
                q.copy_(Tensor.of(0.5, 0.5));
            }
            NewtonCG.Result moved = oneClosure ? single.step(loss) : single.step(closure, hvp);
            assertTrue(moved.evaluations() >= 2, moved.toString());
        }
    }

    /** evaluate() takes the first evaluation, and the first step starts from it. */
    @Test
    void evaluateIsTheFirstStepsStartingPoint() {
        Tensor q = Tensor.of(-1.2, 1.0).requiresGrad_(true);
        NewtonCG opt = new NewtonCG(List.of(q), NewtonCG.Options.defaults().maxIter(1));
        Supplier<Tensor> loss = () -> rosenbrock(q);
        NewtonCG.Result start = opt.evaluate(loss);
        assertEquals(1, start.evaluations());
        assertEquals(0, start.iterations());
        assertEquals(rosenbrock(Tensor.of(-1.2, 1.0)).item(), start.loss());
        NewtonCG.Result first = opt.step(loss);
        assertEquals(start.gradientNorm(), first.gradientNorms().get(0));
        assertEquals(first.iterations(), first.evaluations(), "one evaluation per trial, none at the start: " + first);
        opt.forget();
        NewtonCG.Result again = opt.step(loss);
        assertEquals(1 + again.iterations(), again.evaluations(), "forget(): evaluated again: " + again);
    }

    @Test
    void withToleranceZeroItStopsWhenDoublePrecisionRunsOut() {
        Tensor p = Tensor.of(-1.2, 1.0).requiresGrad_(true);
        NewtonCG.Result r = new NewtonCG(List.of(p), NewtonCG.Options.defaults().tolerance(0)).step(() -> rosenbrock(p));
        assertTrue(r.reason() == NewtonCG.StopReason.REDUCTION_TOO_SMALL || r.reason() == NewtonCG.StopReason.NO_PREDICTED_REDUCTION
                || r.gradientNorm() == 0, r.toString());
        assertTrue(r.iterations() < 100 && r.gradientNorm() < 1e-12, r.toString());
    }

    @Test
    void maxIterBoundsTheTrialSteps() {
        Tensor p = Tensor.of(-1.2, 1.0).requiresGrad_(true);
        NewtonCG.Result r = new NewtonCG(List.of(p), NewtonCG.Options.defaults().maxIter(3)).step(() -> rosenbrock(p));
        assertEquals(NewtonCG.StopReason.MAX_ITERATIONS, r.reason());
        assertEquals(3, r.iterations());
        assertEquals(r.loss(), rosenbrock(p.detach()).item(), 0.0, "the parameters hold the last accepted point");
    }

    /** Logistic regression with L2 over two parameter tensors (w [3], bias []): both closure styles agree and reach |g| <= tol. */
    @Test
    void severalParameterTensorsAndBothClosureStylesAgree() {
        Tensor x = Tensor.randn(21, 50, 3), y = Tensor.rand(22, 50).gt(0.5).mul(1.0);
        double[][] results = new double[2][];
        for (int style = 0; style < 2; style++) {
            Tensor w = Tensor.zeros(3).requiresGrad_(true), bias = Tensor.scalar(0).requiresGrad_(true);
            Supplier<Tensor> loss = () -> {
                Tensor z = x.matmul(w).add(bias);
                return z.softplus().sub(y.mul(z)).mean().add(w.square().sum().mul(0.05));
            };
            NewtonCG opt = new NewtonCG(List.of(w, bias), NewtonCG.Options.defaults().tolerance(1e-10));
            NewtonCG.Result r;
            if (style == 0) {
                r = opt.step(loss);
            } else {
                r = opt.step(() -> {
                    Tensor l = loss.get();
                    l.backward();
                    return l;
                }, v -> {
                    List<Tensor> g = Autograd.grad(List.of(loss.get()), List.of(w, bias), null, true, true, false);
                    Tensor gv = g.get(0).dot(v.get(0)).add(g.get(1).mul(v.get(1)));
                    return Autograd.grad(List.of(gv), List.of(w, bias), null, false, false, false);
                });
            }
            assertEquals(NewtonCG.StopReason.GRADIENT_TOLERANCE, r.reason(), r.toString());
            assertTrue(r.iterations() <= 10, r.toString());
            results[style] = new double[] {w.get(0), w.get(1), w.get(2), bias.item()};
        }
        for (int i = 0; i < 4; i++) assertEquals(results[0][i], results[1][i], 1e-12);
    }

    @Test
    void badParametersAndProductsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new NewtonCG(List.of(Tensor.zeros(2))));
        assertTrue(e.getMessage().contains("parameter 0") && e.getMessage().contains("requires grad"), e.getMessage());
        Tensor p = Tensor.of(1, 2).requiresGrad_(true);
        NewtonCG opt = new NewtonCG(List.of(p));
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> opt.step(() -> {
            Tensor l = p.square().sum();
            l.backward();
            return l;
        }, v -> List.of(Tensor.zeros(3))));
        assertTrue(wrong.getMessage().contains("parameter 0 has shape [3]") && wrong.getMessage().contains("[2]"), wrong.getMessage());
    }
}
