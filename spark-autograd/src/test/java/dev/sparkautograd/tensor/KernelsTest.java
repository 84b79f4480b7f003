package dev.sparkautograd.tensor;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transposed product and the row-vector product agree with the plain ones, on the loop and the BLAS paths. */
class KernelsTest {

    private static void close(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 1e-12 * (1 + Math.abs(expected[i])), "entry " + i);
    }

    @Test
    void mmTNIsTheProductWithTheTranspose() {
        int[][] shapes = {{3, 2, 4}, {1, 1, 1}, {200, 30, 20}, {150, 30, 1}, {7, 1, 900}};
        for (int[] s : shapes) {
            int k = s[0], m = s[1], n = s[2];
            double[] a = Tensor.randn(k * 31L + m, k * m).toArray(), b = Tensor.randn(n * 17L + k, k * n).toArray();
            double[] at = Kernels.transpose(a, new int[] {k, m}, 0, 1);
            close(Kernels.mm(at, b, m, k, n), Kernels.mmTN(a, b, k, m, n));
        }
    }

    @Test
    void rowVectorTimesMatrix() {
        for (int[] s : new int[][] {{1, 5, 3}, {1, 300, 40}}) {
            int m = s[0], k = s[1], n = s[2];
            double[] a = Tensor.randn(1, k).toArray(), b = Tensor.randn(2, k * n).toArray();
            double[] expected = new double[n];
            for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) expected[j] += a[p] * b[p * n + j];
            close(expected, Kernels.mm(a, b, m, k, n));
        }
    }

    @Test
    void aRowVectorAgainstEveryRowIsElementwiseWithTheSameBits() {
        int rows = 37, cols = 11;
        double[] a = Tensor.randn(3, rows * cols).toArray(), b = Tensor.randn(4, cols).toArray();
        int[] as = {rows, cols};
        for (int[] bs : new int[][] {{cols}, {1, cols}}) {
            for (Elementwise op : new Elementwise[] {Elementwise.ADD, Elementwise.SUB, Elementwise.MUL, Elementwise.DIV, Elementwise.MAXIMUM}) {
                double[] expected = new double[rows * cols];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) expected[i * cols + j] = op.applyAsDouble(a[i * cols + j], b[j]);
                assertArrayEquals(expected, Kernels.binary(op, a, as, b, bs, as), op + " " + java.util.Arrays.toString(bs));
            }
        }
        // and through a 3-d operand: [2, rows, cols] against [cols]
        double[] a3 = Tensor.randn(5, 2 * rows * cols).toArray();
        double[] expected = new double[a3.length];
        for (int i = 0; i < a3.length; i++) expected[i] = a3[i] + b[i % cols];
        assertArrayEquals(expected, Kernels.binary(Elementwise.ADD, a3, new int[] {2, rows, cols}, b, new int[] {cols}, new int[] {2, rows, cols}));
    }

    @Test
    void columnSumsAddRowsInOrder() {
        int rows = 53, cols = 9;
        double[] a = Tensor.randn(6, rows * cols).toArray();
        double[] expected = new double[cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) expected[j] += a[i * cols + j];
        assertArrayEquals(expected, Kernels.sumToShape(a, new int[] {rows, cols}, new int[] {cols}));
        assertArrayEquals(expected, Kernels.sumToShape(a, new int[] {rows, cols}, new int[] {1, cols}));
        // not a trailing row: sums over the last dimension still take the general path
        double[] rowSums = new double[rows];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) rowSums[i] += a[i * cols + j];
        assertArrayEquals(rowSums, Kernels.sumToShape(a, new int[] {rows, cols}, new int[] {rows, 1}));
    }

    @Test
    void firstOrderTanhAndSigmoidBackwardEqualTheirCompositionsBitwise() {
        Tensor x = Tensor.randn(7, 40, 6).mul(2);
        Tensor g = Tensor.randn(8, 40, 6);
        for (java.util.function.UnaryOperator<Tensor> f : java.util.List.<java.util.function.UnaryOperator<Tensor>>of(Tensor::tanh, Tensor::sigmoid)) {
            Tensor a = x.detach().requiresGrad_(true);
            f.apply(a).backward(g);                                   // first order: the one-pass kernel
            Tensor b = x.detach().requiresGrad_(true);
            Tensor composed = dev.sparkautograd.Autograd.grad(java.util.List.of(f.apply(b)), java.util.List.of(b), java.util.List.of(g), false, true, false).get(0); // createGraph: the composition
            assertArrayEquals(composed.toArray(), a.grad().toArray());
        }
    }

    /** Inputs for the math kernels: 20,003 values (the vector tail runs too) with the edges up front. */
    private static double[] mathInputs() {
        int n = 20_003;
        double[] x = Tensor.randn(9, n).mul(12).toArray();
        double[] edges = {0.0, -0.0, 1e-300, -1e-300, 5e-324, -5e-324, 19.999999, 20.0, 20.000001, -20.0, 0.549999, 0.55, -0.55,
                0.550001, 700, -700, 709.78, 709.79, 710, -745, -745.2, -746, 1e308, -1e308, 36.7, -36.7,
                Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN, 0.5, -0.5, 1e-8, -1e-8, 1e-17, 0.3465, -0.3466};
        System.arraycopy(edges, 0, x, 0, edges.length);
        for (int i = edges.length; i < n; i += 7) x[i] *= 1e-3; // many small arguments too
        return x;
    }

    private static final Elementwise[] MATH = {Elementwise.EXP, Elementwise.TANH, Elementwise.SOFTPLUS, Elementwise.SIGMOID};

    @Test
    void mathKernelsAreWithinFourUlpOfJavaLangMath() {
        double[] x = mathInputs();
        java.util.Map<Elementwise, java.util.function.DoubleUnaryOperator> reference = java.util.Map.of(
                Elementwise.EXP, Math::exp, Elementwise.TANH, Math::tanh,
                Elementwise.SOFTPLUS, v -> v > 20 ? v : Math.log1p(Math.exp(v)),
                Elementwise.SIGMOID, v -> v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
        for (Elementwise kind : MATH) {
            double[] got = new double[x.length];
            kind.map(x, 0, 0, got, x.length);
            double worst = 0;
            for (int i = 0; i < x.length; i++) {
                double ref = reference.get(kind).applyAsDouble(x[i]), v = got[i];
                if (Double.isNaN(ref) || Double.isInfinite(ref) || ref == 0) {
                    assertEquals(ref, v, kind + " at " + x[i]);
                    continue;
                }
                double ulps = Math.abs(ref - v) / Math.ulp(ref);
                worst = Math.max(worst, ulps);
                assertTrue(ulps <= 4, kind + " at " + x[i] + ": " + v + " vs Math's " + ref + " (" + ulps + " ulp)");
            }
            System.out.printf("%s: at most %.1f ulp from java.lang.Math%n", kind, worst);
        }
    }

    @Test
    void mathKernelsGiveTheSameBitsColdAndWarm() {
        // A restarted executor runs these interpreted, a warm one compiled: the bits must not depend on it
        // (the Java Vector API's EXP/TANH did, which is why they are not used).
        double[] x = mathInputs();
        for (Elementwise kind : MATH) {
            double[] cold = new double[x.length], warm = new double[x.length];
            kind.map(x, 0, 0, cold, x.length); // the first call of this kind: interpreted or C1 code
            for (int i = 0; i < 300; i++) kind.map(x, 0, 0, warm, x.length); // compiled by now
            assertArrayEquals(cold, warm, kind.toString());
            for (int i = 0; i < x.length; i++) {
                assertEquals(Double.doubleToLongBits(cold[i]), Double.doubleToLongBits(kind.f(x[i], 0, 0)), kind + " at " + x[i]);
            }
        }
    }
}
