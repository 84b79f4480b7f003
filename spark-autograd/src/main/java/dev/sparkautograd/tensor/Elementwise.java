package dev.sparkautograd.tensor;

import java.util.function.DoubleBinaryOperator;

/**
 * The element-wise op table: every element-wise differentiable op declared once, in the spirit of
 * PyTorch's derivatives.yaml. An entry holds
 * <ul>
 *   <li>its PyTorch grad_fn name and what its backward reads ({@link Saves});
 *   <li>its forward as a scalar function {@link #f} (and, where speed matters, a tight array loop in {@link #map});
 *   <li>its scalar vector-Jacobian products {@link #gradA}/{@link #gradB}: the gradient reaching each operand for an
 *       upstream gradient {@code g}, used by the engine's first-order backward and by the distributed row program;
 *   <li>its differentiable backward {@link #backwardA}/{@link #backwardB}, written over an {@link Algebra} (the engine
 *       instantiates it with tensors), from which higher-order gradients follow.
 * </ul>
 * The two backward forms of an entry compute the same numbers in the same order, so first and higher order agree
 * to the bit (checked for every entry by the op tests).
 *
 * <p>Operands. A binary entry ({@code arity() == 2}) reads {@code a} and {@code b}: two tensors broadcast
 * NumPy-style, or a tensor and a number. A unary entry reads {@code a} and up to two numeric attributes in the
 * {@code b} and {@code c} slots of the scalar functions ({@link #POW_SCALAR}'s exponent, {@link #CLAMP}'s bounds).
 *
 * <p>Gradients that PyTorch selects rather than multiplies (relu, clamp, maximum, minimum: {@code where(mask, g, 0)})
 * are written as selections here too, so an infinite or NaN upstream gradient meeting a closed mask gives 0, not NaN.
 *
 * <p>Adding an element-wise op: one entry here, one line in {@code Tensor} and in {@code DistTensor}, the user
 * API doc, and one sample row in each op test (docs/ARCHITECTURE.md).
 */
