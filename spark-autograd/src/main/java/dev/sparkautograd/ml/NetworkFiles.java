package dev.sparkautograd.ml;

import dev.sparkautograd.Tensor;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Internal: a fitted network's files besides Spark's {@code metadata}: {@code spec} (one row: what rebuilds the
 * network) and {@code data} (Parquet, one row per parameter: index, name, shape, values; exact doubles). Read
 * with the schemas given: Parquet's schema inference is a job whose result (a StructType with arrays) Kryo
 * would have to ship, and the project runs with spark.kryo.registrationRequired.
 */
final class NetworkFiles {
    private NetworkFiles() {}

    /** What rebuilds a network: moduleClass and numFeatures are null in a model saved before they were recorded. */
    static final StructType SPEC = new StructType().add("numClasses", DataTypes.IntegerType, false)
            .add("hiddenLayers", DataTypes.createArrayType(DataTypes.IntegerType, false), false).add("activation", DataTypes.StringType, false)
            .add("moduleClass", DataTypes.StringType, true).add("numFeatures", DataTypes.IntegerType, true);
    static final StructType DATA = new StructType().add("index", DataTypes.IntegerType, false).add("name", DataTypes.StringType, false)
            .add("shape", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
            .add("values", DataTypes.createArrayType(DataTypes.DoubleType, false), false);

    /** The spec as saved. */
    record Spec(int numClasses, int numFeatures, int[] hiddenLayers, String activation, String moduleClass) {}

    static void save(SparkSession spark, String path, Spec spec, Map<String, double[]> values, Map<String, int[]> shapes) {
        List<Row> specRow = List.of(RowFactory.create(spec.numClasses(), boxed(spec.hiddenLayers()), spec.activation(), spec.moduleClass(), spec.numFeatures()));
        spark.createDataFrame(specRow, SPEC).repartition(1).write().parquet(path + "/spec");
        List<Row> data = new ArrayList<>();
        for (String name : values.keySet()) {
            double[] v = values.get(name);
            Double[] b = new Double[v.length];
            for (int i = 0; i < v.length; i++) b[i] = v[i];
            data.add(RowFactory.create(data.size(), name, boxed(shapes.get(name)), Arrays.asList(b)));
        }
        spark.createDataFrame(data, DATA).repartition(1).write().parquet(path + "/data");
    }

    static Spec loadSpec(SparkSession spark, String path, Map<String, Tensor> params) {
        Row spec = spark.read().schema(SPEC).parquet(path + "/spec").first();
        List<Integer> hidden = spec.getList(1);
        int numFeatures = spec.isNullAt(4) ? params.values().iterator().next().shape()[1] : spec.getInt(4);
        return new Spec(spec.getInt(0), numFeatures, hidden.stream().mapToInt(Integer::intValue).toArray(), spec.getString(2),
                spec.isNullAt(3) ? "" : spec.getString(3));
    }

    static Map<String, Tensor> loadParameters(SparkSession spark, String path) {
        List<Row> rows = new ArrayList<>(spark.read().schema(DATA).parquet(path + "/data").collectAsList());
        rows.sort(Comparator.comparingInt(r -> r.getInt(0)));
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (Row r : rows) {
            List<Integer> shape = r.getList(2);
            List<Double> v = r.getList(3);
            params.put(r.getString(1), Tensor.fromArray(v.stream().mapToDouble(Double::doubleValue).toArray(),
                    shape.stream().mapToInt(Integer::intValue).toArray()));
        }
        return params;
    }

    private static List<Integer> boxed(int[] a) {
        List<Integer> out = new ArrayList<>();
        for (int x : a) out.add(x);
        return out;
    }
}
