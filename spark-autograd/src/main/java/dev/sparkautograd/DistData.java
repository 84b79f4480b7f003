package dev.sparkautograd;

import dev.sparkautograd.dist.BadDataException;
import dev.sparkautograd.dist.Block;
import dev.sparkautograd.dist.Jobs;
import dev.sparkautograd.dist.RowReader;
import dev.sparkautograd.tensor.Shapes;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.storage.StorageLevel;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Columns of one dataset read into ONE row-block layout, so that {@code tensor("features")} and
 * {@code tensor("label")} are aligned block for block. The row count and each column's shape are known
 * on the driver after one counting job (none for {@link #parallelize}); every later read happens inside
 * the jobs of reductions.
 */
public final class DistData {

    /** Reading options: rows per block, storage level, whether NaN/Inf are allowed. */
    public static final class Options implements Serializable {
        private static final long serialVersionUID = 1L;
        int blockRows;
        long blockBytes = 1 << 20;
        StorageLevel storageLevel;
        boolean allowNonFinite;

        /** Rows per block (default: as many as fit about {@link #blockBytes} bytes, 1 MB, as MLlib's InstanceBlock). */
        public Options blockRows(int rows) {
            if (rows < 1) throw new IllegalArgumentException("blockRows must be positive, got " + rows);
            blockRows = rows;
            return this;
        }

        public Options blockBytes(long bytes) {
            if (bytes < 8) throw new IllegalArgumentException("blockBytes must be at least 8, got " + bytes);
            blockBytes = bytes;
            return this;
        }

        /** Caches the blocks at this level (default: none; each reduction reads the source again). */
        public Options storageLevel(StorageLevel level) {
            storageLevel = level;
            return this;
        }

        /** Allows NaN and infinite values (default: an error naming the column and the row). */
        public Options allowNonFinite(boolean allow) {
            allowNonFinite = allow;
            return this;
        }

        int rowsPerBlock(int doublesPerRow) {
            if (blockRows > 0) return blockRows;
            return (int) Math.max(1, Math.min(Integer.MAX_VALUE / Math.max(1, doublesPerRow), blockBytes / (8L * Math.max(1, doublesPerRow))));
        }
    }

    public static Options options() {
        return new Options();
    }

    private final DistTensor.Source source;
    private final List<String> names;
    private final Map<String, DistTensor> tensors = new LinkedHashMap<>();

    private DistData(DistTensor.Source source, List<String> names, List<int[]> rowShapes) {
        this.source = source;
        this.names = List.copyOf(names);
        for (int i = 0; i < names.size(); i++) {
            tensors.put(names.get(i), new DistTensor(source, i, names.size(), rowShapes.get(i), names.get(i)));
        }
    }

    // ---- sources ---------------------------------------------------------------------------------

    public static DistData fromDataset(Dataset<Row> df, String... columns) {
        return fromDataset(df, options(), columns);
    }

    /**
     * Reads numeric, {@code array<double>} (any numeric element type) and ML Vector (dense or sparse)
     * columns. Schema problems fail here on the driver; one counting job finds the rows per partition
     * and the array widths; bad cells fail the first job that reads them, naming column and row.
     */
    public static DistData fromDataset(Dataset<Row> df, Options options, String... columns) {
        RowReader reader = RowReader.forSchema(df.schema(), columns, options.allowNonFinite);
        Dataset<Row> selected = df.select(Arrays.stream(columns).map(df::col).toArray(org.apache.spark.sql.Column[]::new));
        JavaRDD<InternalRow> rows = selected.queryExecution().toRdd().toJavaRDD();
        List<long[]> counts = Jobs.run(() -> rows.mapPartitions(it -> Collections.singletonList(reader.count(it)).iterator(), true).collect());
        int n = columns.length;
        long[] offsets = new long[counts.size() + 1];
        for (int p = 0; p < counts.size(); p++) offsets[p + 1] = offsets[p] + counts.get(p)[0];
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
        int perRow = Arrays.stream(widths).sum();
        int blockRows = options.rowsPerBlock(perRow);
        JavaRDD<Block> blocks = rows.mapPartitionsWithIndex((p, it) -> reader.blocks(it, offsets[p], blockRows), true);
        blocks.setName("fromDataset " + String.join(", ", columns));
        if (options.storageLevel != null) blocks.persist(options.storageLevel);
        DistTensor.Layout layout = new DistTensor.Layout(offsets[counts.size()], counts.size());
        List<int[]> shapes = new ArrayList<>();
        for (int i = 0; i < n; i++) shapes.add(reader.rowShape(i));
        return new DistData(new DistTensor.Source(JavaSparkContext.fromSparkContext(df.sparkSession().sparkContext()), blocks, layout),
                Arrays.asList(columns), shapes);
    }

    /** Local tensors with the same number of rows, split over {@code numPartitions} partitions (no job runs). */
    public static DistData parallelize(JavaSparkContext sc, int numPartitions, Map<String, Tensor> columns) {
        return parallelize(sc, numPartitions, columns, options());
    }

    public static DistData parallelize(JavaSparkContext sc, int numPartitions, Map<String, Tensor> columns, Options options) {
        if (columns.isEmpty()) throw new IllegalArgumentException("parallelize: no columns");
        if (numPartitions < 1) throw new IllegalArgumentException("parallelize: numPartitions must be positive, got " + numPartitions);
        List<String> names = new ArrayList<>(columns.keySet());
        Tensor[] ts = columns.values().toArray(new Tensor[0]);
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
        List<List<Block>> parts = RowReader.split(ts, numPartitions, options.rowsPerBlock(perRow));
        // One element per partition (its blocks), so each task carries only its own rows.
        List<Block[]> data = new ArrayList<>();
        for (List<Block> part : parts) data.add(part.toArray(new Block[0]));
        JavaRDD<Block> blocks = sc.parallelize(data, numPartitions).flatMap(a -> Arrays.asList(a).iterator());
        blocks.setName("parallelize");
        if (options.storageLevel != null) blocks.persist(options.storageLevel);
        DistTensor.Layout layout = new DistTensor.Layout(ts[0].size(0), numPartitions);
        return new DistData(new DistTensor.Source(sc, blocks, layout), names, shapes);
    }

    static DistTensor fromRows(JavaRDD<double[]> rows, int cols, Options options) {
        if (cols < 0) throw new IllegalArgumentException("fromRows: cols must be non-negative, got " + cols);
        List<Long> counts = Jobs.run(() -> rows.mapPartitions(it -> {
            long c = 0;
            while (it.hasNext()) {
                it.next();
                c++;
            }
            return Collections.singletonList(c).iterator();
        }, true).collect());
        long[] offsets = new long[counts.size() + 1];
        for (int p = 0; p < counts.size(); p++) offsets[p + 1] = offsets[p] + counts.get(p);
        int blockRows = options.rowsPerBlock(cols);
        boolean allow = options.allowNonFinite;
        JavaRDD<Block> blocks = rows.mapPartitionsWithIndex((p, it) -> RowReader.rowBlocks(it, offsets[p], blockRows, cols, allow), true);
        blocks.setName("fromRows");
        if (options.storageLevel != null) blocks.persist(options.storageLevel);
        DistTensor.Layout layout = new DistTensor.Layout(offsets[counts.size()], counts.size());
        return new DistTensor(new DistTensor.Source(JavaSparkContext.fromSparkContext(rows.context()), blocks, layout),
                0, 1, new int[] {cols}, "fromRows");
    }

    // ---- facts -----------------------------------------------------------------------------------

    /** The column as a DistTensor (the same object on every call): {@code [N]} for a numeric column, {@code [N, width]} for arrays and vectors. */
    public DistTensor tensor(String name) {
        DistTensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("DistData has no column '" + name + "'; its columns are " + names);
        return t;
    }

    public List<String> columns() {
        return names;
    }

    public long rows() {
        return source.layout.rows;
    }

    public int numPartitions() {
        return source.layout.numPartitions;
    }

    /** The raw blocks: one tensor per column. */
    public JavaRDD<Block> blocks() {
        return source.rdd;
    }

    /** Caches the blocks (every column) at this level. */
    public DistData persist(StorageLevel level) {
        source.rdd.persist(level);
        return this;
    }

    public DistData unpersist() {
        source.rdd.unpersist(false);
        return this;
    }
}
