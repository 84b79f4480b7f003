package dev.sparkautograd.optim;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The base of the tensor optimizers, as {@code torch.optim.Optimizer} with one parameter group: the
 * parameters (leaf tensors, updated in place under no-grad), the group's hyperparameters ({@code lr} and the
 * optimizer's own, by PyTorch's names) and a per-parameter state.
 *
 * <p>{@link #stateDict()} has PyTorch's layout: {@code "state"} maps a parameter's index to its state
 * (a map of Tensors, numbers and lists of them; absent until the first step touches the parameter) and
 * {@code "param_groups"} is a one-element list holding the hyperparameters and {@code "params"} (the
 * indices). Everything in it is a copy, so training resumes from it exactly: {@link #loadStateDict} into a
 * fresh optimizer over parameters holding the same values continues the same trajectory.
 */
public abstract class Optimizer {

    protected final List<Tensor> params;
    /** The parameter group's hyperparameters, by PyTorch's names (read at every step: changing lr takes effect). */
    protected final Map<String, Object> group = new LinkedHashMap<>();
    /** Per parameter index, its state (empty until a step). */
    protected final List<Map<String, Object>> state = new ArrayList<>();

    protected Optimizer(List<Tensor> params) {
        if (params == null || params.isEmpty()) throw new IllegalArgumentException("optimizer got an empty parameter list");
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p == null) throw new IllegalArgumentException("parameter " + i + " is null");
            if (!p.isLeaf()) throw new IllegalArgumentException("can't optimize a non-leaf Tensor (parameter " + i + ", grad_fn " + p.gradFnName() + ")");
            if (p.isBool()) throw new IllegalArgumentException("parameter " + i + " is a bool tensor: only floating point tensors can be optimized");
            if (!seen.add(p)) throw new IllegalArgumentException("parameter " + i + " appears more than once in the parameter list");
            state.add(new LinkedHashMap<>());
        }
        this.params = List.copyOf(params);
    }

    /** The parameters, in the order given. */
    public List<Tensor> parameters() {
        return params;
    }

    public double lr() {
        return hp("lr");
    }

    /** Sets the learning rate for the following steps (what a scheduler does to {@code param_groups[0]["lr"]}). */
    public void setLr(double lr) {
        checkNonNegative("learning rate", lr);
        group.put("lr", lr);
    }

    /** Clears the gradients: sets them to null (PyTorch's {@code zero_grad(set_to_none=True)}, its default since 2.0). */
    public void zeroGrad() {
        zeroGrad(true);
    }

    /** {@code setToNone}: clears the gradients to null; otherwise zeroes them in place (PyTorch 1.x's default). */
    public void zeroGrad(boolean setToNone) {
        for (Tensor p : params) {
            if (p.grad() == null) continue;
            if (setToNone) {
                p.setGrad(null);
            } else {
                try (Autograd.Scope ignored = Autograd.noGrad()) {
                    p.grad().zero_();
                }
            }
        }
    }

    /** One update from the parameters' current gradients (a parameter without a gradient is left alone). */
    public final void step() {
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            update();
        }
    }

    /**
     * Evaluates {@code closure} (which zeroes the gradients, computes the loss and calls backward) with grad
     * enabled, then steps; returns the closure's loss, as PyTorch's {@code step(closure)}.
     */
    public Tensor step(Supplier<Tensor> closure) {
        Tensor loss;
        try (Autograd.Scope ignored = Autograd.enableGrad()) {
            loss = closure.get();
        }
        step();
        return loss;
    }

    /** The update itself, run under no-grad. */
    protected abstract void update();

    /** The hyperparameters this optimizer keeps in its group (names and kinds checked by {@link #loadStateDict}). */
    public Map<String, Object> hyperparameters() {
        return Collections.unmodifiableMap(group);
    }

    protected final double hp(String name) {
        return ((Number) group.get(name)).doubleValue();
    }

    protected final boolean flag(String name) {
        return (Boolean) group.get(name);
    }

    // ---- state dict ----------------------------------------------------------------------------------

    /** A copy of the state and the hyperparameters, in PyTorch's layout (see the class comment). */
    public Map<String, Object> stateDict() {
        Map<Integer, Map<String, Object>> st = new LinkedHashMap<>();
        for (int i = 0; i < state.size(); i++) {
            if (!state.get(i).isEmpty()) st.put(i, copyMap(state.get(i)));
        }
        Map<String, Object> g = new LinkedHashMap<>(group);
        List<Integer> indices = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) indices.add(i);
        g.put("params", indices);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("state", st);
        out.put("param_groups", new ArrayList<>(List.of(g)));
        return out;
    }

    /**
     * Replaces the state and the hyperparameters by copies of those in {@code dict} (from {@link #stateDict()}
     * of an optimizer of the same kind over parameters of the same shapes).
     */
    @SuppressWarnings("unchecked")
    public void loadStateDict(Map<String, Object> dict) {
        String me = getClass().getSimpleName();
        if (dict == null || !(dict.get("state") instanceof Map) || !(dict.get("param_groups") instanceof List)) {
            throw new IllegalArgumentException(me + ".loadStateDict: not a state dict (it needs a \"state\" map and a \"param_groups\" list)");
        }
        List<Object> groups = (List<Object>) dict.get("param_groups");
        if (groups.size() != 1 || !(groups.get(0) instanceof Map)) {
            throw new IllegalArgumentException("loaded state dict has a different number of parameter groups (" + groups.size() + ", this " + me + " has 1)");
        }
        Map<String, Object> g = new LinkedHashMap<>((Map<String, Object>) groups.get(0));
        Object ps = g.remove("params");
        if (!(ps instanceof List) || ((List<?>) ps).size() != params.size()) {
            throw new IllegalArgumentException("loaded state dict contains a parameter group that doesn't match the size of optimizer's group ("
                    + (ps instanceof List ? ((List<?>) ps).size() : "no") + " parameters, this " + me + " has " + params.size() + ")");
        }
        if (!g.keySet().equals(group.keySet())) {
            throw new IllegalArgumentException("loaded state dict has the hyperparameters " + g.keySet() + " but this " + me + " has " + group.keySet());
        }
        for (Map.Entry<String, Object> e : g.entrySet()) {
            Object mine = group.get(e.getKey());
            boolean sameKind = mine instanceof Number ? e.getValue() instanceof Number : mine == null || e.getValue() == null
                    || mine.getClass() == e.getValue().getClass();
            if (!sameKind) {
                throw new IllegalArgumentException("loaded state dict has " + e.getKey() + " = " + e.getValue() + ", of another kind than this " + me + "'s " + mine);
            }
        }
        Map<Object, Object> st = (Map<Object, Object>) dict.get("state");
        List<Map<String, Object>> loaded = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) loaded.add(new LinkedHashMap<>());
        for (Map.Entry<Object, Object> e : st.entrySet()) {
            int i = e.getKey() instanceof Number ? ((Number) e.getKey()).intValue() : -1;
            if (i < 0 || i >= params.size() || !(e.getValue() instanceof Map)) {
                throw new IllegalArgumentException("loaded state dict has state for parameter " + e.getKey() + ", but this " + me + " has parameters 0.." + (params.size() - 1));
            }
            Map<String, Object> s = copyMap((Map<String, Object>) e.getValue());
            checkLoadedState(i, s);
            loaded.get(i).putAll(s);
        }
        group.clear();
        group.putAll(g);
        for (int i = 0; i < params.size(); i++) {
            state.get(i).clear();
            state.get(i).putAll(loaded.get(i));
        }
    }

    /** Checks one parameter's loaded state; by default every Tensor in it must have the parameter's shape. */
    protected void checkLoadedState(int index, Map<String, Object> s) {
        int[] shape = params.get(index).shape();
        for (Map.Entry<String, Object> e : s.entrySet()) {
            if (e.getValue() instanceof Tensor && !Arrays.equals(((Tensor) e.getValue()).shape(), shape)) {
                throw new IllegalArgumentException("loaded state dict has " + e.getKey() + " of shape " + Arrays.toString(((Tensor) e.getValue()).shape())
                        + " for parameter " + index + " of shape " + Arrays.toString(shape));
            }
        }
    }

    private static Map<String, Object> copyMap(Map<String, Object> m) {
        Map<String, Object> c = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : m.entrySet()) c.put(e.getKey(), copyValue(e.getValue()));
        return c;
    }

    private static Object copyValue(Object v) {
        if (v instanceof Tensor) return copy((Tensor) v);
        if (v instanceof List) {
            List<Object> c = new ArrayList<>();
            for (Object o : (List<?>) v) c.add(copyValue(o));
            return c;
        }
        return v;
    }

    /** A fresh tensor with the values of {@code t}, outside any graph. */
    protected static Tensor copy(Tensor t) {
        return Tensor.fromArray(t.toArrayUnsafe(), t.shape());
    }

    // ---- argument checks (PyTorch's messages) ----------------------------------------------------

    protected static void checkNonNegative(String what, double v) {
        if (!(v >= 0)) {
            String name = what.equals("learning rate") ? "Invalid learning rate: " : "Invalid " + what + " value: ";
            throw new IllegalArgumentException(name + v);
        }
    }
}
