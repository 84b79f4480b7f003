package dev.sparkautograd;

import dev.sparkautograd.tensor.Elementwise;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The element-wise op table is the one place element-wise ops live. Every public Tensor method is probed:
 * one that acts element by element (same shape out, a diagonal Jacobian in its tensor operand) must be a
 * table entry, recorded under the entry's node name; and each entry's two backward forms (the scalar one
 * the engine runs at first order and the row program runs, the differentiable one for higher order) give
 * the same bits.
 */
class OpTableTest {

    /** Identity-like methods that act element by element without being ops of the table. */
    private static final Set<String> NOT_OPS = Set.of("clone", "squeeze", "detach", "requiresGrad_", "contiguous", "unsqueeze");

    private static Tensor input() {
        // Positive and away from every kink, so each op is differentiable at every element.
        return Tensor.rand(7, 2, 3).mul(0.8).add(0.1);
    }

    @Test
    void everyElementwiseTensorMethodIsATableEntry() throws ReflectiveOperationException {
        // method name -> the node names of the entries under that name (pow: PowBackward0 and PowBackward1)
        java.util.Map<String, Set<String>> nodes = new java.util.HashMap<>();
        for (Elementwise e : Elementwise.values()) {
            if (e.method != null) nodes.computeIfAbsent(e.method, k -> new TreeSet<>()).add(e.nodeName);
        }
        List<String> found = new ArrayList<>(), offTable = new ArrayList<>();
        for (Method m : Tensor.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers()) || m.getReturnType() != Tensor.class || NOT_OPS.contains(m.getName())
                    || m.getName().endsWith("_")) continue;
            Object[] args = arguments(m.getParameterTypes());
            if (args == null) continue;
            Tensor x = input().requiresGrad_(true);
            Tensor out;
            try {
                out = (Tensor) m.invoke(x, args);
            } catch (InvocationTargetException e) {
                continue; // not applicable to these arguments
            }
            if (out == null || !out.requiresGrad() || !java.util.Arrays.equals(out.shape(), x.shape()) || !diagonal(m, args)) continue;
            String what = m.getName() + java.util.Arrays.toString(m.getParameterTypes());
            found.add(what);
            if (!nodes.getOrDefault(m.getName(), Set.of()).contains(out.gradFnName())) offTable.add(what + " -> " + out.gradFnName());
        }
        assertTrue(found.size() >= 25, "too few element-wise methods found: " + found);
        assertEquals(List.of(), offTable, "element-wise Tensor methods that are not entries of the op table");
    }

    /** Arguments for a method taking nothing, numbers, or one tensor (of the input's shape); null for other signatures. */
    private static Object[] arguments(Class<?>[] types) {
        Object[] args = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            if (types[i] == double.class) args[i] = i == 0 ? 0.3 : 0.7;
            else if (types[i] == Tensor.class && types.length == 1) args[i] = Tensor.rand(8, 2, 3).add(0.5);
            else return null;
        }
        return args;
    }

    /** Whether each output element depends on the same input element only (the Jacobian is diagonal). */
    private static boolean diagonal(Method m, Object[] args) {
        Tensor j = Autograd.jacobian(t -> {
            try {
                return (Tensor) m.invoke(t, args);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }, input());
        double[] v = j.reshape(6, 6).toArray();
        for (int r = 0; r < 6; r++) for (int c = 0; c < 6; c++) if (r != c && v[r * 6 + c] != 0) return false;
        return true;
    }

    @Test
    void eachUnaryEntrysScalarAndDifferentiableBackwardsGiveTheSameBits() {
        for (Elementwise e : Elementwise.values()) {
            if (e.arity() != 1) continue;
            double b = e == Elementwise.CLAMP ? 0.2 : e == Elementwise.POW_SCALAR ? 2.5 : 0;
            double c = e == Elementwise.CLAMP ? 0.7 : 0;
            Tensor g = Tensor.randn(9, 2, 3).requiresGrad_(true); // so the composed backward records its ops
            Tensor x1 = input().requiresGrad_(true), x2 = input().requiresGrad_(true);
            x1.apply(e, b, c).backward(g);  // first order: the entry's scalar gradA in one pass
            Tensor composed = Autograd.grad(List.of(x2.apply(e, b, c)), List.of(x2), List.of(g), false, true, false).get(0);
            assertTrue(composed.requiresGrad(), e + ": createGraph runs the differentiable backward");
            double[] a1 = x1.grad().toArray(), a2 = composed.toArray();
            for (int i = 0; i < a1.length; i++) {
                assertEquals(Double.doubleToLongBits(a2[i]), Double.doubleToLongBits(a1[i]), e + " element " + i + ": " + a1[i] + " vs " + a2[i]);
            }
        }
    }
}
