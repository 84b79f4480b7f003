package dev.sparkautograd.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Tests for {@link TensorFormatter}, the port of PyTorch's {@code torch/_tensor_str.py}.
 *
 * <p>{@link Verified} holds strings printed by real PyTorch 2.x. {@link Derived} holds strings
 * worked out from the PyTorch source (each comment names the rule exercised); they were also
 * cross-checked by running the relevant functions of {@code _tensor_str.py} verbatim, under
 * CPython's own {@code format()}, against a minimal stand-in for {@code torch}.
 */
class TensorFormatterTest {

    private static final double NAN = Double.NaN;
    private static final double INF = Double.POSITIVE_INFINITY;

    private static final String REQUIRES_GRAD = "requires_grad=True";
    private static final String MUL_BACKWARD = "grad_fn=<MulBackward0>";

    private static String repr(double[] data, int[] shape, String... suffixes) {
        return TensorFormatter.repr(data, shape, false, List.of(suffixes));
    }

    private static String reprBool(double[] data, int[] shape) {
        return TensorFormatter.repr(data, shape, true, List.of());
    }

    private static double[] d(double... values) {
        return values;
    }

    private static int[] shape(int... dims) {
        return dims;
    }

    private static final int[] SCALAR = new int[0];

    /** arange(n) * scale + shift, as PyTorch would compute it in double. */
    private static double[] arange(int n, double scale, double shift) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = i / scale + shift;
        }
        return out;
    }

    @Nested
    class Verified {

        @Test
        void vectorWithRequiresGrad() {
            assertEquals("tensor([0., 1., 2., 3.], requires_grad=True)",
                    repr(d(0, 1, 2, 3), shape(4), REQUIRES_GRAD));
        }

        @Test
        void scalarWithGradFn() {
            assertEquals("tensor(28., grad_fn=<MulBackward0>)", repr(d(28), SCALAR, MUL_BACKWARD));
        }

        @Test
        void intModeRightAlignsToWidestValue() {
            assertEquals("tensor([ 0.,  4.,  8., 12.])", repr(d(0, 4, 8, 12), shape(4)));
            assertEquals("tensor([ 1.,  5.,  9., 13.])", repr(d(1, 5, 9, 13), shape(4)));
            assertEquals("tensor([ 0., 12., 24., 36.])", repr(d(0, 12, 24, 36), shape(4)));
        }

        @Test
        void boolTensors() {
            assertEquals("tensor([True, True, True, True])", reprBool(d(1, 1, 1, 1), shape(4)));
            assertEquals("tensor([ True, False, False, False])", reprBool(d(1, 0, 0, 0), shape(4)));
            assertEquals("tensor(True)", reprBool(d(1), SCALAR));
            assertEquals("tensor(False)", reprBool(d(0), SCALAR));
        }

        @Test
        void scalars() {
            assertEquals("tensor(0.4676, requires_grad=True)", repr(d(0.4676), SCALAR, REQUIRES_GRAD));
            assertEquals("tensor(4096.)", repr(d(4096), SCALAR));
            assertEquals("tensor(1915.1417, grad_fn=<MulBackward0>)", repr(d(1915.1417), SCALAR, MUL_BACKWARD));
            assertEquals("tensor(-112743.8594, grad_fn=<MulBackward0>)",
                    repr(d(-112743.8594), SCALAR, MUL_BACKWARD));
            assertEquals("tensor(819200.)", repr(d(819200), SCALAR));
            assertEquals("tensor(819200.0625, grad_fn=<DivBackward0>)",
                    repr(d(819200.0625), SCALAR, "grad_fn=<DivBackward0>"));
        }

        @Test
        void modes() {
            assertEquals("tensor([1.0000e-05, 1.0000e+00])", repr(d(1e-5, 1.0), shape(2)));
            assertEquals("tensor([0.1000, 2.5000])", repr(d(0.1, 2.5), shape(2)));
            assertEquals("tensor([nan, 1., inf])", repr(d(NAN, 1, INF), shape(3)));
        }

        @Test
        void roundsTheExactBinaryValue() {
            // The double nearest 2.00005 is 2.0000499999..., so it rounds down.
            assertEquals("tensor(2.0000)", repr(d(2.00005), SCALAR));
        }

        @Test
        void matrix() {
            assertEquals("tensor([[1., 2.],\n"
                    + "        [3., 4.]])", repr(d(1, 2, 3, 4), shape(2, 2)));
        }
    }

    @Nested
    class Derived {

        @Test
        void float32StoredValuesPrintAsPyTorchShowsThem() {
            // _Formatter works on item(), the float32 value widened exactly to double; the scalars
            // verified above print the same when given that widened value.
            assertEquals("tensor(1915.1417)", repr(d((double) 1915.1417f), SCALAR));
            assertEquals("tensor(-112743.8594)", repr(d((double) -112743.8594f), SCALAR));
        }

        @Test
        void summarizedZerosMatrix() {
            // torch.zeros(100, 100): _Formatter sees no finite non-zero value (max_width 1), every
            // dimension is cut to 3 + 3 by get_summarized_data / _tensor_str_with_formatter.
            assertEquals("tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n"
                    + "        [0., 0., 0.,  ..., 0., 0., 0.],\n"
                    + "        [0., 0., 0.,  ..., 0., 0., 0.],\n"
                    + "        ...,\n"
                    + "        [0., 0., 0.,  ..., 0., 0., 0.],\n"
                    + "        [0., 0., 0.,  ..., 0., 0., 0.],\n"
                    + "        [0., 0., 0.,  ..., 0., 0., 0.]])",
                    repr(new double[100 * 100], shape(100, 100)));
        }

        @Test
        void fixedModeMatrixWithNegatives() {
            // _Formatter fixed mode: not all integers, max/min = 80.5, min >= 1e-4; width is the
            // longest '{:.4f}' among non-zero values ("-10.0625" = 8); zero pads to it too.
            assertEquals("tensor([[  1.5000,  -2.2500,   0.1250],\n"
                    + "        [  3.0000, -10.0625,   0.0000]])",
                    repr(d(1.5, -2.25, 0.125, 3.0, -10.0625, 0.0), shape(2, 3)));
        }

        @Test
        void sciModeMatrix() {
            // _Formatter sci mode (min < 1e-4 and max/min > 1000); width 11 from "-2.5000e+02".
            assertEquals("tensor([[ 1.0000e-05,  1.0000e+00],\n"
                    + "        [-2.5000e+02,  3.0000e+03]])",
                    repr(d(1e-5, 1.0, -250.0, 3e3), shape(2, 2)));
        }

        @Test
        void vectorWrapsAtLinewidth() {
            // _vector_str: width 7 ("29.5000"), elements_per_line = floor((80 - 7) / 9) = 8,
            // continuation lines indented by indent + 1 = 8.
            assertEquals("tensor([ 0.5000,  1.5000,  2.5000,  3.5000,  4.5000,  5.5000,  6.5000,  7.5000,\n"
                    + "         8.5000,  9.5000, 10.5000, 11.5000, 12.5000, 13.5000, 14.5000, 15.5000,\n"
                    + "        16.5000, 17.5000, 18.5000, 19.5000, 20.5000, 21.5000, 22.5000, 23.5000,\n"
                    + "        24.5000, 25.5000, 26.5000, 27.5000, 28.5000, 29.5000])",
                    repr(arange(30, 1, 0.5), shape(30)));
        }

        @Test
        void summarizedArange2000IsInSciMode() {
            // get_summarized_data keeps 0,1,2,1997,1998,1999; int mode, but max/min = 1999 > 1000
            // switches to sci mode (width 10). _vector_str: floor(73 / 12) = 6 per line, and
            // " ..." counts as one of them, so the last element wraps.
            assertEquals("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                    + "        1.9990e+03])",
                    repr(arange(2000, 1, 0), shape(2000)));
        }

        @Test
        void summarizedMatrixInSciMode() {
            // arange(1200) / 10 as 40x30: numel > 1000 summarizes rows and columns; shown values
            // span 0.1 .. 119.9 (ratio > 1000) so sci mode; rows are one indent deeper (8), so
            // floor(72 / 12) = 6 per line and continuations are indented 9; "..." row between.
            assertEquals("tensor([[0.0000e+00, 1.0000e-01, 2.0000e-01,  ..., 2.7000e+00, 2.8000e+00,\n"
                    + "         2.9000e+00],\n"
                    + "        [3.0000e+00, 3.1000e+00, 3.2000e+00,  ..., 5.7000e+00, 5.8000e+00,\n"
                    + "         5.9000e+00],\n"
                    + "        [6.0000e+00, 6.1000e+00, 6.2000e+00,  ..., 8.7000e+00, 8.8000e+00,\n"
                    + "         8.9000e+00],\n"
                    + "        ...,\n"
                    + "        [1.1100e+02, 1.1110e+02, 1.1120e+02,  ..., 1.1370e+02, 1.1380e+02,\n"
                    + "         1.1390e+02],\n"
                    + "        [1.1400e+02, 1.1410e+02, 1.1420e+02,  ..., 1.1670e+02, 1.1680e+02,\n"
                    + "         1.1690e+02],\n"
                    + "        [1.1700e+02, 1.1710e+02, 1.1720e+02,  ..., 1.1970e+02, 1.1980e+02,\n"
                    + "         1.1990e+02]], grad_fn=<MulBackward0>)",
                    repr(arange(1200, 10, 0), shape(40, 30), MUL_BACKWARD));
        }

        @Test
        void summarizedMatrixInFixedMode() {
            // Same layout shifted by 1: shown values span 1.0 .. 120.9, so fixed mode with width 8;
            // the formatter sees only the summarized values (get_summarized_data).
            assertEquals("tensor([[  1.0000,   1.1000,   1.2000,  ...,   3.7000,   3.8000,   3.9000],\n"
                    + "        [  4.0000,   4.1000,   4.2000,  ...,   6.7000,   6.8000,   6.9000],\n"
                    + "        [  7.0000,   7.1000,   7.2000,  ...,   9.7000,   9.8000,   9.9000],\n"
                    + "        ...,\n"
                    + "        [112.0000, 112.1000, 112.2000,  ..., 114.7000, 114.8000, 114.9000],\n"
                    + "        [115.0000, 115.1000, 115.2000,  ..., 117.7000, 117.8000, 117.9000],\n"
                    + "        [118.0000, 118.1000, 118.2000,  ..., 120.7000, 120.8000, 120.9000]])",
                    repr(arange(1200, 10, 1), shape(40, 30)));
        }

        @Test
        void summarizationOnlyCutsDimensionsLongerThanTwiceEdgeItems() {
            double[] data = new double[1200];
            for (int i = 0; i < data.length; i++) {
                data[i] = i % 7;
            }
            // 2 rows (not cut) of 600 columns (cut).
            assertEquals("tensor([[0., 1., 2.,  ..., 2., 3., 4.],\n"
                    + "        [5., 6., 0.,  ..., 0., 1., 2.]])", repr(data, shape(2, 600)));
            // 600 rows (cut) of 2 columns (not cut).
            assertEquals("tensor([[0., 1.],\n"
                    + "        [2., 3.],\n"
                    + "        [4., 5.],\n"
                    + "        ...,\n"
                    + "        [4., 5.],\n"
                    + "        [6., 0.],\n"
                    + "        [1., 2.]])", repr(data, shape(600, 2)));
        }

        @Test
        void summarizedBoolVector() {
            // Bool elements print as str(value), right-aligned to "False"; 1001 > threshold.
            double[] data = new double[1001];
            for (int i = 0; i < data.length; i++) {
                data[i] = i % 3 == 0 ? 1 : 0;
            }
            assertEquals("tensor([ True, False, False,  ..., False,  True, False])", reprBool(data, shape(1001)));
        }

        @Test
        void multiLineTensorKeepsSuffixOnLastLine() {
            // _add_suffixes: only the last line's length counts, and it has room.
            assertEquals("tensor([[1., 2.],\n"
                    + "        [3., 4.]], grad_fn=<MulBackward0>)",
                    repr(d(1, 2, 3, 4), shape(2, 2), MUL_BACKWARD));
        }

        @Test
        void suffixWrapsWhenLastLineWouldPassLinewidth() {
            // _add_suffixes: last_line_len = len - rfind("\n") + 1 = 74; 74 + 24 + 2 > 80, so the
            // suffix goes on its own line indented by len("tensor(") = 7.
            assertEquals("tensor([[ 0.5000,  1.5000,  2.5000,  3.5000,  4.5000,  5.5000,  6.5000],\n"
                    + "        [ 7.5000,  8.5000,  9.5000, 10.5000, 11.5000, 12.5000, 13.5000]],\n"
                    + "       grad_fn=<AddmmBackward0>)",
                    repr(arange(14, 1, 0.5), shape(2, 7), "grad_fn=<AddmmBackward0>"));
            // No newline: rfind is -1, so last_line_len = 71 + 2 = 73; 73 + 18 + 2 > 80.
            assertEquals("tensor([0.2500, 1.2500, 2.2500, 3.2500, 4.2500, 5.2500, 6.2500, 7.2500],\n"
                    + "       requires_grad=True)",
                    repr(arange(8, 1, 0.25), shape(8), REQUIRES_GRAD));
        }

        @Test
        void suffixWrapBoundaryCountsTwoExtraCharacters() {
            // _add_suffixes wraps when last_line_len + len(suffix) + 2 > 80, with last_line_len =
            // len("tensor(28.") + 2 = 12 (rfind is -1). A 66-char suffix (12 + 66 + 2 = 80) stays,
            // giving a 79-char line; a 67-char one wraps although its line would be exactly 80.
            String fits = "grad_fn=<" + "A".repeat(56) + ">";
            String wraps = "grad_fn=<" + "A".repeat(57) + ">";
            assertEquals("tensor(28., " + fits + ")", repr(d(28), SCALAR, fits));
            assertEquals("tensor(28.,\n       " + wraps + ")", repr(d(28), SCALAR, wraps));
        }

        @Test
        void everySuffixIsPlacedIndependently() {
            // _add_suffixes: after a wrap last_line_len = indent + len(suffix), so the next suffix
            // is measured against the new line: 7 + 50 + 22 + 2 = 81 > 80 wraps again.
            String a = "grad_fn=<" + "A".repeat(40) + ">";
            String b = "grad_fn=<" + "B".repeat(12) + ">";
            assertEquals("tensor(28., requires_grad=True,\n       " + a + ",\n       " + b + ")",
                    repr(d(28), SCALAR, REQUIRES_GRAD, a, b));
        }

        @Test
        void threeDimensionalSlicesAreSeparatedByBlankLine() {
            // _tensor_str_with_formatter: slices joined by "," + "\n" * (dim - 1) + indent.
            assertEquals("tensor([[[ 0.,  1.,  2.,  3.],\n"
                    + "         [ 4.,  5.,  6.,  7.],\n"
                    + "         [ 8.,  9., 10., 11.]],\n"
                    + "\n"
                    + "        [[12., 13., 14., 15.],\n"
                    + "         [16., 17., 18., 19.],\n"
                    + "         [20., 21., 22., 23.]]], requires_grad=True)",
                    repr(arange(24, 1, 0), shape(2, 3, 4), REQUIRES_GRAD));
        }

        @Test
        void boolMatrix() {
            assertEquals("tensor([[ True, False],\n"
                    + "        [False,  True]])", reprBool(d(1, 0, 0, 1), shape(2, 2)));
        }

        @Test
        void negativeZeroKeepsItsSign() {
            // Python: '{:.0f}'.format(-0.0) == '-0'. Zeros do not count toward max_width (2 here),
            // and format() never truncates, so "-0." simply sticks out.
            assertEquals("tensor([-0., 1.])", repr(d(-0.0, 1.0), shape(2)));
            assertEquals("tensor(-0.)", repr(d(-0.0), SCALAR));
        }

        @Test
        void allZeroVectorWrapsOnUnderestimatedWidth() {
            // _Formatter returns early with max_width 1 when there is no finite non-zero value, so
            // _vector_str packs floor(73 / 3) = 24 elements per line although "0." is 2 wide.
            assertEquals("tensor([0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., "
                    + "0., 0., 0., 0., 0., 0., 0., 0.,\n"
                    + "        0., 0., 0., 0., 0., 0.])", repr(new double[30], shape(30)));
        }

        @Test
        void fixedModeRoundsTiesToEven() {
            // 0.03125, 0.09375, 0.15625 are exact binary ties at 4 decimals: Python rounds half-even.
            assertEquals("tensor([ 0.0312,  0.0938, -0.1562])", repr(d(0.03125, 0.09375, -0.15625), shape(3)));
        }

        @Test
        void intModeSwitchesToSciOnRangeOrMagnitude() {
            // int mode: max/min > 1000 ...
            assertEquals("tensor([1.0000e+00, 2.0000e+03])", repr(d(1, 2000), shape(2)));
            // ... or max > 1e8 even when the ratio is small ...
            assertEquals("tensor([2.0000e+08, 3.0000e+08])", repr(d(2e8, 3e8), shape(2)));
            // ... but 1e8 itself is not "> 1e8": it stays in int mode unless the ratio says otherwise.
            assertEquals("tensor([100000000.,  50000000.])", repr(d(1e8, 5e7), shape(2)));
            assertEquals("tensor([ 1.0000e+08, -5.0000e+00])", repr(d(1e8, -5), shape(2)));
        }

        @Test
        void fixedModeSwitchesToSciAboveThousandfoldRange() {
            // 12345678.9 / 0.5 > 1000.
            assertEquals("tensor([1.2346e+07, 5.0000e-01])", repr(d(12345678.9, 0.5), shape(2)));
            // A non-integer above 1e8 is sci on its own (max > 1e8).
            assertEquals("tensor(1.2346e+08)", repr(d(123456789.5), SCALAR));
        }

        @Test
        void sciExponentHasAtLeastTwoDigits() {
            // Python's 'e' format: three digits when needed; width follows the longest value.
            assertEquals("tensor([1.0000e-100,  1.0000e+00])", repr(d(1e-100, 1.0), shape(2)));
            assertEquals("tensor(1.5000e-07, requires_grad=True)", repr(d(1.5e-7), SCALAR, REQUIRES_GRAD));
        }

        @Test
        void sciModeRoundsTheExactBinaryValue() {
            // The double nearest 9.99995e-5 is just below the tie, so it does not carry to 1.0000e-04.
            assertEquals("tensor([9.9999e-05, 1.0000e+00])", repr(d(9.99995e-5, 1.0), shape(2)));
        }

        @Test
        void nonFiniteValuesArePaddedToWidth() {
            // nan / inf never decide the mode or width; they are right-aligned like numbers.
            assertEquals("tensor([nan, nan])", repr(d(NAN, NAN), shape(2)));
            assertEquals("tensor([1.5000,   -inf,    nan])", repr(d(1.5, -INF, NAN), shape(3)));
            assertEquals("tensor([1.0000e-05,        nan,       -inf, 0.0000e+00])",
                    repr(d(1e-5, NAN, -INF, 0.0), shape(4)));
        }

        @Test
        void negativeScalar() {
            assertEquals("tensor(-0.4676)", repr(d(-0.4676), SCALAR));
        }

        @Test
        void emptyTensors() {
            // _str_intern: "[]", size=... unless the shape is (0,), dtype=... unless default float.
            assertEquals("tensor([])", repr(d(), shape(0)));
            assertEquals("tensor([], size=(0, 3), requires_grad=True)", repr(d(), shape(0, 3), REQUIRES_GRAD));
            assertEquals("tensor([], dtype=torch.bool)", reprBool(d(), shape(0)));
        }
    }

    @Nested
    class Validation {

        @Test
        void rejectsDataThatDoesNotMatchShape() {
            assertThrows(IllegalArgumentException.class, () -> repr(d(1, 2, 3), shape(2, 2)));
            assertThrows(IllegalArgumentException.class, () -> repr(d(), SCALAR));
        }

        @Test
        void rejectsNegativeDimensions() {
            assertThrows(IllegalArgumentException.class, () -> repr(d(), shape(-1)));
        }

        @Test
        void rejectsNulls() {
            assertThrows(NullPointerException.class, () -> TensorFormatter.repr(null, SCALAR, false, List.of()));
            assertThrows(NullPointerException.class, () -> TensorFormatter.repr(d(1), null, false, List.of()));
            assertThrows(NullPointerException.class, () -> TensorFormatter.repr(d(1), SCALAR, false, null));
        }
    }
}
