package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's DataFrame example (logistic regression with a local L2 term), run as written. */
class ReadmeDistExampleTest {

    @Test
    void theReadmeExampleComputesTheLocalGradientAndDescends() {
        int n = 200, dims = 3;
        Tensor features = Tensor.randn(5, n, dims);
        Tensor labels = features.matmul(Tensor.of(1, -2, 0.5)).gt(0).mul(1.0);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(Vectors.dense(features.index(i).toArray()), labels.get(i)));
        }
        StructType schema = new StructType().add("features", new VectorUDT()).add("label", DataTypes.DoubleType);
        Dataset<Row> df = SharedSpark.session().createDataFrame(rows, schema).repartition(3);

        // --- as in the README ---
        DistData data = DistData.fromDataset(df, "features", "label");
        DistTensor x = data.tensor("features");
        DistTensor y = data.tensor("label");
        Tensor w = Tensor.zeros(x.shape()[1]).requiresGrad_(true);
        Tensor b = Tensor.scalar(0).requiresGrad_(true);
        double first = Double.NaN, last = Double.NaN;
        for (int step = 0; step < 3; step++) {
            DistTensor z = x.matmul(w).add(b);
            Tensor loss = z.softplus().sub(y.mul(z)).mean()
                    .add(w.square().sum().mul(1e-4));
            loss.backward();
            if (step == 0) {
                first = loss.item();
                // The same loss on the collected data, with the local engine, in row order of the blocks.
                Tensor lx = x.collect(), ly = y.collect();
                Tensor lw = Tensor.zeros(dims).requiresGrad_(true), lb = Tensor.scalar(0).requiresGrad_(true);
                Tensor lz = lx.matmul(lw).add(lb);
                lz.softplus().sub(ly.mul(lz)).mean().add(lw.square().sum().mul(1e-4)).backward();
                assertTrue(w.grad().allclose(lw.grad(), 1e-10, 1e-14), w.grad() + " vs " + lw.grad());
                assertTrue(b.grad().allclose(lb.grad(), 1e-10, 1e-14), b.grad() + " vs " + lb.grad());
            }
            last = loss.item();
            try (Autograd.Scope s = Autograd.noGrad()) { w.sub_(w.grad().mul(0.5)); b.sub_(b.grad().mul(0.5)); }
            w.grad().zero_(); b.grad().zero_();
        }
        assertTrue(last < first, "gradient descent lowers the loss: " + first + " -> " + last);
    }
}
