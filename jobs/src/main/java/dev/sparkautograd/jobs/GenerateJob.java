package dev.sparkautograd.jobs;

import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import dev.sparkautograd.jobs.models.Synthetic;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** A synthetic dataset from a hidden teacher model, written as Parquet. */
@Command(name = "generate",
        description = {"Write a synthetic dataset drawn from a hidden teacher model as Parquet.",
                "",
                "Features are standard normal; labels are sampled from the teacher",
                "(logistic: 0/1, linear: the prediction plus N(0, 0.1^2) noise, softmax and",
                "mlp: a class index). Each partition draws its rows from (seed, partition",
                "index): the same seed, rows and partitions give the same files anywhere.",
                "One Parquet file per partition; the teacher's parameters go to",
                "_teacher.npy in the same directory."})
public final class GenerateJob extends SparkJob {

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Option(names = "--rows", paramLabel = "N", description = "Rows (default: ${DEFAULT-VALUE}).")
    long rows = 1_000_000;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the data and the teacher (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--partitions", paramLabel = "P", description = "Partitions, one file each (default: Spark's default parallelism).")
    int partitions = 0;

    @Option(names = "--output", paramLabel = "PATH", required = true, description = "The Parquet directory (any Hadoop path: file://, hdfs://, s3a://).")
    String output;

    @Option(names = "--overwrite", description = "Replace an existing output directory.")
    boolean overwrite;

    @Override
    protected void validate() {
        if (rows < 1) throw badOption("--rows must be positive, got " + rows);
        if (partitions < 0) throw badOption("--partitions must not be negative, got " + partitions);
        try {
            modelOptions.model(modelOptions.features);
        } catch (IllegalArgumentException e) {
            throw badOption(e.getMessage());
        }
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) throws Exception {
        int parts = partitions > 0 ? partitions : spark.sparkContext().defaultParallelism();
        Model model = modelOptions.model(modelOptions.features);
        Synthetic syn = new Synthetic(model, rows, parts, seed);
        claimOutput(spark, output, overwrite);
        long start = System.nanoTime();
        describe(spark, modelOptions.kind + ": writing " + rows + " rows");
        syn.dataset(spark).write().mode(SaveMode.ErrorIfExists).parquet(output);
        spark.sparkContext().setJobDescription(null);
        double seconds = (System.nanoTime() - start) / 1e9;
        double[] teacher = syn.teacher();
        String teacherFile = HadoopFiles.write(spark, HadoopFiles.child(output, "_teacher.npy"),
                o -> Npy.write(o, teacher, teacher.length));
        out.printf("model:    %s (%d parameters)%n", model.describe(), model.size());
        out.printf("rows:     %d in %d partitions (seed %d)%n", rows, parts, seed);
        out.printf("time:     %.1f s (%,.0f rows/s)%n", seconds, rows / seconds);
        out.printf("data:     %s%n", HadoopFiles.qualify(spark, output));
        out.printf("teacher:  %s%n", teacherFile);
        out.flush();
        return 0;
    }
}
