package dev.sparkautograd.jobs;

import dev.ludovic.netlib.blas.BLAS;
import dev.sparkautograd.DistData;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.jobs.bench.Bandwidth;
import dev.sparkautograd.jobs.bench.Dgemm;
import dev.sparkautograd.jobs.bench.Machine;
import dev.sparkautograd.jobs.bench.Logistic;
import dev.sparkautograd.jobs.bench.Mlp;
import dev.sparkautograd.jobs.bench.SparseLogistic;
import dev.sparkautograd.jobs.bench.StepOverhead;
import dev.sparkautograd.jobs.bench.Scan;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Side-by-side timings of spark-autograd against hand-written gradients, in one run on the same cached
 * data: the logistic loss+gradient (autograd, MLlib's BinaryLogisticBlockAggregator, a hand-written Java
 * pass), a 2-layer MLP gradient (autograd, a hand-written backward with the same BLAS), and the
 * machine's streaming read bandwidth. Implementations are measured interleaved (A B C, B C A, C A B, ...: each round starts one later) after
 * warm-up; the table gives the median per implementation and the ratio to the baseline. The gradients of
 * the first warm-up call are compared, so the timings are of equal work.
 */
@Command(name = "bench",
        description = {"Time autograd gradients against MLlib's and hand-written ones, side by side.",
                "",
                "Builds and caches the data once, then measures the implementations interleaved",
                "(A B C, B C A, ...) after warm-up and prints the median of each with ratios:",
                "  logistic loss+gradient: spark-autograd, MLlib's BinaryLogisticBlockAggregator",
                "    (as RDDLossFunction runs it), a hand-written Java one-pass block loop, and",
                "    spark-autograd with its fusions off (spark.autograd.fuseMatmul and",
                "    spark.autograd.fusePointwise false: every op an engine node);",
                "  MLP (features -> hidden tanh -> 1, squared loss) gradient: spark-autograd and a",
                "    hand-written backward with the same BLAS;",
                "  the streaming read bandwidth of a multi-threaded Java sum over a large array;",
                "  the machine's DGEMM rate (one thread per task slot), beside which the MLP rows",
                "    give their FLOP/s;",
                "  step overhead: loss+gradient on 4 partitions of 10 rows: spark-autograd, MLlib's",
                "    way and a bare treeAggregate of the same blocks (the floor).",
                "  float32 blocks (--no-float32 skips them): the logistic and MLP gradients over a",
                "    float32 copy of the data against float64 and MLlib;",
                "Fails (exit 1) if the implementations' gradients differ by more than 1e-9 (relative;",
                "float32 rows against float64: 1e-6)."})
public final class BenchJob extends SparkJob {

    @Option(names = "--rows", paramLabel = "N", description = "Rows of the logistic data (default: ${DEFAULT-VALUE}).")
    long rows = 2_000_000;

    @Option(names = "--features", paramLabel = "D", description = "Features (default: ${DEFAULT-VALUE}).")
    int features = 100;

    @Option(names = "--partitions", paramLabel = "P", description = "Partitions (default: 2 x Spark's default parallelism).")
    int partitions = 0;

    @Option(names = "--block-rows", paramLabel = "R",
            description = "Rows per block (default: blocks of about 1 MB, as MLlib's InstanceBlock).")
    int blockRows = 0;

    @Option(names = "--rounds", paramLabel = "K", description = "Measured rounds; the median is reported (default: ${DEFAULT-VALUE}).")
    int rounds = 5;

    @Option(names = "--warmup", paramLabel = "W", description = "Warm-up rounds, not measured (default: ${DEFAULT-VALUE}).")
    int warmup = 2;

    @Option(names = "--mlp-rows", paramLabel = "N", description = "Rows of the MLP data; 0 skips the MLP (default: ${DEFAULT-VALUE}).")
    long mlpRows = 1_000_000;

    @Option(names = "--hidden", paramLabel = "H", description = "Hidden units of the MLP (default: ${DEFAULT-VALUE}).")
    int hidden = 256;

