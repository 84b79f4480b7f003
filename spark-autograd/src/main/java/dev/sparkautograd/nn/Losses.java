package dev.sparkautograd.nn;

import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * Loss functions as {@code torch.nn.functional}'s, with the mean over the elements (PyTorch's default
 * reduction), for local tensors and for partitioned ones (a DistTensor loss is a local scalar whose backward
 * runs on the executors). Written with the library's ops, so they have higher derivatives too.
 */
public final class Losses {

    private Losses() {}

    // ---- binary cross-entropy with logits ------------------------------------------------------------

    /**
     * {@code mean(log(1 + exp(z)) - y z)}, as {@code binary_cross_entropy_with_logits}: exact for any logit
     * (no overflow for large |z|, no cut-off of {@code log(1 + exp(z))}, gradient {@code sigmoid(z) - y}).
     */
    public static Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor target) {
        sameShape("binaryCrossEntropyWithLogits", logits.shape(), target.shape());
        return logOnePlusExp(logits).sub(target.mul(logits)).mean();
    }

    public static Tensor binaryCrossEntropyWithLogits(DistTensor logits, DistTensor target) {
        sameShape("binaryCrossEntropyWithLogits", logits.shape(), target.shape());
        return logits.mapBlocks(List.of(), (z, q) -> logOnePlusExp(z)).sub(target.mul(logits)).mean();
    }

    /**
     * {@code log(1 + exp(z))} without overflow and without a threshold: {@code z + log1p(exp(-z))} for
     * {@code z > 0}, {@code log1p(exp(z))} otherwise. Each side sees only its own half of the line (the
     * clamps), so the side {@code where} does not choose stays finite and passes a zero gradient; the
     * clamps' gradient is 1 at their bound, so at {@code z = 0} the gradient is {@code sigmoid(0) = 1/2}.
     */
    static Tensor logOnePlusExp(Tensor z) {
        Tensor positive = z.clamp(0, Double.POSITIVE_INFINITY), negative = z.clamp(Double.NEGATIVE_INFINITY, 0);
        return Tensor.where(z.gt(0), positive.add(positive.neg().exp().log1p()), negative.exp().log1p());
    }

    // ---- cross-entropy -------------------------------------------------------------------------------

    /**
     * {@code mean over rows of -sum_c t_c log_softmax(z)_c}, as {@code cross_entropy}: logits {@code [N, C]};
     * the target either class indices {@code [N]} (integral values in {@code 0..C-1}) or class probabilities
     * {@code [N, C]}.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor target) {
        int classes = checkCrossEntropy(logits.shape(), target.shape());
        Tensor t = target.dim() == 1 ? oneHot(target, classes) : target;
        return logits.logSoftmax(1).mul(t).sum(1, false).mean().neg();
    }

    public static Tensor crossEntropy(DistTensor logits, DistTensor target) {
        int classes = checkCrossEntropy(logits.shape(), target.shape());
        DistTensor t = target.dim() == 1 ? target.mapBlocks(List.of(), (y, q) -> oneHot(y, classes)) : target;
        return logits.logSoftmax(1).mul(t).sumRows(1, false).mean().neg();
    }

    private static int checkCrossEntropy(int[] logits, int[] target) {
        if (logits.length != 2) throw new IllegalArgumentException("crossEntropy: the logits must be [N, C], got shape " + Arrays.toString(logits));
        boolean indices = target.length == 1 && target[0] == logits[0];
        if (!indices && !Arrays.equals(logits, target)) {
            throw new IllegalArgumentException("crossEntropy: the target must be class indices [" + logits[0] + "] or class probabilities "
                    + Arrays.toString(logits) + ", got shape " + Arrays.toString(target));
        }
        return logits[1];
    }

    /** Rows of one-hot vectors from class indices; an index outside {@code 0..classes-1} or not integral is an error naming the row. */
    public static Tensor oneHot(Tensor indices, int classes) {
        double[] y = indices.toArrayUnsafe();
        double[] out = new double[y.length * classes];
        for (int i = 0; i < y.length; i++) {
            double c = y[i];
            if (!(c >= 0 && c < classes && c == Math.rint(c))) {
                throw new IllegalArgumentException("class index " + c + " at row " + i + " is not one of 0.." + (classes - 1));
            }
            out[i * classes + (int) c] = 1;
        }
        return Tensor.fromArray(out, y.length, classes);
    }

    // ---- mean squared error --------------------------------------------------------------------------

    /** {@code mean((input - target)^2)}, as {@code mse_loss}. */
    public static Tensor mse(Tensor input, Tensor target) {
        sameShape("mse", input.shape(), target.shape());
        return input.sub(target).square().mean();
    }

    public static Tensor mse(DistTensor input, DistTensor target) {
        sameShape("mse", input.shape(), target.shape());
        return input.sub(target).square().mean();
    }

    private static void sameShape(String op, int[] input, int[] target) {
        if (!Arrays.equals(input, target)) {
            throw new IllegalArgumentException(op + ": the target's shape " + Arrays.toString(target) + " must be the input's shape " + Arrays.toString(input));
        }
    }
}
