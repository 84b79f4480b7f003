package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.feature.Tokenizer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's hashed-features example (section "Sparse and categorical data"), run as written. */
class ReadmeSparseExampleTest {

    private static final String MARKER = "<!-- readme-sparse-example";

    @Test
    void theHashedWordsExampleLearnsTheLabels() throws IOException {
        // Documents whose label is whether they mention a "good" word.
        String[] good = {"great", "fine", "superb"}, bad = {"awful", "poor", "dull"}, filler = {"the", "film", "plot", "was", "a", "cast"};
        Random rnd = new Random(9);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            boolean label = rnd.nextBoolean();
            StringBuilder t = new StringBuilder();
            for (int j = 0; j < 3; j++) t.append(filler[rnd.nextInt(filler.length)]).append(' ');
            t.append((label ? good : bad)[rnd.nextInt(3)]);
            rows.add(RowFactory.create(t.toString(), label ? 1.0 : 0.0));
        }
        StructType schema = new StructType().add("text", DataTypes.StringType).add("label", DataTypes.DoubleType);
        Dataset<Row> docs = SharedSpark.session().createDataFrame(rows, schema).repartition(3);
        double first = Double.NaN, last = Double.NaN;

        // --- as in the README ---
        Dataset<Row> words = new Tokenizer().setInputCol("text").setOutputCol("words").transform(docs);
        Dataset<Row> hashed = new HashingTF().setInputCol("words").setOutputCol("features")
                .setNumFeatures(1 << 20).transform(words);          // a SparseVector per row
        DistData data = DistData.fromDataset(hashed, DistData.options().sparse(true), "features", "label");
        DistTensor x = data.tensor("features");                     // [N, 1048576], CSR blocks
        DistTensor y = data.tensor("label");
        Tensor w = Tensor.zeros(1 << 20).requiresGrad_(true);
        Tensor b = Tensor.scalar(0).requiresGrad_(true);
        for (int step = 0; step < 10; step++) {
            DistTensor z = x.matmul(w).add(b);                      // X w and, in the same job, X^T g from the CSR arrays
            Tensor loss = z.softplus().sub(y.mul(z)).mean();
            loss.backward();
            try (Autograd.Scope s = Autograd.noGrad()) { w.sub_(w.grad().mul(1.0)); b.sub_(b.grad().mul(1.0)); }
            w.grad().zero_(); b.grad().zero_();
            // --- end ---
            if (step == 0) first = loss.item();
            last = loss.item();
        }
        assertTrue(x.isSparse());
        assertTrue(last < 0.7 * first, "the loss falls: " + first + " -> " + last);
        // every training document classified right: sign(x w + b) is the label
        try (Autograd.Scope s = Autograd.noGrad()) {
            Tensor margin = x.matmul(w).add(b).collect().sub(0.0), label = y.collect();
            for (int i = 0; i < (int) x.rows(); i++) {
                assertTrue((margin.get(i) > 0) == (label.get(i) > 0.5), "document " + i);
            }
        }
    }

    /** Every line of the README's example appears, as written, in the test above. */
    @Test
    void theTestRunsTheReadmeCode() throws IOException {
        Path root = Path.of(System.getProperty(SharedSpark.ROOT_PROPERTY, ".")).toAbsolutePath();
        String readme = Files.readString(root.resolve("README.md"));
        int m = readme.indexOf(MARKER);
        assertTrue(m >= 0, "README.md has no " + MARKER + " marker");
        int open = readme.indexOf("```java\n", m), close = readme.indexOf("```", open + 8);
        String test = Files.readString(root.resolve("spark-autograd/src/test/java/dev/sparkautograd/ReadmeSparseExampleTest.java"));
        for (String line : readme.substring(open + 8, close).split("\n")) {
            if (line.isBlank()) continue;
            assertTrue(test.contains(line.trim()), "README line not run by this test: " + line);
        }
    }
}
