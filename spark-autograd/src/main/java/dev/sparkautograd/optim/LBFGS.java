package dev.sparkautograd.optim;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * L-BFGS as {@code torch.optim.LBFGS}, step for step: one {@link #step(Supplier)} runs up to {@code maxIter}
 * iterations (and about {@code maxEval} closure evaluations) of the two-loop recursion over a history of
 * {@code historySize} pairs (a pair kept only when {@code y·s > 1e-10}; with the armijo line search, when {@code y·s > 1e-12 |y||s|}), the first step scaled to
 * {@code min(1, 1/|g|_1) * lr}, then either a fixed step of {@code lr} (no line search, PyTorch's default)
 * or PyTorch's strong-Wolfe line search ({@code lineSearchFn = "strong_wolfe"}: bracketing and zoom with
 * cubic interpolation, c1 = 1e-4, c2 = 0.9, at most 25 evaluations), ported from {@code torch/optim/lbfgs.py}.
 * It stops on {@code max|g| <= toleranceGrad}, a directional derivative above {@code -toleranceChange},
 * a step or loss change below {@code toleranceChange}, or the iteration and evaluation limits;
 * {@link #stopReason()} says which rule ended the last step early.
 *
 * <p>A third line search, {@code lineSearchFn = "armijo"} ({@link #ARMIJO}; not in PyTorch), is a backtracking
 * one that accepts a step only when it decreases the loss (or, at the loss's rounding floor, the gradient norm): the trial step starts at {@code t} (as
 * above) and is halved until {@code f(x + t d) < f(x)} and Armijo's condition {@code f(x + t d) <= f(x) + 1e-4 t g·d}
 * hold, at most {@value #ARMIJO_HALVINGS} times. A trial whose loss is within the rounding tolerance of {@code f(x)}
 * (at most {@code toleranceChange * max(|f|, 1)} away) is accepted when its gradient norm is smaller: there the loss
 * cannot judge a step any more, the gradient still can (a fit then reaches the accuracy the gradient allows). Near the optimum Armijo's required decrease falls below
 * the loss's rounding, and a line search that accepts no decrease at all would go on forever; this one stops
 * instead (and says why): when no halving decreases the loss, when three trials in a row change it by at most
 * {@code toleranceChange} relative to {@code max(|f|, 1)} and none of them has a smaller gradient norm (the loss
 * is flat along the direction and the gradient does not improve: no step length can help), or after an accepted step whose largest parameter change (relative to {@code max(max|x|, 1)}) is at
 * most {@code toleranceChange}. A small relative change of the loss alone does not stop it: near the optimum the
 * loss changes by a few ulps while the gradient still leads to a better fit (a loss at its rounding floor is
 * caught by the flat rule within three evaluations). These rules
 * are checked after every accepted step, also the last of {@code maxIter}, so a caller stepping with
 * {@code maxIter = 1} learns when to stop. A failed line search leaves the parameters where they were. The
 * directional-derivative rule above becomes: a direction that is not one of descent ({@code g·d >= 0}, rounding
 * near the optimum) is replaced by steepest descent and the history dropped; only when that is none either, it stops.
 *
 * <p>The closure zeroes the gradients, computes the loss (a local tensor; for a loss over a DistTensor each
 * call is one Spark job) and calls backward; it runs with grad enabled. The parameters are handled as one
 * flat vector, as PyTorch does. The state (a single one, kept under parameter 0 as PyTorch does) holds
 * {@code "func_evals"}, {@code "n_iter"}, {@code "d"}, {@code "t"}, {@code "old_dirs"}, {@code "old_stps"},
 * {@code "ro"}, {@code "H_diag"}, {@code "prev_flat_grad"} and {@code "prev_loss"}.
 */
public final class LBFGS extends Optimizer {

    public static final String STRONG_WOLFE = "strong_wolfe";
    /** The strict-decrease backtracking line search (see the class comment). */
    public static final String ARMIJO = "armijo";

    static final int ARMIJO_HALVINGS = 40, ARMIJO_FLAT_TRIALS = 3;

    /** Why the last step ended before its max_iter iterations (null when it ran them all). */
    private String stopReason;

    private final int numel;

    /** PyTorch's defaults: lr 1, 20 iterations per step, history 100, no line search. */
    public LBFGS(List<Tensor> params) {
        this(params, 1, 20, null, 1e-7, 1e-9, 100, null);
    }

    public LBFGS(List<Tensor> params, double lr, int maxIter, String lineSearchFn) {
        this(params, lr, maxIter, null, 1e-7, 1e-9, 100, lineSearchFn);
    }

    /**
     * @param maxEval null for PyTorch's default {@code maxIter * 5 / 4}
     * @param lineSearchFn null (fixed steps of lr), {@value #STRONG_WOLFE} or {@value #ARMIJO}
     */
    public LBFGS(List<Tensor> params, double lr, int maxIter, Integer maxEval, double toleranceGrad, double toleranceChange,
                 int historySize, String lineSearchFn) {
        super(params);
        checkNonNegative("learning rate", lr);
        if (maxIter < 1) throw new IllegalArgumentException("Invalid max_iter value: " + maxIter);
        if (maxEval != null && maxEval < 1) throw new IllegalArgumentException("Invalid max_eval value: " + maxEval);
        if (historySize < 1) throw new IllegalArgumentException("Invalid history_size value: " + historySize);
        if (lineSearchFn != null && !lineSearchFn.equals(STRONG_WOLFE) && !lineSearchFn.equals(ARMIJO)) {
            throw new IllegalArgumentException("only 'strong_wolfe' (or this library's 'armijo') is supported as line_search_fn, got '" + lineSearchFn + "'");
        }
        group.put("lr", lr);
        group.put("max_iter", maxIter);
        group.put("max_eval", maxEval != null ? maxEval : maxIter * 5 / 4);
        group.put("tolerance_grad", toleranceGrad);
        group.put("tolerance_change", toleranceChange);
        group.put("history_size", historySize);
        group.put("line_search_fn", lineSearchFn);
        int n = 0;
        for (Tensor p : this.params) n += p.numel();
        numel = n;
    }

    /** L-BFGS needs to re-evaluate the loss: use {@link #step(Supplier)}. */
    @Override
    protected void update() {
        throw new IllegalStateException("LBFGS.step needs a closure that reevaluates the model and returns the loss: use step(closure)");
    }

    /**
     * Why the last {@link #step(Supplier)} ended before {@code max_iter} iterations, e.g. "gradient max 3.1e-08 <=
     * tolerance_grad 1.0e-07" or "no progress: ..." / "no decrease ..." (the {@link #ARMIJO} line search); null when it
     * ran them all. Not part of the state dict: it describes one call.
     */
    public String stopReason() {
        return stopReason;
    }

    /** Runs up to {@code max_iter} iterations; returns the loss of the first closure call (at the parameters on entry). */
    @Override
    public Tensor step(Supplier<Tensor> closure) {
        stopReason = null;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            return run(closure);
        }
    }

    @SuppressWarnings("unchecked")
    private Tensor run(Supplier<Tensor> closure) {
        double lr = hp("lr");
        int maxIter = (int) hp("max_iter"), maxEval = (int) hp("max_eval"), historySize = (int) hp("history_size");
        double toleranceGrad = hp("tolerance_grad"), toleranceChange = hp("tolerance_change");
        String lineSearchFn = (String) group.get("line_search_fn");
        boolean armijo = ARMIJO.equals(lineSearchFn);

        Map<String, Object> st = state.get(0);
        st.putIfAbsent("func_evals", 0);
        st.putIfAbsent("n_iter", 0);

        Tensor origLoss = evaluate(closure);
        double loss = origLoss.item();
        int currentEvals = 1;
        st.put("func_evals", ((Number) st.get("func_evals")).intValue() + 1);

        Tensor flatGrad = gatherFlatGrad();
        boolean optCond = absMax(flatGrad) <= toleranceGrad;
        if (optCond) {
            stopReason = String.format("gradient max %.1e <= tolerance_grad %.1e", absMax(flatGrad), toleranceGrad);
            return origLoss;
        }

        Tensor d = (Tensor) st.get("d");
        double t = st.containsKey("t") ? ((Number) st.get("t")).doubleValue() : 0;
        List<Tensor> oldDirs = (List<Tensor>) st.get("old_dirs"), oldStps = (List<Tensor>) st.get("old_stps");
        List<Double> ro = (List<Double>) st.get("ro");
        double hDiag = st.containsKey("H_diag") ? ((Number) st.get("H_diag")).doubleValue() : 1;
        Tensor prevFlatGrad = (Tensor) st.get("prev_flat_grad");
        double prevLoss = st.containsKey("prev_loss") ? ((Number) st.get("prev_loss")).doubleValue() : Double.NaN;

        int nIter = 0;
        while (nIter < maxIter) {
            nIter++;
            int globalIter = ((Number) st.get("n_iter")).intValue() + 1;
            st.put("n_iter", globalIter);

            // the descent direction
            if (globalIter == 1) {
                d = flatGrad.neg();
                oldDirs = new ArrayList<>();
                oldStps = new ArrayList<>();
                ro = new ArrayList<>();
                hDiag = 1;
            } else {
                Tensor y = flatGrad.sub(prevFlatGrad);
                Tensor s = d.mul(t);
                double ys = y.dot(s).item();
                // PyTorch keeps a pair when y.s > 1e-10; armijo (this library's) when y.s is positive relative to
                // |y||s|: near the optimum of a mean loss over many rows both are tiny, and the absolute test would
                // drop every pair there, leaving scaled steepest descent for the tail (2000+ passes instead of 174
                // on compare-optimizers' ill-conditioned data)
                boolean keep = armijo ? ys > 1e-12 * Math.sqrt(y.dot(y).item() * s.dot(s).item()) : ys > 1e-10;
                if (keep) {
                    if (oldDirs.size() == historySize) {
                        oldDirs.remove(0);
                        oldStps.remove(0);
                        ro.remove(0);
                    }
                    oldDirs.add(y);
                    oldStps.add(s);
                    ro.add(1.0 / ys);
                    hDiag = ys / y.dot(y).item();
                }
                int numOld = oldDirs.size();
                double[] al = new double[numOld];
                Tensor q = flatGrad.neg();
                for (int i = numOld - 1; i >= 0; i--) {
                    al[i] = oldStps.get(i).dot(q).item() * ro.get(i);
                    q.sub_(oldDirs.get(i).mul(al[i]));
                }
                Tensor r = q.mul(hDiag);
                for (int i = 0; i < numOld; i++) {
                    double beI = oldDirs.get(i).dot(r).item() * ro.get(i);
                    r.add_(oldStps.get(i).mul(al[i] - beI));
                }
                d = r;
            }
            prevFlatGrad = copy(flatGrad);
            prevLoss = loss;

            // the step length
            t = globalIter == 1 ? Math.min(1.0, 1.0 / flatGrad.abs().sum().item()) * lr : lr;
            double gtd = flatGrad.dot(d).item();
            if (ARMIJO.equals(lineSearchFn) && !(gtd < 0)) {
                // not a descent direction (rounding near the optimum): restart from steepest descent, history dropped
                d = flatGrad.neg();
                oldDirs.clear();
                oldStps.clear();
                ro.clear();
                hDiag = 1;
                gtd = flatGrad.dot(d).item();
                if (!(gtd < 0)) {
                    stopReason = String.format("no descent direction: the gradient's norm is %.1e", Math.sqrt(-gtd));
                    break;
                }
            } else if (!ARMIJO.equals(lineSearchFn) && gtd > -toleranceChange) {
                stopReason = String.format("no descent direction: the directional derivative %.1e > -tolerance_change", gtd);
                break;
            }

            int lsFuncEvals = 0;
            if (ARMIJO.equals(lineSearchFn)) {
                Tensor[] xInit = cloneParams();
                Armijo ls = armijo(closure, xInit, t, d, loss, flatGrad, gtd, toleranceChange);
                currentEvals += ls.evals();
                st.put("func_evals", ((Number) st.get("func_evals")).intValue() + ls.evals());
                if (ls.failure() != null) { // no step: the parameters stay at xInit, the next pair would be empty
                    stopReason = ls.failure();
                    t = 0;
                    break;
                }
                double maxX = 0;
                for (Tensor p : xInit) maxX = Math.max(maxX, absMax(p));
                double maxStep = absMax(d.mul(ls.t())) / Math.max(maxX, 1.0);
                loss = ls.f();
                flatGrad = ls.g();
                t = ls.t();
                addGrad(t, d); // the accepted point, computed as the line search computed it
                optCond = absMax(flatGrad) <= toleranceGrad;
                if (maxStep <= toleranceChange) {
                    stopReason = String.format("no progress: largest parameter change %.1e <= tolerance_change %.1e (relative)", maxStep, toleranceChange);
                    break;
                }
                if (nIter == maxIter) break;
                if (currentEvals >= maxEval) {
                    stopReason = "max_eval " + maxEval + " evaluations reached";
                    break;
                }
                if (optCond) {
                    stopReason = String.format("gradient max %.1e <= tolerance_grad %.1e", absMax(flatGrad), toleranceGrad);
                    break;
                }
                continue;
            } else if (lineSearchFn != null) {
                Tensor[] xInit = cloneParams();
                LineSearchResult ls = strongWolfe(closure, xInit, t, d, loss, flatGrad, gtd, toleranceChange);
                loss = ls.f();
                flatGrad = ls.g();
                t = ls.t();
                lsFuncEvals = ls.evals();
                addGrad(t, d);
                optCond = absMax(flatGrad) <= toleranceGrad;
            } else {
                addGrad(t, d);
                if (nIter != maxIter) {
                    loss = evaluate(closure).item();
                    flatGrad = gatherFlatGrad();
                    optCond = absMax(flatGrad) <= toleranceGrad;
                    lsFuncEvals = 1;
                }
            }
            currentEvals += lsFuncEvals;
            st.put("func_evals", ((Number) st.get("func_evals")).intValue() + lsFuncEvals);

            if (nIter == maxIter) break;
            if (currentEvals >= maxEval) {
                stopReason = "max_eval " + maxEval + " evaluations reached";
                break;
            }
            if (optCond) {
                stopReason = String.format("gradient max %.1e <= tolerance_grad %.1e", absMax(flatGrad), toleranceGrad);
                break;
            }
            if (absMax(d.mul(t)) <= toleranceChange) {
                stopReason = String.format("no progress: largest step %.1e <= tolerance_change %.1e", absMax(d.mul(t)), toleranceChange);
                break;
            }
            if (Math.abs(loss - prevLoss) < toleranceChange) {
                stopReason = String.format("no progress: loss change %.1e < tolerance_change %.1e", Math.abs(loss - prevLoss), toleranceChange);
                break;
            }
        }

        st.put("d", d);
        st.put("t", t);
        st.put("old_dirs", oldDirs);
        st.put("old_stps", oldStps);
        st.put("ro", ro);
        st.put("H_diag", hDiag);
        st.put("prev_flat_grad", prevFlatGrad);
        st.put("prev_loss", prevLoss);
        return origLoss;
    }

    /** The closure's loss, evaluated with grad enabled (a scalar tensor). */
    private static Tensor evaluate(Supplier<Tensor> closure) {
        Tensor loss;
        try (Autograd.Scope ignored = Autograd.enableGrad()) {
            loss = closure.get();
        }
        if (loss == null || loss.numel() != 1) {
            throw new IllegalArgumentException("LBFGS: the closure must return the loss as a one-element tensor, got "
                    + (loss == null ? "null" : "shape " + Arrays.toString(loss.shape())));
        }
        return loss;
    }

    private Tensor gatherFlatGrad() {
        List<Tensor> views = new ArrayList<>(params.size());
        for (Tensor p : params) views.add(p.grad() == null ? Tensor.zeros(p.numel()) : p.grad().reshape(p.numel()));
        return Tensor.cat(views, 0);
    }

    /** {@code p += stepSize * update} over the flat vector. */
    private void addGrad(double stepSize, Tensor update) {
        int offset = 0;
        for (Tensor p : params) {
            int n = p.numel();
            p.add_(update.slice(0, offset, offset + n).reshape(p.shape()).mul(stepSize));
            offset += n;
        }
    }

    private Tensor[] cloneParams() {
        Tensor[] x = new Tensor[params.size()];
        for (int i = 0; i < x.length; i++) x[i] = copy(params.get(i));
        return x;
    }

    private void setParams(Tensor[] x) {
        for (int i = 0; i < x.length; i++) params.get(i).copy_(x[i]);
    }

    private static double absMax(Tensor t) {
        return t.abs().max().item();
    }

    // ---- the strict-decrease backtracking line search ("armijo") -----------------------------------------

    /** The accepted step {@code t} with the loss and flat gradient there, or why none was found. */
    private record Armijo(double f, Tensor g, double t, int evals, String failure) {}

    /** Halves {@code t} until {@code x + t d} strictly decreases the loss and satisfies Armijo's condition (class comment). */
    private Armijo armijo(Supplier<Tensor> closure, Tensor[] x, double t, Tensor d, double f, Tensor g, double gtd, double toleranceChange) {
        int flat = 0;
        double gNorm = g.norm().item();
        for (int k = 0; k < ARMIJO_HALVINGS; k++) {
            Eval e = directionalEvaluate(closure, x, t, d);
            double fNew = e.f();
            if (Double.isFinite(fNew) && fNew < f && fNew <= f + 1e-4 * t * gtd) return new Armijo(fNew, e.g(), t, k + 1, null);
            if (Double.isFinite(fNew) && Math.abs(fNew - f) <= toleranceChange * Math.max(Math.abs(f), 1.0)) {
                // the loss is at its rounding floor and cannot judge the step; the gradient still can
                if (e.g().norm().item() < gNorm) return new Armijo(fNew, e.g(), t, k + 1, null);
                if (++flat == ARMIJO_FLAT_TRIALS) {
                    return new Armijo(f, null, 0, k + 1,
                            String.format("no progress: the loss is flat to %.1e (relative) along the search direction", toleranceChange));
                }
            } else {
                flat = 0;
            }
            t *= 0.5;
        }
        return new Armijo(f, null, 0, ARMIJO_HALVINGS, "no decrease along the search direction in " + ARMIJO_HALVINGS + " halvings of the step");
    }

    // ---- PyTorch's strong-Wolfe line search (_strong_wolfe, _cubic_interpolate) ----------------------------

    /** A point of the line search: the loss and the flat gradient there. */
    private record Eval(double f, Tensor g) {}

    private record LineSearchResult(double f, Tensor g, double t, int evals) {}

    /** Loss and flat gradient at {@code x + t d}; the parameters are restored to {@code x} afterwards. */
    private Eval directionalEvaluate(Supplier<Tensor> closure, Tensor[] x, double t, Tensor d) {
        addGrad(t, d);
        double loss = evaluate(closure).item();
        Tensor flatGrad = gatherFlatGrad();
        setParams(x);
        return new Eval(loss, flatGrad);
    }

    /** The minimizer of the cubic interpolating (x1, f1, g1) and (x2, f2, g2), clamped to the bounds. */
    static double cubicInterpolate(double x1, double f1, double g1, double x2, double f2, double g2, double[] bounds) {
        double xminBound, xmaxBound;
        if (bounds != null) {
            xminBound = bounds[0];
            xmaxBound = bounds[1];
        } else if (x1 <= x2) {
            xminBound = x1;
            xmaxBound = x2;
        } else {
            xminBound = x2;
            xmaxBound = x1;
        }
        double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
        double d2Square = d1 * d1 - g1 * g2;
        if (d2Square >= 0) {
            double d2 = Math.sqrt(d2Square);
            double minPos = x1 <= x2
                    ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                    : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
            return Math.min(Math.max(minPos, xminBound), xmaxBound);
        }
        return (xminBound + xmaxBound) / 2.0;
    }

    private LineSearchResult strongWolfe(Supplier<Tensor> closure, Tensor[] x, double t, Tensor d, double f, Tensor g, double gtd,
                                         double toleranceChange) {
        final double c1 = 1e-4, c2 = 0.9;
        final int maxLs = 25;
        double dNorm = absMax(d);
        Eval e = directionalEvaluate(closure, x, t, d);
        double fNew = e.f();
        Tensor gNew = e.g();
        int evals = 1;
        double gtdNew = gNew.dot(d).item();

        double tPrev = 0, fPrev = f, gtdPrev = gtd;
        Tensor gPrev = g;
        boolean done = false;
        int lsIter = 0;
        double[] bracket = null, bracketF = null, bracketGtd = null;
        Tensor[] bracketG = null;
        while (lsIter < maxLs) {
            if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
                bracket = new double[] {tPrev, t};
                bracketF = new double[] {fPrev, fNew};
                bracketG = new Tensor[] {gPrev, gNew};
                bracketGtd = new double[] {gtdPrev, gtdNew};
                break;
            }
            if (Math.abs(gtdNew) <= -c2 * gtd) {
                bracket = new double[] {t};
                bracketF = new double[] {fNew};
                bracketG = new Tensor[] {gNew};
                done = true;
                break;
            }
            if (gtdNew >= 0) {
                bracket = new double[] {tPrev, t};
                bracketF = new double[] {fPrev, fNew};
                bracketG = new Tensor[] {gPrev, gNew};
                bracketGtd = new double[] {gtdPrev, gtdNew};
                break;
            }
            // extrapolate
            double minStep = t + 0.01 * (t - tPrev), maxStep = t * 10;
            double tmp = t;
            t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, new double[] {minStep, maxStep});
            tPrev = tmp;
            fPrev = fNew;
            gPrev = gNew;
            gtdPrev = gtdNew;
            e = directionalEvaluate(closure, x, t, d);
            fNew = e.f();
            gNew = e.g();
            evals++;
            gtdNew = gNew.dot(d).item();
            lsIter++;
        }
        if (lsIter == maxLs) {
            bracket = new double[] {0, t};
            bracketF = new double[] {f, fNew};
            bracketG = new Tensor[] {g, gNew};
        }

        // zoom: refine the bracket until a point satisfies the strong Wolfe conditions
        boolean insufProgress = false;
        int lowPos = bracketF[0] <= bracketF[bracketF.length - 1] ? 0 : 1, highPos = 1 - lowPos;
        while (!done && lsIter < maxLs) {
            if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
            t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1], null);

            // too close to a bound of the bracket: move away from it, as PyTorch does
            double bMax = Math.max(bracket[0], bracket[1]), bMin = Math.min(bracket[0], bracket[1]);
            double eps = 0.1 * (bMax - bMin);
            if (Math.min(bMax - t, t - bMin) < eps) {
                if (insufProgress || t >= bMax || t <= bMin) {
                    t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
                    insufProgress = false;
                } else {
                    insufProgress = true;
                }
            } else {
                insufProgress = false;
            }

            e = directionalEvaluate(closure, x, t, d);
            fNew = e.f();
            gNew = e.g();
            evals++;
            gtdNew = gNew.dot(d).item();
            lsIter++;

            if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]) {
                bracket[highPos] = t;
                bracketF[highPos] = fNew;
                bracketG[highPos] = gNew;
                bracketGtd[highPos] = gtdNew;
                lowPos = bracketF[0] <= bracketF[1] ? 0 : 1;
                highPos = 1 - lowPos;
            } else {
                if (Math.abs(gtdNew) <= -c2 * gtd) {
                    done = true;
                } else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0) {
                    bracket[highPos] = bracket[lowPos];
                    bracketF[highPos] = bracketF[lowPos];
                    bracketG[highPos] = bracketG[lowPos];
                    bracketGtd[highPos] = bracketGtd[lowPos];
                }
                bracket[lowPos] = t;
                bracketF[lowPos] = fNew;
                bracketG[lowPos] = gNew;
                bracketGtd[lowPos] = gtdNew;
            }
        }
        return new LineSearchResult(bracketF[lowPos], bracketG[lowPos], bracket[lowPos], evals);
    }

    /** The state is one flat-vector state kept under parameter 0: its tensors have {@code numel} values. */
    @Override
    protected void checkLoadedState(int index, Map<String, Object> s) {
        if (index != 0) throw new IllegalArgumentException("loaded state dict has LBFGS state under parameter " + index + "; LBFGS keeps it under parameter 0");
        for (Map.Entry<String, Object> e : s.entrySet()) {
            List<?> values = e.getValue() instanceof List ? (List<?>) e.getValue() : List.of(e.getValue() == null ? "" : e.getValue());
            for (Object v : values) {
                if (v instanceof Tensor && ((Tensor) v).numel() != numel) {
                    throw new IllegalArgumentException("loaded state dict has LBFGS " + e.getKey() + " of " + ((Tensor) v).numel()
                            + " values for parameters of " + numel + " values in all");
                }
            }
        }
    }
}