public enum Elementwise implements DoubleBinaryOperator {
    ADD("add", "AddBackward0", 2, 0) {
        public double f(double a, double b, double c) { return a + b; }
        public double gradA(double g, double a, double b, double c, double out) { return g; }
        public double gradB(double g, double a, double b, double c, double out) { return g; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return g; }
        public <T> T backwardB(Algebra<T> m, T g, Args<T> x) { return g; }
    },
    SUB("sub", "SubBackward0", 2, 0) {
        public double f(double a, double b, double c) { return a - b; }
        public double gradA(double g, double a, double b, double c, double out) { return g; }
        public double gradB(double g, double a, double b, double c, double out) { return -g; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return g; }
        public <T> T backwardB(Algebra<T> m, T g, Args<T> x) { return m.neg(g); }
    },
    MUL("mul", "MulBackward0", 2, Saves.A | Saves.B) {
        public double f(double a, double b, double c) { return a * b; }
        public double gradA(double g, double a, double b, double c, double out) { return g * b; }
        public double gradB(double g, double a, double b, double c, double out) { return g * a; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, x.b()); }
        public <T> T backwardB(Algebra<T> m, T g, Args<T> x) { return m.mul(g, x.a()); }
    },
    DIV("div", "DivBackward0", 2, Saves.A | Saves.B) {
        public double f(double a, double b, double c) { return a / b; }
        public double gradA(double g, double a, double b, double c, double out) { return g / b; }
        public double gradB(double g, double a, double b, double c, double out) { return -g * (a / b / b); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.div(g, x.b()); }
        public <T> T backwardB(Algebra<T> m, T g, Args<T> x) { return m.mul(m.neg(g), m.div(m.div(x.a(), x.b()), x.b())); }
    },
    /**
     * {@code a^b} for a tensor exponent, with C's pow ({@link #pow}). d/da is 0 where b == 0, selected; d/db is
     * {@code g * (out * log a)} with the factor (not the product) 0 where a == 0 and b >= 0, so an inf/NaN g still
     * gives NaN there (PyTorch's pow_backward_self, pow_backward_exponent).
     */
    POW("pow", "PowBackward1", 2, Saves.A | Saves.B | Saves.OUT) {
        public double f(double a, double b, double c) { return pow(a, b); }
        public double gradA(double g, double a, double b, double c, double out) { return b == 0 ? 0 : g * (b * pow(a, b - 1)); }
        public double gradB(double g, double a, double b, double c, double out) { return g * (a == 0 && b >= 0 ? 0 : out * Math.log(a)); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) {
            T b = x.b();
            return m.where(m.eq(b, m.scalar(0)), m.scalar(0), m.mul(g, m.mul(b, m.apply(POW, x.a(), m.add(b, -1)))));
        }
        public <T> T backwardB(Algebra<T> m, T g, Args<T> x) {
            T a = x.a(), b = x.b();
            return m.mul(g, m.where(m.and(m.eq(a, m.scalar(0)), m.ge(b, m.scalar(0))), m.scalar(0), m.mul(x.out(), m.apply(LOG, a))));
        }
    },
    /** {@code a^p} for a number {@code p} (in the {@code b} slot), as PyTorch's pow(Tensor, Scalar) ({@link #powScalar}): no exponent gradient. */
    POW_SCALAR("pow", "PowBackward0", 1, Saves.A) {
        public double f(double a, double p, double c) { return powScalar(a, p); }
        public double gradA(double g, double a, double p, double c, double out) { return p == 0 ? 0 : g * (powScalar(a, p - 1) * p); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) {
            double p = x.attr(0);
            return p == 0 ? m.zerosLike(g) : m.mul(g, m.mul(m.apply(POW_SCALAR, x.a(), p - 1, 0), m.scalar(p)));
        }
    },
    /**
     * The larger operand takes the gradient, a tie gives half to each side, NaN gives it to both (PyTorch's max_backward).
     * On a tie the result is the first operand (std::max): maximum(0., -0.) is 0., maximum(-0., 0.) is -0.
     */
    MAXIMUM("maximum", "MaximumBackward0", 2, Saves.A | Saves.B) {
        public double f(double a, double b, double c) { return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : a < b ? b : a; }
        public double gradA(double g, double a, double b, double c, double out) { return a < b ? 0 : a == b ? g / 2 : g; }
        public double gradB(double g, double a, double b, double c, double out) { return b < a ? 0 : a == b ? g / 2 : g; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return tieSplit(m, g, m.lt(x.a(), x.b()), x); }
        public <T> T backwardB(Algebra<T> m, T g, Args<T> x) { return tieSplit(m, g, m.lt(x.b(), x.a()), x); }
    },
    MINIMUM("minimum", "MinimumBackward0", 2, Saves.A | Saves.B) {
        public double f(double a, double b, double c) { return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : b < a ? b : a; }
        public double gradA(double g, double a, double b, double c, double out) { return a > b ? 0 : a == b ? g / 2 : g; }
        public double gradB(double g, double a, double b, double c, double out) { return b > a ? 0 : a == b ? g / 2 : g; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return tieSplit(m, g, m.lt(x.b(), x.a()), x); }
        public <T> T backwardB(Algebra<T> m, T g, Args<T> x) { return tieSplit(m, g, m.lt(x.a(), x.b()), x); }
    },
    NEG("neg", "NegBackward0", 1, 0) {
        public double f(double a, double b, double c) { return -a; }
        public double gradA(double g, double a, double b, double c, double out) { return -g; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.neg(g); }
    },
    EXP("exp", "ExpBackward0", 1, Saves.OUT) {
        public double f(double a, double b, double c) { return PortableMath.exp(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g * out; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, x.out()); }
    },
    /** {@code e^a - 1}, accurate near 0; d/da = out + 1 (PyTorch's expm1 backward: grad * (result + 1)). */
    EXPM1("expm1", "Expm1Backward0", 1, Saves.OUT) {
        public double f(double a, double b, double c) { return Math.expm1(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g * (out + 1); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, m.add(x.out(), 1)); }
    },
    LOG("log", "LogBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return Math.log(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g / a; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.div(g, x.a()); }
    },
    /** {@code log2(a)} as {@code log(a) / ln 2}; d/da = 1 / (a ln 2) (PyTorch's log2 backward: grad / (self * ln 2)). */
    LOG2("log2", "Log2Backward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return Math.log(a) / LN2; }
        public double gradA(double g, double a, double b, double c, double out) { return g / (a * LN2); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.div(g, m.mul(x.a(), m.scalar(LN2))); }
    },
    LOG1P("log1p", "Log1PBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return Math.log1p(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g / (a + 1); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.div(g, m.add(x.a(), 1)); }
    },
    SQRT("sqrt", "SqrtBackward0", 1, Saves.OUT) {
        public double f(double a, double b, double c) { return Math.sqrt(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g / (out * 2); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.div(g, m.mul(x.out(), m.scalar(2))); }
    },
    /** d/da = sgn(a): 0 at 0 and at NaN, as PyTorch's sgn; multiplied, not selected (an inf g at 0 gives NaN, as in PyTorch). */
    ABS("abs", "AbsBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return Math.abs(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g * sgn(a); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, m.constant(x.a(), Elementwise::sgn)); }
    },
    SIN("sin", "SinBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return Math.sin(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g * Math.cos(a); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, m.apply(COS, x.a())); }
    },
    COS("cos", "CosBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return Math.cos(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g * -Math.sin(a); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, m.neg(m.apply(SIN, x.a()))); }
    },
    SINH("sinh", "SinhBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return Math.sinh(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g * Math.cosh(a); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, m.apply(COSH, x.a())); }
    },
    COSH("cosh", "CoshBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return Math.cosh(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g * Math.sinh(a); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, m.apply(SINH, x.a())); }
    },
    TANH("tanh", "TanhBackward0", 1, Saves.OUT) {
        public double f(double a, double b, double c) { return PortableMath.tanh(a); }
        public double gradA(double g, double a, double b, double c, double out) { return tanhGrad(g, out); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { T y = x.out(); return m.mul(g, m.add(m.neg(m.mul(y, y)), 1)); }
    },
    SIGMOID("sigmoid", "SigmoidBackward0", 1, Saves.OUT) {
        public double f(double a, double b, double c) { return PortableMath.sigmoid(a); }
        public double gradA(double g, double a, double b, double c, double out) { return sigmoidGrad(g, out); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { T y = x.out(); return m.mul(m.mul(g, m.add(m.neg(y), 1)), y); }
    },
    /**
     * relu as PyTorch's clamp_min(a, 0): only a < 0 becomes 0, so NaN stays NaN and -0. stays -0. Its gradient is
     * threshold_backward's: 0 where the result is <= 0 (so at 0), g elsewhere (also at NaN), selected, not multiplied.
     */
    RELU("relu", "ReluBackward0", 1, Saves.OUT) {
        public double f(double a, double b, double c) { return a < 0 ? 0 : a; }
        public double gradA(double g, double a, double b, double c, double out) { return out <= 0 ? 0 : g; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return select(m, m.constant(x.out(), v -> v <= 0 ? 0 : 1), g, x.out()); }
    },
    /** softplus with PyTorch's defaults (beta 1, threshold {@link #SOFTPLUS_THRESHOLD}: linear above it). */
    SOFTPLUS("softplus", "SoftplusBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return a > SOFTPLUS_THRESHOLD ? a : PortableMath.softplus(a); }
        public double gradA(double g, double a, double b, double c, double out) { return g * SOFTPLUS_GRAD.f(a, 0, 0); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, m.apply(SOFTPLUS_GRAD, x.a())); }
    },
    /**
     * softplus'(a) in one pass, 1 above the threshold and sigmoid(a) below (each element computed once). Not a
     * Tensor method: the differentiable backward of {@link #SOFTPLUS}, whose own derivative is sigmoid's below the
     * threshold and 0 above.
     */
    SOFTPLUS_GRAD(null, "SoftplusBackwardBackward0", 1, Saves.A | Saves.OUT) {
        public double f(double a, double b, double c) { return a > SOFTPLUS_THRESHOLD ? 1 : PortableMath.sigmoid(a); }
        /** PyTorch's softplus_double_backward: sigmoid_backward(g, y) * (a < threshold), multiplied (an inf g above the threshold gives NaN). */
        public double gradA(double g, double a, double b, double c, double out) { return sigmoidGrad(g, out) * (a < SOFTPLUS_THRESHOLD ? 1 : 0); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) {
            T y = x.out();
            return m.mul(m.mul(m.mul(g, m.add(m.neg(y), 1)), y), m.constant(x.a(), v -> v < SOFTPLUS_THRESHOLD ? 1 : 0));
        }
    },
    SQUARE("square", "PowBackward0", 1, Saves.A) {
        public double f(double a, double b, double c) { return a * a; }
        public double gradA(double g, double a, double b, double c, double out) { return g * (a * 2); }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) { return m.mul(g, m.mul(x.a(), m.scalar(2))); }
    },
    /**
     * {@code std::min(std::max(a, lo), hi)} with the bounds in the {@code b} and {@code c} slots: NaN stays NaN, and -0.
     * stays -0. against a bound 0. The gradient passes on [lo, hi], bounds included (selected; 0 at NaN).
     */
    CLAMP("clamp", "ClampBackward1", 1, Saves.A) {
        public double f(double a, double lo, double hi) {
            double r = a < lo ? lo : a;
            return hi < r ? hi : r;
        }
        public double gradA(double g, double a, double lo, double hi, double out) { return a >= lo && a <= hi ? g : 0; }
        public <T> T backwardA(Algebra<T> m, T g, Args<T> x) {
            double lo = x.attr(0), hi = x.attr(1);
            // where(mask, g, 0) of a constant mask, as PyTorch's composite clamp_backward: no gradient into a (relu's has one)
            return m.where(m.constant(x.a(), v -> v >= lo && v <= hi ? 1 : 0), g, m.scalar(0));
        }
    };

    /** What an entry's backward reads: operand {@code a}, operand {@code b}, the result (flags for {@link #saves}). */
    public static final class Saves {
        private Saves() {}

        public static final int A = 1, B = 2, OUT = 4;
    }
    /** softplus is linear above this (PyTorch's default threshold, with beta 1). */
    public static final double SOFTPLUS_THRESHOLD = 20;
    static final double LN2 = 0.6931471805599453;

    /** The Tensor method's name (what a DistTensor op and an error message call it); null for an entry that only serves another's backward. */
    public final String method;
    /** PyTorch's grad_fn name. */
    public final String nodeName;
    private final int arity;
    private final int saves;

    Elementwise(String method, String nodeName, int arity, int saves) {
        this.method = method;
        this.nodeName = nodeName;
        this.arity = arity;
        this.saves = saves;
    }

    /** 2 for ops of two tensor operands, 1 for ops of one (with up to two numeric attributes). */
    public int arity() {
        return arity;
    }

    public boolean saves(int what) {
        return (saves & what) != 0;
    }

    /** The forward at one element. */
    public abstract double f(double a, double b, double c);

    /** A binary entry as a function of its two operands (for the broadcasting loops of {@link Kernels#binary}). */
    @Override
    public double applyAsDouble(double a, double b) {
        return f(a, b, 0);
    }

    /** The gradient reaching {@code a} for upstream {@code g} at one element whose result is {@code out}. */
    public abstract double gradA(double g, double a, double b, double c, double out);

    /** The gradient reaching {@code b} (binary entries only). */
    public double gradB(double g, double a, double b, double c, double out) {
        throw new UnsupportedOperationException(this + " has one operand");
    }

    /** The differentiable gradient of operand {@code a} (before any reduction to a's broadcast shape). */
    public abstract <T> T backwardA(Algebra<T> m, T g, Args<T> x);

    public <T> T backwardB(Algebra<T> m, T g, Args<T> x) {
        throw new UnsupportedOperationException(this + " has one operand");
    }

    /** {@code out[i] = f(a[i], b, c)} for {@code i < n}: the transcendental ones as plain loops over {@link PortableMath}. */
    public void map(double[] a, double b, double c, double[] out, int n) {
        switch (this) {
            case EXP -> { for (int i = 0; i < n; i++) out[i] = PortableMath.exp(a[i]); }
            case TANH -> PortableMath.tanh(a, out, n);
            case SIGMOID -> { for (int i = 0; i < n; i++) out[i] = PortableMath.sigmoid(a[i]); }
            case SOFTPLUS -> { for (int i = 0; i < n; i++) out[i] = a[i] > SOFTPLUS_THRESHOLD ? a[i] : PortableMath.softplus(a[i]); }
            default -> { for (int i = 0; i < n; i++) out[i] = f(a[i], b, c); }
        }
    }

    /**
     * {@code out[i] = gradA(g[i], a[i], b, c, y[i])} for {@code i < n}, where {@code a} or {@code y} may be null
     * when the entry does not save it (its gradient does not read it). tanh and sigmoid as plain loops.
     */
    public void gradAInto(double[] g, double[] a, double b, double c, double[] y, double[] out, int n) {
        switch (this) {
            case TANH -> { for (int i = 0; i < n; i++) out[i] = tanhGrad(g[i], y[i]); }
            case SIGMOID -> { for (int i = 0; i < n; i++) out[i] = sigmoidGrad(g[i], y[i]); }
            default -> {
                if (a == null && y == null) for (int i = 0; i < n; i++) out[i] = gradA(g[i], 0, b, c, 0);
                else if (a == null) for (int i = 0; i < n; i++) out[i] = gradA(g[i], 0, b, c, y[i]);
                else if (y == null) for (int i = 0; i < n; i++) out[i] = gradA(g[i], a[i], b, c, 0);
                else for (int i = 0; i < n; i++) out[i] = gradA(g[i], a[i], b, c, y[i]);
            }
        }
    }

    static double tanhGrad(double g, double y) {
        return g * (-(y * y) + 1);
    }

    static double sigmoidGrad(double g, double y) {
        return g * (-y + 1) * y;
    }

    /** sgn with sgn(0) = sgn(NaN) = 0. */
    static double sgn(double v) {
        return v > 0 ? 1 : v < 0 ? -1 : 0;
    }

    /**
     * C's pow, PyTorch's for two tensors: {@link Math#pow} except that {@code pow(1, y)} is 1 for every y, NaN
     * included, and {@code pow(-1, +-inf)} is 1 (Java gives NaN for both).
     */
    public static double pow(double x, double y) {
        if (x == 1 || y == 0) return 1;
        if (x == -1 && Double.isInfinite(y)) return 1;
        return Math.pow(x, y);
    }

    /**
     * PyTorch's pow(Tensor, Scalar): exponent 1 copies, and the exponents 0.5, 2, 3, -0.5, -1 and -2 are computed
     * as sqrt, x*x, x*x*x, 1/sqrt, 1/x and 1/(x*x), which differ from pow at the edges: pow(-0., -0.5) = -inf,
     * pow(-inf, 0.5) = NaN; the others as {@link #pow}.
     */
    public static double powScalar(double x, double p) {
        if (p == 0) return 1;
        if (p == 1) return x;
        if (p == 0.5) return Math.sqrt(x);
        if (p == 2) return x * x;
        if (p == 3) return x * x * x;
        if (p == -0.5) return 1 / Math.sqrt(x);
        if (p == -1) return 1 / x;
        if (p == -2) return 1 / (x * x);
        return pow(x, p);
    }

    /**
     * {@code g} where {@code keep}, else 0 whatever g is (relu's threshold_backward). The 0 is {@code x}'s piecewise
     * constant, so that, as PyTorch's threshold_backward (an op whose derivative for x is zeros), a double backward
     * sends a zero gradient into x's history.
     */
    private static <T> T select(Algebra<T> m, T keep, T g, T x) {
        return m.where(keep, g, m.piecewiseConstant(x, v -> 0));
    }

    /** maximum's and minimum's gradient for one operand: 0 where it {@code loses}, half on a tie, else g (selected). */
    private static <T> T tieSplit(Algebra<T> m, T g, T loses, Args<T> x) {
        return m.where(loses, m.scalar(0), m.where(m.eq(x.a(), x.b()), m.div(g, m.scalar(2)), g));
    }

    /** The saved operands of one recorded application, read lazily (a backward reads only what it needs). */
    public interface Args<T> {
        T a();

        T b();

        T out();

        /** Numeric attribute 0 or 1 ({@link #POW_SCALAR}'s exponent, {@link #CLAMP}'s bounds). */
        double attr(int i);
    }
}
