package dev.sparkautograd.tensor;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
