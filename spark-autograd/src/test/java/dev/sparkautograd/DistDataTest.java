package dev.sparkautograd;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading Datasets and rows into aligned blocks, and every bad input's error. */
class DistDataTest {

    static StructType schema(StructField... fields) {
        return new StructType(fields);
    }

    static StructField field(String name, org.apache.spark.sql.types.DataType type) {
        return DataTypes.createStructField(name, type, true);
    }

    static Dataset<Row> df(StructType schema, int partitions, Row... rows) {
        return SharedSpark.session().createDataFrame(Arrays.asList(rows), schema).repartition(partitions).sortWithinPartitions();
    }

    static Dataset<Row> df1(StructType schema, Row... rows) {
        // one partition, rows in order
        return SharedSpark.session().createDataFrame(Arrays.asList(rows), schema).coalesce(1);
    }

    /**
     * {@code df} itself, or (when {@code parquet}) {@code df} written to Parquet under {@code dir} and read back: the
     * columnar reader's input, in the same rows and order for one partition.
     */
    static Dataset<Row> source(Dataset<Row> df, boolean parquet, Path dir) {
        if (!parquet) return df;
        String path = dir.resolve("data" + System.nanoTime()).toString();
        df.write().parquet(path);
        return SharedSpark.session().read().schema(df.schema()).parquet(path);
    }

    /** {@link DistData#fromDataset}, checking which reader it took: columnar batches for Parquet, rows otherwise. */
    static DistData load(Dataset<Row> df, boolean parquet, DistData.Options options, String... columns) {
        DistData d = DistData.fromDataset(df, options, columns);
        assertEquals(parquet, d.blocks().name().endsWith("(columnar batches)"), "reader of " + d.blocks().name());
        return d;
    }

    static DistData load(Dataset<Row> df, boolean parquet, String... columns) {
        return load(df, parquet, DistData.options(), columns);
    }

