package dev.sparkautograd.tensor;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The transposed product and the row-vector product agree with the plain ones, on the loop and the BLAS paths;
 * the math kernels keep the README's ulp bounds and give the same bits interpreted (a fresh -Xint JVM) and compiled.
 */
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
    void aColumnAgainstARowIsTheOdometersBits() {
        // the outer-product shortcut (matrix-vector's input gradient) against op(a[i], b[j]) and the general path
        int rows = 29, cols = 13;
        double[] a = Tensor.randn(11, rows).toArray(), b = Tensor.randn(12, cols).toArray();
        a[3] = -0.0;
        b[5] = Double.NaN;
        int[][][] shapes = {{{rows, 1}, {cols}, {rows, cols}}, {{rows, 1}, {1, cols}, {rows, cols}},
                {{1, rows, 1}, {cols}, {1, rows, cols}}, {{rows, 1}, {1, 1, cols}, {1, rows, cols}}};
        for (int[][] s : shapes) {
            for (Elementwise op : new Elementwise[] {Elementwise.ADD, Elementwise.SUB, Elementwise.MUL, Elementwise.DIV, Elementwise.MAXIMUM}) {
                double[] expected = new double[rows * cols];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) expected[i * cols + j] = op.applyAsDouble(a[i], b[j]);
                String what = op + " " + java.util.Arrays.toString(s[0]) + " " + java.util.Arrays.toString(s[1]);
                assertTrue(Kernels.isTrailingColumn(s[0], s[2]), what);
                assertArrayEquals(expected, Kernels.binary(op, a, s[0], b, s[1], s[2]), what);
            }
        }
        // not columns: a leading dimension > 1, a 1-d operand (a row), a column of the wrong height
        assertTrue(!Kernels.isTrailingColumn(new int[] {2, rows, 1}, new int[] {2, rows, cols}));
        assertTrue(!Kernels.isTrailingColumn(new int[] {rows}, new int[] {rows, cols}));
        assertTrue(!Kernels.isTrailingColumn(new int[] {1, 1}, new int[] {rows, cols}));
        // a [2, rows, 1] column against a row still gives the odometer's values
        double[] a2 = Tensor.randn(13, 2 * rows).toArray();
        double[] expected = new double[2 * rows * cols];
        for (int i = 0; i < 2 * rows; i++) for (int j = 0; j < cols; j++) expected[i * cols + j] = a2[i] * b[j];
        assertArrayEquals(expected, Kernels.binary(Elementwise.MUL, a2, new int[] {2, rows, 1}, b, new int[] {cols}, new int[] {2, rows, cols}));
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
    static double[] mathInputs() {
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

    /** The README's bounds (and PortableMath's): within 1 (exp), 3 (tanh), 3 (softplus) and 2 (sigmoid) ulp of java.lang.Math. */
    private static final java.util.Map<Elementwise, Double> ULP_BOUND = java.util.Map.of(
            Elementwise.EXP, 1.0, Elementwise.TANH, 3.0, Elementwise.SOFTPLUS, 3.0, Elementwise.SIGMOID, 2.0);

    @Test
    void mathKernelsAreWithinTheReadmesUlpOfJavaLangMath() {
        double[] x = mathInputs();
        java.util.Map<Elementwise, java.util.function.DoubleUnaryOperator> reference = java.util.Map.of(
                Elementwise.EXP, Math::exp, Elementwise.TANH, Math::tanh,
                Elementwise.SOFTPLUS, v -> v > 20 ? v : Math.log1p(Math.exp(v)),
                Elementwise.SIGMOID, v -> v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
        for (Elementwise kind : MATH) {
            double[] got = new double[x.length];
            kind.map(x, 0, 0, got, x.length);
            double worst = 0, bound = ULP_BOUND.get(kind);
            for (int i = 0; i < x.length; i++) {
                double ref = reference.get(kind).applyAsDouble(x[i]), v = got[i];
                if (Double.isNaN(ref) || Double.isInfinite(ref) || ref == 0) {
                    assertEquals(ref, v, kind + " at " + x[i]);
                    continue;
                }
                double ulps = Math.abs(ref - v) / Math.ulp(ref);
                worst = Math.max(worst, ulps);
                assertTrue(ulps <= bound, kind + " at " + x[i] + ": " + v + " vs Math's " + ref + " (" + ulps + " ulp, the README says at most " + bound + ")");
            }
            System.out.printf("%s: at most %.2f ulp from java.lang.Math (bound %.0f)%n", kind, worst, bound);
        }
    }

    @Test
    void vectorTanhGivesTheScalarFormulasBitsColdAndCompiled() throws InterruptedException {
        // the test JVM has the Vector API (the build's JVM options), so the lane-wise path is exercised, not skipped
        assertTrue(PortableMath.VECTOR_API, "jdk.incubator.vector in the test JVM");
        double[] x = mathInputs();
        double[] scalar = new double[x.length];
        for (int i = 0; i < x.length; i++) scalar[i] = PortableMath.tanh(x[i]);
        for (int round = 0; round < 60; round++) { // the first rounds interpreted, the last compiled
            for (int n : new int[] {x.length, 7, 1}) { // whole vectors and a tail; a tail alone
                double[] got = new double[n];
                VectorTanh.tanh(x, got, n);
                for (int i = 0; i < n; i++) {
                    if (Double.doubleToRawLongBits(got[i]) != Double.doubleToRawLongBits(scalar[i])) {
                        fail("round " + round + ", tanh(" + x[i] + "): lane-wise " + got[i] + ", scalar " + scalar[i]);
                    }
                }
            }
        }
        // and through the op table once the warm-up has compiled the kernel
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!VectorTanh.ready() && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(VectorTanh.ready(), "the warm-up finished");
        double[] got = new double[x.length];
        Elementwise.TANH.map(x, 0, 0, got, x.length);
        for (int i = 0; i < x.length; i++) assertEquals(Double.doubleToRawLongBits(scalar[i]), Double.doubleToRawLongBits(got[i]), "tanh(" + x[i] + ")");
    }

    /** Every math kernel's bits on {@link #mathInputs()}: {@link Kernels#map} then {@link Elementwise#f}, kind by kind. */
    static long[] mathBits() {
        double[] x = mathInputs();
        long[] bits = new long[2 * MATH.length * x.length];
        int at = 0;
        for (Elementwise kind : MATH) {
            double[] out = new double[x.length];
            kind.map(x, 0, 0, out, x.length);
            for (double v : out) bits[at++] = Double.doubleToRawLongBits(v);
            for (double v : x) bits[at++] = Double.doubleToRawLongBits(kind.f(v, 0, 0));
        }
        return bits;
    }

    /** Run in a fresh {@code -Xint} JVM: writes {@link #mathBits()} to the file {@code args[0]}, and the VM's mode on stdout. */
    public static final class ColdBits {
        public static void main(String[] args) throws java.io.IOException {
            long[] bits = mathBits();
            try (java.io.DataOutputStream out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(
                    java.nio.file.Files.newOutputStream(java.nio.file.Path.of(args[0]))))) {
                for (long b : bits) out.writeLong(b);
            }
            System.out.println(System.getProperty("java.vm.info"));
        }
    }

    @Test
    void mathKernelsGiveTheSameBitsInAnInterpretedJvmAsCompiled(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // A restarted executor runs these interpreted, a warm one compiled: the bits must not depend on it
        // (the Java Vector API's EXP/TANH did, which is why they are not used). The cold side is a fresh JVM
        // that never compiles (-Xint); the warm side this JVM after enough calls for C2.
        java.nio.file.Path file = dir.resolve("cold.bin");
        Process p = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xint", "-cp", System.getProperty("java.class.path"), ColdBits.class.getName(), file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS), "the -Xint JVM did not finish");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("interpreted mode"), "the cold JVM ran interpreted: " + out);
        long[] cold = new long[2 * MATH.length * mathInputs().length];
        try (java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(java.nio.file.Files.newInputStream(file)))) {
            for (int i = 0; i < cold.length; i++) cold[i] = in.readLong();
            assertEquals(-1, in.read(), "nothing after the bits");
        }
        long[] warm = null;
        for (int i = 0; i < 300; i++) warm = mathBits(); // compiled by now
        int n = mathInputs().length;
        for (int i = 0; i < cold.length; i++) {
            if (cold[i] != warm[i]) {
                int kind = i / (2 * n), j = i % n;
                fail(MATH[kind] + (i % (2 * n) < n ? " (Kernels.map)" : " (Elementwise.f)") + " at " + mathInputs()[j] + ": interpreted "
                        + Double.longBitsToDouble(cold[i]) + ", compiled " + Double.longBitsToDouble(warm[i]));
            }
        }
    }
}
