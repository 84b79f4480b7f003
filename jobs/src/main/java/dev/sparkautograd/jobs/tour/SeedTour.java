package dev.sparkautograd.jobs.tour;

import dev.sparkautograd.Tensor;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * The five seed notebooks (notes on d2l's "Automatic Differentiation" chapter) replayed cell by cell
 * in Java: each cell shows its code, as we write it, and prints what running it gives. The cells keep
 * the notebooks' own order and labels, including their quirks (a cell re-run three times, a second
 * backward that fails), because what those notebooks printed is what users know.
 */
public final class SeedTour {

    public static final List<String> SECTIONS = List.of("simple", "non-scalar", "detach", "control-flow");

    /** The variables the notebooks use. */
    static final class State {
        Tensor x, y, u, z, a, d;
    }

    /**
     * One notebook cell. {@code random} cells depend on randn: they print their own values, not the notebook's.
     * {@code run} returns what the cell displays: a Tensor, a String, a Boolean (printed as Python's True/False) or null.
     */
    record Cell(String section, String label, String code, boolean random, Function<State, Object> run) {}

    record Notebook(String id, String title, List<Cell> cells) {}

    /** The seeds' control-flow function: loops and branches on tensor values. */
    public static Tensor f(Tensor a) {
        Tensor b = a.mul(2);
        while (b.norm().item() < 1000) {
            b = b.mul(2);
        }
        Tensor c;
        if (b.sum().item() > 0) {
            c = b;
        } else {
            c = b.mul(100);
        }
        return c;
    }

    static final String F_SOURCE = String.join("\n",
            "static Tensor f(Tensor a) {",
            "    Tensor b = a.mul(2);",
            "    while (b.norm().item() < 1000) {",
            "        b = b.mul(2);",
            "    }",
            "    Tensor c;",
            "    if (b.sum().item() > 0) {",
            "        c = b;",
            "    } else {",
            "        c = b.mul(100);",
            "    }",
            "    return c;",
            "}");

    private final long seed;

    /** @param seed for the random cells' randn */
    public SeedTour(long seed) {
        this.seed = seed;
    }

    // ---- cells shared by several notebooks (same code, same output) ------------------------------

    private static Cell arange(String label) {
        return new Cell("simple", label, "Tensor x = Tensor.arange(4.0);\nx", false, s -> s.x = Tensor.arange(4));
    }

    private static Cell y2dot(String label) {
        return new Cell("simple", label, "Tensor y = x.dot(x).mul(2);   // y = 2 * torch.dot(x, x)\ny", false,
                s -> s.y = s.x.dot(s.x).mul(2));
    }

    private static Cell backwardGrad(String label) {
        return new Cell("simple", label, "y.backward();\nx.grad()", false, s -> {
            s.y.backward();
            return s.x.grad();
        });
    }

    private static Cell check4x(String label) {
        return new Cell("simple", label, "x.grad().eq(x.mul(4))   // x.grad == 4 * x", false, s -> s.x.grad().eq(s.x.mul(4)));
    }

    private static Cell zeroSumBackward(String label, String section) {
        return new Cell(section, label, "x.grad().zero_();\ny = x.sum();\ny.backward();\nx.grad()", false, s -> {
            s.x.grad().zero_();
            s.y = s.x.sum();
            s.y.backward();
            return s.x.grad();
        });
    }

    private static Cell nonScalar(String label) {
        return new Cell("non-scalar", label,
                "x.grad().zero_();\ny = x.mul(x);\ny.backward(Tensor.ones(y.numel()));   // y.backward(gradient=torch.ones(len(y)))\nx.grad()",
                false, s -> {
                    s.x.grad().zero_();
                    s.y = s.x.mul(s.x);
                    s.y.backward(Tensor.ones(s.y.numel()));
                    return s.x.grad();
                });
    }

    private static Cell detachCheck(String label) {
        return new Cell("detach", label,
                "x.grad().zero_();\ny = x.mul(x);\nTensor u = y.detach();\nTensor z = u.mul(x);\nz.sum().backward();\nx.grad().eq(u)",
                false, s -> {
                    s.x.grad().zero_();
                    s.y = s.x.mul(s.x);
                    s.u = s.y.detach();
                    s.z = s.u.mul(s.x);
                    s.z.sum().backward();
                    return s.x.grad().eq(s.u);
                });
    }

