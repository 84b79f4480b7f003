package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

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
}
