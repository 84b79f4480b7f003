package dev.sparkautograd.dist;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Shapes;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A reduction of a DistTensor to a local tensor: plans the block graph under it, runs the Spark job and
 * records the result as one local autograd node (a custom {@link Autograd#function}) whose inputs are the
 * captured parameters that require grad, so {@code backward()} reaches them as it would locally.
 *
 * <p>For a scalar, the value and the parameter gradients come out of the same job (backward is linear in
 * the upstream gradient, so the job computes d(result)/d(params) and the node's backward only scales it):
 * one pass over the data per training step. Otherwise the backward runs a second, vector-Jacobian job.
 * With createGraph, a scalar's backward returns the gradient as a node of its own whose backward is a
 * Hessian-vector product job (second order; a non-scalar's is an error).
 * Partials are summed by {@link TreeReduce} in partition order: the same bits whatever the scheduling.
 */
final class Reduction {
    private Reduction() {}

    /** Configuration keys read from the thread's local properties ({@code sc.setLocalProperty}), then the SparkConf. */
    static final String TREE_DEPTH = "spark.autograd.treeDepth";
    static final String FINAL_COMBINE_ON_EXECUTOR_ABOVE = "spark.autograd.finalCombineOnExecutorAbove";
    static final String FUSE_MATMUL = "spark.autograd.fuseMatmul";
    static final String FUSE_POINTWISE = "spark.autograd.fusePointwise";
    static final String SPARSE_PARTIALS = "spark.autograd.sparsePartials";
    static final String ONE_READ_PASS = "spark.autograd.oneReadPass";
    /** Parameter bundles under this many bytes travel in the task closure; larger ones as a broadcast. */
    static final String INLINE_PARAMS_BELOW = "spark.autograd.inlineParamsBelow";

    /** What a reduction replays: the frontier (sources, persisted ancestors, inputs requiring grad), the steps, the parameters. */
    private static final class Planner {
        final List<JavaRDD<Block>> frontierRdds = new ArrayList<>();
        final Map<Object, Integer> rddIndex = new IdentityHashMap<>();
        final List<Expr> frontier = new ArrayList<>();
        final List<Expr> ops = new ArrayList<>();
        final List<Tensor> params = new ArrayList<>();
        final Map<Tensor, Integer> paramIndex = new IdentityHashMap<>();
        final Map<Expr, Boolean> dependsOnGrad = new IdentityHashMap<>();
        final Map<Expr, Boolean> visited = new IdentityHashMap<>();
        final boolean gradOn;

        Planner(boolean gradOn) {
            this.gradOn = gradOn;
        }

        boolean dependsOnGrad(Expr t) {
            Boolean b = dependsOnGrad.get(t);
            if (b != null) return b;
            boolean d = gradOn && t.requiresGrad;
            for (Tensor p : t.params) d |= gradOn && p.requiresGrad();
            for (Expr p : t.parents) d |= dependsOnGrad(p);
            dependsOnGrad.put(t, d);
            return d;
        }

        boolean isFrontier(Expr t) {
            // A sparse expression is read as CSR blocks (its RDD maps them): the plan replays only the dense ops after it.
            return t.source != null || t.sparse || (gradOn && t.requiresGrad) || (t.isPersisted() && !dependsOnGrad(t));
        }

        void visit(Expr t) {
            if (visited.containsKey(t)) return;
            visited.put(t, true);
            if (isFrontier(t)) {
                frontier.add(t);
                return;
            }
            for (Expr p : t.parents) visit(p);
            t.checkParamVersions();
            for (Tensor p : t.params) {
                if (!paramIndex.containsKey(p)) {
                    paramIndex.put(p, params.size());
                    params.add(p);
                }
            }
            ops.add(t);
        }

        Plan plan(Expr root, Plan.Reduce reduce) {
            visit(root);
            Map<Expr, Integer> slot = new IdentityHashMap<>();
            int[] fRdd = new int[frontier.size()], fCol = new int[frontier.size()];
            for (int i = 0; i < frontier.size(); i++) {
                Expr f = frontier.get(i);
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
            Step[] steps = new Step[ops.size()];
            String[] names = new String[ops.size()];
            int[][] inputs = new int[ops.size()][], ps = new int[ops.size()][];
            for (int k = 0; k < ops.size(); k++) {
                Expr t = ops.get(k);
                steps[k] = t.step;
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
            boolean[] matrixTimesParam = new boolean[ops.size()];
            for (int k = 0; k < ops.size(); k++) {
                Expr t = ops.get(k);
                rowScalar[frontier.size() + k] = t.rowShape.length == 0;
                matrixTimesParam[k] = t.parents.length == 1 && t.params.length == 1 && t.parents[0].rowShape.length == 1
                        && (t.params[0].dim() == 1 || t.params[0].dim() == 2);
            }
            Plan plan = new Plan(fRdd, fCol, steps, names, inputs, ps, slot.get(root), reduce, valueNumel, rowScalar, matrixTimesParam);
            boolean[] sparseSlots = new boolean[frontier.size()];
            for (int i = 0; i < frontier.size(); i++) sparseSlots[i] = frontier.get(i).sparse;
            plan.sparseSlots(sparseSlots);
            return plan;
        }
    }

    static Tensor run(Expr root, boolean mean, boolean rows, String nodeName) {
        long nRows = root.layout.rows;
        if (mean && nRows == 0) {
            throw new IllegalStateException((rows ? "mean(0)" : "mean()") + " of a DistTensor with no rows (an empty dataset) is undefined");
        }
        JavaSparkContext sc = root.sc;
        int[] rowShape = root.rowShape;
        int valueNumel = rows ? Shapes.numel(rowShape) : 1;
        double count = rows ? (double) nRows : (double) nRows * Shapes.numel(rowShape);
        boolean gradOn = Autograd.isGradEnabled();
        Planner planner = new Planner(gradOn);
        Plan plan = planner.plan(root, rows ? Plan.Reduce.ROWS : Plan.Reduce.ALL);
        plan.fuseMatmul(flag(sc, FUSE_MATMUL));
        plan.fusePointwise(flag(sc, FUSE_POINTWISE));
        plan.sparsePartials(flag(sc, SPARSE_PARTIALS));
        plan.oneReadPass(flag(sc, ONE_READ_PASS, false));
        Tensor[] ps = planner.params.toArray(new Tensor[0]);
        boolean[] needGrad = new boolean[ps.length];
        int needed = 0;
        for (int i = 0; i < ps.length; i++) {
            needGrad[i] = gradOn && ps[i].requiresGrad();
            if (needGrad[i]) needed++;
        }
        List<Expr> rowLeaves = new ArrayList<>();
        if (gradOn) for (Expr f : planner.frontier) if (f.requiresGrad) rowLeaves.add(f);
        // One pass when the result is a scalar: the job returns d(result)/d(params) beside the value.
        boolean onePass = needed > 0 && valueNumel == 1;
        Params values = Params.of(ps);
        JavaRDD<Block[]> zipped = StepCalls.zipAll(planner.frontierRdds);

        double[] result = runPartials(sc, zipped, plan, values, onePass ? needGrad : new boolean[ps.length],
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
        for (Expr leaf : rowLeaves) inputs.add(leaf.gradToken());
        if (inputs.isEmpty()) return out;
        List<Tensor> saved = new ArrayList<>();
        if (onePass) {
            int off = valueNumel;
            for (int k = 0; k < needed; k++) {
                Tensor p = ps[inputParam.get(k)];
                saved.add(Tensor.wrap(Arrays.copyOfRange(result, off, off + p.numel()), p.shape(), false));
                off += p.numel();
            }
        } else {
            saved.addAll(Arrays.asList(ps));
        }
        final int nParams = needed;
        final double scale = mean ? 1.0 / count : 1.0;
        return Autograd.function(nodeName, out, inputs, saved, (n, g) -> {
            Tensor[] grads = new Tensor[nParams + rowLeaves.size()];
            if (onePass) {
                Tensor g0 = g.dim() == 0 ? g : g.sum();
                if (Autograd.isGradEnabled()) {
                    // createGraph: the gradient as a function of the parameters, its backward a Hessian-vector product job
                    Tensor[] gradient = differentiableGradient(nodeName, n, inputParam, ps, sc, zipped, plan, values, scale);
                    for (int k = 0; k < nParams; k++) if (n.needsInputGrad(k)) grads[k] = g0.mul(gradient[k]);
                } else {
                    for (int k = 0; k < nParams; k++) if (n.needsInputGrad(k)) grads[k] = g0.mul(n.saved(k));
                }
            } else if (nParams > 0) {
                if (Autograd.isGradEnabled()) {
                    throw new IllegalStateException(nodeName + ": createGraph through a distributed reduction to a non-scalar (shape "
                            + Shapes.str(out.shape()) + ") is not supported; reduce the DistTensor to a scalar (sum() or mean()) to differentiate twice");
                }
                boolean[] want = new boolean[ps.length];
                boolean any = false;
                for (int k = 0; k < nParams; k++) {
                    if (n.needsInputGrad(k)) {
                        want[inputParam.get(k)] = true;
                        any = true;
                    }
                }
                if (any) {
                    Tensor[] now = new Tensor[ps.length];
                    for (int i = 0; i < ps.length; i++) now[i] = n.saved(i);
                    double[] r = runPartials(sc, zipped, plan, Params.of(now), want, scaled(g, scale), nodeName + " backward");
                    int off = valueNumel;
                    for (int k = 0, i = 0; i < ps.length; i++) {
                        if (!want[i]) continue;
                        while (inputParam.get(k) != i) k++;
                        grads[k] = Tensor.wrap(Arrays.copyOfRange(r, off, off + ps[i].numel()), ps[i].shape(), false);
                        off += ps[i].numel();
                    }
                }
            }
            for (int j = 0; j < rowLeaves.size(); j++) {
                if (!n.needsInputGrad(nParams + j)) continue;
                Expr leaf = rowLeaves.get(j);
                leaf.accumulateGrad(rowGrad(leaf, plan, zipped, planner.frontier.indexOf(leaf), values, Params.of(scaled(g, scale))));
                grads[nParams + j] = Tensor.zeros();
            }
            return grads;
        });
    }

    private static Tensor scaled(Tensor g, double scale) {
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            return g.detach().mul(scale);
        }
    }

    /**
     * The gradient of a scalar reduction ({@code scale} times the sum of the blocks' gradients, saved by its node) as a
     * differentiable function of the parameters that need grad: one node whose output is every gradient flattened and
     * whose backward, for an upstream {@code u}, is the Hessian-vector product {@code H u}: one job in which each block
     * differentiates {@code (block gradient) . u} with the local engine (reverse over reverse, exact per block), the
     * partials summed by the same tree reduce as the gradient. No job runs here.
     */
    private static Tensor[] differentiableGradient(String nodeName, Autograd.BackwardContext reduction, List<Integer> inputParam,
                                                   Tensor[] ps, JavaSparkContext sc, JavaRDD<Block[]> zipped, Plan plan,
                                                   Params values, double scale) {
        int wanted = inputParam.size();
        List<Tensor> wantedParams = new ArrayList<>(wanted);
        boolean[] want = new boolean[ps.length];
        int total = 0;
        for (int i : inputParam) {
            wantedParams.add(ps[i]);
            want[i] = true;
            total += ps[i].numel();
        }
        double[] flat = new double[total];
        for (int k = 0, off = 0; k < wanted; k++) {
            double[] gk = reduction.saved(k).toArray();
            System.arraycopy(gk, 0, flat, off, gk.length);
            off += gk.length;
        }
        final int length = total;
        String productName = nodeName + "Backward";
        Tensor gradient = Autograd.function(productName, Tensor.wrap(flat, new int[] {total}, false), wantedParams, wantedParams, (n, u) -> {
            for (int k = 0; k < wanted; k++) n.saved(k); // the parameters must still hold the values the gradient is of
            Tensor[] directions = new Tensor[wanted];
            try (Autograd.Scope ignored = Autograd.noGrad()) {
                Tensor scaled = u.detach().mul(scale);
                for (int k = 0, off = 0; k < wanted; k++) {
                    int len = wantedParams.get(k).numel();
                    directions[k] = scaled.slice(0, off, off + len).reshape(wantedParams.get(k).shape());
                    off += len;
                }
            }
            double[] r = runProduct(sc, zipped, plan, values, want, directions, length, productName + " (Hessian-vector product)");
            // H u depends on the parameters and on u: differentiable once, as PyTorch's once_differentiable
            List<Tensor> dependsOn = new ArrayList<>(wantedParams);
            dependsOn.add(u);
            Tensor[] hv = new Tensor[wanted];
            for (int k = 0, off = 0; k < wanted; k++) {
                int len = wantedParams.get(k).numel();
                hv[k] = Autograd.function(productName + "Backward", Tensor.wrap(Arrays.copyOfRange(r, off, off + len),
                        wantedParams.get(k).shape(), false), dependsOn, null, (n3, gg) -> {
                    throw new IllegalStateException(productName + ": third derivatives through a distributed reduction are not "
                            + "supported (its Hessian-vector product is differentiable once)");
                });
                off += len;
            }
            return hv;
        });
        Tensor[] out = new Tensor[wanted];
        for (int k = 0, off = 0; k < wanted; k++) {
            int len = wantedParams.get(k).numel();
            out[k] = gradient.slice(0, off, off + len).reshape(wantedParams.get(k).shape());
            off += len;
        }
        return out;
    }

    /** One job: {@code H d} over every block for the directions {@code d} of the wanted parameters, tree-reduced in partition order. */
    private static double[] runProduct(JavaSparkContext sc, JavaRDD<Block[]> zipped, Plan plan, Params values, boolean[] want,
                                       Tensor[] directions, int length, String jobName) {
        Params bundle = values;
        for (Tensor d : directions) bundle = bundle.with(d);
        Params.Shipped shipped = ship(sc, bundle);
        try {
            JavaRDD<double[]> partials = StepCalls.mapPartitions(zipped,
                    it -> Collections.singletonList(plan.productPartial(it, shipped.value(), want)).iterator());
            partials.setName(jobName + plan.productFusion(want, bundle.shapes));
            return treeSum(sc, partials, length);
        } finally {
            shipped.release();
        }
    }

    /** The partials' sum by {@link TreeReduce}, with the configured depth and final combine. */
    private static double[] treeSum(JavaSparkContext sc, JavaRDD<double[]> partials, int length) {
        int depth = (int) setting(sc, TREE_DEPTH, 2);
        if (depth < 1) throw new IllegalArgumentException(TREE_DEPTH + " must be at least 1, got " + depth);
        boolean finalOnExecutor = finalOnExecutor(sc, partials, depth, length);
        return Actions.run(() -> TreeReduce.sum(partials, length, depth, finalOnExecutor));
    }

    /** One job: every partition's partial (value, then the wanted parameter gradients), tree-reduced in partition order. */
    private static double[] runPartials(JavaSparkContext sc, JavaRDD<Block[]> zipped, Plan plan, Params values, boolean[] want,
                                        Tensor u, String jobName) {
        int len = plan.valueNumelForJob();
        for (int i = 0; i < want.length; i++) if (want[i] && u != null) len += Shapes.numel(values.shape(i));
        final int length = len;
        // The parameter values and the upstream gradient: in the task closure when small, else one broadcast per job,
        // destroyed when the job is done.
        Params bundle = u == null ? values : values.with(u);
        // The tasks wrap the values without copying them (Params.shareable) unless a step may write into its
        // parameters. First-order only: this job's backward keeps no graph, so every gradient is a fresh array;
        // the product jobs' createGraph backward may keep an upstream tensor as a gradient, and they copy.
        boolean readOnly = true;
        for (Step s : plan.steps) readOnly &= !s.mayWriteParams();
        Params.Shipped shipped = ship(sc, readOnly ? bundle.shareable() : bundle);
        final boolean withUpstream = u != null;
        try {
            JavaRDD<Partial> partials = StepCalls.mapPartitions(zipped,
                    it -> Collections.singletonList(plan.partial(it, shipped.value(), want, withUpstream)).iterator());
            partials.setName(jobName + plan.fusion(want, withUpstream));
            int depth = (int) setting(sc, TREE_DEPTH, 2);
            if (depth < 1) throw new IllegalArgumentException(TREE_DEPTH + " must be at least 1, got " + depth);
            boolean finalOnExecutor = finalOnExecutor(sc, partials, depth, length);
            return Actions.run(() -> TreeReduce.sumPartials(partials, length, depth, finalOnExecutor, plan.sparsePartials()));
        } finally {
            shipped.release();
        }
    }

    /**
     * Whether the tree reduce's final combine runs on an executor: when the partials the driver would receive (the
     * last level's, {@code length} doubles each) hold {@link #FINAL_COMBINE_ON_EXECUTOR_ABOVE} doubles or more together
     * (default 2^23, 64 MB). Below, they go to the driver as task results, as {@code RDD.treeReduce}'s do: a shuffle
     * stage of its own for four 8 MB partials (a 2^20-wide gradient on 4 partitions) cost more than it saved (the
     * README's sparse-logistic row). Either place adds in the same order: the same bits.
     */
    private static boolean finalOnExecutor(JavaSparkContext sc, JavaRDD<?> partials, int depth, int length) {
        long above = setting(sc, FINAL_COMBINE_ON_EXECUTOR_ABOVE, 1L << 23);
        return (long) length * TreeReduce.driverPartials(partials.getNumPartitions(), depth) >= above;
    }

    /** A job's parameter bundle, inline or broadcast by its size ({@link #INLINE_PARAMS_BELOW}, default 1 MiB). */
    private static Params.Shipped ship(JavaSparkContext sc, Params bundle) {
        return Params.Shipped.of(sc, bundle, setting(sc, INLINE_PARAMS_BELOW, 1L << 20));
    }

    /** A setting from the thread's local properties (sc.setLocalProperty), else the SparkConf, else the default. */
    private static long setting(JavaSparkContext sc, String key, long dflt) {
        String local = sc.getLocalProperty(key);
        if (local != null) return Long.parseLong(local.trim());
        return conf(sc).getLong(key, dflt);
    }

    /** Each context's SparkConf, read once: getConf() clones it (five clones a step), and it cannot change while the context runs. */
    private static final Map<SparkContext, SparkConf> CONFS = Collections.synchronizedMap(new WeakHashMap<>());

    private static SparkConf conf(JavaSparkContext sc) {
        return CONFS.computeIfAbsent(sc.sc(), SparkContext::getConf);
    }

    /** A fusion switch (default on), read like {@link #setting}. */
    private static boolean flag(JavaSparkContext sc, String key) {
        return flag(sc, key, true);
    }

    private static boolean flag(JavaSparkContext sc, String key, boolean byDefault) {
        String local = sc.getLocalProperty(key);
        return local != null ? Boolean.parseBoolean(local) : conf(sc).getBoolean(key, byDefault);
    }

    private static Expr rowGrad(Expr leaf, Plan plan, JavaRDD<Block[]> zipped, int leafSlot, Params values, Params u) {
        JavaRDD<Block> g = StepCalls.mapPartitions(zipped, it -> plan.rowGrads(it, values, leafSlot, u.tensors()[0]));
        g.setName("grad of " + leaf.name);
        return new Expr(new Expr.Source(leaf.sc, g, leaf.layout), 0, 1, leaf.rowShape, "grad");
    }
}
