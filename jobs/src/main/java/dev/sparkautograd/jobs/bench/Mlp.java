package dev.sparkautograd.jobs.bench;

import dev.ludovic.netlib.blas.BLAS;
import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.dist.Block;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.Arrays;
import java.util.Collections;

/**
 * A 2-layer MLP, {@code d -> h (tanh) -> 1}, mean squared loss, two ways over the same cached blocks.
 * Parameters are packed as {@code [W1 (d x h, row-major), b1 (h), w2 (h), b2]}; each implementation
 * returns {@code [loss, gradient in that layout]}.
 */
public final class Mlp {

    private Mlp() {}

    /** How {@link #flops} counts. */
    public static final String FLOP_FORMULA = "4 n d h + 4 n h: the multiply-adds of X W1, H w2, H^T g and X^T dZ, element-wise work not counted";

    /** Floating-point operations of one gradient over {@code n} rows: {@link #FLOP_FORMULA}. */
    public static double flops(long n, int d, int h) {
        return 4.0 * n * d * h + 4.0 * n * h;
    }

    public static int numParams(int d, int h) {
        return d * h + 2 * h + 1;
    }

    /** Deterministic small initial parameters. */
    public static double[] init(int d, int h, long seed) {
        double[] p = Tensor.randn(seed, numParams(d, h)).toArray();
        double s1 = 1 / Math.sqrt(d), s2 = 1 / Math.sqrt(h);
        for (int i = 0; i < d * h; i++) p[i] *= s1;
        for (int i = d * h; i < p.length; i++) p[i] *= s2;
        return p;
    }

    /** spark-autograd: the loss written with DistTensor ops, gradient by {@code loss.backward()}. */
    public static double[] autograd(DistData data, double[] params, int h) {
        int d = (params.length - 1 - 2 * h) / h;
        Tensor w1 = Tensor.fromArray(Arrays.copyOfRange(params, 0, d * h), d, h).requiresGrad_(true);
        Tensor b1 = Tensor.fromArray(Arrays.copyOfRange(params, d * h, d * h + h), h).requiresGrad_(true);
        Tensor w2 = Tensor.fromArray(Arrays.copyOfRange(params, d * h + h, d * h + 2 * h), h).requiresGrad_(true);
        Tensor b2 = Tensor.scalar(params[params.length - 1]).requiresGrad_(true);
        DistTensor x = data.tensor("features"), y = data.tensor("label");
        Tensor loss = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sub(y).square().mean();
        loss.backward();
        double[] out = new double[params.length + 1];
        out[0] = loss.item();
        int o = 1;
        for (Tensor t : new Tensor[] {w1, b1, w2, b2}) {
            double[] g = t.grad().toArrayUnsafe();
            System.arraycopy(g, 0, out, o, g.length);
            o += g.length;
        }
        return out;
    }

    /** A hand-written backward with the same BLAS (netlib): per block two dgemm, one dgemv, loops for the rest. */
    public static double[] handwritten(JavaSparkContext sc, DistData data, double[] params, int h) {
        Broadcast<double[]> bc = sc.broadcast(params.clone());
        try {
            double[] s = data.blocks().mapPartitions(it -> {
                double[] p = bc.value();
                double[] acc = new double[p.length + 2]; // count, loss sum, gradient sums
                while (it.hasNext()) block(it.next(), p, h, acc);
                return Collections.singletonList(acc).iterator();
            }).treeReduce(Logistic::addInto, 2);
            double n = s[0];
            double[] out = new double[params.length + 1];
            out[0] = s[1] / n;
            for (int i = 0; i < params.length; i++) out[1 + i] = s[2 + i] / n;
            return out;
        } finally {
            bc.destroy();
        }
    }

    /** Adds one block's count, sum of squared errors and gradient of that sum to {@code acc}. */
    static void block(Block b, double[] p, int h, double[] acc) {
        BLAS blas = BLAS.getInstance();
        double[] x = b.column(0).toArrayUnsafe(), y = b.column(1).toArrayUnsafe();
        int n = y.length, d = b.column(0).size(1);
        int ob1 = d * h, ow2 = ob1 + h, ob2 = ow2 + h;
        // H = tanh(X W1 + b1), row-major [n, h]; column-major BLAS computes H^T = W1^T X^T
        double[] hid = new double[n * h];
        for (int r = 0; r < n; r++) System.arraycopy(p, ob1, hid, r * h, h);
        blas.dgemm("N", "N", h, n, d, 1.0, p, h, x, d, 1.0, hid, h);
        for (int i = 0; i < hid.length; i++) hid[i] = Math.tanh(hid[i]);
        // out = H w2 + b2, residual r, dLoss/dout = 2 r
        double[] g = new double[n];
        blas.dgemv("T", h, n, 1.0, hid, 0, h, p, ow2, 1, 0.0, g, 0, 1);
        double loss = 0, gb2 = 0;
        for (int r = 0; r < n; r++) {
            double res = g[r] + p[ob2] - y[r];
            loss += res * res;
            g[r] = 2 * res;
            gb2 += g[r];
        }
        // dw2 += H^T g
        blas.dgemv("N", h, n, 1.0, hid, 0, h, g, 0, 1, 1.0, acc, 2 + ow2, 1);
        // dZ = g w2^T * (1 - H^2), in place; db1 += column sums
        for (int r = 0, o = 0; r < n; r++, o += h) {
            double gr = g[r];
            for (int j = 0; j < h; j++) {
                double t = hid[o + j];
                double dz = gr * p[ow2 + j] * (1 - t * t);
                hid[o + j] = dz;
                acc[2 + ob1 + j] += dz;
            }
        }
        // dW1 += X^T dZ: column-major dW1^T (h x d) += dZ^T (h x n) X (n x d)
        blas.dgemm("N", "T", h, d, n, 1.0, hid, 0, h, x, 0, d, 1.0, acc, 2, h);
        acc[0] += n;
        acc[1] += loss;
        acc[2 + ob2] += gb2;
    }
}