    private static Cell detachYStillDifferentiable(String label) {
        return new Cell("detach", label, "x.grad().zero_();\ny.sum().backward();\nx.grad().eq(x.mul(2))", false, s -> {
            s.x.grad().zero_();
            s.y.sum().backward();
            return s.x.grad().eq(s.x.mul(2));
        });
    }

    private static Cell defineF(String label) {
        return new Cell("control-flow", label, F_SOURCE, false, s -> null);
    }

    private Cell randomA(String label, String code, boolean print) {
        return new Cell("control-flow", label, code, true, s -> {
            s.a = Tensor.randn(seed).requiresGrad_(true);   // size=(): a 0-d tensor
            s.d = f(s.a);
            s.d.backward();
            return print ? s.a : null;
        });
    }

    private static Cell gradEqualsDOverA(String label) {
        return new Cell("control-flow", label, "a.grad().eq(d.div(a))   // a.grad == d / a", true, s -> s.a.grad().eq(s.d.div(s.a)));
    }

    // ---- the notebooks -----------------------------------------------------------------------------

    public List<Notebook> notebooks() {
        List<Notebook> books = new ArrayList<>();

        books.add(new Notebook("000", "fpaludi/DeepLearningDatitos: Unidad2_Notas", List.of(
                new Cell("simple", "[3]", "Tensor x = Tensor.arange(4.0).requiresGrad_(true);   // torch.arange(4.0, requires_grad=True)\nx", false,
                        s -> s.x = Tensor.arange(4).requiresGrad_(true)),
                new Cell("simple", "[4]", "x.grad()   // null: Jupyter shows nothing for None", false, s -> s.x.grad()),
                y2dot("[5]"),
                backwardGrad("[6]"),
                check4x("[7]"),
                new Cell("simple", "[8]", "x.grad().eq(x.mul(4)).all().item() == 1   // all(x.grad == 4 * x)", false,
                        s -> s.x.grad().eq(s.x.mul(4)).all().item() == 1),
                zeroSumBackward("[9]", "simple"),
                new Cell("non-scalar", "[10]", "x.grad().zero_();\ny = x.mul(x);\ny.sum().backward();\nx.grad()", false, s -> {
                    s.x.grad().zero_();
                    s.y = s.x.mul(s.x);
                    s.y.sum().backward();
                    return s.x.grad();
                }),
                defineF("[13]"),
                randomA("[14]", "Tensor a = Tensor.randn(seed).requiresGrad_(true);   // torch.randn(size=(), requires_grad=True)\nTensor d = f(a);\nd.backward();", false),
                gradEqualsDOverA("[15]"),
                new Cell("control-flow", "[18]", "List.of(a, a.grad(), d)   // a, a.grad, d", true,
                        s -> "(" + s.a + ",\n " + s.a.grad() + ",\n " + s.d + ")"))));

        books.add(new Notebook("001", "kimgeonhee317/d2l-notes: 2_5_Automatic_Differentiation", List.of(
                arange("[2]"),
                new Cell("simple", "[4]", "x.requiresGrad_(true);\nx.grad()   // null: the gradient is None by default", false, s -> {
                    s.x.requiresGrad_(true);
                    return s.x.grad();
                }),
                y2dot("[13]"),
                new Cell("simple", "[14]", String.join("\n",
                        "// The notebook ran cells [13] and [14] three times (its counter jumped from [4] to [13]);",
                        "// gradients accumulate, so x.grad holds three passes.",
                        "y.backward();",
                        "for (int rerun = 0; rerun < 2; rerun++) {",
                        "    y = x.dot(x).mul(2);",
                        "    y.backward();",
                        "}",
                        "x.grad()"), false, s -> {
                    s.y.backward();
                    for (int rerun = 0; rerun < 2; rerun++) {
                        s.y = s.x.dot(s.x).mul(2);
                        s.y.backward();
                    }
                    return s.x.grad();
                }),
                check4x("[15]"),
                zeroSumBackward("[17]", "simple"),
                nonScalar("[18]"),
                detachCheck("[28]"),
                detachYStillDifferentiable("[29]"),
                defineF("[30]"),
                randomA("[33]", "Tensor a = Tensor.randn(seed).requiresGrad_(true);\nTensor d = f(a);\nd.backward();", false),
                gradEqualsDOverA("[34]"))));

        books.add(new Notebook("002", "automatic differentiation notes (Polish)", List.of(
                arange("[70]"),
                new Cell("simple", "[71]", "x.requiresGrad_(true);\nSystem.out.println(x.grad() == null ? \"None\" : x.grad());   // print(x.grad)", false, s -> {
                    s.x.requiresGrad_(true);
                    System.out.println(s.x.grad() == null ? "None" : s.x.grad());
                    return null;
                }),
                y2dot("[72]"),
                backwardGrad("[73]"),
                check4x("[74]"),
                new Cell("simple", "[75]", "Tensor u = x.sum();\nu.backward();\nu", false, s -> {
                    s.u = s.x.sum();
                    s.u.backward();
                    return s.u;
                }),
                new Cell("simple", "[76]", "x.grad()   // not reset: the new gradient was added to the stored one", false, s -> s.x.grad()),
                new Cell("simple", "[77]", "x.grad().zero_();\nu = x.sum();\nu.backward();\nx.grad()", false, s -> {
                    s.x.grad().zero_();
                    s.u = s.x.sum();
                    s.u.backward();
                    return s.x.grad();
                }))));

        books.add(new Notebook("003", "backpropagation notes (English)", List.of(
                arange("[5]"),
                new Cell("simple", "[7]", "x.requiresGrad_(true);   // alt: Tensor.arange(4.0).requiresGrad_(true)\nx.grad()   // None by default", false, s -> {
                    s.x.requiresGrad_(true);
                    return s.x.grad();
                }),
                y2dot("[8]"),
                backwardGrad("[9]"),
                check4x("[10]"),
                new Cell("simple", "[12]", String.join("\n",
                        "y.backward();   // y's graph was freed by the backward in [9]",
                        "Tensor z = x.grad();",
                        "System.out.println(\"Z :  \" + z);",
                        "y.backward();"), false, s -> {
                    s.y.backward();
                    s.z = s.x.grad();
                    System.out.println("Z :  " + s.z);
                    s.y.backward();
                    return null;
                }),
                zeroSumBackward("[13]", "simple"),
                nonScalar("[14]"),
                detachCheck("[15]"),
                detachYStillDifferentiable("[16]"),
                defineF("[17]"),
                new Cell("control-flow", "[18]", "Tensor a = Tensor.randn(seed).requiresGrad_(true);\nSystem.out.println(a);\nTensor d = f(a);\nd.backward();", true, s -> {
                    s.a = Tensor.randn(seed).requiresGrad_(true);
                    String printed = s.a.toString();
                    s.d = f(s.a);
                    s.d.backward();
                    return printed;
                }),
                gradEqualsDOverA("[20]"),
                new Cell("control-flow", "[21]", "a.grad()", true, s -> s.a.grad()),
                new Cell("control-flow", "[22]", "d.div(a)", true, s -> s.d.div(s.a)))));

        books.add(new Notebook("004", "autograd notes (Korean)", List.of(
                new Cell("simple", "[75]", "Tensor x = Tensor.arange(4.0);", false, s -> {
                    s.x = Tensor.arange(4);
                    return null;
                }),
                new Cell("simple", "[76]", "x", false, s -> s.x),
                new Cell("simple", "[77]", "x.requiresGrad_(true)", false, s -> s.x.requiresGrad_(true)),
                new Cell("simple", "[78]", "x.grad()", false, s -> s.x.grad()),
                new Cell("simple", "[79]", "Tensor y = x.dot(x).mul(2);", false, s -> {
                    s.y = s.x.dot(s.x).mul(2);
                    return null;
                }),
                new Cell("simple", "[80]", "y", false, s -> s.y),
                new Cell("simple", "[81]", "y.backward();", false, s -> {
                    s.y.backward();
                    return null;
                }),
                new Cell("simple", "[82]", "x.grad()", false, s -> s.x.grad()),
                check4x("[83]"),
                new Cell("simple", "[84]", "x.grad().zero_()", false, s -> s.x.grad().zero_()),
                new Cell("simple", "[88]", "x", false, s -> s.x),
                new Cell("simple", "[85]", "y = x.sum();", false, s -> {
                    s.y = s.x.sum();
                    return null;
                }),
                new Cell("simple", "[86]", "y.backward();", false, s -> {
                    s.y.backward();
                    return null;
                }),
                new Cell("simple", "[87]", "x.grad()", false, s -> s.x.grad()),
                new Cell("non-scalar", "[93]", "x", false, s -> s.x),
                new Cell("non-scalar", "[89]", "x.grad().zero_()", false, s -> s.x.grad().zero_()),
                new Cell("non-scalar", "[90]", "y = x.mul(x);", false, s -> {
                    s.y = s.x.mul(s.x);
                    return null;
                }),
                new Cell("non-scalar", "[91]", "y.backward(Tensor.ones(y.numel()));   // y.backward(gradient=torch.ones(len(y)))", false, s -> {
                    s.y.backward(Tensor.ones(s.y.numel()));
                    return null;
                }),
                new Cell("non-scalar", "[92]", "x.grad()", false, s -> s.x.grad()),
                new Cell("detach", "[94]", "x.grad().zero_()", false, s -> s.x.grad().zero_()),
                new Cell("detach", "[95]", "y = x.mul(x);", false, s -> {
                    s.y = s.x.mul(s.x);
                    return null;
                }),
                new Cell("detach", "[96]", "Tensor u = y.detach();", false, s -> {
                    s.u = s.y.detach();
                    return null;
                }),
                new Cell("detach", "[97]", "Tensor z = u.mul(x);", false, s -> {
                    s.z = s.u.mul(s.x);
                    return null;
                }),
                new Cell("detach", "[98]", "z.sum().backward();", false, s -> {
                    s.z.sum().backward();
                    return null;
                }),
                new Cell("detach", "[100]", "x.grad()", false, s -> s.x.grad()),
                new Cell("detach", "[99]", "x.grad().eq(u)", false, s -> s.x.grad().eq(s.u)),
                new Cell("detach", "[102]", "x.grad().zero_()", false, s -> s.x.grad().zero_()),
                new Cell("detach", "[103]", "y.sum().backward();", false, s -> {
                    s.y.sum().backward();
                    return null;
                }),
                new Cell("detach", "[105]", "x.grad()", false, s -> s.x.grad()),
                new Cell("detach", "[104]", "x.grad().eq(x.mul(2))", false, s -> s.x.grad().eq(s.x.mul(2))),
                defineF("[106]"),
                new Cell("control-flow", "[107]", "Tensor a = Tensor.randn(seed).requiresGrad_(true);", true, s -> {
                    s.a = Tensor.randn(seed).requiresGrad_(true);
                    return null;
                }),
                new Cell("control-flow", "[108]", "Tensor d = f(a);", true, s -> {
                    s.d = f(s.a);
                    return null;
                }),
                new Cell("control-flow", "[109]", "d.backward();", true, s -> {
                    s.d.backward();
                    return null;
                }),
                new Cell("control-flow", "[112]", "d", true, s -> s.d),
                new Cell("control-flow", "[113]", "a", true, s -> s.a),
                new Cell("control-flow", "[111]", "a.grad()", true, s -> s.a.grad()),
                gradEqualsDOverA("[110]"))));
        return books;
    }

