package dev.sparkautograd.dist;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Shapes;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reduction of a DistTensor to a local tensor: plans the block graph under it, runs the Spark job and
 * records the result as one local autograd node (a custom {@link Autograd#function}) whose inputs are the
 * captured parameters that require grad, so {@code backward()} reaches them as it would locally.
 *
 * <p>For a scalar, the value and the parameter gradients come out of the same job (backward is linear in
 * the upstream gradient, so the job computes d(result)/d(params) and the node's backward only scales it):
 * one pass over the data per training step. Otherwise the backward runs a second, vector-Jacobian job.
 * Partials are summed by {@link TreeReduce} in partition order: the same bits whatever the scheduling.
 */
final class Reduction {
    private Reduction() {}

    /** Configuration keys read from the thread's local properties ({@code sc.setLocalProperty}), then the SparkConf. */
    static final String TREE_DEPTH = "spark.autograd.treeDepth";
    static final String FINAL_COMBINE_ON_EXECUTOR_ABOVE = "spark.autograd.finalCombineOnExecutorAbove";
    static final String FUSE_MATMUL = "spark.autograd.fuseMatmul";
    static final String FUSE_POINTWISE = "spark.autograd.fusePointwise";

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
            return new Plan(fRdd, fCol, steps, names, inputs, ps, slot.get(root), reduce, valueNumel, rowScalar, matrixTimesParam);
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
        JavaRDD<Block[]> zipped = Expr.zipAll(planner.frontierRdds);

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
                for (int k = 0; k < nParams; k++) if (n.needsInputGrad(k)) grads[k] = g0.mul(n.saved(k));
            } else if (nParams > 0) {
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

    /** One job: every partition's partial (value, then the wanted parameter gradients), tree-reduced in partition order. */
    private static double[] runPartials(JavaSparkContext sc, JavaRDD<Block[]> zipped, Plan plan, Params values, boolean[] want,
                                        Tensor u, String jobName) {
        int len = plan.valueNumelForJob();
        for (int i = 0; i < want.length; i++) if (want[i] && u != null) len += Shapes.numel(values.shape(i));
        final int length = len;
        int depth = (int) setting(sc, TREE_DEPTH, 2);
        long finalAbove = setting(sc, FINAL_COMBINE_ON_EXECUTOR_ABOVE, 1L << 20);
        if (depth < 1) throw new IllegalArgumentException(TREE_DEPTH + " must be at least 1, got " + depth);
        // One broadcast per job: the parameter values and the upstream gradient; destroyed when the job is done.
        Broadcast<Params> bc = sc.broadcast(u == null ? values : values.with(u));
        final boolean withUpstream = u != null;
        try {
            JavaRDD<double[]> partials = zipped.mapPartitions(
                    it -> Collections.singletonList(plan.partial(it, bc.value(), want, withUpstream)).iterator(), true);
            partials.setName(jobName + plan.fusion(want, withUpstream));
            return Actions.run(() -> TreeReduce.sum(partials, length, depth, length >= finalAbove));
        } finally {
            bc.destroy(true);
        }
    }

    /** A setting from the thread's local properties (sc.setLocalProperty), else the SparkConf, else the default. */
    private static long setting(JavaSparkContext sc, String key, long dflt) {
        String local = sc.getLocalProperty(key);
        if (local != null) return Long.parseLong(local.trim());
        return sc.getConf().getLong(key, dflt);
    }

    /** A fusion switch (default on), read like {@link #setting}. */
    private static boolean flag(JavaSparkContext sc, String key) {
        String local = sc.getLocalProperty(key);
        return local != null ? Boolean.parseBoolean(local) : sc.getConf().getBoolean(key, true);
    }

    private static Expr rowGrad(Expr leaf, Plan plan, JavaRDD<Block[]> zipped, int leafSlot, Params values, Params u) {
        JavaRDD<Block> g = zipped.mapPartitions(it -> plan.rowGrads(it, values, leafSlot, u.tensors()[0]), true);
        g.setName("grad of " + leaf.name);
        return new Expr(new Expr.Source(leaf.sc, g, leaf.layout), 0, 1, leaf.rowShape, "grad");
    }
}