    @Option(names = "--sparse-rows", paramLabel = "N", description = "Rows of the sparse-logistic data (hashed features); 0 skips it (default: ${DEFAULT-VALUE}).")
    long sparseRows = 500_000;

    @Option(names = "--sparse-features", paramLabel = "D", description = "Width of the sparse-logistic data (default: ${DEFAULT-VALUE}).")
    int sparseFeatures = 1 << 20;

    @Option(names = "--sparse-nnz", paramLabel = "K", description = "Non-zeros per row of the sparse-logistic data (default: ${DEFAULT-VALUE}).")
    int sparseNnz = 30;

    @Option(names = "--bandwidth-mb", paramLabel = "MB",
            description = "Array size for the read-bandwidth measurement; 0 skips it (default: ${DEFAULT-VALUE}).")
    int bandwidthMb = 1024;

    @Option(names = "--dgemm-n", paramLabel = "N",
            description = "Size of the square DGEMM that measures the machine's rate, one per task slot; 0 skips it (default: ${DEFAULT-VALUE}).")
    int dgemmN = 1024;

    @Option(names = "--step-rounds", paramLabel = "K",
            description = "Measured rounds of the step-overhead row (4 partitions of 10 rows); 0 skips it (default: ${DEFAULT-VALUE}).")
    int stepRounds = 30;

    @Option(names = "--scan-rows", paramLabel = "N",
            description = "Rows of the uncached-Parquet benchmark (a temporary Parquet directory read by Spark SQL and by the library); 0 skips it (default: ${DEFAULT-VALUE}).")
    long scanRows = 200_000;

    @Option(names = "--seed", description = "Seed of the data and parameters (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--float32", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Also time the logistic and MLP gradients over float32 blocks (DistData.Dtype.FLOAT32, --dtype float32)"
                    + " against float64 and MLlib, on a float32 copy of the same data cached beside it; --no-float32 skips them (default: on).")
    boolean float32 = true;

    @Option(names = "--json", description = "Print the results as one JSON object instead of the table.")
    boolean json;

    /** Relative (max-norm) gradient difference above which the job fails. */
    public static final double AGREEMENT = 1e-9;

    /**
     * The same for an implementation over float32 blocks against float64 on the original data. Each feature is
     * rounded to float once (relative error u <= 2^-24 = 6.0e-8, of random sign on data not on a binary grid); the
     * logistic gradient {@code mean((s(m) - y) x)} then moves by at most {@code u (|w|_1 / 4 + 1)} an entry if every
     * rounding were aligned, but random-sign errors average down as {@code 1/sqrt(rows)}: about
     * {@code u / sqrt(rows)} relative, 1e-9 for the tests' 1,500-3,000 rows, measured 3e-11 (logistic) and 1e-10 (MLP)
     * on the bench's 500,000 and 200,000 rows. 1e-6 leaves a margin of ~1000 over that and still fails a lost or
     * doubled block (~1/blocks), a wrong row or a float32 rounding of the accumulators (~1e-7 per sum, growing).
     */
    public static final double FLOAT32_AGREEMENT = 1e-6;

    @Override
    protected void validate() {
        if (rows < 1) throw badOption("--rows must be at least 1, got " + rows);
        if (features < 1) throw badOption("--features must be at least 1, got " + features);
        if (partitions < 0) throw badOption("--partitions must not be negative, got " + partitions);
        if (blockRows < 0) throw badOption("--block-rows must not be negative, got " + blockRows);
        if (rounds < 1) throw badOption("--rounds must be at least 1, got " + rounds);
        if (warmup < 1) throw badOption("--warmup must be at least 1 (its first call checks the gradients), got " + warmup);
        if (mlpRows < 0) throw badOption("--mlp-rows must not be negative, got " + mlpRows);
        if (sparseRows < 0 || sparseFeatures < 1 || sparseNnz < 1 || sparseNnz > sparseFeatures) {
            throw badOption("--sparse-rows must not be negative and --sparse-nnz must be in [1, --sparse-features], got "
                    + sparseRows + ", " + sparseNnz + " and " + sparseFeatures);
        }
        if (hidden < 1) throw badOption("--hidden must be at least 1, got " + hidden);
        if (bandwidthMb < 0) throw badOption("--bandwidth-mb must not be negative, got " + bandwidthMb);
        if (dgemmN < 0) throw badOption("--dgemm-n must not be negative, got " + dgemmN);
        if (stepRounds < 0) throw badOption("--step-rounds must not be negative, got " + stepRounds);
        if (scanRows < 0) throw badOption("--scan-rows must not be negative, got " + scanRows);
    }

