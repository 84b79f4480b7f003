package dev.sparkautograd.ml;

import java.io.Serializable;

/** What a fit did: the objective at the start and after every iteration, and the number of iterations. */
public final class AutogradTrainingSummary implements Serializable {
    private static final long serialVersionUID = 1L;

    private final double[] objectiveHistory;
    private final int totalIterations;
    private final String stoppedBecause;

    AutogradTrainingSummary(double[] objectiveHistory, int totalIterations, String stoppedBecause) {
        this.objectiveHistory = objectiveHistory.clone();
        this.totalIterations = totalIterations;
        this.stoppedBecause = stoppedBecause;
    }

    /** The objective (mean loss plus the penalty) at the initial parameters, then after each iteration. */
    public double[] objectiveHistory() {
        return objectiveHistory.clone();
    }

    public int totalIterations() {
        return totalIterations;
    }

    /** Why training stopped: "maxIter reached", "tol reached" or "gradient vanished". */
    public String stoppedBecause() {
        return stoppedBecause;
    }
}
