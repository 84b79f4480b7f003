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

    /** An empty block of this reader's columns (dense, or CSR where {@link #sparse}); see {@link BlockBuilder#full} for the rule. */
    BlockBuilder open(long first, int blockRows, long blockBytes) {
        boolean[] scalar = new boolean[names.length];
        for (int i = 0; i < scalar.length; i++) scalar[i] = kind[i] == NUMERIC;
        // Dense blocks have a fixed size; sparse ones grow with their rows.
        return new BlockBuilder(first, widths, scalar, sparse, blockRows, blockBytes, sparse == null ? blockRows : 16);
    }

    /**
     * The blocks of one partition whose first row has global index {@code offset}: {@code blockRows} rows each when
     * that is positive (the last one shorter), else rows until a block holds {@code blockBytes} ({@link BlockBuilder#full}).
     */
    Iterator<Block> blocks(Iterator<InternalRow> rows, long offset, int blockRows, long blockBytes) {
        return BlockBuilder.blocks(rows, offset, first -> open(first, blockRows, blockBytes), this::readRow);
    }

    /** Adds {@code row} (global row {@code r}) to {@code out}: every column, dense or CSR as the block has it, with every check. */
    void readRow(InternalRow row, BlockBuilder out, long r) {
        for (int i = 0; i < names.length; i++) read(row, i, out, out.rows, r);
        out.addRows(1);
    }

    /** Reads column {@code i} of {@code row} (global row {@code r}) into row {@code at} of {@code out} (a CSR column: its next row). */
    void read(InternalRow row, int i, BlockBuilder out, int at, long r) {
        if (out.isSparse(i)) {
            BlockBuilder.CsrBuilder c = out.csr(i);
            read(row, i, r, null, 0, c);
            c.endRow();
        } else {
            read(row, i, r, out.dense(i, at + 1), at * widths[i], null);
        }
    }

    /**
     * Reads row {@code r} of column {@code i} into {@code dst} at {@code off} with every check (a dense Vector stored
     * sparse writes only its non-zeros: {@code dst} must be zero there). The columnar reader calls it too, on its
     * batches' row view, for the cells its bulk copy leaves.
     */
    void read(InternalRow row, int i, double[] dst, int off, long r) {
        read(row, i, r, dst, off, null);
    }

    /** The one reading of a cell, with every check: into {@code dst} at {@code off}, or when {@code csr} is set its non-zeros appended there. */
    private void read(InternalRow row, int i, long r, double[] dst, int off, BlockBuilder.CsrBuilder csr) {
        if (row.isNullAt(i)) throw new BadDataException("column '" + names[i] + "' is null at row " + r);
        switch (kind[i]) {
            case NUMERIC -> dst[off] = check(numeric(row, i), i, r, -1);
            case ARRAY -> {
                ArrayData a = row.getArray(i);
                int len = a.numElements();
                if (len != widths[i]) throw ragged(i, r, len);
                for (int j = 0; j < len; j++) {
                    if (a.isNullAt(j)) throw new BadDataException("column '" + names[i] + "' has a null element at row " + r + " (index " + j + ")");
                    put(element(a, type[i], j), i, r, j, dst, off, csr);
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
                    for (int j = 0; j < idx.length; j++) put(vals[j], i, r, idx[j], dst, off, csr);
                } else {
                    ArrayData a = s.getArray(3);
                    int len = a.numElements();
                    if (len != widths[i]) throw ragged(i, r, len);
                    for (int j = 0; j < len; j++) put(a.getDouble(j), i, r, j, dst, off, csr);
                }
            }
        }
    }

    /** Element {@code j} of row {@code r} of column {@code i}, checked, into {@code dst} or (non-zero) into {@code csr}. */
    private void put(double v, int i, long r, int j, double[] dst, int off, BlockBuilder.CsrBuilder csr) {
        check(v, i, r, j);
        if (csr == null) dst[off + j] = v;
        else if (v != 0) csr.add(j, v);
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
        int[] widths = {cols};
        boolean[] scalar = {false};
        return BlockBuilder.blocks(rows, offset, first -> new BlockBuilder(first, widths, scalar, null, blockRows, 0, blockRows), (row, out, r) -> {
            if (row == null) throw new BadDataException("column 'row' is null at row " + r);
            if (row.length != cols) {
                throw new BadDataException("column 'row' has " + row.length + " values at row " + r + " but " + cols + " were declared (ragged rows)");
            }
            for (int j = 0; j < cols; j++) {
                double v = row[j];
                if (!allowNonFinite && !Double.isFinite(v)) throw nonFinite("column " + j, v, r, -1);
            }
            System.arraycopy(row, 0, out.dense(0, out.rows + 1), out.rows * cols, cols);
            out.addRows(1);
        });
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
