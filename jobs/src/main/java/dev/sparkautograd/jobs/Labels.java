package dev.sparkautograd.jobs;

import dev.sparkautograd.BadDataException;
import dev.sparkautograd.jobs.models.Model;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.util.AccumulatorV2;

import java.io.Serializable;

/**
 * The labels a model accepts, checked row by row inside the one counting pass the data already get (no job of
 * its own): a label the model cannot use fails that pass with its value, file and line (or row); what the pass
 * saw (the largest label, where a -1 and a 0 first occur) comes back in an accumulator and decides, on the
 * driver, the number of classes (when {@code --classes} is not given) and whether -1/+1 labels are read as 0/1.
 *
 * <p>The accumulator's facts (a maximum, first occurrences) do not change when a task runs again (a retry, or a
 * later job reading the same rows), so re-counted updates do no harm.
 */
final class Labels implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Class indices above this are refused: almost surely not a class index (and a [N, k] one-hot would not fit). */
    static final int MAX_CLASSES = 100_000;

    private final Model.Kind kind;
    /** Classes given with --classes, or 0: read from the data. */
    private final int classes;
    private final boolean allowNonFinite;
    private final Seen seen;

    Labels(Model.Kind kind, int classes, boolean allowNonFinite) {
        this.kind = kind;
        this.classes = classes;
        this.allowNonFinite = allowNonFinite;
        this.seen = new Seen();
    }

    Seen seen() {
        return seen;
    }

    /**
     * Checks the labels of a numeric column with one aggregate (Spark's generated code over the column's batches, no
     * call per row), filling what the row-by-row check would have seen; false when it found something to report (a
     * null, a label the model cannot use, or -1 mixed with 0), whose message names a file and row: then the caller
     * runs the row-by-row check, which throws it.
     */
    boolean checkedByAggregate(Dataset<Row> data, Column label) {
        Column v = label.cast("double");
        Column nonFinite = functions.isnan(v).or(v.equalTo(Double.POSITIVE_INFINITY)).or(v.equalTo(Double.NEGATIVE_INFINITY));
        Column bad = kind == Model.Kind.linear && allowNonFinite ? functions.lit(false) : nonFinite;
        switch (kind) {
            case linear -> { }
            case logistic, fm -> bad = bad.or(functions.not(v.isin(0.0, 1.0, -1.0)));
            case softmax, mlp -> bad = bad.or(v.notEqual(functions.rint(v))).or(v.lt(0)).or(v.geq(classes > 0 ? classes : MAX_CLASSES));
        }
        Row r = data.agg(
                functions.count(functions.when(v.isNull(), 1)),
                functions.count(functions.when(bad, 1)),
                functions.max(functions.when(functions.not(nonFinite), v)),
                functions.count(functions.when(v.equalTo(-1.0), 1)),
                functions.count(functions.when(v.equalTo(0.0), 1))).head();
        long nulls = r.getLong(0), bads = r.getLong(1), minusOnes = r.getLong(3), zeros = r.getLong(4);
        boolean mixed = (kind == Model.Kind.logistic || kind == Model.Kind.fm) && minusOnes > 0 && zeros > 0;
        if (nulls > 0 || bads > 0 || mixed) return false;
        if (!r.isNullAt(2)) seen.max = Math.max(seen.max, r.getDouble(2));
        seen.minusOne |= minusOnes > 0;
        return true;
    }

    /** Checks one label at {@code where} (e.g. "line 7 of file:/data/d.csv"); throws naming the value and the place. */
    void check(double y, String file, String unit, long pos) {
        if (Double.isNaN(y) || Double.isInfinite(y)) {
            if (kind == Model.Kind.linear && allowNonFinite) return;
            throw new BadDataException("label " + y + " at " + unit + " " + pos + " of " + show(file) + ": "
                    + (kind == Model.Kind.linear ? "pass --allow-non-finite to allow non-finite values" : "a class label must be a number"));
        }
        switch (kind) {
            case linear -> { }
            case logistic, fm -> {
                if (y != 0 && y != 1 && y != -1) {
                    throw new BadDataException("label " + fmt(y) + " at " + unit + " " + pos + " of " + show(file)
                            + ": " + (kind == Model.Kind.fm ? "the factorization machine" : "logistic regression")
                            + " needs labels 0 and 1 (or -1 and +1); for more classes use --model softmax");
                }
            }
            case softmax, mlp -> {
                if (y != Math.rint(y) || y < 0 || y >= (classes > 0 ? classes : MAX_CLASSES)) {
                    String need = classes > 0
                            ? "with --classes " + classes + " the labels must be class indices 0.." + (classes - 1)
                              + " (leave out --classes to read the number of classes from the data)"
                            : "the labels must be class indices 0, 1, 2, ... (below " + MAX_CLASSES + ")";
                    throw new BadDataException("label " + fmt(y) + " at " + unit + " " + pos + " of " + show(file) + ": " + need);
                }
            }
        }
        seen.see(y, file, unit, pos);
    }

    /** A file as the user's Hadoop paths print it ({@code file:/d/x.csv}, not Spark's {@code file:///d/x.csv}). */
    static String show(String file) {
        try {
            return new org.apache.hadoop.fs.Path(file).toString();
        } catch (IllegalArgumentException e) {
            return file;
        }
    }

    static String fmt(double y) {
        return y == Math.rint(y) && Math.abs(y) < 1e15 ? String.valueOf((long) y) : String.valueOf(y);
    }

    /** A place in the input: file, unit ("line" or "row") and its 1-based position. */
    record Place(String file, String unit, long pos) implements Serializable {
        boolean before(Place o) {
            int c = file.compareTo(o.file);
            return c < 0 || c == 0 && pos < o.pos;
        }

        @Override
        public String toString() {
            return unit + " " + pos + " of " + show(file);
        }
    }

    /** What the counting pass saw of the labels. */
    static final class Seen extends AccumulatorV2<Double, Seen> {
        private static final long serialVersionUID = 1L;
        double max = Double.NEGATIVE_INFINITY;
        /** Whether a -1 was seen (its place, when the row-by-row check saw it, in {@link #firstMinusOne}). */
        boolean minusOne;
        Place firstMinusOne, firstZero;

        void see(double y, String file, String unit, long pos) {
            if (y > max) max = y;
            if (y == -1) minusOne = true;
            if (y == -1 && (firstMinusOne == null || new Place(file, unit, pos).before(firstMinusOne))) firstMinusOne = new Place(file, unit, pos);
            if (y == 0 && (firstZero == null || new Place(file, unit, pos).before(firstZero))) firstZero = new Place(file, unit, pos);
        }

        @Override public boolean isZero() { return max == Double.NEGATIVE_INFINITY && !minusOne && firstMinusOne == null && firstZero == null; }

        @Override public Seen copy() {
            Seen s = new Seen();
            s.max = max;
            s.minusOne = minusOne;
            s.firstMinusOne = firstMinusOne;
            s.firstZero = firstZero;
            return s;
        }

        @Override public void reset() {
            max = Double.NEGATIVE_INFINITY;
            minusOne = false;
            firstMinusOne = null;
            firstZero = null;
        }

        @Override public void add(Double y) {
            if (y > max) max = y;
        }

        @Override public void merge(AccumulatorV2<Double, Seen> other) {
            Seen o = (Seen) other;
            max = Math.max(max, o.max);
            minusOne |= o.minusOne;
            if (o.firstMinusOne != null && (firstMinusOne == null || o.firstMinusOne.before(firstMinusOne))) firstMinusOne = o.firstMinusOne;
            if (o.firstZero != null && (firstZero == null || o.firstZero.before(firstZero))) firstZero = o.firstZero;
        }

        @Override public Seen value() { return this; }

        /** (AccumulatorV2's toString prints value(), which is this.) */
        @Override public String toString() {
            return "labels seen: max " + max + ", first -1 " + firstMinusOne + ", first 0 " + firstZero;
        }
    }

    /**
     * After the pass: the number of classes of a softmax/mlp (given, or the largest label + 1), and for logistic
     * regression whether the labels are -1/+1 (true: read them as 0/1). Throws for data no model choice fits.
     */
    int classes(String input) {
        if (kind != Model.Kind.softmax && kind != Model.Kind.mlp) return classes;
        if (classes > 0) return classes;
        int k = (int) seen.max + 1;
        if (k < 2) {
            throw new BadDataException("every label in " + input + " is 0: " + kind + " needs at least 2 classes"
                    + " (labels 0..k-1); pass --classes K if the data hold only some of them");
        }
        return k;
    }

    boolean plusMinusOne(String input) {
        if (kind != Model.Kind.logistic && kind != Model.Kind.fm || !seen.minusOne) return false;
        if (seen.firstZero != null) {
            throw new BadDataException("labels mix -1 (first at " + seen.firstMinusOne + ") and 0 (first at " + seen.firstZero
                    + "): logistic regression needs labels 0 and 1, or -1 and +1");
        }
        return true;
    }
}
