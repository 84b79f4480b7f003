package dev.sparkautograd;

import dev.sparkautograd.dist.Block;
import dev.sparkautograd.dist.Expr;
import dev.sparkautograd.dist.Loader;
import dev.sparkautograd.tensor.Elementwise;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tensor of shape {@code [N, ...]} whose rows are split into blocks held by the partitions of an RDD.
 *
 * <p>Ops are lazy: each returns a DistTensor whose RDD is a {@code mapPartitions} (or, for two aligned
 * operands, a {@code zipPartitions}) of its operands' RDDs named after the op, so Spark's lineage is
 * the forward graph. Shapes are checked on the driver when an op is built, before any job runs.
 * Reductions ({@link #sum()}, {@link #mean()}, {@link #sum(int, boolean)}, {@link #mean(int, boolean)})
 * run one Spark job and return ordinary local tensors whose grad_fn has the captured local parameters
 * as inputs, so {@code backward()} reaches them as it would locally. How: docs/ARCHITECTURE.md.
 */
public final class DistTensor {

    /** Configuration keys, read from the thread's local properties ({@code sc.setLocalProperty}) first, then the SparkConf. */
    public static final String TREE_DEPTH = "spark.autograd.treeDepth";
    /** The tree reduce's final combine runs on an executor when the partials the driver would receive hold this many doubles together (default 2^23). */
    public static final String FINAL_COMBINE_ON_EXECUTOR_ABOVE = "spark.autograd.finalCombineOnExecutorAbove";
    /** Whether a reduction runs {@code matmul(w)} of data blocks fused (default true). */
    public static final String FUSE_MATMUL = "spark.autograd.fuseMatmul";
    /**
     * Whether a scalar reduction runs its element-wise tail (the ops after the last non-element-wise one,
     * e.g. {@code softplus(z) - y * z}) as one loop per op over each block's rows, without engine nodes (default true).
     */
    public static final String FUSE_POINTWISE = "spark.autograd.fusePointwise";
    /**
     * Whether a wholly fused scalar reduction ({@code X w} and an element-wise tail, as a logistic loss) reads each
     * row once, in tiles that stay in cache (default false: slower than two BLAS passes where memory is fast).
     */
    public static final String ONE_READ_PASS = "spark.autograd.oneReadPass";
    /**
     * Whether a partition's gradient of a wide parameter travels as (row indices, values) when it touched under a
     * quarter of the parameter's rows (default true; the sum has the same bits either way).
     */
    public static final String SPARSE_PARTIALS = "spark.autograd.sparsePartials";

    private final Expr expr;

    DistTensor(Expr expr) {
        this.expr = expr;
    }

    // ---- making one ------------------------------------------------------------------------------

    /** Rows of a local tensor split evenly over {@code numPartitions} partitions (no job runs). */
    public static DistTensor parallelize(JavaSparkContext sc, Tensor local, int numPartitions) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("parallelize", local);
        return DistData.parallelize(sc, numPartitions, m).tensor("parallelize");
    }

    /** Rows of {@code cols} values each (one counting job; rows of another length are an error naming the row). */
    public static DistTensor fromRows(JavaRDD<double[]> rows, int cols) {
        return fromRows(rows, cols, DistData.options());
    }

    public static DistTensor fromRows(JavaRDD<double[]> rows, int cols, DistData.Options options) {
        return new DistTensor(Loader.fromRows(rows, cols, options.settings()));
    }

    // ---- facts -----------------------------------------------------------------------------------

    public long rows() {
        return expr.rows();
    }

    /** The shape; the first dimension is {@link #rows()} (an error beyond Integer.MAX_VALUE rows: use rows()). */
    public int[] shape() {
        if (rows() > Integer.MAX_VALUE) throw new IllegalStateException(rows() + " rows do not fit an int shape; use rows()");
        int[] rowShape = expr.rowShape();
        int[] s = new int[rowShape.length + 1];
        s[0] = (int) rows();
        System.arraycopy(rowShape, 0, s, 1, rowShape.length);
        return s;
    }

    public int dim() {
        return expr.rowShape().length + 1;
    }

    public int numPartitions() {
        return expr.numPartitions();
    }

    /** Whether the blocks hold CSR rows (see {@link DistData.Options#sparse}); a sparse tensor has only a few ops, see {@link #toDense()}. */
    public boolean isSparse() {
        return expr.isSparse();
    }

    /** The op that made this tensor ("matmul", "mapBlocks", a column name...). */
    public String name() {
        return expr.name();
    }

    /** The blocks of this tensor (its RDD; named after the op). */
    public JavaRDD<Block> blocks() {
        return expr.rdd();
    }

    /** All rows as one local tensor (a job; for small data and tests). */
    public Tensor collect() {
        return expr.collect();
    }

    @Override
    public String toString() {
        return "DistTensor(shape=" + expr.shapeStr() + ", op=" + expr.name() + ", partitions=" + numPartitions() + ")";
    }

    // ---- caching ---------------------------------------------------------------------------------

    /** Caches the blocks (MEMORY_AND_DISK); replays then start here instead of recomputing the lineage above. */
    public DistTensor persist() {
        return persist(StorageLevel.MEMORY_AND_DISK());
    }

    public DistTensor persist(StorageLevel level) {
        expr.persist(level);
        return this;
    }

    public DistTensor unpersist() {
        expr.unpersist();
        return this;
    }

    /** Materializes the blocks now and truncates their lineage (reliable with a checkpoint directory, else local). Runs a job. */
    public DistTensor checkpoint() {
        expr.checkpoint();
        return this;
    }

    public boolean isPersisted() {
        return expr.isPersisted();
    }

    // ---- autograd --------------------------------------------------------------------------------

    /** Marks this partitioned input as one whose per-row gradient {@link #grad()} is wanted (returns this). */
    public DistTensor requiresGrad_(boolean requiresGrad) {
        expr.requiresGrad_(requiresGrad);
        return this;
    }

    public boolean requiresGrad() {
        return expr.requiresGrad();
    }

    /** After a backward through a reduction of this input: its per-row gradient, lazily computed, with the same blocks. */
    public DistTensor grad() {
        Expr g = expr.grad();
        return g == null ? null : new DistTensor(g);
    }

    /** Replaces (null clears) the accumulated per-row gradient. */
    public void setGrad(DistTensor g) {
        expr.setGrad(g == null ? null : g.expr);
    }

    // ---- ops: element-wise (the op table), with a local parameter, a number or an aligned DistTensor ------------

    public DistTensor add(Tensor p) { return of(expr.elementwise(Elementwise.ADD, p)); }
    public DistTensor add(double v) { return of(expr.elementwise(Elementwise.ADD, v)); }
    public DistTensor add(DistTensor o) { return of(expr.elementwise(Elementwise.ADD, o.expr)); }
    public DistTensor sub(Tensor p) { return of(expr.elementwise(Elementwise.SUB, p)); }
    public DistTensor sub(double v) { return of(expr.elementwise(Elementwise.SUB, v)); }
    public DistTensor sub(DistTensor o) { return of(expr.elementwise(Elementwise.SUB, o.expr)); }
    public DistTensor mul(Tensor p) { return of(expr.elementwise(Elementwise.MUL, p)); }
    public DistTensor mul(double v) { return of(expr.elementwise(Elementwise.MUL, v)); }
    public DistTensor mul(DistTensor o) { return of(expr.elementwise(Elementwise.MUL, o.expr)); }
    public DistTensor div(Tensor p) { return of(expr.elementwise(Elementwise.DIV, p)); }
    public DistTensor div(double v) { return of(expr.elementwise(Elementwise.DIV, v)); }
    public DistTensor div(DistTensor o) { return of(expr.elementwise(Elementwise.DIV, o.expr)); }
    public DistTensor pow(Tensor p) { return of(expr.elementwise(Elementwise.POW, p)); }
    public DistTensor pow(double e) { return of(expr.elementwise(Elementwise.POW_SCALAR, e, 0)); }
    public DistTensor pow(DistTensor o) { return of(expr.elementwise(Elementwise.POW, o.expr)); }
    public DistTensor maximum(Tensor p) { return of(expr.elementwise(Elementwise.MAXIMUM, p)); }
    public DistTensor maximum(DistTensor o) { return of(expr.elementwise(Elementwise.MAXIMUM, o.expr)); }
    public DistTensor minimum(Tensor p) { return of(expr.elementwise(Elementwise.MINIMUM, p)); }
    public DistTensor minimum(DistTensor o) { return of(expr.elementwise(Elementwise.MINIMUM, o.expr)); }
    public DistTensor neg() { return unary(Elementwise.NEG); }
    public DistTensor exp() { return unary(Elementwise.EXP); }
    public DistTensor expm1() { return unary(Elementwise.EXPM1); }
    public DistTensor log() { return unary(Elementwise.LOG); }
    public DistTensor log2() { return unary(Elementwise.LOG2); }
    public DistTensor log1p() { return unary(Elementwise.LOG1P); }
    public DistTensor sqrt() { return unary(Elementwise.SQRT); }
    public DistTensor abs() { return unary(Elementwise.ABS); }
    public DistTensor sin() { return unary(Elementwise.SIN); }
    public DistTensor cos() { return unary(Elementwise.COS); }
    public DistTensor sinh() { return unary(Elementwise.SINH); }
    public DistTensor cosh() { return unary(Elementwise.COSH); }
    public DistTensor tanh() { return unary(Elementwise.TANH); }
    public DistTensor sigmoid() { return unary(Elementwise.SIGMOID); }
    public DistTensor relu() { return unary(Elementwise.RELU); }
    public DistTensor softplus() { return unary(Elementwise.SOFTPLUS); }
    public DistTensor square() { return unary(Elementwise.SQUARE); }
    public DistTensor clamp(double min, double max) { return of(expr.elementwise(Elementwise.CLAMP, min, max)); }

    // ---- ops: products and row-wise ---------------------------------------------------------------

    /** Each row times a local matrix (or vector): {@code [N, k] @ [k, m] -> [N, m]}, {@code [N, k] @ [k] -> [N]}. */
    public DistTensor matmul(Tensor w) { return of(expr.matmul(w)); }

    /**
     * The dense form of a sparse tensor (this tensor when it is dense). Sparse tensors have {@code matmul},
     * {@code mul(double)}, {@code div(double)}, {@code neg}, {@code square}, {@code abs}, {@code sumRows(1, keepdim)}
     * and this; any other op fails on the driver saying the tensor is sparse.
     */
    public DistTensor toDense() { return expr.isSparse() ? of(expr.toDense()) : this; }

    /**
     * Ids looked up in the rows of a local {@code weight} {@code [n, k]} ({@code Tensor.embedding} per row): an id
     * column {@code [N]} gives {@code [N, k]}, an id array column {@code [N, m]} gives {@code [N, m, k]}; the weight's
     * gradient scatter-adds. A bad id fails the job naming the row and the id.
     */
    public DistTensor embedding(Tensor weight) { return of(expr.embedding(weight)); }

    /** Row-wise along a dimension other than the first. */
    public DistTensor softmax(int dim) { return of(expr.softmax(dim)); }
    public DistTensor logSoftmax(int dim) { return of(expr.logSoftmax(dim)); }
    public DistTensor logSumExp(int dim, boolean keepdim) { return of(expr.logSumExp(dim, keepdim)); }
    /** Sum within each row along {@code dim} (not 0: for the sum over rows see {@link #sum(int, boolean)}). */
    public DistTensor sumRows(int dim, boolean keepdim) { return of(expr.sumRows(dim, keepdim)); }
    /** Mean within each row along {@code dim} (not 0: for the mean over rows see {@link #mean(int, boolean)}). */
    public DistTensor meanRows(int dim, boolean keepdim) { return of(expr.meanRows(dim, keepdim)); }

    /**
     * Any per-block function written with Tensor ops (Java control flow allowed), with local
     * parameters that are broadcast to the executors and receive gradients through reductions.
     * The function must keep the rows: block {@code [b, ...]} to {@code [b, ...]}.
     */
    public DistTensor mapBlocks(List<Tensor> params, BlockFunction fn) { return of(expr.mapBlocks(params, fn)); }

    private DistTensor unary(Elementwise op) {
        return of(expr.elementwise(op, 0, 0));
    }

    private static DistTensor of(Expr e) {
        return new DistTensor(e);
    }

    // ---- reductions ------------------------------------------------------------------------------

    /** The sum of every element: a local scalar with a grad_fn (one Spark job, value and parameter gradients in one pass). */
    public Tensor sum() {
        return expr.reduceAll(false, "DistSumBackward0");
    }

    /** The mean of every element; an error for a tensor with no rows. */
    public Tensor mean() {
        return expr.reduceAll(true, "DistMeanBackward0");
    }

    /** Sum over the rows (dim 0 only): a local tensor of the row shape. */
    public Tensor sum(int dim, boolean keepdim) {
        Tensor r = expr.reduceRows("sum", dim, false, "DistSumBackward1");
        return keepdim ? r.unsqueeze(0) : r;
    }

    /** Mean over the rows (dim 0 only). */
    public Tensor mean(int dim, boolean keepdim) {
        Tensor r = expr.reduceRows("mean", dim, true, "DistMeanBackward1");
        return keepdim ? r.unsqueeze(0) : r;
    }
}
