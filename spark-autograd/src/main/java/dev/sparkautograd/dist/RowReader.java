package dev.sparkautograd.dist;

import dev.sparkautograd.BadDataException;
import dev.sparkautograd.Tensor;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.UserDefinedType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Reads the selected columns of a Dataset's internal rows into row blocks, one dense tensor
 * per column (numeric: {@code [b]}; array or ML Vector: {@code [b, width]}). ML Vectors are read through
 * their UDT's struct form (type, size, indices, values), so spark-mllib is not needed. Every bad cell is
 * an error naming the column and the global row.
 */
final class RowReader implements Serializable {
    private static final long serialVersionUID = 1L;

    static final int NUMERIC = 0, ARRAY = 1, VECTOR = 2;
    static final int BYTE = 0, SHORT = 1, INT = 2, LONG = 3, FLOAT = 4, DOUBLE = 5, DECIMAL = 6;

    final String[] names;
    final int[] kind;
    final int[] type;
    final int[] precision;
    final int[] scale;
    /** Values per row of each array/vector column (1 for numeric). */
    int[] widths;
    /** Per column: read as CSR rows (decided on the driver after the counting pass); null: all dense. */
    boolean[] sparse;
    final boolean allowNonFinite;
    /** Whether the counting pass counts the non-zeros of Vector columns (when the driver decides sparse or dense from them). */
    final boolean countNonZeros;

    private RowReader(String[] names, int[] kind, int[] type, int[] precision, int[] scale, boolean allowNonFinite, boolean countNonZeros) {
        this.names = names;
        this.kind = kind;
        this.type = type;
        this.precision = precision;
        this.scale = scale;
        this.allowNonFinite = allowNonFinite;
        this.countNonZeros = countNonZeros;
    }

    /** Checks the schema on the driver: each column must exist and be numeric, array of numbers, or an ML Vector. */
    static RowReader forSchema(StructType schema, String[] columns, boolean allowNonFinite, boolean countNonZeros) {
        if (columns.length == 0) throw new IllegalArgumentException("fromDataset: name at least one column");
        int n = columns.length;
        int[] kind = new int[n], type = new int[n], precision = new int[n], scale = new int[n];
        for (int i = 0; i < n; i++) {
            String c = columns[i];
            for (int j = 0; j < i; j++) {
                if (columns[j].equals(c)) throw new IllegalArgumentException("fromDataset: column '" + c + "' is named twice");
            }
            StructField f = null;
            for (StructField g : schema.fields()) if (g.name().equals(c)) f = g;
            if (f == null) {
                throw new IllegalArgumentException("fromDataset: unknown column '" + c + "'; the Dataset has columns "
                        + Arrays.toString(schema.fieldNames()));
            }
            DataType t = f.dataType();
            int code = numericCode(t);
            if (code >= 0) {
                kind[i] = NUMERIC;
                type[i] = code;
                if (t instanceof DecimalType d) {
                    precision[i] = d.precision();
                    scale[i] = d.scale();
                }
            } else if (t instanceof ArrayType a && numericCode(a.elementType()) >= 0 && !(a.elementType() instanceof DecimalType)) {
                kind[i] = ARRAY;
                type[i] = numericCode(a.elementType());
            } else if (isVector(t)) {
                kind[i] = VECTOR;
            } else {
                throw new IllegalArgumentException("fromDataset: column '" + c + "' has type " + t.simpleString()
                        + "; expected a numeric column, array<double> or an ML Vector");
            }
        }
        return new RowReader(columns.clone(), kind, type, precision, scale, allowNonFinite, countNonZeros);
    }

    private static int numericCode(DataType t) {
        if (t instanceof ByteType) return BYTE;
        if (t instanceof ShortType) return SHORT;
        if (t instanceof IntegerType) return INT;
        if (t instanceof LongType) return LONG;
        if (t instanceof FloatType) return FLOAT;
        if (t instanceof DoubleType) return DOUBLE;
        if (t instanceof DecimalType) return DECIMAL;
        return -1;
    }

