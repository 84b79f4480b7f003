package dev.sparkautograd.jobs;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.jobs.models.CorrelatedFeatures;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import dev.sparkautograd.optim.LBFGS;
import dev.sparkautograd.optim.NewtonCG;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.SparkSession;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Second order against first order on one logistic regression: L-BFGS and Newton-CG from the same start on the same
 * cached data, each until {@code |grad| <= tol |grad_0|}, counting full passes over the data as the Spark jobs they run
 * (a SparkListener's count, checked against the optimizers' own: L-BFGS's evaluations, Newton-CG's evaluations plus
 * Hessian-vector products). The loss is written with DistTensor ops ({@code softplus(z) - y z} over {@code z = X w + b}),
 * so its gradient and its Hessian-vector products both run fused.
 */
@Command(name = "compare-optimizers",
        description = {"L-BFGS against Newton-CG on a generated logistic regression (AR(1) features",
                "with --correlation make it ill-conditioned): full passes over the data (Spark",
                "jobs) until |grad| <= --relative-tolerance * |grad_0|. Writes compare.csv",
                "(optimizer, passes, |grad|/|grad_0|) and compare.png (both curves, log scale)."})
public final class CompareOptimizersJob extends SparkJob {

    @Option(names = "--rows", paramLabel = "N", description = "Rows generated in memory (default: ${DEFAULT-VALUE}).")
    long rows = 1_000_000;

    @Option(names = "--features", paramLabel = "D", description = "Features (default: ${DEFAULT-VALUE}).")
    int features = 20;

