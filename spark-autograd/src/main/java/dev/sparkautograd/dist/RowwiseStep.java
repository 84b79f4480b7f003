package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

/** A row-wise DistTensor op along a dimension other than the rows: the Tensor op on each block. */
final class RowwiseStep implements Step {
    private static final long serialVersionUID = 1L;

    enum Kind { SOFTMAX, LOG_SOFTMAX, LOG_SUM_EXP, SUM, MEAN }

    private final Kind kind;
    private final int dim;
    private final boolean keepdim;

    RowwiseStep(Kind kind, int dim, boolean keepdim) {
        this.kind = kind;
        this.dim = dim;
        this.keepdim = keepdim;
    }

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params) {
        Tensor x = inputs[0];
        return switch (kind) {
            case SOFTMAX -> x.softmax(dim);
            case LOG_SOFTMAX -> x.logSoftmax(dim);
            case LOG_SUM_EXP -> x.logSumExp(dim, keepdim);
            case SUM -> x.sum(dim, keepdim);
            case MEAN -> x.mean(dim, keepdim);
        };
    }
}
