package dev.sparkautograd.jobs;

import dev.sparkautograd.Autograd;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.dist.Block;
import dev.sparkautograd.io.Npy;
import dev.sparkautograd.jobs.models.Model;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A model saved by train (its --output: {@code params.npy} and {@code model.properties}) and its scores of a
 * dataset, for predict and evaluate. The columns are Spark ML's: {@code prediction} (the class, or the
 * regression's value), and for classifiers {@code rawPrediction} (logistic, fm: {@code [-z, z]} as Spark's
 * LogisticRegression; softmax and mlp: the logits) and {@code probability}, beside {@code row} (the
 * row's position in the input), {@code features} and {@code label}. {@code rawPrediction} and {@code probability}
 * are ML Vectors (also in predict's Parquet), so Spark's evaluators read them as they read Spark's own models'.
 */
final class Scoring {

    private Scoring() {}

    /** The saved model of train's output directory {@code dir}; a missing or mismatched file is an IllegalArgumentException naming it. */
    static Loaded load(SparkSession spark, String dir) throws IOException {
        String props = HadoopFiles.child(dir, SavedModel.FILE), npy = HadoopFiles.child(dir, "params.npy");
        for (String f : new String[] {props, npy}) {
            if (!HadoopFiles.exists(spark, f)) {
                throw new IllegalArgumentException("--model-dir " + dir + ": no " + HadoopFiles.qualify(spark, f) + " (give the --output directory of train)");
            }
        }
        SavedModel saved;
        try (InputStream in = HadoopFiles.open(spark, props)) {
            saved = SavedModel.read(in, HadoopFiles.qualify(spark, props));
        }
        double[] params;
        try (InputStream in = HadoopFiles.open(spark, npy)) {
            params = Npy.read(in).toArray();
        }
        Model model = saved.model();
        if (params.length != model.size()) {
            throw new IllegalArgumentException("--model-dir " + dir + ": params.npy holds " + params.length + " values but " + model.describe()
                    + " (model.properties) has " + model.size() + " parameters");
        }
        return new Loaded(saved, model, params);
    }

    record Loaded(SavedModel saved, Model model, double[] params) {

        /** The options that read data for this model (its kind and classes; the width is checked against the data). */
        ModelOptions options(int libsvmFeatures) {
            ModelOptions o = new ModelOptions();
            o.kind = model.kind();
            o.features = libsvmFeatures > 0 ? libsvmFeatures : model.features();
            o.classes = model.isClassifier() && !model.isBinary() ? model.classes() : null;
            if (model.kind() == Model.Kind.fm) o.factors = model.factors();
            return o;
        }

        /** The mismatch between the model and the data's width, or null. */
        String checkWidth(int width, String source) {
            return width == model.features() ? null
                    : "the model has " + model.features() + " features but " + source + " has " + width;
        }
    }

    /**
     * The schema of {@link #score}'s DataFrame; {@code sparseFeatures}: the features read as CSR rows, written back
     * as an ML (sparse) Vector column rather than densified (a 2^20-wide row would be 8 MB).
     */
    static StructType schema(Model model, boolean sparseFeatures) {
        org.apache.spark.sql.types.DataType v = SQLDataTypes.VectorType();
        StructType s = new StructType()
                .add("row", DataTypes.LongType, false)
                .add("features", sparseFeatures ? v : DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                .add("label", DataTypes.DoubleType, false);
        if (model.isClassifier()) s = s.add("rawPrediction", v, false).add("probability", v, false);
        return s.add("prediction", DataTypes.DoubleType, false);
    }

    /** The rows of {@code x} and {@code y} with the model's predictions (nothing runs until the DataFrame is used). */
    static Dataset<Row> score(SparkSession spark, Model model, double[] params, DistTensor x, DistTensor y) {
        DistTensor z;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            z = model.output(x, model.module(params));
        }
        Model.Kind kind = model.kind();
        JavaRDD<Row> rows = x.blocks().zip(y.blocks()).zip(z.blocks()).flatMap(t -> {
            Block xb = t._1()._1(), yb = t._1()._2(), zb = t._2();
            Block.Csr csr = xb.isSparse(0) ? xb.csr(0) : null;
            int n = xb.rows(), d = csr != null ? csr.width() : xb.tensor().size(1);
            double[] xv = csr != null ? null : xb.tensor().toArray(), yv = yb.tensor().toArray(), zv = zb.tensor().toArray();
            int k = zv.length / Math.max(n, 1);
            List<Row> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                Object f = csr == null ? java.util.Arrays.copyOfRange(xv, i * d, (i + 1) * d)
                        : Vectors.sparse(d, java.util.Arrays.copyOfRange(csr.indices(), csr.offsets()[i], csr.offsets()[i + 1]),
                                java.util.Arrays.copyOfRange(csr.values(), csr.offsets()[i], csr.offsets()[i + 1]));
                long row = xb.firstRow() + i;
                switch (kind) {
                    case linear -> out.add(RowFactory.create(row, f, yv[i], zv[i]));
                    case logistic, fm -> {
                        double p = 1 / (1 + Math.exp(-zv[i]));
                        out.add(RowFactory.create(row, f, yv[i], Vectors.dense(-zv[i], zv[i]), Vectors.dense(1 - p, p), zv[i] > 0 ? 1.0 : 0.0));
                    }
                    default -> {
                        double[] logits = java.util.Arrays.copyOfRange(zv, i * k, (i + 1) * k);
                        double max = Double.NEGATIVE_INFINITY, total = 0;
                        int best = 0;
                        for (int j = 0; j < k; j++) {
                            if (logits[j] > logits[best]) best = j;
                            max = Math.max(max, logits[j]);
                        }
                        double[] p = new double[k];
                        for (int j = 0; j < k; j++) total += p[j] = Math.exp(logits[j] - max);
                        for (int j = 0; j < k; j++) p[j] /= total;
                        out.add(RowFactory.create(row, f, yv[i], Vectors.dense(logits), Vectors.dense(p), (double) best));
                    }
                }
            }
            return out.iterator();
        });
        return spark.createDataFrame(rows, schema(model, x.isSparse()));
    }
}
