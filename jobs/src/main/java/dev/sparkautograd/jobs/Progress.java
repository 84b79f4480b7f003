package dev.sparkautograd.jobs;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * train's progress: one line per step, the loss curve, and what the curve says (ETA, diverging weights).
 *
 * <p>The ETA does not assume that every {@code --max-steps} step runs: from step 2 on it extrapolates the
 * gradient norm's geometric decrease over the last {@value #WINDOW} steps to {@code --tolerance} ("ETA ~12 s,
 * ~9 steps"), capped at {@code --max-steps}; when the norm does not decrease it prints only the bound at
 * {@code --max-steps} ("ETA <= 99 s"). The time per step is the mean so far (line searches included).
 */
final class Progress {

    static final int WINDOW = 5;

    private final PrintWriter out;
    private final long rows;
    private final int maxSteps;
    private final double tolerance;
    private final long start = System.nanoTime();
    /** Seconds of the run before a resume (elapsed times continue from it). */
    private double before;
    private final List<double[]> curve = new ArrayList<>(); // step, loss, grad norm, elapsed, weight norm

    Progress(PrintWriter out, long rows, int maxSteps, double tolerance) {
        this.out = out;
        this.rows = rows;
        this.maxSteps = maxSteps;
        this.tolerance = tolerance;
    }

    /** The step being computed (the one the next {@link #record} reports). */
    int step() {
        return curve.size();
    }

    /** Steps taken (step 0 is the starting point). */
    int steps() {
        return curve.size() - 1;
    }

    List<double[]> curve() {
        return curve;
    }

    List<Double> losses() {
        return curve.stream().map(c -> c[1]).toList();
    }

    /** Continues a run from a checkpoint's curve: the next record is step {@code saved.size()}. */
    void resume(List<double[]> saved) {
        curve.clear();
        for (double[] c : saved) curve.add(c.clone());
        before = curve.isEmpty() ? 0 : curve.get(curve.size() - 1)[3];
    }

    void record(double loss, double gradNorm, double weightNorm, int evaluations) {
        recordRows(loss, gradNorm, weightNorm, evaluations * (double) rows);
    }

    /** As {@link #record}, with the rows read by all evaluations so far (mini-batches read fewer than the data's rows). */
    void recordRows(double loss, double gradNorm, double weightNorm, double rowsRead) {
        int step = curve.size();
        double elapsed = before + (System.nanoTime() - start) / 1e9;
        curve.add(new double[] {step, loss, gradNorm, elapsed, weightNorm});
        double rowsPerSecond = rowsRead / Math.max(elapsed, 1e-9);
        out.printf("step %4d  loss %.8f  |grad| %.3e  %,11.0f rows/s  elapsed %6.1f s  ETA %s%n",
                step, loss, gradNorm, rowsPerSecond, elapsed, eta(step, elapsed));
        out.flush();
    }

    private String eta(int step, double elapsed) {
        if (step == 0) return "-";
        double perStep = elapsed / step;
        int left = maxSteps - step;
        if (left <= 0) return "0 s";
        int predicted = predictedStepsLeft();
        if (predicted == 0) return "0 s";
        if (predicted > 0 && predicted < left) {
            return String.format("~%.0f s, ~%d step%s", perStep * predicted, predicted, predicted == 1 ? "" : "s");
        }
        return String.format("<= %.0f s", perStep * left);
    }

    /** Steps until the gradient norm reaches the tolerance at its recent geometric rate, or -1 when it is not decreasing. */
    int predictedStepsLeft() {
        int last = curve.size() - 1;
        if (last < 2) return -1;
        int first = Math.max(1, last - WINDOW);
        double g0 = curve.get(first)[2], g1 = curve.get(last)[2];
        if (!(g1 < g0) || !(g1 > 0)) return -1;
        if (g1 <= tolerance) return 0;
        double ratePerStep = Math.log(g0 / g1) / (last - first);
        if (!(tolerance > 0)) return -1;
        double steps = Math.ceil(Math.log(g1 / tolerance) / ratePerStep);
        return steps > Integer.MAX_VALUE ? -1 : (int) steps;
    }

    /**
     * A warning when the weights diverge while the loss falls (separable classes: the unpenalized optimum is at
     * infinity): over the second half of a run of at least 10 steps, the loss fell by more than 10 times while
     * the weight norm grew by more than 20%. Null otherwise.
     */
    String divergence() {
        int last = curve.size() - 1;
        if (last < 10) return null;
        double[] mid = curve.get(last / 2), end = curve.get(last);
        if (end[1] < mid[1] / 10 && end[4] > 1.2 * mid[4]) {
            return String.format("the weight norm grew from %.3g (step %d) to %.3g (step %d) while the loss fell from %.3g to %.3g:"
                            + " the classes look separable, so the loss has no finite minimum; pass --reg LAMBDA (e.g. 1e-4) for a finite fit",
                    mid[4], (int) mid[0], end[4], (int) end[0], mid[1], end[1]);
        }
        return null;
    }
}
