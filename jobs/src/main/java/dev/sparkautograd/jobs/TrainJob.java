package dev.sparkautograd.jobs;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import dev.sparkautograd.optim.AdamMinimizer;
import dev.sparkautograd.optim.Lbfgs;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Fits a model to a dataset: full-batch L-BFGS, Adam or gradient descent, one Spark job per gradient. */
@Command(name = "train",
        description = {"Fit a model to a dataset with full-batch L-BFGS, Adam or gradient descent.",
                "",
                "Every loss and gradient is one Spark job over the whole (cached) dataset.",
                "One line per step: step, loss, gradient norm, rows/s, elapsed time, ETA",
                "(at --max-steps). Stops when the gradient norm falls below --tolerance,",
                "when L-BFGS can no longer decrease the loss, or after --max-steps. Writes",
                "params.npy, loss.csv and loss.png to --output. On generated data it also",
                "compares the fit with the teacher."})
public final class TrainJob extends SparkJob {

    public enum Optimizer { lbfgs, adam, sgd }

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Mixin
    DataOptions data = new DataOptions();

    @Option(names = "--optimizer", paramLabel = "OPT", description = "lbfgs, adam or sgd (default: ${DEFAULT-VALUE}).")
    Optimizer optimizer = Optimizer.lbfgs;

    @Option(names = "--lr", paramLabel = "RATE", description = "Learning rate of adam and sgd (default: ${DEFAULT-VALUE}).")
    double lr = 0.1;

    @Option(names = "--memory", paramLabel = "M", description = "L-BFGS history size (default: ${DEFAULT-VALUE}).")
    int memory = 10;

    @Option(names = "--max-steps", paramLabel = "N", description = "At most this many steps (default: ${DEFAULT-VALUE}).")
    int maxSteps = 100;

    @Option(names = "--tolerance", paramLabel = "EPS", description = "Stop when the gradient norm is below this (default: ${DEFAULT-VALUE}).")
    double tolerance = 1e-6;

    @Option(names = "--init-seed", paramLabel = "S", description = "Seed of the mlp's random starting point (default: ${DEFAULT-VALUE}).")
    long initSeed = 42;

    @Option(names = "--output", paramLabel = "DIR", description = "Directory for params.npy, loss.csv, loss.png (any Hadoop path; default: ${DEFAULT-VALUE}).")
    String output = "train-output";

