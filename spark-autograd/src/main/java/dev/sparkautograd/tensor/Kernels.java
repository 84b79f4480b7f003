package dev.sparkautograd.tensor;

import dev.ludovic.netlib.blas.BLAS;

import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * Loops over primitive row-major arrays: no per-element objects, no autograd. Every op's forward
 * and every backward formula ends up here.
 */
public final class Kernels {
    private Kernels() {}

    /**
     * out = a (op) b with NumPy broadcasting; out has shape {@code outShape}. {@code op} is a binary
     * {@link Elementwise} entry or a {@link Comparison}; add, sub, mul and div run as plain loops.
     */
    public static double[] binary(DoubleBinaryOperator op, double[] a, int[] as, double[] b, int[] bs, int[] outShape) {
        int n = Shapes.numel(outShape);
        double[] out = new double[n];
        if (a.length == n && b.length == n) {
            elementwise(op, a, 0, b, 0, out, 0, n);
        } else if (b.length == 1 && a.length == n) {
            binaryInto(op, a, b[0], out, n);
        } else if (a.length == 1 && b.length == n) {
            double x = a[0];
            for (int i = 0; i < n; i++) out[i] = op.applyAsDouble(x, b[i]);
        } else if (a.length == n && isTrailingRow(bs, outShape)) {
            // A row vector (a bias) against every row: the same additions as the odometer, row by row.
            int last = b.length;
            for (int o = 0; o < n; o += last) elementwise(op, a, o, b, 0, out, o, last);
        } else if (isTrailingColumn(as, outShape) && isTrailingRow(bs, outShape) && (long) a.length * b.length == n) {
            // A column against a row (an outer product: matrix-vector's input gradient g v^T): out[i, j] = a[i] op b[j],
            // the odometer's values, one row per element of the column.
            int last = b.length;
            for (int i = 0, o = 0; o < n; i++, o += last) scalarRow(op, a[i], b, out, o, last);
        } else {
            general(op, a, Shapes.broadcastStrides(as, outShape), b, Shapes.broadcastStrides(bs, outShape), outShape, out);
        }
        return out;
    }

    /** {@code out[i] = a[i] op b[i]} for {@code i < n}. */
    public static void binaryInto(DoubleBinaryOperator op, double[] a, double[] b, double[] out, int n) {
        elementwise(op, a, 0, b, 0, out, 0, n);
    }

    /** {@code out[oo + i] = a[ao + i] op b[bo + i]} for {@code i < n}: the arithmetic as plain loops, the rest through {@code op}. */
    private static void elementwise(DoubleBinaryOperator op, double[] a, int ao, double[] b, int bo, double[] out, int oo, int n) {
        if (op == Elementwise.ADD) for (int i = 0; i < n; i++) out[oo + i] = a[ao + i] + b[bo + i];
        else if (op == Elementwise.SUB) for (int i = 0; i < n; i++) out[oo + i] = a[ao + i] - b[bo + i];
        else if (op == Elementwise.MUL) for (int i = 0; i < n; i++) out[oo + i] = a[ao + i] * b[bo + i];
        else if (op == Elementwise.DIV) for (int i = 0; i < n; i++) out[oo + i] = a[ao + i] / b[bo + i];
        else for (int i = 0; i < n; i++) out[oo + i] = op.applyAsDouble(a[ao + i], b[bo + i]);
    }

    /** Whether {@code bs} is the last dimension of {@code outShape} (leading 1s allowed) and the only one of size > 1. */
    static boolean isTrailingRow(int[] bs, int[] outShape) {
        int rank = outShape.length;
        if (rank < 2 || bs.length == 0 || bs[bs.length - 1] != outShape[rank - 1] || outShape[rank - 1] < 2) return false;
        for (int i = 0; i < bs.length - 1; i++) if (bs[i] != 1) return false;
        return true;
    }

