package dev.sparkautograd.tensor;

import java.util.Arrays;

/**
 * Shape arithmetic. The one broadcasting rule every op uses lives here ({@link #broadcast}), so an
 * op never decides for itself which shapes combine.
 */
public final class Shapes {
    private Shapes() {}

    public static final int[] SCALAR = new int[0];

    public static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            n *= d;
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape " + str(shape) + " has " + n + " elements, more than a Java array holds");
        }
        return (int) n;
    }

    /** Row-major strides (in elements). */
    public static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** NumPy broadcasting: align right; each pair of sizes must be equal or one of them 1. */
    public static int[] broadcast(int[] a, int[] b) {
        if (Arrays.equals(a, b)) return a;
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int da = i < n - a.length ? 1 : a[i - (n - a.length)];
            int db = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + str(a) + " and " + str(b) + " cannot be broadcast together");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Whether {@code from} broadcasts to exactly {@code to} (what expand and sumToShape accept). */
    public static boolean broadcastsTo(int[] from, int[] to) {
        if (from.length > to.length) return false;
        int off = to.length - from.length;
        for (int i = 0; i < from.length; i++) {
            if (from[i] != to[i + off] && from[i] != 1) return false;
        }
        return true;
    }

    /**
     * Strides that read an array of shape {@code from} as if it had shape {@code to}
     * (0 on broadcast dimensions).
     */
    public static int[] broadcastStrides(int[] from, int[] to) {
        int[] fs = strides(from);
        int[] out = new int[to.length];
        int off = to.length - from.length;
        for (int i = 0; i < from.length; i++) {
            out[i + off] = from[i] == 1 && to[i + off] != 1 ? 0 : fs[i];
        }
        return out;
    }

    /** Normalizes a possibly negative dimension index, as PyTorch does. */
    public static int dim(int dim, int rank) {
        int r = Math.max(rank, 1);
        if (dim < -r || dim >= r) {
            throw new IndexOutOfBoundsException("dimension " + dim + " out of range for a tensor of " + rank + " dimensions");
        }
        return dim < 0 ? dim + r : dim;
    }

    public static int[] removeDim(int[] shape, int dim) {
        int[] out = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != dim) out[j++] = shape[i];
        return out;
    }

    public static int[] insertDim(int[] shape, int dim, int size) {
        int[] out = new int[shape.length + 1];
        for (int i = 0, j = 0; i < out.length; i++) out[i] = i == dim ? size : shape[j++];
        return out;
    }

    /** Product of the sizes before {@code dim}. */
    public static int outer(int[] shape, int dim) {
        int n = 1;
        for (int i = 0; i < dim; i++) n *= shape[i];
        return n;
    }

    /** Product of the sizes after {@code dim}. */
    public static int inner(int[] shape, int dim) {
        int n = 1;
        for (int i = dim + 1; i < shape.length; i++) n *= shape[i];
        return n;
    }

    /** Resolves one -1 in a reshape target against the element count. */
    public static int[] inferReshape(int[] from, int[] to) {
        int n = numel(from);
        int infer = -1;
        long known = 1;
        for (int i = 0; i < to.length; i++) {
            if (to[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("only one dimension can be inferred in reshape to " + str(to));
                infer = i;
            } else {
                if (to[i] < 0) throw new IllegalArgumentException("invalid shape " + str(to));
                known *= to[i];
            }
        }
        int[] out = to.clone();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException("shape " + str(to) + " is invalid for input of size " + n + " (shape " + str(from) + ")");
            }
            out[infer] = (int) (n / known);
        }
        if (numel(out) != n) {
            throw new IllegalArgumentException("shape " + str(to) + " is invalid for input of size " + n + " (shape " + str(from) + ")");
        }
        return out;
    }

    /** "[3, 4]", the spelling every shape error uses. */
    public static String str(int[] shape) {
        return Arrays.toString(shape);
    }
}
