package dev.sparkautograd.jobs;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files users actually have, through the jobs' real entry point ({@link Main#execute}) on the shared local[2]
 * session: labels checked in the counting pass, malformed CSV and LIBSVM, Parquet from a non-Spark writer, and
 * every mistake reported as one line with the right exit code.
 */
class UserDataTest {

    /** One directory for the class, made and deleted by JUnit. */
    @TempDir
    static Path tmp;

    record Run(int exit, String out, String err) {
        String line(String key) {
            return DataJobsTest.line(out, key);
        }
    }

    /** Runs {@code args} as bin/spark-autograd would, on the shared session. */
    static Run main(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true), SharedSpark.session());
        return new Run(exit, out.toString(), err.toString());
    }

    static Path file(String name, String content) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    /** The one line on stderr of a failed run with exit code {@code exit}; checks it names a readable log with the trace. */
    static String failure(Run r, int exit) throws IOException {
        assertEquals(exit, r.exit(), r.out() + r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), r.err());
        String line = lines.get(0);
        if (exit == 1) {
            int at = line.lastIndexOf(" (stack trace: ");
            assertTrue(at > 0, line);
            Path log = Path.of(line.substring(at + " (stack trace: ".length(), line.indexOf(';', at)));
            assertTrue(Files.readString(log).contains("\tat "), "stack trace in " + log);
            Files.delete(log);
            return line.substring(0, at);
        }
        return line;
    }

    // ---- labels -----------------------------------------------------------------------------------------

    /** 40 rows, features (i mod 7, i mod 5), label {@code labelOf(i)}, as CSV with the label last. */
    static Path csv(String name, java.util.function.IntUnaryOperator labelOf) throws IOException {
        StringBuilder sb = new StringBuilder("f1,f2,label\n");
        for (int i = 0; i < 40; i++) sb.append(i % 7 - 3).append(',').append((i % 5) * 0.5).append(',').append(labelOf.applyAsInt(i)).append('\n');
        return file(name, sb.toString());
    }

    @Test
    void softmaxReadsTheNumberOfClassesFromTheData() throws Exception {
        Path ten = csv("ten.csv", i -> i % 10);
        Run r = main("gradient", "--model", "softmax", "--input", ten.toString(), "--format", "csv", "--output", tmp.resolve("ten.npy").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.line("model:").startsWith("softmax regression, 2 features, 10 classes (30 parameters)"), r.out());
        assertTrue(r.line("labels:").startsWith("10 classes (0..9"), r.out());
        assertEquals(30, Npy.read(tmp.resolve("ten.npy")).numel());
        // zero weights: every class equally likely, loss log(10)
        assertEquals(Math.log(10), Double.parseDouble(r.line("loss:")), 1e-12);

        // --classes smaller than the data's: the first offending label, its line and file
        String msg = failure(main("gradient", "--model", "softmax", "--classes", "3", "--input", ten.toString(), "--format", "csv",
                "--output", tmp.resolve("x.npy").toString()), 1);
        assertEquals("spark-autograd gradient: label 3 at line 5 of " + ten.toUri().toString().replace("file:///", "file:/")
                + ": with --classes 3 the labels must be class indices 0..2 (leave out --classes to read the number of classes from the data)", msg);
        // a negative or fractional class index
        String neg = failure(main("gradient", "--model", "mlp", "--input", csv("neg.csv", i -> i == 6 ? -1 : i % 2).toString(), "--format", "csv",
                "--output", tmp.resolve("x.npy").toString()), 1);
        assertTrue(neg.contains("label -1 at line 8 of ") && neg.endsWith("the labels must be class indices 0, 1, 2, ... (below 100000)"), neg);
        String one = failure(main("gradient", "--model", "softmax", "--input", csv("zeros.csv", i -> 0).toString(), "--format", "csv",
                "--output", tmp.resolve("x.npy").toString()), 1);
        assertTrue(one.contains("every label in ") && one.contains("softmax needs at least 2 classes"), one);
    }

    @Test
    void logisticRefusesOtherLabelsAndReadsPlusMinusOneAsZeroOne() throws Exception {
        Path two = csv("two.csv", i -> i == 11 ? 2 : i % 2);
        String msg = failure(main("train", "--input", two.toString(), "--format", "csv", "--output", tmp.resolve("t2").toString()), 1);
        assertTrue(msg.startsWith("spark-autograd train: label 2 at line 13 of file:") && msg.contains("two.csv: logistic regression needs labels 0 and 1 (or -1 and +1)"), msg);
        assertFalse(Files.exists(tmp.resolve("t2").resolve("params.npy")), "nothing trained");

        Path zeroOne = csv("01.csv", i -> (i * 7 % 3) == 0 ? 1 : 0);
        Path pm = csv("pm.csv", i -> (i * 7 % 3) == 0 ? 1 : -1);
        Run a = main("gradient", "--input", zeroOne.toString(), "--format", "csv", "--output", tmp.resolve("01.npy").toString());
        Run b = main("gradient", "--input", pm.toString(), "--format", "csv", "--output", tmp.resolve("pm.npy").toString());
        assertEquals(0, a.exit(), a.err());
        assertEquals(0, b.exit(), b.err());
        assertEquals("-1/+1 read as 0/1 (logistic regression's labels)", b.line("labels:"));
        assertFalse(a.out().contains("labels:"), a.out());
        assertTrue(Npy.read(tmp.resolve("01.npy")).equal(Npy.read(tmp.resolve("pm.npy"))), a.out() + b.out());

        String mixed = failure(main("gradient", "--input", csv("mixed.csv", i -> i % 3 - 1).toString(), "--format", "csv",
                "--output", tmp.resolve("x.npy").toString()), 1);
        assertTrue(mixed.matches("spark-autograd gradient: labels mix -1 \\(first at line 2 of file:.*mixed.csv\\) and 0 \\(first at line 3 of file:.*mixed.csv\\):"
                + " logistic regression needs labels 0 and 1, or -1 and \\+1"), mixed);
    }

    /** The label checks ride on the counting pass: gradient runs exactly two Spark jobs (count, loss+gradient), each named. */
    @Test
    void labelChecksRunNoJobOfTheirOwn() throws Exception {
        Path data = csv("jobs.csv", i -> i % 4);
        List<String> descriptions = Collections.synchronizedList(new ArrayList<>());
        SparkListener listener = new SparkListener() {
            @Override
            public void onJobStart(SparkListenerJobStart start) {
                descriptions.add(String.valueOf(start.properties().getProperty("spark.job.description")));
            }
        };
        SharedSpark.session().sparkContext().addSparkListener(listener);
        try {
            Run r = main("gradient", "--model", "softmax", "--input", data.toString(), "--format", "csv", "--output", tmp.resolve("jobs.npy").toString());
            assertEquals(0, r.exit(), r.err());
            SharedSpark.session().sparkContext().listenerBus().waitUntilEmpty();
        } finally {
            SharedSpark.session().sparkContext().removeSparkListener(listener);
        }
        assertEquals(List.of("gradient softmax: reading and checking the data", "gradient softmax: loss+gradient"), descriptions);
    }

    // ---- CSV and LIBSVM -----------------------------------------------------------------------------------

    @Test
    void malformedCsvIsOneLineNamingFileLineAndColumn() throws Exception {
        String header = "f1,f2,label\n1,2,0\n3,4,1\n";
        String[][] cases = {
            {header + "5,abc,1\n", "CSV %s line 4, column 'f2': 'abc' is not a number; fix the cell or remove the row"},
            {header + "5,,1\n", "CSV %s line 4, column 'f2': the cell is empty; fix the cell or remove the row"},
            {header + "5,6\n", "CSV %s line 4 has 2 cells but the header names 3 columns: column 'label' is missing; fill it in or remove the row"},
            {header + "5,6,1,7\n", "CSV %s line 4 has 4 cells but the header names 3 columns (f1, f2, label): remove the extra cells, or name their columns in the header"},
            {header + "5,NaN,1\n", "CSV %s line 4, column 'f2': NaN is not finite; pass --allow-non-finite to allow NaN and infinite values"},
            {header + "5,6,x\n", "CSV %s line 4, column 'label': 'x' is not a number; fix the cell or remove the row"},
            {"1,2,0\n3,4,1\n", "CSV %s line 1 (1,2,0) is all numbers, not a header: add a header line naming the columns (e.g. f1,f2,label) or pass --no-header (columns _c0, _c1, ...)"},
            {"a,b\n1,0\n", "CSV %s has no column 'label' (columns: a, b): name the label column with --label"},
            {"", "CSV %s is empty"},
            {"f1,label\n", "no data rows in %s"},
        };
        for (int i = 0; i < cases.length; i++) {
            Path f = file("bad" + i + ".csv", cases[i][0]);
            String name = i == cases.length - 1 ? f.toString() : "file:" + f;
            String msg = failure(main("gradient", "--input", f.toString(), "--format", "csv", "--output", tmp.resolve("x.npy").toString()), 1);
            assertEquals("spark-autograd gradient: " + String.format(cases[i][1], name), msg, cases[i][0]);
        }
        // --no-header: columns _c0, _c1, ...; the label _c0 unless --label names another; --allow-non-finite lets NaN in
        Path plain = file("plain.csv", "0,1,2\n1,3,4\n1,-1,0.5\n");
        Path headed = file("headed.csv", "label,a,b\n0,1,2\n1,3,4\n1,-1,0.5\n");
        assertEquals(0, main("gradient", "--input", plain.toString(), "--format", "csv", "--no-header", "--output", tmp.resolve("p.npy").toString()).exit());
        assertEquals(0, main("gradient", "--input", headed.toString(), "--format", "csv", "--output", tmp.resolve("h.npy").toString()).exit());
        assertTrue(Npy.read(tmp.resolve("p.npy")).equal(Npy.read(tmp.resolve("h.npy"))));
        // a UTF-8 byte-order mark (as Excel writes) is not part of the first column's name
        Path bom = file("bom.csv", "\uFEFFlabel,a,b\n0,1,2\n1,3,4\n1,-1,0.5\n");
        assertEquals(0, main("gradient", "--input", bom.toString(), "--format", "csv", "--output", tmp.resolve("bom.npy").toString()).exit());
        assertTrue(Npy.read(tmp.resolve("bom.npy")).equal(Npy.read(tmp.resolve("h.npy"))));
        Run nan = main("gradient", "--input", file("nan.csv", "a,label\nNaN,1\n2,0\n").toString(), "--format", "csv", "--allow-non-finite",
                "--output", tmp.resolve("nan.npy").toString());
        assertEquals(0, nan.exit(), nan.err());
        assertEquals("NaN", nan.line("loss:"));
    }

    @Test
    void malformedLibsvmIsOneLineNamingFileAndLine() throws Exception {
        String good = "1 1:1.0 2:2.0\n0 1:-0.5\n";
        String[][] cases = {
            {good + "1 1=2\n", "LIBSVM %s line 3: '1=2' is not an index:value pair (e.g. 3:0.5)"},
            {good + "1 0:2\n", "LIBSVM %s line 3: index 0 in '0:2'; LIBSVM indices start at 1"},
            {good + "1 2:1 1:2\n", "LIBSVM %s line 3: index 1 comes after 2; LIBSVM indices must be increasing"},
            {good + "1 2:1 2:2\n", "LIBSVM %s line 3: index 2 appears twice; LIBSVM indices must be increasing"},
            {good + "1 5:1\n", "LIBSVM %s line 3: index 5 is above the width --features 3; pass --features 5 or more"},
            {good + "one 1:1\n", "LIBSVM %s line 3: the label 'one' is not a number (a line is: label index:value ...)"},
            {good + "7 1:1\n", "label 7 at line 3 of %s: logistic regression needs labels 0 and 1 (or -1 and +1); for more classes use --model softmax"},
            {good + "1 1:abc\n", "LIBSVM %s line 3: in '1:abc' the value 'abc' is not a number"},
            {good + "1 2:NaN\n", "LIBSVM %s line 3: index 2 has value NaN; pass --allow-non-finite to allow NaN and infinite values"},
            {good + "1 1:1 # note\n", "LIBSVM %s line 3: a comment after the data ('# ...'); Spark's libsvm source allows comments only on lines of their own"},
            {good + "1\t1:1\n", "LIBSVM %s line 3: a tab between fields; Spark's libsvm source needs spaces (label index:value ...)"},
            // blank and comment lines count as lines (Spark's source skips them)
            {good + "\n# a comment\n1 3:1 3:2\n", "LIBSVM %s line 5: index 3 appears twice; LIBSVM indices must be increasing"},
            {"-1 1:1\n1 2:1\n\n0 1:2\n", "labels mix -1 (first at line 1 of %1$s) and 0 (first at line 4 of %1$s): logistic regression needs labels 0 and 1, or -1 and +1"},
        };
        for (int i = 0; i < cases.length; i++) {
            Path f = file("bad" + i + ".svm", cases[i][0]);
            String msg = failure(main("gradient", "--input", f.toString(), "--format", "libsvm", "--features", "3", "--output", tmp.resolve("x.npy").toString()), 1);
            assertEquals("spark-autograd gradient: " + String.format(cases[i][1], "file:" + f), msg, cases[i][0]);
        }
        Path empty = file("empty.svm", "");
        assertEquals("spark-autograd gradient: no data rows in " + empty,
                failure(main("gradient", "--input", empty.toString(), "--format", "libsvm", "--features", "10", "--output", tmp.resolve("x.npy").toString()), 1));
        // without --features Spark's source reads the width from the data, so an empty file (or only comments) has none
        Path comments = file("comments.svm", "# nothing\n\n");
        for (Path p : List.of(empty, comments)) {
            assertEquals("spark-autograd gradient: no data rows in " + p,
                    failure(main("gradient", "--input", p.toString(), "--format", "libsvm", "--output", tmp.resolve("x.npy").toString()), 1));
        }
        // ... and the errors are the same without --features (no width to exceed)
        Path bad = file("bad-inferred.svm", good + "1 2:1 1:2\n");
        assertEquals("spark-autograd gradient: LIBSVM file:" + bad + " line 3: index 1 comes after 2; LIBSVM indices must be increasing",
                failure(main("gradient", "--input", bad.toString(), "--format", "libsvm", "--output", tmp.resolve("x.npy").toString()), 1));
        // --help says how the width is found
        String help = main("gradient", "--help").out().replaceAll("\\s+", " ");
        assertTrue(help.contains("the width of LIBSVM data (Spark's numFeatures; default: the largest index in the data"), help);
        assertEquals("spark-autograd gradient: no such file or directory: " + tmp.resolve("none.svm"),
                failure(main("gradient", "--input", tmp.resolve("none.svm").toString(), "--format", "libsvm", "--output", tmp.resolve("x.npy").toString()), 1));
    }

    /** Loads {@code args}' data as gradient would (picocli parses the options). */
    static DataOptions.Input load(String... args) {
        ModelOptions m = new ModelOptions();
        DataOptions d = new DataOptions();
        picocli.CommandLine.Model.CommandSpec spec = picocli.CommandLine.Model.CommandSpec.create();
        spec.addMixin("model", picocli.CommandLine.Model.CommandSpec.forAnnotatedObject(m));
        spec.addMixin("data", picocli.CommandLine.Model.CommandSpec.forAnnotatedObject(d));
        new picocli.CommandLine(spec).parseArgs(args);
        return d.load(SharedSpark.session(), m, null);
    }

    /** A digits-like table: 60 rows, 8 features, about half of them 0, labels 0/1; as CSV and as LIBSVM. */
    static Path[] narrow() throws IOException {
        StringBuilder csv = new StringBuilder("f1,f2,f3,f4,f5,f6,f7,f8,label\n"), svm = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            int label = (i * 7 % 5) < 2 ? 1 : 0;
            svm.append(label);
            for (int j = 0; j < 8; j++) {
                double v = (i * 31 + j * 17) % 3 == 0 ? 0 : Math.sin(1.3 * i + 0.7 * j) * (j + 1);
                csv.append(v).append(',');
                if (v != 0) svm.append(' ').append(j + 1).append(':').append(v);
            }
            csv.append(label).append('\n');
            svm.append('\n');
        }
        return new Path[] {file("narrow.csv", csv.toString()), file("narrow.svm", svm.toString())};
    }

    /** Narrow LIBSVM data are read dense (the library's choice) and fit to the same bits as the same table in CSV. */
    @Test
    void libsvmThroughSparksSourceFitsNarrowDataAsCsvDoes() throws Exception {
        Path[] files = narrow();
        DataOptions.Input in = load("--input", files[1].toString(), "--format", "libsvm");
        assertFalse(in.x().isSparse(), "narrow, half non-zero: dense blocks");
        assertEquals(8, in.x().shape()[1], "the width from the data: the largest index");
        for (String kind : List.of("logistic", "softmax", "linear")) {
            Run a = main("train", "--model", kind, "--input", files[0].toString(), "--format", "csv", "--max-steps", "30", "--output", tmp.resolve("fit-csv-" + kind).toString());
            Run b = main("train", "--model", kind, "--input", files[1].toString(), "--format", "libsvm", "--max-steps", "30", "--output", tmp.resolve("fit-svm-" + kind).toString());
            assertEquals(0, a.exit(), a.err());
            assertEquals(0, b.exit(), b.err());
            assertArrayEquals(Npy.read(tmp.resolve("fit-csv-" + kind).resolve("params.npy")).toArray(),
                    Npy.read(tmp.resolve("fit-svm-" + kind).resolve("params.npy")).toArray(), kind + "\n" + a.out() + b.out());
        }
        // --features wider than the data: the extra features are zero columns
        DataOptions.Input wide = load("--input", files[1].toString(), "--format", "libsvm", "--features", "12");
        assertEquals(12, wide.x().shape()[1]);
    }

    /** A LIBSVM file wider than 65,536 features is read as CSR blocks; its gradient is that of its non-zero columns. */
    @Test
    void wideLibsvmGoesSparse() throws Exception {
        int d = 200_000;
        Path svm = file("wide.svm", "1 7:0.5 150000:2\n0 3:-1 7:1.5\n1 199999:0.25 200000:-3\n0 150000:1\n");
        DataOptions.Input in = load("--input", svm.toString(), "--format", "libsvm");
        assertTrue(in.x().isSparse(), "wide: CSR blocks");
        assertEquals(d, in.x().shape()[1]);
        Path params = tmp.resolve("wide-params.npy");
        double[] p = new double[d + 1];
        p[6] = 0.3; p[149_999] = -0.2; p[2] = 0.7; p[199_998] = 1.1; p[199_999] = 0.05; p[d] = 0.1;
        Npy.write(params, Tensor.of(p));
        Run r = main("gradient", "--input", svm.toString(), "--format", "libsvm", "--params", params.toString(), "--output", tmp.resolve("wide.npy").toString());
        assertEquals(0, r.exit(), r.err());
        // the same rows on the 6 columns that occur (7, 150000, 3, 199999, 200000 and the bias), locally
        int[] cols = {2, 6, 149_999, 199_998, 199_999};
        Tensor x = Tensor.of(0, 0.5, 2, 0, 0, -1, 1.5, 0, 0, 0, 0, 0, 0, 0.25, -3, 0, 0, 1, 0, 0).reshape(4, 5), y = Tensor.of(1, 0, 1, 0);
        Tensor w = Tensor.of(0.7, 0.3, -0.2, 1.1, 0.05).requiresGrad_(true), b = Tensor.scalar(0.1).requiresGrad_(true);
        Tensor z = x.matmul(w).add(b);
        z.softplus().sub(y.mul(z)).mean().backward();
        double[] g = Npy.read(tmp.resolve("wide.npy")).toArray();
        double[] gw = w.grad().toArray();
        double[] expected = new double[d + 1];
        for (int j = 0; j < cols.length; j++) expected[cols[j]] = gw[j];
        expected[d] = b.grad().item();
        for (int i = 0; i <= d; i++) assertEquals(expected[i], g[i], 1e-15, "entry " + i);
    }

    // ---- Parquet from another writer ----------------------------------------------------------------------

    /** Parquet written by parquet-mr's own example writer (no Spark schema in the footer), as pandas/pyarrow would. */
    static void writeParquet(Path file, String schema, double[][] x, double[] y, boolean asList) throws IOException {
        MessageType type = MessageTypeParser.parseMessageType(schema);
        SimpleGroupFactory groups = new SimpleGroupFactory(type);
        try (ParquetWriter<Group> w = ExampleParquetWriter.builder(new org.apache.hadoop.fs.Path(file.toUri()))
                .withType(type).withConf(new Configuration()).build()) {
            for (int i = 0; i < y.length; i++) {
                Group g = groups.newGroup();
                if (asList) {
                    Group list = g.addGroup("features");
                    for (double v : x[i]) list.addGroup("list").append("element", v);
                } else {
                    for (int j = 0; j < x[i].length; j++) g.append("f" + (j + 1), x[i][j]);
                }
                g.append("label", y[i]);
                w.write(g);
            }
        }
    }

    @Test
    void parquetFromANonSparkWriterLoads() throws Exception {
        double[][] x = {{1, 2}, {-0.5, 0}, {3, -1}, {0.25, 0.75}};
        double[] y = {1, 0, 1, 0};
        Path lists = tmp.resolve("lists.parquet"), columns = tmp.resolve("columns.parquet");
        writeParquet(lists, "message m { required group features (LIST) { repeated group list { required double element; } } required double label; }", x, y, true);
        writeParquet(columns, "message m { required double f1; required double f2; required double label; }", x, y, false);
        Path params = tmp.resolve("pq-params.npy");
        Npy.write(params, Tensor.of(0.3, -0.2, 0.1));
        Tensor w = Tensor.of(0.3, -0.2).requiresGrad_(true), b = Tensor.scalar(0.1).requiresGrad_(true);
        Tensor z = Tensor.of(1, 2, -0.5, 0, 3, -1, 0.25, 0.75).reshape(4, 2).matmul(w).add(b);
        z.softplus().sub(Tensor.of(y).mul(z)).mean().backward();
        Tensor expected = Tensor.cat(List.of(w.grad(), b.grad().reshape(1)), 0);
        for (Path p : List.of(lists, columns)) {
            Path out = tmp.resolve(p.getFileName() + ".npy");
            Run r = main("gradient", "--input", p.toString(), "--params", params.toString(), "--output", out.toString());
            assertEquals(0, r.exit(), p + ": " + r.err());
            assertTrue(Npy.read(out).allclose(expected, 1e-12, 1e-14), r.out());
        }
        // a 'features' list and a 'label' are read straight from Spark's columnar batches (the labels checked by a job
        // of their own); one column per feature is assembled into an array, a computed column, so read as rows
        assertTrue(load("--input", lists.toString()).data().blocks().name().endsWith("(columnar batches)"), "columnar");
        assertFalse(load("--input", columns.toString()).data().blocks().name().endsWith("(columnar batches)"), "rows");
        // a label outside the model's: named with its row and file
        writeParquet(tmp.resolve("five.parquet"), "message m { required double f1; required double f2; required double label; }", x, new double[] {1, 0, 5, 0}, false);
        String msg = failure(main("gradient", "--input", tmp.resolve("five.parquet").toString(), "--output", tmp.resolve("x.npy").toString()), 1);
        assertTrue(msg.startsWith("spark-autograd gradient: label 5 at row 3 of file:") && msg.contains("five.parquet: logistic regression needs"), msg);
    }

    /**
     * A Parquet 'features' list and 'label' (read from the columnar batches): the labels are checked by one aggregate,
     * and only a label to report runs the row-by-row check that names its row and file; the messages and what the
     * labels decide (classes, -1/+1) are the other formats'.
     */
    @Test
    void parquetLabelsCheckedByAnAggregateAsRowByRow() throws Exception {
        double[][] x = {{1, 2}, {-0.5, 0}, {3, -1}, {0.25, 0.75}};
        String schema = "message m { required group features (LIST) { repeated group list { required double element; } } required double label; }";
        Object[][] cases = {
            // model, labels, expected: an error's start and end, or the labels: line (null: none)
            {"logistic", new double[] {1, 0, 5, 0}, "error", "label 5 at row 3 of file:", "logistic regression needs labels 0 and 1 (or -1 and +1); for more classes use --model softmax"},
            {"logistic", new double[] {-1, 0, 1, 0}, "error", "labels mix -1 (first at row 1 of file:", "logistic regression needs labels 0 and 1, or -1 and +1"},
            {"logistic", new double[] {1, Double.NaN, 1, 0}, "error", "label NaN at row 2 of file:", "a class label must be a number"},
            {"softmax", new double[] {0, 2, 1.5, 0}, "error", "label 1.5 at row 3 of file:", "the labels must be class indices 0, 1, 2, ... (below 100000)"},
            {"logistic", new double[] {-1, 1, 1, -1}, "ok", "-1/+1 read as 0/1 (logistic regression's labels)", null},
            {"logistic", new double[] {0, 1, 1, 0}, "ok", null, null},
            {"softmax", new double[] {0, 2, 1, 0}, "ok", "3 classes (0..2, the largest label + 1; --classes sets it)", null},
        };
        int k = 0;
        for (Object[] c : cases) {
            Path file = tmp.resolve("labels" + k++ + ".parquet");
            writeParquet(file, schema, x, (double[]) c[1], true);
            Run r = main("gradient", "--model", (String) c[0], "--input", file.toString(), "--output", tmp.resolve("labels" + k + ".npy").toString());
            String what = c[0] + " " + java.util.Arrays.toString((double[]) c[1]);
            if (c[2].equals("error")) {
                String msg = failure(r, 1);
                assertTrue(msg.startsWith("spark-autograd gradient: " + c[3]) && msg.endsWith(c[4].toString()), what + ": " + msg);
            } else {
                assertEquals(0, r.exit(), what + ": " + r.err());
                if (c[3] == null) assertFalse(r.out().contains("labels:"), what + ": " + r.out());
                else assertEquals(c[3], r.line("labels:"), what + ": " + r.out());
            }
        }
        // -1/+1 give the gradient of 0/1
        assertTrue(Npy.read(tmp.resolve("labels5.npy")).equal(Npy.read(tmp.resolve("labels6.npy"))));
    }

    // ---- one-line errors ----------------------------------------------------------------------------------

    @Test
    void mistakesAreOneLineWithExitCodesAndVerbosePrintsTheTrace() throws Exception {
        Path missing = tmp.resolve("no-such-dir");
        String msg = failure(main("train", "--input", missing.toString(), "--output", tmp.resolve("t").toString()), 1);
        assertEquals("spark-autograd train: no such file or directory: " + missing, msg);

        Path bad = file("verbose.csv", "f1,label\n1,0\nx,1\n");
        Run v = main("gradient", "--verbose", "--input", bad.toString(), "--format", "csv", "--output", tmp.resolve("x.npy").toString());
        assertEquals(1, v.exit());
        List<String> lines = v.err().lines().toList();
        assertTrue(lines.size() > 5 && lines.stream().anyMatch(l -> l.startsWith("\tat ")), v.err());
        assertEquals("spark-autograd gradient: CSV file:" + bad + " line 3, column 'f1': 'x' is not a number; fix the cell or remove the row",
                lines.get(lines.size() - 1));

        // usage mistakes exit with 2: a CSV flag on Parquet, a --params of the wrong size
        assertEquals("spark-autograd gradient: --no-header is for --format csv (see 'spark-autograd gradient --help')",
                failure(main("gradient", "--input", bad.toString(), "--no-header", "--output", tmp.resolve("x.npy").toString()), 2));
        Path params = tmp.resolve("p5.npy");
        Npy.write(params, Tensor.of(1, 2, 3, 4, 5));
        assertEquals("spark-autograd gradient: --params " + params + " holds 5 values but logistic regression, 1 features has 2 parameters"
                        + " (see 'spark-autograd gradient --help')",
                failure(main("gradient", "--input", file("ok.csv", "f1,label\n1,0\n2,1\n").toString(), "--format", "csv",
                        "--params", params.toString(), "--output", tmp.resolve("y.npy").toString()), 2));
    }
}
