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
        assertEquals(4, logistic.timings.size());
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
        assertTrue(table.contains("gradients agree"), table);
        assertTrue(!table.contains("MLP"), table);
        assertTrue(table.contains("DGEMM: "), table);
        assertTrue(table.contains("Step overhead: logistic loss+gradient, 40 rows x 7 in 4 partitions"), table);
        assertTrue(table.contains("| treeAggregate    |"), table);

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
        assertEquals(1, j.lines().count(), j);
    }

    @Test
    void badOptionsAreUsageErrors() {
        StringWriter err = new StringWriter();
        int code = Main.execute(new String[] {"bench", "--rounds", "0"}, new PrintWriter(new StringWriter()), new PrintWriter(err, true));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("--rounds must be at least 1"), err.toString());
    }
}