    /** org.apache.spark.ml.linalg.VectorUDT (or the old mllib one): a UDT over struct(type, size, indices, values). */
    private static boolean isVector(DataType t) {
        if (!(t instanceof UserDefinedType<?> u)) return false;
        String cls = u.userClass().getName();
        return cls.equals("org.apache.spark.ml.linalg.Vector") || cls.equals("org.apache.spark.mllib.linalg.Vector");
    }


    /** Whether column {@code i} has a width (array or vector). */
    boolean isVectorLike(int i) {
        return kind[i] != NUMERIC;
    }

    boolean isVector(int i) {
        return kind[i] == VECTOR;
    }

    void setSparse(boolean[] sparse) {
        boolean any = false;
        for (boolean b : sparse) any |= b;
        this.sparse = any ? sparse.clone() : null;
    }

    boolean isSparse(int i) {
        return sparse != null && sparse[i];
    }

    int[] rowShape(int i) {
        return kind[i] == NUMERIC ? new int[0] : new int[] {widths[i]};
    }

    void setWidths(int[] widths) {
        this.widths = widths;
    }

    /**
     * Counting pass over one partition: {@code [rows, then per column the width of its first non-null
     * cell (-1: none) and that cell's row within the partition, then per column its non-zeros]} (counted for
     * Vector columns when {@link #countNonZeros}, else 0).
     */
    long[] count(Iterator<InternalRow> rows) {
        int n = names.length;
        long[] out = new long[1 + 3 * n];
        for (int i = 0; i < n; i++) out[1 + 2 * i] = -1;
        long r = 0;
        while (rows.hasNext()) {
            InternalRow row = rows.next();
            for (int i = 0; i < n; i++) {
                if (kind[i] == NUMERIC || row.isNullAt(i)) continue;
                if (countNonZeros && kind[i] == VECTOR) out[1 + 2 * n + i] += vectorNonZeros(row.getStruct(i, 4));
                if (out[1 + 2 * i] >= 0) continue;
                out[1 + 2 * i] = cellWidth(row, i);
                out[2 + 2 * i] = r;
            }
            r++;
        }
        out[0] = r;
        return out;
    }

    static long vectorNonZeros(InternalRow s) {
        ArrayData vals = s.getArray(3);
        long nz = 0;
        for (int j = 0; j < vals.numElements(); j++) if (vals.getDouble(j) != 0) nz++;
        return nz;
    }

    int cellWidth(InternalRow row, int i) {
        if (kind[i] == ARRAY) return row.getArray(i).numElements();
        InternalRow s = row.getStruct(i, 4);
        return s.getByte(0) == 0 ? s.getInt(1) : s.getArray(3).numElements();
    }

    /** The blocks of one partition whose first row has global index {@code offset}. */
    Iterator<Block> blocks(Iterator<InternalRow> rows, long offset, int blockRows) {
        return new Iterator<>() {
            long next = offset;

            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Block next() {
                if (!rows.hasNext()) throw new NoSuchElementException();
                int n = names.length;
                double[][] buf = new double[n][];
                for (int i = 0; i < n; i++) buf[i] = new double[blockRows * widths[i]];
                int b = 0;
                long first = next;
                while (b < blockRows && rows.hasNext()) {
                    InternalRow row = rows.next();
                    for (int i = 0; i < n; i++) read(row, i, buf[i], b * widths[i], next);
                    b++;
                    next++;
                }
                return denseBlock(first, buf, b, blockRows);
            }
        };
    }

