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
 * The block graph under a reduction, as shipped to the executors. Slots {@code 0..f-1} hold
 * the frontier blocks (sources, persisted ancestors, partitioned inputs that require grad); each op
 * appends one slot computed from earlier slots and parameters. Replaying it on one block gives that
 * block's piece of the result, with the local engine's graph attached when parameters require grad.
 */
final class Plan implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How the root's blocks are reduced. */
    enum Reduce { ALL, ROWS }

    final int[] frontierRdd;
    final int[] frontierColumn;
    final Step[] steps;
    final String[] opNames;
    final int[][] opInputs;
    final int[][] opParams;
    final int output;
    final Reduce reduce;
    /** Elements of one reduced value ([] for ALL, the row shape for ROWS). */
    final int valueNumel;
    /** Per slot: whether it holds one value per row (row shape []), so a {@link RowProgram} can read it; null: unknown. */
    final boolean[] rowScalar;
    /** Per step: a matmul of a matrix block ([rows, d]) by a vector or matrix parameter, the shapes the fused path takes. */
    final boolean[] matrixTimesParam;
    /** Whether {@link #partial} may run a data-times-parameter matmul fused (see {@link #fusable}). */
    private boolean fuseMatmul = true;
    /** Whether {@link #partial} may run the element-wise tail of a scalar reduction as a {@link RowProgram}. */
    private boolean fusePointwise = true;
    /**
     * Whether a wholly fused reduction runs as one read per row ({@link RowTiles}); off unless
     * {@code spark.autograd.oneReadPass} is set: on the machine measured, OpenBLAS's two {@code dgemv} passes over a
     * cached 1 MB block were faster than the Java per-row dot and axpy (see the README's bench section).
     */
    private boolean oneReadPass = false;
    /** Whether a partial's gradient of a wide parameter may travel as (rows, values) ({@link Partial}). */
    private boolean sparsePartials = true;
    /** Per frontier slot: whether it is a sparse (CSR) column; null: none is. */
    private boolean[] sparseSlots;

    Plan(int[] frontierRdd, int[] frontierColumn, Step[] steps, String[] opNames, int[][] opInputs,
         int[][] opParams, int output, Reduce reduce, int valueNumel, boolean[] rowScalar, boolean[] matrixTimesParam) {
        this.frontierRdd = frontierRdd;
        this.frontierColumn = frontierColumn;
        this.steps = steps;
        this.opNames = opNames;
        this.opInputs = opInputs;
        this.opParams = opParams;
        this.output = output;
        this.reduce = reduce;
        this.valueNumel = valueNumel;
        this.rowScalar = rowScalar;
        this.matrixTimesParam = matrixTimesParam;
    }

    void fuseMatmul(boolean fuse) {
        fuseMatmul = fuse;
    }

    void fusePointwise(boolean fuse) {
        fusePointwise = fuse;
    }

    boolean fusesMatmul() {
        return fuseMatmul;
    }

    boolean fusesPointwise() {
        return fusePointwise;
    }

    void oneReadPass(boolean oneRead) {
        oneReadPass = oneRead;
    }

    void sparsePartials(boolean sparse) {
        sparsePartials = sparse;
    }

    boolean sparsePartials() {
        return sparsePartials;
    }

    /** Marks the frontier slots that are sparse (CSR) columns. */
    void sparseSlots(boolean[] sparse) {
        sparseSlots = sparse;
    }

    /**
     * The ops that run fused when a scalar's parameter gradients are computed: a matmul step of a
     * frontier slot (data: no gradient wanted) that no other op reads and that is not the result, by a
     * parameter that needs grad and that no other op reads. Such an op is computed without a graph; its
     * result becomes a leaf, the local engine backpropagates to it, and the parameter's gradient is then
     * {@code X^T g}, with the same kernel and in the same order as the engine's matmul backward would use
     * (the same bits). The engine then never saves or revisits the data block, and no node is recorded for it.
     */
    boolean[] fusable(boolean[] needGrad) {
        int f = frontierRdd.length;
        int[] slotUses = new int[f + steps.length];
        int[] paramUses = new int[needGrad.length];
        for (int k = 0; k < steps.length; k++) {
            for (int s : opInputs[k]) slotUses[s]++;
            for (int p : opParams[k]) paramUses[p]++;
        }
        boolean[] fuse = new boolean[steps.length];
        for (int k = 0; k < steps.length; k++) {
            if (!steps[k].isMatmul() || !matrixTimesParam[k] || opInputs[k].length != 1 || opParams[k].length != 1) continue;
            int s = opInputs[k][0], p = opParams[k][0];
            // A sparse slot is never a tensor of the replay (only the steps that take CSR read it), so each of its
            // matmuls may run fused (a factorization machine multiplies the same rows by w and by V).
            boolean onlyReader = slotUses[s] == 1 || sparseSlots != null && sparseSlots[s];
            fuse[k] = s < f && s != output && onlyReader && needGrad[p] && paramUses[p] == 1;
        }
        return fuse;
    }

    /**
     * What {@link #partial} will run fused for these wanted gradients, as the job shows it in its name (and so in
     * the Spark UI): {@code " [fused matmul: matmul; row program: softplus, mul, sub]"}, or "" when nothing is.
     * The executors take exactly these decisions: they are made from the plan alone.
     */
    String fusion(boolean[] needGrad, boolean withUpstream) {
        boolean grads = false;
        for (boolean b : needGrad) grads |= b && withUpstream;
        List<String> parts = new ArrayList<>();
        if (grads && fuseMatmul) {
            boolean[] fused = fusable(needGrad);
            List<String> names = new ArrayList<>();
            for (int k = 0; k < fused.length; k++) if (fused[k]) names.add(opNames[k]);
            if (!names.isEmpty()) parts.add("fused matmul: " + String.join(", ", names));
        }
        RowProgram program = fusePointwise ? RowProgram.of(this) : null;
        if (program != null) {
            boolean[] region = program.regionOps(steps.length);
            List<String> names = new ArrayList<>();
            for (int k = 0; k < region.length; k++) if (region[k]) names.add(opNames[k]);
            parts.add("row program: " + String.join(", ", names));
            RowTiles tiles = grads && fuseMatmul && oneReadPass ? RowTiles.of(this, program, fusable(needGrad)) : null;
            if (tiles != null) parts.add("one read per row: " + String.join(", ", tiles.describe(this)));
        }
        return parts.isEmpty() ? "" : " [" + String.join("; ", parts) + "]";
    }

    /** Evaluates every slot for one aligned tuple of frontier blocks; {@code leafSlot} (or -1) becomes a leaf requiring grad. */
    Tensor[] replay(Block[] blocks, Tensor[] params, int leafSlot) {
        return replay(blocks, params, leafSlot, null, null);
    }

    /**
     * As above; the ops with {@code fused[k]} run without a graph and their results are leaves requiring grad;
     * the ops with {@code skip[k]} are left out (a {@link RowProgram} computes them).
     */
    Tensor[] replay(Block[] blocks, Tensor[] params, int leafSlot, boolean[] fused, boolean[] skip) {
        int f = frontierRdd.length;
        Tensor[] slots = new Tensor[f + steps.length];
        for (int i = 0; i < f; i++) {
            Block b = blocks[frontierRdd[i]];
            if (b.isSparse(frontierColumn[i])) continue; // read through sparseSlot by the steps that take CSR
            if (Float32Kernels.readsDirectly(this, blocks, i, fused, params)) continue; // float32 read by its fused matmul
            Tensor t = b.column(frontierColumn[i]); // a float32 column widened
            slots[i] = i == leafSlot ? t.detach().requiresGrad_(true) : t;
        }
        for (int k = 0; k < steps.length; k++) {
            if (skip != null && skip[k]) continue;
            int[] in = opInputs[k];
            Tensor[] inputs = new Tensor[in.length];
            for (int j = 0; j < in.length; j++) inputs[j] = slots[in[j]];
            int[] pi = opParams[k];
            Tensor[] p = new Tensor[pi.length];
            for (int j = 0; j < pi.length; j++) p[j] = params[pi[j]];
            Block.Csr csr = in[0] < f ? sparseSlot(blocks, in[0]) : null;
            Block.Float32 floats = inputs[0] == null && in[0] < f ? float32Slot(blocks, in[0]) : null;
            Tensor out;
            if (fused != null && fused[k]) {
                try (Autograd.Scope ng = Autograd.noGrad()) {
                    out = csr != null ? steps[k].applySparse(csr, p) : floats != null ? Float32Kernels.times(floats, p[0])
                            : steps[k].apply(inputs, p, blocks[0].firstRow());
                }
                out.requiresGrad_(true);
            } else {
                out = csr != null ? steps[k].applySparse(csr, p) : steps[k].apply(inputs, p, blocks[0].firstRow());
            }
            int rows = csr != null ? csr.rows() : floats != null ? floats.rows() : inputs[0].size(0);
            if (out.dim() == 0 || out.size(0) != rows) {
                throw new IllegalStateException(opNames[k] + ": a block of " + rows + " rows gave a result of shape "
                        + java.util.Arrays.toString(out.shape()) + " (a block op must keep the rows)");
            }
            slots[f + k] = out;
        }
        return slots;
    }

    /** Whether frontier slot {@code i} is a sparse (CSR) column (false for any other slot). */
    boolean isSparseSlot(int i) {
        return sparseSlots != null && i < sparseSlots.length && sparseSlots[i];
    }

    /** The CSR rows of frontier slot {@code i} of this tuple of blocks, or null when that slot is dense. */
    Block.Csr sparseSlot(Block[] blocks, int i) {
        return blocks[frontierRdd[i]].csr(frontierColumn[i]);
    }

    /** The float32 rows of frontier slot {@code i} of this tuple of blocks, or null when that slot is not float32. */
    Block.Float32 float32Slot(Block[] blocks, int i) {
        return blocks[frontierRdd[i]].float32(frontierColumn[i]);
    }

    /**
     * Adds the parameter gradients of the fused matmuls of one block, {@code X^T g}, into the partition's
     * accumulators {@code into} (one array per parameter, allocated once per partition). Dense data: the matmul
     * backward's kernels (a row vector times X for a vector parameter, {@code mmTN} for a matrix), then
     * {@code previous + this block's}, the engine's bits. Sparse data: each entry's product added straight into the
     * accumulator in row order (no array per block; equal to the engine's sum to rounding).
     */
    private void accumulateFused(Block[] blocks, Tensor[] slots, boolean[] fused, Tensor[] params, double[][] into) {
        int f = frontierRdd.length;
        for (int k = 0; k < steps.length; k++) {
            if (!fused[k]) continue;
            Tensor x = slots[opInputs[k][0]];
            int p = opParams[k][0];
            Tensor g = slots[f + k].grad();
            if (g == null) continue;
            Block.Csr csr = sparseSlot(blocks, opInputs[k][0]);
            if (csr != null) {
                if (into[p] == null) into[p] = new double[params[p].numel()];
                csr.transposeTimesAdd(g.toArrayUnsafe(), params[p].dim() == 1 ? 0 : params[p].size(1), into[p]);
                continue;
            }
            if (x == null) { // float32 rows read directly (Float32Kernels.readsDirectly)
                if (into[p] == null) into[p] = new double[params[p].numel()];
                Float32Kernels.transposeTimesAdd(float32Slot(blocks, opInputs[k][0]), g.toArrayUnsafe(), into[p]);
                continue;
            }
            int rows = x.size(0), d = x.size(1);
            double[] wg = params[p].dim() == 1
                    ? dev.sparkautograd.tensor.Kernels.mm(g.toArrayUnsafe(), x.toArrayUnsafe(), 1, rows, d)
                    : dev.sparkautograd.tensor.Kernels.mmTN(x.toArrayUnsafe(), g.toArrayUnsafe(), rows, d, params[p].size(1));
            if (into[p] == null) {
                into[p] = wg;
            } else {
                double[] acc = into[p];
                for (int i = 0; i < acc.length; i++) acc[i] += wg[i];
            }
        }
    }

    /**
     * Sends the program's gradients into the engine: one backward per input slot that requires grad,
     * the graph kept until the last (inputs may share it).
     */
    private static void backwardInputs(Tensor[] slots, int[] inputs, double[][] grads) {
        int last = -1;
        for (int s : inputs) if (grads[s] != null) last = s;
        for (int s : inputs) {
            if (grads[s] == null) continue;
            slots[s].backward(Tensor.wrap(grads[s], slots[s].shape(), false), s != last);
        }
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
     * One partition's partial: the reduced value followed by the gradients of the parameters with
     * {@code needGrad}, one {@link Partial} segment each (sent as (rows, values) when under a quarter of a
     * parameter's rows are non-zero and {@link #sparsePartials} allows). {@code bundle} holds the parameter values
     * and, when {@code withUpstream}, after them the upstream gradient (else the value only). Blocks are processed,
     * and their contributions summed, in partition order.
     */
    Partial partial(Iterator<Block[]> blocks, Params bundle, boolean[] needGrad, boolean withUpstream) {
        Tensor[] all = bundle.tensors();
        Tensor[] params = Arrays.copyOf(all, needGrad.length);
        Tensor u = withUpstream ? all[needGrad.length] : null;
        boolean grads = false;
        if (u != null) for (boolean b : needGrad) grads |= b;
        if (grads) for (int i = 0; i < params.length; i++) if (needGrad[i]) params[i].requiresGrad_(true);
        double[] value = new double[valueNumel];
        boolean[] fused = grads && fuseMatmul ? fusable(needGrad) : null;
        double[][] fusedGrads = new double[params.length][];
        RowProgram program = fusePointwise ? RowProgram.of(this) : null;
        boolean[] skip = program == null ? null : program.regionOps(steps.length);
        double[] programGrads = new double[params.length];
        // Wholly fused (X w and an element-wise tail): each block in tiles of rows, X read once (RowTiles).
        RowTiles tiles = grads && oneReadPass ? RowTiles.of(this, program, fused) : null;
        while (blocks.hasNext()) {
            Block[] b = blocks.next();
            if (tiles != null) {
                tiles.block(this, b, params, needGrad, u.item(), value, programGrads, fusedGrads);
                continue;
            }
            Tensor root;
            try (Autograd.Scope ignored = Autograd.setGradEnabled(grads)) {
                Tensor[] slots = replay(b, params, -1, fused, skip);
                if (program != null) {
                    int rows = b[0].rows();
                    value[0] += program.forward(slots, params, rows);
                    if (grads) {
                        double[][] inputGrads = program.backward(slots, params, needGrad, rows, u.item(), programGrads);
                        backwardInputs(slots, program.inputs, inputGrads);
                        if (fused != null) accumulateFused(b, slots, fused, params, fusedGrads);
                    }
                    continue;
                }
                root = slots[output];
                Tensor v;
                try (Autograd.Scope ng = Autograd.noGrad()) {
                    v = reduce == Reduce.ALL ? root.sum() : root.sum(0, false);
                }
                double[] vd = v.toArrayUnsafe();
                for (int i = 0; i < vd.length; i++) value[i] += vd[i];
                if (grads && root.requiresGrad()) {
                    root.backward(upstream(root, u));
                    if (fused != null) accumulateFused(b, slots, fused, params, fusedGrads);
                }
            }
        }
        List<double[]> segments = new ArrayList<>();
        List<Integer> rowSizes = new ArrayList<>();
        segments.add(value);
        rowSizes.add(Math.max(1, valueNumel));
        if (grads) {
            for (int i = 0; i < params.length; i++) {
                if (!needGrad[i]) continue;
                Tensor g = params[i].grad();
                // the task's own arrays (its parameters are fresh copies): sent as they are, no copy
                double[] gi = fusedGrads[i] != null ? fusedGrads[i] : g != null ? g.toArrayUnsafe() : new double[params[i].numel()];
                if (gi.length != params[i].numel()) gi = Arrays.copyOf(gi, params[i].numel());
                if (gi.length > 0) gi[0] += programGrads[i]; // a scalar parameter's gradient from the program (else 0)
                segments.add(gi);
                rowSizes.add(params[i].dim() < 2 ? 1 : params[i].numel() / params[i].size(0));
            }
        }
        return Partial.encode(segments.toArray(new double[0][]), rowSizes.stream().mapToInt(Integer::intValue).toArray(), sparsePartials);
    }

    /** Per-row gradients of frontier slot {@code leafSlot} for upstream {@code u}, one block per frontier block. */
    Iterator<Block> rowGrads(Iterator<Block[]> blocks, Params paramValues, int leafSlot, Tensor u) {
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

    /**
     * One partition's Hessian-vector product of a scalar reduction: {@code bundle} holds the parameter values and,
     * after them, one direction per parameter with {@code want} (in parameter order). Each block is replayed with
     * the local engine, its gradient taken with createGraph and {@code d(gradient . direction)/d(params)} added to
     * the partial, blocks in partition order. A wholly fused plan (fused matmuls and a row program) runs fused
     * instead ({@link RowProduct}, named by {@link #productFusion}).
     */
    double[] productPartial(Iterator<Block[]> blocks, Params bundle, boolean[] want) {
        RowProduct fusedProduct = RowProduct.of(this, want, bundle.shapes);
        if (fusedProduct != null) return fusedProduct.partial(blocks, bundle);
        Tensor[] all = bundle.tensors();
        Tensor[] params = Arrays.copyOf(all, want.length);
        List<Tensor> wrt = new ArrayList<>();
        List<Tensor> directions = new ArrayList<>();
        int len = 0;
        for (int i = 0, j = want.length; i < want.length; i++) {
            if (!want[i]) continue;
            wrt.add(params[i].requiresGrad_(true));
            directions.add(all[j++]);
            len += params[i].numel();
        }
        double[] acc = new double[len];
        while (blocks.hasNext()) {
            Block[] b = blocks.next();
            try (Autograd.Scope ignored = Autograd.enableGrad()) {
                Tensor root = replay(b, params, -1)[output];
                if (!root.requiresGrad()) continue;
                List<Tensor> g = Autograd.grad(List.of(root.sum()), wrt, null, true, true, true);
                Tensor gv = null;
                for (int k = 0; k < g.size(); k++) {
                    if (g.get(k) == null || !g.get(k).requiresGrad()) continue;
                    Tensor term = g.get(k).mul(directions.get(k)).sum();
                    gv = gv == null ? term : gv.add(term);
                }
                if (gv == null) continue;
                List<Tensor> hv = Autograd.grad(List.of(gv), wrt, null, false, false, true);
                for (int k = 0, off = 0; k < hv.size(); k++) {
                    Tensor h = hv.get(k);
                    int n = wrt.get(k).numel();
                    if (h != null) {
                        double[] hd = h.toArrayUnsafe();
                        for (int i = 0; i < n; i++) acc[off + i] += hd[i];
                    }
                    off += n;
                }
            }
        }
        return acc;
    }

    /** What {@link #productPartial} runs fused for these parameter shapes, as the product job shows it in its name; "" when nothing. */
    String productFusion(boolean[] want, int[][] paramShapes) {
        RowProduct fusedProduct = RowProduct.of(this, want, paramShapes);
        return fusedProduct == null ? "" : fusedProduct.describe();
    }

    /** Forward values of one op (no grad): the RDD of a DistTensor op. */
    static Iterator<Block> forward(Iterator<Block[]> blocks, int[] columns, Step op, Params paramValues) {
        Tensor[] params = paramValues.tensors();
        return map(blocks, b -> {
            Tensor[] in = new Tensor[b.length];
            for (int i = 0; i < b.length; i++) in[i] = b[i].denseOrNull(columns[i]);
            try (Autograd.Scope ignored = Autograd.noGrad()) {
                if (b[0].isSparse(columns[0])) return new Block(b[0].firstRow(), op.applySparse(b[0].csr(columns[0]), params));
                return new Block(b[0].firstRow(), op.apply(in, params, b[0].firstRow()));
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
    int valueNumelForJob() {
        return valueNumel;
    }

    /** One-element tuples (the first RDD of a zip). */
    static Iterator<Block[]> single(Iterator<Block> it) {
        return map(it, b -> new Block[] {b});
    }

    /** Appends the blocks of one more aligned RDD to each tuple (zipPartitions). */
    static Iterator<Block[]> append(Iterator<Block[]> a, Iterator<Block> b) {
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
    List<String> opNames() {
        return new ArrayList<>(List.of(opNames));
    }
}
