package dev.sparkautograd.jobs;

import dev.sparkautograd.BadDataException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.api.java.UDF4;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * LIBSVM files ({@code label index:value ...}, 1-based increasing indices) through Spark's own {@code libsvm}
 * data source (spark-mllib): a {@code features} column of ML {@code SparseVector}s, {@code numFeatures} wide when
 * {@code --features} is given, else as wide as the largest index (Spark's source finds it in a pass of its own,
 * when the schema is inferred, before any job of ours: its reader builds every vector {@code numFeatures} wide, so
 * the library's counting pass sees that size, not the largest index, and cannot stand in for it; {@code --features}
 * saves the pass).
 *
 * <p>Spark's parser does not say which line it failed on ({@code ArrayIndexOutOfBoundsException}, "indices should be
 * one-based and in ascending order", ...), nor does it check what the jobs also refuse (NaN and infinite values,
 * labels the model cannot use). So when reading fails, and only then, {@link #explain} reads the files once more as
 * text, each line with its file and 1-based number, and names the first bad line and what is wrong with it. The
 * checks there say why Spark's parse or the jobs' checks failed; they build no rows.
 */
final class Libsvm {

    private Libsvm() {}

    /** The data as (features: Vector, label: double), the labels checked by {@code labels} in the counting pass. */
    static Dataset<Row> read(SparkSession spark, String input, Integer numFeatures, boolean allowNonFinite, Labels labels) {
        requireExists(spark, input);
        DataFrameReader reader = spark.read().format("libsvm");
        if (numFeatures != null) reader.option("numFeatures", numFeatures.toString());
        Dataset<Row> raw = reader.load(input);
        // In the counting pass (the library checks values only when a later job reads them): the label, and
        // NaN/Inf values, which Spark's parser accepts. Positions are data rows (blank and comment lines not
        // counted); a failure is explained by line.
        UDF4<Double, Vector, String, Long, Double> check = (v, x, file, row) -> {
            if (!allowNonFinite) {
                double[] values = x instanceof SparseVector s ? s.values() : x.toArray();
                for (double a : values) {
                    if (!Double.isFinite(a)) throw new BadDataException("a non-finite value at row " + row + " of " + Labels.show(file));
                }
            }
            labels.check(v, file, "row", row);
            return v;
        };
        Column label = functions.udf(check, DataTypes.DoubleType).apply(raw.col("label"), raw.col("features"),
                functions.input_file_name(), DataOptions.positionInFile());
        return raw.select(raw.col("features"), label.as("label"));
    }

    private static void requireExists(SparkSession spark, String input) {
        try {
            Path p = new Path(input);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            FileStatus[] found = fs.globStatus(p);
            if (found == null || found.length == 0) throw new BadDataException("no such file or directory: " + input);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + input + ": " + e.getMessage(), e);
        }
    }

    /**
     * Why reading {@code input} failed with {@code failure}: a one-line error naming the first bad line (by file,
     * then line), or for label facts of the whole input (no classes, -1 mixed with 0) the lines where they show;
     * {@code failure} itself when the text has nothing to say. {@code labels}: fresh, registered with Spark.
     */
    static RuntimeException explain(SparkSession spark, String input, Integer numFeatures, boolean allowNonFinite,
                                    Labels labels, Exception failure) {
        List<Problem> found;
        try {
            found = DataOptions.lines(spark, input).mapPartitions(new Check(numFeatures, allowNonFinite, labels)).collect()
                    .stream().map(Problem::parse).toList();
        } catch (Exception e) {
            failure.addSuppressed(e);
            return unchanged(failure);
        }
        BadDataException why = null;
        Problem first = found.stream().filter(p -> p.message != null)
                .min(Comparator.comparing((Problem p) -> p.file).thenComparingLong(p -> p.line)).orElse(null);
        if (first != null) {
            why = new BadDataException(first.message);
        } else if (found.stream().mapToLong(p -> p.rows).sum() == 0) {
            why = new BadDataException("no data rows in " + input);
        } else {
            try {
                labels.classes(input);
                labels.plusMinusOne(input);
            } catch (BadDataException e) {
                why = e;
            }
        }
        if (why == null) return unchanged(failure);
        why.addSuppressed(failure);
        return why;
    }

    /** Throws {@code failure} as it is (a SparkException is checked in Java's eyes, though Scala throws it anywhere). */
    @SuppressWarnings("unchecked")
    static <E extends Exception> RuntimeException unchanged(Exception failure) throws E {
        throw (E) failure;
    }

    /** What one file's lines showed: its data rows, and its first bad line (message null: none). */
    record Problem(String file, long line, String message, long rows) {
        /** As a task's result: a String (no class of its own for Kryo to register). */
        @Override
        public String toString() {
            return rows + "\t" + line + "\t" + file + "\t" + (message == null ? "" : message);
        }

        static Problem parse(String s) {
            String[] f = s.split("\t", 4);
            return new Problem(f[2], Long.parseLong(f[1]), f[3].isEmpty() ? null : f[3], Long.parseLong(f[0]));
        }
    }

    /** Checks the lines of one partition (one file) as Spark's parser reads them. */
    static final class Check implements FlatMapFunction<Iterator<Row>, String> {
        private static final long serialVersionUID = 1L;
        private final Integer numFeatures;
        private final boolean allowNonFinite;
        private final Labels labels;

        Check(Integer numFeatures, boolean allowNonFinite, Labels labels) {
            this.numFeatures = numFeatures;
            this.allowNonFinite = allowNonFinite;
            this.labels = labels;
        }

        @Override
        public Iterator<String> call(Iterator<Row> lines) {
            String file = null;
            long rows = 0;
            while (lines.hasNext()) {
                Row l = lines.next();
                file = l.getString(0);
                long number = l.getLong(1);
                String text = l.getString(2).trim();
                // Spark's source skips these
                if (text.isEmpty() || text.startsWith("#")) continue;
                rows++;
                String at = "LIBSVM " + Labels.show(file) + " line " + number;
                String problem = problem(text);
                if (problem == null) {
                    try {
                        labels.check(Double.parseDouble(text.split(" ")[0]), file, "line", number);
                    } catch (BadDataException e) {
                        return List.of(new Problem(file, number, e.getMessage(), rows).toString()).iterator();
                    }
                    continue;
                }
                return List.of(new Problem(file, number, at + ": " + problem, rows).toString()).iterator();
            }
            return file == null ? List.<String>of().iterator() : List.of(new Problem(file, 0, null, rows).toString()).iterator();
        }

        /**
         * What is wrong with one trimmed data line, read as Spark's {@code MLUtils.parseLibSVMRecord} reads it (fields
         * split at single spaces, {@code index:value} split at ':', Java's number syntax), or null.
         */
        String problem(String text) {
            if (text.indexOf('\t') >= 0) return "a tab between fields; Spark's libsvm source needs spaces (label index:value ...)";
            String[] items = text.split(" ");
            try {
                Double.parseDouble(items[0]);
            } catch (NumberFormatException e) {
                return "the label '" + items[0] + "' is not a number (a line is: label index:value ...)";
            }
            int previous = 0;
            for (int i = 1; i < items.length; i++) {
                String p = items[i];
                if (p.isEmpty()) continue;
                if (p.startsWith("#")) return "a comment after the data ('" + p + " ...'); Spark's libsvm source allows comments only on lines of their own";
                String[] entry = p.split(":");
                int index;
                double v;
                try {
                    if (entry.length < 2) throw new NumberFormatException(p);
                    index = Integer.parseInt(entry[0]);
                } catch (NumberFormatException e) {
                    return "'" + p + "' is not an index:value pair (e.g. 3:0.5)";
                }
                try {
                    v = Double.parseDouble(entry[1]);
                } catch (NumberFormatException e) {
                    return "in '" + p + "' the value '" + entry[1] + "' is not a number";
                }
                if (index < 1) return "index " + index + " in '" + p + "'; LIBSVM indices start at 1";
                if (index <= previous) {
                    return "index " + index + (index == previous ? " appears twice" : " comes after " + previous) + "; LIBSVM indices must be increasing";
                }
                if (numFeatures != null && index > numFeatures) {
                    return "index " + index + " is above the width --features " + numFeatures + "; pass --features " + index + " or more";
                }
                if (!allowNonFinite && !Double.isFinite(v)) {
                    return "index " + index + " has value " + v + "; pass --allow-non-finite to allow NaN and infinite values";
                }
                previous = index;
            }
            return null;
        }
    }
}
