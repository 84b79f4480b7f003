package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.sparkautograd.DistDataTest.assertMessage;
import static dev.sparkautograd.DistDataTest.field;
import static dev.sparkautograd.DistDataTest.schema;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** embedding and indexSelect, locally and on DistTensors, against loops written out by hand. */
class EmbeddingTest {

    /** The loop reference: out[i, :] = weight[ids[i], :]. */
    private static double[] lookUp(double[] ids, double[] weight, int k) {
        double[] out = new double[ids.length * k];
        for (int i = 0; i < ids.length; i++) System.arraycopy(weight, (int) ids[i] * k, out, i * k, k);
        return out;
    }

    /** The loop reference of the gradient of sum(c * embedding): grad[ids[i], :] += c[i, :]. */
    private static double[] scatter(double[] ids, double[] c, int n, int k) {
        double[] g = new double[n * k];
        for (int i = 0; i < ids.length; i++) for (int j = 0; j < k; j++) g[(int) ids[i] * k + j] += c[i * k + j];
        return g;
    }

    @Test
    void localEmbeddingAndIndexSelectEqualLoops() {
        Tensor weight = Tensor.randn(1, 5, 3).requiresGrad_(true);
        Tensor ids = Tensor.fromArray(new double[] {4, 0, 4, 2, 2, 2}, 2, 3);
        Tensor c = Tensor.randn(2, 2, 3, 3);
        Tensor out = ids.embedding(weight);
        assertArrayEquals(new int[] {2, 3, 3}, out.shape());
        assertEquals("EmbeddingBackward0", out.gradFnName());
        assertArrayEquals(lookUp(ids.toArray(), weight.detach().toArray(), 3), out.detach().toArray(), 0.0);
        out.mul(c).sum().backward();
        assertArrayEquals(scatter(ids.toArray(), c.toArray(), 5, 3), weight.grad().toArray(), 1e-15);

        Tensor a = Tensor.randn(3, 2, 4).requiresGrad_(true);
        Tensor sel = a.indexSelect(1, Tensor.of(3, 3, 0));
        assertEquals("IndexSelectBackward0", sel.gradFnName());
        double[] ad = a.detach().toArray(), expected = new double[6];
        int[] idx = {3, 3, 0};
        for (int r = 0; r < 2; r++) for (int j = 0; j < 3; j++) expected[r * 3 + j] = ad[r * 4 + idx[j]];
        assertArrayEquals(expected, sel.detach().toArray(), 0.0);
        sel.sum().backward();
        assertArrayEquals(new double[] {1, 0, 0, 2, 1, 0, 0, 2}, a.grad().toArray(), 0.0, "repeated indices add up");
    }

    @Test
    void badIndicesAreErrorsNamingThem() {
        Tensor w = Tensor.zeros(4, 2);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.of(1, 4).embedding(w)), "embedding", "index 4", "[0, 4)");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.of(-1).embedding(w)), "embedding", "index -1");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.of(0.5).embedding(w)), "embedding", "index 0.5", "not an integer");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.of(0).embedding(Tensor.zeros(4))), "embedding", "2-d");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.indexSelect(0, Tensor.of(2, 9))), "indexSelect", "index 9");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.indexSelect(0, Tensor.zeros(1, 1))), "indexSelect", "0-d or 1-d");
    }

    @Test
    void distributedEmbeddingOfIdColumnsEqualsLoops() {
        Random rnd = new Random(3);
        int rows = 97, n = 11, k = 4, m = 3;
        double[] id = new double[rows], ids = new double[rows * m];
        for (int i = 0; i < rows; i++) id[i] = rnd.nextInt(n);
        for (int i = 0; i < ids.length; i++) ids[i] = rnd.nextInt(n);
        Map<String, Tensor> cols = new LinkedHashMap<>();
        cols.put("id", Tensor.fromArray(id, rows));
        cols.put("ids", Tensor.fromArray(ids, rows, m));
        DistData d = DistData.parallelize(SharedSpark.jsc(), 3, cols, DistData.options().blockRows(10));
        Tensor weight = Tensor.randn(4, n, k);
        Tensor c1 = Tensor.randn(5, k), c2 = Tensor.randn(6, m, k);
        for (int which = 0; which < 2; which++) {
            Tensor w = weight.detach().requiresGrad_(true);
            DistTensor e = which == 0 ? d.tensor("id").embedding(w) : d.tensor("ids").embedding(w);
            double[] flatIds = which == 0 ? id : ids;
            assertArrayEquals(which == 0 ? new int[] {rows, k} : new int[] {rows, m, k}, e.shape());
            assertArrayEquals(lookUp(flatIds, weight.toArray(), k), e.collect().toArray(), 0.0);
            Tensor c = which == 0 ? c1 : c2;
            e.mul(c).sum().backward();
            double[] cRows = new double[flatIds.length * k];
            double[] cd = c.toArray();
            for (int i = 0; i < cRows.length; i++) cRows[i] = cd[i % cd.length];
            assertArrayEquals(scatter(flatIds, cRows, n, k), w.grad().toArray(), 1e-12, "gradient, ids " + (which == 0 ? "[N]" : "[N, m]"));
        }
    }

    @Test
    void aBadIdFailsTheJobNamingTheRowAndTheId() {
        StructType s = schema(field("id", DataTypes.IntegerType));
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) rows.add(RowFactory.create(i == 6 ? 12 : i % 3));
        Dataset<Row> df = SharedSpark.session().createDataFrame(rows, s).coalesce(1);
        DistTensor ids = DistData.fromDataset(df, DistData.options().blockRows(4), "id").tensor("id");
        Tensor w = Tensor.zeros(3, 2).requiresGrad_(true);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> ids.embedding(w).sum().backward()), "embedding", "row 6", "id 12");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> ids.embedding(Tensor.zeros(3))), "embedding", "2-d");
    }
}
