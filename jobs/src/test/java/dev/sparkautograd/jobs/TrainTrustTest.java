package dev.sparkautograd.jobs;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static dev.sparkautograd.jobs.UserDataTest.failure;
import static dev.sparkautograd.jobs.UserDataTest.main;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train and gradient a user can rely on: --reg, L-BFGS that stops, the ETA, the output rule, job descriptions. */
class TrainTrustTest {

    /** One directory for the class, made and deleted by JUnit. */
    @TempDir
    static Path tmp;

    static final int N = 40, D = 3;

    static double feature(int i, int j) {
        return Math.sin(0.7 * i * (j + 1) + j);
    }

    /** Linear data: y = x.(1, -2, 0.5) + 0.3 + 0.1 cos(3i). */
    static Path linearCsv() throws IOException {
        StringBuilder sb = new StringBuilder("a,b,c,label\n");
        for (int i = 0; i < N; i++) {
            double y = 0.3 + 0.1 * Math.cos(3 * i);
            for (int j = 0; j < D; j++) {
                sb.append(feature(i, j)).append(',');
                y += new double[] {1, -2, 0.5}[j] * feature(i, j);
            }
            sb.append(y).append('\n');
        }
        Path p = tmp.resolve("linear.csv");
        Files.writeString(p, sb.toString());
        return p;
    }

    /** Ridge regression's normal equations (A^T A / n + lambda D) theta = A^T y / n, A = [X 1], D = diag(1, ..., 1, 0). */
    static double[] ridge(double lambda) throws IOException {
        List<String> lines = Files.readAllLines(tmp.resolve("linear.csv"));
        int k = D + 1;
        double[][] m = new double[k][k + 1];
        for (String line : lines.subList(1, lines.size())) {
            String[] c = line.split(",");
            double[] a = {Double.parseDouble(c[0]), Double.parseDouble(c[1]), Double.parseDouble(c[2]), 1};
            double y = Double.parseDouble(c[3]);
            for (int r = 0; r < k; r++) {
                for (int s = 0; s < k; s++) m[r][s] += a[r] * a[s] / N;
                m[r][k] += a[r] * y / N;
            }
        }
        for (int r = 0; r < D; r++) m[r][r] += lambda;
        for (int p = 0; p < k; p++) { // Gauss-Jordan with partial pivoting
            int best = p;
            for (int r = p + 1; r < k; r++) if (Math.abs(m[r][p]) > Math.abs(m[best][p])) best = r;
            double[] t = m[p]; m[p] = m[best]; m[best] = t;
            for (int r = 0; r < k; r++) {
                if (r == p) continue;
                double f = m[r][p] / m[p][p];
                for (int s = p; s <= k; s++) m[r][s] -= f * m[p][s];
            }
        }
        double[] theta = new double[k];
        for (int r = 0; r < k; r++) theta[r] = m[r][k] / m[r][r];
        return theta;
    }

    @Test
    void regIsSparksL2PenaltyAndTrainReachesTheRidgeSolution() throws Exception {
        Path csv = linearCsv();
        for (double lambda : new double[] {0.1, 2.0}) {
            Path out = tmp.resolve("ridge" + lambda);
            UserDataTest.Run r = main("train", "--model", "linear", "--input", csv.toString(), "--format", "csv", "--reg", String.valueOf(lambda),
                    "--tolerance", "1e-12", "--output", out.toString());
            assertEquals(0, r.exit(), r.err());
            double[] fit = Npy.read(out.resolve("params.npy")).toArray(), exact = ridge(lambda);
            for (int i = 0; i < exact.length; i++) assertEquals(exact[i], fit[i], 1e-9, "lambda " + lambda + " parameter " + i + "\n" + r.out());
            assertTrue(r.line("model:").endsWith(", L2 penalty " + lambda + "/2 |w|^2"), r.out());
        }
        // the penalty pulls the weights in, not the bias: with a huge lambda the weights go to 0 and the bias to mean(y)
        double[] strong = ridge(1e6);
        assertTrue(Math.abs(strong[0]) < 1e-5 && Math.abs(strong[3] - meanLabel()) < 1e-4, java.util.Arrays.toString(strong));

        // gradient --reg at given parameters: the mean loss's gradient + lambda w (bias excluded)
        Path params = tmp.resolve("at.npy");
        Npy.write(params, Tensor.of(0.5, -1, 2, 0.7));
        assertEquals(0, main("gradient", "--model", "linear", "--input", csv.toString(), "--format", "csv", "--params", params.toString(),
                "--output", tmp.resolve("g0.npy").toString()).exit());
        assertEquals(0, main("gradient", "--model", "linear", "--input", csv.toString(), "--format", "csv", "--params", params.toString(),
                "--reg", "0.25", "--output", tmp.resolve("g1.npy").toString()).exit());
        double[] g0 = Npy.read(tmp.resolve("g0.npy")).toArray(), g1 = Npy.read(tmp.resolve("g1.npy")).toArray();
        double[] w = {0.5, -1, 2, 0};
        for (int i = 0; i < 4; i++) assertEquals(g0[i] + 0.25 * w[i], g1[i], 1e-14, "entry " + i);
    }

