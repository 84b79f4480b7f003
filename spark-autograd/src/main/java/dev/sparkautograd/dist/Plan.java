package dev.sparkautograd.dist;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Internal: the block graph under a reduction, as shipped to the executors. Slots {@code 0..f-1} hold
 * the frontier blocks (sources, persisted ancestors, partitioned inputs that require grad); each op
 * appends one slot computed from earlier slots and parameters. Replaying it on one block gives that
 * block's piece of the result, with the local engine's graph attached when parameters require grad.
 */
public final class Plan implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How the root's blocks are reduced. */
    public enum Reduce { ALL, ROWS }

    final int[] frontierRdd;
    final int[] frontierColumn;
    final BlockOp[] ops;
    final String[] opNames;
    final int[][] opInputs;
    final int[][] opParams;
    final int output;
    final Reduce reduce;
    /** Elements of one reduced value ([] for ALL, the row shape for ROWS). */
    final int valueNumel;

    public Plan(int[] frontierRdd, int[] frontierColumn, BlockOp[] ops, String[] opNames, int[][] opInputs,
                int[][] opParams, int output, Reduce reduce, int valueNumel) {
        this.frontierRdd = frontierRdd;
        this.frontierColumn = frontierColumn;
        this.ops = ops;
        this.opNames = opNames;
        this.opInputs = opInputs;
        this.opParams = opParams;
        this.output = output;
        this.reduce = reduce;
        this.valueNumel = valueNumel;
    }

    /** Evaluates every slot for one aligned tuple of frontier blocks; {@code leafSlot} (or -1) becomes a leaf requiring grad. */
    Tensor[] replay(Block[] blocks, Tensor[] params, int leafSlot) {
        int f = frontierRdd.length;
        Tensor[] slots = new Tensor[f + ops.length];
        for (int i = 0; i < f; i++) {
            Tensor t = blocks[frontierRdd[i]].values()[frontierColumn[i]];
            slots[i] = i == leafSlot ? t.detach().requiresGrad_(true) : t;
        }
        for (int k = 0; k < ops.length; k++) {
            int[] in = opInputs[k];
            Tensor[] inputs = new Tensor[in.length];
            for (int j = 0; j < in.length; j++) inputs[j] = slots[in[j]];
            int[] pi = opParams[k];
            Tensor[] p = new Tensor[pi.length];
            for (int j = 0; j < pi.length; j++) p[j] = params[pi[j]];
            Tensor out = ops[k].apply(inputs, p);
            int rows = inputs[0].size(0);
            if (out.dim() == 0 || out.size(0) != rows) {
                throw new IllegalStateException(opNames[k] + ": a block of " + rows + " rows gave a result of shape "
                        + java.util.Arrays.toString(out.shape()) + " (a block op must keep the rows)");
            }
            slots[f + k] = out;
        }
        return slots;
    }

    /** The upstream gradient of one root block: {@code u} ([] or the row shape) broadcast over the block. */
    static Tensor upstream(Tensor root, Tensor u) {
        Tensor g = reduceRootShape(u);
        return g.expand(root.shape());
    }

    private static Tensor reduceRootShape(Tensor u) {
        return u.dim() == 0 ? u : u.unsqueeze(0);
    }

    /**
     * One partition's partial: the reduced value followed by the flattened gradients of the parameters
     * with {@code needGrad}. {@code bundle} holds the parameter values and, when {@code withUpstream},
     * after them the upstream gradient (else the value only). Blocks are processed, and their
     * contributions summed, in partition order.
     */
    public double[] partial(Iterator<Block[]> blocks, Params bundle, boolean[] needGrad, boolean withUpstream) {
        Tensor[] all = bundle.tensors();
        Tensor[] params = Arrays.copyOf(all, needGrad.length);
        Tensor u = withUpstream ? all[needGrad.length] : null;
        boolean grads = false;
        int len = valueNumel;
        if (u != null) {
            for (int i = 0; i < params.length; i++) {
                if (needGrad[i]) {
                    grads = true;
                    len += params[i].numel();
                }
            }
        }
        if (grads) for (int i = 0; i < params.length; i++) if (needGrad[i]) params[i].requiresGrad_(true);
        double[] acc = new double[len];
        while (blocks.hasNext()) {
            Block[] b = blocks.next();
            Tensor root;
            try (Autograd.Scope ignored = Autograd.setGradEnabled(grads)) {
                root = replay(b, params, -1)[output];
                Tensor v;
                try (Autograd.Scope ng = Autograd.noGrad()) {
                    v = reduce == Reduce.ALL ? root.sum() : root.sum(0, false);
                }
                double[] vd = v.toArrayUnsafe();
                for (int i = 0; i < vd.length; i++) acc[i] += vd[i];
                if (grads && root.requiresGrad()) root.backward(upstream(root, u));
            }
        }
        if (grads) {
            int off = valueNumel;
            for (int i = 0; i < params.length; i++) {
                if (!needGrad[i]) continue;
                Tensor g = params[i].grad();
                if (g != null) System.arraycopy(g.toArrayUnsafe(), 0, acc, off, params[i].numel());
                off += params[i].numel();
            }
        }
        return acc;
    }

    /** Per-row gradients of frontier slot {@code leafSlot} for upstream {@code u}, one block per frontier block. */
    public Iterator<Block> rowGrads(Iterator<Block[]> blocks, Params paramValues, int leafSlot, Tensor u) {
        Tensor[] params = paramValues.tensors();
        return map(blocks, b -> {
            Tensor[] slots;
            try (Autograd.Scope ignored = Autograd.enableGrad()) {
                slots = replay(b, params, leafSlot);
                Tensor root = slots[output];
                if (root.requiresGrad()) root.backward(upstream(root, u));
            }
            Tensor leaf = slots[leafSlot];
            Tensor g = leaf.grad() != null ? leaf.grad() : Tensor.zeros(leaf.shape());
            return new Block(b[0].firstRow(), g);
        });
    }

    /** Forward values of one op (no grad): the RDD of a DistTensor op. */
    public static Iterator<Block> forward(Iterator<Block[]> blocks, int[] columns, BlockOp op, Params paramValues) {
        Tensor[] params = paramValues.tensors();
        return map(blocks, b -> {
            Tensor[] in = new Tensor[b.length];
            for (int i = 0; i < b.length; i++) in[i] = b[i].values()[columns[i]];
            try (Autograd.Scope ignored = Autograd.noGrad()) {
                return new Block(b[0].firstRow(), op.apply(in, params));
            }
        });
    }

    static <A, B> Iterator<B> map(Iterator<A> it, java.util.function.Function<A, B> f) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public B next() {
                return f.apply(it.next());
            }
        };
    }

    /** Elements of the reduced value at the head of each partial. */
    public int valueNumelForJob() {
        return valueNumel;
    }

    /** One-element tuples (the first RDD of a zip). */
    public static Iterator<Block[]> single(Iterator<Block> it) {
        return map(it, b -> new Block[] {b});
    }

    /** Appends the blocks of one more aligned RDD to each tuple (zipPartitions). */
    public static Iterator<Block[]> append(Iterator<Block[]> a, Iterator<Block> b) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                boolean h = a.hasNext();
                if (b.hasNext() != h) throw new IllegalStateException("DistTensor blocks are not aligned: partitions hold different numbers of blocks");
                return h;
            }

            @Override
            public Block[] next() {
                if (!hasNext()) throw new NoSuchElementException();
                Block[] x = a.next();
                Block y = b.next();
                if (y.firstRow() != x[0].firstRow() || y.rows() != x[0].rows()) {
                    throw new IllegalStateException("DistTensor blocks are not aligned: " + x[0] + " and " + y);
                }
                Block[] out = Arrays.copyOf(x, x.length + 1);
                out[x.length] = y;
                return out;
            }
        };
    }

    /** For tests and messages. */
    public List<String> opNames() {
        return new ArrayList<>(List.of(opNames));
    }
}
