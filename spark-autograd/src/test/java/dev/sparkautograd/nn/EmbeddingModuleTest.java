package dev.sparkautograd.nn;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** nn.Embedding: rows of its weight by id (a loop reference), the scatter-add gradient, the same over partitioned ids. */
class EmbeddingModuleTest {

    @Test
    void looksUpRowsAndScatterAddsTheirGradient() {
        Embedding e = new Embedding(5, 3, 7);
        assertArrayEquals(new int[] {5, 3}, e.weight().shape());
        assertEquals("Embedding(5, 3)", e.toString());
        Tensor ids = Tensor.of(4, 0, 4, 2);
        Tensor out = e.forward(ids);
        assertArrayEquals(new int[] {4, 3}, out.shape());
        assertEquals("EmbeddingBackward0", out.gradFnName());
        double[] w = e.weight().toArray(), o = out.toArray();
        int[] id = {4, 0, 4, 2};
        for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) assertEquals(w[id[i] * 3 + j], o[i * 3 + j], 0.0);
        Tensor g = Tensor.randn(2, 4, 3);
        out.backward(g);
        double[] expected = new double[15], gv = g.toArray();
        for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) expected[id[i] * 3 + j] += gv[i * 3 + j];
        assertArrayEquals(expected, e.weight().grad().toArray(), 0.0);
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> e.forward(Tensor.of(5)));
        assertTrue(bad.getMessage().contains("5"), bad.getMessage());
    }

    @Test
    void partitionedIdsGiveTheLocalLossAndGradient() {
        int n = 30;
        double[] idv = new double[n];
        for (int i = 0; i < n; i++) idv[i] = (i * 7) % 6;
        Tensor ids = Tensor.of(idv);
        DistTensor dist = DistData.parallelize(SharedSpark.jsc(), 3, java.util.Map.of("ids", ids), DistData.options().blockRows(4)).tensor("ids");
        Embedding local = new Embedding(6, 2, 11), remote = new Embedding(6, 2, 11);
        Tensor target = Tensor.of(0.5, -1.0);
        Tensor l1 = local.forward(ids).sub(target).square().mean();
        l1.backward();
        Tensor l2 = remote.forward(dist).sub(target).square().mean();
        l2.backward();
        assertEquals(l1.item(), l2.item(), 1e-14);
        assertArrayEquals(local.weight().grad().toArray(), remote.weight().grad().toArray(), 1e-14);
    }
}
