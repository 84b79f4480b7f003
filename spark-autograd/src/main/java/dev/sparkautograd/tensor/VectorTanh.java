package dev.sparkautograd.tensor;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static dev.sparkautograd.tensor.PortableMath.INV_FACT_10;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_11;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_12;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_13;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_2;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_3;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_4;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_5;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_6;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_7;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_8;
import static dev.sparkautograd.tensor.PortableMath.INV_FACT_9;
import static dev.sparkautograd.tensor.PortableMath.LN2_HI;
import static dev.sparkautograd.tensor.PortableMath.LN2_LO;
import static dev.sparkautograd.tensor.PortableMath.LOG2E;
import static dev.sparkautograd.tensor.PortableMath.SHIFTER;
import static dev.sparkautograd.tensor.PortableMath.TANH_CLAMP;

/**
 * {@link PortableMath#tanh} lane-wise with the Java Vector API, for JVMs that have {@code jdk.incubator.vector}
 * (loaded only then, see {@link PortableMath#tanh(double[], double[], int)}). The same IEEE operations in the same
 * order as the scalar formula, lane by lane (abs, multiply, min, fma, subtract, divide, integer add and shift on the
 * bits, the sign bit copied), and only those: no lane-wise {@code EXP}/{@code TANH}, whose bits depend on the JIT.
 * So the bits are the scalar formula's whatever the vector width, interpreted or compiled ({@code KernelsTest}).
 *
 * <p>Interpreted, Vector API code is a thousand times slower than compiled (a boxed vector per operation), so
 * callers use it only once {@link #ready()}: a daemon thread started on first use runs the kernel on a small array
 * until C2 has compiled it; until then the scalar loop runs, with the same bits.
 */
final class VectorTanh {
    private VectorTanh() {}

    private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
    /** Calls of the warm-up: above C2's thresholds (Tier4InvocationThreshold 5,000, Tier4CompileThreshold 15,000). */
    private static final int WARM_UP_CALLS = 40_000;

    private static volatile boolean ready;

    static {
        Thread t = new Thread(() -> {
            // 3 vectors and a tail, so that neither loop is left to an uncommon trap
            int n = 3 * SPECIES.length() + 3;
            double[] a = new double[n], out = new double[n];
            for (int i = 0; i < n; i++) a[i] = (i - n / 2) * 0.37;
            for (int k = 0; k < WARM_UP_CALLS; k++) tanh(a, out, n);
            ready = true;
        }, "spark-autograd VectorTanh warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Whether the kernel has been run often enough to be compiled. */
    static boolean ready() {
        return ready;
    }

    /** {@code out[i] = PortableMath.tanh(a[i])} for {@code i < n}. */
    static void tanh(double[] a, double[] out, int n) {
        int i = 0;
        DoubleVector ln2Hi = DoubleVector.broadcast(SPECIES, LN2_HI), ln2Lo = DoubleVector.broadcast(SPECIES, LN2_LO);
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            DoubleVector x = DoubleVector.fromArray(SPECIES, a, i);
            DoubleVector y = x.abs().mul(2.0).min(TANH_CLAMP);
            DoubleVector shifted = y.fma(LOG2E, SHIFTER);
            DoubleVector minusK = shifted.sub(SHIFTER).neg();
            DoubleVector r = minusK.fma(ln2Lo, minusK.fma(ln2Hi, y));
            DoubleVector r2 = r.mul(r), r4 = r2.mul(r2), r8 = r4.mul(r4);
            DoubleVector q = r.fma(INV_FACT_13, INV_FACT_12).fma(r2, r.fma(INV_FACT_11, INV_FACT_10)).fma(r8,
                    r.fma(INV_FACT_9, INV_FACT_8).fma(r2, r.fma(INV_FACT_7, INV_FACT_6)).fma(r4,
                            r.fma(INV_FACT_5, INV_FACT_4).fma(r2, r.fma(INV_FACT_3, INV_FACT_2))));
            DoubleVector p = r2.fma(q, r);
            // 2^k: the low bits of shifted are k; (bits + 1023) << 52 leaves only k + 1023 in the exponent
            DoubleVector s = ((LongVector) shifted.reinterpretAsLongs()).add(1023L).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
            DoubleVector m = s.fma(p, s.sub(1.0));
            LongVector t = (LongVector) m.div(m.add(2.0)).reinterpretAsLongs();
            LongVector sign = ((LongVector) x.reinterpretAsLongs()).and(Long.MIN_VALUE);
            t.and(Long.MAX_VALUE).or(sign).reinterpretAsDoubles().intoArray(out, i);
        }
        for (; i < n; i++) out[i] = PortableMath.tanh(a[i]);
    }
}