    // ---- results ---------------------------------------------------------------------------------

    /** One implementation's timings. */
    public static final class Timing {
        public final String name;
        public final double[] seconds;
        /** Sum of the tasks' executorRunTime per call, seconds. */
        public final double[] taskSeconds;
        /** The gradient of its first (warm-up) call: [loss, gradient...]. */
        public double[] result;
        /** Max-norm relative difference of {@link #result} from the group's reference. */
        public double difference;
        /** The largest {@link #difference} that agrees ({@link #AGREEMENT}, or {@link #FLOAT32_AGREEMENT} for float32 rows). */
        public double tolerance = AGREEMENT;

        Timing(String name, int rounds) {
            this.name = name;
            this.seconds = new double[rounds];
            this.taskSeconds = new double[rounds];
        }

        public double median() {
            return BenchJob.median(seconds);
        }

        public double medianTaskSeconds() {
            return BenchJob.median(taskSeconds);
        }
    }

    /** One benchmark: its implementations, the first being the reference of the ratios. */
    public static final class Group {
        public final String title;
        public final String key;
        public final long bytes;
        public final List<Timing> timings = new ArrayList<>();
        public final Timing reference;
        /** Floating-point operations of one call (0: not a FLOP-bound benchmark); the rows then report FLOP/s. */
        public double flops;

        Group(String key, String title, long bytes, int referenceIndex, List<String> names, int rounds) {
            this.key = key;
            this.title = title;
            this.bytes = bytes;
            for (String n : names) timings.add(new Timing(n, rounds));
            this.reference = timings.get(referenceIndex);
        }

        public Timing timing(String name) {
            return timings.stream().filter(t -> t.name.equals(name)).findFirst().orElseThrow();
        }
    }

    /** What one run measured. */
    public static final class Report {
        public String master;
        public int slots;
        public int partitions;
        public int cores;
        public double loadBefore;
        public double loadAfter;
        public String blas;
        public String blasLibrary;
        public String cpu;
        /** The machine's DGEMM rate over all task slots (FLOP/s), 0 when skipped. */
        public double dgemmFlopsPerSecond;
        public double bandwidth; // bytes / s, 0 when skipped
        public long bandwidthBytes;
        public final List<Group> groups = new ArrayList<>();

        public Group group(String key) {
            return groups.stream().filter(g -> g.key.equals(key)).findFirst().orElseThrow();
        }

        public boolean agree() {
            return groups.stream().allMatch(g -> g.timings.stream().allMatch(t -> t.difference <= t.tolerance));
        }
    }