    static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' not in: " + e.getMessage());
    }

    @Test
    void numericArrayAndVectorColumnsShareOneLayout() {
        StructType s = schema(field("i", DataTypes.IntegerType), field("d", DataTypes.DoubleType),
                field("arr", DataTypes.createArrayType(DataTypes.DoubleType)), field("vec", SQLDataTypes.VectorType()),
                field("dec", DataTypes.createDecimalType(10, 2)), field("l", DataTypes.LongType));
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < 23; r++) {
            Object vec = r % 2 == 0 ? Vectors.dense(r, 0, -r) : Vectors.sparse(3, new int[] {1}, new double[] {r * 0.5});
            rows.add(RowFactory.create(r, r * 0.25, new double[] {r, r + 1}, vec, new java.math.BigDecimal(r + ".25"), (long) -r));
        }
        Dataset<Row> df = SharedSpark.session().createDataFrame(rows, s).repartition(3);
        DistData d = DistData.fromDataset(df, DistData.options().blockRows(3), "i", "d", "arr", "vec", "dec", "l");
        assertEquals(23, d.rows());
        assertEquals(3, d.numPartitions());
        assertArrayEquals(new int[] {23}, d.tensor("i").shape());
        assertArrayEquals(new int[] {23, 2}, d.tensor("arr").shape());
        assertArrayEquals(new int[] {23, 3}, d.tensor("vec").shape());
        // Row by row the columns agree, whatever order repartition put the rows in.
        Tensor i = d.tensor("i").collect(), dd = d.tensor("d").collect(), arr = d.tensor("arr").collect(),
                vec = d.tensor("vec").collect(), dec = d.tensor("dec").collect(), l = d.tensor("l").collect();
        double seen = 0;
        for (int k = 0; k < 23; k++) {
            double r = i.get(k);
            seen += r;
            assertEquals(r * 0.25, dd.get(k));
            assertEquals(r, arr.get(k, 0));
            assertEquals(r + 1, arr.get(k, 1));
            if (((int) r) % 2 == 0) {
                assertEquals(r, vec.get(k, 0));
                assertEquals(-r, vec.get(k, 2), 0.0);
            } else {
                assertEquals(0, vec.get(k, 0));
                assertEquals(r * 0.5, vec.get(k, 1));
            }
            assertEquals(r + 0.25, dec.get(k), 1e-12);
            assertEquals(-r, l.get(k), 0.0);
        }
        assertEquals(22 * 23 / 2.0, seen);
        // And they combine: a logistic-style loss over the Dataset equals the local one.
        Tensor w = Tensor.of(0.1, -0.2, 0.05).requiresGrad_(true);
        Tensor wl = w.detach().clone().requiresGrad_(true);
        DistTensor z = d.tensor("vec").matmul(w);
        z.softplus().sub(d.tensor("d").mul(z)).sum().backward();
        Tensor zl = vec.matmul(wl);
        zl.softplus().sub(dd.mul(zl)).sum().backward();
        assertTrue(w.grad().allclose(wl.grad(), 1e-10, 1e-12));
    }

    @Test
    void columnarBatchesGiveTheRowPathsBlocksBitForBit(@TempDir Path dir) {
        // Every column kind, read in another order than the files hold them (a projection over the scan), in batches
        // of 7 rows and blocks of 5, so blocks span batches; against the same files read by Spark's row reader.
        StructType s = schema(field("i", DataTypes.IntegerType), field("d", DataTypes.DoubleType),
                field("arr", DataTypes.createArrayType(DataTypes.DoubleType)), field("fa", DataTypes.createArrayType(DataTypes.FloatType)),
                field("vec", SQLDataTypes.VectorType()), field("dec", DataTypes.createDecimalType(10, 2)), field("l", DataTypes.LongType));
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < 61; r++) {
            double x = Math.sin(r) * 1e3;
            Object vec = r % 3 == 0 ? Vectors.sparse(4, new int[] {1, 3}, new double[] {x, -r}) : Vectors.dense(x, -0.0, r, 1.0 / (r + 1));
            rows.add(RowFactory.create(r, x, new double[] {x, -x, 0.1 * r}, new float[] {(float) x, r}, vec, new java.math.BigDecimal(r + ".07"), (long) r << 40));
        }
        String path = dir.resolve("all").toString();
        SharedSpark.session().createDataFrame(rows, s).repartition(3).write().parquet(path);
        // generate writes Parquet's legacy two-level lists (spark.sql.parquet.writeLegacyFormat): read columnar as well
        org.apache.spark.sql.SparkSession legacyWriter = SharedSpark.session().newSession();
        legacyWriter.conf().set("spark.sql.parquet.writeLegacyFormat", "true");
        String legacy = dir.resolve("legacy").toString();
        legacyWriter.createDataFrame(rows, s).repartition(3).write().parquet(legacy);
        org.apache.spark.sql.SparkSession columnar = SharedSpark.session().newSession(), byRows = SharedSpark.session().newSession();
        columnar.conf().set("spark.sql.parquet.columnarReaderBatchSize", "7");
        byRows.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
        String[] cols = {"vec", "d", "arr", "i", "dec", "fa", "l"};
        for (int blockRows : new int[] {5, 0, -1}) {
            DistData.Options o = blockRows > 0 ? DistData.options().blockRows(blockRows) : DistData.options();
            DistData a = load(columnar.read().parquet(blockRows < 0 ? legacy : path), true, o.sparse(false), cols);
            DistData b = load(byRows.read().parquet(path), false, o.sparse(false), cols);
            assertEquals(61, a.rows());
            assertEquals(b.numPartitions(), a.numPartitions());
            List<dev.sparkautograd.dist.Block> ba = a.blocks().collect(), bb = b.blocks().collect();
            assertEquals(bb.size(), ba.size(), "blocks");
            if (blockRows > 0) assertTrue(ba.size() >= 61 / 5, "blocks of 5 rows: " + ba.size());
            for (int k = 0; k < ba.size(); k++) {
                assertEquals(bb.get(k).firstRow(), ba.get(k).firstRow(), "first row of block " + k);
                for (int c = 0; c < cols.length; c++) {
                    Tensor ta = ba.get(k).column(c), tb = bb.get(k).column(c);
                    assertArrayEquals(tb.shape(), ta.shape(), cols[c] + " block " + k);
                    double[] va = ta.toArray(), vb = tb.toArray();
                    for (int j = 0; j < va.length; j++) {
                        assertEquals(Double.doubleToRawLongBits(vb[j]), Double.doubleToRawLongBits(va[j]), cols[c] + " block " + k + " element " + j);
                    }
                }
            }
        }
        // Not columnar: in-memory data (and CSV, JSON, or a plan that computes a column) are read as rows.
        Dataset<Row> computed = SharedSpark.session().read().parquet(path).selectExpr("d * 2 as d2", "i");
        assertTrue(load(computed, false, "d2", "i").tensor("i").sum().item() == 60 * 61 / 2.0);
        assertTrue(load(SharedSpark.session().createDataFrame(rows, s), false, "d").rows() == 61);
    }

    /** Rows of a Vector column {@code x} (40 wide, sparse and dense-stored rows mixed), arrays {@code a} and {@code fa}, and {@code y}. */
    static List<Row> sparseRows(int n, boolean nonFinite) {
        List<Row> rows = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            double x = Math.sin(r) * 1e3;
            Object vec = switch (r % 5) {
                case 0 -> { // stored dense, mostly zeros (as VectorAssembler writes it)
                    double[] d = new double[40];
                    d[r % 40] = x;
                    d[(r * 7 + 3) % 40] = -0.0;
                    yield Vectors.dense(d);
                }
                case 1 -> Vectors.sparse(40, new int[] {2, 9, 39}, new double[] {0.0, -0.0, x}); // stored zeros are dropped
                case 2 -> Vectors.sparse(40, new int[0], new double[0]);
                default -> Vectors.sparse(40, new int[] {r % 13, 13 + r % 11, 30 + r % 7}, new double[] {x, 1.0 / r, nonFinite && r == 8 ? Double.NaN : -r});
            };
            double[] a = new double[6];
            a[r % 6] = r % 4 == 0 ? 0 : x;
            if (nonFinite && r == 9) a[5] = Double.NEGATIVE_INFINITY;
            rows.add(RowFactory.create(vec, a, new float[] {0, (float) x, r % 2}, r * 0.5));
        }
        return rows;
    }

    static final StructType SPARSE_SCHEMA = schema(field("x", SQLDataTypes.VectorType()), field("a", DataTypes.createArrayType(DataTypes.DoubleType)),
            field("fa", DataTypes.createArrayType(DataTypes.FloatType)), field("y", DataTypes.DoubleType));

    /** Every block alike, bit for bit: first row, and per column its dense values or its CSR offsets, indices and values. */
    static void assertSameBlocks(List<dev.sparkautograd.dist.Block> expected, List<dev.sparkautograd.dist.Block> actual, String[] cols, String what) {
        assertEquals(expected.size(), actual.size(), what + ": blocks");
        for (int k = 0; k < expected.size(); k++) {
            dev.sparkautograd.dist.Block e = expected.get(k), a = actual.get(k);
            String at = what + ", block " + k + ", column ";
            assertEquals(e.firstRow(), a.firstRow(), what + ": first row of block " + k);
            for (int c = 0; c < cols.length; c++) {
                assertEquals(e.isSparse(c), a.isSparse(c), at + cols[c]);
                if (e.isSparse(c)) {
                    dev.sparkautograd.dist.Block.Csr ce = e.csr(c), ca = a.csr(c);
                    assertEquals(ce.width(), ca.width(), at + cols[c]);
                    assertArrayEquals(ce.offsets(), ca.offsets(), at + cols[c] + " offsets");
                    assertArrayEquals(ce.indices(), ca.indices(), at + cols[c] + " indices");
                    assertBits(ce.values(), ca.values(), at + cols[c] + " values");
                } else {
                    assertArrayEquals(e.column(c).shape(), a.column(c).shape(), at + cols[c]);
                    assertBits(e.column(c).toArray(), a.column(c).toArray(), at + cols[c]);
                }
            }
        }
    }

    static void assertBits(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int j = 0; j < expected.length; j++) {
            assertEquals(Double.doubleToRawLongBits(expected[j]), Double.doubleToRawLongBits(actual[j]), what + " element " + j);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void sparseBlocksFromColumnarBatchesAreTheRowPathsBitForBit(@TempDir Path dir) {
        // Sparse Vector and array columns beside dense ones, read from Parquet's columnar batches of 7 rows (blocks span
        // them) against the same files through Spark's row reader, and against the in-memory rows written there.
        String path = dir.resolve("sparse").toString(), legacy = dir.resolve("legacy").toString(), bad = dir.resolve("nonfinite").toString();
        SharedSpark.session().createDataFrame(sparseRows(61, false), SPARSE_SCHEMA).repartition(3).write().parquet(path);
        SharedSpark.session().createDataFrame(sparseRows(61, true), SPARSE_SCHEMA).repartition(2).write().parquet(bad);
        org.apache.spark.sql.SparkSession legacyWriter = SharedSpark.session().newSession();
        legacyWriter.conf().set("spark.sql.parquet.writeLegacyFormat", "true");
        legacyWriter.createDataFrame(sparseRows(61, false), SPARSE_SCHEMA).repartition(3).write().parquet(legacy);
        org.apache.spark.sql.SparkSession columnar = SharedSpark.session().newSession(), byRows = SharedSpark.session().newSession(),
                split = SharedSpark.session().newSession(), splitByRows = SharedSpark.session().newSession();
        for (org.apache.spark.sql.SparkSession s : List.of(columnar, split)) s.conf().set("spark.sql.parquet.columnarReaderBatchSize", "7");
        for (org.apache.spark.sql.SparkSession s : List.of(byRows, splitByRows)) s.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
        // splits of 1 KB: most hold no row group, so most partitions are empty
        for (org.apache.spark.sql.SparkSession s : List.of(split, splitByRows)) s.conf().set("spark.sql.files.maxPartitionBytes", "1024");
        String[] cols = {"y", "x", "fa", "a"};
        Dataset<Row> inMemory = df1(SPARSE_SCHEMA, sparseRows(40, false).toArray(new Row[0]));
        Object[][] runs = {
                // what, options, columnar input, reference input (read as rows)
                {"sparse(true), blockRows 5", DistData.options().sparse(true).blockRows(5), columnar.read().parquet(path), byRows.read().parquet(path)},
                {"sparse(true), blockBytes 300", DistData.options().sparse(true).blockBytes(300), columnar.read().parquet(path), byRows.read().parquet(path)},
                {"x sparse by its density beside dense arrays", DistData.options(), columnar.read().parquet(path), byRows.read().parquet(path)},
                {"legacy two-level lists, blockBytes 1000", DistData.options().sparse(true).blockBytes(1000), columnar.read().parquet(legacy), byRows.read().parquet(path)},
                {"empty partitions, blockRows 3", DistData.options().sparse(true).blockRows(3), split.read().parquet(path), splitByRows.read().parquet(path)},
                {"NaN and infinities allowed", DistData.options().sparse(true).blockBytes(200).allowNonFinite(true), columnar.read().parquet(bad), byRows.read().parquet(bad)},
                {"the in-memory rows, blockRows 6", DistData.options().sparse(true).blockRows(6), source(inMemory, true, dir), inMemory}};
        for (Object[] run : runs) {
            String what = (String) run[0];
            DistData.Options o = (DistData.Options) run[1];
            DistData a = load((Dataset<Row>) run[2], true, o, cols), b = load((Dataset<Row>) run[3], false, o, cols);
            assertTrue(a.tensor("x").isSparse(), what);
            assertEquals(what.startsWith("x sparse"), !a.tensor("a").isSparse(), what);
            assertEquals(b.rows(), a.rows(), what);
            assertEquals(b.numPartitions(), a.numPartitions(), what);
            List<dev.sparkautograd.dist.Block> blocks = a.blocks().collect();
            assertSameBlocks(b.blocks().collect(), blocks, cols, what);
            if (what.contains("blockRows")) {
                int max = Integer.parseInt(what.substring(what.lastIndexOf(' ') + 1));
                for (dev.sparkautograd.dist.Block k : blocks) assertTrue(k.rows() <= max, what + ": " + k.rows() + " rows");
                assertTrue(blocks.size() >= a.rows() / max, what + ": " + blocks.size() + " blocks");
            }
            if (what.contains("blockBytes")) assertTrue(blocks.size() > a.numPartitions() + 1, what + ": " + blocks.size() + " blocks");
            if (what.startsWith("empty")) {
                List<Boolean> nonEmpty = a.blocks().mapPartitions(it -> List.of(it.hasNext()).iterator()).collect();
                assertTrue(nonEmpty.contains(false) && nonEmpty.contains(true), what + ": " + nonEmpty);
            }
        }
    }

    @Test
    void badSparseCellsNameTheColumnAndRowAsTheRowPathDoes(@TempDir Path dir) {
        // Vectors as their struct form (what a file may hold; Spark's SparseVector refuses such indices), read back as
        // Vectors through the columnar batches (2 rows each) and through Spark's row reader, sparse(true): the same
        // message from both. 5 rows, the bad cell(s) in rows 2 and 3, one partition.
        StructType struct = schema(field("x", new StructType(new StructField[] {
                field("type", DataTypes.ByteType), field("size", DataTypes.IntegerType),
                field("indices", DataTypes.createArrayType(DataTypes.IntegerType)), field("values", DataTypes.createArrayType(DataTypes.DoubleType))})),
                field("a", DataTypes.createArrayType(DataTypes.DoubleType)), field("y", DataTypes.DoubleType));
        StructType asVectors = schema(field("x", SQLDataTypes.VectorType()), field("a", DataTypes.createArrayType(DataTypes.DoubleType)), field("y", DataTypes.DoubleType));
        Row gx = sparseCell(4, new int[] {1}, 2);
        double[] ga = {0, 1, 0};
        Row good = RowFactory.create(gx, ga, 1.0);
        String nonFinite = "; pass DistData.options().allowNonFinite(true) to allow non-finite values";
        Object[][] cases = {
                // row 2, row 3, the message
                {RowFactory.create(null, ga, 1.0), good, "column 'x' is null at row 2"},
                {RowFactory.create(sparseCell(5, new int[] {0}, 1), ga, 1.0), good, "column 'x' has 5 values at row 2 but 4 in earlier rows (ragged arrays)"},
                {RowFactory.create(sparseCell(4, new int[] {1, 4}, 1, 2), ga, 1.0), good, "column 'x' has a sparse index 4 out of range [0, 4) at row 2"},
                {RowFactory.create(sparseCell(4, new int[] {-1, 2}, 1, 2), ga, 1.0), good, "column 'x' has a sparse index -1 out of range [0, 4) at row 2"},
                {RowFactory.create(sparseCell(4, new int[] {2, 1}, 1, 2), ga, 1.0), good, "column 'x' has an unsorted sparse index 1 (after 2) at row 2"},
                {RowFactory.create(sparseCell(4, new int[] {1, 1}, 1, 2), ga, 1.0), good, "column 'x' has a duplicated sparse index 1 (after 1) at row 2"},
                {RowFactory.create(sparseCell(4, new int[] {0, 3}, 1, Double.NaN), ga, 1.0), good, "column 'x' has NaN at row 2 (index 3)" + nonFinite},
                {RowFactory.create(RowFactory.create((byte) 1, null, null, new double[] {1, Double.POSITIVE_INFINITY, 0, 0}), ga, 1.0), good,
                        "column 'x' has an infinite value at row 2 (index 1)" + nonFinite},
                {RowFactory.create(RowFactory.create((byte) 1, null, null, new double[] {1, 0, 0, 0, 5}), ga, 1.0), good,
                        "column 'x' has 5 values at row 2 but 4 in earlier rows (ragged arrays)"},
                {RowFactory.create(gx, null, 1.0), good, "column 'a' is null at row 2"},
                {RowFactory.create(gx, new Double[] {0.0, null, 1.0}, 1.0), good, "column 'a' has a null element at row 2 (index 1)"},
                {RowFactory.create(gx, new double[] {0, Double.NaN, 1}, 1.0), good, "column 'a' has NaN at row 2 (index 1)" + nonFinite},
                {RowFactory.create(gx, new double[] {0, 1}, 1.0), good, "column 'a' has 2 values at row 2 but 3 in earlier rows (ragged arrays)"},
                // two bad cells: the first in row order is named, whichever column (sparse or dense) holds it
                {RowFactory.create(gx, ga, null), RowFactory.create(sparseCell(4, new int[] {3, 3}, 1, 2), ga, 1.0), "column 'y' is null at row 2"},
                {RowFactory.create(sparseCell(4, new int[] {3, 3}, 1, 2), ga, 1.0), RowFactory.create(gx, ga, null),
                        "column 'x' has a duplicated sparse index 3 (after 3) at row 2"}};
        org.apache.spark.sql.SparkSession columnar = SharedSpark.session().newSession(), byRows = SharedSpark.session().newSession();
        columnar.conf().set("spark.sql.parquet.columnarReaderBatchSize", "2");
        byRows.conf().set("spark.sql.parquet.enableVectorizedReader", "false");
        for (Object[] c : cases) {
            String path = dir.resolve("case" + System.nanoTime()).toString();
            SharedSpark.session().createDataFrame(List.of(good, good, (Row) c[0], (Row) c[1], good), struct).coalesce(1).write().parquet(path);
            for (org.apache.spark.sql.SparkSession s : List.of(columnar, byRows)) {
                DistData d = load(s.read().schema(asVectors).parquet(path), s == columnar, DistData.options().sparse(true), "x", "a", "y");
                assertTrue(d.tensor("x").isSparse() && d.tensor("a").isSparse());
                assertEquals((String) c[2], assertThrows(IllegalArgumentException.class, () -> d.tensor("y").sum()).getMessage(), s == columnar ? "columnar" : "rows");
            }
        }
    }

    /** A sparse Vector's struct form (type 0, size, indices, values), unchecked. */
    private static Row sparseCell(int size, int[] indices, double... values) {
        return RowFactory.create((byte) 0, size, indices, values);
    }

    @Test
    void oneCountingJobPerSourceThenOneJobPerStep() {
        // No exchange in the plan (adaptive execution would run a job of its own for a shuffle's map stage).
        Dataset<Row> df = SharedSpark.session().range(0, 20, 1, 4).selectExpr("array(cast(id as double), 1.0d) as x", "cast(id % 2 as double) as y");
        DistData[] d = new DistData[1];
        assertEquals(1, DistBehaviourTest.jobsDuring(() -> d[0] = DistData.fromDataset(df,
                DistData.options().storageLevel(org.apache.spark.storage.StorageLevel.MEMORY_ONLY_SER()), "x", "y")));
        Tensor w = Tensor.zeros(2).requiresGrad_(true);
        int jobs = DistBehaviourTest.jobsDuring(() -> {
            for (int step = 0; step < 3; step++) {
                DistTensor z = d[0].tensor("x").matmul(w);
                z.softplus().sub(d[0].tensor("y").mul(z)).mean().backward();
                try (Autograd.Scope ignored = Autograd.noGrad()) {
                    w.sub_(w.grad());
                }
                w.grad().zero_();
            }
        });
        assertEquals(3, jobs);
        // Blocks cached serialized (Kryo, registration required) are read back intact.
        assertEquals(190.0, d[0].tensor("x").sumRows(1, false).sum().item() - 20);
        d[0].unpersist();
    }

    @ParameterizedTest(name = "parquet {0}")
    @ValueSource(booleans = {false, true})
    void schemaProblemsFailOnTheDriverBeforeAnyJob(boolean parquet, @TempDir Path dir) {
        Dataset<Row> df = source(df1(schema(field("x", DataTypes.DoubleType), field("name", DataTypes.StringType)),
                RowFactory.create(1.0, "a")), parquet, dir);
        int jobs = DistBehaviourTest.jobsDuring(() -> {
            assertMessage(assertThrows(IllegalArgumentException.class, () -> DistData.fromDataset(df, "x", "nope")), "unknown column 'nope'");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> DistData.fromDataset(df, "name")), "column 'name'", "string");
        });
        assertEquals(0, jobs);
        DistData d = load(df, parquet, "x");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> d.tensor("y")), "no column 'y'");
    }

    @ParameterizedTest(name = "parquet {0}")
    @ValueSource(booleans = {false, true})
    void nullCellsNameTheColumnAndRow(boolean parquet, @TempDir Path dir) {
        Dataset<Row> df = source(df1(schema(field("x", DataTypes.DoubleType), field("label", DataTypes.DoubleType)),
                RowFactory.create(1.0, 0.0), RowFactory.create(2.0, 1.0), RowFactory.create(3.0, null)), parquet, dir);
        DistData d = load(df, parquet, "x", "label");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> d.tensor("x").sum()), "column 'label'", "null", "row 2");
        // A null array, a null element of an array, a null Vector; the first bad cell in row order is the one named.
        StructType s = schema(field("n", DataTypes.IntegerType), field("a", DataTypes.createArrayType(DataTypes.DoubleType)),
                field("v", SQLDataTypes.VectorType()));
        Object[][] cases = {
                {RowFactory.create(1, null, Vectors.dense(1, 2)), "column 'a' is null at row 1"},
                {RowFactory.create(1, new Double[] {1.0, null}, Vectors.dense(1, 2)), "column 'a' has a null element at row 1 (index 1)"},
                {RowFactory.create(1, new double[] {1, 2}, null), "column 'v' is null at row 1"},
                {RowFactory.create(null, new double[] {1, 2}, null), "column 'n' is null at row 1"}};
        for (Object[] c : cases) {
            Dataset<Row> bad = source(df1(s, RowFactory.create(0, new double[] {0, 1}, Vectors.dense(0, 1)), (Row) c[0],
                    RowFactory.create(null, null, null)), parquet, dir);
            DistData b = load(bad, parquet, "n", "a", "v");
            assertEquals((String) c[1], assertThrows(IllegalArgumentException.class, () -> b.tensor("n").sum()).getMessage());
        }
    }

    @ParameterizedTest(name = "parquet {0}")
    @ValueSource(booleans = {false, true})
    void nonFiniteValuesAreAnErrorUnlessAllowed(boolean parquet, @TempDir Path dir) {
        StructType s = schema(field("features", DataTypes.createArrayType(DataTypes.DoubleType)));
        Dataset<Row> df = source(df1(s, RowFactory.create((Object) new double[] {1, 2}), RowFactory.create((Object) new double[] {3, Double.NaN})), parquet, dir);
        DistData d = load(df, parquet, "features");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> d.tensor("features").sum()),
                "column 'features'", "NaN", "row 1", "allowNonFinite");
        DistData ok = load(df, parquet, DistData.options().allowNonFinite(true), "features");
        assertTrue(Double.isNaN(ok.tensor("features").sum().item()));
        Dataset<Row> inf = source(df1(schema(field("v", DataTypes.DoubleType)), RowFactory.create(Double.POSITIVE_INFINITY)), parquet, dir);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> load(inf, parquet, "v").tensor("v").sum()),
                "column 'v'", "infinite", "row 0");
        Dataset<Row> vec = source(df1(schema(field("v", SQLDataTypes.VectorType())), RowFactory.create(Vectors.dense(1, 2)),
                RowFactory.create(Vectors.dense(Double.NEGATIVE_INFINITY, 0))), parquet, dir);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> load(vec, parquet, "v").tensor("v").sum()),
                "column 'v'", "infinite", "row 1 (index 0)");
    }

    @ParameterizedTest(name = "parquet {0}")
    @ValueSource(booleans = {false, true})
    void raggedArraysNameTheColumnAndRow(boolean parquet, @TempDir Path dir) {
        StructType s = schema(field("a", DataTypes.createArrayType(DataTypes.DoubleType)));
        Dataset<Row> df = source(df1(s, RowFactory.create((Object) new double[] {1, 2}), RowFactory.create((Object) new double[] {1, 2}),
                RowFactory.create((Object) new double[] {1, 2, 3})), parquet, dir);
        DistData d = load(df, parquet, "a");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> d.tensor("a").sum()), "column 'a'", "row 2", "ragged");
        // Vectors of different sizes too.
        StructType v = schema(field("v", SQLDataTypes.VectorType()));
        Dataset<Row> dv = source(df1(v, RowFactory.create(Vectors.dense(1, 2)), RowFactory.create(Vectors.sparse(3, new int[] {0}, new double[] {1}))), parquet, dir);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> load(dv, parquet, "v").tensor("v").sum()),
                "column 'v'", "row 1", "ragged");
    }

    @Test
    void raggedRowsOfFromRows() {
        JavaRDD<double[]> rows = SharedSpark.jsc().parallelize(Arrays.asList(new double[] {1, 2}, new double[] {3, 4}, new double[] {5}), 2);
        DistTensor t = DistTensor.fromRows(rows, 2);
        assertEquals(3, t.rows());
        assertMessage(assertThrows(IllegalArgumentException.class, t::sum), "row 2", "ragged");
        JavaRDD<double[]> good = SharedSpark.jsc().parallelize(Arrays.asList(new double[] {1, 2}, new double[] {3, 4}, new double[] {5, 6}), 2);
        DistTensor g = DistTensor.fromRows(good, 2);
        assertTrue(g.collect().equal(Tensor.fromArray(new double[] {1, 2, 3, 4, 5, 6}, 3, 2)), g.collect().toString());
        Tensor w = Tensor.of(1, -1).requiresGrad_(true);
        g.matmul(w).square().sum().backward();
        assertTrue(w.grad().equal(Tensor.of(-18, -24)), String.valueOf(w.grad()));
    }

    @Test
    void nonFiniteRowsOfFromRowsAndMismatchedColumnsOfParallelize() {
        JavaRDD<double[]> rows = SharedSpark.jsc().parallelize(Arrays.asList(new double[] {1, 2}, new double[] {Double.NaN, 4}), 2);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> DistTensor.fromRows(rows, 2).sum()), "column 0", "NaN", "row 1");
        assertTrue(Double.isNaN(DistTensor.fromRows(rows, 2, DistData.options().allowNonFinite(true)).sum().item()));
        java.util.Map<String, Tensor> m = new java.util.LinkedHashMap<>();
        m.put("a", Tensor.zeros(4, 2));
        m.put("b", Tensor.zeros(5));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> DistData.parallelize(SharedSpark.jsc(), 2, m)), "[4, 2]", "[5]");
    }

    @Test
    void anEmptyDatasetSumsToZeroAndHasNoMean() {
        StructType s = schema(field("x", DataTypes.DoubleType));
        Dataset<Row> df = SharedSpark.session().createDataFrame(new ArrayList<Row>(), s);
        DistData d = DistData.fromDataset(df, "x");
        assertEquals(0, d.rows());
        Tensor w = Tensor.scalar(2).requiresGrad_(true);
        Tensor sum = d.tensor("x").mul(w).sum();
        assertEquals(0.0, sum.item());
        sum.backward();
        assertEquals(0.0, w.grad().item());
        assertMessage(assertThrows(IllegalStateException.class, () -> d.tensor("x").mean()), "no rows");
    }
}
