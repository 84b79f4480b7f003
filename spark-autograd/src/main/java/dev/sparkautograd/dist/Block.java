package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;
import java.util.function.DoubleUnaryOperator;

/**
 * One row block of a partitioned tensor: up to {@code blockRows} consecutive rows, one column per column of
 * the source (a DistTensor's own blocks hold one), plus the global index of the first row. A column is a
 * dense local tensor whose first dimension is the block's row count, or a {@link Csr} matrix (sparse rows).
 * Serializes (Kryo or Java) as shapes, dtype flags and raw arrays; a block without sparse columns keeps the
 * bytes it always had (a sparse one marks itself by a negative column count).
 */
public final class Block implements Serializable {
    private static final long serialVersionUID = 1L;

    private long firstRow;
    private transient Tensor[] values;
    /** Per column, its CSR rows where it is sparse (then {@code values[i]} is null); null when no column is. */
    private transient Csr[] sparse;

    public Block(long firstRow, Tensor... values) {
        this.firstRow = firstRow;
        this.values = values;
    }

    /** A block of one sparse column. */
    public Block(long firstRow, Csr rows) {
        this(firstRow, new Tensor[1], new Csr[] {rows});
    }

    /** Columns where {@code sparse[i]} (non-null) is the sparse form and {@code dense[i]} is null, dense ones elsewhere. */
    Block(long firstRow, Tensor[] dense, Csr[] sparse) {
        this.firstRow = firstRow;
        this.values = dense;
        boolean any = false;
        for (Csr c : sparse) any |= c != null;
        this.sparse = any ? sparse : null;
    }

    /** Global index of this block's first row. */
    public long firstRow() {
        return firstRow;
    }

    /** Number of rows in this block. */
    public int rows() {
        if (values.length == 0) return 0;
        return isSparse(0) ? sparse[0].rows : values[0].size(0);
    }

    /** The block's tensor (its only column); an error for a sparse column (use {@link #csr(int)}). */
    public Tensor tensor() {
        return column(0);
    }

    public Tensor column(int i) {
        if (isSparse(i)) throw new IllegalStateException("column " + i + " of " + this + " is sparse (CSR): read it with csr(" + i + ")");
        return values[i];
    }

    /** Whether column {@code i} is held as CSR rows. */
    public boolean isSparse(int i) {
        return sparse != null && sparse[i] != null;
    }

    /** Column {@code i}'s CSR rows (null when the column is dense). */
    public Csr csr(int i) {
        return sparse == null ? null : sparse[i];
    }

    public int width() {
        return values.length;
    }

    Tensor[] values() {
        return values;
    }

    /** Column {@code i} alone, in its own kind. */
    Block select(int i) {
        return isSparse(i) ? new Block(firstRow, sparse[i]) : new Block(firstRow, values[i]);
    }

    /**
     * The rows {@code rows[i]} of block {@code blocks[i]} (all of one column layout), in that order, as one block
     * starting at global row {@code firstRow}: dense columns copied row by row, sparse ones as CSR rows. For rows
     * drawn from a partition's blocks (mini-batches) without densifying.
     */
    public static Block gather(long firstRow, java.util.List<Block> from, int[] blocks, int[] rows) {
        Block first = from.get(0);
        int n = rows.length, width = first.width();
        Tensor[] dense = new Tensor[width];
        Csr[] csr = new Csr[width];
        for (int c = 0; c < width; c++) {
            if (first.isSparse(c)) {
                int[] offsets = new int[n + 1];
                for (int i = 0; i < n; i++) {
                    Csr s = from.get(blocks[i]).sparse[c];
                    offsets[i + 1] = offsets[i] + s.offsets[rows[i] + 1] - s.offsets[rows[i]];
                }
                int[] indices = new int[offsets[n]];
                double[] values = new double[offsets[n]];
                for (int i = 0; i < n; i++) {
                    Csr s = from.get(blocks[i]).sparse[c];
                    int at = s.offsets[rows[i]], len = offsets[i + 1] - offsets[i];
                    System.arraycopy(s.indices, at, indices, offsets[i], len);
                    System.arraycopy(s.values, at, values, offsets[i], len);
                }
                csr[c] = new Csr(first.sparse[c].width, offsets, indices, values);
                continue;
            }
            Tensor t = first.values[c];
            int[] shape = t.shape().clone();
            int per = shape[0] == 0 ? 0 : t.numel() / shape[0];
            shape[0] = n;
            double[] out = new double[n * per];
            for (int i = 0; i < n; i++) System.arraycopy(from.get(blocks[i]).values[c].toArrayUnsafe(), rows[i] * per, out, i * per, per);
            dense[c] = Tensor.wrap(out, shape, t.isBool());
        }
        return new Block(firstRow, dense, csr);
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        out.writeInt(sparse == null ? values.length : -1 - values.length);
        for (int i = 0; i < values.length; i++) {
            if (sparse != null) out.writeBoolean(isSparse(i));
            if (isSparse(i)) {
                Csr c = sparse[i];
                out.writeInt(c.width);
                out.writeObject(c.offsets);
                out.writeObject(c.indices);
                out.writeObject(c.values);
                continue;
            }
            Tensor t = values[i];
            int[] shape = t.shape();
            out.writeObject(shape);
            out.writeBoolean(t.isBool());
            out.writeObject(t.toArrayUnsafe());
        }
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        int n = in.readInt();
        boolean mixed = n < 0;
        if (mixed) n = -1 - n;
        values = new Tensor[n];
        sparse = mixed ? new Csr[n] : null;
        for (int i = 0; i < values.length; i++) {
            if (mixed && in.readBoolean()) {
                int width = in.readInt();
                sparse[i] = new Csr(width, (int[]) in.readObject(), (int[]) in.readObject(), (double[]) in.readObject());
                continue;
            }
            int[] shape = (int[]) in.readObject();
            boolean bool = in.readBoolean();
            double[] data = (double[]) in.readObject();
            values[i] = Tensor.wrap(data, shape, bool);
        }
    }

