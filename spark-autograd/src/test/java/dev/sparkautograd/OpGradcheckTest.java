package dev.sparkautograd;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The op table: every differentiable op contributes sample inputs, and one generic test runs first-
 * and second-order gradcheck over each. The table must cover every op docs/API.md lists.
 */
class OpGradcheckTest {

    /** One sample: an op applied to inputs (all of which require grad). */
    record Sample(String op, Function<List<Tensor>, Tensor> f, List<Tensor> inputs) {}

    private static Tensor r(long seed, int... shape) {
        return Tensor.randn(seed, shape);
    }

    /** Positive values away from 0, for log, sqrt and powers. */
    private static Tensor pos(long seed, int... shape) {
        return Tensor.rand(seed, shape).add(0.5);
    }

    /** Distinct values well away from 0 and from each other: kinks (abs, relu, clamp, max) are not sampled. */
    private static Tensor spread(int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (i % 2 == 0 ? 1 : -1) * (0.3 + 0.37 * i);
        return Tensor.fromArray(v, shape);
    }

    static List<Sample> table() {
        List<Sample> t = new ArrayList<>();
        // Binary arithmetic, each with broadcasting in both directions and a scalar operand.
        t.add(new Sample("add", l -> l.get(0).add(l.get(1)), List.of(r(1, 2, 3), r(2, 3))));
        t.add(new Sample("add", l -> l.get(0).add(l.get(1)), List.of(r(3, 2, 1), r(4, 1, 3))));
        t.add(new Sample("add", l -> l.get(0).add(2.5), List.of(r(5, 3))));
        t.add(new Sample("sub", l -> l.get(0).sub(l.get(1)), List.of(r(6, 2, 3), r(7, 3))));
        t.add(new Sample("sub", l -> l.get(0).sub(1.5), List.of(r(8, 4))));
        t.add(new Sample("mul", l -> l.get(0).mul(l.get(1)), List.of(r(9, 2, 3), r(10, 3))));
        t.add(new Sample("mul", l -> l.get(0).mul(l.get(1)), List.of(r(11, 2, 1), r(12, 1, 3))));
        t.add(new Sample("mul", l -> l.get(0).mul(l.get(0)), List.of(r(13, 3))));
        t.add(new Sample("mul", l -> l.get(0).mul(-3), List.of(r(14, 3))));
        t.add(new Sample("div", l -> l.get(0).div(l.get(1)), List.of(r(15, 2, 3), pos(16, 3))));
        t.add(new Sample("div", l -> l.get(0).div(4), List.of(r(17, 3))));
        t.add(new Sample("neg", l -> l.get(0).neg(), List.of(r(18, 2, 2))));
        t.add(new Sample("pow", l -> l.get(0).pow(3), List.of(r(19, 4))));
        t.add(new Sample("pow", l -> l.get(0).pow(-1.5), List.of(pos(20, 4))));
        t.add(new Sample("pow", l -> l.get(0).pow(l.get(1)), List.of(pos(21, 2, 3), r(22, 3))));
        t.add(new Sample("exp", l -> l.get(0).exp(), List.of(r(23, 2, 3))));
        t.add(new Sample("log", l -> l.get(0).log(), List.of(pos(24, 5))));
        t.add(new Sample("log1p", l -> l.get(0).log1p(), List.of(pos(25, 5))));
        t.add(new Sample("expm1", l -> l.get(0).expm1(), List.of(r(92, 2, 3))));
        t.add(new Sample("log2", l -> l.get(0).log2(), List.of(pos(93, 5))));
        t.add(new Sample("sinh", l -> l.get(0).sinh(), List.of(r(94, 2, 3))));
        t.add(new Sample("cosh", l -> l.get(0).cosh(), List.of(r(95, 2, 3))));
        t.add(new Sample("sqrt", l -> l.get(0).sqrt(), List.of(pos(26, 5))));
        t.add(new Sample("abs", l -> l.get(0).abs(), List.of(spread(2, 3))));
        t.add(new Sample("sin", l -> l.get(0).sin(), List.of(r(27, 5))));
        t.add(new Sample("cos", l -> l.get(0).cos(), List.of(r(28, 5))));
        t.add(new Sample("tanh", l -> l.get(0).tanh(), List.of(r(29, 5))));
        t.add(new Sample("sigmoid", l -> l.get(0).sigmoid(), List.of(r(30, 5))));
        t.add(new Sample("relu", l -> l.get(0).relu(), List.of(spread(2, 3))));
        t.add(new Sample("softplus", l -> l.get(0).softplus(), List.of(r(31, 5))));
        t.add(new Sample("square", l -> l.get(0).square(), List.of(r(32, 5))));
        t.add(new Sample("clamp", l -> l.get(0).clamp(-0.5, 1.0), List.of(spread(2, 3))));
        t.add(new Sample("maximum", l -> l.get(0).maximum(l.get(1)), List.of(spread(2, 3), spread(3).mul(0.9))));
        t.add(new Sample("minimum", l -> l.get(0).minimum(l.get(1)), List.of(spread(2, 3), spread(3).mul(0.9))));
        // Products.
        t.add(new Sample("dot", l -> l.get(0).dot(l.get(1)), List.of(r(33, 4), r(34, 4))));
        t.add(new Sample("matmul", l -> l.get(0).matmul(l.get(1)), List.of(r(35, 2, 3), r(36, 3, 4))));
        t.add(new Sample("matmul", l -> l.get(0).matmul(l.get(1)), List.of(r(37, 2, 3), r(38, 3))));
        t.add(new Sample("matmul", l -> l.get(0).matmul(l.get(1)), List.of(r(39, 3), r(40, 3, 2))));
        t.add(new Sample("matmul", l -> l.get(0).matmul(l.get(1)), List.of(r(41, 2, 2, 3), r(42, 3, 2))));
        t.add(new Sample("matmul", l -> l.get(0).matmul(l.get(1)), List.of(r(43, 40, 30), r(44, 30, 20)))); // the BLAS path
        t.add(new Sample("matmul", l -> l.get(0).matmul(l.get(1)), List.of(r(143, 100, 50), r(144, 50)))); // BLAS mv; backward g A by dgemv
        t.add(new Sample("matmul", l -> l.get(0).matmul(l.get(1)), List.of(r(145, 150, 30), r(146, 30, 1)))); // backward A^T g by dgemv
        // Reductions.
        t.add(new Sample("sum", l -> l.get(0).sum(), List.of(r(45, 2, 3))));
        t.add(new Sample("sum", l -> l.get(0).sum(1, false), List.of(r(46, 2, 3, 2))));
        t.add(new Sample("sum", l -> l.get(0).sum(0, true), List.of(r(47, 2, 3))));
        t.add(new Sample("mean", l -> l.get(0).mean(), List.of(r(48, 2, 3))));
        t.add(new Sample("mean", l -> l.get(0).mean(-1, false), List.of(r(49, 2, 3))));
        t.add(new Sample("mean", l -> l.get(0).mean(0, true), List.of(r(50, 2, 3))));
        t.add(new Sample("norm", l -> l.get(0).norm(), List.of(r(51, 2, 3))));
        t.add(new Sample("max", l -> l.get(0).max(), List.of(spread(2, 3))));
        t.add(new Sample("min", l -> l.get(0).min(), List.of(spread(2, 3))));
        t.add(new Sample("logSumExp", l -> l.get(0).logSumExp(1, false), List.of(r(52, 2, 3))));
        t.add(new Sample("logSumExp", l -> l.get(0).logSumExp(0, true), List.of(r(53, 2, 3))));
        t.add(new Sample("softmax", l -> l.get(0).softmax(1), List.of(r(54, 2, 3))));
        t.add(new Sample("softmax", l -> l.get(0).softmax(0), List.of(r(55, 3, 2))));
        t.add(new Sample("logSoftmax", l -> l.get(0).logSoftmax(1), List.of(r(56, 2, 3))));
        t.add(new Sample("logSoftmax", l -> l.get(0).logSoftmax(0), List.of(r(57, 3, 2))));
        // Shapes.
        t.add(new Sample("reshape", l -> l.get(0).reshape(3, -1), List.of(r(58, 2, 3))));
        t.add(new Sample("t", l -> l.get(0).t(), List.of(r(59, 2, 3))));
        t.add(new Sample("transpose", l -> l.get(0).transpose(0, 2), List.of(r(60, 2, 3, 2))));
        t.add(new Sample("unsqueeze", l -> l.get(0).unsqueeze(1), List.of(r(61, 2, 3))));
        t.add(new Sample("squeeze", l -> l.get(0).squeeze(), List.of(r(62, 2, 1, 3))));
        t.add(new Sample("squeeze", l -> l.get(0).squeeze(1), List.of(r(63, 2, 1, 3))));
        t.add(new Sample("expand", l -> l.get(0).expand(2, 3, 3), List.of(r(64, 3, 1))));
        t.add(new Sample("sumToShape", l -> l.get(0).sumToShape(3, 1), List.of(r(65, 2, 3, 2))));
        t.add(new Sample("slice", l -> l.get(0).slice(1, 1, 3), List.of(r(66, 2, 4))));
        t.add(new Sample("slice", l -> l.get(0).slice(0, -2, 10), List.of(r(67, 3, 2))));
        t.add(new Sample("index", l -> l.get(0).index(1), List.of(r(68, 3, 2))));
        t.add(new Sample("index", l -> l.get(0).index(-1), List.of(r(69, 3))));
        t.add(new Sample("indexSelect", l -> l.get(0).indexSelect(1, Tensor.of(2, 0, 2)), List.of(r(79, 2, 3))));
        t.add(new Sample("indexSelect", l -> l.get(0).indexSelect(0, Tensor.scalar(1)), List.of(r(80, 3, 2))));
        t.add(new Sample("embedding", l -> Tensor.fromArray(new double[] {3, 0, 3, 1}, 2, 2).embedding(l.get(0)), List.of(r(81, 4, 3))));
        t.add(new Sample("embedding", l -> Tensor.of(2, 2, 0).embedding(l.get(0)).tanh(), List.of(r(82, 3, 2))));
        t.add(new Sample("cat", l -> Tensor.cat(List.of(l.get(0), l.get(1)), 1), List.of(r(70, 2, 1), r(71, 2, 3))));
        t.add(new Sample("cat", l -> Tensor.cat(List.of(l.get(0), l.get(1), l.get(0)), 0), List.of(r(72, 1, 2), r(73, 2, 2))));
        t.add(new Sample("where", l -> Tensor.where(Tensor.of(1, 0, 1).gt(0), l.get(0), l.get(1)), List.of(r(74, 2, 3), r(75, 3))));
        t.add(new Sample("clone", l -> l.get(0).clone(), List.of(r(76, 3))));
        // Composites that exercise the engine (diamonds, reuse) under both orders.
        t.add(new Sample("composite", l -> l.get(0).matmul(l.get(1)).tanh().softmax(1).mul(l.get(0).sum(1, true)).logSumExp(0, false),
                List.of(r(77, 3, 4), r(78, 4, 4))));
        for (Sample s : t) for (Tensor x : s.inputs) x.requiresGrad_(true);
        return t;
    }

