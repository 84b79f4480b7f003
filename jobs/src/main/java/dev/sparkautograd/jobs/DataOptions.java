package dev.sparkautograd.jobs;

import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.BadDataException;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import dev.sparkautograd.dist.AutoStorageLevel;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF3;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.storage.StorageLevel;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * Where gradient and train get their data: a dataset ({@code --input}, Parquet, CSV or LIBSVM) or
 * {@code --generate N} rows generated in memory exactly as the generate job writes them.
 *
 * <p>Files are read one input partition per file, never split nor packed together, so the partitioning (and
 * with the library's tree reduce, the bits of every reduction) is the same on any cluster, and a row's position
 * in its partition is its position in its file: every error names the file and the 1-based line (CSV, LIBSVM) or
 * row (Parquet). The labels are checked in the counting pass (see {@link Labels}).
 */
public final class DataOptions {

    public enum Format { parquet, csv, libsvm }

    @Option(names = "--input", paramLabel = "PATH", description = "The data: a Parquet, CSV or LIBSVM file or directory; any Hadoop path (file://, hdfs://, s3a://).")
    String input;

    @Option(names = "--format", paramLabel = "FMT", description = "parquet (a column features: array<double> or ML vector, or one numeric column per feature; and the label column), csv (a header line; the label column, every other column a feature) or libsvm (label index:value ..., 1-based, increasing; read by Spark's libsvm source: --features sets the width, else the largest index in the data) (default: ${DEFAULT-VALUE}).")
    Format format = Format.parquet;

    @Option(names = "--label", paramLabel = "COL", description = "The label column of a CSV or Parquet file (default: label; with --no-header: _c0).")
    String label;

    @Option(names = "--no-header", description = "The CSV files have no header line: the columns are _c0, _c1, ... (the label _c0 unless --label names another).")
    boolean noHeader;

    @Option(names = "--allow-non-finite", description = "Accept NaN and infinite feature values (and linear regression labels); by default they are an error naming file, line and column.")
    boolean allowNonFinite;

    public enum Dtype { float64, float32 }

    @Option(names = "--dtype", paramLabel = "TYPE", description = "How the features are held in memory: float64, or float32 (half the bytes cached and read; values rounded to float once, when read; labels, parameters, gradients and sums stay float64) (default: ${DEFAULT-VALUE}).")
    Dtype dtype = Dtype.float64;

    @Option(names = "--generate", paramLabel = "N", description = "Instead of --input: generate N rows in memory (as generate does, from --seed and --partitions).")
    long generate = -1;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the generated data and its teacher (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--partitions", paramLabel = "P", description = "Partitions of the generated data (default: Spark's default parallelism).")
    int partitions = 0;

    /** The generator behind {@code --generate}, or null when the data come from {@code --input}. */
    Synthetic synthetic(SparkSession spark, ModelOptions m) {
        if (generate < 0) return null;
        int parts = partitions > 0 ? partitions : spark.sparkContext().defaultParallelism();
        return new Synthetic(m.model(m.features), generate, parts, seed);
    }

    String validate() {
        if ((input == null) == (generate < 0)) return "give either --input or --generate";
        if (generate == 0) return "--generate must be positive";
        if (partitions < 0) return "--partitions must not be negative, got " + partitions;
        if (noHeader && format != Format.csv) return "--no-header is for --format csv";
        return null;
    }

    /** The data a job works on: features {@code x [N, d]}, labels {@code y [N]} as the model reads them, the model. */
    record Input(DistData data, DistTensor x, DistTensor y, Model model, Synthetic synthetic, String source, String labelNote) {

        /** The features and labels of {@code rows}, a selection of {@link #data}'s rows (a mini-batch), the labels read as {@link #y} reads them. */
        DistTensor[] of(DistData rows) {
            DistTensor ys = rows.tensor("label");
            return new DistTensor[] {rows.tensor("features"), PLUS_MINUS_ONE.equals(labelNote) ? ys.add(1).mul(0.5) : ys};
        }

        /**
         * Caches data read uncached ({@code load(.., null)}) at the level chosen for the blocks' size, now that the
         * counting job knows it and no job has read the blocks yet: serialized (raw arrays through Kryo, the cache's
         * memory counted exactly) when they fit the storage memory, else straight to disk (see AutoStorageLevel and the
         * README's "Data larger than memory"). Returns the choice, for the {@code cache:} line; null when the size is not
         * known ({@link DistData#sizeInBytes}: cached serialized).
         */
        AutoStorageLevel persistAtAutoLevel(SparkContext sc) {
            long bytes = data.sizeInBytes();
            AutoStorageLevel cache = bytes < 0 ? null : AutoStorageLevel.forBlocks(sc, bytes);
            data.persist(cache != null ? cache.level() : StorageLevel.MEMORY_AND_DISK_SER());
            return cache;
        }
    }

    static final String PLUS_MINUS_ONE = "-1/+1 read as 0/1 (logistic regression's labels)";

    /**
     * Reads the data (one counting job, which also checks the labels), and builds the model for its width and,
     * unless {@code --classes} is given, its number of classes. {@code level}: cache the blocks (null: no).
     */
    Input load(SparkSession spark, ModelOptions m, StorageLevel level) {
        DistData.Options options = DistData.options().allowNonFinite(allowNonFinite)
                .dtype(dtype == Dtype.float32 ? DistData.Dtype.FLOAT32 : DistData.Dtype.FLOAT64);
        if (level != null) options.storageLevel(level);
        Synthetic syn = synthetic(spark, m);
        if (syn != null) {
            DistData d = DistData.fromDataset(syn.dataset(spark), options, "features", "label");
            return new Input(d, d.tensor("features"), d.tensor("label"), syn.model(), syn, "generated, seed " + seed, null);
        }
        // One input partition per file, never split nor packed together (see the class comment).
        spark.conf().set("spark.sql.files.maxPartitionBytes", String.valueOf(1L << 40));
        spark.conf().set("spark.sql.files.openCostInBytes", String.valueOf(1L << 40));
        Labels labels = new Labels(m.kind, m.classes == null ? 0 : m.classes, allowNonFinite);
        spark.sparkContext().register(labels.seen());
        Integer width = null;
        if (format == Format.libsvm && m.featuresGiven) {
            if (m.features < 1) throw new IllegalArgumentException("--features must be at least 1, got " + m.features);
            width = m.features;
        }
        DistData d;
        int k;
        boolean plusMinusOne;
        try {
            Dataset<Row> df = switch (format) {
                case parquet -> parquet(spark, labels);
                case csv -> csv(spark, labels);
                case libsvm -> Libsvm.read(spark, input, width, allowNonFinite, labels);
            };
            try {
                d = DistData.fromDataset(df, options, "features", "label");
            } catch (IllegalArgumentException e) {
                // the library names its Java option; a user of the jobs has a command-line flag
                String msg = e.getMessage() == null ? "" : e.getMessage();
                if (!msg.contains("allowNonFinite(true)")) throw e;
                throw new BadDataException(msg.replace("pass DistData.options().allowNonFinite(true)", "pass --allow-non-finite"));
            }
            if (d.rows() == 0) throw new BadDataException("no data rows in " + input);
            k = labels.classes(input);
            plusMinusOne = labels.plusMinusOne(input);
        } catch (Exception e) { // (Spark's own failures are SparkExceptions, checked in Java's eyes)
            if (format != Format.libsvm || e instanceof BadDataException b && b.getMessage().startsWith("no such file")) throw Libsvm.unchanged(e);
            // Spark's libsvm source names no line: read the text once more (only now) to say which and why
            Labels again = new Labels(m.kind, m.classes == null ? 0 : m.classes, allowNonFinite);
            spark.sparkContext().register(again.seen());
            throw Libsvm.explain(spark, input, width, allowNonFinite, again, e);
        }
        DistTensor x = d.tensor("features"), y = d.tensor("label");
        String note = null;
        if (plusMinusOne) {
            y = y.add(1).mul(0.5);
            note = PLUS_MINUS_ONE;
        } else if (m.classes == null && (m.kind == Model.Kind.softmax || m.kind == Model.Kind.mlp)) {
            note = k + " classes (0.." + (k - 1) + ", the largest label + 1; --classes sets it)";
        }
        Model model = m.model(x.shape()[1], k);
        return new Input(d, x, y, model, null, input, note);
    }

    /** The label column's name. */
    private String labelName() {
        return label != null ? label : noHeader ? "_c0" : "label";
    }

    /** 1-based position of each row in its partition, which is its file (see the class comment). */
    static Column positionInFile() {
        return functions.monotonically_increasing_id().bitwiseAND((1L << 33) - 1).plus(1);
    }

    // ---- Parquet -------------------------------------------------------------------------------------

    private Dataset<Row> parquet(SparkSession spark, Labels labels) {
        Dataset<Row> raw = readParquet(spark, input);
        String y = labelName();
        List<String> names = Arrays.asList(raw.columns());
        if (!names.contains(y)) {
            throw new BadDataException("Parquet " + input + " has no column '" + y + "' (columns: " + String.join(", ", names)
                    + "): name the label column with --label");
        }
        StructField yField = raw.schema().apply(y);
        if (!(yField.dataType() instanceof NumericType)) {
            throw new BadDataException("Parquet " + input + ": the label column '" + y + "' has type " + yField.dataType().simpleString() + "; it must be numeric");
        }
        Column features;
        if (names.contains("features") && !y.equals("features")) {
            features = raw.col("features");
        } else {
            // one numeric column per feature (as pandas writes them)
            List<Column> cols = new ArrayList<>();
            for (StructField f : raw.schema().fields()) {
                if (f.name().equals(y)) continue;
                if (!(f.dataType() instanceof NumericType)) {
                    throw new BadDataException("Parquet " + input + ": column '" + f.name() + "' has type " + f.dataType().simpleString()
                            + "; without a 'features' column (array<double> or ML vector), every column but the label must be numeric");
                }
                cols.add(raw.col(f.name()).cast("double"));
            }
            if (cols.isEmpty()) throw new BadDataException("Parquet " + input + " has no feature column (only '" + y + "')");
            features = functions.array(cols.toArray(new Column[0]));
        }
        UDF3<Double, String, Long, Double> check = (v, file, row) -> {
            if (v == null) throw new BadDataException("the label column '" + y + "' is empty at row " + row + " of " + file);
            labels.check(v, file, "row", row);
            return v;
        };
        Column checked = functions.udf(check, DataTypes.DoubleType).apply(
                raw.col(y).cast("double"), functions.input_file_name(), positionInFile());
        if (names.contains("features") && y.equals("label")) {
            // The labels are checked by a job of their own, which reads the label column alone; the two columns are then
            // read as the files hold them, so the library reads Spark's columnar batches (a computed column, such as the
            // check, would make it read rows). The label's own numeric type is read as a cast to double would give it.
            // The check is one aggregate; only when it finds a label to report does the row-by-row check run, to name
            // its file and row.
            if (!labels.checkedByAggregate(raw, raw.col(y))) {
                raw.select(checked).write().format("noop").mode("overwrite").save(); // Spark's sink that evaluates and drops
            }
            return raw.select(raw.col("features"), raw.col("label"));
        }
        return raw.select(features.as("features"), checked.as("label"));
    }

    /**
     * Reads Parquet with the schema Spark wrote into the first file's footer
     * ({@value #SPARK_SCHEMA_KEY}), so no schema-inference job runs. Files written by other tools (no such
     * key) go through Spark's inference, whose job ships Spark's type objects through Kryo (the library's
     * registrator registers them).
     */
    public static Dataset<Row> readParquet(SparkSession spark, String path) {
        try {
            Configuration conf = spark.sparkContext().hadoopConfiguration();
            Path first = firstFile(conf, path, ".parquet");
            if (first != null) {
                try (org.apache.parquet.hadoop.ParquetFileReader reader = org.apache.parquet.hadoop.ParquetFileReader.open(
                        org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(first, conf))) {
                    String json = reader.getFooter().getFileMetaData().getKeyValueMetaData().get(SPARK_SCHEMA_KEY);
                    if (json != null) {
                        return spark.read().schema((org.apache.spark.sql.types.StructType) org.apache.spark.sql.types.DataType.fromJson(json)).parquet(path);
                    }
                }
            }
        } catch (java.io.FileNotFoundException e) {
            throw new BadDataException("no such file or directory: " + path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Parquet footer under " + path + ": " + e.getMessage(), e);
        }
        return spark.read().parquet(path);
    }

    static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";

    /** {@code path} itself if it is a file, else its first data file by name (Spark skips names starting with _ or .). */
    private static Path firstFile(Configuration conf, String path, String suffix) throws IOException {
        Path dir = new Path(path);
        FileSystem fs = dir.getFileSystem(conf);
        if (fs.getFileStatus(dir).isFile()) return dir;
        Path first = null;
        for (FileStatus st : fs.listStatus(dir)) {
            String name = st.getPath().getName();
            if (st.isFile() && (suffix == null || name.endsWith(suffix)) && !name.startsWith("_") && !name.startsWith(".")) {
                if (first == null || name.compareTo(first.getName()) < 0) first = st.getPath();
            }
        }
        return first;
    }

    // ---- CSV and LIBSVM: lines with their file and number --------------------------------------------

    /** The input's lines as (file, 1-based line number, text), one partition per file. */
    static JavaRDD<Row> lines(SparkSession spark, String input) {
        return spark.read().text(input)
                .select(functions.input_file_name(), positionInFile(), functions.col("value"))
                .javaRDD();
    }

    private Dataset<Row> csv(SparkSession spark, Labels labels) {
        String headerLine;
        Path first;
        try {
            Configuration conf = spark.sparkContext().hadoopConfiguration();
            first = firstFile(conf, input, null);
            if (first == null) throw new BadDataException("no data files in " + input);
            try (BufferedReader r = new BufferedReader(new InputStreamReader(first.getFileSystem(conf).open(first), StandardCharsets.UTF_8))) {
                headerLine = r.readLine();
            }
        } catch (java.io.FileNotFoundException e) {
            throw new BadDataException("no such file or directory: " + input);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + input + ": " + e.getMessage(), e);
        }
        String file;
        try {
            file = first.getFileSystem(spark.sparkContext().hadoopConfiguration()).makeQualified(first).toString();
        } catch (IOException e) {
            file = first.toString();
        }
        if (headerLine == null) throw new BadDataException("CSV " + file + " is empty");
        // a byte-order mark (Excel's UTF-8 CSV) is not part of the first column's name
        String[] cells = Csv.parser().parseLine(Csv.withoutBom(headerLine));
        String[] columns = new String[cells.length];
        for (int i = 0; i < cells.length; i++) columns[i] = noHeader ? "_c" + i : cells[i] == null ? "" : cells[i].strip();
        if (!noHeader && Arrays.stream(columns).allMatch(Csv::isNumber)) {
            throw new BadDataException("CSV " + file + " line 1 (" + headerLine + ") is all numbers, not a header:"
                    + " add a header line naming the columns (e.g. f1,f2,label) or pass --no-header (columns _c0, _c1, ...)");
        }
        String y = labelName();
        int labelAt = Arrays.asList(columns).indexOf(y);
        if (labelAt < 0) {
            throw new BadDataException("CSV " + file + " has no column '" + y + "' (columns: " + String.join(", ", columns)
                    + "): name the label column with --label");
        }
        if (columns.length < 2) throw new BadDataException("CSV " + file + " has no feature column (only '" + y + "')");
        Csv csv = new Csv(columns, labelAt, noHeader ? null : headerLine, allowNonFinite, labels);
        return spark.createDataFrame(lines(spark, input).mapPartitions(csv), Synthetic.SCHEMA);
    }

    /** Parses the lines of one partition (one file) of a CSV input into (features, label) rows. */
    static final class Csv implements FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;
        private final String[] columns;
        private final int labelAt;
        private final String header;
        private final boolean allowNonFinite;
        private final Labels labels;

        Csv(String[] columns, int labelAt, String header, boolean allowNonFinite, Labels labels) {
            this.columns = columns;
            this.labelAt = labelAt;
            this.header = header;
            this.allowNonFinite = allowNonFinite;
            this.labels = labels;
        }

        static String withoutBom(String line) {
            return line.startsWith("\uFEFF") ? line.substring(1) : line;
        }

        static CsvParser parser() {
            CsvParserSettings s = new CsvParserSettings();
            s.setHeaderExtractionEnabled(false);
            s.setMaxColumns(1 << 20);
            s.setMaxCharsPerColumn(-1);
            return new CsvParser(s);
        }

        static boolean isNumber(String s) {
            try {
                parseNumber(s);
                return true;
            } catch (NumberFormatException e) {
                return false;
            }
        }

        /** A number as Java, pandas or R write it ("1.5", "1e-3", "NaN", "nan", "inf", "-Infinity"); blanks around it are fine. */
        static double parseNumber(String s) {
            if (s == null) throw new NumberFormatException("empty");
            String t = s.strip();
            switch (t.toLowerCase(java.util.Locale.ROOT)) {
                case "nan": return Double.NaN;
                case "inf": case "+inf": case "infinity": case "+infinity": return Double.POSITIVE_INFINITY;
                case "-inf": case "-infinity": return Double.NEGATIVE_INFINITY;
                default:
            }
            // Java also reads "1d", "0x1p3" and "1f": not numbers in a CSV file
            char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
            if (t.isEmpty() || !(Character.isDigit(last) || last == '.') || t.startsWith("0x") || t.startsWith("-0x")) {
                throw new NumberFormatException(t);
            }
            return Double.parseDouble(t);
        }

        @Override
        public Iterator<Row> call(Iterator<Row> lines) {
            CsvParser parser = parser();
            int n = columns.length;
            return new Iterator<>() {
                String rawFile, file;
                Row next = advance();

                private Row advance() {
                    while (lines.hasNext()) {
                        Row l = lines.next();
                        String text = l.getString(2);
                        if (!l.getString(0).equals(rawFile)) {
                            rawFile = l.getString(0);
                            file = Labels.show(rawFile);
                        }
                        long line = l.getLong(1);
                        if (line == 1) text = withoutBom(text);
                        if (line == 1 && header != null) {
                            if (!text.equals(withoutBom(header))) {
                                throw new BadDataException("CSV " + file + " line 1 (" + text + ") is not the header of the other files ("
                                        + header + "): every file needs the same header");
                            }
                            continue;
                        }
                        if (text.isBlank()) continue;
                        String[] cells = parser.parseLine(text);
                        String at = "CSV " + file + " line " + line;
                        if (cells.length > n) {
                            throw new BadDataException(at + " has " + cells.length + " cells but the header names " + n + " columns ("
                                    + String.join(", ", columns) + "): remove the extra cells, or name their columns in the header");
                        }
                        if (cells.length < n) {
                            throw new BadDataException(at + " has " + cells.length + " cells but the header names " + n + " columns: column '"
                                    + columns[cells.length] + "' is missing; fill it in or remove the row");
                        }
                        double[] x = new double[n - 1];
                        double y = 0;
                        for (int j = 0; j < n; j++) {
                            double v;
                            try {
                                v = parseNumber(cells[j]);
                            } catch (NumberFormatException e) {
                                throw new BadDataException(at + ", column '" + columns[j] + "': "
                                        + (cells[j] == null || cells[j].isBlank() ? "the cell is empty" : "'" + cells[j] + "' is not a number")
                                        + "; fix the cell or remove the row");
                            }
                            if (j == labelAt) {
                                y = v;
                                continue;
                            }
                            if (!allowNonFinite && !Double.isFinite(v)) {
                                throw new BadDataException(at + ", column '" + columns[j] + "': " + cells[j].strip()
                                        + " is not finite; pass --allow-non-finite to allow NaN and infinite values");
                            }
                            x[j < labelAt ? j : j - 1] = v;
                        }
                        labels.check(y, rawFile, "line", line);
                        return RowFactory.create(x, y);
                    }
                    return null;
                }

                @Override
                public boolean hasNext() {
                    return next != null;
                }

                @Override
                public Row next() {
                    if (next == null) throw new java.util.NoSuchElementException();
                    Row r = next;
                    next = advance();
                    return r;
                }
            };
        }
    }
}
