package dev.sparkautograd.tensor;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A byte-for-byte port of PyTorch's tensor {@code repr} ({@code torch/_tensor_str.py}) for dense,
 * row-major, CPU tensors of the default floating dtype or of {@code torch.bool}, with PyTorch's
 * default print options (precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None).
 *
 * <p>Each private method names the PyTorch function it ports. PyTorch formats numbers with
 * Python's {@code format()}, which rounds the <em>exact</em> binary value half-to-even; Java's
 * {@code String.format} does not, so numbers are rendered through {@link BigDecimal} built from the
 * double's exact binary expansion.
 */
public final class TensorFormatter {

    // torch._tensor_str.PRINT_OPTS defaults (set_printoptions(profile="default")).
    private static final int PRECISION = 4;
    private static final int THRESHOLD = 1000;
    private static final int EDGE_ITEMS = 3;
    private static final int LINEWIDTH = 80;

    /** _str_intern: the prefix of a plain tensor; its length is the indent of every nested line. */
    private static final String PREFIX = "tensor(";

    private TensorFormatter() {
    }

    /**
     * PyTorch's repr for a dense row-major float64 (or bool) tensor.
     *
     * @param data     the elements in row-major order; bool tensors store 1.0 (True) / 0.0 (False)
     * @param shape    the shape; {@code new int[0]} for a 0-d tensor (one element)
     * @param isBool   print as {@code torch.bool} ({@code True}/{@code False})
     * @param suffixes already formatted suffixes in PyTorch's order, e.g. {@code "requires_grad=True"}
     *                 or {@code "grad_fn=<MulBackward0>"}; may be empty
     * @return exactly what {@code repr(tensor)} prints in PyTorch 2.x
     */
    public static String repr(double[] data, int[] shape, boolean isBool, List<String> suffixes) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(suffixes, "suffixes");
        long numel = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + pyTuple(shape));
            }
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + pyTuple(shape) + " is too large", e);
            }
        }
        if (numel != data.length) {
            throw new IllegalArgumentException(
                    "shape " + pyTuple(shape) + " needs " + numel + " elements, got " + data.length);
        }

        // _str_intern: suffixes it adds itself come before requires_grad / grad_fn.
        List<String> allSuffixes = new ArrayList<>();
        String tensorStr;
        if (numel == 0) {
            // _str_intern: an empty tensor prints "[]", its shape unless it is (0,), and its dtype
            // unless it is the default floating dtype (nothing is left to infer it from).
            if (shape.length != 1) {
                allSuffixes.add("size=" + pyTuple(shape));
            }
            if (isBool) {
                allSuffixes.add("dtype=torch.bool");
            }
            tensorStr = "[]";
        } else {
            tensorStr = tensorStr(new View(data, shape), PREFIX.length(), isBool);
        }
        allSuffixes.addAll(suffixes);
        return addSuffixes(PREFIX + tensorStr, allSuffixes, PREFIX.length());
    }

    // ---------------------------------------------------------------------------------------------
    // _tensor_str and the recursion over dimensions
    // ---------------------------------------------------------------------------------------------

    /** _tensor_str (non-empty case): one formatter, chosen over the elements that will be shown. */
    private static String tensorStr(View self, int indent, boolean isBool) {
        boolean summarize = self.numel() > THRESHOLD;
        List<Double> shown = new ArrayList<>();
        if (summarize) {
            summarizedData(self, shown);
        } else {
            for (int i = 0; i < self.numel(); i++) {
                shown.add(self.data[self.offset + i]);
            }
        }
        Formatter formatter = new Formatter(shown, !isBool);
        return tensorStrWithFormatter(self, indent, summarize, formatter);
    }

    /**
     * get_summarized_data: collects (flattened) the elements a summarized print shows, i.e. the
     * first and last {@code edgeitems} entries along every dimension longer than 2*edgeitems.
     * Only the values matter to the formatter, so they are appended rather than stacked.
     */
    private static void summarizedData(View self, List<Double> out) {
        int dim = self.dim();
        if (dim == 0) {
            out.add(self.item());
            return;
        }
        int n = self.size0();
        if (n > 2 * EDGE_ITEMS) {
            for (int i = 0; i < EDGE_ITEMS; i++) {
                summarizedData(self.get(i), out);
            }
            for (int i = n - EDGE_ITEMS; i < n; i++) {
                summarizedData(self.get(i), out);
            }
        } else {
            for (int i = 0; i < n; i++) {
                summarizedData(self.get(i), out);
            }
        }
    }

    /**
     * _tensor_str_with_formatter: scalars and vectors print directly; higher dimensions print
     * their sub-tensors one indent deeper, separated by "," plus (dim - 1) newlines, so 2-d rows
     * sit on consecutive lines and 2-d slices of a 3-d tensor are separated by a blank line.
     */
    private static String tensorStrWithFormatter(View self, int indent, boolean summarize, Formatter f) {
        int dim = self.dim();
        if (dim == 0) {
            return f.format(self.item()); // _scalar_str
        }
        if (dim == 1) {
            return vectorStr(self, indent, summarize, f);
        }
        int n = self.size0();
        List<String> slices = new ArrayList<>();
        if (summarize && n > 2 * EDGE_ITEMS) {
            for (int i = 0; i < EDGE_ITEMS; i++) {
                slices.add(tensorStrWithFormatter(self.get(i), indent + 1, summarize, f));
            }
            slices.add("...");
            for (int i = n - EDGE_ITEMS; i < n; i++) {
                slices.add(tensorStrWithFormatter(self.get(i), indent + 1, summarize, f));
            }
        } else {
            for (int i = 0; i < n; i++) {
                slices.add(tensorStrWithFormatter(self.get(i), indent + 1, summarize, f));
            }
        }
        String separator = "," + "\n".repeat(dim - 1) + " ".repeat(indent + 1);
        return "[" + String.join(separator, slices) + "]";
    }

    /**
     * _vector_str: elements are wrapped so that a line holds
     * {@code max(1, floor((linewidth - indent) / (formatter.width() + 2)))} of them. The width is
     * the formatter's max_width, not the printed width, so it is used even where an element (e.g.
     * "0." from an all-zero tensor, whose max_width stays 1) prints wider. A summarized vector
     * shows edgeitems, then the element " ..." (which counts as one element when wrapping), then
     * edgeitems.
     */
    private static String vectorStr(View self, int indent, boolean summarize, Formatter f) {
        int elementLength = f.width() + 2;
        int elementsPerLine = Math.max(1, Math.floorDiv(LINEWIDTH - indent, elementLength));
        int n = self.size0();
        List<String> data = new ArrayList<>();
        if (summarize && n > 2 * EDGE_ITEMS) {
            for (int i = 0; i < EDGE_ITEMS; i++) {
                data.add(f.format(self.get(i).item()));
            }
            data.add(" ...");
            for (int i = n - EDGE_ITEMS; i < n; i++) {
                data.add(f.format(self.get(i).item()));
            }
        } else {
            for (int i = 0; i < n; i++) {
                data.add(f.format(self.get(i).item()));
            }
        }
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < data.size(); i += elementsPerLine) {
            lines.add(String.join(", ", data.subList(i, Math.min(i + elementsPerLine, data.size()))));
        }
        return "[" + String.join(",\n" + " ".repeat(indent + 1), lines) + "]";
    }

    /**
     * _add_suffixes: each suffix follows ", " on the current last line unless that would pass
     * linewidth, in which case it goes on a new line indented like the data. PyTorch's
     * last_line_len is {@code len(s) - s.rfind("\n") + 1}, which over-counts by two (it is
     * len + 2 when there is no newline, since rfind returns -1); that is ported as is.
     */
    private static String addSuffixes(String tensorStr, List<String> suffixes, int indent) {
        StringBuilder out = new StringBuilder(tensorStr);
        int lastLineLen = tensorStr.length() - tensorStr.lastIndexOf('\n') + 1;
        for (String suffix : suffixes) {
            int suffixLen = suffix.length();
            // force_newline is only true for sparse tensors, which this class does not print.
            if (lastLineLen + suffixLen + 2 > LINEWIDTH) {
                out.append(",\n").append(" ".repeat(indent)).append(suffix);
                lastLineLen = indent + suffixLen;
            } else {
                out.append(", ").append(suffix);
                lastLineLen += suffixLen + 2;
            }
        }
        return out.append(')').toString();
    }

    // ---------------------------------------------------------------------------------------------
    // _Formatter
    // ---------------------------------------------------------------------------------------------

    /**
     * _Formatter: decides, once per tensor, between int mode ("12."), fixed mode ("1.2500") and
     * scientific mode ("1.2500e+01"), and the common width every element is right-aligned to.
     */
    private static final class Formatter {
        private final boolean floatingDtype;
        private boolean intMode = true;
        private boolean sciMode = false;
        private int maxWidth = 1;

        Formatter(List<Double> values, boolean floatingDtype) {
            this.floatingDtype = floatingDtype;
            if (!floatingDtype) {
                // Non-floating (here: bool) elements print as str(value): "True"/"False".
                for (double v : values) {
                    maxWidth = Math.max(maxWidth, boolStr(v).length());
                }
                return;
            }
            // Every decision is made over the finite, non-zero values only; zeros, nan and inf
            // neither choose the mode nor contribute to the width.
            List<Double> nonzeroFinite = new ArrayList<>();
            for (double v : values) {
                if (Double.isFinite(v) && v != 0.0) {
                    nonzeroFinite.add(v);
                }
            }
            if (nonzeroFinite.isEmpty()) {
                // "no valid number, do nothing": int mode with max_width 1.
                return;
            }
            double min = Double.POSITIVE_INFINITY;
            double max = 0.0;
            for (double v : nonzeroFinite) {
                min = Math.min(min, Math.abs(v));
                max = Math.max(max, Math.abs(v));
            }
            for (double v : nonzeroFinite) {
                if (v != Math.ceil(v)) {
                    intMode = false;
                    break;
                }
            }
            if (intMode) {
                // All integers: a wide range or huge magnitude still switches to sci mode; the
                // minimum-magnitude rule cannot apply (every value is at least 1).
                if (max / min > 1000.0 || max > 1.0e8) {
                    sciMode = true;
                    for (double v : nonzeroFinite) {
                        maxWidth = Math.max(maxWidth, sci(v).length());
                    }
                } else {
                    for (double v : nonzeroFinite) {
                        // + 1 for the "." appended to show the dtype is floating.
                        maxWidth = Math.max(maxWidth, fixed(v, 0).length() + 1);
                    }
                }
            } else {
                if (max / min > 1000.0 || max > 1.0e8 || min < 1.0e-4) {
                    sciMode = true;
                    for (double v : nonzeroFinite) {
                        maxWidth = Math.max(maxWidth, sci(v).length());
                    }
                } else {
                    for (double v : nonzeroFinite) {
                        maxWidth = Math.max(maxWidth, fixed(v, PRECISION).length());
                    }
                }
            }
        }

        int width() {
            return maxWidth;
        }

        /** _Formatter.format: the element's text, left-padded to max_width (never truncated). */
        String format(double value) {
            String ret;
            if (floatingDtype) {
                if (sciMode) {
                    ret = sci(value);
                } else if (intMode) {
                    ret = fixed(value, 0);
                    if (!Double.isInfinite(value) && !Double.isNaN(value)) {
                        ret += ".";
                    }
                } else {
                    ret = fixed(value, PRECISION);
                }
            } else {
                ret = boolStr(value);
            }
            return " ".repeat(Math.max(0, maxWidth - ret.length())) + ret;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Python float formatting
    // ---------------------------------------------------------------------------------------------

    /** str(bool): our bool tensors store 1.0 / 0.0. */
    private static String boolStr(double v) {
        return v != 0.0 ? "True" : "False";
    }

    /** Python's "nan" / "inf" / "-inf" (Python never prints a sign on nan), or null if finite. */
    private static String nonFinite(double v) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        return null;
    }

    /**
     * Python keeps the sign of anything negative, including -0.0 and values that round to zero
     * ('{:.0f}'.format(-0.0) == '-0', '{:.4f}'.format(-1e-9) == '-0.0000'); BigDecimal has no
     * negative zero, so the sign is handled separately.
     */
    private static String sign(double v) {
        return (v < 0.0 || (v == 0.0 && 1.0 / v < 0.0)) ? "-" : "";
    }

    /** Python's '{:.Nf}'.format(v): round-half-even on the exact binary value. */
    private static String fixed(double v, int decimals) {
        String special = nonFinite(v);
        if (special != null) {
            return special;
        }
        // new BigDecimal(double) is the exact binary expansion, so HALF_EVEN only sees true ties.
        return sign(v) + new BigDecimal(Math.abs(v)).setScale(decimals, RoundingMode.HALF_EVEN).toPlainString();
    }

    /**
     * Python's '{:.4e}'.format(v): one digit, '.', PRECISION digits, 'e', an explicit exponent
     * sign and at least two exponent digits (1.0000e-05, 1.0000e+100).
     */
    private static String sci(double v) {
        String special = nonFinite(v);
        if (special != null) {
            return special;
        }
        int digits = PRECISION + 1;
        String mantissa;
        int exponent;
        if (v == 0.0) {
            mantissa = "0".repeat(digits);
            exponent = 0;
        } else {
            BigDecimal rounded = new BigDecimal(Math.abs(v)).round(new MathContext(digits, RoundingMode.HALF_EVEN));
            String unscaled = rounded.unscaledValue().toString();
            // value = unscaled * 10^-scale, so the leading digit's power of ten is:
            exponent = unscaled.length() - 1 - rounded.scale();
            // An exactly representable value may have fewer significant digits than requested
            // (e.g. 1.0 -> "1"); rounding never yields more.
            mantissa = (unscaled + "0".repeat(digits)).substring(0, digits);
        }
        String exp = String.format("%02d", Math.abs(exponent));
        return sign(v) + mantissa.charAt(0) + "." + mantissa.substring(1) + "e" + (exponent < 0 ? "-" : "+") + exp;
    }

    /** Python's str(tuple(shape)): "(0,)" for one dimension, "(2, 0, 3)" otherwise. */
    private static String pyTuple(int[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        if (shape.length == 1) {
            sb.append(',');
        }
        return sb.append(')').toString();
    }

    // ---------------------------------------------------------------------------------------------
    // Indexing
    // ---------------------------------------------------------------------------------------------

    /** A sub-tensor of the row-major buffer: self[i] of PyTorch without copying. */
    private static final class View {
        final double[] data;
        final int[] shape; // full shape of the root tensor
        final int depth;   // number of leading dimensions already indexed away
        final int offset;  // index of this sub-tensor's first element in data

        View(double[] data, int[] shape) {
            this(data, shape, 0, 0);
        }

        private View(double[] data, int[] shape, int depth, int offset) {
            this.data = data;
            this.shape = shape;
            this.depth = depth;
            this.offset = offset;
        }

        int dim() {
            return shape.length - depth;
        }

        int size0() {
            return shape[depth];
        }

        int numel() {
            int n = 1;
            for (int d = depth; d < shape.length; d++) {
                n *= shape[d];
            }
            return n;
        }

        View get(int i) {
            int stride = numel() / shape[depth];
            return new View(data, shape, depth + 1, offset + i * stride);
        }

        double item() {
            return data[offset];
        }
    }
}
