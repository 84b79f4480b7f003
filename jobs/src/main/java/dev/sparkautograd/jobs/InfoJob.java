package dev.sparkautograd.jobs;

import dev.sparkautograd.Tensor;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Versions and a smoke test: one small Spark job whose data are library tensors travelling through Kryo
 * (parallelize, a broadcast weight, a shuffle, collect), checked against the same sum computed locally.
 */
@Command(name = "info",
        description = {"Print versions and the master after a small Spark job through Kryo.",
                "",
                "Prints the spark-autograd, Spark and Java versions and the master used, after",
                "a Spark job whose data are library tensors sent through Kryo (parallelize,",
                "broadcast, shuffle, collect) and checked against the same sum computed locally."})
public final class InfoJob extends SparkJob {

    @Option(names = "--tensors", paramLabel = "N", description = "Tensors to send through Spark (default: ${DEFAULT-VALUE}).")
    int tensors = 8;

    @Option(names = "--partitions", paramLabel = "P",
            description = "Partitions (default: Spark's default parallelism, at least 2).")
    int partitions = 0;

    private static final int[] SHAPE = {4, 3};

    @Override
    protected void validate() {
        if (tensors < 1) throw badOption("--tensors must be at least 1, got " + tensors);
        if (partitions < 0) throw badOption("--partitions must not be negative, got " + partitions);
    }

    @Override
    public int run(SparkSession spark, PrintWriter out) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        SparkConf conf = jsc.getConf();
        int parts = partitions > 0 ? partitions : Math.max(2, jsc.defaultParallelism());

        List<Tensor> data = IntStream.range(0, tensors)
                .mapToObj(i -> Tensor.arange(SHAPE[0] * SHAPE[1]).add(i).reshape(SHAPE))
                .toList();
        Tensor weight = Tensor.of(1, 2, 3);
        Broadcast<Tensor> w = jsc.broadcast(weight);
        double distributed;
        try {
            distributed = jsc.parallelize(data, parts)
                    .map(t -> t.mul(w.value()))
                    .repartition(parts)
                    .map(t -> t.sum().item())
                    .collect().stream().mapToDouble(Double::doubleValue).sum();
        } finally {
            w.destroy();
        }
        double local = data.stream().mapToDouble(t -> t.mul(weight).sum().item()).sum();
        // What the executors compute with: matrix products agree bitwise between JVMs only when their BLAS do.
        List<String> executorMath = jsc.parallelize(List.of(0, 1), 2).map(i -> mathLine()).distinct().collect();
        boolean ok = distributed == local; // integers well below 2^53: exact in any order

        out.printf("spark-autograd: %s%n", BuildInfo.version());
        out.printf("Spark:          %s (Scala %s)%n", spark.version(), scala.util.Properties.versionNumberString());
        out.printf("Java:           %s (%s, %s)%n", System.getProperty("java.version"),
                System.getProperty("java.vendor"), System.getProperty("java.home"));
        out.printf("Master:         %s (default parallelism %d)%n", spark.sparkContext().master(), jsc.defaultParallelism());
        out.printf("Serializer:     %s (registration required: %s, registrator: %s)%n",
                conf.get("spark.serializer", "org.apache.spark.serializer.JavaSerializer"),
                conf.get("spark.kryo.registrationRequired", "false"),
                conf.get("spark.kryo.registrator", "none"));
        out.printf("Math (driver):  %s%n", mathLine());
        for (String m : executorMath) out.printf("Math (tasks):   %s%n", m);
        if (executorMath.size() != 1 || !executorMath.get(0).equals(mathLine())) {
            out.printf("Note:           the driver and the tasks use different BLAS: matrix products may differ in the last bits%n");
        }
        out.printf("Check:          %d tensors of shape %s on %d partitions: sum %s, local %s: %s%n",
                tensors, Arrays.toString(SHAPE), parts, distributed, local, ok ? "OK" : "MISMATCH");
        out.flush();
        return ok ? 0 : 1;
    }

    /** The BLAS of this JVM (netlib's pick: native, Vector API or plain Java; the native library it loaded) and the BLAS thread setting it sees. */
    static String mathLine() {
        String threads = System.getenv("OPENBLAS_NUM_THREADS");
        return String.format("BLAS %s, OPENBLAS_NUM_THREADS=%s", dev.sparkautograd.jobs.bench.Machine.blas(),
                threads == null ? "unset" : threads);
    }
}