    // ---- running ---------------------------------------------------------------------------------

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        Report report = measure(spark);
        if (json) out.println(toJson(report));
        else printTable(report, out);
        out.flush();
        return report.agree() ? 0 : 1;
    }

    /** Runs every benchmark and returns the figures. */
    public Report measure(SparkSession spark) throws Exception {
        SparkContext sc = spark.sparkContext();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
        Report r = new Report();
        r.master = sc.master();
        r.slots = jsc.defaultParallelism();
        r.partitions = partitions > 0 ? partitions : 2 * jsc.defaultParallelism();
        r.cores = Runtime.getRuntime().availableProcessors();
        r.loadBefore = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        r.blas = BLAS.getInstance().getClass().getName();
        r.blasLibrary = Machine.nativeBlasLibrary();
        r.cpu = Machine.cpu();
        if (dgemmN > 0) {
            try (Dgemm dg = new Dgemm(dgemmN, r.slots)) {
                r.dgemmFlopsPerSecond = dg.flopsPerSecond(warmup, Math.max(5, rounds));
            }
        }

        if (bandwidthMb > 0) {
            try (Bandwidth bw = new Bandwidth((long) bandwidthMb << 20, r.cores)) {
                for (int i = 0; i < warmup; i++) bw.readOnce();
                double[] t = new double[Math.max(5, rounds)];
                for (int i = 0; i < t.length; i++) t[i] = bw.readOnce();
                r.bandwidthBytes = bw.bytes();
                r.bandwidth = bw.bytes() / median(t);
            }
        }

        TaskTime taskTime = new TaskTime();
        sc.addSparkListener(taskTime);
        try {
            // 1. logistic loss + gradient
            DistData data = data(spark, rows, r.partitions, seed);
            try {
                double[] coef = Tensor.randn(seed + 1, features + 1).mul(0.1).toArray();
                Group g = new Group("logistic", String.format(Locale.ROOT, "Logistic loss+gradient, %,d x %d float64", rows, features),
                        rows * (features + 1) * 8L, 1, List.of("spark-autograd", "MLlib", "hand-written", "autograd unfused", "autograd one-read"), rounds);
                r.groups.add(g);
                interleave(sc, taskTime, g, List.of(
                        () -> Logistic.autograd(data, coef),
                        () -> Logistic.mllib(jsc, data, coef),
                        () -> Logistic.handwritten(jsc, data, coef),
                        () -> Logistic.autograd(data, coef, false),
                        () -> Logistic.autogradOneRead(data, coef)));
                if (float32) logisticFloat32(spark, r, taskTime, data, coef);
            } finally {
                data.unpersist();
            }
            // 2. MLP gradient
            if (mlpRows > 0) {
                DistData mlpData = data(spark, mlpRows, r.partitions, seed + 2);
                try {
                    double[] params = Mlp.init(features, hidden, seed + 3);
                    Group g = new Group("mlp", String.format(Locale.ROOT, "MLP %d -> %d tanh -> 1, squared loss, gradient, %,d rows",
                            features, hidden, mlpRows), mlpRows * (features + 1) * 8L, 1,
                            List.of("spark-autograd", "hand-written"), rounds);
                    g.flops = Mlp.flops(mlpRows, features, hidden);
                    r.groups.add(g);
                    interleave(sc, taskTime, g, List.of(
                            () -> Mlp.autograd(mlpData, params, hidden),
                            () -> Mlp.handwritten(jsc, mlpData, params, hidden)));
                    if (float32) mlpFloat32(spark, r, taskTime, mlpData, params);
                } finally {
                    mlpData.unpersist();
                }
            }
            // 3. sparse logistic loss + gradient (bench.SparseLogistic): spark-autograd's CSR blocks vs MLlib's sparse InstanceBlocks
            if (sparseRows > 0) {
                try (SparseLogistic sl = new SparseLogistic(spark, sparseRows, sparseFeatures, sparseNnz, r.partitions, seed + 4)) {
                    Group g = new Group("sparse-logistic", String.format(Locale.ROOT, "Sparse logistic loss+gradient, %,d x %d, %d non-zeros a row;"
                                    + " cached: spark-autograd %.1f MB, MLlib %.1f MB", sparseRows, sparseFeatures, sparseNnz,
                            sl.autogradCachedBytes() / 1e6, sl.mllibCachedBytes() / 1e6), sparseRows * sparseNnz * 12L, 1,
                            List.of("spark-autograd", "MLlib"), rounds);
                    r.groups.add(g);
                    interleave(sc, taskTime, g, List.of(sl::autograd, sl::mllib));
                }
            }
            // 4. the fixed cost of a step
            if (stepRounds > 0) {
                DistData tiny = data(spark, StepOverhead.ROWS, StepOverhead.PARTITIONS, seed + 4);
                try {
                    double[] coef = Tensor.randn(seed + 5, features + 1).mul(0.1).toArray();
                    Group g = new Group("step-overhead", String.format(Locale.ROOT,
                            "Step overhead: logistic loss+gradient, %d rows x %d in %d partitions", StepOverhead.ROWS, features,
                            StepOverhead.PARTITIONS), StepOverhead.ROWS * (features + 1) * 8L, 2,
                            List.of("spark-autograd", "MLlib", "treeAggregate"), stepRounds);
                    r.groups.add(g);
                    interleave(sc, taskTime, g, List.of(
                            () -> Logistic.autograd(tiny, coef),
                            () -> Logistic.mllib(jsc, tiny, coef),
                            () -> StepOverhead.treeAggregate(tiny, coef)));
                } finally {
                    tiny.unpersist();
                }
            }
            // 5. reading Parquet that is not cached
            if (scanRows > 0) scan(spark, r, taskTime);
        } finally {
            sc.removeSparkListener(taskTime);
        }
        r.loadAfter = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return r;
    }

    /**
     * The logistic rows over float32 blocks: a float32 copy of {@code f64}'s data cached beside it, spark-autograd on
     * it against spark-autograd on float64 (the reference), MLlib (float64: its InstanceBlocks hold doubles) and the
     * hand-written pass reading the floats. float32 rows agree to {@link #FLOAT32_AGREEMENT}.
     */
    private void logisticFloat32(SparkSession spark, Report r, TaskTime taskTime, DistData f64, double[] coef) throws Exception {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        DistData f32 = data(spark, rows, r.partitions, seed, DistData.Dtype.FLOAT32);
        try {
            Group g = new Group("logistic-float32", String.format(Locale.ROOT, "Logistic loss+gradient, %,d x %d, float32 blocks vs float64 (autograd: spark-autograd)",
                    rows, features), rows * (features * 4L + 8), 1,
                    List.of("autograd f32", "autograd f64", "MLlib", "hand-written f32"), rounds);
            g.timing("autograd f32").tolerance = FLOAT32_AGREEMENT;
            g.timing("hand-written f32").tolerance = FLOAT32_AGREEMENT;
            r.groups.add(g);
            interleave(spark.sparkContext(), taskTime, g, List.of(
                    () -> Logistic.autograd(f32, coef),
                    () -> Logistic.autograd(f64, coef),
                    () -> Logistic.mllib(jsc, f64, coef),
                    () -> Logistic.handwrittenFloat32(jsc, f32, coef)));
        } finally {
            f32.unpersist();
        }
    }

    /** The MLP rows over float32 blocks: spark-autograd on a float32 copy of the data against float64 (the reference) and the hand-written backward. */
    private void mlpFloat32(SparkSession spark, Report r, TaskTime taskTime, DistData f64, double[] params) throws Exception {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        DistData f32 = data(spark, mlpRows, r.partitions, seed + 2, DistData.Dtype.FLOAT32);
        try {
            Group g = new Group("mlp-float32", String.format(Locale.ROOT, "MLP %d -> %d tanh -> 1, gradient, %,d rows, float32 blocks vs float64 (autograd: spark-autograd)",
                    features, hidden, mlpRows), mlpRows * (features * 4L + 8), 1,
                    List.of("autograd f32", "autograd f64", "hand-written"), rounds);
            g.flops = Mlp.flops(mlpRows, features, hidden);
            g.timing("autograd f32").tolerance = FLOAT32_AGREEMENT;
            r.groups.add(g);
            interleave(spark.sparkContext(), taskTime, g, List.of(
                    () -> Mlp.autograd(f32, params, hidden),
                    () -> Mlp.autograd(f64, params, hidden),
                    () -> Mlp.handwritten(jsc, f64, params, hidden)));
        } finally {
            f32.unpersist();
        }
    }

    /** Cached data: {@code features} [n, d] uniform in [-1, 1] (steps of 0.001) and a 0/1 {@code label}. */
    private DistData data(SparkSession spark, long n, int parts, long dataSeed) {
        return data(spark, n, parts, dataSeed, DistData.Dtype.FLOAT64);
    }

    private DistData data(SparkSession spark, long n, int parts, long dataSeed, DistData.Dtype dtype) {
        Dataset<Row> df = dataFrame(spark, n, parts, dataSeed);
        DistData.Options options = DistData.options().storageLevel(StorageLevel.MEMORY_ONLY()).dtype(dtype);
        if (blockRows > 0) options.blockRows(blockRows);
        DistData data = DistData.fromDataset(df, options, "features", "label");
        data.blocks().count(); // materialize the cache outside the measurements
        return data;
    }

    private Dataset<Row> dataFrame(SparkSession spark, long n, int parts, long dataSeed) {
        return spark.range(0, n, 1, parts).selectExpr(
                String.format(Locale.ROOT, "transform(sequence(0, %d), i -> CAST(pmod(hash(id, i, %dL), 2001) - 1000 AS DOUBLE) / 1000) AS features",
                        features - 1, dataSeed),
                String.format(Locale.ROOT, "CAST(pmod(hash(id, %dL), 2) AS DOUBLE) AS label", dataSeed));
    }

    /**
     * A gradient over a Parquet directory that is not cached (each call reads and decodes the files again), against
     * Spark SQL's bare scan of the same columns summing every value (the decoding floor) and the library's own scan
     * of them (the same sum through its blocks). The two sums must agree; the gradient must agree with the one over
     * the same rows cached in memory. The group's bytes are the Parquet files' size, so GB/s is of Parquet.
     */
    private void scan(SparkSession spark, Report r, TaskTime taskTime) throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("spark-autograd-bench-scan");
        String path = dir.resolve("data").toUri().toString();
        try {
            double[] coef = Tensor.randn(seed + 5, features + 1).mul(0.1).toArray();
            double[] inMemory;
            DistData cached = data(spark, scanRows, r.partitions, seed + 4);
            try {
                inMemory = Logistic.autograd(cached, coef);
            } finally {
                cached.unpersist();
            }
            Scan.write(dataFrame(spark, scanRows, r.partitions, seed + 4), path);
            long bytes;
            try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(dir.resolve("data"))) {
                bytes = files.filter(f -> f.getFileName().toString().endsWith(".parquet")).mapToLong(f -> f.toFile().length()).sum();
            }
            DistData.Options options = DistData.options();
            if (blockRows > 0) options.blockRows(blockRows);
            DistData uncached = DistData.fromDataset(spark.read().parquet(path), options, "features", "label");
            Group g = new Group("scan", String.format(Locale.ROOT, "Parquet, not cached: %,d x %d float64 (%.1f MB of Parquet; GB/s of Parquet)",
                    scanRows, features, bytes / 1e6), bytes, 0, List.of("Spark columnar scan", "Spark SQL scan", "autograd scan", "autograd gradient"), rounds);
            r.groups.add(g);
            interleave(spark.sparkContext(), taskTime, g, List.of(
                    () -> Scan.columnar(spark, path),
                    () -> Scan.sql(spark, path),
                    () -> Scan.autograd(uncached),
                    () -> Logistic.autograd(uncached, coef)));
            Timing gradient = g.timing("autograd gradient");
            gradient.difference = relativeDifference(gradient.result, inMemory);
        } finally {
            try (java.util.stream.Stream<java.nio.file.Path> all = java.nio.file.Files.walk(dir)) {
                for (java.nio.file.Path f : all.sorted(java.util.Comparator.reverseOrder()).toList()) java.nio.file.Files.deleteIfExists(f);
            }
        }
    }

    private void interleave(SparkContext sc, TaskTime taskTime, Group g, List<Callable<double[]>> impls) throws Exception {
        for (int w = 0; w < warmup; w++) {
            for (int i = 0; i < impls.size(); i++) {
                double[] res = impls.get(i).call();
                if (w == 0) g.timings.get(i).result = res;
            }
        }
        for (Timing t : g.timings) t.difference = relativeDifference(t.result, g.reference.result);
        int measured = g.reference.seconds.length;
        for (int k = 0; k < measured; k++) {
            // Round k starts with implementation k mod n (A B C, B C A, C A B, ...): no one always runs first.
            for (int j = 0; j < impls.size(); j++) {
                int i = (j + k) % impls.size();
                sc.listenerBus().waitUntilEmpty();
                long task0 = taskTime.nanos.get();
                long t0 = System.nanoTime();
                impls.get(i).call();
                long t1 = System.nanoTime();
                sc.listenerBus().waitUntilEmpty();
                g.timings.get(i).seconds[k] = (t1 - t0) / 1e9;
                g.timings.get(i).taskSeconds[k] = (taskTime.nanos.get() - task0) / 1e9;
            }
        }
    }

    /** Sums the executorRunTime of finished tasks. */
    static final class TaskTime extends SparkListener {
        final AtomicLong nanos = new AtomicLong();

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            if (end.taskMetrics() != null) nanos.addAndGet(end.taskMetrics().executorRunTime() * 1_000_000L);
        }
    }

    /** max |a - b| / max |b| over the loss and every gradient entry. */
    public static double relativeDifference(double[] a, double[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return scale == 0 ? diff : diff / scale;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    // ---- output ----------------------------------------------------------------------------------

    private void printTable(Report r, PrintWriter out) {
        out.printf(Locale.ROOT, "spark-autograd bench: master %s (%d task slots), %d partitions, %s, median of %d rounds after %d warm-up, interleaved, rotated%n",
                r.master, r.slots, r.partitions, blockRows > 0 ? "blocks of " + blockRows + " rows" : "blocks of ~1 MB",
                rounds, warmup);
        out.printf(Locale.ROOT, "machine: %s, %d cores, load average %.2f before / %.2f after, Java %s, BLAS %s (native: %s)%n",
                r.cpu, r.cores, r.loadBefore, r.loadAfter, System.getProperty("java.version"), r.blas, r.blasLibrary);
        if (r.dgemmFlopsPerSecond > 0) {
            out.printf(Locale.ROOT, "DGEMM: %.1f GFLOP/s (%d threads, one per task slot, each multiplying %d x %d matrices, median)%n",
                    r.dgemmFlopsPerSecond / 1e9, r.slots, dgemmN, dgemmN);
        }
        if (r.bandwidth > 0) {
            out.printf(Locale.ROOT, "read bandwidth: %.1f GB/s (%d threads summing a %d MB array, median)%n",
                    r.bandwidth / 1e9, r.cores, r.bandwidthBytes >> 20);
        }
        for (Group g : r.groups) {
            out.println();
            out.printf(Locale.ROOT, "%s (%.2f GB of data)%n", g.title, g.bytes / 1e9);
            out.printf(Locale.ROOT, "| %-16s | %8s | %8s | %8s | %9s | %8s | %9s | %10s | %9s | %10s |%n",
                    "implementation", "median s", "min s", "max s", "vs " + g.reference.name.replace("hand-written", "hand").replace("treeAggregate", "bare"),
                    "GB/s", "of bandw.", "tasks s/sl", "outside s", "grad diff");
            out.printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%n", "-".repeat(18), "-".repeat(10), "-".repeat(10), "-".repeat(10),
                    "-".repeat(11), "-".repeat(10), "-".repeat(11), "-".repeat(12), "-".repeat(11), "-".repeat(12));
            for (Timing t : g.timings) {
                double med = t.median();
                double perSlot = t.medianTaskSeconds() / r.slots;
                out.printf(Locale.ROOT, "| %-16s | %8.3f | %8.3f | %8.3f | %8.2fx | %8.2f | %8s | %10.3f | %9.3f | %10.1e |%n",
                        t.name, med, Arrays.stream(t.seconds).min().orElse(0), Arrays.stream(t.seconds).max().orElse(0),
                        med / g.reference.median(), g.bytes / med / 1e9,
                        r.bandwidth > 0 ? String.format(Locale.ROOT, "%.0f%%", 100 * g.bytes / med / r.bandwidth) : "-",
                        perSlot, med - perSlot, t.difference);
            }
            if (g.flops > 0) {
                for (Timing t : g.timings) {
                    out.printf(Locale.ROOT, "  %s: %.1f GFLOP/s%s%n", t.name, g.flops / t.median() / 1e9, r.dgemmFlopsPerSecond > 0
                            ? String.format(Locale.ROOT, " (%.0f%% of DGEMM)", 100 * g.flops / t.median() / r.dgemmFlopsPerSecond) : "");
                }
                out.printf(Locale.ROOT, "  (%.3g FLOP per gradient: %s)%n", g.flops, Mlp.FLOP_FORMULA);
            }
        }
        out.println();
        out.println("tasks s/sl: the tasks' executorRunTime summed, per task slot (kernel time); outside s: median minus that");
        out.println("(scheduling, broadcast, result reduce, driver). grad diff: max |g - g_ref| / max |g_ref| over loss and gradient.");
        out.println(r.agree() ? "gradients agree (relative difference <= 1e-9; float32 rows against float64: <= 1e-6)"
                : "GRADIENTS DIFFER (relative difference > 1e-9; float32 rows against float64: > 1e-6)");
    }

    static String toJson(Report r) {
        StringBuilder s = new StringBuilder("{");
        s.append("\"master\":").append(str(r.master))
                .append(",\"taskSlots\":").append(r.slots)
                .append(",\"partitions\":").append(r.partitions)
                .append(",\"cores\":").append(r.cores)
                .append(",\"loadAverageBefore\":").append(num(r.loadBefore))
                .append(",\"loadAverageAfter\":").append(num(r.loadAfter))
                .append(",\"java\":").append(str(System.getProperty("java.version")))
                .append(",\"blas\":").append(str(r.blas))
                .append(",\"blasLibrary\":").append(str(r.blasLibrary))
                .append(",\"cpu\":").append(str(r.cpu))
                .append(",\"dgemmFlopsPerSecond\":").append(num(r.dgemmFlopsPerSecond))
                .append(",\"bandwidthBytesPerSecond\":").append(num(r.bandwidth))
                .append(",\"agree\":").append(r.agree())
                .append(",\"benchmarks\":{");
        for (int gi = 0; gi < r.groups.size(); gi++) {
            Group g = r.groups.get(gi);
            if (gi > 0) s.append(',');
            s.append(str(g.key)).append(":{\"title\":").append(str(g.title)).append(",\"bytes\":").append(g.bytes)
                    .append(g.flops > 0 ? ",\"flops\":" + num(g.flops) : "")
                    .append(",\"reference\":").append(str(g.reference.name)).append(",\"implementations\":{");
            for (int ti = 0; ti < g.timings.size(); ti++) {
                Timing t = g.timings.get(ti);
                if (ti > 0) s.append(',');
                s.append(str(t.name)).append(":{\"medianSeconds\":").append(num(t.median()))
                        .append(",\"ratio\":").append(num(t.median() / g.reference.median()))
                        .append(",\"seconds\":").append(arr(t.seconds))
                        .append(",\"taskSeconds\":").append(arr(t.taskSeconds))
                        .append(",\"gradientRelativeDifference\":").append(num(t.difference))
                        .append(g.flops > 0 ? ",\"flopsPerSecond\":" + num(g.flops / t.median()) : "")
                        .append('}');
            }
            s.append("}}");
        }
        return s.append("}}").toString();
    }

    private static String str(String v) {
        return "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String num(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private static String arr(double[] v) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) s.append(i > 0 ? "," : "").append(num(v[i]));
        return s.append(']').toString();
    }
}
