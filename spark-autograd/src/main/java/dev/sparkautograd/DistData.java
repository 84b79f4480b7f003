package dev.sparkautograd;

import dev.sparkautograd.dist.AutoStorageLevel;
import dev.sparkautograd.dist.Block;
import dev.sparkautograd.dist.Expr;
import dev.sparkautograd.dist.Loader;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
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

    /** How a DistData stores its dense array columns: float64 (the default) or float32 (half the bytes). */
    public enum Dtype { FLOAT64, FLOAT32 }

    /** Reading options: rows per block, storage level, whether NaN/Inf are allowed, sparse or dense, dtype. */
    public static final class Options implements Serializable {
        private static final long serialVersionUID = 1L;
        private int blockRows;
        private long blockBytes = 1 << 20;
        private StorageLevel storageLevel;
        private boolean autoStorageLevel;
        private Boolean sparse;
        private boolean allowNonFinite;
        private Dtype dtype = Dtype.FLOAT64;

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
            autoStorageLevel = false;
            return this;
        }

        /**
         * Caches the blocks at {@code MEMORY_AND_DISK_SER} when they fit the executors' storage memory, else at
         * {@code DISK_ONLY} ({@link AutoStorageLevel}: Spark's unroll of a partition that does not fit can exhaust the
         * heap at MEMORY_AND_DISK_SER), chosen on the driver once the rows and widths are known (8 bytes per value, 4 for
         * an array or vector column at {@link Dtype#FLOAT32}).
         * A sparse column counts 12 bytes a non-zero and 4 a row, known when the counting job chose sparse; when
         * {@code sparse(true)} was given its size is not known ({@link DistData#sizeInBytes} -1) and the level is MEMORY_AND_DISK_SER.
         */
        public Options autoStorageLevel() {
            storageLevel = null;
            autoStorageLevel = true;
            return this;
        }

        /** Allows NaN and infinite values (default: an error naming the column and the row). */
        public Options allowNonFinite(boolean allow) {
            allowNonFinite = allow;
            return this;
        }

        /**
         * {@code true}: ML Vector and {@code array<double>} columns are held as CSR rows (memory in proportion to the
         * non-zeros); {@code false}: dense; {@code null} (the default): the counting job decides per Vector column,
         * sparse when it is wider than 65,536 or under 10% of its entries are non-zero ({@code array<double>} stays dense).
         */
        public Options sparse(Boolean sparse) {
            this.sparse = sparse;
            return this;
        }

        /**
         * {@link Dtype#FLOAT32}: dense array and vector columns ({@code [N, d]} and wider: the features) are stored as
         * {@code float} (half the bytes cached and read), each block converted as it is read; scalar columns (labels,
         * weights, ids) and sparse ones stay float64, as do parameters, gradients and every reduction. Ops read a
         * float32 block widened to float64 (exact); a reduction's fused {@code X w} and {@code X^T g} for a vector
         * {@code w} read the floats directly. Values are rounded to float once, when read (relative error at most
         * 2^-24 each); a finite value beyond float's range is an error naming column and row.
         */
        public Options dtype(Dtype dtype) {
            if (dtype == null) throw new IllegalArgumentException("dtype must be FLOAT64 or FLOAT32, got null");
            this.dtype = dtype;
            return this;
        }

        Loader.Settings settings() {
            return new Loader.Settings(blockRows, blockBytes, storageLevel, allowNonFinite, sparse, dtype == Dtype.FLOAT32);
        }
    }

    public static Options options() {
        return new Options();
    }

    private final Loader.Columns columns;
    private final List<String> names;
    private final Map<String, DistTensor> tensors = new LinkedHashMap<>();

    private DistData(Loader.Columns columns, List<String> names) {
        this.columns = columns;
        this.names = List.copyOf(names);
        for (int i = 0; i < names.size(); i++) tensors.put(names.get(i), new DistTensor(columns.exprs.get(i)));
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
        return new DistData(Loader.fromDataset(df, options.settings(), columns), Arrays.asList(columns)).autoPersist(options);
    }

    /** Local tensors with the same number of rows, split over {@code numPartitions} partitions (no job runs). */
    public static DistData parallelize(JavaSparkContext sc, int numPartitions, Map<String, Tensor> columns) {
        return parallelize(sc, numPartitions, columns, options());
    }

    public static DistData parallelize(JavaSparkContext sc, int numPartitions, Map<String, Tensor> columns, Options options) {
        List<String> names = new ArrayList<>(columns.keySet());
        return new DistData(Loader.parallelize(sc, numPartitions, names, new ArrayList<>(columns.values()), options.settings()), names).autoPersist(options);
    }

    /** {@link Options#autoStorageLevel}: persists at the level chosen for the blocks' size (no job has read them yet). */
    private DistData autoPersist(Options options) {
        if (!options.autoStorageLevel) return this;
        long bytes = sizeInBytes();
        return persist(bytes < 0 ? StorageLevel.MEMORY_AND_DISK_SER() : AutoStorageLevel.forBlocks(columns.blocks().context(), bytes).level());
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

    /**
     * The blocks' size as cached, in bytes, known before any block is read: dense values at 8 bytes (4 for an array
     * or vector column at {@link Dtype#FLOAT32}), a sparse column's entries at 12 (value and column index) plus 4 a
     * row; -1 when not known: a sparse column whose non-zeros the counting job did not count ({@code sparse(true)}
     * given: counted only when the choice is left to it), or rows selected by {@link #selectRows}.
     */
    public long sizeInBytes() {
        return columns.bytes;
    }

    public long rows() {
        return columns.rows();
    }

    public int numPartitions() {
        return columns.numPartitions();
    }

    /** The raw blocks: one tensor per column. */
    public JavaRDD<Block> blocks() {
        return columns.blocks();
    }

    /**
     * The same columns over the blocks {@code select} makes of each partition's (partition index, its blocks in
     * order); no job runs. The returned blocks must hold {@code rows} rows in all, their {@code firstRow}s
     * numbering them from 0 in partition order. Mini-batches are drawn this way, without a shuffle.
     */
    public DistData selectRows(long rows, Function2<Integer, Iterator<Block>, Iterator<Block>> select) {
        return new DistData(Loader.select(columns, rows, select), names);
    }

    /** Caches the blocks (every column) at this level. */
    public DistData persist(StorageLevel level) {
        columns.blocks().persist(level);
        return this;
    }

    public DistData unpersist() {
        columns.blocks().unpersist(false);
        return this;
    }
}
