package dev.sparkautograd.dist;

import dev.sparkautograd.BadDataException;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Shapes;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.storage.StorageLevel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * Reads data into row blocks: a Dataset's columns, {@code double[]} rows, or local tensors. Each source gets
 * one block layout for all its columns, so they stay aligned block for block. The front class {@code DistData}
 * calls it; not for users.
 */
public final class Loader {
    private Loader() {}

    /** How blocks are sized and kept (the front's {@code DistData.Options}). */
    public record Settings(int blockRows, long blockBytes, StorageLevel storageLevel, boolean allowNonFinite, Boolean sparse, boolean float32) implements java.io.Serializable {
        /** float64 blocks. */
        public Settings(int blockRows, long blockBytes, StorageLevel storageLevel, boolean allowNonFinite, Boolean sparse) {
            this(blockRows, blockBytes, storageLevel, allowNonFinite, sparse, false);
        }

        /** Above this width a Vector column is read sparse when the choice is left to the counting job. */
        static final int SPARSE_ABOVE_WIDTH = 65_536;
        /** Below this fraction of non-zeros a Vector column is read sparse when the choice is left to the counting job. */
        static final double SPARSE_BELOW_DENSITY = 0.1;

        /** Rows per block: {@code blockRows} when set, else as many as fit about {@code blockBytes} (as MLlib's InstanceBlock). */
        int rowsPerBlock(int doublesPerRow) {
            if (blockRows > 0) return blockRows;
            int perRow = Math.max(1, doublesPerRow);
            return (int) Math.max(1, Math.min(Integer.MAX_VALUE / perRow, blockBytes / (8L * perRow)));
        }
    }

    /** The columns of one source, aligned: one expression per column over the same blocks. */
    public static final class Columns {
        private final Expr.Source source;
        public final List<Expr> exprs;

        /**
         * The blocks' size as cached, known before any block is read (dense values at 8 bytes, 4 for a float32 array
         * column; a sparse entry at 12, value and column index, plus a row offset); -1 when not known (a sparse column
         * whose non-zeros the counting job did not count, or a selection of rows).
         */
        public final long bytes;

        Columns(Expr.Source source, List<String> names, List<int[]> rowShapes, long bytes) {
            this(source, names, rowShapes, new boolean[names.size()], bytes);
        }

        Columns(Expr.Source source, List<String> names, List<int[]> rowShapes, boolean[] sparse, long bytes) {
            this.source = source;
            this.bytes = bytes;
            List<Expr> es = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) es.add(new Expr(source, i, names.size(), rowShapes.get(i), names.get(i), sparse[i]));
            this.exprs = List.copyOf(es);
        }

        /** The raw blocks: one tensor per column. */
        public JavaRDD<Block> blocks() {
            return source.rdd;
        }

        public long rows() {
            return source.layout.rows;
        }

