package dev.sparkautograd;

import dev.sparkautograd.tensor.Kernels;
import dev.sparkautograd.tensor.Shapes;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.UnaryOperator;

/**
 * Reverse-mode execution over the recorded graph, without recursion (graphs 100,000 nodes deep are
 * fine): count each node's consumers, then run a node once all of them have delivered its gradient.
 * Two modes share the one loop: accumulate into leaves ({@code backward()}), or capture the gradients
 * arriving at chosen tensors ({@code Autograd.grad}).
 */
final class Engine {
    private Engine() {}

    /** Per-node state of one run; its edges resolved to the inputs' tasks once, so the loop looks nothing up. */
    private static final class Task {
        final Node node;
        /** The tasks of {@code node.next} (null where the edge is null), filled when the graph is collected. */
        Task[] next;
        int dependencies;
        Tensor buffer;
        boolean needed;
        int captureIndex = -1;

        Task(Node node) {
            this.node = node;
        }
    }

    /**
     * @param captures null to accumulate into leaves; else the tensors whose gradients are returned
     * @return the captured gradients (null entries where nothing arrived), or null when accumulating
     */
    static Tensor[] run(Tensor[] roots, Tensor[] rootGrads, boolean retainGraph, boolean createGraph, Tensor[] captures) {
        Node[] rootNodes = new Node[roots.length];
        for (int i = 0; i < roots.length; i++) {
            Tensor r = roots[i];
            if (!r.requiresGrad()) {
                throw new IllegalStateException("element " + i + " of tensors does not require grad and does not have a grad_fn");
            }
            rootNodes[i] = r.gradEdge();
        }
        Map<Node, Task> tasks = new IdentityHashMap<>();
        List<Task> postOrder = collect(rootNodes, tasks);

        if (captures != null) {
            for (int i = 0; i < captures.length; i++) {
                Tensor c = captures[i];
                if (!c.requiresGrad()) throw new IllegalStateException("One of the differentiated Tensors does not require grad");
                Task t = tasks.get(c.gradEdge());
                if (t != null) t.captureIndex = i;
            }
        }
        // A node is needed when some target lies below it; consumers are counted over needed nodes only.
        for (Task t : postOrder) {
            if (captures == null ? t.node.isAccumulator() : t.captureIndex >= 0) t.needed = true;
            for (Task m : t.next) {
                if (m != null && m.needed) t.needed = true;
            }
        }
        for (Task t : postOrder) {
            if (!t.needed) continue;
            for (Task m : t.next) {
                if (m != null) m.dependencies++;
            }
        }

        PriorityQueue<Task> ready = new PriorityQueue<>((a, b) -> Long.compare(b.node.seq, a.node.seq));
        Tensor[] captured = captures == null ? null : new Tensor[captures.length];
        boolean anomaly = Autograd.isAnomalyEnabled();
        try (Autograd.Scope ignored = createGraph ? Autograd.enableGrad() : Autograd.noGrad()) {
            for (int i = 0; i < roots.length; i++) {
                Task t = tasks.get(rootNodes[i]);
                t.buffer = accumulate(t.buffer, rootGrads[i]);
                if (t.dependencies == 0 && !ready.contains(t)) ready.add(t);
            }
            while (!ready.isEmpty()) {
                Task task = ready.poll();
                Node node = task.node;
                Tensor grad = task.buffer;
                task.buffer = null;
                Task[] next = task.next;
                boolean[] needs = new boolean[next.length];
                for (int i = 0; i < next.length; i++) needs[i] = next[i] != null && next[i].needed;
                Tensor[] inputGrads = null;
                // A node no gradient reached (every consumer returned null) still releases its inputs.
                if (grad != null && task.needed) {
                    if (node.preHooks != null) grad = runHooks(node.preHooks, grad);
                    if (node.retainedOutput != null) retain(node.retainedOutput, grad, createGraph);
                    if (task.captureIndex >= 0) {
                        // A captured leaf's hooks see its gradient, as PyTorch runs them for autograd.grad too.
                        if (node.isAccumulator() && node.leaf.hooks != null) grad = runHooks(node.leaf.hooks, grad);
                        captured[task.captureIndex] = grad;
                        if (node.isAccumulator()) continue;
                    } else if (node.isAccumulator()) {
                        accumulateIntoLeaf(node.leaf, grad, createGraph);
                        continue;
                    }
                    node.needs = needs;
                    try {
                        inputGrads = node.apply(grad);
                    } finally {
                        node.needs = null;
                    }
                    if (!retainGraph) node.release();
                }
                for (int i = 0; i < next.length; i++) {
                    if (!needs[i]) continue;
                    Task nt = next[i];
                    Tensor g = inputGrads == null ? null : inputGrads[i];
                    if (g != null) {
                        if (anomaly) checkAnomaly(node, i, g);
                        nt.buffer = accumulate(nt.buffer, g);
                    }
                    if (--nt.dependencies == 0) ready.add(nt);
                }
            }
        }
        return captured;
    }

