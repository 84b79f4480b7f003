package dev.sparkautograd.dist;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.BlockFunction;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Elementwise;
import dev.sparkautograd.tensor.Shapes;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The value behind a DistTensor: a source column (a dataset, rows, a local tensor, a gradient) or one
 * {@link Step} over aligned parent expressions and local parameters. Lazy: its RDD is the parents'
 * {@code zipPartitions} mapped by the step and named after the op, so Spark's lineage is the forward graph.
 * Row shapes are inferred on the driver when a step is added, before any job. The entry point of the
 * distributed layer for the front classes ({@code DistTensor}, {@code DistData}); not for users.
 */
public final class Expr {

    private static final AtomicLong LAYOUTS = new AtomicLong();

    /** The identity of one block layout: expressions sharing it are aligned block for block. */
    static final class Layout {
        final long id = LAYOUTS.incrementAndGet();
        final long rows;
        final int numPartitions;

        Layout(long rows, int numPartitions) {
            this.rows = rows;
            this.numPartitions = numPartitions;
        }
    }

    /** Blocks that come from outside the graph: each block holds one tensor per column. */
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

    final JavaSparkContext sc;
    final Layout layout;
    final int[] rowShape;
    final String name;
    /** Whether the blocks hold CSR rows (a sparse source column, or a sparse op of one). */
    final boolean sparse;
    // a source column ...
    final Source source;
    final int column;
    private final int sourceWidth;
    // ... or a step
    final Expr[] parents;
    final Tensor[] params;
    final int[] paramVersions;
    final Step step;

    private JavaRDD<Block> rdd;
    private StorageLevel storage;
    private boolean checkpointed;
    boolean requiresGrad;
    private Tensor gradToken;
    private Expr grad;

    Expr(Source source, int column, int sourceWidth, int[] rowShape, String name) {
        this(source, column, sourceWidth, rowShape, name, false);
    }

    Expr(Source source, int column, int sourceWidth, int[] rowShape, String name, boolean sparse) {
        this.sparse = sparse;
        this.sc = source.sc;
        this.layout = source.layout;
        this.rowShape = rowShape.clone();
        this.name = name;
        this.source = source;
        this.column = column;
        this.sourceWidth = sourceWidth;
        this.parents = new Expr[0];
        this.params = new Tensor[0];
        this.paramVersions = new int[0];
        this.step = null;
    }

    private Expr(String name, Expr[] parents, Tensor[] params, Step step, int[] rowShape) {
        this.sparse = step instanceof SparseStep s && s.sparseResult();
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
        for (int i = 0; i < params.length; i++) paramVersions[i] = params[i].version();
        this.step = step;
    }

    // ---- ops -------------------------------------------------------------------------------------

    /** A unary table op with its numeric attributes (0 where it has none). */
    public Expr elementwise(Elementwise op, double b, double c) {
        if (sparse) {
            if (op == Elementwise.NEG) return sparseOp(op.method, SparseStep.scale(-1), rowShape);
            if (op == Elementwise.SQUARE) return sparseOp(op.method, SparseStep.of(SparseStep.Kind.SQUARE), rowShape);
            if (op == Elementwise.ABS) return sparseOp(op.method, SparseStep.of(SparseStep.Kind.ABS), rowShape);
        }
        return apply(op.method, new Expr[] {this}, new Tensor[0], new ElementwiseStep(op, ElementwiseStep.Operand.NONE, b, c));
    }

    /** A binary table op with a number as the second operand. */
    public Expr elementwise(Elementwise op, double constant) {
        if (sparse && (op == Elementwise.MUL || op == Elementwise.DIV)) {
            if (!Double.isFinite(constant) || (op == Elementwise.DIV && constant == 0)) {
                throw new IllegalArgumentException(op.method + "(" + constant + ") of the sparse DistTensor of shape " + shapeStr()
                        + " would not keep its zeros zero; call toDense() first");
            }
            return sparseOp(op.method, op == Elementwise.MUL ? SparseStep.scale(constant) : SparseStep.divide(constant), rowShape);
        }
        return apply(op.method, new Expr[] {this}, new Tensor[0], new ElementwiseStep(op, ElementwiseStep.Operand.CONST, constant, 0));
    }

