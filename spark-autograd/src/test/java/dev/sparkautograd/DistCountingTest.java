package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static dev.sparkautograd.DistDataTest.assertMessage;
import static dev.sparkautograd.DistDataTest.field;
import static dev.sparkautograd.DistDataTest.load;
import static dev.sparkautograd.DistDataTest.schema;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The counting pass of {@link DistData#fromDataset} over Parquet reads no column (the row groups' counts) and the
 * first non-null cell of each array column for its width; the block pass checks every row against both.
 */
class DistCountingTest {

    private static final StructType ARRAY_AND_LABEL = schema(field("a", DataTypes.createArrayType(DataTypes.DoubleType)), field("y", DataTypes.DoubleType));

    /** A session whose file scans read one partition per file (as the jobs read their input). */
    private static SparkSession onePartitionPerFile() {
        SparkSession s = SharedSpark.session().newSession();
        s.conf().set("spark.sql.files.openCostInBytes", String.valueOf(1L << 40));
        s.conf().set("spark.sql.files.maxPartitionBytes", String.valueOf(1L << 40));
        return s;
    }

    /** {@code rows} written as one Parquet file under {@code dir}/{@code name}; the directory. */
    private static String write(Path dir, String name, List<Row> rows) {
        String path = dir.resolve(name).toString();
        SharedSpark.session().createDataFrame(rows, ARRAY_AND_LABEL).coalesce(1).write().parquet(path);
        return path;
    }

    private static Row row(double[] a, double y) {
        return RowFactory.create(a, y);
    }

    private static long parquetBytes(String dir) throws IOException {
        try (Stream<Path> files = Files.list(Path.of(dir))) {
            return files.filter(f -> f.toString().endsWith(".parquet")).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    /** Zeros over the first page header of the first column of each Parquet file under {@code dir}: its values cannot be read. */
    private static void breakFirstColumn(String dir) throws IOException {
        try (Stream<Path> files = Files.list(Path.of(dir))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".parquet")).toList()) {
                try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
                    raf.seek(4); // after the magic "PAR1": the first column chunk
                    raf.write(new byte[32]);
                }
                Files.deleteIfExists(f.resolveSibling("." + f.getFileName() + ".crc")); // Hadoop's checksum of the file as written
            }
        }
    }

    @Test
    void theCountingPassReadsNoValueOfLaterFiles(@TempDir Path dir) throws IOException {
        // The first partition is the largest file; the column 'a' of the two others cannot be decoded. Rows come from
        // the footers and the width from the first file, so reading succeeds, and only the block pass fails.
        List<Row> big = new ArrayList<>(), small = new ArrayList<>();
        for (int r = 0; r < 200; r++) big.add(row(new double[] {r, 1, 2}, r % 2));
        for (int r = 0; r < 20; r++) small.add(row(new double[] {r, 1, 2}, 1));
        String a = write(dir, "big", big), b = write(dir, "small", small), c = write(dir, "small2", small);
        breakFirstColumn(b);
        breakFirstColumn(c);
        DistData d = load(onePartitionPerFile().read().parquet(a, b, c), true, "a", "y");
        assertEquals(3, d.numPartitions());
        assertEquals(240, d.rows());
        assertArrayEquals(new int[] {240, 3}, d.tensor("a").shape());
        assertThrows(Exception.class, () -> d.tensor("a").sum());
        // the same files intact
        DistData whole = load(onePartitionPerFile().read().parquet(a, write(dir, "small3", small), write(dir, "small4", small)), true, "a", "y");
        assertEquals(199 * 200 / 2.0 + 2 * 19 * 20 / 2.0 + 3 * 240, whole.tensor("a").sum().item());
        assertEquals(140, whole.tensor("y").sum().item());
    }

    @Test
    void theNonZerosOfEveryFileChooseSparseReadingTheVectorsAlone(@TempDir Path dir) throws IOException {
        // Left unset, sparse or dense is chosen from the non-zeros of all rows: the first file (the largest, partition
        // 0) is dense, the two others almost empty, 4,600 non-zeros of 64,000 values in all (under 10%): sparse. The
        // label column, first in the files, cannot be decoded in the two others: the counting job reads the vectors alone.
        StructType s = schema(field("y", DataTypes.DoubleType), field("x", org.apache.spark.ml.linalg.SQLDataTypes.VectorType()));
        List<Row> dense = new ArrayList<>(), nearlyEmpty = new ArrayList<>();
        for (int r = 0; r < 40; r++) {
            double[] v = new double[100];
            for (int j = 0; j < v.length; j++) v[j] = 1 + Math.sin(r * 100 + j);
            dense.add(RowFactory.create(1.0, org.apache.spark.ml.linalg.Vectors.dense(v)));
        }
        for (int r = 0; r < 300; r++) nearlyEmpty.add(RowFactory.create(0.0, org.apache.spark.ml.linalg.Vectors.sparse(100, new int[] {r % 100}, new double[] {1})));
        String[] paths = new String[3];
        for (int k = 0; k < 3; k++) {
            paths[k] = dir.resolve("v" + k).toString();
            SharedSpark.session().createDataFrame(k == 0 ? dense : nearlyEmpty, s).coalesce(1).write().parquet(paths[k]);
            if (k > 0) breakFirstColumn(paths[k]);
        }
        DistData d = load(onePartitionPerFile().read().parquet(paths), true, "x", "y");
        assertEquals(640, d.rows());
        assertArrayEquals(new int[] {640, 100}, d.tensor("x").shape());
        assertThrows(Exception.class, () -> d.tensor("y").sum());
        // the first file alone is dense (sparse and dense blocks alike are read from the columnar batches)
        DistData first = load(onePartitionPerFile().read().parquet(paths[0]), true, "x", "y");
        assertEquals(40, first.tensor("y").sum().item());
    }

    @Test
    void aRaggedArrayInALaterFileNamesColumnRowAndWidths(@TempDir Path dir) {
        // The larger file is the first partition (Spark orders file splits by size): rows 0-9 of 2 values, then rows
        // 10-12, the first of them with 3 values: the width is found in the first file, the block pass finds row 10.
        List<Row> first = new ArrayList<>(), second = new ArrayList<>();
        for (int r = 0; r < 10; r++) first.add(row(new double[] {r, -r}, 0));
        second.add(row(new double[] {1, 2, 3}, 1));
        second.add(row(new double[] {1, 2}, 1));
        second.add(row(new double[] {1, 2}, 1));
        String a = write(dir, "first", first), b = write(dir, "second", second);
        DistData d = load(onePartitionPerFile().read().parquet(a, b), true, "a", "y");
        assertEquals(2, d.numPartitions());
        assertEquals(13, d.rows());
        assertMessage(assertThrows(IllegalArgumentException.class, () -> d.tensor("a").sum()),
                "column 'a' has 3 values at row 10 but 2 in earlier rows (ragged arrays)");
        // a ragged row past the first of a later file
        second.set(0, row(new double[] {1, 2}, 1));
        second.set(2, row(new double[] {1}, 1));
        String c = write(dir, "third", second);
        DistData e = load(onePartitionPerFile().read().parquet(a, c), true, "a", "y");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> e.tensor("a").sum()),
                "column 'a' has 1 values at row 12 but 2 in earlier rows (ragged arrays)");
    }

    @Test
    void aFirstFileOfNullsLeavesTheWidthToTheNext(@TempDir Path dir) {
        List<Row> nulls = new ArrayList<>(), values = new ArrayList<>();
        for (int r = 0; r < 50; r++) nulls.add(row(null, r));
        for (int r = 0; r < 3; r++) values.add(row(new double[] {r, r, r}, 1));
        String a = write(dir, "nulls", nulls), b = write(dir, "values", values);
        DistData d = load(onePartitionPerFile().read().parquet(a, b), true, "a", "y");
        assertEquals(2, d.numPartitions());
        assertArrayEquals(new int[] {53, 3}, d.tensor("a").shape());
        assertMessage(assertThrows(IllegalArgumentException.class, () -> d.tensor("a").sum()), "column 'a' is null at row 0");
    }

    @Test
    void emptyPartitionsOfASplitFileAreCountedAndRead(@TempDir Path dir) throws IOException {
        // One file of one row group split in three: the row group is read by the split that holds its middle, the
        // other two partitions are empty, the first of them at least in the counting scan as in the block scan.
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < 300; r++) rows.add(row(new double[] {r, 1}, r % 3));
        String path = write(dir, "one", rows);
        SparkSession s = SharedSpark.session().newSession();
        s.conf().set("spark.sql.files.maxPartitionBytes", String.valueOf(parquetBytes(path) / 3 + 1));
        s.conf().set("spark.sql.files.openCostInBytes", "1");
        DistData d = load(s.read().parquet(path), true, DistData.options().blockRows(7), "a", "y");
        assertEquals(3, d.numPartitions());
        assertEquals(300, d.rows());
        long[] perPartition = d.blocks().mapPartitions(it -> {
            long n = 0;
            while (it.hasNext()) n += it.next().rows();
            return List.of(n).iterator();
        }).collect().stream().mapToLong(Long::longValue).toArray();
        assertEquals(2, java.util.Arrays.stream(perPartition).filter(n -> n == 0).count(), java.util.Arrays.toString(perPartition));
        assertEquals(299 * 300 / 2.0 + 300, d.tensor("a").sum().item());
        assertEquals(300, d.tensor("y").sum().item());
    }

    /** Rows with an id below it pass the filter of {@link #rowsThatChangeBetweenPassesAreAnInternalError} (read in the tasks: local mode). */
    private static final AtomicLong BELOW = new AtomicLong();

    @Test
    void rowsThatChangeBetweenPassesAreAnInternalError() {
        UDF1<Long, Boolean> below = id -> id < BELOW.get();
        Dataset<Row> df = SharedSpark.session().range(0, 100, 1, 2)
                .filter(functions.udf(below, DataTypes.BooleanType).asNondeterministic().apply(functions.col("id")))
                .selectExpr("cast(id as double) as x");
        BELOW.set(100);
        DistData fewer = DistData.fromDataset(df, DistData.options().blockRows(4), "x");
        assertEquals(100, fewer.rows());
        BELOW.set(90);
        assertMessage(assertThrows(Exception.class, () -> fewer.tensor("x").sum()),
                "internal error: partition 1 of 'fromDataset x' read 40 rows but the counting pass found 50 (from row 50)");
        DistData more = DistData.fromDataset(df, DistData.options().blockRows(4), "x");
        assertEquals(90, more.rows());
        BELOW.set(100);
        assertMessage(assertThrows(Exception.class, () -> more.tensor("x").sum()),
                "internal error: partition 1 of 'fromDataset x' read at least 44 rows but the counting pass found 40 (from row 50)");
        BELOW.set(90);
        assertEquals(89 * 90 / 2.0, more.tensor("x").sum().item());
    }
}
