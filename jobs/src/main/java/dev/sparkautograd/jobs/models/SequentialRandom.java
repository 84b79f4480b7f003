package dev.sparkautograd.jobs.models;

import java.util.Random;

/**
 * {@link java.util.Random}'s sequence, bit for bit, for one thread: the same 48-bit linear congruential generator
 * and the same polar method for {@link #nextGaussian}, without {@code Random}'s thread safety (an
 * {@code AtomicLong} compare-and-set per draw and a lock per Gaussian) and with {@code StrictMath.log} as plain Java
 * (fdlibm's {@code e_log.c}, which {@code StrictMath} is specified to return; the JDK 17 one is a native call). A
 * generator draws 100 Gaussians per row of 100 features: with {@code Random} they were the generator's largest cost
 * (60-150 ns each on this project's machine, 17% of {@code generate}'s CPU samples), with this class about 2.5
 * times less. Every other method of {@code Random} ({@code nextDouble}, {@code nextInt}, ...) draws from
 * {@link #next}, so it too gives {@code Random}'s values. Not thread-safe: one per partition.
 */
public final class SequentialRandom extends Random {
    private static final long serialVersionUID = 1L;
    private static final long MULTIPLIER = 0x5DEECE66DL, ADDEND = 0xBL, MASK = (1L << 48) - 1;

    private long state;
    private double nextNextGaussian;
    private boolean haveNextNextGaussian;

    /** The sequence of {@code new Random(seed)}. */
    public SequentialRandom(long seed) {
        super(seed); // calls setSeed below
    }

    @Override
    public void setSeed(long seed) {
        state = (seed ^ MULTIPLIER) & MASK;
        haveNextNextGaussian = false;
    }

    @Override
    protected int next(int bits) {
        state = (state * MULTIPLIER + ADDEND) & MASK;
        return (int) (state >>> (48 - bits));
    }

    /** {@code Random.nextGaussian}'s polar method, step for step. */
    @Override
    public double nextGaussian() {
        if (haveNextNextGaussian) {
            haveNextNextGaussian = false;
            return nextNextGaussian;
        }
        double v1, v2, s;
        do {
            v1 = 2 * nextDouble() - 1;
            v2 = 2 * nextDouble() - 1;
            s = v1 * v1 + v2 * v2;
        } while (s >= 1 || s == 0);
        double multiplier = StrictMath.sqrt(-2 * log(s) / s);
        nextNextGaussian = v2 * multiplier;
        haveNextNextGaussian = true;
        return v1 * multiplier;
    }

    /** Candidate pairs of the polar method held at a time by {@link #nextGaussians}. */
    private static final int BATCH = 256;
    private transient double[] v1s, v2s, ss;

    /**
     * Fills {@code x[from, to)} with the next {@code to - from} values of {@link #nextGaussian}, bit for bit, and
     * leaves the generator where those calls would (the cached second value included). Faster than the calls: the
     * polar method's candidate pairs are drawn first, a batch at a time, with the acceptance counted rather than
     * branched on (a rejection, 21% of the candidates, is a mispredicted branch otherwise), then the accepted pairs'
     * {@code log}, division and square root run in a loop of independent iterations, which the processor overlaps.
     * Only as many candidates are drawn as the values need, so the sequence stays {@code Random}'s.
     */
    public void nextGaussians(double[] x, int from, int to) {
        if (v1s == null) {
            v1s = new double[BATCH];
            v2s = new double[BATCH];
            ss = new double[BATCH];
        }
        int k = from;
        if (k < to && haveNextNextGaussian) {
            haveNextNextGaussian = false;
            x[k++] = nextNextGaussian;
        }
        while (k < to) {
            int pairs = Math.min(BATCH, (to - k + 1) / 2), accepted = 0;
            long st = state;
            while (accepted < pairs) {
                // nextDouble() twice: (next(26) << 27) + next(27), times 2^-53
                st = (st * MULTIPLIER + ADDEND) & MASK;
                long a = st >>> 22;
                st = (st * MULTIPLIER + ADDEND) & MASK;
                double v1 = 2 * (((a << 27) + (st >>> 21)) * 0x1.0p-53) - 1;
                st = (st * MULTIPLIER + ADDEND) & MASK;
                a = st >>> 22;
                st = (st * MULTIPLIER + ADDEND) & MASK;
                double v2 = 2 * (((a << 27) + (st >>> 21)) * 0x1.0p-53) - 1;
                double s = v1 * v1 + v2 * v2;
                v1s[accepted] = v1;
                v2s[accepted] = v2;
                ss[accepted] = s;
                accepted += s < 1 && s != 0 ? 1 : 0;
            }
            state = st;
            for (int i = 0; i < accepted; i++) {
                double s = ss[i], multiplier = StrictMath.sqrt(-2 * log(s) / s);
                x[k++] = v1s[i] * multiplier;
                if (k < to) {
                    x[k++] = v2s[i] * multiplier;
                } else {
                    nextNextGaussian = v2s[i] * multiplier;
                    haveNextNextGaussian = true;
                }
            }
        }
    }

