package dev.sparkautograd;

import dev.sparkautograd.dist.Block;
import dev.sparkautograd.dist.BlockFunction;
import dev.sparkautograd.dist.BlockOp;
import dev.sparkautograd.dist.Broadcasts;
import dev.sparkautograd.dist.Jobs;
import dev.sparkautograd.dist.Params;
import dev.sparkautograd.dist.Plan;
import dev.sparkautograd.dist.PointwiseOp;
import dev.sparkautograd.dist.TreeReduce;
import dev.sparkautograd.tensor.Pointwise;
import dev.sparkautograd.tensor.Shapes;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A tensor of shape {@code [N, ...]} whose rows are split into blocks held by the partitions of an RDD.
 *
 * <p>Ops are lazy: each returns a DistTensor whose RDD is a {@code mapPartitions} (or, for two aligned
 * operands, a {@code zipPartitions}) of its operands' RDDs named after the op, so Spark's lineage is
 * the forward graph. Shapes are checked on the driver when an op is built, before any job runs.
 * Reductions ({@link #sum()}, {@link #mean()}, {@link #sum(int, boolean)}, {@link #mean(int, boolean)})
 * run one Spark job and return ordinary local tensors whose grad_fn has the captured local parameters
 * as inputs, so {@code backward()} reaches them as it would locally.
 */
public final class DistTensor {

    /** Configuration keys read from the SparkConf. */
    public static final String TREE_DEPTH = "spark.autograd.treeDepth";
    public static final String FINAL_COMBINE_ON_EXECUTOR_ABOVE = "spark.autograd.finalCombineOnExecutorAbove";
    /**
     * Whether a reduction runs {@code matmul(w)} of data blocks fused (default true): see {@code Plan}. Read from
     * the thread's local property first ({@code sc.setLocalProperty}), then the SparkConf.
     */
    public static final String FUSE_MATMUL = "spark.autograd.fuseMatmul";
    /**
     * Whether a scalar reduction runs its element-wise tail (the ops after the last non-element-wise one,
     * e.g. {@code softplus(z) - y * z}) as one loop per op over each block's rows, without engine nodes
     * (default true): see {@code PointwiseProgram}. Read like {@link #FUSE_MATMUL}.
     */
    public static final String FUSE_POINTWISE = "spark.autograd.fusePointwise";

    private static final AtomicLong LAYOUTS = new AtomicLong();

    /** The identity of one block layout: DistTensors sharing it are aligned block for block. */
    static final class Layout {
        final long id = LAYOUTS.incrementAndGet();
        final long rows;
        final int numPartitions;

        Layout(long rows, int numPartitions) {
            this.rows = rows;
            this.numPartitions = numPartitions;
        }
    }

    /** Blocks that come from outside the graph (a dataset, rows, a local tensor, a gradient): each block holds one tensor per column. */
    static final class Source {
        final JavaSparkContext sc;
        final JavaRDD<Block> rdd;
        final Layout layout;

        Source(JavaSparkContext sc, JavaRDD<Block> rdd, Layout layout) {
            this.sc = sc;
            this.rdd = rdd;
            this.layout = layout;
        }
    }

    private final JavaSparkContext sc;
    final Layout layout;
    final int[] rowShape;
    final String name;
    // a source column ...
    final Source source;
    final int column;
    private final int sourceWidth;
    // ... or an op
    final DistTensor[] parents;
    final Tensor[] params;
    final int[] paramVersions;
    final BlockOp op;

    private JavaRDD<Block> rdd;
    private StorageLevel storage;
    private boolean checkpointed;
    private boolean requiresGrad;
    private Tensor gradToken;
    private DistTensor grad;

    DistTensor(Source source, int column, int sourceWidth, int[] rowShape, String name) {
        this.sc = source.sc;
        this.layout = source.layout;
        this.rowShape = rowShape.clone();
        this.name = name;
        this.source = source;
        this.column = column;
        this.sourceWidth = sourceWidth;
        this.parents = new DistTensor[0];
        this.params = new Tensor[0];
        this.paramVersions = new int[0];
        this.op = null;
    }

    private DistTensor(String name, DistTensor[] parents, Tensor[] params, BlockOp op, int[] rowShape) {
        this.sc = parents[0].sc;
        this.layout = parents[0].layout;
        this.rowShape = rowShape;
        this.name = name;
        this.source = null;
        this.column = 0;
        this.sourceWidth = 1;
        this.parents = parents;
        this.params = params;
        this.paramVersions = new int[params.length];
        for (int i = 0; i < params.length; i++) paramVersions[i] = params[i].version[0];
        this.op = op;
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
        return DistData.fromRows(rows, cols, DistData.options());
    }

    public static DistTensor fromRows(JavaRDD<double[]> rows, int cols, DistData.Options options) {
        return DistData.fromRows(rows, cols, options);
    }

    // ---- facts -----------------------------------------------------------------------------------

    public long rows() {
        return layout.rows;
    }

    /** The shape; the first dimension is {@link #rows()} (an error beyond Integer.MAX_VALUE rows: use rows()). */
    public int[] shape() {
        if (layout.rows > Integer.MAX_VALUE) throw new IllegalStateException(layout.rows + " rows do not fit an int shape; use rows()");
        int[] s = new int[rowShape.length + 1];
        s[0] = (int) layout.rows;
        System.arraycopy(rowShape, 0, s, 1, rowShape.length);
        return s;
    }

    public int dim() {
        return rowShape.length + 1;
    }

    public int numPartitions() {
        return layout.numPartitions;
    }

    /** The op that made this tensor ("matmul", "mapBlocks", a column name...). */
    public String name() {
        return name;
    }

    /** The blocks of this tensor (its RDD; named after the op). */
    public JavaRDD<Block> blocks() {
        return rdd();
    }

    /** All rows as one local tensor (a job; for small data and tests). */
    public Tensor collect() {
        List<Block> blocks = new ArrayList<>(Jobs.run(() -> rdd().collect()));
        blocks.sort(Comparator.comparingLong(Block::firstRow));
        if (blocks.isEmpty()) {
            int[] s = new int[rowShape.length + 1];
            System.arraycopy(rowShape, 0, s, 1, rowShape.length);
            return Tensor.zeros(s);
        }
        List<Tensor> parts = new ArrayList<>(blocks.size());
        for (Block b : blocks) parts.add(b.tensor());
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            return parts.size() == 1 ? parts.get(0).detach() : Tensor.cat(parts, 0);
        }
    }

    @Override
    public String toString() {
        return "DistTensor(shape=" + shapeStr() + ", op=" + name + ", partitions=" + layout.numPartitions + ")";
    }

    String shapeStr() {
        StringBuilder b = new StringBuilder("[").append(layout.rows);
        for (int d : rowShape) b.append(", ").append(d);
        return b.append(']').toString();
    }

    // ---- caching ---------------------------------------------------------------------------------

    /** Caches the blocks (MEMORY_AND_DISK); replays then start here instead of recomputing the lineage above. */
    public DistTensor persist() {
        return persist(StorageLevel.MEMORY_AND_DISK());
    }

    public DistTensor persist(StorageLevel level) {
        rdd().persist(level);
        storage = level;
        return this;
    }

    public DistTensor unpersist() {
        if (rdd != null && storage != null) rdd.unpersist(false);
        storage = null;
        return this;
    }

    /**
     * Materializes the blocks now and truncates their lineage (a reliable checkpoint when the
     * SparkContext has a checkpoint directory, else a local one). Runs a job.
     */
    public DistTensor checkpoint() {
        JavaRDD<Block> r = rdd();
        if (storage == null) persist();
        if (sc.getCheckpointDir().isPresent()) r.checkpoint();
        else r.rdd().localCheckpoint();
        Jobs.run(r::count);
        checkpointed = true;
        return this;
    }

    public boolean isPersisted() {
        return storage != null || checkpointed;
    }

    private JavaRDD<Block> rdd() {
        if (rdd != null) return rdd;
        if (source != null) {
            if (sourceWidth == 1) {
                rdd = source.rdd;
            } else {
                final int c = column;
                rdd = source.rdd.map(b -> new Block(b.firstRow(), b.column(c)));
                rdd.setName(name);
            }
            return rdd;
        }
        checkParamVersions();
        List<JavaRDD<Block>> in = new ArrayList<>(parents.length);
        for (DistTensor p : parents) in.add(p.rdd());
        final Params values = Params.of(params);
        final BlockOp f = op;
        final int[] columns = new int[parents.length];
        rdd = zipAll(in).mapPartitions(it -> Plan.forward(it, columns, f, values), true);
        rdd.setName(name);
        return rdd;
    }

    /** The op's parameters must still hold the values it was recorded with. */
    private void checkParamVersions() {
        for (int i = 0; i < params.length; i++) {
            Tensor p = params[i];
            if (p.version[0] != paramVersions[i]) {
                throw new IllegalStateException("a parameter of the DistTensor op '" + name + "' (shape " + Shapes.str(p.shape)
                        + ") was modified by an inplace operation after the op was recorded: it is at version " + p.version[0]
                        + "; expected version " + paramVersions[i] + ". Rebuild the DistTensor graph after updating parameters.");
            }
        }
    }

    /** The aligned tuples of several block RDDs of one layout: zipPartitions, never a shuffle. */
    static JavaRDD<Block[]> zipAll(List<JavaRDD<Block>> rdds) {
        JavaRDD<Block[]> z = rdds.get(0).mapPartitions(Plan::single, true);
        for (int i = 1; i < rdds.size(); i++) z = z.zipPartitions(rdds.get(i), Plan::append);
        return z;
    }

    // ---- autograd --------------------------------------------------------------------------------

    /** Marks this partitioned input as one whose per-row gradient {@link #grad()} is wanted (returns this). */
    public DistTensor requiresGrad_(boolean requiresGrad) {
        this.requiresGrad = requiresGrad;
        return this;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** After a backward through a reduction of this input: its per-row gradient, lazily computed, with the same blocks. */
    public DistTensor grad() {
        return grad;
    }

    /** Replaces (null clears) the accumulated per-row gradient. */
    public void setGrad(DistTensor g) {
        if (g != null && g.layout != layout) throw new IllegalArgumentException("grad must be aligned with the tensor");
        grad = g;
    }

    private Tensor gradToken() {
        if (gradToken == null) gradToken = Tensor.scalar(0).requiresGrad_(true);
        return gradToken;
    }

    // ---- ops -------------------------------------------------------------------------------------

    public DistTensor add(Tensor p) { return withParam("add", p, PointwiseOp.binary(Pointwise.ADD, PointwiseOp.Operand.PARAM)); }
    public DistTensor add(double v) { return unary("add", PointwiseOp.withConstant(Pointwise.ADD, v)); }
    public DistTensor add(DistTensor o) { return withDist("add", o, PointwiseOp.binary(Pointwise.ADD, PointwiseOp.Operand.DIST)); }
    public DistTensor sub(Tensor p) { return withParam("sub", p, PointwiseOp.binary(Pointwise.SUB, PointwiseOp.Operand.PARAM)); }
    public DistTensor sub(double v) { return unary("sub", PointwiseOp.withConstant(Pointwise.SUB, v)); }
    public DistTensor sub(DistTensor o) { return withDist("sub", o, PointwiseOp.binary(Pointwise.SUB, PointwiseOp.Operand.DIST)); }
    public DistTensor mul(Tensor p) { return withParam("mul", p, PointwiseOp.binary(Pointwise.MUL, PointwiseOp.Operand.PARAM)); }
    public DistTensor mul(double v) { return unary("mul", PointwiseOp.withConstant(Pointwise.MUL, v)); }
    public DistTensor mul(DistTensor o) { return withDist("mul", o, PointwiseOp.binary(Pointwise.MUL, PointwiseOp.Operand.DIST)); }
    public DistTensor div(Tensor p) { return withParam("div", p, PointwiseOp.binary(Pointwise.DIV, PointwiseOp.Operand.PARAM)); }
    public DistTensor div(double v) { return unary("div", PointwiseOp.withConstant(Pointwise.DIV, v)); }
    public DistTensor div(DistTensor o) { return withDist("div", o, PointwiseOp.binary(Pointwise.DIV, PointwiseOp.Operand.DIST)); }
    public DistTensor pow(Tensor p) { return withParam("pow", p, PointwiseOp.binary(Pointwise.POW, PointwiseOp.Operand.PARAM)); }
    public DistTensor pow(double e) { return unary("pow", PointwiseOp.withConstant(Pointwise.POW, e)); }
    public DistTensor pow(DistTensor o) { return withDist("pow", o, PointwiseOp.binary(Pointwise.POW, PointwiseOp.Operand.DIST)); }
    public DistTensor maximum(Tensor p) { return withParam("maximum", p, (x, q) -> x[0].maximum(q[0])); }
    public DistTensor maximum(DistTensor o) { return withDist("maximum", o, (x, q) -> x[0].maximum(x[1])); }
    public DistTensor minimum(Tensor p) { return withParam("minimum", p, (x, q) -> x[0].minimum(q[0])); }
    public DistTensor minimum(DistTensor o) { return withDist("minimum", o, (x, q) -> x[0].minimum(x[1])); }
    public DistTensor neg() { return unary("neg", PointwiseOp.unary(Pointwise.NEG)); }
    public DistTensor exp() { return unary("exp", PointwiseOp.unary(Pointwise.EXP)); }
    public DistTensor log() { return unary("log", PointwiseOp.unary(Pointwise.LOG)); }
    public DistTensor log1p() { return unary("log1p", PointwiseOp.unary(Pointwise.LOG1P)); }
    public DistTensor sqrt() { return unary("sqrt", PointwiseOp.unary(Pointwise.SQRT)); }
    public DistTensor abs() { return unary("abs", PointwiseOp.unary(Pointwise.ABS)); }
    public DistTensor sin() { return unary("sin", PointwiseOp.unary(Pointwise.SIN)); }
    public DistTensor cos() { return unary("cos", PointwiseOp.unary(Pointwise.COS)); }
    public DistTensor tanh() { return unary("tanh", PointwiseOp.unary(Pointwise.TANH)); }
    public DistTensor sigmoid() { return unary("sigmoid", PointwiseOp.unary(Pointwise.SIGMOID)); }
    public DistTensor relu() { return unary("relu", PointwiseOp.unary(Pointwise.RELU)); }
    public DistTensor softplus() { return unary("softplus", PointwiseOp.unary(Pointwise.SOFTPLUS)); }
    public DistTensor square() { return unary("square", PointwiseOp.unary(Pointwise.SQUARE)); }
    public DistTensor clamp(double min, double max) { return unary("clamp", (x, q) -> x[0].clamp(min, max)); }

    /** Each row times a local matrix (or vector): {@code [N, k] @ [k, m] -> [N, m]}, {@code [N, k] @ [k] -> [N]}. */
    public DistTensor matmul(Tensor w) { return withParam("matmul", w, dev.sparkautograd.dist.MatmulOp.INSTANCE); }

    /** Row-wise along a dimension other than the first. */
    public DistTensor softmax(int dim) { int d = rowDim("softmax", dim); return unary("softmax", (x, q) -> x[0].softmax(d)); }
    public DistTensor logSoftmax(int dim) { int d = rowDim("logSoftmax", dim); return unary("logSoftmax", (x, q) -> x[0].logSoftmax(d)); }
    public DistTensor logSumExp(int dim, boolean keepdim) { int d = rowDim("logSumExp", dim); return unary("logSumExp", (x, q) -> x[0].logSumExp(d, keepdim)); }
    /** Sum within each row along {@code dim} (not 0: for the sum over rows see {@link #sum(int, boolean)}). */
    public DistTensor sumRows(int dim, boolean keepdim) { int d = rowDim("sumRows", dim); return unary("sumRows", (x, q) -> x[0].sum(d, keepdim)); }
    /** Mean within each row along {@code dim} (not 0: for the mean over rows see {@link #mean(int, boolean)}). */
    public DistTensor meanRows(int dim, boolean keepdim) { int d = rowDim("meanRows", dim); return unary("meanRows", (x, q) -> x[0].mean(d, keepdim)); }

    /**
     * Any per-block function written with Tensor ops (Java control flow allowed), with local
     * parameters that are broadcast to the executors and receive gradients through reductions.
     * The function must keep the rows: block {@code [b, ...]} to {@code [b, ...]}.
     */
    public DistTensor mapBlocks(List<Tensor> params, BlockFunction fn) {
        return apply("mapBlocks", new DistTensor[] {this}, params.toArray(new Tensor[0]), (x, q) -> fn.apply(x[0], Arrays.asList(q)));
    }

    private int rowDim(String opName, int dim) {
        int d = Shapes.dim(dim, dim());
        if (d == 0) {
            throw new IllegalArgumentException(opName + ": dim " + dim + " is the row dimension of a DistTensor of shape " + shapeStr()
                    + "; row-wise ops work along the other dimensions");
        }
        return d;
    }

    private DistTensor unary(String opName, BlockOp f) {
        return apply(opName, new DistTensor[] {this}, new Tensor[0], f);
    }

    private DistTensor withParam(String opName, Tensor p, BlockOp f) {
        if (p == null) throw new IllegalArgumentException(opName + ": the parameter is null");
        return apply(opName, new DistTensor[] {this}, new Tensor[] {p}, f);
    }

    private DistTensor withDist(String opName, DistTensor o, BlockOp f) {
        if (o.layout != layout) {
            throw new IllegalArgumentException(opName + ": the DistTensors of shapes " + shapeStr() + " and " + o.shapeStr()
                    + " are not aligned (they come from different sources or block layouts); build both from one DistData "
                    + "(DistData.fromDataset / DistData.parallelize) so their blocks match row for row");
        }
        return apply(opName, new DistTensor[] {this, o}, new Tensor[0], f);
    }

    private DistTensor apply(String opName, DistTensor[] in, Tensor[] ps, BlockOp f) {
        for (Tensor p : ps) if (p == null) throw new IllegalArgumentException(opName + ": a parameter is null");
        return new DistTensor(opName, in, ps, f, inferRowShape(opName, in, ps, f));
    }

    /**
     * The result's row shape, found on the driver by running the op on zero blocks of 2 and of 3 rows:
     * an op that does not keep the rows, or shapes that do not combine, fail here, before any job.
     */
    private static int[] inferRowShape(String opName, DistTensor[] in, Tensor[] ps, BlockOp f) {
        int[] rest = null;
        Tensor[] detached = new Tensor[ps.length];
        for (int i = 0; i < ps.length; i++) detached[i] = ps[i].detach();
        for (int r = 2; r <= 3; r++) {
            Tensor[] blocks = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) {
                int[] s = new int[in[i].rowShape.length + 1];
                s[0] = r;
                System.arraycopy(in[i].rowShape, 0, s, 1, in[i].rowShape.length);
                blocks[i] = Tensor.zeros(s);
            }
            Tensor out;
            try (Autograd.Scope ignored = Autograd.noGrad()) {
                out = f.apply(blocks, detached);
            } catch (IllegalArgumentException | IllegalStateException | IndexOutOfBoundsException e) {
                throw new IllegalArgumentException(opName + ": " + describe(in, ps) + ": " + e.getMessage(), e);
            }
            int[] os = out == null ? null : out.shape();
            if (os == null || os.length == 0 || os[0] != r) {
                throw new IllegalArgumentException(opName + ": " + describe(in, ps) + " give a block of shape "
                        + (os == null ? "null" : Shapes.str(os)) + " from blocks of " + r + " rows: a DistTensor op must keep one result row per input row");
            }
            int[] o = Arrays.copyOfRange(os, 1, os.length);
            if (rest != null && !Arrays.equals(rest, o)) {
                throw new IllegalArgumentException(opName + ": " + describe(in, ps) + " give a result whose row shape depends on the "
                        + "number of rows in a block (" + Shapes.str(rest) + " vs " + Shapes.str(o) + "): the row dimension must not broadcast");
            }
            rest = o;
        }
        return rest;
    }

    private static String describe(DistTensor[] in, Tensor[] ps) {
        List<String> parts = new ArrayList<>();
        for (DistTensor d : in) parts.add("DistTensor of shape " + d.shapeStr());
        for (Tensor p : ps) parts.add("Tensor of shape " + Shapes.str(p.shape));
        return String.join(" and ", parts);
    }

    // ---- reductions ------------------------------------------------------------------------------

    /** The sum of every element: a local scalar with a grad_fn (one Spark job, value and parameter gradients in one pass). */
    public Tensor sum() {
        return reduce(false, false, "DistSumBackward0");
    }

    /** The mean of every element; an error for a tensor with no rows. */
    public Tensor mean() {
        return reduce(true, false, "DistMeanBackward0");
    }

    /** Sum over the rows (dim 0 only): a local tensor of the row shape. */
    public Tensor sum(int dim, boolean keepdim) {
        checkDim0("sum", dim);
        Tensor r = reduce(false, true, "DistSumBackward1");
        return keepdim ? r.unsqueeze(0) : r;
    }

    /** Mean over the rows (dim 0 only). */
    public Tensor mean(int dim, boolean keepdim) {
        checkDim0("mean", dim);
        Tensor r = reduce(true, true, "DistMeanBackward1");
        return keepdim ? r.unsqueeze(0) : r;
    }

    private void checkDim0(String opName, int dim) {
        if (Shapes.dim(dim, dim()) != 0) {
            throw new IllegalArgumentException(opName + "(" + dim + ") of a DistTensor of shape " + shapeStr()
                    + " would stay partitioned: reductions to a local tensor are over dim 0; use sumRows for a row-wise sum");
        }
    }

    /** What a reduction replays: the plan, the frontier RDDs, the captured parameters and the partitioned inputs requiring grad. */
    private static final class Graph {
        final List<JavaRDD<Block>> frontierRdds = new ArrayList<>();
        final Map<Object, Integer> rddIndex = new IdentityHashMap<>();
        final List<DistTensor> frontier = new ArrayList<>();
        final List<DistTensor> ops = new ArrayList<>();
        final List<Tensor> params = new ArrayList<>();
        final Map<Tensor, Integer> paramIndex = new IdentityHashMap<>();
        final Map<DistTensor, Boolean> dependsOnGrad = new IdentityHashMap<>();
        final Map<DistTensor, Boolean> visited = new IdentityHashMap<>();
        final boolean gradOn;

        Graph(boolean gradOn) {
            this.gradOn = gradOn;
        }

        boolean dependsOnGrad(DistTensor t) {
            Boolean b = dependsOnGrad.get(t);
            if (b != null) return b;
            boolean d = gradOn && t.requiresGrad;
            for (Tensor p : t.params) d |= gradOn && p.requiresGrad();
            for (DistTensor p : t.parents) d |= dependsOnGrad(p);
            dependsOnGrad.put(t, d);
            return d;
        }

        boolean isFrontier(DistTensor t) {
            return t.source != null || (gradOn && t.requiresGrad) || (t.isPersisted() && !dependsOnGrad(t));
        }

        void visit(DistTensor t) {
            if (visited.containsKey(t)) return;
            visited.put(t, true);
            if (isFrontier(t)) {
                frontier.add(t);
                return;
            }
            for (DistTensor p : t.parents) visit(p);
            t.checkParamVersions();
            for (int i = 0; i < t.params.length; i++) {
                Tensor p = t.params[i];
                if (!paramIndex.containsKey(p)) {
                    paramIndex.put(p, params.size());
                    params.add(p);
                }
            }
            ops.add(t);
        }

        Plan plan(DistTensor root, Plan.Reduce reduce) {
            visit(root);
            Map<DistTensor, Integer> slot = new IdentityHashMap<>();
            int[] fRdd = new int[frontier.size()], fCol = new int[frontier.size()];
            for (int i = 0; i < frontier.size(); i++) {
                DistTensor f = frontier.get(i);
                Object key = f.source != null ? f.source : f;
                Integer r = rddIndex.get(key);
                if (r == null) {
                    r = frontierRdds.size();
                    rddIndex.put(key, r);
                    frontierRdds.add(f.source != null ? f.source.rdd : f.rdd());
                }
                fRdd[i] = r;
                fCol[i] = f.source != null ? f.column : 0;
                slot.put(f, i);
            }
            BlockOp[] fs = new BlockOp[ops.size()];
            String[] names = new String[ops.size()];
            int[][] inputs = new int[ops.size()][], ps = new int[ops.size()][];
            for (int k = 0; k < ops.size(); k++) {
                DistTensor t = ops.get(k);
                fs[k] = t.op;
                names[k] = t.name;
                inputs[k] = new int[t.parents.length];
                for (int j = 0; j < t.parents.length; j++) inputs[k][j] = slot.get(t.parents[j]);
                ps[k] = new int[t.params.length];
                for (int j = 0; j < t.params.length; j++) ps[k][j] = paramIndex.get(t.params[j]);
                slot.put(t, frontier.size() + k);
            }
            int valueNumel = reduce == Plan.Reduce.ALL ? 1 : Shapes.numel(root.rowShape);
            boolean[] rowScalar = new boolean[frontier.size() + ops.size()];
            for (int i = 0; i < frontier.size(); i++) rowScalar[i] = frontier.get(i).rowShape.length == 0;
            for (int k = 0; k < ops.size(); k++) rowScalar[frontier.size() + k] = ops.get(k).rowShape.length == 0;
            return new Plan(fRdd, fCol, fs, names, inputs, ps, slot.get(root), reduce, valueNumel, rowScalar);
        }

        int slotOf(DistTensor leaf) {
            return frontier.indexOf(leaf);
        }
    }

    private Tensor reduce(boolean mean, boolean rows, String nodeName) {
        if (mean && layout.rows == 0) {
            throw new IllegalStateException((rows ? "mean(0)" : "mean()") + " of a DistTensor with no rows (an empty dataset) is undefined");
        }
        int valueNumel = rows ? Shapes.numel(rowShape) : 1;
        double count = rows ? (double) layout.rows : (double) layout.rows * Shapes.numel(rowShape);
        boolean gradOn = Autograd.isGradEnabled();
        Graph graph = new Graph(gradOn);
        Plan plan = graph.plan(this, rows ? Plan.Reduce.ROWS : Plan.Reduce.ALL);
        String fuse = sc.getLocalProperty(FUSE_MATMUL);
        plan.fuseMatmul(fuse != null ? Boolean.parseBoolean(fuse) : sc.getConf().getBoolean(FUSE_MATMUL, true));
        String program = sc.getLocalProperty(FUSE_POINTWISE);
        plan.fusePointwise(program != null ? Boolean.parseBoolean(program) : sc.getConf().getBoolean(FUSE_POINTWISE, true));
        Tensor[] ps = graph.params.toArray(new Tensor[0]);
        boolean[] needGrad = new boolean[ps.length];
        int needed = 0;
        for (int i = 0; i < ps.length; i++) {
            needGrad[i] = gradOn && ps[i].requiresGrad();
            if (needGrad[i]) needed++;
        }
        List<DistTensor> rowLeaves = new ArrayList<>();
        if (gradOn) for (DistTensor f : graph.frontier) if (f.requiresGrad) rowLeaves.add(f);
        // One pass when the result is a scalar: the job returns d(result)/d(params) beside the value.
        boolean onePass = needed > 0 && valueNumel == 1;
        Params values = Params.of(ps);
        JavaRDD<Block[]> zipped = zipAll(graph.frontierRdds);

        double[] result = runPartials(zipped, plan, values, onePass ? needGrad : new boolean[ps.length],
                onePass ? Tensor.full(mean ? 1.0 / count : 1.0, rows ? rowShape : Shapes.SCALAR) : null,
                nodeName + " of " + String.join(" > ", plan.opNames()));
        double[] v = Arrays.copyOf(result, valueNumel);
        if (mean) for (int i = 0; i < v.length; i++) v[i] /= count;
        Tensor out = Tensor.wrap(v, rows ? rowShape : Shapes.SCALAR, false);

        // The node: inputs are the parameters that need grad, then one token per partitioned input requiring grad.
        List<Tensor> inputs = new ArrayList<>();
        List<Integer> inputParam = new ArrayList<>();
        for (int i = 0; i < ps.length; i++) {
            if (needGrad[i]) {
                inputs.add(ps[i]);
                inputParam.add(i);
            }
        }
        for (DistTensor leaf : rowLeaves) inputs.add(leaf.gradToken());
        if (inputs.isEmpty()) return out;
        Tensor[] saved;
        if (onePass) {
            saved = new Tensor[needed];
            int off = valueNumel;
            for (int k = 0; k < needed; k++) {
                Tensor p = ps[inputParam.get(k)];
                saved[k] = Tensor.wrap(Arrays.copyOfRange(result, off, off + p.numel()), p.shape, false);
                off += p.numel();
            }
        } else {
            saved = ps;
        }
        final int nParams = needed;
        final double scale = mean ? 1.0 / count : 1.0;
        return Ops.record(nodeName, out, inputs.toArray(new Tensor[0]), saved, (n, g) -> {
            Tensor[] grads = new Tensor[nParams + rowLeaves.size()];
            if (onePass) {
                Tensor g0 = g.dim() == 0 ? g : g.sum();
                for (int k = 0; k < nParams; k++) if (n.needs(k)) grads[k] = g0.mul(n.saved(k));
            } else if (nParams > 0) {
                boolean[] want = new boolean[ps.length];
                boolean any = false;
                for (int k = 0; k < nParams; k++) {
                    if (n.needs(k)) {
                        want[inputParam.get(k)] = true;
                        any = true;
                    }
                }
                if (any) {
                    Tensor[] now = new Tensor[ps.length];
                    for (int i = 0; i < ps.length; i++) now[i] = n.saved(i);
                    Tensor u;
                    try (Autograd.Scope ignored = Autograd.noGrad()) {
                        u = g.detach().mul(scale);
                    }
                    double[] r = runPartials(zipped, plan, Params.of(now), want, u, nodeName + " backward");
                    int off = valueNumel;
                    for (int k = 0, i = 0; i < ps.length; i++) {
                        if (!want[i]) continue;
                        while (inputParam.get(k) != i) k++;
                        grads[k] = Tensor.wrap(Arrays.copyOfRange(r, off, off + ps[i].numel()), ps[i].shape, false);
                        off += ps[i].numel();
                    }
                }
            }
            for (int j = 0; j < rowLeaves.size(); j++) {
                if (!n.needs(nParams + j)) continue;
                DistTensor leaf = rowLeaves.get(j);
                Tensor u;
                try (Autograd.Scope ignored = Autograd.noGrad()) {
                    u = g.detach().mul(scale);
                }
                leaf.accumulateGrad(rowGrad(leaf, plan, zipped, graph.slotOf(leaf), values, Params.of(u)));
                grads[nParams + j] = Tensor.zeros();
            }
            return grads;
        });
    }

    /** One job: every partition's partial (value, then the wanted parameter gradients), tree-reduced in partition order. */
    private double[] runPartials(JavaRDD<Block[]> zipped, Plan plan, Params values, boolean[] want, Tensor u, String jobName) {
        int len = plan.valueNumelForJob();
        for (int i = 0; i < want.length; i++) if (want[i] && u != null) len += Shapes.numel(values.shape(i));
        final int length = len;
        int depth = (int) setting(TREE_DEPTH, 2);
        long finalAbove = setting(FINAL_COMBINE_ON_EXECUTOR_ABOVE, 1L << 20);
        if (depth < 1) throw new IllegalArgumentException(TREE_DEPTH + " must be at least 1, got " + depth);
        // One broadcast per job: the parameter values and the upstream gradient.
        Broadcast<Params> bc = Broadcasts.make(sc, u == null ? values : values.with(u));
        final boolean withUpstream = u != null;
        try {
            JavaRDD<double[]> partials = zipped.mapPartitions(
                    it -> Collections.singletonList(plan.partial(it, bc.value(), want, withUpstream)).iterator(), true);
            partials.setName(jobName);
            return Jobs.run(() -> TreeReduce.sum(partials, length, depth, length >= finalAbove));
        } finally {
            Broadcasts.destroy(bc);
        }
    }

    /** A setting from the thread's local properties (sc.setLocalProperty), else the SparkConf, else the default. */
    private long setting(String key, long dflt) {
        String local = sc.getLocalProperty(key);
        if (local != null) return Long.parseLong(local.trim());
        return sc.getConf().getLong(key, dflt);
    }

    private DistTensor rowGrad(DistTensor leaf, Plan plan, JavaRDD<Block[]> zipped, int leafSlot, Params values, Params u) {
        JavaRDD<Block> g = zipped.mapPartitions(it -> plan.rowGrads(it, values, leafSlot, u.tensors()[0]), true);
        g.setName("grad of " + leaf.name);
        return new DistTensor(new Source(leaf.sc, g, leaf.layout), 0, 1, leaf.rowShape, "grad");
    }

    private void accumulateGrad(DistTensor g) {
        grad = grad == null ? g : grad.add(g);
    }
}
