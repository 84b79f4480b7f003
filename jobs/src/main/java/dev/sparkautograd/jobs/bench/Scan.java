package dev.sparkautograd.jobs.bench;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.WholeStageCodegenExec;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarArray;
import org.apache.spark.sql.vectorized.ColumnarBatch;

import java.util.Collections;

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

    /**
     * The decoding floor: Spark's vectorized Parquet reader alone. The scan's own {@code ColumnarBatch}es (what
     * {@code ColumnarToRowExec} would turn into rows) are summed value by value in the task, so the only work is
     * reading and decoding the files. Spark SQL has no compiled way to sum an array column's values: its
     * {@code aggregate} higher-order function is interpreted (see {@link #sql}).
     */
    public static double[] columnar(SparkSession spark, String path) {
        Dataset<Row> df = spark.read().parquet(path).select("features", "label");
        SparkPlan top = df.queryExecution().executedPlan();
        SparkPlan p = top instanceof WholeStageCodegenExec w ? w.child() : top;
        if (!(p instanceof ColumnarToRowExec c) || !c.child().supportsColumnar()) {
            throw new IllegalStateException("the Parquet scan is not columnar here (spark.sql.parquet.enableVectorizedReader?): " + top);
        }
        double total = c.child().executeColumnar().toJavaRDD().mapPartitions(batches -> {
            double sum = 0;
            while (batches.hasNext()) {
                ColumnarBatch batch = batches.next();
                ColumnVector features = batch.column(0), label = batch.column(1);
                for (int r = 0, n = batch.numRows(); r < n; r++) {
                    ColumnarArray a = features.getArray(r);
                    double rowSum = 0;
                    for (int j = 0, len = a.numElements(); j < len; j++) rowSum += a.getDouble(j);
                    sum += rowSum + label.getDouble(r);
                }
            }
            return Collections.singletonList(sum).iterator();
        }).reduce(Double::sum);
        return new double[] {total};
    }

    /**
     * Spark SQL's scan: {@code aggregate(features, 0D, (a, x) -> a + x) + label}, summed. Not a floor: Spark 4.2
     * evaluates the lambda of {@code aggregate} interpreted, row by row (a profile shows hash maps and SQLConf
     * look-ups), several times slower than decoding.
     */
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