    /** One dense block of {@code b} rows from {@code first}: a buffer of {@code blockRows} rows per column, trimmed. */
    Block denseBlock(long first, double[][] buf, int b, int blockRows) {
        Tensor[] ts = new Tensor[buf.length];
        for (int i = 0; i < buf.length; i++) {
            double[] d = b == blockRows ? buf[i] : Arrays.copyOf(buf[i], b * widths[i]);
            ts[i] = Tensor.wrap(d, kind[i] == NUMERIC ? new int[] {b} : new int[] {b, widths[i]}, false);
        }
        return new Block(first, ts);
    }

    /**
     * Reads row {@code r} of column {@code i} into {@code dst} at {@code off} with every check (a dense Vector stored
     * sparse writes only its non-zeros: {@code dst} must be zero there). The columnar reader calls it too, on its
     * batches' row view, for the cells its bulk copy leaves.
     */
    void read(InternalRow row, int i, double[] dst, int off, long r) {
        if (row.isNullAt(i)) throw new BadDataException("column '" + names[i] + "' is null at row " + r);
        switch (kind[i]) {
            case NUMERIC -> dst[off] = check(numeric(row, i), i, r, -1);
            case ARRAY -> {
                ArrayData a = row.getArray(i);
                int len = a.numElements();
                if (len != widths[i]) throw ragged(i, r, len);
                for (int j = 0; j < len; j++) {
                    if (a.isNullAt(j)) throw new BadDataException("column '" + names[i] + "' has a null element at row " + r + " (index " + j + ")");
                    dst[off + j] = check(element(a, type[i], j), i, r, j);
                }
            }
            default -> {
                InternalRow s = row.getStruct(i, 4);
                if (s.getByte(0) == 0) {
                    int size = s.getInt(1);
                    if (size != widths[i]) throw ragged(i, r, size);
                    int[] idx = s.getArray(2).toIntArray();
                    double[] vals = s.getArray(3).toDoubleArray();
                    checkIndices(idx, size, i, r);
                    for (int j = 0; j < idx.length; j++) dst[off + idx[j]] = check(vals[j], i, r, idx[j]);
                } else {
                    ArrayData a = s.getArray(3);
                    int len = a.numElements();
                    if (len != widths[i]) throw ragged(i, r, len);
                    for (int j = 0; j < len; j++) dst[off + j] = check(a.getDouble(j), i, r, j);
                }
            }
        }
    }

    /**
     * The blocks of one partition when some columns are sparse: rows are added to a block until it holds
     * {@code blockBytes} (dense values at 8 bytes, sparse entries at 12: value and column index) or
     * {@code blockRows} rows when that is set; every column of the row goes into the same block.
     */
    Iterator<Block> sparseBlocks(Iterator<InternalRow> rows, long offset, int blockRows, long blockBytes) {
        int n = names.length;
        long denseBytesPerRow = 0;
        for (int i = 0; i < n; i++) if (!isSparse(i)) denseBytesPerRow += 8L * widths[i];
        final long perRow = denseBytesPerRow;
        return new Iterator<>() {
            long next = offset;

            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Block next() {
                if (!rows.hasNext()) throw new NoSuchElementException();
                double[][] dense = new double[n][];
                CsrBuilder[] csr = new CsrBuilder[n];
                for (int i = 0; i < n; i++) {
                    if (isSparse(i)) csr[i] = new CsrBuilder();
                    else dense[i] = new double[Math.max(1, widths[i]) * 16];
                }
                int b = 0;
                long bytes = 0, first = next;
                while ((blockRows <= 0 || b < blockRows) && (blockRows > 0 || bytes < blockBytes) && rows.hasNext()) {
                    InternalRow row = rows.next();
                    for (int i = 0; i < n; i++) {
                        if (isSparse(i)) {
                            bytes += 12L * readSparse(row, i, csr[i], next) + 4;
                        } else {
                            if ((b + 1) * widths[i] > dense[i].length) dense[i] = Arrays.copyOf(dense[i], Math.max((b + 1) * widths[i], 2 * dense[i].length));
                            read(row, i, dense[i], b * widths[i], next);
                        }
                    }
                    bytes += perRow;
                    b++;
                    next++;
                }
                Tensor[] ts = new Tensor[n];
                Block.Csr[] cs = new Block.Csr[n];
                for (int i = 0; i < n; i++) {
                    if (isSparse(i)) cs[i] = csr[i].build(widths[i]);
                    else ts[i] = Tensor.wrap(Arrays.copyOf(dense[i], b * widths[i]), kind[i] == NUMERIC ? new int[] {b} : new int[] {b, widths[i]}, false);
                }
                return new Block(first, ts, cs);
            }
        };
    }