    private static final double LN2_HI = Double.longBitsToDouble(0x3fe62e42fee00000L),
            LN2_LO = Double.longBitsToDouble(0x3dea39ef35793c76L),
            TWO54 = Double.longBitsToDouble(0x4350000000000000L),
            LG1 = Double.longBitsToDouble(0x3FE5555555555593L), LG2 = Double.longBitsToDouble(0x3FD999999997FA04L),
            LG3 = Double.longBitsToDouble(0x3FD2492494229359L), LG4 = Double.longBitsToDouble(0x3FCC71C51D8E78AFL),
            LG5 = Double.longBitsToDouble(0x3FC7466496CB03DEL), LG6 = Double.longBitsToDouble(0x3FC39A09D078C69FL),
            LG7 = Double.longBitsToDouble(0x3FC2F112DF3E5244L);

    /**
     * fdlibm's {@code __ieee754_log}, operation for operation (Java's double arithmetic is IEEE without fused
     * multiply-adds, as fdlibm is compiled for {@code StrictMath}): the bits of {@code StrictMath.log(x)} for every x
     * ({@code SequentialRandomTest} compares them).
     */
    static double log(double x) {
        long bits = Double.doubleToRawLongBits(x);
        int hx = (int) (bits >> 32), lx = (int) bits;
        int k = 0;
        if (hx < 0x00100000) { // x < 2^-1022
            if (((hx & 0x7fffffff) | lx) == 0) return Double.NEGATIVE_INFINITY; // log(+-0)
            if (hx < 0) return (x - x) / 0.0; // log(negative) = NaN
            k -= 54; // subnormal: scale up
            x *= TWO54;
            hx = (int) (Double.doubleToRawLongBits(x) >> 32);
        }
        if (hx >= 0x7ff00000) return x + x;
        k += (hx >> 20) - 1023;
        hx &= 0x000fffff;
        int i = (hx + 0x95f64) & 0x100000;
        x = Double.longBitsToDouble(((long) (hx | (i ^ 0x3ff00000)) << 32) | (Double.doubleToRawLongBits(x) & 0xffffffffL)); // x or x/2 in [sqrt(2)/2, sqrt(2))
        k += i >> 20;
        double f = x - 1.0;
        if ((0x000fffff & (2 + hx)) < 3) { // |f| < 2^-20
            if (f == 0) {
                if (k == 0) return 0;
                double dk = k;
                return dk * LN2_HI + dk * LN2_LO;
            }
            double r = f * f * (0.5 - 0.33333333333333333 * f);
            if (k == 0) return f - r;
            double dk = k;
            return dk * LN2_HI - ((r - dk * LN2_LO) - f);
        }
        double s = f / (2.0 + f), dk = k, z = s * s;
        i = hx - 0x6147a;
        double w = z * z;
        int j = 0x6b851 - hx;
        double t1 = w * (LG2 + w * (LG4 + w * LG6)), t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
        i |= j;
        double r = t2 + t1;
        if (i > 0) {
            double hfsq = 0.5 * f * f;
            if (k == 0) return f - (hfsq - s * (hfsq + r));
            return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
        }
        if (k == 0) return f - s * (f - r);
        return dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f);
    }
}