    /** The notebooks' ids, "000" to "004", as the seed files are numbered. */
    public List<String> notebookIds() {
        return notebooks().stream().map(Notebook::id).toList();
    }

    /**
     * Replays the notebooks. Cells outside {@code sections} still run, silently, so that a section
     * sees the state the notebook had there; only notebooks named in {@code ids} (all when empty) run.
     */
    public void run(PrintStream out, Set<String> sections, Set<String> ids) {
        for (Notebook book : notebooks()) {
            if (!ids.isEmpty() && !ids.contains(book.id)) continue;
            out.println("=== seed " + book.id + ": " + book.title);
            State state = new State();
            for (Cell cell : book.cells) {
                boolean shown = sections.isEmpty() || sections.contains(cell.section);
                PrintStream previous = System.out;
                Object result;
                try {
                    // Cells that print (print(x.grad)) write to System.out: route it to the tour's stream.
                    System.setOut(shown ? out : new PrintStream(java.io.OutputStream.nullOutputStream()));
                    if (shown) {
                        out.println("--- " + cell.section + " " + cell.label + (cell.random ? " (random: seed " + seed + ")" : ""));
                        for (String line : cell.code.split("\n")) out.println(">>> " + line);
                    }
                    try {
                        result = cell.run.apply(state);
                    } catch (RuntimeException e) {
                        result = e.getClass().getSimpleName() + ": " + e.getMessage();
                    }
                } finally {
                    System.setOut(previous);
                }
                if (!shown || result == null) continue;
                out.println(result instanceof Boolean b ? (b ? "True" : "False") : result.toString());
            }
            out.println();
        }
    }
}
