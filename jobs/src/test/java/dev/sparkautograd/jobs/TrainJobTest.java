package dev.sparkautograd.jobs;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.sparkautograd.jobs.DataJobsTest.line;
import static dev.sparkautograd.jobs.DataJobsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train on generated data (shared local[2] session) recovers the teacher. */
class TrainJobTest {

    /** One directory for the class, made and deleted by JUnit. */
    @TempDir
    static Path tmp;

    private static double relativeError(double[] fit, double[] teacher) {
        double num = 0, den = 0;
        for (int i = 0; i < fit.length; i++) {
            num += (fit[i] - teacher[i]) * (fit[i] - teacher[i]);
            den += teacher[i] * teacher[i];
        }
        return Math.sqrt(num / den);
    }

    /**
     * train --optimizer newton: trust-region Newton-CG with Hessian-vector products through the distributed
     * reduction reaches the same optimum as L-BFGS (a convex loss: one minimum) and the gradient tolerance in few
     * steps, each a trial step of TRON.
     */
    @Test
    void newtonCgReachesLbfgssOptimumInFewSteps() throws Exception {
        Path lbfgsDir = tmp.resolve("newton-vs-lbfgs"), newtonDir = tmp.resolve("newton");
        String[] data = {"--generate", "20000", "--features", "5", "--partitions", "2", "--seed", "13", "--tolerance", "1e-8"};
        run(new TrainJob(), concat(data, "--max-steps", "100", "--output", lbfgsDir.toString()));
        String out = run(new TrainJob(), concat(data, "--optimizer", "newton", "--max-steps", "30", "--output", newtonDir.toString()));
        assertTrue(line(out, "model:").contains("newton"), out);
        assertTrue(line(out, "stopped:").startsWith("Newton-CG: gradient tolerance"), out);
        long steps = out.lines().filter(l -> l.startsWith("step ")).count() - 1;
        assertTrue(steps <= 15, "Newton-CG took " + steps + " steps\n" + out);
        // one evaluation to start and one per trial step: a step starts from where the previous one left off
        assertTrue(line(out, "stopped:").endsWith("after " + steps + " steps and " + (steps + 1) + " loss/gradient evaluations"), out);
        double[] newton = Npy.read(newtonDir.resolve("params.npy")).toArray(), lbfgs = Npy.read(lbfgsDir.resolve("params.npy")).toArray();
        assertTrue(relativeError(newton, lbfgs) < 1e-6, "Newton-CG vs L-BFGS: " + relativeError(newton, lbfgs) + "\n" + out);
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * The check: with 40,000 rows and 5 features, L-BFGS's parameters are within 10% (relative L2 error) of the
     * teacher's, and the fit's accuracy on the data is at least the teacher's own minus 0.5 points.
     */
    @Test
    void lbfgsRecoversTheLogisticTeacher() throws Exception {
        Path dir = tmp.resolve("logistic");
        String out = run(new TrainJob(), "--generate", "40000", "--features", "5", "--partitions", "4", "--seed", "11",
                "--max-steps", "50", "--output", dir.toString());
        // 40,000 rows of 5 features and a label, 8 bytes each: far below the shared session's storage memory
        assertTrue(line(out, "cache:").startsWith("MEMORY_AND_DISK_SER (1.9 MB of blocks, "), out);
        List<String> steps = out.lines().filter(l -> l.startsWith("step ")).toList();
        assertTrue(steps.size() >= 5 && steps.size() <= 51, out);
        assertTrue(steps.get(1).matches("step +1 +loss \\d\\.\\d{8} +\\|grad\\| \\d\\.\\d{3}e[-+]\\d\\d +[\\d,]+ rows/s +elapsed +[\\d.]+ s +ETA (<= \\d+ s|~\\d+ s, ~\\d+ steps?)"), steps.get(1));
        assertTrue(line(out, "stopped:").startsWith("gradient norm") || line(out, "stopped:").startsWith("no "), out);

        Synthetic syn = new Synthetic(new Model(Model.Kind.logistic, 5, 2, new int[0]), 40000, 4, 11);
        double[] fit = Npy.read(dir.resolve("params.npy")).toArray();
        assertTrue(relativeError(fit, syn.teacher()) < 0.1, "parameter error " + relativeError(fit, syn.teacher()) + "\n" + out);
        double accuracy = Double.parseDouble(line(out, "accuracy:"));
        String teacherLine = line(out, "teacher:");
        double teacherAccuracy = Double.parseDouble(teacherLine.split("\\s+")[1]);
        assertTrue(accuracy >= teacherAccuracy - 0.005, out);

        List<String> csv = Files.readAllLines(dir.resolve("loss.csv"));
        assertEquals("step,loss,grad_norm,elapsed_s", csv.get(0));
        assertEquals(steps.size() + 1, csv.size());
        assertEquals(Math.log(2), Double.parseDouble(csv.get(1).split(",")[1]), 1e-12); // zero weights: log 2
        BufferedImage png = ImageIO.read(dir.resolve("loss.png").toFile());
        assertEquals(800, png.getWidth());
        assertEquals(500, png.getHeight());
        assertTrue(line(out, "plot:").endsWith("/logistic/loss.png"), out);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("loss.csv", "loss.png", "model.properties", "params.npy"), files.map(p -> p.getFileName().toString()).sorted().toList(), "no .crc files");
        }
    }

    @Test
    void adamFitsTheSoftmaxTeacherAndLbfgsTheLinearOne() throws Exception {
        Path dir = tmp.resolve("softmax");
        String out = run(new TrainJob(), "--model", "softmax", "--classes", "3", "--generate", "20000", "--features", "4",
                "--partitions", "2", "--seed", "5", "--optimizer", "adam", "--lr", "0.1", "--max-steps", "150", "--output", dir.toString());
        double accuracy = Double.parseDouble(line(out, "accuracy:"));
        double teacherAccuracy = Double.parseDouble(line(out, "teacher:").split("\\s+")[1]);
        assertTrue(accuracy >= teacherAccuracy - 0.01, out);

        Path lin = tmp.resolve("linear");
        String outLin = run(new TrainJob(), "--model", "linear", "--generate", "5000", "--features", "3",
                "--partitions", "2", "--seed", "5", "--output", lin.toString());
        Synthetic syn = new Synthetic(new Model(Model.Kind.linear, 3, 1, new int[0]), 5000, 2, 5);
        assertTrue(relativeError(Npy.read(lin.resolve("params.npy")).toArray(), syn.teacher()) < 0.01, outLin);
        assertEquals(Model.LINEAR_NOISE, Double.parseDouble(line(outLin, "RMSE:")), 0.01, outLin);
    }

    /**
     * Checkpoint and resume: a run stopped after K steps with --checkpoint-every K, then resumed with --resume,
     * ends with the parameters (bit for bit) and the loss curve of a run that was not interrupted, for L-BFGS
     * (its history, line-search step and counters are in the state dict) and Adam (its moments and step).
     */
    @Test
    void resumingFromACheckpointGivesTheUninterruptedRunsBits() throws Exception {
        // adam-batch: mini-batches of 1,500 of the 4,000 rows, 3 steps per epoch: the resumed run continues the batch
        // sequence within the second epoch and into the third
        for (String optimizer : new String[] {"lbfgs", "adam", "adam-batch"}) {
            String[] data = {"--generate", "4000", "--features", "4", "--partitions", "2", "--seed", "3", "--tolerance", "0",
                    "--optimizer", optimizer.replace("-batch", ""), "--lr", "0.05"};
            if (optimizer.endsWith("-batch")) data = concat(data, "--batch-size", "1500", "--batch-seed", "9");
            Path full = tmp.resolve("full-" + optimizer), part = tmp.resolve("part-" + optimizer);
            run(new TrainJob(), concat(data, "--max-steps", "8", "--output", full.toString()));
            String first = run(new TrainJob(), concat(data, "--max-steps", "4", "--checkpoint-every", "2", "--output", part.toString()));
            assertTrue(line(first, "checkpoint:").endsWith("/part-" + optimizer + "/checkpoint/step-00000004"), first);
            try (Stream<Path> dirs = Files.list(part.resolve("checkpoint"))) {
                assertEquals(List.of("step-00000004"), dirs.map(p -> p.getFileName().toString()).toList(), "the older checkpoint is deleted");
            }
            String resumed = run(new TrainJob(), concat(data, "--max-steps", "8", "--checkpoint-every", "2", "--resume", "--output", part.toString()));
            assertTrue(line(resumed, "resumed:").startsWith("from step 4 ("), resumed);
            assertTrue(resumed.lines().filter(l -> l.startsWith("step ")).findFirst().orElseThrow().startsWith("step    5 "), resumed);
            double[] a = Npy.read(full.resolve("params.npy")).toArray(), b = Npy.read(part.resolve("params.npy")).toArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(Double.doubleToRawLongBits(a[i]), Double.doubleToRawLongBits(b[i]), optimizer + " parameter " + i + ": " + a[i] + " vs " + b[i]);
            }
            List<String> ca = Files.readAllLines(full.resolve("loss.csv")), cb = Files.readAllLines(part.resolve("loss.csv"));
            assertEquals(ca.size(), cb.size(), optimizer);
            for (int i = 0; i < ca.size(); i++) {
                String[] x = ca.get(i).split(","), y = cb.get(i).split(",");
                assertEquals(x[0] + "," + x[1] + "," + x[2], y[0] + "," + y[1] + "," + y[2], optimizer + " loss.csv line " + i);
            }
        }
        // a checkpoint of other batches, of another optimizer, and no checkpoint at all, are one-line usage errors
        String[] batched = {"--generate", "4000", "--features", "4", "--partitions", "2", "--seed", "3", "--optimizer", "adam", "--lr", "0.05",
                "--output", tmp.resolve("part-adam-batch").toString(), "--resume"};
        String seed = UserDataTest.failure(UserDataTest.main(concat(new String[] {"train"}, concat(batched, "--batch-size", "1500"))), 2);
        assertTrue(seed.matches("spark-autograd train: --resume: the checkpoint in file:.*/part-adam-batch/checkpoint was written with --batch-size 1500"
                + " --batch-seed 9, not with --batch-size 1500 --batch-seed 1 \\(see 'spark-autograd train --help'\\)"), seed);
        String full = UserDataTest.failure(UserDataTest.main(concat(new String[] {"train"}, batched)), 2);
        assertTrue(full.contains("was written with --batch-size 1500 --batch-seed 9, not with the full batch"), full);
        // a checkpoint of another optimizer, and no checkpoint at all, are one-line usage errors
        String[] data = {"--generate", "4000", "--features", "4", "--partitions", "2", "--seed", "3", "--output", tmp.resolve("part-adam").toString()};
        String other = UserDataTest.failure(UserDataTest.main(concat(new String[] {"train"}, concat(data, "--optimizer", "sgd", "--resume"))), 2);
        assertTrue(other.matches("spark-autograd train: --resume: the checkpoint in file:.*/part-adam/checkpoint is of logistic regression, 4 features with adam,"
                + " not of logistic regression, 4 features with sgd \\(see 'spark-autograd train --help'\\)"), other);
        String none = UserDataTest.failure(UserDataTest.main(concat(new String[] {"train"}, concat(data, "--resume", "--checkpoint", tmp.resolve("nothing").toString()))), 2);
        assertTrue(none.matches("spark-autograd train: --resume: no checkpoint in file:.*/nothing \\(train writes them with --checkpoint-every N\\) .*"), none);
    }

    /**
     * train --batch-size: mini-batch Adam (one job per step, 2,000 rows of 40,000 per step, 20 steps per epoch) reaches
     * the accuracy of full-batch Adam within a point on generated logistic data, in 5 epochs against 150 full-batch
     * steps; the batches follow from --batch-seed (the same seed, the same bits), and lbfgs refuses --batch-size.
     */
    @Test
    void miniBatchAdamReachesTheFullBatchAccuracy() throws Exception {
        String[] data = {"--generate", "40000", "--features", "5", "--partitions", "3", "--seed", "21", "--optimizer", "adam", "--tolerance", "0"};
        String full = run(new TrainJob(), concat(data, "--lr", "0.1", "--max-steps", "150", "--output", tmp.resolve("adam-full").toString()));
        String mini = run(new TrainJob(), concat(data, "--lr", "0.02", "--max-steps", "100", "--batch-size", "2000", "--output", tmp.resolve("adam-mini").toString()));
        assertEquals("at most 2000 rows, 20 steps per epoch (seed 1)", line(mini, "batches:"), mini);
        assertEquals(101, mini.lines().filter(l -> l.startsWith("step ")).count(), mini);
        double a = Double.parseDouble(line(full, "accuracy:")), b = Double.parseDouble(line(mini, "accuracy:"));
        assertTrue(b >= a - 0.01, "mini-batch " + b + " vs full batch " + a + "\n" + mini);
        assertEquals("--max-steps 100 reached, after 100 steps and 101 loss/gradient evaluations", line(mini, "stopped:"), mini);

        String again = run(new TrainJob(), concat(data, "--lr", "0.02", "--max-steps", "5", "--batch-size", "2000", "--output", tmp.resolve("adam-mini-5").toString()));
        String other = run(new TrainJob(), concat(data, "--lr", "0.02", "--max-steps", "5", "--batch-size", "2000", "--batch-seed", "2", "--output", tmp.resolve("adam-mini-5b").toString()));
        List<String> m = Files.readAllLines(tmp.resolve("adam-mini/loss.csv")), m5 = Files.readAllLines(tmp.resolve("adam-mini-5/loss.csv")),
                o5 = Files.readAllLines(tmp.resolve("adam-mini-5b/loss.csv"));
        for (int i = 1; i <= 6; i++) assertEquals(m.get(i).split(",")[1], m5.get(i).split(",")[1], "step " + (i - 1) + "\n" + again);
        // (at the zero start every batch's loss is log 2: its gradient tells the batches apart)
        assertTrue(!m5.get(2).split(",")[2].equals(o5.get(2).split(",")[2]), "another --batch-seed, another first batch\n" + other);
        for (int i = 1; i <= 6; i++) assertEquals(m.get(i).split(",")[2], m5.get(i).split(",")[2], "step " + (i - 1));

        String lbfgs = UserDataTest.failure(UserDataTest.main(concat(new String[] {"train"}, concat(java.util.Arrays.copyOf(data, 8), "--optimizer", "lbfgs", "--batch-size", "10"))), 2);
        assertTrue(lbfgs.startsWith("spark-autograd train: --batch-size needs --optimizer adam or sgd (lbfgs is full-batch)"), lbfgs);
    }

    /** The plot: integer step ticks, a log axis when the loss spans decades, a linear one otherwise. */
    @Test
    void lossPlotAxes() {
        List<Double> decades = List.of(0.69, 0.2, 0.05, 0.01, 0.002, 0.0009, 0.0004);
        org.jfree.chart.JFreeChart chart = LossPlot.chart("t", decades);
        assertTrue(chart.getXYPlot().getRangeAxis() instanceof org.jfree.chart.axis.LogAxis);
        double unit = LossPlot.stepTickUnit(chart);
        assertEquals(Math.rint(unit), unit, 0.0, "integer steps, got " + unit);
        assertTrue(LossPlot.chart("t", List.of(0.69, 0.5, 0.4, 0.35)).getXYPlot().getRangeAxis() instanceof org.jfree.chart.axis.NumberAxis);
        assertTrue(LossPlot.chart("t", List.of(-1.0, -2.0, -30.0)).getXYPlot().getRangeAxis() instanceof org.jfree.chart.axis.NumberAxis);
    }
}
