package dev.sparkautograd.jobs;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** generate and gradient on the shared local[2] session. */
class DataJobsTest {

    /** One directory for the class, made and deleted by JUnit. */
    @TempDir
    static Path tmp;

    static String run(SparkJob job, String... args) throws Exception {
        new CommandLine(job).parseArgs(args);
        StringWriter out = new StringWriter();
        assertEquals(0, job.run(SharedSpark.session(), new PrintWriter(out, true)), out.toString());
        return out.toString();
    }

    static String line(String out, String key) {
        return out.lines().filter(l -> l.startsWith(key)).findFirst().orElseThrow(() -> new AssertionError(key + " in\n" + out))
                .substring(key.length()).strip();
    }

    @Test
    void generateWritesOneParquetFilePerPartitionReproduciblyFromTheSeed() throws Exception {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        String out = run(new GenerateJob(), "--rows", "1001", "--features", "4", "--partitions", "3", "--seed", "7", "--output", a.toString());
        run(new GenerateJob(), "--rows", "1001", "--features", "4", "--partitions", "3", "--seed", "7", "--output", b.toString());
        assertEquals("logistic regression, 4 features (5 parameters)", line(out, "model:"));
        assertEquals("1001 in 3 partitions (seed 7)", line(out, "rows:"));
        try (Stream<Path> files = Files.list(a)) {
            assertEquals(3, files.filter(p -> p.getFileName().toString().endsWith(".parquet")).count());
        }
        List<Row> ra = DataOptions.readParquet(SharedSpark.session(), a.toString()).collectAsList();
        List<Row> rb = DataOptions.readParquet(SharedSpark.session(), b.toString()).collectAsList();
        assertEquals(1001, ra.size());
        assertEquals(new java.util.HashSet<>(ra.stream().map(Row::toString).toList()), new java.util.HashSet<>(rb.stream().map(Row::toString).toList()));
        // the rows are those of the in-memory generator, partition by partition; the teacher is in _teacher.npy
        Synthetic syn = new Synthetic(new Model(Model.Kind.logistic, 4, 2, new int[0]), 1001, 3, 7);
        List<String> expected = new ArrayList<>();
        for (int p = 0; p < 3; p++) syn.partition(p).forEachRemaining(r -> expected.add(java.util.Arrays.toString((double[]) r.get(0)) + r.getDouble(1)));
        assertEquals(new java.util.HashSet<>(expected), new java.util.HashSet<>(ra.stream().map(r -> r.getList(0) + "" + r.getDouble(1)).toList()));
        assertArrayEquals(syn.teacher(), Npy.read(a.resolve("_teacher.npy")).toArray());
        // Spark's conventions (a _SUCCESS file, no _temporary left), and the jobs read the files through the columnar batches
        assertTrue(Files.exists(a.resolve("_SUCCESS")) && !Files.exists(a.resolve("_temporary")));
        assertTrue(UserDataTest.load("--input", a.toString()).data().blocks().name().endsWith("(columnar batches)"), "columnar");
        // labels are 0/1 and both occur
        long ones = ra.stream().filter(r -> r.getDouble(1) == 1.0).count();
        assertTrue(ones > 200 && ones < 800, "ones " + ones);
    }

    /** The job's gradient equals the gradient of the same loss computed with local tensors on the collected data. */
    private static void gradientMatchesLocal(Model.Kind kind, String... extra) throws Exception {
        Path npy = tmp.resolve(kind + ".npy");
        List<String> args = new ArrayList<>(List.of("--model", kind.name(), "--generate", "3000", "--features", "5", "--classes", "3",
                "--partitions", "4", "--seed", "3", "--output", npy.toString()));
        args.addAll(List.of(extra));
        String out = run(new GradientJob(), args.toArray(new String[0]));
        assertEquals("3000 in 4 partitions", line(out, "rows:"));
        Tensor grad = Npy.read(npy);

        Model model = new Model(kind, 5, 3, new int[] {4});
        Synthetic syn = new Synthetic(model, 3000, 4, 3);
        List<Row> rows = syn.dataset(SharedSpark.session()).collectAsList();
        double[] xs = new double[rows.size() * 5], ys = new double[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            List<Double> f = rows.get(i).getList(0);
            for (int j = 0; j < 5; j++) xs[i * 5 + j] = f.get(j);
            ys[i] = rows.get(i).getDouble(1);
        }
        Tensor x = Tensor.fromArray(xs, rows.size(), 5), y = Tensor.fromArray(ys, rows.size());
        dev.sparkautograd.nn.Module module = model.module(model.initial(42));
        Tensor z = model.output(x, module);
        Tensor loss = switch (kind) {
            case logistic, fm -> z.softplus().sub(y.mul(z)).mean();
            case linear -> z.sub(y).square().mean().mul(0.5);
            default -> z.logSoftmax(1).mul(Tensor.where(y.unsqueeze(1).eq(Tensor.arange(3).unsqueeze(0)), Tensor.ones(1), Tensor.zeros(1)))
                    .sum(1, false).mean().neg();
        };
        loss.backward();
        Tensor expected = Tensor.fromArray(Model.gradient(module), model.size());
        assertTrue(grad.allclose(expected, 1e-10, 1e-12), kind + ": " + grad + " vs " + expected);
        assertEquals(loss.item(), Double.parseDouble(line(out, "loss:")), 1e-12);
        assertEquals(expected.norm().item(), Double.parseDouble(line(out, "grad norm:")), 1e-10);
    }

