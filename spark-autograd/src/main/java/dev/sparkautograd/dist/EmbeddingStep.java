package dev.sparkautograd.dist;

import dev.sparkautograd.BadDataException;
import dev.sparkautograd.Tensor;

/**
 * {@code ids.embedding(weight)} per block (the local op, so its gradient scatter-adds into the weight through the
 * engine). The ids are checked first, so that a bad one fails the job naming its global row and the id.
 */
final class EmbeddingStep implements Step {
    private static final long serialVersionUID = 1L;

    static final EmbeddingStep INSTANCE = new EmbeddingStep();

    private EmbeddingStep() {}

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params) {
        return inputs[0].embedding(params[0]);
    }

    @Override
    public Tensor apply(Tensor[] inputs, Tensor[] params, long firstRow) {
        Tensor ids = inputs[0];
        double[] v = ids.toArrayUnsafe();
        int n = params[0].size(0);
        int perRow = ids.size(0) == 0 ? 0 : v.length / ids.size(0);
        for (int j = 0; j < v.length; j++) {
            if (v[j] != Math.rint(v[j]) || v[j] < 0 || v[j] >= n) {
                String id = v[j] == Math.rint(v[j]) && Math.abs(v[j]) < 1e15 ? Long.toString((long) v[j]) : Double.toString(v[j]);
                throw new BadDataException("embedding: row " + (firstRow + j / perRow) + " has the id " + id
                        + (perRow > 1 ? " (position " + j % perRow + ")" : "") + ", not an integer in [0, " + n + ") (the weight has " + n + " rows)");
            }
        }
        return apply(inputs, params);
    }

    private Object readResolve() {
        return INSTANCE;
    }
}