    /** Appends row {@code r} of array/vector column {@code i} to {@code out} (non-zeros only); returns the entries added. */
    private int readSparse(InternalRow row, int i, CsrBuilder out, long r) {
        if (row.isNullAt(i)) throw new BadDataException("column '" + names[i] + "' is null at row " + r);
        int before = out.nnz;
        if (kind[i] == ARRAY) {
            ArrayData a = row.getArray(i);
            int len = a.numElements();
            if (len != widths[i]) throw ragged(i, r, len);
            for (int j = 0; j < len; j++) {
                if (a.isNullAt(j)) throw new BadDataException("column '" + names[i] + "' has a null element at row " + r + " (index " + j + ")");
                double v = check(element(a, type[i], j), i, r, j);
                if (v != 0) out.add(j, v);
            }
        } else {
            InternalRow s = row.getStruct(i, 4);
            if (s.getByte(0) == 0) {
                int size = s.getInt(1);
                if (size != widths[i]) throw ragged(i, r, size);
                int[] idx = s.getArray(2).toIntArray();
                double[] vals = s.getArray(3).toDoubleArray();
                checkIndices(idx, size, i, r);
                for (int j = 0; j < idx.length; j++) {
                    double v = check(vals[j], i, r, idx[j]);
                    if (v != 0) out.add(idx[j], v);
                }
            } else {
                ArrayData a = s.getArray(3);
                int len = a.numElements();
                if (len != widths[i]) throw ragged(i, r, len);
                for (int j = 0; j < len; j++) {
                    double v = check(a.getDouble(j), i, r, j);
                    if (v != 0) out.add(j, v);
                }
            }
        }
        out.endRow();
        return out.nnz - before;
    }

    /** A sparse vector's indices must lie in {@code [0, size)} and increase strictly (sorted, no duplicates). */
    private void checkIndices(int[] idx, int size, int i, long r) {
        for (int j = 0; j < idx.length; j++) {
            if (idx[j] < 0 || idx[j] >= size) {
                throw new BadDataException("column '" + names[i] + "' has a sparse index " + idx[j] + " out of range [0, " + size + ") at row " + r);
            }
            if (j > 0 && idx[j] <= idx[j - 1]) {
                throw new BadDataException("column '" + names[i] + "' has " + (idx[j] == idx[j - 1] ? "a duplicated" : "an unsorted")
                        + " sparse index " + idx[j] + " (after " + idx[j - 1] + ") at row " + r);
            }
        }
    }

    /** Growable CSR arrays for one column of one block. */
    private static final class CsrBuilder {
        int[] offsets = new int[17];
        int rows;
        int[] indices = new int[64];
        double[] values = new double[64];
        int nnz;

        void add(int j, double v) {
            if (nnz == values.length) {
                indices = Arrays.copyOf(indices, 2 * nnz);
                values = Arrays.copyOf(values, 2 * nnz);
            }
            indices[nnz] = j;
            values[nnz++] = v;
        }

        void endRow() {
            if (rows + 2 > offsets.length) offsets = Arrays.copyOf(offsets, 2 * offsets.length);
            offsets[++rows] = nnz;
        }

        Block.Csr build(int width) {
            return new Block.Csr(width, Arrays.copyOf(offsets, rows + 1), Arrays.copyOf(indices, nnz), Arrays.copyOf(values, nnz));
        }
    }