    private static double meanLabel() throws IOException {
        List<String> lines = Files.readAllLines(tmp.resolve("linear.csv"));
        return lines.subList(1, lines.size()).stream().mapToDouble(l -> Double.parseDouble(l.split(",")[3])).average().orElseThrow();
    }

    /** Separable classes: the weights grow without bound while the loss falls; train says so, and --reg fixes it. */
    @Test
    void divergingWeightsOnSeparableDataAreReported() throws Exception {
        StringBuilder sb = new StringBuilder("x,label\n");
        for (int i = 0; i < 20; i++) sb.append(i < 10 ? -1 - 0.1 * i : 1 + 0.1 * i).append(',').append(i < 10 ? 0 : 1).append('\n');
        Path csv = tmp.resolve("separable.csv");
        Files.writeString(csv, sb.toString());
        UserDataTest.Run free = main("train", "--input", csv.toString(), "--format", "csv", "--max-steps", "40", "--output", tmp.resolve("sep").toString());
        assertEquals(0, free.exit(), free.err());
        assertTrue(free.line("warning:").contains("the classes look separable, so the loss has no finite minimum; pass --reg LAMBDA"), free.out());
        UserDataTest.Run reg = main("train", "--input", csv.toString(), "--format", "csv", "--max-steps", "40", "--reg", "0.01",
                "--output", tmp.resolve("sep-reg").toString());
        assertEquals(0, reg.exit(), reg.err());
        assertFalse(reg.out().contains("warning:"), reg.out());
        assertTrue(reg.line("stopped:").startsWith("gradient norm"), reg.out());
    }

    /**
     * With --tolerance 0 the gradient norm never stops the run; L-BFGS must stop by itself once the loss is at its
     * rounding floor, in a few dozen evaluations, not run all 1,000 steps. The ETA is a bound until the gradient's
     * decrease gives an estimate.
     */
    @Test
    void lbfgsStopsWhenNoProgressIsLeftAndTheEtaIsNotTheMaxStepsExtrapolation() throws Exception {
        StringBuilder sb = new StringBuilder("a,b,label\n");
        for (int i = 0; i < 200; i++) sb.append(feature(i, 0)).append(',').append(feature(i, 1)).append(',').append((i * 37 % 11) < 5 == feature(i, 0) > 0 ? 1 : 0).append('\n');
        Path csv = tmp.resolve("noisy.csv");
        Files.writeString(csv, sb.toString());
        UserDataTest.Run r = main("train", "--input", csv.toString(), "--format", "csv", "--tolerance", "0", "--max-steps", "1000",
                "--output", tmp.resolve("stop").toString());
        assertEquals(0, r.exit(), r.err());
        String stopped = r.line("stopped:");
        assertTrue(stopped.startsWith("no progress") || stopped.startsWith("no decrease"), r.out());
        int steps = Integer.parseInt(stopped.replaceAll(".*after (\\d+) steps.*", "$1"));
        int evaluations = Integer.parseInt(stopped.replaceAll(".*and (\\d+) loss/gradient evaluations", "$1"));
        assertTrue(steps < 60 && evaluations < 120, r.out());
        // no tolerance to reach: every ETA is the bound at --max-steps, and says so
        List<String> lines = r.out().lines().filter(l -> l.startsWith("step ")).toList();
        assertTrue(lines.subList(1, lines.size()).stream().allMatch(l -> l.matches(".*ETA <= \\d+ s")), r.out());

        // a tolerance: from step 2 on the gradient's decrease gives an estimate, in steps and seconds, below the bound
        UserDataTest.Run t = main("train", "--input", csv.toString(), "--format", "csv", "--tolerance", "1e-10", "--max-steps", "1000",
                "--output", tmp.resolve("eta").toString());
        List<String> est = t.out().lines().filter(l -> l.matches("step +\\d+ .*ETA ~\\d+ s, ~\\d+ steps?")).toList();
        assertFalse(est.isEmpty(), t.out());
        for (String l : est) assertTrue(Integer.parseInt(l.replaceAll(".*~(\\d+) steps?", "$1")) < 1000, l);
    }

