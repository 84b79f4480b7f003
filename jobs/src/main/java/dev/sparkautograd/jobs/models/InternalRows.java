package dev.sparkautograd.jobs.models;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A DataFrame of generated rows without Spark's per-value conversion: a {@code double[]} becomes an
 * {@link UnsafeArrayData} with one memory copy, where {@code createDataFrame(rows, schema)} boxes every element
 * (Catalyst's {@code ArrayConverter}) and copies it twice more. For schemas of double and non-null
 * {@code array<double>} columns only; any other schema goes through {@code createDataFrame}.
 */
public final class InternalRows {
    private InternalRows() {}

    public static Dataset<Row> dataFrame(SparkSession spark, JavaRDD<Row> rows, StructType schema) {
        if (!(spark instanceof org.apache.spark.sql.classic.SparkSession classic) || !primitive(schema)) {
            return spark.createDataFrame(rows, schema);
        }
        int n = schema.size();
        JavaRDD<InternalRow> internal = rows.map(r -> {
            Object[] values = new Object[n];
            for (int i = 0; i < n; i++) {
                Object v = r.get(i);
                values[i] = v instanceof double[] a ? UnsafeArrayData.fromPrimitiveArray(a) : v;
            }
            return new GenericInternalRow(values);
        });
        return classic.internalCreateDataFrame(internal.rdd(), schema, false);
    }

    /** Whether every column is a non-null double or a non-null array of non-null doubles. */
    private static boolean primitive(StructType schema) {
        for (StructField f : schema.fields()) {
            DataType t = f.dataType();
            boolean ok = !f.nullable() && (t.equals(DataTypes.DoubleType)
                    || t instanceof ArrayType a && a.elementType().equals(DataTypes.DoubleType) && !a.containsNull());
            if (!ok) return false;
        }
        return true;
    }
}