    @Option(names = "--correlation", paramLabel = "RHO", description = "AR(1) correlation of neighbouring features, in (-1, 1) (default: ${DEFAULT-VALUE}).")
    double correlation = 0.998;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the data and the teacher (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--partitions", paramLabel = "P", description = "Partitions (default: Spark's default parallelism).")
    int partitions = 0;

    @Option(names = "--relative-tolerance", paramLabel = "EPS", description = "Stop at |grad| <= EPS |grad_0| (default: ${DEFAULT-VALUE}).")
    double relativeTolerance = 1e-8;

    @Option(names = "--max-passes", paramLabel = "N", description = "Give up an optimizer after this many passes (default: ${DEFAULT-VALUE}).")
    int maxPasses = 2000;

    @Option(names = "--memory", paramLabel = "M", description = "L-BFGS history size (default: ${DEFAULT-VALUE}).")
    int memory = 10;

    @Option(names = "--output", paramLabel = "DIR", description = "Directory for compare.csv and compare.png (any Hadoop path; default: ${DEFAULT-VALUE}).")
    String output = "compare-output";

    @Option(names = "--overwrite", description = "Replace an existing --output directory.")
    boolean overwrite;

    @Override
    protected void validate() {
        if (rows < 1) throw badOption("--rows must be positive, got " + rows);
        if (features < 1) throw badOption("--features must be positive, got " + features);
        if (!(correlation > -1 && correlation < 1)) throw badOption("--correlation must be in (-1, 1), got " + correlation);
        if (partitions < 0) throw badOption("--partitions must not be negative, got " + partitions);
        if (!(relativeTolerance > 0 && relativeTolerance < 1)) throw badOption("--relative-tolerance must be in (0, 1), got " + relativeTolerance);
        if (maxPasses < 1) throw badOption("--max-passes must be positive, got " + maxPasses);
        if (memory < 1) throw badOption("--memory must be positive, got " + memory);
    }

    /** One optimizer's run: the passes (Spark jobs) at each recorded point and |grad|/|grad_0| there. */
    record Curve(String name, List<Integer> passes, List<Double> relativeGradient, boolean reached, int ownCount, double seconds) {
        int total() {
            return passes.get(passes.size() - 1);
        }
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        claimOutput(spark, output, overwrite);
        int parts = partitions > 0 ? partitions : spark.sparkContext().defaultParallelism();
        Model model = new Model(Model.Kind.logistic, features, 2, new int[0]);
        Synthetic syn = new Synthetic(model, rows, parts, seed).withCorrelation(correlation);
        describe(spark, "generating " + rows + " rows");
        DistData d = DistData.fromDataset(syn.dataset(spark), DistData.options().autoStorageLevel(), "features", "label");
        AtomicInteger jobs = new AtomicInteger();
        PassTimer counter = new PassTimer(jobs, spark.sparkContext());
        try {
            DistTensor x = d.tensor("features"), y = d.tensor("label");
            d.rows(); // read and cache the blocks before counting
            out.printf("data:      %d rows, %d features in %d partitions, AR(1) correlation %s (covariance condition number %.4g), seed %d%n",
                    rows, features, parts, correlation, CorrelatedFeatures.conditionNumber(correlation, features), seed);
            out.printf("target:    |grad| <= %s |grad_0|, at most %d passes each%n", relativeTolerance, maxPasses);
            out.flush();
            spark.sparkContext().addSparkListener(counter);
            Curve lbfgsCurve = lbfgs(spark, x, y, jobs);
            String lbfgsTimes = counter.medians();
            Curve newtonCurve = newton(spark, x, y, jobs);
            String newtonTimes = counter.medians();
            List<Curve> curves = List.of(lbfgsCurve, newtonCurve);
            List<String> times = List.of(lbfgsTimes, newtonTimes);
            spark.sparkContext().removeSparkListener(counter);
            out.printf("%-10s %8s %8s %12s %10s  %s%n", "optimizer", "passes", "reached", "|g|/|g0|", "time (s)", "median time per pass");
            for (int i = 0; i < curves.size(); i++) {
                Curve c = curves.get(i);
                out.printf("%-10s %8d %8s %12.3e %10.1f  %s%n", c.name(), c.total(), c.reached() ? "yes" : "no",
                        c.relativeGradient().get(c.relativeGradient().size() - 1), c.seconds(), times.get(i));
                if (c.ownCount() != c.total()) {
                    throw new IllegalStateException(c.name() + ": " + c.total() + " Spark jobs but the optimizer counts " + c.ownCount() + " passes");
                }
            }
            Curve l = curves.get(0), n = curves.get(1);
            if (l.reached() && n.reached()) out.printf("ratio:     Newton-CG took %.2f of L-BFGS's passes%n", (double) n.total() / l.total());
            String csv = HadoopFiles.write(spark, HadoopFiles.child(output, "compare.csv"), o -> {
                StringBuilder sb = new StringBuilder("optimizer,passes,relative_grad_norm\n");
                for (Curve c : curves) {
                    for (int i = 0; i < c.passes().size(); i++) sb.append(String.format("%s,%d,%.17g%n", c.name(), c.passes().get(i), c.relativeGradient().get(i)));
                }
                o.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            });
            String title = String.format("logistic regression, %,d rows, %d features, AR(1) rho %s (cond %.2g)", rows, features, correlation,
                    CorrelatedFeatures.conditionNumber(correlation, features));
            String png = HadoopFiles.write(spark, HadoopFiles.child(output, "compare.png"), o -> {
                System.setProperty("java.awt.headless", "true");
                ChartUtils.writeChartAsPNG(o, chart(title, curves), LossPlot.WIDTH, LossPlot.HEIGHT);
            });
            out.printf("csv:       %s%n", csv);
            out.printf("plot:      %s%n", png);
            out.flush();
            return 0;
        } finally {
            spark.sparkContext().removeSparkListener(counter);
            d.unpersist();
            spark.sparkContext().setJobDescription(null);
        }
    }

    /**
     * Counts the jobs and times them from start to end, by kind: a Hessian-vector product job (its RDD is named so) or
     * a loss+gradient one. {@link #medians} reports and clears the times.
     */
    static final class PassTimer extends SparkListener {
        private final AtomicInteger jobs;
        private final org.apache.spark.SparkContext sc;
        private final java.util.Map<Integer, Long> started = new java.util.concurrent.ConcurrentHashMap<>();
        private final java.util.Map<Integer, Boolean> product = new java.util.concurrent.ConcurrentHashMap<>();
        private final List<Long> gradientMs = java.util.Collections.synchronizedList(new ArrayList<>());
        private final List<Long> productMs = java.util.Collections.synchronizedList(new ArrayList<>());

        PassTimer(AtomicInteger jobs, org.apache.spark.SparkContext sc) {
            this.jobs = jobs;
            this.sc = sc;
        }

        @Override
        public void onJobStart(SparkListenerJobStart e) {
            jobs.incrementAndGet();
            boolean p = false;
            for (org.apache.spark.scheduler.StageInfo st : scala.jdk.javaapi.CollectionConverters.asJava(e.stageInfos())) {
                for (org.apache.spark.storage.RDDInfo r : scala.jdk.javaapi.CollectionConverters.asJava(st.rddInfos())) {
                    p |= r.name() != null && r.name().contains("(Hessian-vector product)");
                }
            }
            started.put(e.jobId(), e.time());
            product.put(e.jobId(), p);
        }

        @Override
        public void onJobEnd(org.apache.spark.scheduler.SparkListenerJobEnd e) {
            Long t0 = started.remove(e.jobId());
            Boolean p = product.remove(e.jobId());
            if (t0 == null) return;
            (Boolean.TRUE.equals(p) ? productMs : gradientMs).add(e.time() - t0);
        }

        /** "gradient 512 ms, Hessian-vector product 498 ms" (the kinds that ran since the last call); clears them. */
        String medians() {
            try {
                sc.listenerBus().waitUntilEmpty(); // every job's end seen
            } catch (Exception e) {
                throw new IllegalStateException("Spark's listener bus did not drain", e);
            }
            String g = median(gradientMs), p = median(productMs);
            gradientMs.clear();
            productMs.clear();
            return "gradient " + g + (p.equals("-") ? "" : ", Hessian-vector product " + p);
        }

        private static String median(List<Long> ms) {
            if (ms.isEmpty()) return "-";
            List<Long> sorted = new ArrayList<>(ms);
            java.util.Collections.sort(sorted);
            return sorted.get(sorted.size() / 2) + " ms";
        }
    }

    private static Tensor loss(DistTensor x, DistTensor y, Tensor w, Tensor b) {
        DistTensor z = x.matmul(w).add(b);
        return z.softplus().sub(y.mul(z)).mean();
    }

    private Curve lbfgs(SparkSession spark, DistTensor x, DistTensor y, AtomicInteger jobs) {
        long start = System.nanoTime();
        int before = jobs.get();
        Tensor w = Tensor.zeros(features).requiresGrad_(true), b = Tensor.scalar(0).requiresGrad_(true);
        // one iteration per step (a point per step on the curve), the strict-decrease line search of train, no tolerances
        LBFGS opt = new LBFGS(List.of(w, b), 1, 1, null, 0, 0, memory, LBFGS.ARMIJO);
        CachedLoss closure = new CachedLoss(spark, x, y, w, b);
        double g0 = closure.gradientNorm();
        List<Integer> passes = new ArrayList<>(List.of(jobs.get() - before));
        List<Double> rel = new ArrayList<>(List.of(1.0));
        boolean reached = false;
        while (jobs.get() - before < maxPasses) {
            opt.step(closure);
            double g = closure.gradientNorm(); // at the accepted point: the line search's last evaluation, no new pass
            passes.add(jobs.get() - before);
            rel.add(g / g0);
            if (g <= relativeTolerance * g0) {
                reached = true;
                break;
            }
            if (opt.stopReason() != null) break;
        }
        return new Curve("L-BFGS", passes, rel, reached, closure.evaluations, (System.nanoTime() - start) / 1e9);
    }

    /**
     * The loss closure for {@code optim.LBFGS}: torch's {@code step} evaluates the closure at its start, where the
     * previous step's line search has just evaluated; that value and gradient are kept (keyed by the parameters'
     * bits), so every pass counted is a new point.
     */
    private final class CachedLoss implements Supplier<Tensor> {
        private final SparkSession spark;
        private final DistTensor x, y;
        private final Tensor w, b;
        int evaluations;
        private double[] at, gw;
        private double loss, gb;

        CachedLoss(SparkSession spark, DistTensor x, DistTensor y, Tensor w, Tensor b) {
            this.spark = spark;
            this.x = x;
            this.y = y;
            this.w = w;
            this.b = b;
        }

        @Override
        public Tensor get() {
            double[] now = java.util.Arrays.copyOf(w.toArray(), features + 1);
            now[features] = b.item();
            if (at == null || !java.util.Arrays.equals(now, at)) {
                w.setGrad(null);
                b.setGrad(null);
                describe(spark, "L-BFGS loss+gradient");
                Tensor l = loss(x, y, w, b);
                l.backward();
                evaluations++;
                at = now;
                loss = l.item();
                gw = w.grad().toArray();
                gb = b.grad().item();
            }
            w.setGrad(Tensor.fromArray(gw.clone(), features));
            b.setGrad(Tensor.scalar(gb));
            return Tensor.scalar(loss);
        }

        double gradientNorm() {
            get();
            double s = gb * gb;
            for (double g : gw) s += g * g;
            return Math.sqrt(s);
        }
    }

    private Curve newton(SparkSession spark, DistTensor x, DistTensor y, AtomicInteger jobs) {
        long start = System.nanoTime();
        int before = jobs.get();
        Tensor w = Tensor.zeros(features).requiresGrad_(true), b = Tensor.scalar(0).requiresGrad_(true);
        // one trial step per call, so that the curve has a point per step; each call starts where the last one left off
        NewtonCG opt = new NewtonCG(List.of(w, b), NewtonCG.Options.defaults().maxIter(1).tolerance(0).relativeTolerance(relativeTolerance));
        Supplier<Tensor> closure = () -> {
            describe(spark, "Newton-CG loss+gradient and Hessian-vector products");
            return loss(x, y, w, b);
        };
        NewtonCG.Result r = opt.evaluate(closure);
        double g0 = r.gradientNorm();
        int own = r.evaluations();
        List<Integer> passes = new ArrayList<>(List.of(jobs.get() - before));
        List<Double> rel = new ArrayList<>(List.of(1.0));
        while (r.reason() == NewtonCG.StopReason.MAX_ITERATIONS && jobs.get() - before < maxPasses) {
            r = opt.step(closure);
            own += r.evaluations() + r.cgIterations();
            passes.add(jobs.get() - before);
            rel.add(r.gradientNorm() / g0);
        }
        return new Curve("Newton-CG", passes, rel, r.reason() == NewtonCG.StopReason.GRADIENT_TOLERANCE, own, (System.nanoTime() - start) / 1e9);
    }

    static JFreeChart chart(String title, List<Curve> curves) {
        XYSeriesCollection data = new XYSeriesCollection();
        double min = 1;
        for (Curve c : curves) {
            XYSeries s = new XYSeries(c.name() + " (" + c.total() + " passes)");
            for (int i = 0; i < c.passes().size(); i++) {
                double v = c.relativeGradient().get(i);
                if (v > 0) {
                    s.add((double) c.passes().get(i), v);
                    min = Math.min(min, v);
                }
            }
            data.addSeries(s);
        }
        NumberAxis passes = new NumberAxis("full passes over the data (Spark jobs)");
        passes.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        LogAxis y = new LogAxis("|grad| / |grad_0| (log scale)");
        y.setNumberFormatOverride(new DecimalFormat("0E0"));
        y.setRange(min / 2, 2);
        XYLineAndShapeRenderer line = new XYLineAndShapeRenderer(true, true);
        Color[] colors = {new Color(31, 119, 180), new Color(214, 39, 40)};
        for (int i = 0; i < curves.size(); i++) {
            line.setSeriesPaint(i, colors[i % colors.length]);
            line.setSeriesStroke(i, new BasicStroke(2f));
            line.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-2, -2, 4, 4));
        }
        XYPlot plot = new XYPlot(data, passes, y, line);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(220, 220, 220));
        plot.setRangeGridlinePaint(new Color(220, 220, 220));
        JFreeChart chart = new JFreeChart(title, new java.awt.Font("SansSerif", java.awt.Font.BOLD, 14), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }
}
