package dev.sparkautograd.tensor;

import java.util.Arrays;
import java.util.List;

/** Interim printing, replaced by the port of PyTorch's _tensor_str in the next commit. */
public final class TensorFormatter {
    private TensorFormatter() {}

    public static String repr(double[] data, int[] shape, boolean isBool, List<String> suffixes) {
        return "tensor(" + Arrays.toString(data) + (suffixes.isEmpty() ? "" : ", " + String.join(", ", suffixes)) + ")";
    }
}
