package dev.sparkautograd.tensor;

/**
 * The element-wise ops as scalar functions with their partial derivatives, for the fused row program
 * of a distributed reduction ({@code dist.PointwiseProgram}): there each op runs as one loop over a
 * block's rows, forward then reverse, instead of one engine node per block. The tensor ops in
 * {@code Ops} use the forwards declared here (through {@link Kernels#map} for the transcendental ones,
 * whose {@link LaneMath} algorithms give the same bits on vectors and scalars), so both paths compute the
 * same values; {@code DistPointwiseProgramTest} checks every derivative against the engine's backward of
 * the same op.
 *
 * <p>{@code da} and {@code db} are {@code d out / d a} and {@code d out / d b} at {@code (a, b)} with
 * {@code out = f(a, b)}; a unary op ignores {@code b}. PyTorch's conventions hold at the kinks: abs'(0) = 0,
 * relu'(0) = 0, softplus is linear above 20.
 */
public enum Pointwise {
    ADD(2) {
        public double f(double a, double b) { return a + b; }
        public double da(double a, double b, double out) { return 1; }
        public double db(double a, double b, double out) { return 1; }
    },
    SUB(2) {
        public double f(double a, double b) { return a - b; }
        public double da(double a, double b, double out) { return 1; }
        public double db(double a, double b, double out) { return -1; }
    },
    MUL(2) {
        public double f(double a, double b) { return a * b; }
        public double da(double a, double b, double out) { return b; }
        public double db(double a, double b, double out) { return a; }
    },
    DIV(2) {
        public double f(double a, double b) { return a / b; }
        public double da(double a, double b, double out) { return 1 / b; }
        public double db(double a, double b, double out) { return -a / (b * b); }
    },
    /** {@code a^b} for a constant exponent {@code b} (no gradient for b). */
    POW(2) {
        public double f(double a, double b) { return Math.pow(a, b); }
        public double da(double a, double b, double out) { return b == 0 ? 0 : b * Math.pow(a, b - 1); }
        public double db(double a, double b, double out) { throw new UnsupportedOperationException("pow: the exponent is a constant"); }
    },
    NEG(1) {
        public double f(double a, double b) { return -a; }
        public double da(double a, double b, double out) { return -1; }
    },
    EXP(1) {
        public double f(double a, double b) { return LaneMath.exp(a); }
        public double da(double a, double b, double out) { return out; }
    },
    LOG(1) {
        public double f(double a, double b) { return Math.log(a); }
        public double da(double a, double b, double out) { return 1 / a; }
    },
    LOG1P(1) {
        public double f(double a, double b) { return Math.log1p(a); }
        public double da(double a, double b, double out) { return 1 / (a + 1); }
    },
    SQRT(1) {
        public double f(double a, double b) { return Math.sqrt(a); }
        public double da(double a, double b, double out) { return 1 / (2 * out); }
    },
    ABS(1) {
        public double f(double a, double b) { return Math.abs(a); }
        public double da(double a, double b, double out) { return a > 0 ? 1 : a < 0 ? -1 : 0; }
    },
    SIN(1) {
        public double f(double a, double b) { return Math.sin(a); }
        public double da(double a, double b, double out) { return Math.cos(a); }
    },
    COS(1) {
        public double f(double a, double b) { return Math.cos(a); }
        public double da(double a, double b, double out) { return -Math.sin(a); }
    },
    TANH(1) {
        public double f(double a, double b) { return LaneMath.tanh(a); }
        public double da(double a, double b, double out) { return 1 - out * out; }
    },
    SIGMOID(1) {
        public double f(double a, double b) { return sigmoid(a); }
        public double da(double a, double b, double out) { return (1 - out) * out; }
    },
    RELU(1) {
        public double f(double a, double b) { return relu(a); }
        public double da(double a, double b, double out) { return out > 0 ? 1 : 0; }
    },
    SOFTPLUS(1) {
        public double f(double a, double b) { return softplus(a); }
        public double da(double a, double b, double out) { return a > 20 ? 1 : sigmoid(a); }
    },
    SQUARE(1) {
        public double f(double a, double b) { return a * a; }
        public double da(double a, double b, double out) { return 2 * a; }
    };

    /** 1 for {@code f(a)}, 2 for {@code f(a, b)}. */
    public final int arity;

    Pointwise(int arity) {
        this.arity = arity;
    }

    public abstract double f(double a, double b);

    public abstract double da(double a, double b, double out);

    public double db(double a, double b, double out) {
        throw new UnsupportedOperationException(this + " has one operand");
    }

    /** {@code 1 / (1 + e^-x)}, computed so that no exp overflows ({@link LaneMath#sigmoid}). */
    public static double sigmoid(double x) {
        return LaneMath.sigmoid(x);
    }

    /** PyTorch's softplus with beta 1 and threshold 20 (linear above it), {@link LaneMath#softplus}. */
    public static double softplus(double x) {
        return LaneMath.softplus(x);
    }

    public static double relu(double x) {
        return x > 0 ? x : (Double.isNaN(x) ? x : 0);
    }
}
