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

    Params(double[][] data, int[][] shapes) {
        this.data = data;
        this.shapes = shapes;
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
        return new Params(d, s);
    }

    int size() {
        return data.length;
    }

    int[] shape(int i) {
        return shapes[i].clone();
    }

    /** Fresh tensors over copies of the values (an executor's replay may use them as leaves). */
    Tensor[] tensors() {
        Tensor[] t = new Tensor[data.length];
        for (int i = 0; i < t.length; i++) t[i] = Tensor.wrap(data[i].clone(), shapes[i], false);
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
