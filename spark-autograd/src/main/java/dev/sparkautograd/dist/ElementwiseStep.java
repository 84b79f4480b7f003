package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Elementwise;

/**
 * The step of an element-wise DistTensor op: one entry of the op table ({@link Elementwise}) with where its
 * second operand comes from. Replayed alone it is the Tensor op itself; in a scalar reduction's element-wise
 * tail the {@link RowProgram} runs it from the same entry's scalar functions.
 */
final class ElementwiseStep implements Step {
    private static final long serialVersionUID = 1L;

    /** Where operand {@code b} comes from: none (a unary entry, numbers in b and c), an aligned DistTensor, the step's one parameter, a number. */
    enum Operand { NONE, DIST, PARAM, CONST }

    final Elementwise op;
    final Operand second;
    /** The number in the {@code b} slot (CONST operand, or a unary entry's first attribute) and in the {@code c} slot. */
    final double b, c;

    ElementwiseStep(Elementwise op, Operand second, double b, double c) {
        this.op = op;
        this.second = second;
        this.b = b;
        this.c = c;
    }

    @Override
    public ElementwiseStep elementwise() {
        return this;
    }

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params) {
        Tensor a = inputs[0];
        return switch (second) {
            case NONE -> a.apply(op, b, c);
            case CONST -> a.apply(op, Tensor.scalar(b));
            case DIST -> a.apply(op, inputs[1]);
            case PARAM -> a.apply(op, params[0]);
        };
    }

    @Override
    public String toString() {
        return op.method + (second == Operand.NONE ? "" : "(" + second + ")");
    }
}