    @Override
    public String toString() {
        return "Block(firstRow=" + firstRow + ", rows=" + rows() + ", width=" + values.length + (sparse != null ? ", sparse" : "") + ")";
    }

    /**
     * Sparse rows in compressed sparse row form: row {@code r} holds {@code values[offsets[r] .. offsets[r+1])} at
     * columns {@code indices[...]} (strictly increasing within a row), of {@code width} columns. Immutable by
     * convention (ops make new ones). Products with a dense parameter and the gradient {@code X^T g} are taken
     * from these arrays directly, in row order then entry order, so their bits depend only on the data.
     */
    public static final class Csr implements Serializable {
        private static final long serialVersionUID = 1L;

        final int rows;
        final int width;
        final int[] offsets;
        final int[] indices;
        final double[] values;

        public Csr(int width, int[] offsets, int[] indices, double[] values) {
            if (offsets.length == 0 || offsets[0] != 0 || offsets[offsets.length - 1] != indices.length || indices.length != values.length) {
                throw new IllegalArgumentException("CSR: offsets must run from 0 to the number of entries (" + indices.length
                        + ") and indices and values have the same length (" + values.length + ")");
            }
            this.rows = offsets.length - 1;
            this.width = width;
            this.offsets = offsets;
            this.indices = indices;
            this.values = values;
        }

        public int rows() {
            return rows;
        }

        public int width() {
            return width;
        }

        /** Stored entries. */
        public int nnz() {
            return values.length;
        }

        public int[] offsets() {
            return offsets.clone();
        }

        public int[] indices() {
            return indices.clone();
        }

        public double[] values() {
            return values.clone();
        }

        /** The dense {@code [rows, width]} tensor. */
        public Tensor toDense() {
            double[] d = new double[Math.multiplyExact(rows, width)];
            for (int r = 0; r < rows; r++) {
                for (int e = offsets[r]; e < offsets[r + 1]; e++) d[r * width + indices[e]] = values[e];
            }
            return Tensor.wrap(d, new int[] {rows, width}, false);
        }

        /** {@code f} applied to each stored entry (for ops with {@code f(0) = 0}: the same pattern). */
        Csr map(DoubleUnaryOperator f) {
            double[] v = new double[values.length];
            for (int e = 0; e < v.length; e++) v[e] = f.applyAsDouble(values[e]);
            return new Csr(width, offsets, indices, v);
        }

        /** {@code this @ w} for {@code w} of {@code [width]} ({@code k == 0}: result {@code [rows]}) or {@code [width, k]}. */
        double[] times(double[] w, int k) {
            if (k == 0) {
                double[] out = new double[rows];
                for (int r = 0; r < rows; r++) {
                    double s = 0;
                    for (int e = offsets[r]; e < offsets[r + 1]; e++) s += values[e] * w[indices[e]];
                    out[r] = s;
                }
                return out;
            }
            double[] out = new double[rows * k];
            for (int r = 0; r < rows; r++) {
                int o = r * k;
                for (int e = offsets[r]; e < offsets[r + 1]; e++) {
                    double v = values[e];
                    int wo = indices[e] * k;
                    for (int j = 0; j < k; j++) out[o + j] += v * w[wo + j];
                }
            }
            return out;
        }

        /** {@code this^T @ g} for {@code g} of {@code [rows]} ({@code k == 0}: result {@code [width]}) or {@code [rows, k]}. */
        double[] transposeTimes(double[] g, int k) {
            double[] out = new double[Math.multiplyExact(width, Math.max(1, k))];
            transposeTimesAdd(g, k, out);
            return out;
        }

        /** {@code out += this^T @ g}, entry by entry in row order (a partition's accumulator: no array per block). */
        void transposeTimesAdd(double[] g, int k, double[] out) {
            int kk = Math.max(1, k);
            if (kk == 1) {
                for (int r = 0; r < rows; r++) {
                    double gr = g[r];
                    for (int e = offsets[r]; e < offsets[r + 1]; e++) out[indices[e]] += values[e] * gr;
                }
                return;
            }
            for (int r = 0; r < rows; r++) {
                int go = r * kk;
                for (int e = offsets[r]; e < offsets[r + 1]; e++) {
                    double v = values[e];
                    int o = indices[e] * kk;
                    for (int j = 0; j < kk; j++) out[o + j] += v * g[go + j];
                }
            }
        }

        /** The sum of each row. */
        double[] rowSums() {
            double[] out = new double[rows];
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int e = offsets[r]; e < offsets[r + 1]; e++) s += values[e];
                out[r] = s;
            }
            return out;
        }

        /** Bytes of the arrays (what a cached block costs, about). */
        long bytes() {
            return 8L * values.length + 4L * indices.length + 4L * offsets.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Csr c && width == c.width && Arrays.equals(offsets, c.offsets) && Arrays.equals(indices, c.indices)
                    && Arrays.equals(values, c.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(offsets) * 31 + Arrays.hashCode(indices);
        }

        @Override
        public String toString() {
            return "Csr(rows=" + rows + ", width=" + width + ", nnz=" + values.length + ")";
        }
    }
}
