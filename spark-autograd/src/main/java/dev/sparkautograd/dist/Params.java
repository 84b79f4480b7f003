package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.io.Serializable;

/** A snapshot of local tensors' values as plain arrays (Java- and Kryo-serializable). */
final class Params implements Serializable {
    private static final long serialVersionUID = 1L;

    final double[][] data;
    final int[][] shapes;
    /**
     * Whether {@link #tensors} may wrap the values without copying them: set by a reduction whose steps only read
     * their parameters. A broadcast value is one object shared by every task of an executor (and, in local mode,
     * by the driver), so a task that wrote into a parameter would change what the others read; no library step
     * writes into one, but a user's block function may, so a plan with one gets copies.
     */
    final boolean shareable;

    Params(double[][] data, int[][] shapes) {
        this(data, shapes, false);
    }

    private Params(double[][] data, int[][] shapes, boolean shareable) {
        this.data = data;
        this.shapes = shapes;
        this.shareable = shareable;
    }

    /** These values, which the tasks' tensors may wrap without copying ({@link #shareable}). */
    Params shareable() {
        return new Params(data, shapes, true);
    }

    /** A snapshot of the values (copies). */
    static Params of(Tensor... tensors) {
        double[][] d = new double[tensors.length][];
        int[][] s = new int[tensors.length][];
        for (int i = 0; i < tensors.length; i++) {
            d[i] = tensors[i].toArray();
            s[i] = tensors[i].shape();
        }
        return new Params(d, s);
    }

    /** These values and one more tensor after them (a parameter bundle with the upstream gradient). */
    Params with(Tensor extra) {
        double[][] d = java.util.Arrays.copyOf(data, data.length + 1);
        int[][] s = java.util.Arrays.copyOf(shapes, shapes.length + 1);
        d[data.length] = extra.toArray();
        s[data.length] = extra.shape();
        return new Params(d, s, shareable);
    }

    int size() {
        return data.length;
    }

    int[] shape(int i) {
        return shapes[i].clone();
    }

    /**
     * Fresh tensors over the values (an executor's replay may use them as leaves): copies, or, when
     * {@link #shareable}, the arrays themselves. Either way each call makes new Tensor objects, so a task's
     * {@code requiresGrad_}, gradients and version counters are its own; gradients go to fresh arrays (the engine
     * and the fused accumulators never add into a parameter's values). Copying a 2^20-wide parameter per task cost
     * 8 MB of writes each.
     */
    Tensor[] tensors() {
        Tensor[] t = new Tensor[data.length];
        for (int i = 0; i < t.length; i++) t[i] = Tensor.wrap(shareable ? data[i] : data[i].clone(), shapes[i], false);
        return t;
    }

    /** The values' size in bytes (8 per number). */
    long bytes() {
        long n = 0;
        for (double[] d : data) n += 8L * d.length;
        return n;
    }

    /**
     * How one job's tasks get a parameter bundle. Below {@code inlineBelow} bytes the bundle travels inside the task
     * closure (Spark ships it with the stage's serialized task, which it broadcasts anyway), so a step creates and
     * destroys no broadcast of its own; above, it is a broadcast, fetched once per executor. {@link #release} frees
     * that broadcast without waiting for the executors to acknowledge: the job's tasks are done with it, and the block
     * managers drop it in the background (none is left behind), off the step's critical path.
     */
    static final class Shipped implements Serializable {
        private static final long serialVersionUID = 1L;

        private final Params inline;
        private final Broadcast<Params> broadcast;

        private Shipped(Params inline, Broadcast<Params> broadcast) {
            this.inline = inline;
            this.broadcast = broadcast;
        }

        static Shipped of(JavaSparkContext sc, Params p, long inlineBelow) {
            return p.bytes() < inlineBelow ? new Shipped(p, null) : new Shipped(null, sc.broadcast(p));
        }

        Params value() {
            return inline != null ? inline : broadcast.value();
        }

        boolean isBroadcast() {
            return broadcast != null;
        }

        /** Frees the broadcast, if any (asynchronously on the executors); call once the job is done. */
        void release() {
            if (broadcast != null) broadcast.destroy(false);
        }
    }
}