    /** A binary table op with a local parameter (broadcast to the executors) as the second operand. */
    public Expr elementwise(Elementwise op, Tensor param) {
        return withParam(op.method, param, new ElementwiseStep(op, ElementwiseStep.Operand.PARAM, 0, 0));
    }

    /** A binary table op with an aligned DistTensor as the second operand. */
    public Expr elementwise(Elementwise op, Expr other) {
        if (sparse) throw notForSparse(op.method);
        if (other.sparse) throw other.notForSparse(op.method);
        if (other.layout != layout) {
            throw new IllegalArgumentException(op.method + ": the DistTensors of shapes " + shapeStr() + " and " + other.shapeStr()
                    + " are not aligned (they come from different sources or block layouts); build both from one DistData "
                    + "(DistData.fromDataset / DistData.parallelize) so their blocks match row for row");
        }
        return apply(op.method, new Expr[] {this, other}, new Tensor[0], new ElementwiseStep(op, ElementwiseStep.Operand.DIST, 0, 0));
    }

    public Expr matmul(Tensor w) {
        if (!sparse) return withParam("matmul", w, MatmulStep.INSTANCE);
        if (w == null) throw new IllegalArgumentException("matmul: the parameter is null");
        if ((w.dim() != 1 && w.dim() != 2) || w.size(0) != rowShape[0]) {
            throw new IllegalArgumentException("matmul: the sparse DistTensor of shape " + shapeStr() + " and a Tensor of shape "
                    + Shapes.str(w.shape()) + " do not multiply: the parameter must be [" + rowShape[0] + "] or [" + rowShape[0] + ", k]");
        }
        int[] rs = w.dim() == 1 ? new int[0] : new int[] {w.size(1)};
        return new Expr("matmul", new Expr[] {this}, new Tensor[] {w}, SparseStep.of(SparseStep.Kind.MATMUL), rs);
    }

    /** The dense form (this expression itself when it is dense). */
    public Expr toDense() {
        return sparse ? sparseOp("toDense", SparseStep.of(SparseStep.Kind.TO_DENSE), rowShape) : this;
    }

    public boolean isSparse() {
        return sparse;
    }

    /** A step on this sparse expression's CSR blocks. */
    private Expr sparseOp(String opName, SparseStep step, int[] rowShape) {
        return new Expr(opName, new Expr[] {this}, new Tensor[0], step, rowShape.clone());
    }

    /** The error for an op that sparse tensors do not have, raised on the driver before any job. */
    IllegalArgumentException notForSparse(String opName) {
        return new IllegalArgumentException(opName + ": the DistTensor of shape " + shapeStr() + " is sparse (CSR rows), and " + opName
                + " is not defined on sparse tensors; they have matmul, mul(double), div(double), neg, square, abs, sumRows(1, keepdim) "
                + "and toDense() (call toDense() first to densify every block)");
    }

    /** Each row's ids looked up in the rows of {@code weight} ({@code [n, k]}): ids {@code [N]} give {@code [N, k]}, {@code [N, m]} give {@code [N, m, k]}. */
    public Expr embedding(Tensor weight) {
        if (weight != null && weight.dim() != 2) {
            throw new IllegalArgumentException("embedding: weight must be 2-d [n, k], got shape " + Shapes.str(weight.shape()));
        }
        return withParam("embedding", weight, EmbeddingStep.INSTANCE);
    }

    public Expr softmax(int dim) {
        return rowwise("softmax", RowwiseStep.Kind.SOFTMAX, dim, false);
    }

    public Expr logSoftmax(int dim) {
        return rowwise("logSoftmax", RowwiseStep.Kind.LOG_SOFTMAX, dim, false);
    }

    public Expr logSumExp(int dim, boolean keepdim) {
        return rowwise("logSumExp", RowwiseStep.Kind.LOG_SUM_EXP, dim, keepdim);
    }

    public Expr sumRows(int dim, boolean keepdim) {
        if (sparse && Shapes.dim(dim, rowShape.length + 1) == 1) {
            return sparseOp("sumRows", SparseStep.sumRows(keepdim), keepdim ? new int[] {1} : new int[0]);
        }
        return rowwise("sumRows", RowwiseStep.Kind.SUM, dim, keepdim);
    }

