package dev.sparkautograd.optim;

/** A differentiable function of a flat parameter vector: returns f(x) and writes its gradient into {@code grad}. */
@FunctionalInterface
public interface Objective {
    double evaluate(double[] x, double[] grad);
}
