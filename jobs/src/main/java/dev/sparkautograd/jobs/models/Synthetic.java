package dev.sparkautograd.jobs.models;

import dev.sparkautograd.Tensor;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.IntStream;

/**
 * A synthetic dataset drawn from a hidden teacher model: features standard normal, labels sampled from
 * the teacher's output (see {@link Model#sampleLabels}). Partition {@code p} generates its own rows from
 * a random generator seeded with {@code (seed, p)}, so the data depend only on the seed, the row count and the
 * partition count, never on where or in which order the tasks run. The teacher comes from {@code seed} too.
 *
 * <p>Columns: {@code features} ({@code array<double>}) and {@code label} ({@code double}).
 */
public final class Synthetic implements Serializable {

    public static final StructType SCHEMA = new StructType()
            .add("features", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("label", DataTypes.DoubleType, false);

    /** Rows generated (and pushed through the teacher) at a time. */
    private static final int CHUNK = 4096;

    private final Model model;
    private final long rows, seed;
    private final int partitions;
    /** Correlated features (null: independent ones). */
    private final CorrelatedFeatures correlation;

    public Synthetic(Model model, long rows, int partitions, long seed) {
        this(model, rows, partitions, seed, null);
    }

    private Synthetic(Model model, long rows, int partitions, long seed, CorrelatedFeatures correlation) {
        if (rows < 0) throw new IllegalArgumentException("rows must not be negative, got " + rows);
        if (partitions < 1) throw new IllegalArgumentException("partitions must be positive, got " + partitions);
        this.model = model;
        this.rows = rows;
        this.partitions = partitions;
        this.seed = seed;
        this.correlation = correlation;
    }

    /**
     * The same generator with AR(1) features of correlation {@code rho} between neighbours ({@link CorrelatedFeatures});
     * rho 0 gives independent features (the same rows as without).
     */
    public Synthetic withCorrelation(double rho) {
        return new Synthetic(model, rows, partitions, seed, rho == 0 ? null : new CorrelatedFeatures(rho));
    }

    /** The feature correlation, or null for independent features. */
    public CorrelatedFeatures correlation() { return correlation; }

    public Model model() { return model; }
    public long rows() { return rows; }
    public int partitions() { return partitions; }

    /** The teacher's parameters (flat, see {@link Model#shapes()}). */
    public double[] teacher() {
        return model.teacher(seed);
    }

    /** Rows of partition {@code p}: the first {@code rows % partitions} partitions get one more. */
    public long rowsIn(int p) {
        return rows / partitions + (p < rows % partitions ? 1 : 0);
    }

    /** The data as a DataFrame of {@code partitions} partitions (nothing runs until it is used). */
    public Dataset<Row> dataset(SparkSession spark) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Integer> ids = IntStream.range(0, partitions).boxed().toList();
        JavaRDD<Row> data = jsc.parallelize(ids, partitions).flatMap(this::partition);
        return InternalRows.dataFrame(spark, data, SCHEMA);
    }

    /** The rows of partition {@code p}, generated lazily, {@value #CHUNK} at a time. */
    public Iterator<Row> partition(int p) {
        Chunks chunks = chunks(p);
        int d = model.features();
        return new Iterator<>() {
            final List<Row> chunk = new ArrayList<>();
            int at;

            @Override
            public boolean hasNext() {
                return at < chunk.size() || chunks.hasNext();
            }

            @Override
            public Row next() {
                if (at == chunk.size()) {
                    if (!chunks.next()) throw new NoSuchElementException();
                    double[] x = chunks.features(), y = chunks.labels();
                    chunk.clear();
                    for (int i = 0; i < chunks.rows(); i++) {
                        double[] row = new double[d];
                        System.arraycopy(x, i * d, row, 0, d);
                        chunk.add(RowFactory.create(row, y[i]));
                    }
                    at = 0;
                }
                return chunk.get(at++);
            }
        };
    }

    /** The rows of partition {@code p} as arrays, {@value #CHUNK} at a time (what {@link #partition} turns into rows). */
    public Chunks chunks(int p) {
        return new Chunks(p);
    }

    /**
     * A cursor over one partition's rows, a chunk of up to {@value #CHUNK} rows at a time, in the order and with the
     * random draws of {@link #partition}: the chunk's features first (row-major), then its labels from the teacher.
     * The arrays are reused by the next chunk.
     */
    public final class Chunks {
        private final SequentialRandom r;
        private final dev.sparkautograd.nn.Module teacher;
        private final long total;
        private final int d;
        private long done;
        private int n;
        private double[] x, y;

        private Chunks(int p) {
            r = new SequentialRandom(seed * 0x9E3779B97F4A7C15L + 31L * p + 17); // java.util.Random's values, faster
            teacher = model.module(teacher());
            total = rowsIn(p);
            d = model.features();
        }

        /** Whether another chunk follows. */
        public boolean hasNext() {
            return done < total;
        }

        /** Generates the next chunk; false (and nothing changed) at the end of the partition. */
        public boolean next() {
            if (done >= total) return false;
            n = (int) Math.min(CHUNK, total - done);
            if (x == null || x.length != n * d) x = new double[n * d];
            r.nextGaussians(x, 0, x.length); // x[i] = r.nextGaussian() for each i, faster
            if (correlation != null) correlation.correlate(x, n, d);
            y = model.sampleLabels(Tensor.fromArray(x, n, d), teacher, r);
            done += n;
            return true;
        }

        /** Rows of the current chunk. */
        public int rows() { return n; }

        /** The current chunk's features, {@link #rows()} x features, row-major. */
        public double[] features() { return x; }

        /** The current chunk's labels. */
        public double[] labels() { return y; }
    }
}