    @TestFactory
    Stream<DynamicTest> firstOrder() {
        return table().stream().map(s -> DynamicTest.dynamicTest(s.op + " " + shapes(s),
                () -> assertTrue(Autograd.gradcheck(s.f, s.inputs))));
    }

    @TestFactory
    Stream<DynamicTest> secondOrder() {
        return table().stream().map(s -> DynamicTest.dynamicTest(s.op + " " + shapes(s),
                () -> assertTrue(Autograd.gradgradcheck(s.f, s.inputs))));
    }

    private static String shapes(Sample s) {
        StringBuilder b = new StringBuilder();
        for (Tensor x : s.inputs) b.append(Arrays.toString(x.shape()));
        return b.toString();
    }

    /** The table covers every differentiable op docs/API.md lists, and Tensor has a public method for each. */
    @Test
    void tableCoversEveryApiOp() throws IOException {
        Set<String> apiOps = differentiableOpsInApi();
        assertTrue(apiOps.size() >= 40, "parsed too few ops from docs/API.md: " + apiOps);
        Set<String> covered = new LinkedHashSet<>();
        for (Sample s : table()) covered.add(s.op);
        Set<String> missing = new TreeSet<>(apiOps);
        missing.removeAll(covered);
        assertEquals(Set.of(), missing, "docs/API.md ops without a sample in the op table");

        Set<String> methods = new TreeSet<>();
        for (Method m : Tensor.class.getMethods()) if (Modifier.isPublic(m.getModifiers())) methods.add(m.getName());
        Set<String> absent = new TreeSet<>(apiOps);
        absent.removeAll(methods);
        assertEquals(Set.of(), absent, "docs/API.md ops Tensor does not have");
    }

