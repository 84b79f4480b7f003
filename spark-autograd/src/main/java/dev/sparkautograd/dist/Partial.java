package dev.sparkautograd.dist;

import java.io.Serializable;
import java.util.List;

/**
 * One partition's partial of a reduction (the reduced value, then each wanted parameter's gradient), as it
 * travels to the {@link TreeReduce}: per segment either dense or, when fewer than a quarter of a parameter's rows
 * are non-zero (a sparse matmul's {@code X^T g} or an embedding's scatter-add over a wide parameter), as the
 * rows present (increasing) and their values. A row is left out only when every one of its elements is
 * {@code +0.0}; {@link Sum} adds the segments so that the bits are those of adding the dense arrays in the same
 * order (an absent row adds {@code +0.0}, which turns a {@code -0.0} sum into {@code +0.0}, as dense addition does).
 */
final class Partial implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Per segment: its elements, and elements per row (the parameter's trailing dimensions; 1 for a vector). */
    final int[] lengths;
    final int[] rowSizes;
    /** Per segment: null when dense, else the rows present in increasing order. */
    final int[][] rows;
    /** Per segment: the dense values, or the present rows' values (row after row). */
    final double[][] values;

    Partial(int[] lengths, int[] rowSizes, int[][] rows, double[][] values) {
        this.lengths = lengths;
        this.rowSizes = rowSizes;
        this.rows = rows;
        this.values = values;
    }

    /** One dense segment (a partial that is a plain array). */
    static Partial dense(double[] a) {
        return new Partial(new int[] {a.length}, new int[] {1}, new int[1][], new double[][] {a});
    }

    /**
     * The segments {@code dense} (kept, not copied), each sent as (rows, values) when {@code sparse} allows and
     * fewer than a quarter of its rows hold a non-zero bit.
     */
    static Partial encode(double[][] dense, int[] rowSizes, boolean sparse) {
        int n = dense.length;
        int[] lengths = new int[n];
        int[][] rows = new int[n][];
        double[][] values = new double[n][];
        for (int s = 0; s < n; s++) {
            double[] a = dense[s];
            lengths[s] = a.length;
            values[s] = a;
            if (!sparse) continue;
            int rs = rowSizes[s], total = a.length / rs, present = 0;
            // stop counting once a quarter is present: a dense partial (a wide gradient on a large partition) is
            // then scanned in part, not all 2^20 rows
            for (int r = 0; r < total && (long) present * 4 < total; r++) if (present(a, r * rs, rs)) present++;
            if ((long) present * 4 >= total) continue;
            int[] idx = new int[present];
            double[] v = new double[present * rs];
            for (int r = 0, j = 0; r < total; r++) {
                if (!present(a, r * rs, rs)) continue;
                idx[j] = r;
                System.arraycopy(a, r * rs, v, j * rs, rs);
                j++;
            }
            rows[s] = idx;
            values[s] = v;
        }
        return new Partial(lengths, rowSizes.clone(), rows, values);
    }

    private static boolean present(double[] a, int from, int len) {
        for (int i = from; i < from + len; i++) if (Double.doubleToRawLongBits(a[i]) != 0L) return true;
        return false;
    }

    /** Whether segment {@code s} travels as (rows, values). */
    boolean isSparse(int s) {
        return rows[s] != null;
    }

    int length() {
        int n = 0;
        for (int l : lengths) n += l;
        return n;
    }

    /** Bytes of the arrays (what the partial costs on the wire, about). */
    long bytes() {
        long b = 0;
        for (int s = 0; s < values.length; s++) b += 8L * values[s].length + (rows[s] == null ? 0 : 4L * rows[s].length);
        return b;
    }

    /** The segments one after another, dense. */
    double[] flatten() {
        double[] out = new double[length()];
        for (int s = 0, off = 0; s < lengths.length; off += lengths[s], s++) {
            if (rows[s] == null) {
                System.arraycopy(values[s], 0, out, off, lengths[s]);
                continue;
            }
            int rs = rowSizes[s];
            for (int j = 0; j < rows[s].length; j++) System.arraycopy(values[s], j * rs, out, off + rows[s][j] * rs, rs);
        }
        return out;
    }

    /** Sums partials added in the order given, segment by segment, into dense accumulators. */
    static final class Sum {
        private final double[][] acc;
        private final int[] rowSizes;
        /** Per segment: whether the accumulator may hold a -0.0 (then an absent row must turn it into +0.0). */
        private final boolean[] negativeZero;
        private boolean first = true;

        Sum(Partial shape) {
            int n = shape.lengths.length;
            acc = new double[n][];
            for (int s = 0; s < n; s++) acc[s] = new double[shape.lengths[s]];
            rowSizes = shape.rowSizes.clone();
            negativeZero = new boolean[n];
        }

        void add(Partial p) {
            if (p.lengths.length != acc.length) throw new IllegalStateException("partial of " + p.lengths.length + " segments, expected " + acc.length);
            for (int s = 0; s < acc.length; s++) {
                if (p.lengths[s] != acc[s].length) throw new IllegalStateException("partial segment of length " + p.lengths[s] + ", expected " + acc[s].length);
                if (p.rows[s] == null) addDense(s, p.values[s]);
                else addRows(s, p.rows[s], p.values[s]);
            }
            first = false;
        }

        private void addDense(int s, double[] a) {
            double[] x = acc[s];
            boolean neg = false;
            if (first) {
                System.arraycopy(a, 0, x, 0, x.length);
                for (double v : x) neg |= isNegativeZero(v);
            } else {
                for (int i = 0; i < x.length; i++) {
                    x[i] += a[i];
                    neg |= isNegativeZero(x[i]);
                }
            }
            negativeZero[s] = neg;
        }

        private void addRows(int s, int[] rows, double[] v) {
            double[] x = acc[s];
            int rs = rowSizes[s];
            if (first) {
                // the accumulator holds +0.0 everywhere: the first partial's rows are copied, as a dense first partial is
                boolean neg = false;
                for (int j = 0; j < rows.length; j++) {
                    System.arraycopy(v, j * rs, x, rows[j] * rs, rs);
                    for (int e = 0; e < rs; e++) neg |= isNegativeZero(v[j * rs + e]);
                }
                negativeZero[s] = neg;
                return;
            }
            if (!negativeZero[s]) {
                // x + y is -0.0 only when both are: no -0.0 can appear, and absent rows add +0.0 to values that stay as they are
                for (int j = 0; j < rows.length; j++) {
                    int o = rows[j] * rs;
                    for (int e = 0; e < rs; e++) x[o + e] += v[j * rs + e];
                }
                return;
            }
            // Some -0.0 in the accumulator: walk every element, adding the present rows and +0.0 elsewhere.
            boolean neg = false;
            for (int r = 0, j = 0, total = x.length / rs; r < total; r++) {
                int o = r * rs;
                if (j < rows.length && rows[j] == r) {
                    for (int e = 0; e < rs; e++) {
                        x[o + e] += v[j * rs + e];
                        neg |= isNegativeZero(x[o + e]);
                    }
                    j++;
                } else {
                    for (int e = 0; e < rs; e++) x[o + e] += 0.0;
                }
            }
            negativeZero[s] = neg;
        }

        private static boolean isNegativeZero(double v) {
            return Double.doubleToRawLongBits(v) == Long.MIN_VALUE;
        }

        /** The sum so far, each segment re-encoded as {@link #encode} would. */
        Partial result(boolean sparse) {
            return encode(acc, rowSizes, sparse);
        }

        /** The sum so far, flattened. */
        double[] flat() {
            if (acc.length == 1) return acc[0];
            int n = 0;
            for (double[] a : acc) n += a.length;
            double[] out = new double[n];
            for (int s = 0, off = 0; s < acc.length; off += acc[s].length, s++) System.arraycopy(acc[s], 0, out, off, acc[s].length);
            return out;
        }
    }

    /** The partials' sum in list order. */
    static Sum sum(List<Partial> parts) {
        Sum sum = new Sum(parts.get(0));
        for (Partial p : parts) sum.add(p);
        return sum;
    }
}