    @Test
    void everyJobRefusesAnExistingOutputUnlessOverwrite() throws Exception {
        Path csv = linearCsv();
        Path dir = tmp.resolve("out-train"), npy = tmp.resolve("out.npy"), gen = tmp.resolve("out-gen");
        String[][] jobs = {
            {"train", "--model", "linear", "--input", csv.toString(), "--format", "csv", "--max-steps", "2", "--output", dir.toString()},
            {"gradient", "--model", "linear", "--input", csv.toString(), "--format", "csv", "--output", npy.toString()},
            {"generate", "--rows", "10", "--features", "2", "--partitions", "1", "--output", gen.toString()},
        };
        for (String[] job : jobs) {
            assertEquals(0, main(job).exit(), job[0]);
            Path out = Path.of(job[job.length - 1]);
            assertEquals("spark-autograd " + job[0] + ": the output file:" + out + " exists: pass --overwrite to replace it, or choose another --output"
                    + " (see 'spark-autograd " + job[0] + " --help')", failure(main(job), 2));
            if (Files.isDirectory(out)) Files.writeString(out.resolve("stale.txt"), "from an earlier run");
            String[] again = java.util.Arrays.copyOf(job, job.length + 1);
            again[job.length] = "--overwrite";
            assertEquals(0, main(again).exit(), job[0]);
            assertFalse(Files.exists(out.resolve("stale.txt")), "the old output is replaced, not merged");
        }
    }

    @Test
    void sparkJobsAreNamedAfterTheJobTheModelAndTheStep() throws Exception {
        Path csv = linearCsv();
        List<String> descriptions = Collections.synchronizedList(new ArrayList<>());
        SparkListener listener = new SparkListener() {
            @Override
            public void onJobStart(SparkListenerJobStart start) {
                descriptions.add(String.valueOf(start.properties().getProperty("spark.job.description")));
            }
        };
        SharedSpark.session().sparkContext().addSparkListener(listener);
        try {
            assertEquals(0, main("train", "--model", "linear", "--input", csv.toString(), "--format", "csv", "--max-steps", "3",
                    "--output", tmp.resolve("named").toString()).exit());
            SharedSpark.session().sparkContext().listenerBus().waitUntilEmpty();
        } finally {
            SharedSpark.session().sparkContext().removeSparkListener(listener);
        }
        assertEquals("train linear: reading and checking the data", descriptions.get(0));
        assertEquals("train linear: step 0 loss+gradient", descriptions.get(1));
        assertTrue(descriptions.contains("train linear: step 1 loss+gradient"), descriptions.toString());
        assertTrue(descriptions.contains("train linear: step 3 loss+gradient"), descriptions.toString());
        assertEquals("train linear: RMSE of the fit", descriptions.get(descriptions.size() - 1));
        assertTrue(descriptions.stream().allMatch(d -> d.startsWith("train linear: ")), descriptions.toString());
    }

    @Test
    void generateChecksTheFreeSpaceFirstAndReportsEachFile() throws Exception {
        Path big = tmp.resolve("too-big");
        String msg = failure(main("generate", "--rows", "1000000000000000", "--features", "10", "--output", big.toString()), 1);
        assertTrue(msg.matches("spark-autograd generate: 1000000000000000 rows of 10 features take about 92\\.4 PB, but file:/.* has only [\\d.]+ [KMGTP]?B free:"
                + " lower --rows or write to another --output"), msg);
        assertFalse(Files.exists(big), "nothing written");

        UserDataTest.Run r = main("generate", "--rows", "300", "--features", "2", "--partitions", "3", "--output", tmp.resolve("small").toString());
        assertEquals(0, r.exit(), r.err());
        List<String> written = r.out().lines().filter(l -> l.startsWith("written:")).toList();
        assertEquals(3, written.size(), r.out());
        assertTrue(written.get(0).matches("written: +1 of 3 files \\(33%\\), elapsed [\\d.]+ s, ETA \\d+ s"), written.get(0));
        assertTrue(written.get(2).startsWith("written:  3 of 3 files (100%)"), written.get(2));
    }
}
