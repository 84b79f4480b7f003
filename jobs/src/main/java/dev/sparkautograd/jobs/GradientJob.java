package dev.sparkautograd.jobs;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.nn.Module;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.InputStream;
import java.io.PrintWriter;

/** The batch gradient of a model's mean loss over a dataset, written as .npy. */
@Command(name = "gradient",
        description = {"Compute the gradient of a model's mean loss over a whole dataset (one Spark job).",
                "",
                "Prints the loss, the gradient's norm, the rows, the time and rows/s, and",
                "writes the gradient as a flat float64 .npy vector (weights then bias, per",
                "layer; C order). The reduction is a tree ordered by partition index: the",
                "same data and partitioning give the same bits on any cluster."})
public final class GradientJob extends SparkJob {

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Mixin
    DataOptions data = new DataOptions();

    @Option(names = "--params", paramLabel = "NPY", description = "Evaluate at these parameters (a flat .npy vector, e.g. train's params.npy; default: the model's starting point, zeros except for the mlp and the fm).")
    String params;

    @Option(names = "--init-seed", paramLabel = "S", description = "Seed of the random starting point of the mlp and the fm (default: ${DEFAULT-VALUE}).")
    long initSeed = 42;

    @Option(names = "--output", paramLabel = "NPY", description = "Where to write the gradient (any Hadoop path; default: ${DEFAULT-VALUE}).")
    String output = "gradient.npy";

    @Option(names = "--reg", paramLabel = "LAMBDA", description = "L2 penalty: the gradient of the mean loss + LAMBDA/2 * |w|^2 over the weights, biases excluded (Spark's regParam; default: ${DEFAULT-VALUE}).")
    double reg = 0;

    @Option(names = "--overwrite", description = "Replace an existing --output file.")
    boolean overwrite;

    @Override
    protected void validate() {
        String problem = data.validate();
        if (problem != null) throw badOption(problem);
        if (!(reg >= 0) || Double.isInfinite(reg)) throw badOption("--reg must be a non-negative number, got " + reg);
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        long start = System.nanoTime();
        claimOutput(spark, output, overwrite);
        String who = modelOptions.kind.name();
        describe(spark, who + ": reading and checking the data");
        DataOptions.Input in = data.load(spark, modelOptions, null);
        DistData d = in.data();
        DistTensor x = in.x(), y = in.y();
        Model model = in.model();
        double[] at = model.initial(initSeed);
        if (params != null) {
            try (InputStream stream = HadoopFiles.open(spark, params)) {
                at = Npy.read(stream).toArray();
            }
            if (at.length != model.size()) {
                throw badOption("--params " + params + " holds " + at.length + " values but " + model.describe() + " has " + model.size() + " parameters");
            }
        }
        Module module = model.module(at);
        describe(spark, who + ": loss+gradient");
        Tensor loss = model.loss(x, y, module);
        if (reg > 0) loss = loss.add(Model.l2(module, reg));
        loss.backward();
        spark.sparkContext().setJobDescription(null);
        double[] grad = Model.gradient(module);
        double seconds = (System.nanoTime() - start) / 1e9;
        String file = HadoopFiles.write(spark, output, o -> Npy.write(o, grad, grad.length));
        out.printf("model:     %s (%d parameters)%n", model.describe(), model.size());
        out.printf("rows:      %d in %d partitions%n", d.rows(), d.numPartitions());
        if (in.labelNote() != null) out.printf("labels:    %s%n", in.labelNote());
        out.printf("loss:      %.17g%n", loss.item());
        out.printf("grad norm: %.17g%n", norm(grad));
        out.printf("time:      %.2f s (%,.0f rows/s)%n", seconds, d.rows() / seconds);
        out.printf("gradient:  %s%n", file);
        out.flush();
        return 0;
    }

    static double norm(double[] v) {
        double s = 0;
        for (double a : v) s += a * a;
        return Math.sqrt(s);
    }
}
