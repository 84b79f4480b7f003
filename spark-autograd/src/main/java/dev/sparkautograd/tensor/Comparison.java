package dev.sparkautograd.tensor;

import java.util.function.DoubleBinaryOperator;

/** The comparisons and logical connectives: results are 1 or 0 (a bool tensor's values), never differentiated. */
public enum Comparison implements DoubleBinaryOperator {
    EQ, NE, LT, LE, GT, GE, AND, OR;

    @Override
    public double applyAsDouble(double x, double y) {
        return switch (this) {
            case EQ -> x == y ? 1 : 0;
            case NE -> x != y ? 1 : 0;
            case LT -> x < y ? 1 : 0;
            case LE -> x <= y ? 1 : 0;
            case GT -> x > y ? 1 : 0;
            case GE -> x >= y ? 1 : 0;
            case AND -> x != 0 && y != 0 ? 1 : 0;
            case OR -> x != 0 || y != 0 ? 1 : 0;
        };
    }
}
