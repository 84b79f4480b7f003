package dev.sparkautograd.jobs.bench;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * Reading data that are NOT cached: the same Parquet directory ({@code features} {@code array<double>},
 * {@code label}) read by Spark SQL alone and by the library. Each returns {@code [sum of every value]}, so the two
 * scans are checked to do equal work; the gradient over the same uncached data is {@link Logistic#autograd}.
 */
public final class Scan {

    private Scan() {}

    /** Writes {@code df} as Parquet at {@code path}, row groups of 32 MB as the generate job writes them. */
    public static void write(Dataset<Row> df, String path) {
        df.write().option("parquet.block.size", String.valueOf(32L << 20)).parquet(path);
    }

    /** Spark SQL's scan, the decoding floor: {@code aggregate(features, 0D, (a, x) -> a + x) + label}, summed. */
    public static double[] sql(SparkSession spark, String path) {
        Row r = spark.read().parquet(path)
                .select(functions.sum(functions.expr("aggregate(features, 0D, (a, x) -> a + x) + label")))
                .first();
        return new double[] {r.getDouble(0)};
    }

    /** The library's scan of the same columns (not cached): every block read into tensors and summed, one job. */
    public static double[] autograd(DistData data) {
        DistTensor x = data.tensor("features"), y = data.tensor("label");
        Tensor s = x.sumRows(1, false).add(y).sum();
        return new double[] {s.item()};
    }
}