    public Expr meanRows(int dim, boolean keepdim) {
        return rowwise("meanRows", RowwiseStep.Kind.MEAN, dim, keepdim);
    }

    public Expr mapBlocks(List<Tensor> params, BlockFunction fn) {
        return apply("mapBlocks", new Expr[] {this}, params.toArray(new Tensor[0]), new FunctionStep(fn));
    }

    private Expr rowwise(String opName, RowwiseStep.Kind kind, int dim, boolean keepdim) {
        if (sparse) throw notForSparse(opName + "(" + dim + ")");
        int d = Shapes.dim(dim, rowShape.length + 1);
        if (d == 0) {
            throw new IllegalArgumentException(opName + ": dim " + dim + " is the row dimension of a DistTensor of shape " + shapeStr()
                    + "; row-wise ops work along the other dimensions");
        }
        return apply(opName, new Expr[] {this}, new Tensor[0], new RowwiseStep(kind, d, keepdim));
    }

    private Expr withParam(String opName, Tensor p, Step step) {
        if (p == null) throw new IllegalArgumentException(opName + ": the parameter is null");
        return apply(opName, new Expr[] {this}, new Tensor[] {p}, step);
    }

    private Expr apply(String opName, Expr[] in, Tensor[] ps, Step step) {
        for (Expr e : in) if (e.sparse) throw e.notForSparse(opName);
        for (Tensor p : ps) if (p == null) throw new IllegalArgumentException(opName + ": a parameter is null");
        return new Expr(opName, in, ps, step, inferRowShape(opName, in, ps, step));
    }

    /**
     * The result's row shape, found on the driver by running the step on zero blocks of 2 and of 3 rows:
     * a step that does not keep the rows, or shapes that do not combine, fail here, before any job.
     */
    private static int[] inferRowShape(String opName, Expr[] in, Tensor[] ps, Step step) {
        int[] rest = null;
        Tensor[] detached = new Tensor[ps.length];
        // a user's function may write into its parameters: it gets copies here, so inferring the shape on the driver
        // leaves the user's tensors as they were (detach() alone shares their storage)
        for (int i = 0; i < ps.length; i++) detached[i] = step.mayWriteParams() ? ps[i].detach().clone() : ps[i].detach();
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
                out = step.apply(blocks, detached);
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

    private static String describe(Expr[] in, Tensor[] ps) {
        List<String> parts = new ArrayList<>();
        for (Expr d : in) parts.add("DistTensor of shape " + d.shapeStr());
        for (Tensor p : ps) parts.add("Tensor of shape " + Shapes.str(p.shape()));
        return String.join(" and ", parts);
    }

    // ---- facts -----------------------------------------------------------------------------------

    public long rows() {
        return layout.rows;
    }

    public int numPartitions() {
        return layout.numPartitions;
    }

    public int[] rowShape() {
        return rowShape.clone();
    }

    public String name() {
        return name;
    }

    public String shapeStr() {
        StringBuilder b = new StringBuilder("[").append(layout.rows);
        for (int d : rowShape) b.append(", ").append(d);
        return b.append(']').toString();
    }

    /** All rows as one local tensor (a job; for small data and tests). */
    public Tensor collect() {
        List<Block> blocks = new ArrayList<>(Actions.run(() -> rdd().collect()));
        blocks.sort(Comparator.comparingLong(Block::firstRow));
        if (blocks.isEmpty()) {
            int[] s = new int[rowShape.length + 1];
            System.arraycopy(rowShape, 0, s, 1, rowShape.length);
            return Tensor.zeros(s);
        }
        List<Tensor> parts = new ArrayList<>(blocks.size());
        for (Block b : blocks) parts.add(b.isSparse(0) ? b.csr(0).toDense() : b.tensor());
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            return parts.size() == 1 ? parts.get(0).detach() : Tensor.cat(parts, 0);
        }
    }

    // ---- caching ---------------------------------------------------------------------------------

    public void persist(StorageLevel level) {
        rdd().persist(level);
        storage = level;
    }