    @Test
    void gradientOfEachModelEqualsTheLocalAutogradGradient() throws Exception {
        for (Model.Kind k : Model.Kind.values()) gradientMatchesLocal(k, "--hidden", "4");
    }

    @Test
    void gradientReadsParquetCsvAndLibsvmAlike() throws Exception {
        // three rows, two features
        Path csv = tmp.resolve("d.csv"), svm = tmp.resolve("d.svm"), params = tmp.resolve("p.npy");
        Files.writeString(csv, "f1,label,f2\n1.0,1,2.0\n-0.5,0,0.0\n3.0,1,-1.0\n");
        Files.writeString(svm, "1 1:1.0 2:2.0\n0 1:-0.5\n1 1:3.0 2:-1.0\n");
        Npy.write(params, Tensor.of(0.3, -0.2, 0.1));
        String a = run(new GradientJob(), "--input", csv.toString(), "--format", "csv", "--params", params.toString(), "--output", tmp.resolve("g1.npy").toString());
        String b = run(new GradientJob(), "--input", svm.toString(), "--format", "libsvm", "--features", "2", "--params", params.toString(), "--output", tmp.resolve("g2.npy").toString());
        Tensor x = Tensor.of(1, 2, -0.5, 0, 3, -1).reshape(3, 2), y = Tensor.of(1, 0, 1);
        Tensor w = Tensor.of(0.3, -0.2).requiresGrad_(true), bias = Tensor.scalar(0.1).requiresGrad_(true);
        Tensor z = x.matmul(w).add(bias);
        Tensor loss = z.softplus().sub(y.mul(z)).mean();
        loss.backward();
        Tensor expected = Tensor.cat(List.of(w.grad(), bias.grad().reshape(1)), 0);
        assertTrue(Npy.read(tmp.resolve("g1.npy")).allclose(expected, 1e-12, 1e-14), a);
        assertTrue(Npy.read(tmp.resolve("g2.npy")).allclose(expected, 1e-12, 1e-14), b);
        assertEquals("3 in 1 partitions", line(b, "rows:").replaceAll("in \\d+ partitions", "in 1 partitions"));

        // Parquet written by generate gives the in-memory generator's gradient (row order differs: equal to rounding)
        Path pq = tmp.resolve("pq");
        run(new GenerateJob(), "--rows", "2000", "--features", "3", "--partitions", "2", "--seed", "5", "--output", pq.toString());
        String fromFile = run(new GradientJob(), "--input", pq.toString(), "--output", tmp.resolve("g3.npy").toString());
        String inMemory = run(new GradientJob(), "--generate", "2000", "--features", "3", "--partitions", "2", "--seed", "5", "--output", tmp.resolve("g4.npy").toString());
        assertEquals("2000 in 2 partitions", line(fromFile, "rows:"));
        assertTrue(Npy.read(tmp.resolve("g3.npy")).allclose(Npy.read(tmp.resolve("g4.npy")), 1e-12, 1e-15), fromFile + inMemory);
    }

    @Test
    void usageErrors() {
        StringWriter err = new StringWriter();
        int code = Main.execute(new String[] {"gradient", "--features", "3"}, new PrintWriter(new StringWriter()), new PrintWriter(err, true));
        assertEquals(2, code);
        assertEquals("spark-autograd gradient: give either --input or --generate (see 'spark-autograd gradient --help')", err.toString().strip());
        StringWriter help = new StringWriter();
        assertEquals(0, Main.execute(new String[] {"train", "--help"}, new PrintWriter(help, true), new PrintWriter(new StringWriter())));
        assertTrue(help.toString().contains("--optimizer=OPT"), help.toString());
    }
}
