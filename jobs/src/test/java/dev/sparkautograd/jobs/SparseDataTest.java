package dev.sparkautograd.jobs;

import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.SparseSynthetic;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static dev.sparkautograd.jobs.DataJobsTest.line;
import static dev.sparkautograd.jobs.DataJobsTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** generate --sparse: hashed-feature Parquet from a sparse logistic teacher, and train recovering that teacher. */
class SparseDataTest {

    @TempDir
    static Path tmp;

    @Test
    void generateSparseWritesVectorsAndIdsReproduciblyAndTrainRecoversTheTeacher() throws Exception {
        int features = 64, nnz = 4, rows = 20_000;
        String[] args = {"--sparse", "--features", "" + features, "--nnz", "" + nnz, "--rows", "" + rows, "--partitions", "2", "--seed", "3"};
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        String out = run(new GenerateJob(), concat(args, "--output", a.toString()));
        run(new GenerateJob(), concat(args, "--output", b.toString()));
        assertTrue(line(out, "model:").startsWith("sparse logistic teacher, 64 features, 4 active per row"), out);

        List<Row> data = read(a), again = read(b);
        assertEquals(rows, data.size());
        assertEquals(new java.util.HashSet<>(data), new java.util.HashSet<>(again), "the same seed, the same rows");
        double[] teacher = Npy.read(a.resolve("_teacher.npy")).toArray();
        assertArrayEquals(new SparseSynthetic(features, nnz, rows, 2, 3).teacher(), teacher, 0.0);
        int teacherRight = 0;
        for (Row r : data) {
            List<Double> x = r.getList(r.fieldIndex("x"));
            List<Double> ids = r.getList(r.fieldIndex("ids"));
            assertEquals(features, x.size());
            assertEquals(nnz, ids.size());
            assertEquals(nnz, x.stream().filter(v -> v != 0).count());
            double z = teacher[features];
            for (int j = 0; j < nnz; j++) {
                int id = ids.get(j).intValue();
                assertEquals(1.0, x.get(id), "ids are the vector's active features");
                if (j > 0) assertTrue(id > ids.get(j - 1).intValue());
                z += teacher[id];
            }
            double label = r.getDouble(r.fieldIndex("label"));
            if ((z > 0 ? 1 : 0) == label) teacherRight++;
        }

        // train reads the Vector column as CSR blocks (8% of its entries are non-zero) and fits logistic regression
        Path fit = tmp.resolve("fit");
        String trained = run(new TrainJob(), "--input", a.toString(), "--model", "logistic", "--max-steps", "100", "--output", fit.toString());
        double accuracy = Double.parseDouble(line(trained, "accuracy:").split("\\s+")[0]);
        double teacherAccuracy = (double) teacherRight / rows;
        assertTrue(Math.abs(accuracy - teacherAccuracy) <= 0.01, "accuracy " + accuracy + ", the teacher's " + teacherAccuracy + "\n" + trained);
        // Every row has exactly nnz active features of value 1, so adding c to every weight and nnz * c to minus the
        // bias changes no prediction: the data cannot tell the teacher from its shift along u = (1, ..., 1, -nnz).
        // L-BFGS from zero moves only orthogonally to u, so the fit is compared with the teacher less its u component.
        double[] params = Npy.read(fit.resolve("params.npy")).toArray();
        double[] u = new double[features + 1];
        java.util.Arrays.fill(u, 1);
        u[features] = -nnz;
        double tu = 0, uu = 0;
        for (int i = 0; i <= features; i++) {
            tu += teacher[i] * u[i];
            uu += u[i] * u[i];
        }
        double num = 0, den = 0;
        for (int i = 0; i <= features; i++) {
            double t = teacher[i] - tu / uu * u[i];
            num += (params[i] - t) * (params[i] - t);
            den += t * t;
        }
        double error = Math.sqrt(num / den);
        assertTrue(error < 0.15, "parameter error " + error + " (less the direction the data cannot see)\n" + trained);
    }

    /** The rows with the Vector column as an array (Kryo with registration required does not ship VectorUDT). */
    private static List<Row> read(Path dir) {
        org.apache.spark.sql.Dataset<Row> df = SharedSpark.session().read().parquet(dir.toString());
        assertEquals("features: vector, ids: array<double>, label: double", df.schema().fields()[0].name() + ": " + df.schema().fields()[0].dataType().simpleString()
                + ", ids: " + df.schema().fields()[1].dataType().simpleString() + ", label: " + df.schema().fields()[2].dataType().simpleString());
        return df.select(org.apache.spark.ml.functions.vector_to_array(df.col("features"), "float64").as("x"), df.col("ids"), df.col("label")).collectAsList();
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
