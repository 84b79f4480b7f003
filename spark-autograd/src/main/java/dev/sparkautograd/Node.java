package dev.sparkautograd;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * A grad_fn: one recorded application of a differentiable op. It holds one edge per input (the
 * input's own grad_fn, the accumulator of a leaf that requires grad, or null), the tensors its
 * backward formula needs (freed after backward unless the graph is retained) and that formula.
 */
final class Node implements Autograd.BackwardContext {

    /** A backward formula: the gradients of the op's inputs given the gradient of its output. */
    @FunctionalInterface
    interface Backward {
        Tensor[] apply(Node node, Tensor grad);
    }

    static final String FREED_MESSAGE = "Trying to backward through the graph a second time (or directly access saved "
            + "tensors after they have already been freed). Saved intermediate values of the graph are freed when you "
            + "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph "
            + "a second time or if you need to access saved tensors after calling backward.";

    private static final AtomicLong SEQUENCE = new AtomicLong();

    final String name;
    final Node[] next;
    /** Creation order; among ready nodes the engine runs the newest first, as PyTorch does. */
    final long seq = SEQUENCE.incrementAndGet();
    private final Backward backward;
    private Tensor[] saved;
    private int[] savedVersions;
    private boolean freed;
    /** For an accumulator node: the leaf it accumulates into. */
    final Tensor leaf;
    /** Hooks of the tensor this node produced, run on its gradient before the formula. */
    List<UnaryOperator<Tensor>> preHooks;
    /** The non-leaf output whose gradient is kept in its {@code grad()} (retainGrad). */
    Tensor retainedOutput;
    /** In anomaly mode, where the forward op was called (reported when its backward yields NaN). */
    final Throwable createdAt;
    /** Set by the engine for the duration of one backward call: which inputs need a gradient this time. */
    boolean[] needs;

    Node(String name, Node[] next, Tensor[] saved, Backward backward) {
        this.name = name;
        this.next = next;
        this.backward = backward;
        this.leaf = null;
        setSaved(saved);
        this.createdAt = Autograd.isAnomalyEnabled() ? new Throwable("forward call of " + name) : null;
    }

    /** The accumulator of a leaf ("AccumulateGrad"). */
    Node(Tensor leaf) {
        this.name = "AccumulateGrad";
        this.next = new Node[0];
        this.backward = null;
        this.leaf = leaf;
        this.createdAt = null;
    }

    private void setSaved(Tensor[] tensors) {
        if (tensors == null || tensors.length == 0) return;
        saved = tensors;
        savedVersions = new int[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            if (tensors[i] != null) savedVersions[i] = tensors[i].version[0];
        }
    }

    /** A tensor saved at forward time; checks it was neither freed nor modified in place since. */
    @Override
    public Tensor saved(int i) {
        if (freed) throw new IllegalStateException(FREED_MESSAGE);
        Tensor t = saved[i];
        if (t.version[0] != savedVersions[i]) {
            throw new IllegalStateException("one of the variables needed for gradient computation has been modified by an "
                    + "inplace operation: [torch.DoubleTensor " + dev.sparkautograd.tensor.Shapes.str(t.shape) + "]"
                    + (t.gradFn != null ? ", which is output 0 of " + t.gradFn.name + "," : "")
                    + " is at version " + t.version[0] + "; expected version " + savedVersions[i] + " instead.");
        }
        return t;
    }

    /** Whether input {@code i} needs a gradient in the running backward. */
    boolean needs(int i) {
        return needs != null ? needs[i] : next[i] != null;
    }

    @Override
    public boolean needsInputGrad(int input) {
        return needs(input);
    }

    Tensor[] apply(Tensor grad) {
        return backward.apply(this, grad);
    }

    /** Frees the saved tensors; a node that saved nothing stays runnable, as in PyTorch. */
    void release() {
        if (saved != null) {
            saved = null;
            freed = true;
        }
    }

    boolean isAccumulator() {
        return leaf != null;
    }

    Hook addPreHook(UnaryOperator<Tensor> hook) {
        if (preHooks == null) preHooks = new ArrayList<>(1);
        preHooks.add(hook);
        return () -> preHooks.remove(hook);
    }

    @Override
    public String toString() {
        return "<" + name + ">";
    }
}