    private BadDataException ragged(int i, long r, int len) {
        return new BadDataException("column '" + names[i] + "' has " + len + " values at row " + r + " but " + widths[i]
                + " in earlier rows (ragged arrays)");
    }

    private double check(double v, int i, long r, int j) {
        if (!allowNonFinite && !Double.isFinite(v)) throw nonFinite("column '" + names[i] + "'", v, r, j);
        return v;
    }

    /** The error for a NaN or infinite value of {@code column} at global row {@code r} (element {@code j}, or -1 for a scalar cell). */
    static BadDataException nonFinite(String column, double v, long r, int j) {
        return new BadDataException(column + " has " + (Double.isNaN(v) ? "NaN" : "an infinite value")
                + " at row " + r + (j >= 0 ? " (index " + j + ")" : "")
                + "; pass DistData.options().allowNonFinite(true) to allow non-finite values");
    }

    private double numeric(InternalRow row, int i) {
        return switch (type[i]) {
            case BYTE -> row.getByte(i);
            case SHORT -> row.getShort(i);
            case INT -> row.getInt(i);
            case LONG -> row.getLong(i);
            case FLOAT -> row.getFloat(i);
            case DOUBLE -> row.getDouble(i);
            default -> row.getDecimal(i, precision[i], scale[i]).toDouble();
        };
    }

    private static double element(ArrayData a, int type, int j) {
        return switch (type) {
            case BYTE -> a.getByte(j);
            case SHORT -> a.getShort(j);
            case INT -> a.getInt(j);
            case LONG -> a.getLong(j);
            case FLOAT -> a.getFloat(j);
            default -> a.getDouble(j);
        };
    }

    /** Reads plain {@code double[]} rows of {@code cols} values (DistTensor.fromRows). */
    static Iterator<Block> rowBlocks(Iterator<double[]> rows, long offset, int blockRows, int cols, boolean allowNonFinite) {
        return new Iterator<>() {
            long next = offset;

            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Block next() {
                if (!rows.hasNext()) throw new NoSuchElementException();
                double[] buf = new double[blockRows * cols];
                int b = 0;
                long first = next;
                while (b < blockRows && rows.hasNext()) {
                    double[] row = rows.next();
                    if (row == null) throw new BadDataException("column 'row' is null at row " + next);
                    if (row.length != cols) {
                        throw new BadDataException("column 'row' has " + row.length + " values at row " + next + " but " + cols + " were declared (ragged rows)");
                    }
                    for (int j = 0; j < cols; j++) {
                        double v = row[j];
                        if (!allowNonFinite && !Double.isFinite(v)) throw nonFinite("column " + j, v, next, -1);
                    }
                    System.arraycopy(row, 0, buf, b * cols, cols);
                    b++;
                    next++;
                }
                double[] d = b == blockRows ? buf : Arrays.copyOf(buf, b * cols);
                return new Block(first, Tensor.wrap(d, new int[] {b, cols}, false));
            }
        };
    }

    /** Splits the rows of local tensors into per-partition block lists (rows spread evenly, as sc.parallelize does). */
    static List<List<Block>> split(Tensor[] columns, int numPartitions, int blockRows) {
        int n = columns[0].size(0);
        List<List<Block>> parts = new ArrayList<>(numPartitions);
        for (int p = 0; p < numPartitions; p++) {
            int start = (int) ((long) p * n / numPartitions), end = (int) ((long) (p + 1) * n / numPartitions);
            List<Block> blocks = new ArrayList<>();
            for (int s = start; s < end; s += blockRows) {
                int e = Math.min(end, s + blockRows);
                Tensor[] ts = new Tensor[columns.length];
                for (int c = 0; c < columns.length; c++) ts[c] = columns[c].detach().slice(0, s, e);
                blocks.add(new Block(s, ts));
            }
            parts.add(blocks);
        }
        return parts;
    }
}
