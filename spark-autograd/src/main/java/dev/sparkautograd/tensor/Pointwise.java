package dev.sparkautograd.tensor;

/**
 * The element-wise ops as scalar functions with their partial derivatives, for the fused row program
 * of a distributed reduction ({@code dist.PointwiseProgram}): there each op runs as one loop over a
 * block's rows, forward then reverse, instead of one engine node per block. The tensor ops in
 * {@code Ops} use the forwards declared here (through {@link Kernels#map} for the transcendental ones,
 * the same {@link LaneMath} functions as {@code f}), so both paths compute the same values; {@code DistPointwiseProgramTest} checks every derivative against the engine's backward of
 * the same op.
 *
 * <p>{@code da} and {@code db} are {@code d out / d a} and {@code d out / d b} at {@code (a, b)} with
 * {@code out = f(a, b)}; a unary op ignores {@code b}. PyTorch's conventions hold at the kinks: abs'(0) = 0,
 * relu'(0) = 0, softplus is linear above 20.
 */
public enum Pointwise {
    ADD(Kernels.Bin.ADD) {
        public double f(double a, double b) { return a + b; }
        public double da(double a, double b, double out) { return 1; }
        public double db(double a, double b, double out) { return 1; }
    },
    SUB(Kernels.Bin.SUB) {
        public double f(double a, double b) { return a - b; }
        public double da(double a, double b, double out) { return 1; }
        public double db(double a, double b, double out) { return -1; }
    },
    MUL(Kernels.Bin.MUL) {
        public double f(double a, double b) { return a * b; }
        public double da(double a, double b, double out) { return b; }
        public double db(double a, double b, double out) { return a; }
    },
    DIV(Kernels.Bin.DIV) {
        public double f(double a, double b) { return a / b; }
        public double da(double a, double b, double out) { return 1 / b; }
        public double db(double a, double b, double out) { return -a / (b * b); }
    },
    /** {@code a^b} for a constant exponent {@code b} (no gradient for b). */
    POW(Kernels.Bin.POW) {
        public double f(double a, double b) { return Math.pow(a, b); }
        public double da(double a, double b, double out) { return b == 0 ? 0 : b * Math.pow(a, b - 1); }
        public double db(double a, double b, double out) { throw new UnsupportedOperationException("pow: the exponent is a constant"); }
    },
    NEG(null) {
        public double f(double a, double b) { return -a; }
        public double da(double a, double b, double out) { return -1; }
    },
    EXP(null) {
        public double f(double a, double b) { return LaneMath.exp(a); }
        public double da(double a, double b, double out) { return out; }
    },
    LOG(null) {
        public double f(double a, double b) { return Math.log(a); }
        public double da(double a, double b, double out) { return 1 / a; }
    },
    LOG1P(null) {
        public double f(double a, double b) { return Math.log1p(a); }
        public double da(double a, double b, double out) { return 1 / (a + 1); }
    },
    SQRT(null) {
        public double f(double a, double b) { return Math.sqrt(a); }
        public double da(double a, double b, double out) { return 1 / (2 * out); }
    },
    ABS(null) {
        public double f(double a, double b) { return Math.abs(a); }
        public double da(double a, double b, double out) { return a > 0 ? 1 : a < 0 ? -1 : 0; }
    },
    SIN(null) {
        public double f(double a, double b) { return Math.sin(a); }
        public double da(double a, double b, double out) { return Math.cos(a); }
    },
    COS(null) {
        public double f(double a, double b) { return Math.cos(a); }
        public double da(double a, double b, double out) { return -Math.sin(a); }
    },
    TANH(null) {
        public double f(double a, double b) { return LaneMath.tanh(a); }
        public double da(double a, double b, double out) { return 1 - out * out; }
    },
    SIGMOID(null) {
        public double f(double a, double b) { return LaneMath.sigmoid(a); }
        public double da(double a, double b, double out) { return (1 - out) * out; }
    },
    RELU(null) {
        public double f(double a, double b) { return relu(a); }
        public double da(double a, double b, double out) { return out > 0 ? 1 : 0; }
    },
    SOFTPLUS(null) {
        public double f(double a, double b) { return LaneMath.softplus(a); }
        public double da(double a, double b, double out) { return a > LaneMath.SOFTPLUS_LINEAR ? 1 : LaneMath.sigmoid(a); }
    },
    SQUARE(null) {
        public double f(double a, double b) { return a * a; }
        public double da(double a, double b, double out) { return 2 * a; }
    };

    /** A binary kind's {@link Kernels.Bin} (the same {@code f}), for whole-array loops; null for unary kinds. */
    public final Kernels.Bin bin;

    Pointwise(Kernels.Bin bin) {
        this.bin = bin;
    }

    /** 1 for {@code f(a)}, 2 for {@code f(a, b)}. */
    public int arity() {
        return bin == null ? 1 : 2;
    }

    public abstract double f(double a, double b);

    public abstract double da(double a, double b, double out);

    public double db(double a, double b, double out) {
        throw new UnsupportedOperationException(this + " has one operand");
    }

    public static double relu(double x) {
        return x > 0 ? x : (Double.isNaN(x) ? x : 0);
    }
}