    public void unpersist() {
        if (rdd != null && storage != null) rdd.unpersist(false);
        storage = null;
    }

    /** Materializes the blocks now and truncates their lineage (reliable with a checkpoint directory, else local). */
    public void checkpoint() {
        JavaRDD<Block> r = rdd();
        if (storage == null) persist(StorageLevel.MEMORY_AND_DISK());
        if (sc.getCheckpointDir().isPresent()) r.checkpoint();
        else r.rdd().localCheckpoint();
        Actions.run(r::count);
        checkpointed = true;
    }

    public boolean isPersisted() {
        return storage != null || checkpointed;
    }

    /** The blocks (the step applied to the parents' zipped blocks, named after the op). */
    public JavaRDD<Block> rdd() {
        if (rdd != null) return rdd;
        if (source != null) {
            if (sourceWidth == 1) {
                rdd = source.rdd;
            } else {
                final int c = column;
                rdd = source.rdd.map(b -> b.select(c));
                rdd.setName(name);
            }
            return rdd;
        }
        checkParamVersions();
        List<JavaRDD<Block>> in = new ArrayList<>(parents.length);
        for (Expr p : parents) in.add(p.rdd());
        if (step instanceof SparseStep s && s.sparseResult()) {
            rdd = in.get(0).map(b -> new Block(b.firstRow(), s.map(b.csr(0))));
            rdd.setName(name);
            return rdd;
        }
        final Params values = Params.of(params);
        final Step f = step;
        final int[] columns = new int[parents.length];
        rdd = zipAll(in).mapPartitions(it -> Plan.forward(it, columns, f, values), true);
        rdd.setName(name);
        return rdd;
    }

    /** The step's parameters must still hold the values it was recorded with. */
    void checkParamVersions() {
        for (int i = 0; i < params.length; i++) {
            Tensor p = params[i];
            if (p.version() != paramVersions[i]) {
                throw new IllegalStateException("a parameter of the DistTensor op '" + name + "' (shape " + Shapes.str(p.shape())
                        + ") was modified by an inplace operation after the op was recorded: it is at version " + p.version()
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

    public void requiresGrad_(boolean requiresGrad) {
        if (requiresGrad && sparse) {
            throw new IllegalArgumentException("requiresGrad_: per-row gradients of the sparse DistTensor of shape " + shapeStr()
                    + " are not supported (its rows are CSR); gradients reach the parameters it multiplies, or call toDense() first");
        }
        this.requiresGrad = requiresGrad;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** After a backward through a reduction of this input: its per-row gradient, with the same blocks. */
    public Expr grad() {
        return grad;
    }

    public void setGrad(Expr g) {
        if (g != null && g.layout != layout) throw new IllegalArgumentException("grad must be aligned with the tensor");
        grad = g;
    }

    /** A scalar leaf standing for this input in a reduction's node, so the engine reaches the node's backward for it. */
    Tensor gradToken() {
        if (gradToken == null) gradToken = Tensor.scalar(0).requiresGrad_(true);
        return gradToken;
    }

    void accumulateGrad(Expr g) {
        grad = grad == null ? g : grad.elementwise(Elementwise.ADD, g);
    }

    // ---- reductions ------------------------------------------------------------------------------

    /** The sum (or mean) of every element: a local scalar whose grad_fn is named {@code nodeName}. */
    public Tensor reduceAll(boolean mean, String nodeName) {
        if (sparse) throw notForSparse(mean ? "mean" : "sum");
        return Reduction.run(this, mean, false, nodeName);
    }

    /** The sum (or mean) over the rows ({@code dim} must be 0): a local tensor of the row shape. */
    public Tensor reduceRows(String opName, int dim, boolean mean, String nodeName) {
        if (sparse) throw notForSparse(opName);
        if (Shapes.dim(dim, rowShape.length + 1) != 0) {
            throw new IllegalArgumentException(opName + "(" + dim + ") of a DistTensor of shape " + shapeStr()
                    + " would stay partitioned: reductions to a local tensor are over dim 0; use sumRows for a row-wise sum");
        }
        return Reduction.run(this, mean, true, nodeName);
    }
}