    /**
     * Whether {@code as} is a column of {@code outShape}: its last dimension 1, its second-to-last that of the output
     * (> 1), every other 1 ({@code [m, 1]} or {@code [1, m, 1]} against {@code [m, n]} or {@code [1, m, n]}).
     */
    static boolean isTrailingColumn(int[] as, int[] outShape) {
        int rank = outShape.length, r = as.length;
        if (rank < 2 || r < 2 || as[r - 1] != 1 || as[r - 2] != outShape[rank - 2] || outShape[rank - 2] < 2) return false;
        for (int i = 0; i < r - 2; i++) if (as[i] != 1) return false;
        return true;
    }

    /** {@code out[o + j] = x op b[j]} for {@code j < n}. */
    private static void scalarRow(DoubleBinaryOperator op, double x, double[] b, double[] out, int o, int n) {
        if (op == Elementwise.ADD) for (int j = 0; j < n; j++) out[o + j] = x + b[j];
        else if (op == Elementwise.SUB) for (int j = 0; j < n; j++) out[o + j] = x - b[j];
        else if (op == Elementwise.MUL) for (int j = 0; j < n; j++) out[o + j] = x * b[j];
        else if (op == Elementwise.DIV) for (int j = 0; j < n; j++) out[o + j] = x / b[j];
        else for (int j = 0; j < n; j++) out[o + j] = op.applyAsDouble(x, b[j]);
    }

    /** {@code out[i] = a[i] op y} for {@code i < n}. */
    public static void binaryInto(DoubleBinaryOperator op, double[] a, double y, double[] out, int n) {
        if (op == Elementwise.ADD) for (int i = 0; i < n; i++) out[i] = a[i] + y;
        else if (op == Elementwise.SUB) for (int i = 0; i < n; i++) out[i] = a[i] - y;
        else if (op == Elementwise.MUL) for (int i = 0; i < n; i++) out[i] = a[i] * y;
        else if (op == Elementwise.DIV) for (int i = 0; i < n; i++) out[i] = a[i] / y;
        else for (int i = 0; i < n; i++) out[i] = op.applyAsDouble(a[i], y);
    }

    /** Odometer over the output; the innermost dimension runs as a plain loop. */
    private static void general(DoubleBinaryOperator op, double[] a, int[] sa, double[] b, int[] sb, int[] shape, double[] out) {
        int rank = shape.length;
        int last = shape[rank - 1];
        int la = sa[rank - 1], lb = sb[rank - 1];
        int[] idx = new int[rank];
        int ia = 0, ib = 0;
        for (int o = 0; o < out.length; o += last) {
            for (int j = 0, pa = ia, pb = ib; j < last; j++, pa += la, pb += lb) {
                out[o + j] = op.applyAsDouble(a[pa], b[pb]);
            }
            for (int d = rank - 2; d >= 0; d--) {
                idx[d]++;
                ia += sa[d];
                ib += sb[d];
                if (idx[d] < shape[d]) break;
                ia -= sa[d] * shape[d];
                ib -= sb[d] * shape[d];
                idx[d] = 0;
            }
        }
    }

    /** In place a (op)= b, where b broadcasts to a's shape. */
    public static void binaryInPlace(DoubleBinaryOperator op, double[] a, int[] as, double[] b, int[] bs) {
        double[] r = b.length == a.length ? null : binary(op, a, as, b, bs, as);
        if (r != null) {
            System.arraycopy(r, 0, a, 0, a.length);
        } else {
            elementwise(op, a, 0, b, 0, a, 0, a.length);
        }
    }

