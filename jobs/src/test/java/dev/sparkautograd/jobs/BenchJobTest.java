package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench job on tiny data: every implementation computes the same loss and gradient (so the timings compare equal work). */
class BenchJobTest {

    private static final String[] TINY = {"--rows", "3000", "--features", "7", "--partitions", "3", "--block-rows", "250",
            "--rounds", "2", "--warmup", "1", "--hidden", "5", "--bandwidth-mb", "1", "--dgemm-n", "64",
            "--step-rounds", "2", "--sparse-rows", "0"}; // --sparse-rows last: the sparse test drops it

    private static String[] with(String[] args, String... more) {
        String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    private static BenchJob job(String... args) {
        BenchJob job = new BenchJob();
        new CommandLine(job).parseArgs(args);
        return job;
    }

    @Test
    void allImplementationsGiveTheSameLossAndGradient() throws Exception {
        BenchJob.Report r = job(with(TINY, "--mlp-rows", "1100", "--scan-rows", "2000")).measure(SharedSpark.session());
        BenchJob.Group logistic = r.group("logistic");
        assertEquals(5, logistic.timings.size());
        double[] ref = logistic.timing("MLlib").result;
        assertEquals(1 + 7 + 1, ref.length);
        assertTrue(ref[0] > 0.5 && ref[0] < 1.0, "mean logistic loss near log 2: " + ref[0]);
        double gnorm = 0;
        for (int i = 1; i < ref.length; i++) gnorm = Math.max(gnorm, Math.abs(ref[i]));
        assertTrue(gnorm > 1e-3, "a gradient worth comparing: " + gnorm);
        for (BenchJob.Timing t : logistic.timings) {
            assertTrue(BenchJob.relativeDifference(t.result, ref) <= 1e-9, t.name + " differs from MLlib by " + t.difference);
        }
        BenchJob.Group mlp = r.group("mlp");
        double[] mref = mlp.timing("hand-written").result;
        assertEquals(1 + 7 * 5 + 5 + 5 + 1, mref.length);
        double mnorm = 0;
        for (int i = 1; i < mref.length; i++) mnorm = Math.max(mnorm, Math.abs(mref[i]));
        assertTrue(mnorm > 1e-3, "a gradient worth comparing: " + mnorm);
        assertTrue(BenchJob.relativeDifference(mlp.timing("spark-autograd").result, mref) <= 1e-9,
                "autograd MLP differs by " + mlp.timing("spark-autograd").difference);
        // the MLP rows' FLOP count: 4 n d h + 4 n h
        assertEquals(4.0 * 1100 * 7 * 5 + 4.0 * 1100 * 5, mlp.flops);
        // float32 rows: the same loss and gradient as float64 up to the rounding of the features to float
        // (BenchJob.FLOAT32_AGREEMENT's bound); float64 rows of those groups exactly as above
        BenchJob.Group lf = r.group("logistic-float32");
        assertEquals(java.util.List.of("autograd f32", "autograd f64", "MLlib", "hand-written f32"), lf.timings.stream().map(t -> t.name).toList());
        assertTrue(BenchJob.relativeDifference(lf.timing("autograd f64").result, ref) <= 1e-9);
        BenchJob.Group mf = r.group("mlp-float32");
        assertTrue(BenchJob.relativeDifference(mf.timing("autograd f64").result, mref) <= 1e-9);
        assertEquals(mlp.flops, mf.flops);
        for (BenchJob.Timing t : java.util.List.of(lf.timing("autograd f32"), lf.timing("hand-written f32"), mf.timing("autograd f32"))) {
            assertEquals(BenchJob.FLOAT32_AGREEMENT, t.tolerance);
            // rounding moved the result (the data are not float-representable), by about u = 6e-8 relative, not more
            assertTrue(t.difference > 0 && t.difference <= BenchJob.FLOAT32_AGREEMENT, t.name + " differs from float64 by " + t.difference);
        }
        // step overhead: spark-autograd, MLlib's way and the bare treeAggregate compute the same loss and gradient
        BenchJob.Group step = r.group("step-overhead");
        assertEquals(java.util.List.of("spark-autograd", "MLlib", "treeAggregate"), step.timings.stream().map(t -> t.name).toList());
        double[] sref = step.timing("treeAggregate").result;
        assertEquals(1 + 7 + 1, sref.length);
        double snorm = 0;
        for (int i = 1; i < sref.length; i++) snorm = Math.max(snorm, Math.abs(sref[i]));
        assertTrue(sref[0] > 0.3 && snorm > 1e-3, "a loss and gradient worth comparing: " + java.util.Arrays.toString(sref));
        for (BenchJob.Timing t : step.timings) {
            assertTrue(BenchJob.relativeDifference(t.result, sref) <= 1e-9, t.name + " differs from treeAggregate by " + t.difference);
        }
        // uncached Parquet: Spark SQL's scan and the library's sum the same values; the gradient is the cached one's
        BenchJob.Group scan = r.group("scan");
        double[] sum = scan.timing("Spark SQL scan").result;
        assertEquals(1, sum.length);
        assertTrue(sum[0] > 500 && sum[0] < 1500, "about 1000 from the 0/1 labels of 2000 rows: " + sum[0]);
        assertTrue(BenchJob.relativeDifference(scan.timing("autograd scan").result, sum) <= 1e-9, "autograd scan " + scan.timing("autograd scan").result[0]);
        assertTrue(BenchJob.relativeDifference(scan.timing("Spark columnar scan").result, sum) <= 1e-9, "columnar scan " + scan.timing("Spark columnar scan").result[0]);
        BenchJob.Timing uncached = scan.timing("autograd gradient");
        assertEquals(1 + 7 + 1, uncached.result.length);
        assertTrue(uncached.difference <= 1e-9, "uncached gradient differs from the cached one by " + uncached.difference);
        assertTrue(scan.bytes > 1000, "Parquet bytes " + scan.bytes); // values on a grid of 0.001: dictionary-encoded, ~11 bits each
        assertTrue(r.agree());
        assertTrue(r.bandwidth > 0);
        assertTrue(r.dgemmFlopsPerSecond > 0);
        assertTrue(r.cpu != null && !r.cpu.isBlank());
        assertTrue(r.blasLibrary != null && !r.blasLibrary.isBlank());
        for (BenchJob.Group g : r.groups) {
            for (BenchJob.Timing t : g.timings) {
                assertEquals(2, t.seconds.length);
                for (double s : t.seconds) assertTrue(s > 0, t.name);
                // the tasks' run time fits in the wall time on r.slots slots (1 ms of rounding per task)
                for (int k = 0; k < t.taskSeconds.length; k++) {
                    assertTrue(t.taskSeconds[k] >= 0 && t.taskSeconds[k] <= t.seconds[k] * r.slots + 0.01 * r.partitions,
                            t.name + ": " + t.taskSeconds[k] + " s of tasks in " + t.seconds[k] + " s");
                }
            }
        }
    }

    @Test
    void sparseLogisticGivesMllibsLossAndGradient() throws Exception {
        BenchJob.Report r = job(with(java.util.Arrays.copyOf(TINY, TINY.length - 2), "--mlp-rows", "0", "--sparse-rows", "2000", "--sparse-features", "5000", "--sparse-nnz", "6"))
                .measure(SharedSpark.session());
        BenchJob.Group sparse = r.group("sparse-logistic");
        double[] ref = sparse.timing("MLlib").result;
        assertEquals(1 + 5000 + 1, ref.length);
        assertTrue(ref[0] > 0.3 && ref[0] < 1.0, "mean logistic loss: " + ref[0]);
        double gnorm = 0;
        for (int i = 1; i < ref.length; i++) gnorm = Math.max(gnorm, Math.abs(ref[i]));
        assertTrue(gnorm > 1e-3, "a gradient worth comparing: " + gnorm);
        assertTrue(BenchJob.relativeDifference(sparse.timing("spark-autograd").result, ref) <= 1e-9,
                "spark-autograd differs from MLlib by " + sparse.timing("spark-autograd").difference);
        assertTrue(sparse.title.matches(".*cached: spark-autograd \\d+\\.\\d MB, MLlib \\d+\\.\\d MB"), sparse.title);
        assertTrue(r.agree());
    }

    @Test
    void printsTheTableAndJson() throws Exception {
        StringWriter out = new StringWriter();
        String[] args = with(TINY, "--mlp-rows", "0", "--scan-rows", "0");
        assertEquals(0, job(args).run(SharedSpark.session(), new PrintWriter(out, true)), out.toString());
        String table = out.toString();
        assertTrue(table.contains("Logistic loss+gradient, 3,000 x 7 float64"), table);
        assertTrue(table.contains("| spark-autograd   |"), table);
        assertTrue(table.contains("| MLlib            |"), table);
        assertTrue(table.contains("| hand-written     |"), table);
        assertTrue(table.contains("| autograd unfused |"), table);
        assertTrue(table.contains("| autograd one-read |"), table);
        assertTrue(table.contains("gradients agree"), table);
        assertTrue(!table.contains("MLP"), table);
        assertTrue(table.contains("DGEMM: "), table);
        assertTrue(table.contains("Step overhead: logistic loss+gradient, 40 rows x 7 in 4 partitions"), table);
        assertTrue(table.contains("| treeAggregate    |"), table);
        assertTrue(table.contains("Logistic loss+gradient, 3,000 x 7, float32 blocks"), table);
        assertTrue(table.contains("| autograd f32     |") && table.contains("| hand-written f32 |"), table);

        StringWriter js = new StringWriter();
        String[] jargs = with(args, "--json");
        assertEquals(0, job(jargs).run(SharedSpark.session(), new PrintWriter(js, true)), js.toString());
        String j = js.toString().strip();
        assertTrue(j.startsWith("{\"master\":\"local[2]\"") && j.endsWith("}"), j);
        assertTrue(j.contains("\"agree\":true"), j);
        assertTrue(j.contains("\"logistic\":{\"title\":"), j);
        assertTrue(j.contains("\"MLlib\":{\"medianSeconds\":"), j);
        assertTrue(j.contains("\"dgemmFlopsPerSecond\":"), j);
        assertTrue(j.contains("\"step-overhead\":{\"title\":"), j);
        assertTrue(j.contains("\"treeAggregate\":{\"medianSeconds\":"), j);
        assertTrue(j.contains("\"blasLibrary\":"), j);
        assertTrue(j.contains("\"logistic-float32\":{\"title\":"), j);
        assertTrue(j.contains("\"autograd f32\":{\"medianSeconds\":"), j);
        assertTrue(j.contains("\"hand-written f32\":{\"medianSeconds\":"), j);
        assertEquals(1, j.lines().count(), j);
    }

    /**
     * On data whose features are floats already (rounded in SQL), float32 and float64 blocks hold the same numbers:
     * the float32 implementations then agree with the float64 ones (and MLlib) to summation order, 1e-12, so the
     * float32 rows' larger difference in the bench is the rounding of the inputs and nothing else.
     */
    @Test
    void float32ImplementationsEqualFloat64OnFloatRepresentableData() {
        org.apache.spark.sql.SparkSession spark = SharedSpark.session();
        org.apache.spark.api.java.JavaSparkContext jsc = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext());
        org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> df = spark.range(0, 2000, 1, 3).selectExpr(
                "transform(sequence(0, 6), i -> CAST(CAST((pmod(hash(id, i, 3L), 20001) - 10000) / 3000.0 AS FLOAT) AS DOUBLE)) AS features",
                "CAST(pmod(hash(id, 5L), 2) AS DOUBLE) AS label");
        dev.sparkautograd.DistData f64 = dev.sparkautograd.DistData.fromDataset(df, dev.sparkautograd.DistData.options().blockRows(300), "features", "label");
        dev.sparkautograd.DistData f32 = dev.sparkautograd.DistData.fromDataset(df, dev.sparkautograd.DistData.options().blockRows(300)
                .dtype(dev.sparkautograd.DistData.Dtype.FLOAT32), "features", "label");
        assertTrue(f32.blocks().first().isFloat32(0));
        double[] coef = dev.sparkautograd.Tensor.randn(9, 8).mul(0.3).toArray();
        double[] ref = dev.sparkautograd.jobs.bench.Logistic.autograd(f64, coef);
        for (double[] other : java.util.List.of(dev.sparkautograd.jobs.bench.Logistic.autograd(f32, coef),
                dev.sparkautograd.jobs.bench.Logistic.handwrittenFloat32(jsc, f32, coef), dev.sparkautograd.jobs.bench.Logistic.mllib(jsc, f64, coef))) {
            assertTrue(BenchJob.relativeDifference(other, ref) <= 1e-12, "differs by " + BenchJob.relativeDifference(other, ref));
        }
        double[] params = dev.sparkautograd.jobs.bench.Mlp.init(7, 5, 3);
        double[] mref = dev.sparkautograd.jobs.bench.Mlp.handwritten(jsc, f64, params, 5);
        double[] m32 = dev.sparkautograd.jobs.bench.Mlp.autograd(f32, params, 5);
        assertTrue(BenchJob.relativeDifference(m32, mref) <= 1e-12, "MLP differs by " + BenchJob.relativeDifference(m32, mref));
        assertTrue(m32[0] > 0.1, "a loss worth comparing: " + m32[0]);
    }

    @Test
    void badOptionsAreUsageErrors() {
        StringWriter err = new StringWriter();
        int code = Main.execute(new String[] {"bench", "--rounds", "0"}, new PrintWriter(new StringWriter()), new PrintWriter(err, true));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("--rounds must be at least 1"), err.toString());
    }
}
