package dev.sparkautograd.jobs;

import dev.sparkautograd.DistData;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import picocli.CommandLine.Option;

import java.util.Arrays;

/**
 * Where gradient and train get their data: a dataset ({@code --input}, Parquet, CSV or LIBSVM) or
 * {@code --generate N} rows generated in memory exactly as the generate job writes them.
 */
public final class DataOptions {

    public enum Format { parquet, csv, libsvm }

    @Option(names = "--input", paramLabel = "PATH", description = "The data: a Parquet directory (as written by generate), a CSV or LIBSVM file or directory; any Hadoop path (file://, hdfs://, s3a://).")
    String input;

    @Option(names = "--format", paramLabel = "FMT", description = "parquet (columns features: array<double> or ML vector, label: double), csv (a header; the label column, every other column a feature) or libsvm (label index:value ..., 1-based) (default: ${DEFAULT-VALUE}).")
    Format format = Format.parquet;

    @Option(names = "--label", paramLabel = "COL", description = "The label column of a CSV file (default: ${DEFAULT-VALUE}).")
    String label = "label";

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
        return null;
    }

    /** The data as a DataFrame with columns features (array or vector) and label. */
    Dataset<Row> load(SparkSession spark, ModelOptions m) {
        Synthetic syn = synthetic(spark, m);
        if (syn != null) return syn.dataset(spark);
        switch (format) {
            case parquet:
                // One input partition per file, never split nor packed together: the partitioning (and so the
                // bits of every reduction) is the same on any cluster. generate writes one file per partition.
                spark.conf().set("spark.sql.files.maxPartitionBytes", String.valueOf(1L << 40));
                spark.conf().set("spark.sql.files.openCostInBytes", String.valueOf(1L << 40));
                return readParquet(spark, input).select("features", "label");
            case csv: {
                // every column read as a string and cast: schema inference would ship Spark's type objects through Kryo
                Dataset<Row> df = spark.read().option("header", true).csv(input);
                if (!Arrays.asList(df.columns()).contains(label)) {
                    throw new IllegalArgumentException("CSV " + input + " has no column '" + label + "' (columns: " + String.join(", ", df.columns()) + ")");
                }
                Column[] feats = Arrays.stream(df.columns()).filter(c -> !c.equals(label))
                        .map(c -> df.col(c).cast("double")).toArray(Column[]::new);
                return df.select(functions.array(feats).as("features"), df.col(label).cast("double").as("label"));
            }
            default: {
                JavaRDD<String> lines = spark.read().textFile(input).javaRDD();
                int d = m.features;
                JavaRDD<Row> rows = lines.filter(l -> !l.isBlank() && !l.startsWith("#")).map(l -> libsvmRow(l, d));
                return spark.createDataFrame(rows, Synthetic.SCHEMA);
            }
        }
    }

    /**
     * Reads Parquet with the schema Spark wrote into the first file's footer
     * ({@value #SPARK_SCHEMA_KEY}), so no schema-inference job runs: that job sends Spark's type
     * objects through Kryo, which {@code spark.kryo.registrationRequired=true} refuses. Files written
     * by other tools (no such key) fall back to Spark's inference.
     */
    public static Dataset<Row> readParquet(SparkSession spark, String path) {
        try {
            org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
            org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(path);
            org.apache.hadoop.fs.FileSystem fs = dir.getFileSystem(conf);
            org.apache.hadoop.fs.Path first = null;
            if (fs.getFileStatus(dir).isFile()) {
                first = dir;
            } else {
                for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(dir)) {
                    String name = st.getPath().getName();
                    if (st.isFile() && name.endsWith(".parquet") && !name.startsWith("_") && !name.startsWith(".")) {
                        if (first == null || name.compareTo(first.getName()) < 0) first = st.getPath();
                    }
                }
            }
            if (first != null) {
                try (org.apache.parquet.hadoop.ParquetFileReader reader = org.apache.parquet.hadoop.ParquetFileReader.open(
                        org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(first, conf))) {
                    String json = reader.getFooter().getFileMetaData().getKeyValueMetaData().get(SPARK_SCHEMA_KEY);
                    if (json != null) {
                        return spark.read().schema((org.apache.spark.sql.types.StructType) org.apache.spark.sql.types.DataType.fromJson(json)).parquet(path);
                    }
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read Parquet footer under " + path + ": " + e.getMessage(), e);
        }
        return spark.read().parquet(path);
    }

    static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";

    /** One LIBSVM line, {@code label index:value ...} (1-based indices), as a dense row of {@code d} features. */
    static Row libsvmRow(String line, int d) {
        String[] parts = line.strip().split("\\s+");
        double[] x = new double[d];
        for (int i = 1; i < parts.length; i++) {
            int colon = parts[i].indexOf(':');
            int index = Integer.parseInt(parts[i].substring(0, colon));
            if (index < 1 || index > d) {
                throw new IllegalArgumentException("LIBSVM index " + index + " outside 1.." + d + " (set --features) in line: " + line);
            }
            x[index - 1] = Double.parseDouble(parts[i].substring(colon + 1));
        }
        return RowFactory.create(x, Double.parseDouble(parts[0]));
    }

    /** The data for the model: features [N, d] and labels [N]. */
    static DistData distData(Dataset<Row> df) {
        return DistData.fromDataset(df, "features", "label");
    }

    /** The model for data whose features tensor has {@code d} columns. */
    static Model model(ModelOptions m, int d) {
        return m.model(d);
    }
}
