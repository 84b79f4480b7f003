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
 * dense local tensor whose first dimension is the block's row count, a {@link Csr} matrix (sparse rows), or a
 * {@link Float32} column (dense rows stored as {@code float}: half the bytes; {@link #column} widens it to a
 * float64 tensor on each call). Serializes (Kryo or Java) as shapes, dtype flags and raw arrays; a block of dense
 * float64 columns only keeps the bytes it always had (a sparse one marks itself by a negative column count, one
 * with float32 columns by {@link #KINDS} and a kind per column).
 */
public final class Block implements Serializable {
    private static final long serialVersionUID = 1L;

    private long firstRow;
    private transient Tensor[] values;
    /** Per column, its CSR rows where it is sparse (then {@code values[i]} is null); null when no column is. */
    private transient Csr[] sparse;
    /** Per column, its float32 rows where it is stored so (then {@code values[i]} is null); null when no column is. */
    private transient Float32[] floats;

    /** The serialized column count of a block with float32 columns: the count and one kind byte per column follow. */
    static final int KINDS = Integer.MIN_VALUE;
    static final byte DENSE = 0, SPARSE = 1, FLOAT32 = 2;

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

    /** Columns in any of the three forms: per column exactly one of {@code dense[i]}, {@code sparse[i]}, {@code floats[i]} is non-null. */
    Block(long firstRow, Tensor[] dense, Csr[] sparse, Float32[] floats) {
        this(firstRow, dense, sparse);
        boolean any = false;
        for (Float32 c : floats) any |= c != null;
        this.floats = any ? floats : null;
    }

    /** Global index of this block's first row. */
    public long firstRow() {
        return firstRow;
    }

    /** Number of rows in this block. */
    public int rows() {
        if (values.length == 0) return 0;
        return isSparse(0) ? sparse[0].rows : isFloat32(0) ? floats[0].shape[0] : values[0].size(0);
    }

    /** The block's tensor (its only column); an error for a sparse column (use {@link #csr(int)}). */
    public Tensor tensor() {
        return column(0);
    }

    /** Column {@code i} as a float64 tensor: a float32 column widened (a new array on each call); an error for a sparse one. */
    public Tensor column(int i) {
        if (isSparse(i)) throw new IllegalStateException("column " + i + " of " + this + " is sparse (CSR): read it with csr(" + i + ")");
        return isFloat32(i) ? floats[i].widen() : values[i];
    }

    /** Whether column {@code i} is held as float32 rows. */
    public boolean isFloat32(int i) {
        return floats != null && floats[i] != null;
    }

    /** Column {@code i}'s float32 rows (null when the column is float64 or sparse). */
    public Float32 float32(int i) {
        return floats == null ? null : floats[i];
    }

    /** Column {@code i} as a dense tensor (float32 widened), or null when it is sparse. */
    Tensor denseOrNull(int i) {
        return isSparse(i) ? null : column(i);
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

    /** The dense columns (float32 ones widened; null where a column is sparse). */
    Tensor[] values() {
        if (floats == null) return values;
        Tensor[] out = values.clone();
        for (int i = 0; i < out.length; i++) if (floats[i] != null) out[i] = floats[i].widen();
        return out;
    }

    /** Column {@code i} alone, in its own kind. */
    Block select(int i) {
        if (isFloat32(i)) return new Block(firstRow, new Tensor[1], new Csr[1], new Float32[] {floats[i]});
        return isSparse(i) ? new Block(firstRow, sparse[i]) : new Block(firstRow, values[i]);
    }

    /**
     * This block with its dense float64 columns of at least two dimensions (arrays, vectors: the features) stored as
     * float32; scalar columns (labels, weights, ids, which must stay exact) and sparse ones are kept. A finite value
     * beyond float32's range is an error naming {@code names[column]} and the global row (unless
     * {@code allowNonFinite}: then it becomes infinite, as a cast does).
     */
    public Block toFloat32(java.util.List<String> names, boolean allowNonFinite) {
        Float32[] fs = new Float32[values.length];
        Tensor[] dense = values.clone();
        boolean any = false;
        for (int c = 0; c < values.length; c++) {
            Tensor t = values[c];
            if (t == null || isSparse(c) || t.dim() < 2 || t.isBool()) continue;
            double[] d = t.toArrayUnsafe();
            float[] f = new float[d.length];
            int per = t.size(0) == 0 ? 0 : d.length / t.size(0);
            for (int e = 0; e < d.length; e++) {
                float v = (float) d[e];
                if (Float.isInfinite(v) && !Double.isInfinite(d[e]) && !allowNonFinite) {
                    throw new dev.sparkautograd.BadDataException("column '" + names.get(c) + "' has " + d[e] + " at row "
                            + (firstRow + e / per) + " (index " + (e % per) + "), beyond float32's range (±3.4028235e38): read it as float64");
                }
                f[e] = v;
            }
            fs[c] = new Float32(f, t.shape());
            dense[c] = null;
            any = true;
        }
        if (!any) return this;
        Csr[] csr = sparse != null ? sparse : new Csr[values.length];
        return new Block(firstRow, dense, csr, fs);
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
        Float32[] floats = new Float32[width];
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
            if (first.isFloat32(c)) {
                int[] shape = first.floats[c].shape.clone();
                int per = shape[0] == 0 ? 0 : first.floats[c].data.length / shape[0];
                shape[0] = n;
                float[] out = new float[n * per];
                for (int i = 0; i < n; i++) System.arraycopy(from.get(blocks[i]).floats[c].data, rows[i] * per, out, i * per, per);
                floats[c] = new Float32(out, shape);
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
        return new Block(firstRow, dense, csr, floats);
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        if (floats != null) {
            out.writeInt(KINDS);
            out.writeInt(values.length);
        } else {
            out.writeInt(sparse == null ? values.length : -1 - values.length);
        }
        for (int i = 0; i < values.length; i++) {
            if (floats != null) out.writeByte(kind(i));
            else if (sparse != null) out.writeBoolean(isSparse(i));
            if (isFloat32(i)) {
                out.writeObject(floats[i].shape);
                out.writeObject(floats[i].data);
                continue;
            }
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
        boolean kinds = n == KINDS;
        if (kinds) n = in.readInt();
        boolean mixed = n < 0;
        if (mixed) n = -1 - n;
        values = new Tensor[n];
        sparse = mixed || kinds ? new Csr[n] : null;
        floats = kinds ? new Float32[n] : null;
        for (int i = 0; i < values.length; i++) {
            byte kind = kinds ? in.readByte() : mixed && in.readBoolean() ? SPARSE : DENSE;
            if (kind == FLOAT32) {
                int[] shape = (int[]) in.readObject();
                floats[i] = new Float32((float[]) in.readObject(), shape);
                continue;
            }
            if (kind == SPARSE) {
                int width = in.readInt();
                sparse[i] = new Csr(width, (int[]) in.readObject(), (int[]) in.readObject(), (double[]) in.readObject());
                continue;
            }
            int[] shape = (int[]) in.readObject();
            boolean bool = in.readBoolean();
            double[] data = (double[]) in.readObject();
            values[i] = Tensor.wrap(data, shape, bool);
        }
        if (sparse != null) {
            boolean any = false;
            for (Csr c : sparse) any |= c != null;
            if (!any) sparse = null;
        }
    }

    /** {@link #DENSE}, {@link #SPARSE} or {@link #FLOAT32}: how column {@code i} is held. */
    byte kind(int i) {
        return isFloat32(i) ? FLOAT32 : isSparse(i) ? SPARSE : DENSE;
    }

    @Override
    public String toString() {
        return "Block(firstRow=" + firstRow + ", rows=" + rows() + ", width=" + values.length + (sparse != null ? ", sparse" : "") + (floats != null ? ", float32" : "") + ")";
    }

    /**
     * Dense rows stored as {@code float}: {@code data} row-major, of {@code shape} (the first dimension the rows).
     * Half the bytes of a float64 column, cached and read; parameters, gradients and reductions stay float64.
     * Generic ops read it widened ({@link #widen}: one pass writing a new {@code double[]}, exact: every float is a
     * double); a reduction's fused {@code X w} and {@code X^T g} for a vector {@code w} read the floats directly
     * ({@link Float32Kernels}). Immutable by convention.
     */
    public static final class Float32 implements Serializable {
        private static final long serialVersionUID = 1L;

        final float[] data;
        final int[] shape;

        public Float32(float[] data, int[] shape) {
            long n = 1;
            for (int d : shape) n *= d;
            if (shape.length == 0 || n != data.length) {
                throw new IllegalArgumentException("float32 rows: shape " + Arrays.toString(shape) + " does not hold " + data.length + " values");
            }
            this.data = data;
            this.shape = shape.clone();
        }

        public int rows() {
            return shape[0];
        }

        public int[] shape() {
            return shape.clone();
        }

        public float[] data() {
            return data.clone();
        }

        /** The stored array itself (for kernels that read it; do not modify). */
        public float[] dataUnsafe() {
            return data;
        }

        /** The same values as a float64 tensor (exact). */
        public Tensor widen() {
            double[] d = new double[data.length];
            for (int i = 0; i < d.length; i++) d[i] = data[i];
            return Tensor.wrap(d, shape.clone(), false);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Float32 f && Arrays.equals(shape, f.shape) && Arrays.equals(data, f.data);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(shape) * 31 + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "Float32(shape=" + Arrays.toString(shape) + ")";
        }
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