    /** The tasks of every node reachable from the roots, children before parents (an iterative DFS), their edges resolved. */
    private static List<Task> collect(Node[] roots, Map<Node, Task> tasks) {
        List<Task> postOrder = new ArrayList<>();
        ArrayDeque<Node> stack = new ArrayDeque<>();
        ArrayDeque<Integer> edge = new ArrayDeque<>();
        for (Node root : roots) {
            if (tasks.containsKey(root)) continue;
            tasks.put(root, new Task(root));
            stack.push(root);
            edge.push(0);
            while (!stack.isEmpty()) {
                Node n = stack.peek();
                int e = edge.pop();
                if (e < n.next.length) {
                    edge.push(e + 1);
                    Node m = n.next[e];
                    if (m != null && !tasks.containsKey(m)) {
                        tasks.put(m, new Task(m));
                        stack.push(m);
                        edge.push(0);
                    }
                } else {
                    stack.pop();
                    // every input was visited before its consumer is popped
                    Task t = tasks.get(n);
                    t.next = new Task[n.next.length];
                    for (int i = 0; i < n.next.length; i++) t.next[i] = n.next[i] == null ? null : tasks.get(n.next[i]);
                    postOrder.add(t);
                }
            }
        }
        return postOrder;
    }

    /** Sums gradients arriving from several consumers; records the sum only under createGraph. */
    private static Tensor accumulate(Tensor buffer, Tensor g) {
        return buffer == null ? g : buffer.add(g);
    }

    private static Tensor runHooks(List<UnaryOperator<Tensor>> hooks, Tensor grad) {
        // A copy: a hook may remove itself while running.
        for (UnaryOperator<Tensor> hook : new ArrayList<>(hooks)) {
            Tensor replaced = hook.apply(grad);
            if (replaced != null) {
                if (!Arrays.equals(replaced.shape, grad.shape)) {
                    throw new IllegalArgumentException("hook returned a gradient of shape " + Shapes.str(replaced.shape)
                            + " for a tensor of shape " + Shapes.str(grad.shape));
                }
                grad = replaced;
            }
        }
        return grad;
    }

    private static void retain(Tensor t, Tensor grad, boolean createGraph) {
        t.grad = t.grad == null ? (createGraph ? grad : grad.detachedCopy()) : t.grad.add(grad);
    }

    /** PyTorch's AccumulateGrad: the leaf's hooks see the summed gradient once, then it is added to grad(). */
    private static void accumulateIntoLeaf(Tensor leaf, Tensor grad, boolean createGraph) {
        if (leaf.hooks != null) grad = runHooks(leaf.hooks, grad);
        if (!Arrays.equals(grad.shape, leaf.shape)) {
            throw new IllegalStateException("gradient of shape " + Shapes.str(grad.shape) + " for a leaf of shape " + Shapes.str(leaf.shape));
        }
        if (leaf.grad == null) {
            leaf.grad = createGraph ? grad : grad.detachedCopy();
        } else if (createGraph || leaf.grad.requiresGrad()) {
            leaf.grad = leaf.grad.add(grad);
        } else {
            Kernels.binaryInPlace(dev.sparkautograd.tensor.Elementwise.ADD, leaf.grad.data, leaf.grad.shape, grad.data, grad.shape);
            leaf.grad.version[0]++;
        }
    }

    private static void checkAnomaly(Node node, int input, Tensor g) {
        for (double v : g.data) {
            if (Double.isNaN(v)) {
                IllegalStateException e = new IllegalStateException(
                        "Function '" + node.name + "' returned nan values in its " + input + "th output.");
                if (node.createdAt != null) e.initCause(node.createdAt);
                throw e;
            }
        }
    }
}
