package dev.sparkautograd.jobs;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.dist.AutoStorageLevel;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import dev.sparkautograd.ml.MiniBatches;
import dev.sparkautograd.nn.Module;
import dev.sparkautograd.optim.Adam;
import dev.sparkautograd.optim.LBFGS;
import dev.sparkautograd.optim.NewtonCG;
import dev.sparkautograd.optim.SGD;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Fits a model (an nn module, {@link Model#module}) to a dataset with the library's torch-style optimizers:
 * {@code optim.LBFGS} (one iteration per step, the strict-decrease "armijo" line search), {@code optim.Adam},
 * {@code optim.SGD} or {@code optim.NewtonCG}; full batch, one Spark job per loss and gradient, or for Adam and
 * SGD mini-batches drawn as the estimators draw them ({@code ml.MiniBatches}), one Spark job per step.
 */
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
                "params.npy, model.properties (for predict), loss.csv and loss.png to",
                "--output. On generated data it also compares the fit with the teacher.",
                "",
                "With --checkpoint-every N the parameters, the optimizer's state and the step",
                "go to --checkpoint every N steps; --resume continues from the newest one and",
                "gives the same parameters, bit for bit, as a run that was not interrupted",
                "(also when the driver was killed: the last complete checkpoint counts).",
                "The last step is always checkpointed.",
                "",
                "With --batch-size B (adam, sgd) each step is one Spark job over a mini-batch",
                "of at most B rows: every partition gives its share, in an order seeded by",
                "--batch-seed, the epoch and the partition; an epoch (ceil(rows / B) steps)",
                "reads every row once. --max-steps counts steps, not epochs (the estimators'",
                "maxIter E is --max-steps E * ceil(rows / B)); --tolerance is not applied",
                "(a mini-batch gradient is noisy). A step's line shows its mini-batch's loss",
                "and gradient norm at the parameters it started from."})
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

    @Option(names = "--init-seed", paramLabel = "S", description = "Seed of the random starting point of the mlp and the fm (default: ${DEFAULT-VALUE}).")
    long initSeed = 42;

    @Option(names = "--output", paramLabel = "DIR", description = "Directory for params.npy, loss.csv, loss.png (any Hadoop path; default: ${DEFAULT-VALUE}).")
    String output = "train-output";

    @Option(names = "--reg", paramLabel = "LAMBDA", description = "L2 penalty: minimize the mean loss + LAMBDA/2 * |w|^2 over the weights, biases excluded (Spark's regParam; default: ${DEFAULT-VALUE}).")
    double reg = 0;

    @Option(names = "--overwrite", description = "Replace an existing --output directory.")
    boolean overwrite;

    @Option(names = "--checkpoint-every", paramLabel = "N", description = "Write a checkpoint every N steps (default: 0, none).")
    int checkpointEvery;

    @Option(names = "--checkpoint", paramLabel = "DIR", description = "Checkpoint directory (any Hadoop path; default: the directory 'checkpoint' in --output).")
    String checkpoint;

    @Option(names = "--batch-size", paramLabel = "B", description = "Rows per step of adam and sgd (default: 0, the full batch).")
    int batchSize;

    @Option(names = "--batch-seed", paramLabel = "S", description = "Seed of the mini-batches' order (default: ${DEFAULT-VALUE}).")
    long batchSeed = 1;

    @Option(names = "--resume", description = "Continue from the newest checkpoint in --checkpoint (same data and options as the interrupted run).")
    boolean resume;

    /** L-BFGS's tolerance on the relative change of the loss and of the parameters: a few ulps, so a fit is as exact as the arithmetic allows. */
    static final double LBFGS_TOLERANCE_CHANGE = 1e-15;

    @Override
    protected void validate() {
        String problem = data.validate();
        if (problem != null) throw badOption(problem);
        if (maxSteps < 1) throw badOption("--max-steps must be positive, got " + maxSteps);
        if (!(lr > 0)) throw badOption("--lr must be positive, got " + lr);
        if (memory < 1) throw badOption("--memory must be positive, got " + memory);
        if (!(reg >= 0) || Double.isInfinite(reg)) throw badOption("--reg must be a non-negative number, got " + reg);
        if (!(tolerance >= 0)) throw badOption("--tolerance must not be negative, got " + tolerance);
        if (checkpointEvery < 0) throw badOption("--checkpoint-every must not be negative, got " + checkpointEvery);
        if (optimizer == Optimizer.newton && (checkpointEvery > 0 || resume)) {
            throw badOption("--optimizer newton does not checkpoint (its trust region has no state dict): drop --checkpoint-every and --resume");
        }
        if (batchSize < 0) throw badOption("--batch-size must not be negative, got " + batchSize);
        if (batchSize > 0 && optimizer != Optimizer.adam && optimizer != Optimizer.sgd) {
            throw badOption("--batch-size needs --optimizer adam or sgd (" + optimizer + " is full-batch)");
        }
        if (resume && overwrite) throw badOption("--resume continues in --output; it cannot be combined with --overwrite");
    }

    private String checkpointDir() {
        return checkpoint != null ? checkpoint : HadoopFiles.child(output, "checkpoint");
    }

    /**
     * The loss and gradient at the module's current parameters, one Spark job, as the optimizers' closure. The
     * last evaluation is remembered: a call at the same parameter bits (L-BFGS re-evaluates where its line search
     * ended; train reads the loss of the accepted step) restores its gradients instead of running the job again.
     */
    private final class Evaluation implements Supplier<Tensor> {
        private final SparkSession spark;
        private final Model model;
        private final Module module;
        private final List<Tensor> params;
        private final DistTensor x, y;
        private final Progress progress;
        int count;
        private double[] at;
        private double loss;
        private double[][] grads;

        Evaluation(SparkSession spark, Model model, Module module, DistTensor x, DistTensor y, Progress progress) {
            this.spark = spark;
            this.model = model;
            this.module = module;
            this.params = module.parameters();
            this.x = x;
            this.y = y;
            this.progress = progress;
        }

        private double[] values() {
            double[][] v = params.stream().map(Tensor::toArray).toArray(double[][]::new);
            return Arrays.stream(v).flatMapToDouble(Arrays::stream).toArray();
        }

        @Override
        public Tensor get() {
            double[] now = values();
            if (at != null && Arrays.equals(now, at)) {
                for (int i = 0; i < params.size(); i++) params.get(i).setGrad(Tensor.fromArray(grads[i].clone(), params.get(i).shape()));
                return Tensor.scalar(loss);
            }
            for (Tensor p : params) p.setGrad(null);
            describe(spark, modelOptions.kind.name() + ": step " + progress.step() + " loss+gradient");
            Tensor l = model.loss(x, y, module);
            if (reg > 0) l = l.add(Model.l2(module, reg));
            l.backward();
            count++;
            at = now;
            loss = l.item();
            grads = params.stream().map(p -> p.grad() == null ? new double[p.numel()] : p.grad().toArray()).toArray(double[][]::new);
            return l;
        }

        /** The loss at the current parameters (their gradients set). */
        double loss() {
            return get().item();
        }

        double gradientNorm() {
            double s = 0;
            for (Tensor p : params) if (p.grad() != null) for (double g : p.grad().toArray()) s += g * g;
            return Math.sqrt(s);
        }
    }

    private static String batches(int size, long seed) {
        return size > 0 ? "--batch-size " + size + " --batch-seed " + seed : "the full batch";
    }

    private String checkpoint(SparkSession spark, Model model, int step, Progress progress, int evaluations, dev.sparkautograd.optim.Optimizer opt, double[] params)
            throws java.io.IOException {
        return new Checkpoint(model.describe(), optimizer.name(), step, evaluations, progress.curve(), opt.stateDict(), params)
                .batches(batchSize, batchSeed).write(spark, checkpointDir());
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        long start = System.nanoTime();
        Checkpoint saved = null;
        if (resume) {
            saved = Checkpoint.latest(spark, checkpointDir());
            if (saved == null) throw badOption("--resume: no checkpoint in " + Checkpoint.qualified(spark, checkpointDir()) + " (train writes them with --checkpoint-every N)");
        } else {
            claimOutput(spark, output, overwrite);
            if (checkpoint != null && checkpointEvery > 0) claimOutput(spark, checkpoint, overwrite);
        }
        String who = modelOptions.kind.name();
        describe(spark, who + ": reading and checking the data");
        // Read uncached, then cached at the level chosen for the blocks' size once the counting job knows it.
        DataOptions.Input in = data.load(spark, modelOptions, null);
        DistData d = in.data();
        try {
            DistTensor x = in.x(), y = in.y();
            AutoStorageLevel cache = in.persistAtAutoLevel(spark.sparkContext());
            Model model = in.model();
            Synthetic syn = in.synthetic();
            long rows = d.rows();
            if (saved != null && (!saved.model.equals(model.describe()) || !saved.optimizer.equals(optimizer.name()))) {
                throw badOption("--resume: the checkpoint in " + Checkpoint.qualified(spark, checkpointDir()) + " is of " + saved.model + " with "
                        + saved.optimizer + ", not of " + model.describe() + " with " + optimizer);
            }
            if (saved != null && (saved.batchSize != batchSize || (batchSize > 0 && saved.batchSeed != batchSeed))) {
                throw badOption("--resume: the checkpoint in " + Checkpoint.qualified(spark, checkpointDir()) + " was written with " + batches(saved.batchSize, saved.batchSeed)
                        + ", not with " + batches(batchSize, batchSeed));
            }
            // the batches follow from the step, the seed and the partitioning: a resumed run draws the rest of the same sequence
            MiniBatches batches = batchSize > 0 ? new MiniBatches(d, batchSize, batchSeed) : null;
            out.printf("model:     %s (%d parameters), %s%s%n", model.describe(), model.size(), optimizer,
                    reg > 0 ? ", L2 penalty " + reg + "/2 |w|^2" : "");
            out.printf("data:      %d rows in %d partitions (%s)%n", rows, d.numPartitions(), in.source());
            if (cache != null) out.printf("cache:     %s%n", cache.describe());
            if (in.labelNote() != null) out.printf("labels:    %s%n", in.labelNote());
            if (batches != null) out.printf("batches:   at most %d rows, %d steps per epoch (seed %d)%n", batchSize, batches.stepsPerEpoch(), batchSeed);
            if (saved != null) out.printf("resumed:   from step %d (%s)%n", saved.step, Checkpoint.qualified(spark, checkpointDir()));
            out.flush();

            Progress progress = new Progress(out, rows, maxSteps, tolerance);
            Module module = model.module(saved != null ? saved.params : model.initial(initSeed));
            List<Tensor> ps = module.parameters();
            Evaluation f = new Evaluation(spark, model, module, x, y, progress);
            dev.sparkautograd.optim.Optimizer opt = switch (optimizer) {
                // one iteration per step, so every step is a progress line; tolerance_grad 0: train applies --tolerance itself
                case lbfgs -> new LBFGS(ps, 1, 1, null, 0, LBFGS_TOLERANCE_CHANGE, memory, LBFGS.ARMIJO);
                case adam -> new Adam(ps, lr);
                case sgd -> new SGD(ps, lr);
                case newton -> null;
            };
            int first = 1;
            if (saved != null) {
                opt.loadStateDict(saved.optimizerStateDict());
                progress.resume(saved.curve);
                f.count = saved.evaluations;
                first = saved.step + 1;
            }
            // One trial step of the trust-region method per progress line; the radius carries over between calls.
            // The loss closure is differentiated with createGraph: its gradient is one job, each product one more.
            NewtonCG newton = optimizer == Optimizer.newton ? new NewtonCG(ps, NewtonCG.Options.defaults().maxIter(1).tolerance(tolerance)) : null;
            Supplier<Tensor> newtonLoss = () -> {
                describe(spark, who + ": step " + progress.step() + " loss+gradient (Newton-CG)");
                Tensor l = model.loss(x, y, module);
                f.count++;
                return reg > 0 ? l.add(Model.l2(module, reg)) : l;
            };
            double loss, gradNorm;
            if (newton != null) { // its first step starts from this evaluation (no second pass)
                NewtonCG.Result start0 = newton.evaluate(newtonLoss);
                loss = start0.loss();
                gradNorm = start0.gradientNorm();
            } else if (batches != null && saved != null) { // each step evaluates its own batch
                loss = gradNorm = Double.NaN;
            } else { // with mini-batches step 0 is the whole data's loss at the start
                loss = f.loss();
                gradNorm = f.gradientNorm();
            }
            double[] params = Model.flatten(module);
            if (saved == null) progress.record(loss, gradNorm, model.weightNorm(params), f.count);
            String stop = "--max-steps " + maxSteps + " reached";
            String checkpointed = null;
            int checkpointedStep = first - 1, done = first - 1;
            double read = 0; // rows read by the mini-batch steps so far, step 0 (the whole data) included, for rows/s
            if (batches != null) {
                read = rows;
                for (long k = 0; k < first - 1; k++) read += batches.rows(k);
            }
            for (int step = first; step <= maxSteps; step++) {
                if (batches == null && gradNorm < tolerance) {
                    stop = "gradient norm " + String.format("%.3g", gradNorm) + " < --tolerance " + tolerance;
                    break;
                }
                done = step;
                if (opt instanceof LBFGS lbfgs) {
                    lbfgs.step(f);
                    double[] now = Model.flatten(module);
                    if (!Arrays.equals(now, params)) { // a step was taken (a failed line search leaves the parameters)
                        params = now;
                        loss = f.loss();
                        gradNorm = f.gradientNorm();
                        progress.record(loss, gradNorm, model.weightNorm(params), f.count);
                    }
                    if (lbfgs.stopReason() != null) {
                        stop = lbfgs.stopReason();
                        break;
                    }
                } else if (newton != null) {
                    NewtonCG.Result r = newton.step(newtonLoss);
                    params = Model.flatten(module);
                    loss = r.loss();
                    gradNorm = r.gradientNorm();
                    progress.record(loss, gradNorm, model.weightNorm(params), f.count);
                    if (r.reason() != NewtonCG.StopReason.MAX_ITERATIONS) {
                        stop = "Newton-CG: " + r.reason().toString().toLowerCase(Locale.ROOT).replace('_', ' ');
                        break;
                    }
                } else if (batches != null) {
                    // one job: the batch's rows are picked inside its tasks
                    DistTensor[] b = in.of(batches.batch(d, step - 1L));
                    for (Tensor p : ps) p.setGrad(null);
                    describe(spark, who + ": step " + step + " mini-batch loss+gradient");
                    Tensor l = model.loss(b[0], b[1], module);
                    if (reg > 0) l = l.add(Model.l2(module, reg));
                    l.backward();
                    f.count++;
                    loss = l.item();
                    gradNorm = f.gradientNorm();
                    opt.step();
                    params = Model.flatten(module);
                    read += batches.rows(step - 1L);
                    progress.recordRows(loss, gradNorm, model.weightNorm(params), read);
                    if (!Double.isFinite(loss)) {
                        stop = "the mini-batch loss became " + loss + " (try a smaller --lr)";
                        break;
                    }
                } else {
                    opt.step(); // from the gradients at the current parameters
                    loss = f.loss();
                    gradNorm = f.gradientNorm();
                    params = Model.flatten(module);
                    progress.record(loss, gradNorm, model.weightNorm(params), f.count);
                }
                if (checkpointEvery > 0 && step % checkpointEvery == 0) {
                    checkpointed = checkpoint(spark, model, step, progress, f.count, opt, params);
                    checkpointedStep = step;
                }
            }
            if (checkpointEvery > 0 && done != checkpointedStep) { // the last step too (parameters and state: cheap)
                checkpointed = checkpoint(spark, model, done, progress, f.count, opt, params);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf("stopped:   %s, after %d steps and %d loss/gradient evaluations%n", stop, progress.steps(), f.count);
            String diverging = reg == 0 && model.isClassifier() ? progress.divergence() : null;
            if (diverging != null) out.printf("warning:   %s%n", diverging);

            final double[] fitted = params;
            String paramsFile = HadoopFiles.write(spark, HadoopFiles.child(output, "params.npy"), o -> Npy.write(o, fitted, fitted.length));
            HadoopFiles.write(spark, HadoopFiles.child(output, SavedModel.FILE), o -> SavedModel.of(model).write(o));
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
                if (model.kind() != Model.Kind.mlp && model.kind() != Model.Kind.fm) { // (their parameters are not identifiable)
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
            if (checkpointed != null) out.printf("checkpoint: %s%n", checkpointed);
            out.flush();
            return 0;
        } finally {
            d.unpersist();
            spark.sparkContext().setJobDescription(null);
        }
    }
}