        public int numPartitions() {
            return source.layout.numPartitions;
        }
    }

    /**
     * Numeric, {@code array<double>} (any numeric element type) and ML Vector (dense or sparse) columns. Schema
     * problems fail here on the driver; one counting job finds the rows per partition and the array widths;
     * bad cells fail the first job that reads them, naming column and row.
     */
    public static Columns fromDataset(Dataset<Row> df, Settings settings, String... columns) {
        RowReader reader = RowReader.forSchema(df.schema(), columns, settings.allowNonFinite(), settings.sparse() == null);
        Dataset<Row> selected = df.select(Arrays.stream(columns).map(df::col).toArray(org.apache.spark.sql.Column[]::new));
        String name = "fromDataset " + String.join(", ", columns);
        // Columnar batches when the plan makes them (Parquet); the rows of the plan otherwise.
        ColumnarReader.Scan scan = ColumnarReader.of(selected, reader);
        List<long[]> counts = scan != null ? ColumnarReader.count(selected, scan, name) : Actions.run(() -> selected.queryExecution().toRdd().toJavaRDD().mapPartitionsWithIndex((p, it) -> {
            MemoryGuard.Counted<InternalRow> in = new MemoryGuard.Counted<>(it);
            return Collections.singletonList(MemoryGuard.pass(() -> reader.count(in), in, "counting", name, p)).iterator();
        }, true).collect());
        long[] offsets = offsets(counts);
        int n = columns.length;
        int[] widths = new int[n];
        for (int i = 0; i < n; i++) {
            if (!reader.isVectorLike(i)) {
                widths[i] = 1;
                continue;
            }
            widths[i] = -1;
            long at = -1;
            for (int p = 0; p < counts.size(); p++) {
                long w = counts.get(p)[1 + 2 * i];
                if (w < 0) continue;
                long row = offsets[p] + counts.get(p)[2 + 2 * i];
                if (widths[i] < 0) {
                    widths[i] = (int) w;
                    at = row;
                } else if (w != widths[i]) {
                    throw new BadDataException("column '" + columns[i] + "' has " + w + " values at row " + row + " but "
                            + widths[i] + " at row " + at + " (ragged arrays)");
                }
            }
            if (widths[i] < 0) widths[i] = 0;
        }
        reader.setWidths(widths);
        boolean[] sparse = new boolean[n];
        boolean anySparse = false;
        long totalRows = offsets[offsets.length - 1];
        for (int i = 0; i < n; i++) {
            if (settings.sparse() != null) {
                sparse[i] = settings.sparse() && reader.isVectorLike(i);
            } else if (reader.isVector(i) && widths[i] > 0) {
                long nonZeros = 0;
                for (long[] c : counts) nonZeros += c[1 + 2 * n + i];
                sparse[i] = widths[i] > Settings.SPARSE_ABOVE_WIDTH
                        || nonZeros < Settings.SPARSE_BELOW_DENSITY * (double) totalRows * widths[i];
            }
            anySparse |= sparse[i];
        }
        reader.setSparse(sparse);
        List<int[]> shapes = new ArrayList<>();
        for (int i = 0; i < n; i++) shapes.add(reader.rowShape(i));
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext());
        long bytes = 0;
        for (int i = 0; i < n && bytes >= 0; i++) {
            if (!sparse[i]) {
                bytes += AutoStorageLevel.bytesPerRow(List.of(shapes.get(i)), settings.float32()) * totalRows;
            } else if (reader.countNonZeros && reader.isVector(i)) {
                long nonZeros = 0;
                for (long[] c : counts) nonZeros += c[1 + 2 * n + i];
                bytes += 12 * nonZeros + 4 * totalRows;
            } else {
                bytes = -1; // sparse by the caller's choice: the non-zeros were not counted
            }
        }
        // Dense blocks hold a fixed number of rows; sparse ones fill up to blockBytes unless blockRows is set.
        int perRow = Arrays.stream(widths).sum();
        int blockRows = anySparse ? settings.blockRows() : settings.rowsPerBlock(perRow);
        long blockBytes = anySparse ? settings.blockBytes() : 8L * blockRows * perRow;
        if (scan != null) {
            Expr.Source s = source(sc, scan.batches(), offsets, ColumnarReader.blocks(scan.reader(), offsets, blockRows, blockBytes), name, settings, blockBytes, Math.max(bytes, 0), columns);
            s.rdd.setName(name + " " + ColumnarReader.NAME);
            return new Columns(s, Arrays.asList(columns), shapes, sparse, bytes);
        }
        JavaRDD<InternalRow> rows = selected.queryExecution().toRdd().toJavaRDD();
        return new Columns(source(sc, rows, offsets, (p, it) -> reader.blocks(it, offsets[p], blockRows, blockBytes), name, settings, blockBytes, Math.max(bytes, 0), columns),
                Arrays.asList(columns), shapes, sparse, bytes);
    }

    /** Rows of {@code cols} values each (one counting job; rows of another length are an error naming the row). */
    public static Expr fromRows(JavaRDD<double[]> rows, int cols, Settings settings) {
        if (cols < 0) throw new IllegalArgumentException("fromRows: cols must be non-negative, got " + cols);
        List<long[]> counts = Actions.run(() -> rows.mapPartitions(it -> {
            long c = 0;
            while (it.hasNext()) {
                it.next();
                c++;
            }
            return Collections.singletonList(new long[] {c}).iterator();
        }, true).collect());
        long[] offsets = offsets(counts);
        int blockRows = settings.rowsPerBlock(cols);
        boolean allow = settings.allowNonFinite();
        Expr.Source s = source(JavaSparkContext.fromSparkContext(rows.context()), rows, offsets,
                (p, it) -> RowReader.rowBlocks(it, offsets[p], blockRows, cols, allow), "fromRows", settings, 8L * blockRows * cols,
                AutoStorageLevel.bytesPerRow(List.of(new int[] {cols}), settings.float32()) * offsets[offsets.length - 1], "fromRows");
        return new Expr(s, 0, 1, new int[] {cols}, "fromRows");
    }

    /** Local tensors with the same number of rows, split over {@code numPartitions} partitions (no job runs). */
    public static Columns parallelize(JavaSparkContext sc, int numPartitions, List<String> names, List<Tensor> columns, Settings settings) {
        if (columns.isEmpty()) throw new IllegalArgumentException("parallelize: no columns");
        if (numPartitions < 1) throw new IllegalArgumentException("parallelize: numPartitions must be positive, got " + numPartitions);
        Tensor[] ts = columns.toArray(new Tensor[0]);
        int perRow = 0;
        List<int[]> shapes = new ArrayList<>();
        for (int i = 0; i < ts.length; i++) {
            if (ts[i].dim() == 0) throw new IllegalArgumentException("parallelize: column '" + names.get(i) + "' is 0-d; a DistTensor needs rows");
            if (ts[i].size(0) != ts[0].size(0)) {
                throw new IllegalArgumentException("parallelize: columns '" + names.get(0) + "' of shape " + Shapes.str(ts[0].shape())
                        + " and '" + names.get(i) + "' of shape " + Shapes.str(ts[i].shape()) + " have different numbers of rows");
            }
            int[] s = ts[i].shape();
            shapes.add(Arrays.copyOfRange(s, 1, s.length));
            perRow += Shapes.numel(shapes.get(i));
        }
        List<List<Block>> parts = RowReader.split(ts, numPartitions, settings.rowsPerBlock(perRow));
        // One element per partition (its blocks), so each task carries only its own rows.
        List<Block[]> data = new ArrayList<>();
        for (List<Block> part : parts) data.add(part.toArray(new Block[0]));
        JavaRDD<Block> blocks = sc.parallelize(data, numPartitions).flatMap(a -> Arrays.asList(a).iterator());
        return new Columns(named(blocks, "parallelize", settings, new Expr.Layout(ts[0].size(0), numPartitions), sc, names.toArray(new String[0])), names, shapes,
                AutoStorageLevel.bytesPerRow(shapes, settings.float32()) * ts[0].size(0));
    }

    /**
     * {@code from}'s columns over the blocks {@code select} makes of each partition's blocks (no job runs): they
     * must hold {@code rows} rows in all, numbered from 0 in partition order. For mini-batches drawn partition by
     * partition without a shuffle.
     */
    public static Columns select(Columns from, long rows, Function2<Integer, Iterator<Block>, Iterator<Block>> select) {
        JavaRDD<Block> blocks = from.source.rdd.mapPartitionsWithIndex(select, true);
        blocks.setName("rows of " + from.source.rdd.name());
        List<String> names = new ArrayList<>();
        List<int[]> shapes = new ArrayList<>();
        boolean[] sparse = new boolean[from.exprs.size()];
        for (int i = 0; i < sparse.length; i++) {
            Expr e = from.exprs.get(i);
            names.add(e.name);
            shapes.add(e.rowShape);
            sparse[i] = e.sparse;
        }
        return new Columns(new Expr.Source(from.source.sc, blocks, new Expr.Layout(rows, from.numPartitions())), names, shapes, sparse, -1);
    }

    /** Global index of each partition's first row (and the total at the end), from per-partition counts (element 0). */
    private static long[] offsets(List<long[]> counts) {
        long[] offsets = new long[counts.size() + 1];
        for (int p = 0; p < counts.size(); p++) offsets[p + 1] = offsets[p] + counts.get(p)[0];
        return offsets;
    }


    /**
     * The blocks of a counted RDD: each partition's rows read into blocks starting at its offset, one block at a
     * time (never a whole partition), an OutOfMemoryError turned into a one-line error ({@link MemoryGuard}). With
     * the blocks' size {@code dataBytes} known (positive; 0: not known), it goes into that error's advice, and a
     * spilling memory level chosen for blocks far above the storage memory gets a warning
     * ({@link AutoStorageLevel#warnIfUnrolling}).
     */
    private static <R> Expr.Source source(JavaSparkContext sc, JavaRDD<R> rows, long[] offsets,
                                          Function2<Integer, Iterator<R>, Iterator<Block>> read, String name, Settings settings, long blockBytes,
                                          long dataBytes, String... columns) {
        long storageBytes = dataBytes > 0 ? AutoStorageLevel.storageMemory(sc.sc()) : 0;
        AutoStorageLevel.warnIfUnrolling(name, settings.storageLevel(), dataBytes, storageBytes);
        JavaRDD<Block> blocks = rows.mapPartitionsWithIndex((p, it) -> {
            MemoryGuard.Counted<R> in = new MemoryGuard.Counted<>(it);
            return MemoryGuard.reading(counted(read.call(p, in), offsets[p], offsets[p + 1], name, p), in, name, p, blockBytes, dataBytes, storageBytes);
        }, true);
        return named(blocks, name, settings, new Expr.Layout(offsets[offsets.length - 1], offsets.length - 1), sc, columns);
    }

    /**
     * The blocks of partition {@code p}, checked to hold exactly the rows the counting pass found there, numbered from
     * {@code first} to {@code end}: the offsets of every partition's rows depend on it. A block past the count fails
     * at once, a partition short of it when its last block has been read: a partition whose rows differ between the
     * passes (input files changed in between, a plan that is not deterministic, a counting scan that split the input
     * otherwise) is an error, never rows silently misnumbered.
     */
    static Iterator<Block> counted(Iterator<Block> blocks, long first, long end, String name, int p) {
        return new Iterator<>() {
            long next = first;

            @Override
            public boolean hasNext() {
                boolean more = blocks.hasNext();
                if (!more && next != end) throw miscounted(next - first);
                return more;
            }

            @Override
            public Block next() {
                Block b = blocks.next();
                if (b.firstRow() != next) {
                    throw new IllegalStateException("internal error: partition " + p + " of '" + name + "' has a block from row " + b.firstRow()
                            + " where row " + next + " was next");
                }
                next += b.rows();
                if (next > end) throw miscounted(next - first);
                return b;
            }

            private IllegalStateException miscounted(long read) {
                return new IllegalStateException("internal error: partition " + p + " of '" + name + "' read " + (next > end ? "at least " : "")
                        + read + " rows but the counting pass found " + (end - first) + " (from row " + first
                        + "): the input changed between the two passes (its files rewritten, or a plan that is not deterministic)");
            }
        };
    }

    /**
     * The source over {@code blocks}, cached at the settings' level; with {@code float32} each block as it is built
     * is converted ({@link Block#toFloat32}: its array columns stored as float, the float64 block dropped), so the
     * cache holds float32 blocks only.
     */
    private static Expr.Source named(JavaRDD<Block> blocks, String name, Settings settings, Expr.Layout layout, JavaSparkContext sc, String... columns) {
        if (settings.float32()) {
            List<String> names = List.of(columns);
            boolean allow = settings.allowNonFinite();
            blocks = blocks.map(b -> b.toFloat32(names, allow));
        }
        blocks.setName(name);
        if (settings.storageLevel() != null) blocks.persist(settings.storageLevel());
        return new Expr.Source(sc, blocks, layout);
    }
}
