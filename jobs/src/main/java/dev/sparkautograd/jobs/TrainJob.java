package dev.sparkautograd.jobs;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import dev.sparkautograd.optim.AdamMinimizer;
import dev.sparkautograd.optim.LbfgsMinimizer;
import dev.sparkautograd.optim.NewtonCG;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

/** Fits a model to a dataset: full-batch L-BFGS, Newton-CG, Adam or gradient descent, one Spark job per gradient. */
@Command(name = "train",
        description = {"Fit a model to a dataset with full-batch L-BFGS, Newton-CG (trust-region,",
                "Hessian-vector products), Adam or gradient descent.",
                "",
                "Every loss and gradient is one Spark job over the whole (cached) dataset;",
                "with newton each Hessian-vector product is one more.",
                "One line per step: step, loss, gradient norm, rows/s, elapsed time, ETA",
                "(~: extrapolated from the gradient norm's recent decrease; <=: at --max-steps).",
                "Stops when the gradient norm falls below --tolerance, when L-BFGS makes no",
                "more progress (the reason is printed), or after --max-steps. Writes",
                "params.npy, loss.csv and loss.png to --output. On generated data it also",
                "compares the fit with the teacher."})
public final class TrainJob extends SparkJob {

    public enum Optimizer { lbfgs, newton, adam, sgd }

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Mixin
    DataOptions data = new DataOptions();

    @Option(names = "--optimizer", paramLabel = "OPT", description = "lbfgs, newton, adam or sgd (default: ${DEFAULT-VALUE}).")
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

    @Option(names = "--reg", paramLabel = "LAMBDA", description = "L2 penalty: minimize the mean loss + LAMBDA/2 * |w|^2 over the weights, biases excluded (Spark's regParam; default: ${DEFAULT-VALUE}).")
    double reg = 0;

    @Option(names = "--overwrite", description = "Replace an existing --output directory.")
    boolean overwrite;