    /** Where docs/API.md keeps the list of differentiable ops: a {@code text} code block right after this marker. */
    static final String OP_LIST_MARKER = "<!-- differentiable-ops";

    /** The names in docs/API.md's list of differentiable ops (white-space separated, in the block after the marker). */
    static Set<String> differentiableOpsInApi() throws IOException {
        String api = Files.readString(apiMd());
        int marker = api.indexOf(OP_LIST_MARKER);
        assertTrue(marker >= 0, "docs/API.md has no '" + OP_LIST_MARKER + "' marker before its op list");
        int open = api.indexOf("```text\n", marker), close = open < 0 ? -1 : api.indexOf("```", open + 8);
        assertTrue(open >= 0 && close > open, "docs/API.md has no ```text block after '" + OP_LIST_MARKER + "'");
        Set<String> names = new LinkedHashSet<>();
        for (String w : api.substring(open + 8, close).trim().split("\\s+")) {
            // A word that is not a method name (a typo, an argument list) is an error, not silently skipped.
            assertTrue(w.matches("[a-z][A-Za-z0-9]*"), "docs/API.md op list: '" + w + "' is not an op name");
            assertTrue(names.add(w), "docs/API.md op list names '" + w + "' twice");
        }
        return names;
    }

    /** docs/API.md under the project root (the build sets {@code sparkautograd.root}). */
    static Path apiMd() {
        Path p = Path.of(System.getProperty("sparkautograd.root", ".")).toAbsolutePath().resolve("docs/API.md");
        if (!Files.exists(p)) fail("the API reference is not at " + p + " (run from the project root, or set -Dsparkautograd.root)");
        return p;
    }

    /** gradcheck itself can fail: a wrong backward formula is caught, and the message names the worst entry. */
    @Test
    void gradcheckCatchesAWrongFormula() {
        Tensor x = Tensor.of(1, 2, 3).requiresGrad_(true);
        Function<List<Tensor>, Tensor> wrong = l -> {
            Tensor in = l.get(0);
            Tensor out = in.mul(in).detach();                   // value x^2 ...
            return out.add(in.mul(3)).sub(in.mul(3).detach());  // ... but gradient 3 instead of 2x
        };
        AssertionError e = assertThrows(AssertionError.class, () -> Autograd.gradcheck(wrong, List.of(x)));
        assertTrue(e.getMessage().contains("input element 2"), e.getMessage());
        assertTrue(e.getMessage().contains("numerical 6.0") || e.getMessage().contains("numerical 5.99"), e.getMessage());
    }
}