    public static double[] unary(double[] a, DoubleUnaryOperator f) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = f.applyAsDouble(a[i]);
        return out;
    }

    public static double[] where(double[] c, int[] cs, double[] a, int[] as, double[] b, int[] bs, int[] outShape) {
        int n = Shapes.numel(outShape);
        double[] cc = expand(c, cs, outShape), aa = expand(a, as, outShape), bb = expand(b, bs, outShape);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = cc[i] != 0 ? aa[i] : bb[i];
        return out;
    }

    /** Copies {@code a} of shape {@code from} broadcast to shape {@code to} (returns a itself when equal). */
    public static double[] expand(double[] a, int[] from, int[] to) {
        int n = Shapes.numel(to);
        if (a.length == n) return a;
        double[] out = new double[n];
        if (a.length == 1) {
            java.util.Arrays.fill(out, a[0]);
            return out;
        }
        // A copy, not a + 0 (which would turn -0. into 0.): PyTorch's expand keeps the signed zero.
        int rank = to.length;
        int[] st = Shapes.broadcastStrides(from, to);
        int[] idx = new int[rank];
        int p = 0;
        for (int o = 0; o < n; o++) {
            out[o] = a[p];
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                p += st[d];
                if (idx[d] < to[d]) break;
                p -= st[d] * to[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    /** Sums {@code a} of shape {@code from} down to shape {@code to}, which must broadcast to {@code from}. */
    public static double[] sumToShape(double[] a, int[] from, int[] to) {
        int n = Shapes.numel(to);
        double[] out = new double[n];
        if (a.length == n) {
            System.arraycopy(a, 0, out, 0, n);
            return out;
        }
        if (n == 1) {
            out[0] = sum(a);
            return out;
        }
        if (isTrailingRow(to, from)) {
            // Column sums (a bias's gradient), rows added in order: the odometer's additions, without it.
            for (int o = 0; o < a.length; o += n) {
                for (int j = 0; j < n; j++) out[j] += a[o + j];
            }
            return out;
        }
        int rank = from.length;
        int[] st = Shapes.broadcastStrides(to, from);
        int[] idx = new int[rank];
        int it = 0;
        for (double v : a) {
            out[it] += v;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                it += st[d];
                if (idx[d] < from[d]) break;
                it -= st[d] * from[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    public static double sum(double[] a) {
        double s = 0;
        for (double v : a) s += v;
        return s;
    }

    /** Sum over one dimension: [outer, size, inner] -> [outer, inner]. */
    public static double[] sumDim(double[] a, int outer, int size, int inner) {
        double[] out = new double[outer * inner];
        for (int o = 0; o < outer; o++) {
            int base = o * size * inner;
            int ob = o * inner;
            for (int k = 0; k < size; k++) {
                int row = base + k * inner;
                for (int i = 0; i < inner; i++) out[ob + i] += a[row + i];
            }
        }
        return out;
    }

    /** Max over one dimension, NaN-propagating. */
    public static double[] maxDim(double[] a, int outer, int size, int inner) {
        double[] out = new double[outer * inner];
        java.util.Arrays.fill(out, Double.NEGATIVE_INFINITY);
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < size; k++) {
                int row = (o * size + k) * inner;
                for (int i = 0; i < inner; i++) {
                    double v = a[row + i];
                    int p = o * inner + i;
                    if (v > out[p] || Double.isNaN(v)) out[p] = v;
                }
            }
        }
        return out;
    }

    /** log(sum(exp(x))) over one dimension, shifted by the max so that it does not overflow. */
    public static double[] logSumExpDim(double[] a, int outer, int size, int inner) {
        double[] m = maxDim(a, outer, size, inner);
        double[] s = new double[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < size; k++) {
                int row = (o * size + k) * inner;
                for (int i = 0; i < inner; i++) {
                    double mi = m[o * inner + i];
                    s[o * inner + i] += Math.exp(a[row + i] - (Double.isInfinite(mi) ? 0 : mi));
                }
            }
        }
        for (int p = 0; p < s.length; p++) s[p] = Math.log(s[p]) + (Double.isInfinite(m[p]) ? 0 : m[p]);
        return s;
    }

    /**
     * log_softmax over one dimension, in PyTorch's order: {@code x - max - log(sum(exp(x - max)))}. Subtracting
     * the max first keeps {@code x - max} exact at any magnitude (log_softmax([1e17, 1e17]) is -log 2, not 0), and
     * no infinity is special-cased: a +inf entry gives inf - inf = NaN in the whole slice, as in PyTorch.
     */
    public static double[] logSoftmaxDim(double[] a, int outer, int size, int inner) {
        double[] m = maxDim(a, outer, size, inner);
        double[] s = new double[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < size; k++) {
                int row = (o * size + k) * inner;
                for (int i = 0; i < inner; i++) s[o * inner + i] += Math.exp(a[row + i] - m[o * inner + i]);
            }
        }
        for (int p = 0; p < s.length; p++) s[p] = Math.log(s[p]);
        double[] out = new double[a.length];
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < size; k++) {
                int row = (o * size + k) * inner;
                for (int i = 0; i < inner; i++) out[row + i] = a[row + i] - m[o * inner + i] - s[o * inner + i];
            }
        }
        return out;
    }

    /** softmax over one dimension, as PyTorch: {@code exp(x - max)}, divided by its sum (no special case for infinities). */
    public static double[] softmaxDim(double[] a, int outer, int size, int inner) {
        double[] m = maxDim(a, outer, size, inner);
        double[] out = new double[a.length];
        double[] s = new double[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < size; k++) {
                int row = (o * size + k) * inner;
                for (int i = 0; i < inner; i++) {
                    double e = Math.exp(a[row + i] - m[o * inner + i]);
                    out[row + i] = e;
                    s[o * inner + i] += e;
                }
            }
        }
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < size; k++) {
                int row = (o * size + k) * inner;
                for (int i = 0; i < inner; i++) out[row + i] /= s[o * inner + i];
            }
        }
        return out;
    }

    /** Elements [start, end) along a dimension: [outer, size, inner] -> [outer, end-start, inner]. */
    public static double[] slice(double[] a, int outer, int size, int inner, int start, int end) {
        int len = end - start;
        double[] out = new double[outer * len * inner];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(a, (o * size + start) * inner, out, o * len * inner, len * inner);
        }
        return out;
    }

    /** Concatenates parts along a dimension; each part is [outer, sizes[p], inner]. */
    public static double[] cat(double[][] parts, int[] sizes, int outer, int inner) {
        int total = 0;
        for (int s : sizes) total += s;
        double[] out = new double[outer * total * inner];
        for (int o = 0; o < outer; o++) {
            int pos = o * total * inner;
            for (int p = 0; p < parts.length; p++) {
                int chunk = sizes[p] * inner;
                System.arraycopy(parts[p], o * chunk, out, pos, chunk);
                pos += chunk;
            }
        }
        return out;
    }

    /** Swaps two dimensions (a general permutation copy). */
    public static double[] transpose(double[] a, int[] shape, int d0, int d1) {
        int rank = shape.length;
        int[] outShape = shape.clone();
        outShape[d0] = shape[d1];
        outShape[d1] = shape[d0];
        int[] inStrides = Shapes.strides(shape);
        int[] src = new int[rank];
        for (int i = 0; i < rank; i++) src[i] = inStrides[i];
        src[d0] = inStrides[d1];
        src[d1] = inStrides[d0];
        double[] out = new double[a.length];
        if (out.length == 0) return out;
        int[] idx = new int[rank];
        int p = 0;
        for (int o = 0; o < out.length; o++) {
            out[o] = a[p];
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                p += src[d];
                if (idx[d] < outShape[d]) break;
                p -= src[d] * outShape[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    // ---- matrix products -------------------------------------------------------------------------

    /** Below this many multiply-adds a plain loop beats the BLAS call overhead. */
    private static final long SMALL_MATMUL = 4096;

    private static final class Blas {
        // Resolved on first use: netlib logs which implementation it picked (native, Vector API or plain Java).
        static final BLAS INSTANCE = BLAS.getInstance();
    }

    /** Row-major C[m,n] = A[m,k] B[k,n]. */
    public static double[] mm(double[] a, double[] b, int m, int k, int n) {
        double[] c = new double[m * n];
        if (m == 0 || n == 0 || k == 0) return c;
        if ((long) m * k * n <= SMALL_MATMUL) {
            for (int i = 0; i < m; i++) {
                for (int p = 0; p < k; p++) {
                    double aip = a[i * k + p];
                    int bo = p * n, co = i * n;
                    for (int j = 0; j < n; j++) c[co + j] += aip * b[bo + j];
                }
            }
            return c;
        }
        if (m == 1) {
            // a row vector times B: row-major B is column-major B^T (n x k), so c = B^T a in one pass over B
            Blas.INSTANCE.dgemv("N", n, k, 1.0, b, n, a, 1, 0.0, c, 1);
            return c;
        }
        // Column-major BLAS sees row-major C as C^T = B^T A^T.
        Blas.INSTANCE.dgemm("N", "N", n, m, k, 1.0, b, n, a, k, 0.0, c, n);
        return c;
    }

    /** Row-major C[m,n] = A^T B for A[k,m], B[k,n], without transposing A. */
    public static double[] mmTN(double[] a, double[] b, int k, int m, int n) {
        double[] c = new double[m * n];
        if (m == 0 || n == 0 || k == 0) return c;
        if ((long) m * k * n <= SMALL_MATMUL) {
            for (int p = 0; p < k; p++) {
                int ao = p * m, bo = p * n;
                for (int i = 0; i < m; i++) {
                    double api = a[ao + i];
                    int co = i * n;
                    for (int j = 0; j < n; j++) c[co + j] += api * b[bo + j];
                }
            }
            return c;
        }
        if (n == 1) {
            // A^T b: row-major A is column-major A^T (m x k)
            Blas.INSTANCE.dgemv("N", m, k, 1.0, a, m, b, 1, 0.0, c, 1);
            return c;
        }
        // Column-major: C^T (n x m) = B^T (n x k, B's row-major storage) times A (k x m, A's storage transposed)
        Blas.INSTANCE.dgemm("N", "T", n, m, k, 1.0, b, n, a, m, 0.0, c, n);
        return c;
    }

    /** Row-major y[m] = A[m,n] x[n]. */
    public static double[] mv(double[] a, double[] x, int m, int n) {
        double[] y = new double[m];
        if (m == 0 || n == 0) return y;
        if ((long) m * n <= SMALL_MATMUL) {
            for (int i = 0; i < m; i++) {
                double s = 0;
                int ro = i * n;
                for (int j = 0; j < n; j++) s += a[ro + j] * x[j];
                y[i] = s;
            }
            return y;
        }
        // Row-major A is column-major A^T (n x m): y = (A^T)^T x.
        Blas.INSTANCE.dgemv("T", n, m, 1.0, a, n, x, 1, 0.0, y, 1);
        return y;
    }

    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    // ---- one read per row: a tile's margins and its X^T g ------------------------------------------

    /**
     * {@code out[i] = x[r] . w} for the {@code rows} rows {@code r = first .. first + rows - 1} of row-major
     * {@code x} ({@code d} columns): each dot product summed from 0 in column order, as {@link #mv}'s loop (and the
     * reference BLAS {@code dgemv}) does, so the bits do not depend on how rows are grouped; eight (then four) rows
     * run interleaved, as many independent additions in flight instead of one.
     */
    public static void rowDots(double[] x, int first, int rows, int d, double[] w, double[] out) {
        int i = 0;
        for (; i + 7 < rows; i += 8) {
            int o0 = (first + i) * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d, o4 = o3 + d, o5 = o4 + d, o6 = o5 + d, o7 = o6 + d;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            for (int j = 0; j < d; j++) {
                double wj = w[j];
                s0 += x[o0 + j] * wj;
                s1 += x[o1 + j] * wj;
                s2 += x[o2 + j] * wj;
                s3 += x[o3 + j] * wj;
                s4 += x[o4 + j] * wj;
                s5 += x[o5 + j] * wj;
                s6 += x[o6 + j] * wj;
                s7 += x[o7 + j] * wj;
            }
            out[i] = s0;
            out[i + 1] = s1;
            out[i + 2] = s2;
            out[i + 3] = s3;
            out[i + 4] = s4;
            out[i + 5] = s5;
            out[i + 6] = s6;
            out[i + 7] = s7;
        }
        for (; i + 3 < rows; i += 4) {
            int o0 = (first + i) * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int j = 0; j < d; j++) {
                double wj = w[j];
                s0 += x[o0 + j] * wj;
                s1 += x[o1 + j] * wj;
                s2 += x[o2 + j] * wj;
                s3 += x[o3 + j] * wj;
            }
            out[i] = s0;
            out[i + 1] = s1;
            out[i + 2] = s2;
            out[i + 3] = s3;
        }
        for (; i < rows; i++) {
            int o = (first + i) * d;
            double s = 0;
            for (int j = 0; j < d; j++) s += x[o + j] * w[j];
            out[i] = s;
        }
    }

    /** As {@link #rowDots(double[], int, int, int, double[], double[])} over float data: each product in float64. */
    public static void rowDots(float[] x, int first, int rows, int d, double[] w, double[] out) {
        int i = 0;
        for (; i + 7 < rows; i += 8) {
            int o0 = (first + i) * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d, o4 = o3 + d, o5 = o4 + d, o6 = o5 + d, o7 = o6 + d;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            for (int j = 0; j < d; j++) {
                double wj = w[j];
                s0 += x[o0 + j] * wj;
                s1 += x[o1 + j] * wj;
                s2 += x[o2 + j] * wj;
                s3 += x[o3 + j] * wj;
                s4 += x[o4 + j] * wj;
                s5 += x[o5 + j] * wj;
                s6 += x[o6 + j] * wj;
                s7 += x[o7 + j] * wj;
            }
            out[i] = s0;
            out[i + 1] = s1;
            out[i + 2] = s2;
            out[i + 3] = s3;
            out[i + 4] = s4;
            out[i + 5] = s5;
            out[i + 6] = s6;
            out[i + 7] = s7;
        }
        for (; i + 3 < rows; i += 4) {
            int o0 = (first + i) * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int j = 0; j < d; j++) {
                double wj = w[j];
                s0 += x[o0 + j] * wj;
                s1 += x[o1 + j] * wj;
                s2 += x[o2 + j] * wj;
                s3 += x[o3 + j] * wj;
            }
            out[i] = s0;
            out[i + 1] = s1;
            out[i + 2] = s2;
            out[i + 3] = s3;
        }
        for (; i < rows; i++) {
            int o = (first + i) * d;
            double s = 0;
            for (int j = 0; j < d; j++) s += x[o + j] * w[j];
            out[i] = s;
        }
    }

    /**
     * {@code acc[j] += g[i] * x[first + i][j]} for the rows in order ({@code i = 0 .. rows - 1}), every column: the
     * additions of {@link #mm}'s loop for {@code g X} (row after row into each column), so a block's {@code X^T g}
     * taken tile by tile into one accumulator has the bits of the whole block's. Four rows per sweep of {@code acc}
     * (added one after another, left to right), the column loop left to the JIT's vector instructions: separate
     * multiplications and additions, never fused, so compiled and interpreted give the same bits.
     */
    public static void addRowsTimes(double[] g, double[] x, int first, int rows, int d, double[] acc) {
        int i = 0;
        for (; i + 3 < rows; i += 4) {
            int o0 = (first + i) * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
            double g0 = g[i], g1 = g[i + 1], g2 = g[i + 2], g3 = g[i + 3];
            for (int j = 0; j < d; j++) acc[j] = acc[j] + g0 * x[o0 + j] + g1 * x[o1 + j] + g2 * x[o2 + j] + g3 * x[o3 + j];
        }
        for (; i < rows; i++) {
            int o = (first + i) * d;
            double gi = g[i];
            for (int j = 0; j < d; j++) acc[j] += gi * x[o + j];
        }
    }

    /** As {@link #addRowsTimes(double[], double[], int, int, int, double[])} over float data: each product in float64. */
    public static void addRowsTimes(double[] g, float[] x, int first, int rows, int d, double[] acc) {
        int i = 0;
        for (; i + 3 < rows; i += 4) {
            int o0 = (first + i) * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
            double g0 = g[i], g1 = g[i + 1], g2 = g[i + 2], g3 = g[i + 3];
            for (int j = 0; j < d; j++) acc[j] = acc[j] + g0 * x[o0 + j] + g1 * x[o1 + j] + g2 * x[o2 + j] + g3 * x[o3 + j];
        }
        for (; i < rows; i++) {
            int o = (first + i) * d;
            double gi = g[i];
            for (int j = 0; j < d; j++) acc[j] += gi * x[o + j];
        }
    }
}
