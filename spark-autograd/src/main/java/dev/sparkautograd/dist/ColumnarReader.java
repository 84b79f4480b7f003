package dev.sparkautograd.dist;

import dev.sparkautograd.BadDataException;
import org.apache.spark.Partition;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.ProjectExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.WholeStageCodegenExec;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.sql.execution.datasources.PartitionedFile;
import org.apache.spark.sql.execution.datasources.v2.DataSourceRDDPartition;
import org.apache.spark.sql.execution.vectorized.WritableColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import scala.jdk.javaapi.CollectionConverters;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * Reads the selected columns of a Dataset from the columnar batches of its scan (the vectorized Parquet reader's)
 * into the same blocks as {@link RowReader}, copying runs of column values (whole runs of an {@code array<double>}
 * or dense Vector column's elements at once) instead of converting row by row. The columns, their widths and every
 * check are the {@link RowReader}'s: a run the bulk copy cannot take (a null, a non-finite value, a ragged array, a
 * Vector stored sparse, a decimal, vectors it does not know) is read cell by cell through {@link RowReader#read} on
 * the batch's row view, so values and error messages are the row path's, bit for bit and word for word. A sparse
 * (CSR) column is read a row at a time from its child vectors (a sparse Vector's indices and values, a dense-stored
 * Vector's or an array's non-zeros), the same way: a cell that is not plain (a null, a wrong size, indices out of
 * range or not increasing, a non-finite value) is read by {@link RowReader#read}. Blocks follow {@link BlockBuilder}'s
 * rule, as the row path's do.
 *
 * <p>The scan reuses its batches: everything is copied out of a batch before the next one is asked for.
 */
final class ColumnarReader implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Elements copied per {@link ColumnVector#getDoubles} call (its copy is a temporary array). */
    private static final int CHUNK = 1 << 14;

    private final RowReader rows;
    /** Column {@code i} of the selection is column {@code ordinals[i]} of the batches. */
    private final int[] ordinals;

    private ColumnarReader(RowReader rows, int[] ordinals) {
        this.rows = rows;
        this.ordinals = ordinals;
    }

    /** The batches of a selection's scan and how to read them. */
    record Scan(JavaRDD<ColumnarBatch> batches, ColumnarReader reader) {}

    /**
     * The columnar scan under {@code selected}'s plan, or null when it has none: the plan must be a
     * {@code ColumnarToRowExec} over a child that supports columnar output, under at most whole-stage codegen and a
     * projection that only picks and reorders columns (Parquet with the vectorized reader; not in-memory data, CSV,
     * JSON, or a plan that computes anything).
     */
    static Scan of(Dataset<Row> selected, RowReader rows) {
        SparkPlan top = selected.queryExecution().executedPlan();
        List<Attribute> wanted = CollectionConverters.asJava(top.output());
        SparkPlan p = top instanceof WholeStageCodegenExec w ? w.child() : top;
        if (p instanceof ProjectExec project) {
            for (NamedExpression e : CollectionConverters.asJava(project.projectList())) if (!(e instanceof Attribute)) return null;
            p = project.child();
        }
        if (!(p instanceof ColumnarToRowExec c) || !c.child().supportsColumnar()) return null;
        SparkPlan scan = c.child();
        List<Attribute> has = CollectionConverters.asJava(scan.output());
        int[] ordinals = new int[wanted.size()];
        for (int i = 0; i < ordinals.length; i++) {
            ordinals[i] = -1;
            for (int j = 0; j < has.size(); j++) if (has.get(j).exprId().equals(wanted.get(i).exprId())) ordinals[i] = j;
            if (ordinals[i] < 0) return null;
        }
        return new Scan(scan.executeColumnar().toJavaRDD(), new ColumnarReader(rows, ordinals));
    }

    /** Appended to the name of the blocks read from columnar batches (seen in the Spark UI, checked by tests). */
    static final String NAME = "(columnar batches)";

    /**
     * The counting job of a columnar selection, reading as little as it can: the rows of each partition from a scan of
     * none of the selected columns (for Parquet, the counts in the footers' row groups: no value is decoded), or of
     * the Vector columns alone when their non-zeros choose sparse or dense; and the width of each array or vector
     * column it does not read, from its first non-null cell: partition 0's task of the same job reads its first rows,
     * and only when it is empty or null there are later partitions read, in order ({@link #firstWidths}). The block pass checks every other
     * row against that width, and each partition's rows against the count ({@code Loader}). The counting scan must
     * split the input as the block scan does (the same file splits in the same partitions: Spark splits files by size,
     * not by columns; checked here); when it does not, or is not columnar, every column is counted as before
     * ({@link #count(Scan, String)}). Per partition, {@link #count}'s array; the widths of the columns not read are
     * filled for the partitions read for them only (-1 elsewhere).
     */
    static List<long[]> count(Dataset<Row> selected, Scan scan, String name) {
        RowReader rows = scan.reader().rows;
        int n = rows.names.length;
        List<Integer> read = new ArrayList<>();
        for (int i = 0; i < n; i++) if (rows.countNonZeros && rows.isVector(i)) read.add(i);
        String[] names = new String[read.size()];
        for (int k = 0; k < names.length; k++) names[k] = rows.names[read.get(k)];
        Dataset<Row> counted = selected.select(Arrays.stream(names).map(selected::col).toArray(Column[]::new));
        Scan countScan = of(counted, names.length == 0 ? null : RowReader.forSchema(selected.schema(), names, rows.allowNonFinite, true));
        if (countScan == null || !sameSplits(countScan.batches(), scan.batches())) return count(scan, name);
        boolean[] missing = new boolean[n];
        for (int i = 0; i < n; i++) missing[i] = rows.isVectorLike(i) && !read.contains(i);
        // One job: each partition's rows, and in partition 0's task (when it has rows) the first cells of the columns not read
        boolean widthsIn0 = anyTrue(missing);
        ColumnarReader countReader = countScan.reader(), reader = scan.reader();
        List<long[][]> some = Actions.run(() -> countScan.batches().zipPartitions(scan.batches(), (FlatMapFunction2<Iterator<ColumnarBatch>, Iterator<ColumnarBatch>, long[][]>) (a, b) -> {
            int p = TaskContext.getPartitionId();
            MemoryGuard.Counted<ColumnarBatch> in = new MemoryGuard.Counted<>(a), first = new MemoryGuard.Counted<>(b);
            long[] c = MemoryGuard.pass(() -> countReader.count(in, in), in, "counting", name, p);
            long[] w = p == 0 && widthsIn0 && c[0] > 0 ? MemoryGuard.pass(() -> reader.firstWidths(first, missing, first), first, "counting", name, p) : null;
            return Collections.singletonList(new long[][] {c, w}).iterator();
        }).collect());
        List<long[]> counts = new ArrayList<>();
        for (long[][] cw : some) {
            long[] c = cw[0];
            long[] out = new long[1 + 3 * n];
            out[0] = c[0];
            for (int i = 0; i < n; i++) out[1 + 2 * i] = -1;
            for (int k = 0; k < names.length; k++) {
                int i = read.get(k);
                out[1 + 2 * i] = c[1 + 2 * k];
                out[2 + 2 * i] = c[2 + 2 * k];
                out[1 + 2 * n + i] = c[1 + 2 * names.length + k];
            }
            counts.add(out);
        }
        boolean readFirst = !some.isEmpty() && some.get(0)[1] != null;
        if (readFirst) found(counts.get(0), some.get(0)[1], missing);
        firstWidths(scan, counts, missing, readFirst ? 1 : 0, name);
        return counts;
    }

    /** The widths {@code w} of one partition's first cells into its count array {@code c}; the columns found no longer {@code missing}. */
    private static void found(long[] c, long[] w, boolean[] missing) {
        for (int i = 0; i < missing.length; i++) {
            if (!missing[i]) continue;
            c[1 + 2 * i] = w[2 * i];
            c[2 + 2 * i] = w[2 * i + 1];
            if (w[2 * i] >= 0) missing[i] = false;
        }
    }

    /**
     * Fills in {@code counts} the width of each {@code missing} column's first non-null cell, reading the non-empty
     * partitions of {@code scan} from {@code from} in order (one, then two, four, ... at a time) until every such column
     * has one, each partition only until it has seen one for each (its first batch, unless a column is null there).
     */
    private static void firstWidths(Scan scan, List<long[]> counts, boolean[] missing, int from, String name) {
        ColumnarReader reader = scan.reader();
        List<Integer> order = new ArrayList<>();
        for (int p = from; p < counts.size(); p++) if (counts.get(p)[0] > 0) order.add(p);
        int at = 0;
        for (int wave = 1; at < order.size() && anyTrue(missing); wave *= 2) {
            int[] ids = order.subList(at, Math.min(order.size(), at + wave)).stream().mapToInt(Integer::intValue).toArray();
            at += ids.length;
            boolean[] need = missing.clone();
            List<long[]>[] got = Actions.run(() -> scan.batches().mapPartitionsWithIndex((p, it) -> {
                MemoryGuard.Counted<ColumnarBatch> in = new MemoryGuard.Counted<>(it);
                return Collections.singletonList(MemoryGuard.pass(() -> reader.firstWidths(in, need, in), in, "counting", name, p)).iterator();
            }, true).collectPartitions(ids));
            for (int k = 0; k < ids.length; k++) found(counts.get(ids[k]), got[k].get(0), missing);
        }
    }

    private static boolean anyTrue(boolean[] b) {
        for (boolean x : b) if (x) return true;
        return false;
    }

    /**
     * Per column where {@code need}: the width of its first non-null cell in {@code batches} and that cell's row
     * within the partition (-1, -1: none), reading batches only until every such column has one.
     */
    long[] firstWidths(Iterator<ColumnarBatch> batches, boolean[] need, MemoryGuard.Counted<?> progress) {
        int n = ordinals.length;
        long[] out = new long[2 * n];
        Arrays.fill(out, -1);
        int left = 0;
        for (boolean b : need) if (b) left++;
        long r = 0;
        while (left > 0 && batches.hasNext()) {
            ColumnarBatch b = view(batches.next());
            int m = b.numRows();
            for (int i = 0; i < n; i++) {
                if (!need[i] || out[2 * i] >= 0) continue;
                ColumnVector v = b.column(i);
                for (int k = 0; k < m; k++) {
                    if (v.isNullAt(k)) continue;
                    out[2 * i] = rows.cellWidth(b.getRow(k), i);
                    out[2 * i + 1] = r + k;
                    left--;
                    break;
                }
            }
            r += m;
            progress.rows = r;
        }
        return out;
    }

    /**
     * Whether two scans read the same file splits in the same partitions (Spark's file sources: a
     * {@code FilePartition} per partition, also under a DataSource V2 scan); false for anything else.
     */
    static boolean sameSplits(JavaRDD<?> a, JavaRDD<?> b) {
        Partition[] pa = a.rdd().partitions(), pb = b.rdd().partitions();
        if (pa.length != pb.length) return false;
        for (int p = 0; p < pa.length; p++) {
            List<String> fa = splits(pa[p]);
            if (fa == null || !fa.equals(splits(pb[p]))) return false;
        }
        return true;
    }

    /** The file splits of a file scan's partition (path, start, length), or null when it is not one. */
    private static List<String> splits(Partition p) {
        Object in = p;
        if (p instanceof DataSourceRDDPartition d) in = d.inputPartition().isDefined() ? d.inputPartition().get() : null;
        if (!(in instanceof FilePartition f)) return null;
        List<String> out = new ArrayList<>();
        for (PartitionedFile file : f.files()) out.add(file.filePath() + "@" + file.start() + "+" + file.length());
        return out;
    }

    /** The counting job over the batches of {@code scan}, every selected column: per partition, {@link #count}'s array. */
    static List<long[]> count(Scan scan, String name) {
        ColumnarReader reader = scan.reader();
        return Actions.run(() -> scan.batches().mapPartitionsWithIndex((p, it) -> {
            MemoryGuard.Counted<ColumnarBatch> in = new MemoryGuard.Counted<>(it);
            return Collections.singletonList(MemoryGuard.pass(() -> reader.count(in, in), in, "counting", name, p)).iterator();
        }, true).collect());
    }

    /** The block reader of each partition, for {@code Loader.source} (whose counting input it keeps at the rows read). */
    static Function2<Integer, Iterator<ColumnarBatch>, Iterator<Block>> blocks(ColumnarReader reader, long[] offsets, int blockRows, long blockBytes) {
        return (p, it) -> reader.blocks(it, offsets[p], blockRows, blockBytes, (MemoryGuard.Counted<?>) it);
    }

    /** {@code batch}'s columns in the selection's order (a new batch over the same vectors when they differ). */
    private ColumnarBatch view(ColumnarBatch batch) {
        boolean same = batch.numCols() == ordinals.length;
        for (int i = 0; i < ordinals.length && same; i++) same = ordinals[i] == i;
        if (same) return batch;
        ColumnVector[] cols = new ColumnVector[ordinals.length];
        for (int i = 0; i < cols.length; i++) cols[i] = batch.column(ordinals[i]);
        return new ColumnarBatch(cols, batch.numRows());
    }

    /**
     * The counting pass of {@link RowReader#count} over batches (the same array). {@code progress.rows} is kept at
     * the rows read so far, for the out-of-memory message.
     */
    long[] count(Iterator<ColumnarBatch> batches, MemoryGuard.Counted<?> progress) {
        int n = ordinals.length;
        long[] out = new long[1 + 3 * n];
        for (int i = 0; i < n; i++) out[1 + 2 * i] = -1;
        long r = 0;
        while (batches.hasNext()) {
            ColumnarBatch b = view(batches.next());
            int m = b.numRows();
            for (int i = 0; i < n; i++) {
                if (!rows.isVectorLike(i)) continue;
                ColumnVector v = b.column(i);
                if (out[1 + 2 * i] < 0) {
                    for (int k = 0; k < m; k++) {
                        if (v.isNullAt(k)) continue;
                        out[1 + 2 * i] = rows.cellWidth(b.getRow(k), i);
                        out[2 + 2 * i] = r + k;
                        break;
                    }
                }
                if (rows.countNonZeros && rows.isVector(i)) {
                    for (int k = 0; k < m; k++) if (!v.isNullAt(k)) out[1 + 2 * n + i] += RowReader.vectorNonZeros(v.getStruct(k));
                }
            }
            r += m;
            progress.rows = r;
        }
        out[0] = r;
        return out;
    }

    /**
     * The blocks of one partition whose first row has global index {@code offset}, as {@link RowReader#blocks} makes
     * them (the same rule, across batch boundaries).
     */
    Iterator<Block> blocks(Iterator<ColumnarBatch> batches, long offset, int blockRows, long blockBytes, MemoryGuard.Counted<?> progress) {
        return BlockBuilder.blocks(new BatchRows(batches, progress), offset, first -> rows.open(first, blockRows, blockBytes));
    }

    /** The rows of a partition's batches, added to blocks a run at a time. */
    private final class BatchRows implements BlockBuilder.Rows {
        private final Iterator<ColumnarBatch> batches;
        private final MemoryGuard.Counted<?> progress;
        private ColumnarBatch batch;
        private int at;
        /** Rows of the batches taken so far (kept in {@code progress} for the out-of-memory message). */
        private long taken;
        /** A row's values of a sparse column read from an array (grown to the widest). */
        private double[] scratch = new double[0];

        BatchRows(Iterator<ColumnarBatch> batches, MemoryGuard.Counted<?> progress) {
            this.batches = batches;
            this.progress = progress;
        }

        @Override
        public boolean hasNext() {
            while (batch == null || at == batch.numRows()) {
                batch = null;
                if (!batches.hasNext()) return false;
                batch = view(batches.next());
                at = 0;
                taken += batch.numRows();
                progress.rows = taken;
            }
            return true;
        }

        /**
         * Rows of the batch from {@code at} until the block is full or the batch ends: the sparse cells row by row
         * (a block of {@code blockBytes} ends with the row that fills it), then each dense column's run at once.
         */
        @Override
        public int addTo(BlockBuilder out, long first) {
            int b = out.rows, left = batch.numRows() - at, k = 0;
            try {
                if (!out.anySparse()) {
                    k = Math.min(out.room(), left);
                    out.addRows(k);
                } else {
                    while (k < left && !out.full()) {
                        for (int i = 0; i < ordinals.length; i++) if (out.isSparse(i)) sparseCell(i, at + k, out, first + k);
                        out.addRows(1);
                        k++;
                    }
                }
                for (int i = 0; i < ordinals.length; i++) {
                    if (out.isSparse(i)) continue;
                    int w = rows.widths[i];
                    double[] dst = out.dense(i, b + k);
                    if (!bulk(batch, i, at, k, dst, b * w, first)) {
                        for (int r = 0; r < k; r++) rows.read(batch.getRow(at + r), i, dst, (b + r) * w, first + r);
                    }
                }
            } catch (BadDataException e) {
                // Read column by column, a later row of one column can fail before an earlier row of the next: read the
                // run row by row to report the first bad cell in row order, as the row path does.
                BlockBuilder again = rows.open(first, 0, Long.MAX_VALUE);
                for (int r = 0; r <= k && at + r < batch.numRows(); r++) rows.readRow(batch.getRow(at + r), again, first + r);
                throw e;
            }
            at += k;
            return k;
        }

        /** Row {@code k} of sparse column {@code i} (global row {@code r}) appended to the block: from the child vectors, else as a row. */
        private void sparseCell(int i, int k, BlockBuilder out, long r) {
            BlockBuilder.CsrBuilder csr = out.csr(i);
            if (plainSparse(batch.column(i), i, k, csr)) csr.endRow();
            else rows.read(batch.getRow(k), i, out, out.rows, r);
        }

        /**
         * Appends the non-zeros of row {@code k} of sparse column {@code i} to {@code csr} when the cell is plain (present,
         * of the column's width, no null element, a sparse Vector's indices in range and increasing, values finite unless
         * allowed); false, appending nothing, when not: the row path then reads it and names what is wrong.
         */
        private boolean plainSparse(ColumnVector v, int i, int k, BlockBuilder.CsrBuilder csr) {
            if (v.isNullAt(k)) return false;
            int w = rows.widths[i];
            if (!rows.isVector(i)) return v instanceof WritableColumnVector a && denseRow(a, rows.type[i], k, w, csr);
            ColumnVector kinds = v.getChild(0);
            if (kinds.isNullAt(k)) return false;
            if (kinds.getByte(k) == 1) return v.getChild(3) instanceof WritableColumnVector a && denseRow(a, RowReader.DOUBLE, k, w, csr);
            ColumnVector size = v.getChild(1);
            if (size.isNullAt(k) || size.getInt(k) != w) return false;
            if (!(v.getChild(2) instanceof WritableColumnVector ia) || !(v.getChild(3) instanceof WritableColumnVector va) || ia.isNullAt(k) || va.isNullAt(k)) return false;
            int m = ia.getArrayLength(k), io = ia.getArrayOffset(k), vo = va.getArrayOffset(k);
            if (va.getArrayLength(k) != m || anyNull(ia.arrayData(), io, m) || anyNull(va.arrayData(), vo, m)) return false;
            // straight into the CSR arrays, counted (csr.nnz) only when the whole row is plain
            ColumnVector ie = ia.arrayData(), ve = va.arrayData();
            csr.reserve(m);
            int[] indices = csr.indices;
            double[] values = csr.values;
            int e = csr.nnz, last = -1;
            for (int j = 0; j < m; j++) {
                int c = ie.getInt(io + j);
                double x = ve.getDouble(vo + j);
                if (c < 0 || c >= w || c <= last || !rows.allowNonFinite && !Double.isFinite(x)) return false;
                last = c;
                if (x != 0) {
                    indices[e] = c;
                    values[e++] = x;
                }
            }
            csr.nnz = e;
            return true;
        }

        /** Row {@code k} of an array vector holding all {@code w} values of the row: its non-zeros, when plain. */
        private boolean denseRow(WritableColumnVector a, int type, int k, int w, BlockBuilder.CsrBuilder csr) {
            if (a.isNullAt(k) || a.getArrayLength(k) != w) return false;
            int start = a.getArrayOffset(k);
            if (anyNull(a.arrayData(), start, w)) return false;
            if (scratch.length < w) scratch = new double[w];
            if (!numbers(a.arrayData(), type, start, w, scratch, 0) || !finite(scratch, w)) return false;
            csr.addNonZeros(scratch, w);
            return true;
        }

        private boolean finite(double[] x, int m) {
            if (rows.allowNonFinite) return true;
            for (int j = 0; j < m; j++) if (!Double.isFinite(x[j])) return false;
            return true;
        }
    }

    /**
     * Copies rows {@code [at, at + k)} of column {@code i} into {@code dst} at {@code off} in bulk when every cell
     * is present and plain (dense, of the right width, contiguous, finite unless allowed); false when it did not,
     * for the cells to be read one by one (which also names any bad one).
     */
    private boolean bulk(ColumnarBatch batch, int i, int at, int k, double[] dst, int off, long first) {
        ColumnVector v = batch.column(i);
        if (anyNull(v, at, k)) return false;
        int w = rows.widths[i];
        if (!rows.isVectorLike(i)) {
            if (!numbers(v, rows.type[i], at, k, dst, off)) return false;
        } else if (!rows.isVector(i)) {
            if (!arrays(v, rows.type[i], w, at, k, dst, off)) return false;
        } else {
            // Vectors: each run of rows stored dense in bulk, each row stored sparse (VectorAssembler's output mixes
            // them) through RowReader.read, which writes its non-zeros into the still-zero row.
            ColumnVector kinds = v.getChild(0), values = v.getChild(3);
            for (int r = 0; r < k; ) {
                int end = r;
                while (end < k && kinds.getByte(at + end) == 1) end++;
                if (end > r && !arrays(values, RowReader.DOUBLE, w, at + r, end - r, dst, off + r * w)) return false;
                if (end < k) rows.read(batch.getRow(at + end), i, dst, off + end * w, first + end);
                r = end + 1;
            }
        }
        if (rows.allowNonFinite) return true;
        for (int j = off, end = off + k * w; j < end; j++) if (!Double.isFinite(dst[j])) return false;
        return true;
    }

    /** Rows {@code [at, at + k)} of an array vector whose rows all hold {@code w} elements, contiguous, none null. */
    private static boolean arrays(ColumnVector v, int type, int w, int at, int k, double[] dst, int off) {
        if (!(v instanceof WritableColumnVector a)) return false;
        int start = a.getArrayOffset(at);
        for (int r = 0; r < k; r++) if (a.getArrayLength(at + r) != w || a.getArrayOffset(at + r) != start + r * w) return false;
        ColumnVector elements = a.arrayData();
        return !anyNull(elements, start, k * w) && numbers(elements, type, start, k * w, dst, off);
    }

    private static boolean anyNull(ColumnVector v, int at, int k) {
        if (!v.hasNull()) return false;
        for (int r = at; r < at + k; r++) if (v.isNullAt(r)) return true;
        return false;
    }

    /** Values {@code [at, at + count)} of a numeric vector as doubles (false for decimals, read cell by cell). */
    private static boolean numbers(ColumnVector v, int type, int at, int count, double[] dst, int off) {
        switch (type) {
            case RowReader.DOUBLE -> {
                for (int s = 0; s < count; s += CHUNK) {
                    int c = Math.min(CHUNK, count - s);
                    System.arraycopy(v.getDoubles(at + s, c), 0, dst, off + s, c);
                }
            }
            case RowReader.FLOAT -> { for (int j = 0; j < count; j++) dst[off + j] = v.getFloat(at + j); }
            case RowReader.LONG -> { for (int j = 0; j < count; j++) dst[off + j] = v.getLong(at + j); }
            case RowReader.INT -> { for (int j = 0; j < count; j++) dst[off + j] = v.getInt(at + j); }
            case RowReader.SHORT -> { for (int j = 0; j < count; j++) dst[off + j] = v.getShort(at + j); }
            case RowReader.BYTE -> { for (int j = 0; j < count; j++) dst[off + j] = v.getByte(at + j); }
            default -> {
                return false;
            }
        }
        return true;
    }
}
