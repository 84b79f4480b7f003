package dev.sparkautograd.nn;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.BlockFunction;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A model as {@code torch.nn.Module}: parameters (registered with {@link #registerParameter}), sub-modules
 * (registered with {@link #registerModule}) and a {@link #forward(Tensor)} over a block of rows written with
 * Tensor ops (Java control flow allowed).
 *
 * <p>The same forward serves a {@link DistTensor}: {@link #forward(DistTensor)} replays it on every block of
 * the partitioned rows, with the module's parameters broadcast to the executors, so a loss reduced from its
 * output back-propagates into {@link #parameters()} like a local one. For that the module is shipped to the
 * executors by Java serialization without its parameter values (which travel as the parameters of
 * {@code DistTensor.mapBlocks}): a module's fields other than parameters and sub-modules must be serializable
 * ({@code double[]}, numbers, strings; a constant tensor would have to be a parameter or a {@code double[]}).
 */
public abstract class Module implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A registered parameter: a handle whose tensor stays on the driver (it is not serialized). */
    public static final class Parameter implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String name;
        private transient Tensor value;

        private Parameter(String name, Tensor value) {
            this.name = name;
            this.value = value;
        }

        /** The parameter tensor (a leaf that requires grad). */
        public Tensor value() {
            if (value == null) throw new IllegalStateException("parameter '" + name + "' has no value in this copy of the module");
            return value;
        }

        public String name() {
            return name;
        }
    }

    private final LinkedHashMap<String, Parameter> params = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();

    /** The module's output for a block of rows (or any input its layers accept). */
    public abstract Tensor forward(Tensor input);

    /**
     * The forward over partitioned rows: {@link #forward(Tensor)} replayed block by block through
     * {@code input.mapBlocks(parameters(), ...)}; the parameters' current values go with each job.
     */
    public final DistTensor forward(DistTensor input) {
        return input.mapBlocks(parameters(), new Replay(serializedSkeleton()));
    }

    /** Registers {@code value} as the parameter {@code name} (marked as requiring grad); returns its handle. */
    protected final Parameter registerParameter(String name, Tensor value) {
        checkName(name);
        if (value == null) throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter '" + name + "' is null");
        if (!value.isLeaf()) throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter '" + name + "' must be a leaf tensor (detach it)");
        Parameter p = new Parameter(name, value.requiresGrad_(true));
        params.put(name, p);
        return p;
    }

    /** Registers {@code module} as the child {@code name} (its parameters become "name.param"); returns it. */
    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name);
        if (module == null) throw new IllegalArgumentException(getClass().getSimpleName() + ": module '" + name + "' is null");
        children.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": a parameter or module name must be non-empty without '.', got '" + name + "'");
        }
        if (params.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": the name '" + name + "' is already registered");
        }
    }

    /** The child modules, by name, in registration order. */
    public Map<String, Module> children() {
        return java.util.Collections.unmodifiableMap(children);
    }

    /** Every parameter, this module's first, then its children's, in registration order (as PyTorch's named_parameters). */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out);
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out) {
        for (Parameter p : params.values()) out.put(prefix + p.name, p.value());
        for (Map.Entry<String, Module> c : children.entrySet()) c.getValue().collect(prefix + c.getKey() + ".", out);
    }

    /** The parameters in {@link #namedParameters()} order: what an optimizer takes. */
    public List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Copies of the parameters' values by name ("0.weight", "0.bias", ... in a Sequential), to save a model. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedParameters().forEach((k, v) -> out.put(k, Tensor.fromArray(v.toArrayUnsafe(), v.shape())));
        return out;
    }

    /** Copies saved values into the parameters (in place, no graph); names and shapes must match exactly. */
    public void loadStateDict(Map<String, Tensor> dict) {
        Map<String, Tensor> mine = namedParameters();
        List<String> errors = new ArrayList<>();
        TreeSet<String> missing = new TreeSet<>(mine.keySet()), unexpected = new TreeSet<>(dict.keySet());
        missing.removeAll(dict.keySet());
        unexpected.removeAll(mine.keySet());
        if (!missing.isEmpty()) errors.add("Missing key(s) in state_dict: " + missing);
        if (!unexpected.isEmpty()) errors.add("Unexpected key(s) in state_dict: " + unexpected);
        for (Map.Entry<String, Tensor> e : mine.entrySet()) {
            Tensor src = dict.get(e.getKey());
            if (src != null && !Arrays.equals(src.shape(), e.getValue().shape())) {
                errors.add("size mismatch for " + e.getKey() + ": copying a param with shape " + Arrays.toString(src.shape())
                        + " from checkpoint, the shape in current model is " + Arrays.toString(e.getValue().shape()));
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("Error(s) in loading state_dict for " + getClass().getSimpleName() + ": " + String.join("; ", errors));
        }
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            mine.forEach((k, v) -> v.copy_(dict.get(k)));
        }
    }

    @Override
    public String toString() {
        if (children.isEmpty()) return getClass().getSimpleName() + "()";
        StringBuilder b = new StringBuilder(getClass().getSimpleName()).append("(\n");
        children.forEach((k, v) -> b.append("  (").append(k).append("): ").append(v.toString().replace("\n", "\n  ")).append('\n'));
        return b.append(')').toString();
    }

    // ---- the replay on the executors -------------------------------------------------------------------

    /** This module serialized without its parameter values (they are transient in their handles). */
    private byte[] serializedSkeleton() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(this);
        } catch (NotSerializableException e) {
            throw new IllegalArgumentException(getClass().getName() + " cannot be shipped to the executors: it holds a " + e.getMessage()
                    + ", which is not serializable (register tensors with registerParameter; keep constants as double[])", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Gives each parameter handle, in {@link #namedParameters()} order, the tensors of a replay. */
    private int bind(List<Tensor> values, int from) {
        int i = from;
        for (Parameter p : params.values()) p.value = values.get(i++);
        for (Module c : children.values()) i = c.bind(values, i);
        return i;
    }

    /**
     * The block function of {@link #forward(DistTensor)}: a fresh copy of the module per block, its parameters
     * bound to the replay's tensors (so it is stateless, and the driver's module is never rebound).
     */
    private static final class Replay implements BlockFunction {
        private static final long serialVersionUID = 1L;
        private final byte[] skeleton;

        Replay(byte[] skeleton) {
            this.skeleton = skeleton;
        }

        @Override
        public Tensor apply(Tensor block, List<Tensor> params) {
            Module m;
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(skeleton)) {
                @Override
                protected Class<?> resolveClass(java.io.ObjectStreamClass desc) throws IOException, ClassNotFoundException {
                    // the task's class loader holds the user's module classes (spark-submit --jars)
                    return Class.forName(desc.getName(), false, Thread.currentThread().getContextClassLoader());
                }
            }) {
                m = (Module) in.readObject();
            } catch (IOException | ClassNotFoundException e) {
                throw new IllegalStateException("cannot rebuild the module for a block: " + e, e);
            }
            int bound = m.bind(params, 0);
            if (bound != params.size()) throw new IllegalStateException("the module has " + bound + " parameters, the replay " + params.size());
            return m.forward(block);
        }
    }
}
