package dev.sparkautograd.jobs.models;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Hashed-feature data from a sparse logistic teacher, as hashed text or a click log looks: each row has
 * {@code nnz} distinct active features out of {@code features} (uniform, as a hash spreads them), each of value 1,
 * and a 0/1 label drawn with probability {@code sigmoid(w . x + b)}. The teacher's weights are normal with standard
 * deviation {@code 2 / sqrt(nnz)} (logits of standard deviation about 2), its bias {@code -0.5}; all from
 * {@code seed}. Partition {@code p} draws its rows from {@code (seed, p)}: the same seed, rows and partitions give
 * the same data anywhere.
 *
 * <p>Columns: {@code features} (an ML {@code SparseVector} of size {@code features}), {@code ids}
 * ({@code array<double>}: the active features' indices, increasing, for an embedding or a factorization machine)
 * and {@code label} ({@code double}).
 */
public final class SparseSynthetic implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final StructType SCHEMA = new StructType()
            .add("features", SQLDataTypes.VectorType(), false)
            .add("ids", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("label", DataTypes.DoubleType, false);

    private final int features, nnz, partitions;
    private final long rows, seed;

    public SparseSynthetic(int features, int nnz, long rows, int partitions, long seed) {
        if (features < 1) throw new IllegalArgumentException("--features must be positive, got " + features);
        if (nnz < 1 || nnz > features) throw new IllegalArgumentException("--nnz must be in [1, --features = " + features + "], got " + nnz);
        if (rows < 0) throw new IllegalArgumentException("rows must not be negative, got " + rows);
        if (partitions < 1) throw new IllegalArgumentException("partitions must be positive, got " + partitions);
        this.features = features;
        this.nnz = nnz;
        this.rows = rows;
        this.partitions = partitions;
        this.seed = seed;
    }

    public int features() { return features; }
    public int nnz() { return nnz; }

    /** The teacher: {@code features} weights, then the bias. */
    public double[] teacher() {
        Random r = new Random(seed * 0x2545F4914F6CDD1DL + 7);
        double[] t = new double[features + 1];
        double std = 2 / Math.sqrt(nnz);
        for (int i = 0; i < features; i++) t[i] = std * r.nextGaussian();
        t[features] = -0.5;
        return t;
    }

    /** Rows of partition {@code p}: the first {@code rows % partitions} partitions get one more. */
    public long rowsIn(int p) {
        return rows / partitions + (p < rows % partitions ? 1 : 0);
    }

    public Dataset<Row> dataset(SparkSession spark) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Integer> ids = IntStream.range(0, partitions).boxed().toList();
        JavaRDD<Row> data = jsc.parallelize(ids, partitions).flatMap(this::partition);
        return spark.createDataFrame(data, SCHEMA);
    }

    /** The rows of partition {@code p}, generated lazily. */
    public Iterator<Row> partition(int p) {
        Random r = new SequentialRandom(seed * 0x9E3779B97F4A7C15L + 31L * p + 23); // java.util.Random's values, faster
        double[] teacher = teacher();
        long total = rowsIn(p);
        return new Iterator<>() {
            long done;

            @Override
            public boolean hasNext() {
                return done < total;
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                done++;
                int[] idx = distinctSorted(r);
                double[] ones = new double[nnz], asDoubles = new double[nnz];
                double z = teacher[features];
                for (int j = 0; j < nnz; j++) {
                    ones[j] = 1;
                    asDoubles[j] = idx[j];
                    z += teacher[idx[j]];
                }
                double label = r.nextDouble() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
                return RowFactory.create(Vectors.sparse(features, idx, ones), asDoubles, label);
            }
        };
    }

    /** {@code nnz} distinct features, increasing (rejection: nnz is far below the width in hashed data). */
    private int[] distinctSorted(Random r) {
        int[] idx = new int[nnz];
        if (nnz * 2 > features) {
            // dense draw: a partial Fisher-Yates over every feature
            int[] all = IntStream.range(0, features).toArray();
            for (int j = 0; j < nnz; j++) {
                int k = j + r.nextInt(features - j);
                int t = all[j];
                all[j] = all[k];
                all[k] = t;
            }
            System.arraycopy(all, 0, idx, 0, nnz);
        } else {
            int n = 0;
            while (n < nnz) {
                int c = r.nextInt(features);
                boolean seen = false;
                for (int j = 0; j < n; j++) seen |= idx[j] == c;
                if (!seen) idx[n++] = c;
            }
        }
        Arrays.sort(idx);
        return idx;
    }
}
