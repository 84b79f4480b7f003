package dev.sparkautograd.tensor;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one-read kernels ({@link Kernels#rowDots}, {@link Kernels#addRowsTimes}) add in the order of {@link Kernels#mv}'s
 * and {@link Kernels#mm}'s loops: the same bits as those, however the rows are split into tiles, for float data as
 * for its float64 widening, and in an interpreted JVM as compiled.
 */
class RowKernelsTest {

    /** rows x d; the first two take mv's and mm's loop path (at most 4,096 multiply-adds), the others BLAS's. */
    private static final int[][] SHAPES = {{13, 7}, {20, 200}, {1, 1}, {257, 100}, {9, 1000}};

    /** Tile boundaries: whole, one row at a time, and uneven tiles (3 and 5 rows, which split the 4-row groups). */
    private static final int[] TILES = {Integer.MAX_VALUE, 1, 3, 5};

    private static double[] dotsInTiles(double[] x, int rows, int d, double[] w, int tile) {
        double[] out = new double[rows];
        for (int first = 0; first < rows; first += Math.min(tile, rows)) {
            int n = Math.min(tile, rows - first);
            double[] part = new double[n];
            Kernels.rowDots(x, first, n, d, w, part);
            System.arraycopy(part, 0, out, first, n);
        }
        return out;
    }

    private static double[] gradientInTiles(double[] g, double[] x, int rows, int d, int tile) {
        double[] acc = new double[d];
        for (int first = 0; first < rows; first += Math.min(tile, rows)) {
            int n = Math.min(tile, rows - first);
            Kernels.addRowsTimes(Arrays.copyOfRange(g, first, first + n), x, first, n, d, acc);
        }
        return acc;
    }

    /** Sequential reference: each dot from 0 in column order; each column's sum from 0 in row order. */
    private static double[] referenceDots(double[] x, int rows, int d, double[] w) {
        double[] out = new double[rows];
        for (int i = 0; i < rows; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += x[i * d + j] * w[j];
            out[i] = s;
        }
        return out;
    }

    private static double[] referenceGradient(double[] g, double[] x, int rows, int d) {
        double[] acc = new double[d];
        for (int i = 0; i < rows; i++) for (int j = 0; j < d; j++) acc[j] += g[i] * x[i * d + j];
        return acc;
    }

    @Test
    void marginsAndGradientHaveTheLoopKernelsBitsInAnyTiling() {
        for (int[] s : SHAPES) {
            int rows = s[0], d = s[1];
            double[] x = Tensor.randn(31L * rows + d, rows * d).toArray(), w = Tensor.randn(d, d).toArray(), g = Tensor.randn(rows, rows).toArray();
            double[] dots = referenceDots(x, rows, d, w), grad = referenceGradient(g, x, rows, d);
            if ((long) rows * d <= 4096) {
                // the engine's own kernels on their loop path: what an unfused small block computes
                assertArrayEquals(dots, Kernels.mv(x, w, rows, d), 0.0, "mv's loop is the sequential one");
                assertArrayEquals(grad, Kernels.mm(g, x, 1, rows, d), 0.0, "mm's loop is the sequential one");
            }
            for (int tile : TILES) {
                String what = rows + "x" + d + " in tiles of " + Math.min(tile, rows);
                assertArrayEquals(dots, dotsInTiles(x, rows, d, w, tile), 0.0, what + ": margins");
                assertArrayEquals(grad, gradientInTiles(g, x, rows, d, tile), 0.0, what + ": X^T g");
            }
        }
    }

    @Test
    void signedZerosAndNonFiniteValuesPropagateAsInTheLoops() {
        double[] x = {-0.0, 1, Double.POSITIVE_INFINITY, 2, -0.0, 0.0, Double.NaN, 1};
        double[] w = {0.0, -0.0};
        double[] g = {-0.0, 1, 0.0, 2};
        double[] dots = new double[4];
        Kernels.rowDots(x, 0, 4, 2, w, dots);
        assertArrayEquals(referenceDots(x, 4, 2, w), dots, 0.0);
        double[] acc = new double[2];
        Kernels.addRowsTimes(g, x, 0, 4, 2, acc);
        double[] ref = referenceGradient(g, x, 4, 2);
        for (int j = 0; j < 2; j++) assertEquals(Double.doubleToRawLongBits(ref[j]), Double.doubleToRawLongBits(acc[j]), "column " + j);
    }

    @Test
    void floatDataGivesTheBitsOfItsFloat64Widening() {
        for (int[] s : SHAPES) {
            int rows = s[0], d = s[1];
            double[] xd = Tensor.randn(7L * rows + d, rows * d).toArray(), w = Tensor.randn(d + 1L, d).toArray(), g = Tensor.randn(rows + 2L, rows).toArray();
            float[] xf = new float[xd.length];
            for (int i = 0; i < xd.length; i++) {
                xf[i] = (float) xd[i];
                xd[i] = xf[i]; // the float values, exactly, in float64
            }
            double[] dotsD = new double[rows], dotsF = new double[rows];
            Kernels.rowDots(xd, 0, rows, d, w, dotsD);
            Kernels.rowDots(xf, 0, rows, d, w, dotsF);
            assertArrayEquals(dotsD, dotsF, 0.0, rows + "x" + d + ": margins");
            for (int tile : TILES) {
                double[] accD = gradientInTiles(g, xd, rows, d, tile), accF = new double[d];
                for (int first = 0; first < rows; first += Math.min(tile, rows)) {
                    int n = Math.min(tile, rows - first);
                    Kernels.addRowsTimes(Arrays.copyOfRange(g, first, first + n), xf, first, n, d, accF);
                }
                assertArrayEquals(accD, accF, 0.0, rows + "x" + d + " in tiles of " + tile + ": X^T g");
            }
        }
    }

    /** The kernels' bits on fixed inputs (margins, then gradients), double and float data, shape by shape. */
    static long[] rowBits() {
        long[] bits = new long[0];
        for (int[] s : SHAPES) {
            int rows = s[0], d = s[1];
            double[] x = Tensor.randn(11L * rows + d, rows * d).toArray(), w = Tensor.randn(3L + d, d).toArray(), g = Tensor.randn(5L + rows, rows).toArray();
            float[] xf = new float[x.length];
            for (int i = 0; i < x.length; i++) xf[i] = (float) x[i];
            double[] dots = new double[rows], dotsF = new double[rows], acc = new double[d], accF = new double[d];
            Kernels.rowDots(x, 0, rows, d, w, dots);
            Kernels.rowDots(xf, 0, rows, d, w, dotsF);
            Kernels.addRowsTimes(g, x, 0, rows, d, acc);
            Kernels.addRowsTimes(g, xf, 0, rows, d, accF);
            int at = bits.length;
            bits = Arrays.copyOf(bits, at + 2 * rows + 2 * d);
            for (double v : dots) bits[at++] = Double.doubleToRawLongBits(v);
            for (double v : dotsF) bits[at++] = Double.doubleToRawLongBits(v);
            for (double v : acc) bits[at++] = Double.doubleToRawLongBits(v);
            for (double v : accF) bits[at++] = Double.doubleToRawLongBits(v);
        }
        return bits;
    }

    /** Run in a fresh {@code -Xint} JVM: writes {@link #rowBits()} to the file {@code args[0]}, and the VM's mode on stdout. */
    public static final class ColdRowBits {
        public static void main(String[] args) throws java.io.IOException {
            long[] bits = rowBits();
            try (java.io.DataOutputStream out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(
                    java.nio.file.Files.newOutputStream(java.nio.file.Path.of(args[0]))))) {
                for (long b : bits) out.writeLong(b);
            }
            System.out.println(System.getProperty("java.vm.info"));
        }
    }

    @Test
    void theSameBitsInAnInterpretedJvmAsCompiled(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // The column loop of addRowsTimes is what C2 turns into vector instructions: separate multiplications and
        // additions in the same order, so the bits of a restarted (interpreted) executor are a warm one's.
        java.nio.file.Path file = dir.resolve("cold.bin");
        Process p = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xint", "-cp", System.getProperty("java.class.path"), ColdRowBits.class.getName(), file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS), "the -Xint JVM did not finish");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("interpreted mode"), "the cold JVM ran interpreted: " + out);
        long[] warm = null;
        for (int i = 0; i < 400; i++) warm = rowBits(); // compiled by now
        long[] cold = new long[warm.length];
        try (java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(java.nio.file.Files.newInputStream(file)))) {
            for (int i = 0; i < cold.length; i++) cold[i] = in.readLong();
            assertEquals(-1, in.read(), "nothing after the bits");
        }
        assertArrayEquals(cold, warm, "interpreted and compiled");
    }
}
