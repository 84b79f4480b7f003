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
        kryo.register(Block.Csr.class, new CsrSerializer());
        kryo.register(Params.class);
        kryo.register(long[][].class);
        kryo.register(Partial.class, new PartialSerializer());
        // last: a class missing from the classpath shifts only the ids registered after it
        for (String name : SPARK_ML_CLASSES) {
            try {
                kryo.register(Class.forName(name, false, Thread.currentThread().getContextClassLoader() != null
                        ? Thread.currentThread().getContextClassLoader() : AutogradKryoRegistrator.class.getClassLoader()));
            } catch (ClassNotFoundException | LinkageError absent) {
                // no MLlib on this classpath: nothing of it will cross the wire
            }
        }
    }

    /**
     * What Spark's own ML algorithms and evaluators send through Kryo without registering it, so that
     * {@code LogisticRegression}, {@code LinearRegression}, {@code LinearSVC}, {@code AFTSurvivalRegression} and the
     * binary, multiclass and regression evaluators run with {@code spark.kryo.registrationRequired=true}: the
     * block aggregators of their loss functions (which hold a broadcast of the coefficients), the summarizers of
     * their first pass, and the binary evaluator's label counters. By name, so the library needs no MLlib at
     * run time (spark-mllib is {@code provided}; a class that is absent is skipped).
     */
    static final java.util.List<String> SPARK_ML_CLASSES = java.util.List.of(
            // a Parquet scan of a file with ML Vector columns ships their type (generate --sparse writes such files)
            "org.apache.spark.ml.linalg.VectorUDT",
            "org.apache.spark.ml.linalg.MatrixUDT",
            "org.apache.spark.broadcast.TorrentBroadcast",
            "org.apache.spark.storage.BroadcastBlockId",
            "org.apache.spark.ml.optim.aggregator.AFTBlockAggregator",
            "org.apache.spark.ml.optim.aggregator.BinaryLogisticBlockAggregator",
            "org.apache.spark.ml.optim.aggregator.HingeBlockAggregator",
            "org.apache.spark.ml.optim.aggregator.HuberBlockAggregator",
            "org.apache.spark.ml.optim.aggregator.LeastSquaresBlockAggregator",
            "org.apache.spark.ml.optim.aggregator.MultinomialLogisticBlockAggregator",
            "org.apache.spark.ml.optim.WeightedLeastSquares$Aggregator",
            "org.apache.spark.ml.stat.MultiClassSummarizer",
            "org.apache.spark.ml.stat.SummarizerBuffer",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$Count$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$Max$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$Mean$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$Min$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$NormL1$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$NormL2$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$NumNonZeros$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$Std$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$Sum$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$Variance$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$ComputeL1$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$ComputeM2$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$ComputeM2n$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$ComputeMax$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$ComputeMean$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$ComputeMin$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$ComputeNNZ$",
            "org.apache.spark.ml.stat.SummaryBuilderImpl$ComputeWeightSum$",
            "org.apache.spark.mllib.evaluation.binary.BinaryLabelCounter",
            "[Lorg.apache.spark.mllib.evaluation.binary.BinaryLabelCounter;");

    /** first row, then each column as a tensor (raw doubles). */
    static final class BlockSerializer extends Serializer<Block> {
        private final TensorSerializer tensors = new TensorSerializer();
        private final CsrSerializer csrs = new CsrSerializer();

        @Override
        public void write(Kryo kryo, Output out, Block b) {
            out.writeLong(b.firstRow());
            boolean floats = false;
            for (int i = 0; i < b.width(); i++) floats |= b.isFloat32(i);
            if (floats) {
                // float32 columns: a marker count, the width, then each column's kind and its arrays
                out.writeInt(Block.KINDS, true);
                out.writeInt(b.width(), true);
                for (int i = 0; i < b.width(); i++) {
                    byte kind = b.kind(i);
                    out.writeByte(kind);
                    if (kind == Block.FLOAT32) {
                        Block.Float32 f = b.float32(i);
                        out.writeInt(f.shape.length, true);
                        for (int d : f.shape) out.writeInt(d, true);
                        out.writeFloats(f.data);
                    } else if (kind == Block.SPARSE) {
                        csrs.write(kryo, out, b.csr(i));
                    } else {
                        tensors.write(kryo, out, b.column(i));
                    }
                }
                return;
            }
            boolean mixed = false;
            for (int i = 0; i < b.width(); i++) mixed |= b.isSparse(i);
            if (!mixed) {
                out.writeInt(b.width(), true);
                for (int i = 0; i < b.width(); i++) tensors.write(kryo, out, b.column(i));
                return;
            }
            // A negative count marks a block with sparse columns; each column then starts with its kind.
            out.writeInt(-1 - b.width(), true);
            for (int i = 0; i < b.width(); i++) {
                out.writeBoolean(b.isSparse(i));
                if (b.isSparse(i)) csrs.write(kryo, out, b.csr(i));
                else tensors.write(kryo, out, b.column(i));
            }
        }

        @Override
        public Block read(Kryo kryo, Input in, Class<Block> type) {
            long first = in.readLong();
            int n = in.readInt(true);
            if (n == Block.KINDS) {
                n = in.readInt(true);
                Tensor[] values = new Tensor[n];
                Block.Csr[] sparse = new Block.Csr[n];
                Block.Float32[] floats = new Block.Float32[n];
                for (int i = 0; i < n; i++) {
                    byte kind = in.readByte();
                    if (kind == Block.FLOAT32) {
                        int[] shape = new int[in.readInt(true)];
                        long numel = 1;
                        for (int d = 0; d < shape.length; d++) numel *= shape[d] = in.readInt(true);
                        floats[i] = new Block.Float32(in.readFloats(Math.toIntExact(numel)), shape);
                    } else if (kind == Block.SPARSE) {
                        sparse[i] = csrs.read(kryo, in, Block.Csr.class);
                    } else {
                        values[i] = tensors.read(kryo, in, Tensor.class);
                    }
                }
                return new Block(first, values, sparse, floats);
            }
            if (n >= 0) {
                Tensor[] values = new Tensor[n];
                for (int i = 0; i < values.length; i++) values[i] = tensors.read(kryo, in, Tensor.class);
                return new Block(first, values);
            }
            n = -1 - n;
            Tensor[] values = new Tensor[n];
            Block.Csr[] sparse = new Block.Csr[n];
            for (int i = 0; i < n; i++) {
                if (in.readBoolean()) sparse[i] = csrs.read(kryo, in, Block.Csr.class);
                else values[i] = tensors.read(kryo, in, Tensor.class);
            }
            return new Block(first, values, sparse);
        }
    }

    /** width, row offsets, column indices, values (raw arrays). */
    static final class CsrSerializer extends Serializer<Block.Csr> {
        @Override
        public void write(Kryo kryo, Output out, Block.Csr c) {
            out.writeInt(c.width, true);
            out.writeInt(c.rows, true);
            out.writeInts(c.offsets, true);
            out.writeInt(c.values.length, true);
            out.writeInts(c.indices, true);
            out.writeDoubles(c.values);
        }

        @Override
        public Block.Csr read(Kryo kryo, Input in, Class<Block.Csr> type) {
            int width = in.readInt(true);
            int[] offsets = in.readInts(in.readInt(true) + 1, true);
            int nnz = in.readInt(true);
            int[] indices = in.readInts(nnz, true);
            double[] values = in.readDoubles(nnz);
            return new Block.Csr(width, offsets, indices, values);
        }
    }

    /** per segment: length, elements per row, whether sparse, then the row indices as gaps (if sparse) and the values (raw). */
    static final class PartialSerializer extends Serializer<Partial> {
        @Override
        public void write(Kryo kryo, Output out, Partial p) {
            out.writeInt(p.lengths.length, true);
            for (int s = 0; s < p.lengths.length; s++) {
                out.writeInt(p.lengths[s], true);
                out.writeInt(p.rowSizes[s], true);
                out.writeBoolean(p.rows[s] != null);
                if (p.rows[s] != null) {
                    // increasing row indices as gaps: a byte or two each instead of three or four
                    int[] rows = p.rows[s];
                    out.writeInt(rows.length, true);
                    for (int j = 0, prev = -1; j < rows.length; prev = rows[j], j++) out.writeVarInt(rows[j] - prev, true); // a varint also under spark.kryo.unsafe (writeInt(v, true) is 4 bytes there)
                }
                out.writeInt(p.values[s].length, true);
                out.writeDoubles(p.values[s]);
            }
        }

        @Override
        public Partial read(Kryo kryo, Input in, Class<Partial> type) {
            int n = in.readInt(true);
            int[] lengths = new int[n], rowSizes = new int[n];
            int[][] rows = new int[n][];
            double[][] values = new double[n][];
            for (int s = 0; s < n; s++) {
                lengths[s] = in.readInt(true);
                rowSizes[s] = in.readInt(true);
                if (in.readBoolean()) {
                    int[] r = new int[in.readInt(true)];
                    for (int j = 0, prev = -1; j < r.length; j++) prev = r[j] = prev + in.readVarInt(true);
                    rows[s] = r;
                }
                values[s] = in.readDoubles(in.readInt(true));
            }
            return new Partial(lengths, rowSizes, rows, values);
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
