package dev.sparkautograd.nn;

import dev.sparkautograd.Tensor;

/**
 * A lookup table, as {@code torch.nn.Embedding(num_embeddings, embedding_dim)}: the forward maps integer-valued ids
 * of any shape to their rows of {@code weight [n, k]} ({@code Tensor.embedding}, grad_fn {@code EmbeddingBackward0},
 * whose gradient scatter-adds into the rows looked up). The weight starts N(0, 1), as PyTorch's, from a seed.
 * Over a DistTensor of ids ({@code [N]} or {@code [N, m]}) the forward runs per block like any module's.
 */
public final class Embedding extends Module {
    private static final long serialVersionUID = 1L;

    private final int count, dim;
    private final Parameter weight;

    public Embedding(int numEmbeddings, int embeddingDim, long seed) {
        if (numEmbeddings < 1 || embeddingDim < 1) {
            throw new IllegalArgumentException("Embedding: num_embeddings and embedding_dim must be positive, got "
                    + numEmbeddings + " and " + embeddingDim);
        }
        this.count = numEmbeddings;
        this.dim = embeddingDim;
        this.weight = registerParameter("weight", Tensor.randn(seed, numEmbeddings, embeddingDim));
    }

    public Tensor weight() {
        return weight.value();
    }

    @Override
    public Tensor forward(Tensor ids) {
        return ids.embedding(weight.value());
    }

    @Override
    public String toString() {
        return "Embedding(" + count + ", " + dim + ")";
    }
}
