package dev.sparkautograd.dist;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import dev.sparkautograd.Tensor;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers every library class that crosses the wire, so jobs can run with
 * {@code spark.kryo.registrationRequired=true}. A tensor travels as its shape, its dtype flag and its
 * values as one raw double array: no graph, no gradient (what arrives is a leaf, as after detach()).
 */
public final class AutogradKryoRegistrator implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(Tensor.class, new TensorSerializer());
        kryo.register(Tensor[].class);
        kryo.register(double[][].class);
        kryo.register(int[][].class);
        kryo.register(Block.class, new BlockSerializer());
        kryo.register(Block[].class);
        kryo.register(Params.class);
        kryo.register(long[][].class);
    }

    /** first row, then each column as a tensor (raw doubles). */
    static final class BlockSerializer extends Serializer<Block> {
        private final TensorSerializer tensors = new TensorSerializer();

        @Override
        public void write(Kryo kryo, Output out, Block b) {
            out.writeLong(b.firstRow());
            out.writeInt(b.width(), true);
            for (int i = 0; i < b.width(); i++) tensors.write(kryo, out, b.column(i));
        }

        @Override
        public Block read(Kryo kryo, Input in, Class<Block> type) {
            long first = in.readLong();
            Tensor[] values = new Tensor[in.readInt(true)];
            for (int i = 0; i < values.length; i++) values[i] = tensors.read(kryo, in, Tensor.class);
            return new Block(first, values);
        }
    }

    /** shape, bool flag, raw values. */
    static final class TensorSerializer extends Serializer<Tensor> {
        @Override
        public void write(Kryo kryo, Output out, Tensor t) {
            int[] shape = t.shape();
            out.writeInt(shape.length, true);
            for (int d : shape) out.writeInt(d, true);
            out.writeBoolean(t.isBool());
            double[] data = t.toArrayUnsafe();
            out.writeInt(data.length, true);
            out.writeDoubles(data);
        }

        @Override
        public Tensor read(Kryo kryo, Input in, Class<Tensor> type) {
            int[] shape = new int[in.readInt(true)];
            for (int i = 0; i < shape.length; i++) shape[i] = in.readInt(true);
            boolean bool = in.readBoolean();
            double[] data = in.readDoubles(in.readInt(true));
            return Tensor.wrap(data, shape, bool);
        }
    }
}
