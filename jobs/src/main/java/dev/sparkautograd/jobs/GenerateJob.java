package dev.sparkautograd.jobs;

import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.SparseSynthetic;
import dev.sparkautograd.jobs.models.Synthetic;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** A synthetic dataset from a hidden teacher model, written as Parquet. */
@Command(name = "generate",
        description = {"Write a synthetic dataset drawn from a hidden teacher model as Parquet.",
                "",
                "Features are standard normal; labels are sampled from the teacher",
                "(logistic: 0/1, linear: the prediction plus N(0, 0.1^2) noise, softmax and",
                "mlp: a class index). Each partition draws its rows from (seed, partition",
                "index): the same seed, rows and partitions give the same files anywhere.",
                "One Parquet file per partition; the teacher's parameters go to",
                "_teacher.npy in the same directory. Refuses to start when the output's",
                "file system has less free space than the data need; prints a line per",
                "file written (per 1%% of the files above 100)."})
public final class GenerateJob extends SparkJob {

    /**
     * Parquet row groups of 32 MB instead of 128: a reader holds a whole row group's column chunk (for an array
     * column, all of its values), so this bounds what each task holds while reading the files back.
     */
    static final long ROW_GROUP_BYTES = 32L << 20;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Option(names = "--rows", paramLabel = "N", description = "Rows (default: ${DEFAULT-VALUE}).")
    long rows = 1_000_000;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the data and the teacher (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--partitions", paramLabel = "P", description = "Partitions, one file each (default: Spark's default parallelism).")
    int partitions = 0;

    @Option(names = "--output", paramLabel = "PATH", required = true, description = "The Parquet directory (any Hadoop path: file://, hdfs://, s3a://).")
    String output;

    @Option(names = "--correlation", paramLabel = "RHO", description = "AR(1) features: correlation RHO between neighbouring features, in (-1, 1) (default: ${DEFAULT-VALUE}, independent).")
    double correlation = 0;

    @Option(names = "--overwrite", description = "Replace an existing output directory.")
    boolean overwrite;

    @Option(names = "--sparse", description = "Hashed-feature data instead (models.SparseSynthetic): --nnz active features of --features per row"
            + " as a SparseVector column 'features' and their ids in 'ids', labels from a sparse logistic teacher.")
    boolean sparse;

    @Option(names = "--nnz", paramLabel = "K", description = "Active features per row of --sparse data (default: ${DEFAULT-VALUE}).")
    int nnz = 30;

    @Override
    protected void validate() {
        if (rows < 1) throw badOption("--rows must be positive, got " + rows);
        if (partitions < 0) throw badOption("--partitions must not be negative, got " + partitions);
        if (!(correlation > -1 && correlation < 1)) throw badOption("--correlation must be in (-1, 1), got " + correlation);
        if (sparse && (nnz < 1 || nnz > modelOptions.features)) throw badOption("--nnz must be in [1, --features = " + modelOptions.features + "], got " + nnz);
        try {
            modelOptions.model(modelOptions.features);
        } catch (IllegalArgumentException e) {
            throw badOption(e.getMessage());
        }
    }

    /**
     * Refuses to start when the output's file system has less free space than the data will take: Parquet of
     * random doubles hardly compresses, so 8 bytes per value plus 5% (footers, page headers).
     */
    private void checkSpace(SparkSession spark, Model model) throws java.io.IOException {
        double bytes = 8.0 * rows * (model.features() + 1) * 1.05;
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(output);
        org.apache.hadoop.fs.FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
        org.apache.hadoop.fs.Path existing = fs.makeQualified(p);
        while (existing.getParent() != null && !fs.exists(existing)) existing = existing.getParent();
        long free;
        try {
            free = fs.getStatus(existing).getRemaining();
        } catch (UnsupportedOperationException | java.io.IOException e) {
            return; // a store that does not say (s3a): nothing to check
        }
        if (free > 0 && bytes > free) {
            throw new IllegalStateException(String.format("%d rows of %d features take about %s, but %s has only %s free:"
                    + " lower --rows or write to another --output", rows, model.features(), size(bytes), existing, size(free)));
        }
    }

    static String size(double bytes) {
        String[] units = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
        int u = 0;
        while (bytes >= 1000 && u < units.length - 1) { bytes /= 1000; u++; }
        return String.format("%.1f %s", bytes, units[u]);
    }

    /**
     * A session (the same SparkContext) whose Parquet writer stores a non-null array as Parquet's two-level list
     * ({@code repeated double array} in the list group: Spark's {@code spark.sql.parquet.writeLegacyFormat}), which
     * readers (Spark's vectorized one included) read as the same {@code array<double>}. Spark's standard three-level
     * list wraps every element in a group of its own, and parquet-mr's record consumer starts and ends that group
     * per value (its field bookkeeping: {@code startGroup}, {@code endGroup}, {@code FieldsMarker.reset},
     * {@code BitSet.clear}, {@code writeNullForMissingFieldsAtCurrentLevel}, about 10% of the CPU samples of a JFR
     * profile of {@code generate}); two-level, each value is one {@code addDouble}. A/B timings on the shared 2-core
     * machine (load 20-30) were inconclusive: CPU seconds beyond a write to Spark's {@code noop} format, per
     * 400,000 x 100 rows, 2.5 against 10 in one run and no difference in the next. The dense data are now written
     * without Spark's row writer ({@link dev.sparkautograd.jobs.models.SyntheticParquet}, the same two-level files);
     * {@code --sparse} still goes through this session.
     */
    static SparkSession twoLevelLists(SparkSession spark) {
        SparkSession s = spark.newSession();
        s.conf().set("spark.sql.parquet.writeLegacyFormat", "true");
        return s;
    }

    /** One line on stdout each time a partition's file is written: how many, elapsed, ETA. */
    static final class WriteProgress extends org.apache.spark.scheduler.SparkListener {
        private final PrintWriter out;
        private final int partitions;
        private final long start;
        private int done;

        WriteProgress(PrintWriter out, int partitions, long start) {
            this.out = out;
            this.partitions = partitions;
            this.start = start;
        }

        @Override
        public synchronized void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) {
            if (!end.taskInfo().successful() || done >= partitions) return;
            done++;
            double elapsed = (System.nanoTime() - start) / 1e9;
            if (partitions > 100 && done % (partitions / 100) != 0 && done != partitions) return;
            out.printf("written:  %d of %d files (%.0f%%), elapsed %.1f s, ETA %.0f s%n", done, partitions,
                    100.0 * done / partitions, elapsed, elapsed / done * (partitions - done));
            out.flush();
        }
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        int parts = partitions > 0 ? partitions : spark.sparkContext().defaultParallelism();
        if (sparse) return runSparse(spark, out, parts);
        Model model = modelOptions.model(modelOptions.features);
        Synthetic syn = new Synthetic(model, rows, parts, seed).withCorrelation(correlation);
        claimOutput(spark, output, overwrite);
        checkSpace(spark, model);
        long start = System.nanoTime();
        describe(spark, modelOptions.kind + ": writing " + rows + " rows");
        WriteProgress progress = new WriteProgress(out, parts, start);
        spark.sparkContext().addSparkListener(progress);
        try {
            // Spark's files without Spark's row writer: uncompressed (snappy saved 1.4% of the size of random doubles)
            // and without a dictionary (they do not repeat), row groups of ROW_GROUP_BYTES
            dev.sparkautograd.jobs.models.SyntheticParquet.write(spark, syn, output, ROW_GROUP_BYTES);
        } finally {
            spark.sparkContext().listenerBus().waitUntilEmpty(); // the last task's line before the summary
            spark.sparkContext().removeSparkListener(progress);
            spark.sparkContext().setJobDescription(null);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double[] teacher = syn.teacher();
        String teacherFile = HadoopFiles.write(spark, HadoopFiles.child(output, "_teacher.npy"),
                o -> Npy.write(o, teacher, teacher.length));
        out.printf("model:    %s (%d parameters)%n", model.describe(), model.size());
        out.printf("rows:     %d in %d partitions (seed %d)%n", rows, parts, seed);
        if (correlation != 0) out.printf("features: AR(1), correlation %s, covariance condition number %.4g%n", correlation,
                dev.sparkautograd.jobs.models.CorrelatedFeatures.conditionNumber(correlation, model.features()));
        out.printf("time:     %.1f s (%,.0f rows/s)%n", seconds, rows / seconds);
        out.printf("data:     %s%n", HadoopFiles.qualify(spark, output));
        out.printf("teacher:  %s%n", teacherFile);
        out.flush();
        return 0;
    }

    /** {@code --sparse}: hashed-feature rows from a sparse logistic teacher ({@link SparseSynthetic}). */
    private int runSparse(SparkSession spark, PrintWriter out, int parts) throws Exception {
        SparseSynthetic syn = new SparseSynthetic(modelOptions.features, nnz, rows, parts, seed);
        claimOutput(spark, output, overwrite);
        long start = System.nanoTime();
        describe(spark, "sparse: writing " + rows + " rows");
        try {
            syn.dataset(twoLevelLists(spark)).write().mode(SaveMode.ErrorIfExists).parquet(output);
        } finally {
            spark.sparkContext().setJobDescription(null);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double[] teacher = syn.teacher();
        String teacherFile = HadoopFiles.write(spark, HadoopFiles.child(output, "_teacher.npy"), o -> Npy.write(o, teacher, teacher.length));
        out.printf("model:    sparse logistic teacher, %d features, %d active per row (%d parameters)%n", syn.features(), syn.nnz(), teacher.length);
        out.printf("rows:     %d in %d partitions (seed %d)%n", rows, parts, seed);
        out.printf("time:     %.1f s (%,.0f rows/s)%n", seconds, rows / seconds);
        out.printf("data:     %s (features: SparseVector, ids: array<double>, label)%n", HadoopFiles.qualify(spark, output));
        out.printf("teacher:  %s%n", teacherFile);
        out.flush();
        return 0;
    }
}