    @Override
    protected void validate() {
        String problem = data.validate();
        if (problem != null) throw badOption(problem);
        if (maxSteps < 1) throw badOption("--max-steps must be positive, got " + maxSteps);
        if (!(lr > 0)) throw badOption("--lr must be positive, got " + lr);
        if (memory < 1) throw badOption("--memory must be positive, got " + memory);
        if (!(reg >= 0) || Double.isInfinite(reg)) throw badOption("--reg must be a non-negative number, got " + reg);
        if (!(tolerance >= 0)) throw badOption("--tolerance must not be negative, got " + tolerance);
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        long start = System.nanoTime();
        claimOutput(spark, output, overwrite);
        String who = modelOptions.kind.name();
        describe(spark, who + ": reading and checking the data");
        // Serialized (raw arrays through Kryo): the cache's memory is counted exactly, and blocks that do not fit
        // spill to disk instead of failing the job (see the README's "Data larger than memory").
        DataOptions.Input in = data.load(spark, modelOptions, StorageLevel.MEMORY_AND_DISK_SER());
        DistData d = in.data();
        try {
            DistTensor x = in.x(), y = in.y();
            Model model = in.model();
            Synthetic syn = in.synthetic();
            long rows = d.rows();
            out.printf("model:     %s (%d parameters), %s%s%n", model.describe(), model.size(), optimizer,
                    reg > 0 ? ", L2 penalty " + reg + "/2 |w|^2" : "");
            out.printf("data:      %d rows in %d partitions (%s)%n", rows, d.numPartitions(), in.source());
            if (in.labelNote() != null) out.printf("labels:    %s%n", in.labelNote());
            out.flush();

            Progress progress = new Progress(out, rows, maxSteps, tolerance);
            int[] evaluations = {0};
            dev.sparkautograd.optim.Objective f = (at, grad) -> {
                describe(spark, who + ": step " + progress.step() + " loss+gradient");
                List<Tensor> ps = model.unflatten(at, true);
                Tensor loss = model.loss(x, y, ps);
                if (reg > 0) loss = loss.add(model.l2(ps, reg));
                loss.backward();
                double[] g = Model.flatten(ps.stream().map(Tensor::grad).toList());
                System.arraycopy(g, 0, grad, 0, g.length);
                evaluations[0]++;
                return loss.item();
            };
            double[] params = model.initial(initSeed);
            String stop = "--max-steps " + maxSteps + " reached";
            LbfgsMinimizer lbfgs = null;
            AdamMinimizer adam = null;
            double[] grad = new double[params.length];
            double loss, gradNorm;
            NewtonCG newton = null;
            List<Tensor> newtonParams = null;
            Supplier<Tensor> newtonLoss = null;
            if (optimizer == Optimizer.lbfgs) {
                lbfgs = new LbfgsMinimizer(f, params, memory);
                loss = lbfgs.value();
                grad = lbfgs.gradient();
            } else if (optimizer == Optimizer.newton) {
                // One trial step of the trust-region method per progress line; the radius carries over between calls.
                // The loss closure is differentiated with createGraph: its gradient is one job, each product one more.
                List<Tensor> ps = model.unflatten(params, true);
                newtonParams = ps;
                newton = new NewtonCG(ps, NewtonCG.Options.defaults().maxIter(1).tolerance(tolerance));
                newtonLoss = () -> {
                    describe(spark, who + ": step " + progress.step() + " loss+gradient (Newton-CG)");
                    Tensor l = model.loss(x, y, ps);
                    evaluations[0]++;
                    return reg > 0 ? l.add(model.l2(ps, reg)) : l;
                };
                loss = f.evaluate(params, grad);
            } else {
                adam = optimizer == Optimizer.adam ? new AdamMinimizer(params.length, lr) : AdamMinimizer.sgd(params.length, lr);
                loss = f.evaluate(params, grad);
            }
            gradNorm = GradientJob.norm(grad);
            progress.record(loss, gradNorm, model.weightNorm(params), evaluations[0]);
            for (int step = 1; step <= maxSteps; step++) {
                if (gradNorm < tolerance) {
                    stop = "gradient norm " + String.format("%.3g", gradNorm) + " < --tolerance " + tolerance;
                    break;
                }
                if (lbfgs != null) {
                    boolean more = lbfgs.step();
                    if (lbfgs.iterations() < step) { // no step was taken
                        stop = lbfgs.stopReason();
                        break;
                    }
                    params = lbfgs.x();
                    loss = lbfgs.value();
                    gradNorm = lbfgs.gradientNorm();
                    progress.record(loss, gradNorm, model.weightNorm(params), evaluations[0]);
                    if (!more) {
                        stop = lbfgs.stopReason();
                        break;
                    }
                } else if (newton != null) {
                    NewtonCG.Result r = newton.step(newtonLoss);
                    params = Model.flatten(newtonParams);
                    loss = r.loss();
                    gradNorm = r.gradientNorm();
                    progress.record(loss, gradNorm, model.weightNorm(params), evaluations[0]);
                    if (r.reason() != NewtonCG.StopReason.MAX_ITERATIONS) {
                        stop = "Newton-CG: " + r.reason().toString().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
                        break;
                    }
                } else {
                    adam.step(params, grad);
                    loss = f.evaluate(params, grad);
                    gradNorm = GradientJob.norm(grad);
                    progress.record(loss, gradNorm, model.weightNorm(params), evaluations[0]);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf("stopped:   %s, after %d steps and %d loss/gradient evaluations%n", stop, progress.steps(), evaluations[0]);
            String diverging = reg == 0 && model.isClassifier() ? progress.divergence() : null;
            if (diverging != null) out.printf("warning:   %s%n", diverging);

            final double[] fitted = params;
            String paramsFile = HadoopFiles.write(spark, HadoopFiles.child(output, "params.npy"), o -> Npy.write(o, fitted, fitted.length));
            String csvFile = HadoopFiles.write(spark, HadoopFiles.child(output, "loss.csv"), o -> {
                StringBuilder sb = new StringBuilder("step,loss,grad_norm,elapsed_s\n");
                for (double[] c : progress.curve()) sb.append(String.format("%d,%.17g,%.17g,%.3f%n", (long) c[0], c[1], c[2], c[3]));
                o.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            });
            String pngFile = HadoopFiles.write(spark, HadoopFiles.child(output, "loss.png"),
                    o -> LossPlot.write(o, model.describe() + ", " + optimizer + ", " + rows + " rows", progress.losses()));

            describe(spark, who + ": " + model.metricName() + " of the fit");
            double metric = model.metric(x, y, fitted);
            out.printf("%-10s %.6f%n", model.metricName() + ":", metric);
            if (syn != null) {
                double[] teacher = syn.teacher();
                describe(spark, who + ": " + model.metricName() + " of the teacher");
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
            spark.sparkContext().setJobDescription(null);
        }
    }

}
