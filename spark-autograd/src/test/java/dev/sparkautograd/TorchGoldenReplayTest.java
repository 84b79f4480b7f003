package dev.sparkautograd;

import dev.sparkautograd.tensor.TensorFormatter;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The differential test against PyTorch: replays every program of {@code torch-golden/programs.txt}
 * (written by {@code tools/torch-golden/generate.py} from PyTorch 1.13 in float64; the format is in the
 * file's header) on the public Tensor and Autograd API and compares each value, grad_fn name, the
 * result's repr, the first- and second-order gradients and the errors with PyTorch's.
 *
 * <p>Numbers compare bitwise, NaN equal to NaN, and otherwise to {@link #RTOL} relative, {@link #ATOL}
 * absolute: the transcendental functions (exp, log, sin, ...) differ from PyTorch's by an ulp or two and sums
 * may add in another order (the generator leaves out programs that amplify such rounding). A zero value
 * equals only a zero of the same sign: PyTorch's ops define it (relu(-0.) is -0., which prints as {@code -0.}
 * and divides to -inf). A zero <em>gradient</em> equals a zero of either sign: its sign comes from PyTorch's
 * engine internals, not from the op's definition (an undefined gradient materialized as +0, a reduction
 * inside a backward formula that starts from its first element rather than from 0, the shape of a
 * double-backward formula), so it is not part of the behaviour to match. The repr compares exactly: our own
 * repr when the values are bitwise PyTorch's, else the formatter applied to PyTorch's values. An error
 * compares by kind (IndexError is IndexOutOfBoundsException, RuntimeError an IllegalArgumentException or
 * IllegalStateException: Java's exception types are a documented departure) and by the operand shapes
 * the message must name. The documented departures are left out by the generator, never excused here.
 */
class TorchGoldenReplayTest {

    static final double RTOL = 1e-10, ATOL = 1e-13;

    /** One program: its tags (the issue's class, or the random flavour) and its lines. */
    record Program(int id, String tags, List<String> lines) {}

    static List<Program> load() throws IOException {
        List<Program> out = new ArrayList<>();
        try (InputStream in = Objects.requireNonNull(TorchGoldenReplayTest.class.getResourceAsStream("/torch-golden/programs.txt"),
                "torch-golden/programs.txt is missing: run tools/torch-golden/generate.py");
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            Program cur = null;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                if (line.startsWith("P ")) {
                    String[] p = line.split(" ");
                    cur = new Program(Integer.parseInt(p[1]), p[2], new ArrayList<>());
                    out.add(cur);
                } else {
                    cur.lines().add(line);
                }
            }
        }
        return out;
    }

    @Test
    void everyProgramAgreesWithPyTorch() throws IOException {
        List<Program> programs = load();
        assertTrue(programs.size() >= 2000, "the golden file holds " + programs.size() + " programs");
        Map<String, Integer> failuresByTag = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        for (Program p : programs) {
            String why;
            try {
                why = new Replay(p).run();
            } catch (RuntimeException | AssertionError e) {
                why = "replay crashed: " + e;
            }
            if (why != null) {
                for (String tag : p.tags().split(",")) failuresByTag.merge(tag, 1, Integer::sum);
                failures.add("program " + p.id() + " [" + p.tags() + "]: " + why + "\n    " + String.join("\n    ", p.lines()));
            }
        }
        if (!failures.isEmpty()) {
            // All of them, for reading: the assertion message shows the first 40.
            java.nio.file.Files.writeString(java.nio.file.Path.of("target", "torch-golden-failures.txt"), String.join("\n", failures) + "\n");
            fail(failures.size() + " of " + programs.size() + " programs disagree with PyTorch; by tag " + failuresByTag
                    + "\n" + String.join("\n", failures.subList(0, Math.min(failures.size(), 40))));
        }
    }

    // ---- one program ------------------------------------------------------------------------

    static final class Replay {
        final Program program;
        final List<String[]> items = new ArrayList<>();   // the T and O lines, in order

        Replay(Program program) {
            this.program = program;
            for (String line : program.lines()) {
                if (line.startsWith("T ") || line.startsWith("O ")) items.add(line.split(" "));
            }
        }

        private String line(String kind) {
            for (String l : program.lines()) if (l.equals(kind) || l.startsWith(kind + " ")) return l;
            return null;
        }

        private List<String> lines(String kind) {
            List<String> out = new ArrayList<>();
            for (String l : program.lines()) if (l.equals(kind) || l.startsWith(kind + " ")) out.add(l);
            return out;
        }

        /** The failure, or null when everything agrees. */
        String run() {
            String fn = line("F");
            if (fn != null) return functional(fn.substring(2));
            List<Tensor> vals = new ArrayList<>();
            RuntimeException error = replay(vals, null);
            String errorLine = line("X");
            // Values, grad_fns and errors, step by step.
            for (String v : lines("V")) {
                String[] f = v.split(" ", -1);
                int k = Integer.parseInt(f[1]);
                if (k >= vals.size()) return "value " + k + ": we threw " + error;
                Tensor t = vals.get(k);
                if (!Arrays.equals(t.shape(), shape(f[2]))) return "value " + k + ": shape " + Arrays.toString(t.shape()) + ", PyTorch " + f[2];
                String gf = f[3].equals("-") ? null : f[3];
                if (!f[3].equals("*") && !Objects.equals(t.gradFnName(), gf)) return "value " + k + ": grad_fn " + t.gradFnName() + ", PyTorch " + gf;
                if (t.isBool() != f[4].equals("1")) return "value " + k + ": bool " + t.isBool() + ", PyTorch " + f[4];
                String d = compare(t.toArray(), numbers(f, 5), true);
                if (d != null) return "value " + k + " " + d;
            }
            if (errorLine != null) {
                String[] f = errorLine.split(" :: ", 2)[0].split(" ", 4);
                int k = Integer.parseInt(f[1]);
                if (error == null) return "value " + k + ": PyTorch raised " + f[2] + " (" + errorLine.split(" :: ", 2)[1] + "), we did not";
                if (vals.size() != k) return "we threw at value " + vals.size() + " (" + error + "), PyTorch at " + k;
                if (!sameKind(f[2], error)) return "value " + k + ": we threw " + error + ", PyTorch " + f[2];
                if (!f[3].equals(".")) {
                    for (String must : f[3].split("\\|")) {
                        if (error.getMessage() == null || !error.getMessage().contains(must)) {
                            return "value " + k + ": the message \"" + error.getMessage() + "\" does not name " + must;
                        }
                    }
                }
                return null;
            }
            if (error != null) return "we threw " + error + " at value " + vals.size() + ", PyTorch did not";
            Tensor out = vals.get(vals.size() - 1);
            String r = line("R");
            if (r != null) {
                String expected = unescape(r.substring(2));
                String[] lastV = lines("V").isEmpty() ? null : lines("V").get(lines("V").size() - 1).split(" ", -1);
                double[] golden = lastV == null ? out.toArray() : numbers(lastV, 5);
                String ours;
                if (bitwise(out.toArray(), golden)) {
                    ours = out.toString();
                } else {
                    List<String> suffixes = new ArrayList<>();
                    if (out.gradFnName() != null) suffixes.add("grad_fn=<" + out.gradFnName() + ">");
                    else if (out.requiresGrad()) suffixes.add("requires_grad=True");
                    ours = TensorFormatter.repr(golden, out.shape(), out.isBool(), suffixes);
                }
                if (lastV != null && lastV[3].equals("*")) {
                    ours = ours.replaceAll("grad_fn=<\\w+>", "grad_fn=<*>");
                    expected = expected.replaceAll("grad_fn=<\\w+>", "grad_fn=<*>");
                }
                if (!ours.equals(expected)) return "repr " + ours + ", PyTorch " + expected;
            }
            String u = line("U");
            if (u == null) {
                if (out.requiresGrad() && !out.isBool()) return "the result requires grad, PyTorch's does not";
                return null;
            }
            if (!out.requiresGrad()) return "the result does not require grad, PyTorch's does";
            Tensor up = Tensor.fromArray(numbers(u.split(" ", -1), 1), out.shape());
            try {
                out.backward(up);
            } catch (RuntimeException e) {
                String b = line("B");
                return b != null ? null : "backward threw " + e;
            }
            for (String dl : lines("D")) {
                String[] f = dl.split(" ", -1);
                int k = Integer.parseInt(f[1]);
                Tensor g = vals.get(k).grad();
                if (f.length > 2 && f[2].equals("none")) {
                    if (g != null) return "grad of input " + k + " is " + g + ", PyTorch None";
                    continue;
                }
                if (g == null) return "grad of input " + k + " is null, PyTorch " + dl;
                String d = compare(g.toArray(), numbers(f, 2), false);
                if (d != null) return "grad of input " + k + " " + d;
            }
            return secondOrder(up);
        }

        private String secondOrder(Tensor up) {
            List<String> hl = lines("H");
            if (hl.isEmpty()) return null;
            List<Tensor> vals = new ArrayList<>();
            RuntimeException e = replay(vals, null);
            if (e != null) return "the second replay threw " + e;
            List<Tensor> wrt = new ArrayList<>();
            List<Integer> wrtIndex = new ArrayList<>();
            for (int k = 0; k < items.size(); k++) {
                if (items.get(k)[0].equals("T") && vals.get(k).requiresGrad()) {
                    wrt.add(vals.get(k));
                    wrtIndex.add(k);
                }
            }
            Tensor out = vals.get(vals.size() - 1);
            List<Tensor> gs = Autograd.grad(List.of(out), wrt, List.of(up), true, true, true);
            Tensor s = null;
            for (String wl : lines("W")) {
                String[] f = wl.split(" ", -1);
                int k = Integer.parseInt(f[1]);
                Tensor g = gs.get(wrtIndex.indexOf(k));
                if (g == null || !g.requiresGrad()) continue;
                Tensor term = g.mul(Tensor.fromArray(numbers(f, 2), g.shape())).sum();
                s = s == null ? term : s.add(term);
            }
            List<Tensor> hs = s != null && s.requiresGrad() ? Autograd.grad(List.of(s), wrt, null, false, false, true) : null;
            for (String h : hl) {
                String[] f = h.split(" ", -1);
                int k = Integer.parseInt(f[1]);
                int i = wrtIndex.indexOf(k);
                Tensor g = hs == null || hs.get(i) == null ? Tensor.zeros(wrt.get(i).shape()) : hs.get(i);
                String d = compare(g.toArray(), numbers(f, 2), false);
                if (d != null) return "second-order grad of input " + k + " " + d;
            }
            return null;
        }

        private String functional(String fn) {
            List<Tensor> consts = new ArrayList<>();
            replay(consts, null);
            Tensor x = consts.get(0);
            Function<Tensor, Tensor> f = z -> {
                List<Tensor> vals = new ArrayList<>();
                RuntimeException e = replay(vals, z);
                if (e != null) throw e;
                return vals.get(vals.size() - 1);
            };
            Tensor r;
            try {
                r = fn.equals("jacobian") ? Autograd.jacobian(f, x) : Autograd.hessian(f, x);
            } catch (RuntimeException e) {
                return fn + " threw " + e;
            }
            String[] j = line("J").split(" ", -1);
            if (!Arrays.equals(r.shape(), shape(j[1]))) return fn + " shape " + Arrays.toString(r.shape()) + ", PyTorch " + j[1];
            String d = compare(r.toArray(), numbers(j, 2), true);
            return d == null ? null : fn + " " + d;
        }

        /** Runs the T and O lines into {@code vals}; the first input is {@code x0} when given. Returns the op's exception, if any. */
        RuntimeException replay(List<Tensor> vals, Tensor x0) {
            for (String[] it : items) {
                if (it[0].equals("T")) {
                    Tensor t = vals.isEmpty() && x0 != null ? x0
                            : Tensor.fromArray(numbers(it, 3), shape(it[1])).requiresGrad_(it[2].equals("1") && x0 == null);
                    vals.add(t);
                    continue;
                }
                try {
                    vals.add(apply(it, vals));
                } catch (RuntimeException e) {
                    return e;
                }
            }
            return null;
        }
    }

    /** One O line: {@code O op arg...}. */
    static Tensor apply(String[] it, List<Tensor> vals) {
        String op = it[1];
        Function<Integer, Tensor> t = i -> vals.get(Integer.parseInt(it[i].substring(1)));
        Function<Integer, Double> d = i -> number(it[i]);
        Function<Integer, Integer> n = i -> Integer.parseInt(it[i]);
        Function<Integer, Boolean> b = i -> it[i].equals("1");
        switch (op) {
            case "add": return t.apply(2).add(t.apply(3));
            case "sub": return t.apply(2).sub(t.apply(3));
            case "mul": return t.apply(2).mul(t.apply(3));
            case "div": return t.apply(2).div(t.apply(3));
            case "pow": return t.apply(2).pow(t.apply(3));
            case "addS": return t.apply(2).add(d.apply(3));
            case "subS": return t.apply(2).sub(d.apply(3));
            case "mulS": return t.apply(2).mul(d.apply(3));
            case "divS": return t.apply(2).div(d.apply(3));
            case "powS": return t.apply(2).pow(d.apply(3));
            case "maximum": return t.apply(2).maximum(t.apply(3));
            case "minimum": return t.apply(2).minimum(t.apply(3));
            case "neg": return t.apply(2).neg();
            case "exp": return t.apply(2).exp();
            case "log": return t.apply(2).log();
            case "log1p": return t.apply(2).log1p();
            case "sqrt": return t.apply(2).sqrt();
            case "abs": return t.apply(2).abs();
            case "sin": return t.apply(2).sin();
            case "cos": return t.apply(2).cos();
            case "tanh": return t.apply(2).tanh();
            case "sigmoid": return t.apply(2).sigmoid();
            case "relu": return t.apply(2).relu();
            case "softplus": return t.apply(2).softplus();
            case "square": return t.apply(2).square();
            case "clamp": return t.apply(2).clamp(d.apply(3), d.apply(4));
            case "dot": return t.apply(2).dot(t.apply(3));
            case "matmul": return t.apply(2).matmul(t.apply(3));
            case "sum": return t.apply(2).sum();
            case "sumDim": return t.apply(2).sum(n.apply(3), b.apply(4));
            case "mean": return t.apply(2).mean();
            case "meanDim": return t.apply(2).mean(n.apply(3), b.apply(4));
            case "norm": return t.apply(2).norm();
            case "max": return t.apply(2).max();
            case "min": return t.apply(2).min();
            case "logSumExp": return t.apply(2).logSumExp(n.apply(3), b.apply(4));
            case "softmax": return t.apply(2).softmax(n.apply(3));
            case "logSoftmax": return t.apply(2).logSoftmax(n.apply(3));
            case "reshape": return t.apply(2).reshape(ints(it[3]));
            case "t": return t.apply(2).t();
            case "transpose": return t.apply(2).transpose(n.apply(3), n.apply(4));
            case "unsqueeze": return t.apply(2).unsqueeze(n.apply(3));
            case "squeeze": return t.apply(2).squeeze();
            case "squeezeDim": return t.apply(2).squeeze(n.apply(3));
            case "expand": return t.apply(2).expand(ints(it[3]));
            case "slice": return t.apply(2).slice(n.apply(3), n.apply(4), n.apply(5));
            case "index": return t.apply(2).index(n.apply(3));
            case "cat": {
                List<Tensor> parts = new ArrayList<>();
                for (String r : it[2].split(",")) parts.add(vals.get(Integer.parseInt(r.substring(1))));
                return Tensor.cat(parts, n.apply(3));
            }
            case "where": return Tensor.where(t.apply(2), t.apply(3), t.apply(4));
            case "clone": return t.apply(2).clone();
            case "eq": return t.apply(2).eq(t.apply(3));
            case "ne": return t.apply(2).ne(t.apply(3));
            case "lt": return t.apply(2).lt(t.apply(3));
            case "le": return t.apply(2).le(t.apply(3));
            case "gt": return t.apply(2).gt(t.apply(3));
            case "ge": return t.apply(2).ge(t.apply(3));
            case "gtS": return t.apply(2).gt(d.apply(3));
            case "leS": return t.apply(2).le(d.apply(3));
            case "all": return t.apply(2).all();
            case "any": return t.apply(2).any();
            default: throw new AssertionError("unknown op in the golden file: " + op);
        }
    }

    // ---- comparison -------------------------------------------------------------------------

    /** Null when {@code ours} matches {@code torch} element by element (see the class comment), else what differs. */
    static String compare(double[] ours, double[] torch, boolean signedZeros) {
        if (ours.length != torch.length) return "has " + ours.length + " elements, PyTorch " + torch.length;
        for (int i = 0; i < ours.length; i++) {
            if (!close(ours[i], torch[i], signedZeros)) {
                return "element " + i + " is " + ours[i] + ", PyTorch " + torch[i] + " (ours " + Arrays.toString(ours)
                        + ", PyTorch " + Arrays.toString(torch) + ")";
            }
        }
        return null;
    }

    static boolean close(double a, double b, boolean signedZeros) {
        if (Double.isNaN(a) || Double.isNaN(b)) return Double.isNaN(a) && Double.isNaN(b);
        if (a == 0 && b == 0) return !signedZeros || Double.doubleToRawLongBits(a) == Double.doubleToRawLongBits(b);
        if (a == b) return true;
        if (Double.isInfinite(a) || Double.isInfinite(b)) return false;
        return Math.abs(a - b) <= ATOL + RTOL * Math.abs(b);
    }

    static boolean bitwise(double[] a, double[] b) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) {
            if (!(Double.isNaN(a[i]) && Double.isNaN(b[i])) && Double.doubleToRawLongBits(a[i]) != Double.doubleToRawLongBits(b[i])) return false;
        }
        return true;
    }

    static boolean sameKind(String python, RuntimeException e) {
        switch (python) {
            case "IndexError":
                return e instanceof IndexOutOfBoundsException && !(e instanceof ArrayIndexOutOfBoundsException);
            case "RuntimeError":
            case "ValueError":
                return e instanceof IllegalArgumentException || e instanceof IllegalStateException;
            default:
                return false;
        }
    }

    // ---- parsing ----------------------------------------------------------------------------

    static double number(String s) {
        switch (s) {
            case "nan": return Double.NaN;
            case "inf": return Double.POSITIVE_INFINITY;
            case "-inf": return Double.NEGATIVE_INFINITY;
            default: return Double.parseDouble(s);
        }
    }

    static double[] numbers(String[] f, int from) {
        List<Double> out = new ArrayList<>();
        for (int i = from; i < f.length; i++) if (!f[i].isEmpty()) out.add(number(f[i]));
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static int[] shape(String s) {
        return s.equals("-") ? new int[0] : Arrays.stream(s.split("x")).mapToInt(Integer::parseInt).toArray();
    }

    static int[] ints(String s) {
        return s.equals(".") ? new int[0] : Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char nx = s.charAt(++i);
                b.append(nx == 'n' ? '\n' : nx);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
