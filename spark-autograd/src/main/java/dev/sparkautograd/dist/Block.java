package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;

/**
 * One row block of a partitioned tensor: up to {@code blockRows} consecutive rows held as dense local
 * tensors (one per column of the source; a DistTensor's own blocks hold one), plus the global index
 * of the first row. Every tensor of a block has the block's row count as its first dimension.
 * Serializes (Kryo or Java) as shapes, dtype flags and raw double arrays.
 */
public final class Block implements Serializable {
    private static final long serialVersionUID = 1L;

    private long firstRow;
    private transient Tensor[] values;

    public Block(long firstRow, Tensor... values) {
        this.firstRow = firstRow;
        this.values = values;
    }

    /** Global index of this block's first row. */
    public long firstRow() {
        return firstRow;
    }

    /** Number of rows in this block. */
    public int rows() {
        return values.length == 0 ? 0 : values[0].size(0);
    }

    /** The block's tensor (its only column). */
    public Tensor tensor() {
        return values[0];
    }

    public Tensor column(int i) {
        return values[i];
    }

    public int width() {
        return values.length;
    }

    Tensor[] values() {
        return values;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        out.writeInt(values.length);
        for (Tensor t : values) {
            int[] shape = t.shape();
            out.writeObject(shape);
            out.writeBoolean(t.isBool());
            out.writeObject(t.toArrayUnsafe());
        }
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        values = new Tensor[in.readInt()];
        for (int i = 0; i < values.length; i++) {
            int[] shape = (int[]) in.readObject();
            boolean bool = in.readBoolean();
            double[] data = (double[]) in.readObject();
            values[i] = Tensor.wrap(data, shape, bool);
        }
    }

    @Override
    public String toString() {
        return "Block(firstRow=" + firstRow + ", rows=" + rows() + ", width=" + values.length + ")";
    }
}
