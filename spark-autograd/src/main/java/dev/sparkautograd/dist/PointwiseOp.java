package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Pointwise;

/**
 * Internal: the block op of an element-wise DistTensor op ({@code add}, {@code softplus}, ...). Replayed
 * alone it is the Tensor op itself; a class of its own (not a lambda) so that {@link Plan} can see
 * which element-wise ops end a scalar reduction and run them as one {@link PointwiseProgram}.
 */
public final class PointwiseOp implements BlockOp {
    private static final long serialVersionUID = 1L;

    /** Where the second operand comes from. */
    public enum Operand { NONE, DIST, PARAM, CONST }

    final Pointwise kind;
    final Operand second;
    final double constant;

    private PointwiseOp(Pointwise kind, Operand second, double constant) {
        this.kind = kind;
        this.second = second;
        this.constant = constant;
    }

    public static PointwiseOp unary(Pointwise kind) {
        return new PointwiseOp(kind, Operand.NONE, 0);
    }

    /** {@code x op other}: {@code other} is an aligned DistTensor (DIST) or the op's one parameter (PARAM). */
    public static PointwiseOp binary(Pointwise kind, Operand other) {
        return new PointwiseOp(kind, other, 0);
    }

    public static PointwiseOp withConstant(Pointwise kind, double constant) {
        return new PointwiseOp(kind, Operand.CONST, constant);
    }

    /** Whether a {@link PointwiseProgram} can run it (pow only with a constant exponent). */
    boolean programmable() {
        return kind != Pointwise.POW || second == Operand.CONST;
    }

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params) {
        Tensor a = inputs[0];
        if (second == Operand.NONE) {
            switch (kind) {
                case NEG: return a.neg();
                case EXP: return a.exp();
                case LOG: return a.log();
                case LOG1P: return a.log1p();
                case SQRT: return a.sqrt();
                case ABS: return a.abs();
                case SIN: return a.sin();
                case COS: return a.cos();
                case TANH: return a.tanh();
                case SIGMOID: return a.sigmoid();
                case RELU: return a.relu();
                case SOFTPLUS: return a.softplus();
                case SQUARE: return a.square();
                default: throw new IllegalStateException(kind + " needs a second operand");
            }
        }
        if (second == Operand.CONST) {
            double c = constant;
            switch (kind) {
                case ADD: return a.add(c);
                case SUB: return a.sub(c);
                case MUL: return a.mul(c);
                case DIV: return a.div(c);
                case POW: return a.pow(c);
                default: throw new IllegalStateException(kind + " has one operand");
            }
        }
        Tensor b = second == Operand.DIST ? inputs[1] : params[0];
        switch (kind) {
            case ADD: return a.add(b);
            case SUB: return a.sub(b);
            case MUL: return a.mul(b);
            case DIV: return a.div(b);
            case POW: return a.pow(b);
            default: throw new IllegalStateException(kind + " has one operand");
        }
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + (second == Operand.NONE ? "" : "(" + second + ")");
    }
}