    @Override
    protected void validate() {
        String problem = data.validate();
        if (problem != null) throw badOption(problem);
        if (maxSteps < 1) throw badOption("--max-steps must be positive, got " + maxSteps);
        if (!(lr > 0)) throw badOption("--lr must be positive, got " + lr);
        if (memory < 1) throw badOption("--memory must be positive, got " + memory);
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        long start = System.nanoTime();
        Synthetic syn = data.synthetic(spark, modelOptions);
        DistData d = DataOptions.distData(data.load(spark, modelOptions)).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            DistTensor x = d.tensor("features"), y = d.tensor("label");
            Model model = DataOptions.model(modelOptions, x.shape()[1]);
            long rows = d.rows();
            out.printf("model:     %s (%d parameters), %s%n", model.describe(), model.size(), optimizer);
            out.printf("data:      %d rows in %d partitions (%s)%n", rows, d.numPartitions(),
                    syn != null ? "generated, seed " + data.seed : data.input);
            out.flush();

            List<Double> losses = new ArrayList<>();
            List<double[]> curve = new ArrayList<>(); // step, loss, grad norm, elapsed
            double[] gradNorm = {Double.NaN};
            int[] evaluations = {0};
            dev.sparkautograd.optim.Objective f = (at, grad) -> {
                List<Tensor> ps = model.unflatten(at, true);
                Tensor loss = model.loss(x, y, ps);
                loss.backward();
                double[] g = Model.flatten(ps.stream().map(Tensor::grad).toList());
                System.arraycopy(g, 0, grad, 0, g.length);
                evaluations[0]++;
                return loss.item();
            };
            double[] params = model.initial(initSeed);
            long trainStart = System.nanoTime();
            String stop = "--max-steps " + maxSteps + " reached";
            Lbfgs lbfgs = null;
            AdamMinimizer adam = null;
            double[] grad = new double[params.length];
            double loss;
            if (optimizer == Optimizer.lbfgs) {
                lbfgs = new Lbfgs(f, params, memory);
                loss = lbfgs.value();
                grad = lbfgs.gradient();
            } else {
                adam = optimizer == Optimizer.adam ? new AdamMinimizer(params.length, lr) : AdamMinimizer.sgd(params.length, lr);
                loss = f.evaluate(params, grad);
            }
            gradNorm[0] = GradientJob.norm(grad);
            record(out, curve, losses, 0, loss, gradNorm[0], rows, evaluations[0], trainStart, 0);
            for (int step = 1; step <= maxSteps; step++) {
                if (gradNorm[0] < tolerance) {
                    stop = "gradient norm " + String.format("%.3g", gradNorm[0]) + " < --tolerance " + tolerance;
                    break;
                }
                if (lbfgs != null) {
                    if (!lbfgs.step()) {
                        stop = "no further decrease along the L-BFGS direction (converged to machine precision)";
                        break;
                    }
                    params = lbfgs.x();
                    loss = lbfgs.value();
                    gradNorm[0] = lbfgs.gradientNorm();
                } else {
                    adam.step(params, grad);
                    loss = f.evaluate(params, grad);
                    gradNorm[0] = GradientJob.norm(grad);
                }
                record(out, curve, losses, step, loss, gradNorm[0], rows, evaluations[0], trainStart, maxSteps - step);
                if (step == maxSteps) stop = "--max-steps " + maxSteps + " reached";
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf("stopped:   %s, after %d steps and %d loss/gradient evaluations%n", stop, curve.size() - 1, evaluations[0]);

            final double[] fitted = params;
            String paramsFile = HadoopFiles.write(spark, HadoopFiles.child(output, "params.npy"), o -> Npy.write(o, fitted, fitted.length));
            String csvFile = HadoopFiles.write(spark, HadoopFiles.child(output, "loss.csv"), o -> {
                StringBuilder sb = new StringBuilder("step,loss,grad_norm,elapsed_s\n");
                for (double[] c : curve) sb.append(String.format("%d,%.17g,%.17g,%.3f%n", (long) c[0], c[1], c[2], c[3]));
                o.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            });
            String pngFile = HadoopFiles.write(spark, HadoopFiles.child(output, "loss.png"),
                    o -> LossPlot.write(o, model.describe() + ", " + optimizer + ", " + rows + " rows", losses));

            double metric = model.metric(x, y, fitted);
            out.printf("%-10s %.6f%n", model.metricName() + ":", metric);
            if (syn != null) {
                double[] teacher = syn.teacher();
                out.printf("teacher:   %s %.6f on the same data", model.metricName(), model.metric(x, y, teacher));
                if (model.kind() != Model.Kind.mlp) {
                    double num = 0, den = 0;
                    for (int i = 0; i < teacher.length; i++) {
                        num += (fitted[i] - teacher[i]) * (fitted[i] - teacher[i]);
                        den += teacher[i] * teacher[i];
                    }
                    out.printf("; parameter error |fit - teacher| / |teacher| = %.4f", Math.sqrt(num / den));
                }
                out.println();
            }
            out.printf("time:      %.1f s%n", seconds);
            out.printf("params:    %s%n", paramsFile);
            out.printf("loss:      %s%n", csvFile);
            out.printf("plot:      %s%n", pngFile);
            out.flush();
            return 0;
        } finally {
            d.unpersist();
        }
    }

    private static void record(PrintWriter out, List<double[]> curve, List<Double> losses, int step, double loss, double gradNorm,
                               long rows, int evaluations, long trainStart, int stepsLeft) {
        double elapsed = (System.nanoTime() - trainStart) / 1e9;
        losses.add(loss);
        curve.add(new double[] {step, loss, gradNorm, elapsed});
        double rowsPerSecond = evaluations * (double) rows / Math.max(elapsed, 1e-9);
        double eta = step == 0 ? Double.NaN : elapsed / step * stepsLeft;
        out.printf("step %4d  loss %.8f  |grad| %.3e  %,11.0f rows/s  elapsed %6.1f s  ETA %s%n",
                step, loss, gradNorm, rowsPerSecond, elapsed, Double.isNaN(eta) ? "-" : String.format("%.0f s", eta));
        out.flush();
    }
}
