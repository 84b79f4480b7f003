package dev.sparkautograd.jobs.bench;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.dist.Block;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.feature.InstanceBlock;
import org.apache.spark.ml.linalg.DenseMatrix;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.optim.aggregator.BinaryLogisticBlockAggregator;

import java.util.Collections;

/**
 * Three implementations of the same mean logistic loss and its gradient over the same cached blocks
 * ({@code features} [N, d], {@code label} [N]). Each returns {@code [loss, dL/dw_0 .. dL/dw_{d-1}, dL/db]}
 * (MLlib's coefficient layout: the intercept last).
 */
public final class Logistic {

    private Logistic() {}

    /** (a) spark-autograd: the loss written with DistTensor ops, gradient by {@code loss.backward()}. */
    public static double[] autograd(DistData data, double[] coef) {
        return autograd(data, coef, true);
    }

    /**
     * As above, with the reductions' fusions ({@code spark.autograd.fuseMatmul}: {@code X w} without a
     * graph; {@code spark.autograd.fusePointwise}: the element-wise tail as a row program) on or off.
     * Off, every op is an engine node in every block.
     */
    public static double[] autograd(DistData data, double[] coef, boolean fuse) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(data.blocks().context());
        sc.setLocalProperty(DistTensor.FUSE_MATMUL, Boolean.toString(fuse));
        sc.setLocalProperty(DistTensor.FUSE_POINTWISE, Boolean.toString(fuse));
        try {
            return autogradStep(data, coef);
        } finally {
            sc.setLocalProperty(DistTensor.FUSE_MATMUL, null);
            sc.setLocalProperty(DistTensor.FUSE_POINTWISE, null);
        }
    }

    /** (a'') spark-autograd with the one-read pass ({@code spark.autograd.oneReadPass}: X read once per row, in tiles). */
    public static double[] autogradOneRead(DistData data, double[] coef) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(data.blocks().context());
        sc.setLocalProperty(DistTensor.ONE_READ_PASS, "true");
        try {
            return autogradStep(data, coef);
        } finally {
            sc.setLocalProperty(DistTensor.ONE_READ_PASS, null);
        }
    }

    private static double[] autogradStep(DistData data, double[] coef) {
        int d = coef.length - 1;
        Tensor w = Tensor.fromArray(java.util.Arrays.copyOf(coef, d), d).requiresGrad_(true);
        Tensor b = Tensor.scalar(coef[d]).requiresGrad_(true);
        DistTensor x = data.tensor("features"), y = data.tensor("label");
        DistTensor z = x.matmul(w).add(b);
        Tensor loss = z.softplus().sub(y.mul(z)).mean();
        loss.backward();
        double[] out = new double[d + 2];
        out[0] = loss.item();
        System.arraycopy(w.grad().toArrayUnsafe(), 0, out, 1, d);
        out[d + 1] = b.grad().item();
        return out;
    }

    /**
     * (b) MLlib's hand-derived gradient: {@code BinaryLogisticBlockAggregator.add} over {@code InstanceBlock}s,
     * as {@code RDDLossFunction.calculate} runs it (coefficients broadcast, one aggregator per partition,
     * tree aggregation of depth 2, loss and gradient divided by the weight sum). The InstanceBlocks wrap
     * the cached blocks' arrays (row-major, as MLlib's own blocks), no copy. The partial aggregators are
     * combined as their {@code (weightSum, lossSum, gradientSumArray)} arrays, which is what
     * {@code merge} adds, because the aggregator class itself is not Kryo-registered.
     */
    public static double[] mllib(JavaSparkContext sc, DistData data, double[] coef) {
        return mllib(sc, data.blocks().map(Logistic::instanceBlock), coef);
    }

    /**
     * MLlib's loss and gradient over its {@code InstanceBlock}s (dense or sparse), as {@code RDDLossFunction}
     * runs it (see above); {@code [loss, gradient..., gradient of the intercept]}.
     */
    public static double[] mllib(JavaSparkContext sc, JavaRDD<InstanceBlock> blocks, double[] coef) {
        int d = coef.length - 1;
        Broadcast<Vector> bcCoef = sc.broadcast((Vector) new DenseVector(coef.clone()));
        Broadcast<double[]> bcInverseStd = inverseStd(sc, d);
        try {
            JavaRDD<double[]> partials = blocks.mapPartitions(it -> {
                BinaryLogisticBlockAggregator agg = new BinaryLogisticBlockAggregator(bcInverseStd, null, true, false, bcCoef);
                while (it.hasNext()) agg.add(it.next());
                double[] g = agg.gradientSumArray();
                double[] p = new double[g.length + 2];
                p[0] = agg.weightSum();
                p[1] = agg.lossSum();
                System.arraycopy(g, 0, p, 2, g.length);
                return Collections.singletonList(p).iterator();
            });
            double[] s = partials.treeReduce(Logistic::addInto, 2);
            double[] out = new double[d + 2];
            out[0] = s[1] / s[0];
            for (int j = 0; j <= d; j++) out[1 + j] = s[2 + j] / s[0];
            return out;
        } finally {
            bcCoef.destroy();
        }
    }

    /** Unit inverse standard deviations of width d, broadcast once per context and width. */
    private static final java.util.Map<org.apache.spark.SparkContext, java.util.Map<Integer, Broadcast<double[]>>> INVERSE_STD =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    /**
     * MLlib's {@code LogisticRegression} broadcasts its feature scaling ({@code bcInverseStd}) once per fit, not per
     * loss evaluation: only the coefficients are broadcast (and destroyed, without blocking) in each
     * {@code RDDLossFunction.calculate}. The bench does the same, so a step is charged one broadcast, as MLlib's is.
     */
    private static Broadcast<double[]> inverseStd(JavaSparkContext sc, int d) {
        return INVERSE_STD.computeIfAbsent(sc.sc(), k -> new java.util.concurrent.ConcurrentHashMap<>()).computeIfAbsent(d, k -> {
            double[] ones = new double[d];
            java.util.Arrays.fill(ones, 1.0);
            return sc.broadcast(ones);
        });
    }

    /** An MLlib InstanceBlock over a block's arrays: row-major matrix (isTransposed), unit weights (empty array). */
    static InstanceBlock instanceBlock(Block b) {
        Tensor x = b.column(0), y = b.column(1);
        return new InstanceBlock(y.toArrayUnsafe(), new double[0],
                new DenseMatrix(x.size(0), x.size(1), x.toArrayUnsafe(), true));
    }

    /**
     * (c) A hand-written Java block loop: one pass over each row (margin, loss, sigmoid, gradient
     * accumulate while the row is in cache), partials tree-reduced with depth 2.
     */
    public static double[] handwritten(JavaSparkContext sc, DistData data, double[] coef) {
        int d = coef.length - 1;
        Broadcast<double[]> bc = sc.broadcast(coef.clone());
        try {
            double[] s = data.blocks().mapPartitions(it -> {
                double[] c = bc.value();
                double[] p = new double[d + 3]; // count, loss sum, gradient sums (w..., b)
                while (it.hasNext()) onePass(it.next(), c, p);
                return Collections.singletonList(p).iterator();
            }).treeReduce(Logistic::addInto, 2);
            double[] out = new double[d + 2];
            out[0] = s[1] / s[0];
            for (int j = 0; j <= d; j++) out[1 + j] = s[2 + j] / s[0];
            return out;
        } finally {
            bc.destroy();
        }
    }

    static void onePass(Block b, double[] c, double[] p) {
        double[] x = b.column(0).toArrayUnsafe(), y = b.column(1).toArrayUnsafe();
        int n = y.length, d = c.length - 1;
        double bias = c[d], loss = 0, gb = 0;
        for (int r = 0, o = 0; r < n; r++, o += d) {
            double m0 = 0, m1 = 0, m2 = 0, m3 = 0;
            int j = 0;
            for (; j + 3 < d; j += 4) {
                m0 += x[o + j] * c[j];
                m1 += x[o + j + 1] * c[j + 1];
                m2 += x[o + j + 2] * c[j + 2];
                m3 += x[o + j + 3] * c[j + 3];
            }
            for (; j < d; j++) m0 += x[o + j] * c[j];
            double m = bias + ((m0 + m1) + (m2 + m3));
            double label = y[r];
            loss += label > 0 ? log1pExp(-m) : log1pExp(-m) + m;
            double mult = 1.0 / (1.0 + Math.exp(-m)) - label;
            gb += mult;
            for (int k = 0; k < d; k++) p[2 + k] += mult * x[o + k];
        }
        p[0] += n;
        p[1] += loss;
        p[2 + d] += gb;
    }

    /**
     * (c) over float32 blocks ({@code DistData.Dtype.FLOAT32}): the same one-pass loop reading the {@code float[]}
     * features directly, products and sums in float64.
     */
    public static double[] handwrittenFloat32(JavaSparkContext sc, DistData data, double[] coef) {
        int d = coef.length - 1;
        Broadcast<double[]> bc = sc.broadcast(coef.clone());
        try {
            double[] s = data.blocks().mapPartitions(it -> {
                double[] c = bc.value();
                double[] p = new double[d + 3];
                while (it.hasNext()) onePassFloat32(it.next(), c, p);
                return Collections.singletonList(p).iterator();
            }).treeReduce(Logistic::addInto, 2);
            double[] out = new double[d + 2];
            out[0] = s[1] / s[0];
            for (int j = 0; j <= d; j++) out[1 + j] = s[2 + j] / s[0];
            return out;
        } finally {
            bc.destroy();
        }
    }

    static void onePassFloat32(Block b, double[] c, double[] p) {
        if (!b.isFloat32(0)) throw new IllegalArgumentException("handwrittenFloat32 reads float32 blocks; " + b + " holds float64 features");
        float[] x = b.float32(0).dataUnsafe();
        double[] y = b.column(1).toArrayUnsafe();
        int n = y.length, d = c.length - 1;
        double bias = c[d], loss = 0, gb = 0;
        for (int r = 0, o = 0; r < n; r++, o += d) {
            double m0 = 0, m1 = 0, m2 = 0, m3 = 0;
            int j = 0;
            for (; j + 3 < d; j += 4) {
                m0 += x[o + j] * c[j];
                m1 += x[o + j + 1] * c[j + 1];
                m2 += x[o + j + 2] * c[j + 2];
                m3 += x[o + j + 3] * c[j + 3];
            }
            for (; j < d; j++) m0 += x[o + j] * c[j];
            double m = bias + ((m0 + m1) + (m2 + m3));
            double label = y[r];
            loss += label > 0 ? log1pExp(-m) : log1pExp(-m) + m;
            double mult = 1.0 / (1.0 + Math.exp(-m)) - label;
            gb += mult;
            for (int k = 0; k < d; k++) p[2 + k] += mult * x[o + k];
        }
        p[0] += n;
        p[1] += loss;
        p[2 + d] += gb;
    }

    /** log(1 + exp(x)), stable (MLlib's Utils.log1pExp). */
    static double log1pExp(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    static double[] addInto(double[] a, double[] b) {
        for (int i = 0; i < a.length; i++) a[i] += b[i];
        return a;
    }
}
