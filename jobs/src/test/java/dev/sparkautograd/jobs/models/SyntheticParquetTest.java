package dev.sparkautograd.jobs.models;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SyntheticParquet's files hold the generator's rows, in order, bit for bit, for Spark's readers. */
class SyntheticParquetTest {

    @TempDir
    static Path tmp;

    /** The rows of a partition as strings of their values' bits, in order. */
    private static List<String> bits(Iterable<Row> rows) {
        List<String> out = new ArrayList<>();
        for (Row r : rows) {
            StringBuilder s = new StringBuilder();
            Object f = r.get(0);
            if (f instanceof double[] a) for (double v : a) s.append(Long.toHexString(Double.doubleToRawLongBits(v))).append(' ');
            else for (Object v : r.getList(0)) s.append(Long.toHexString(Double.doubleToRawLongBits((Double) v))).append(' ');
            out.add(s.append("| ").append(Long.toHexString(Double.doubleToRawLongBits(r.getDouble(1)))).toString());
        }
        return out;
    }

    @Test
    void filesHoldEachPartitionsRowsInOrderForBothOfSparksReaders() throws Exception {
        // pages and row groups that end inside a generator chunk (4096 rows) and span chunk ends, short last pages and
        // groups, a row wider than a page (one row per page), and the job's sizes (one page, one group)
        record Case(Model.Kind kind, int features, long rows, long rowGroupBytes, int pageBytes, int minGroups) {}
        Case[] cases = {
                new Case(Model.Kind.logistic, 3, 5_001, 20_000, 200, 5_001 * 32 / 20_000),
                new Case(Model.Kind.softmax, 50, 300, 2_000, 200, 300 * 408 / 2_000),
                new Case(Model.Kind.linear, 4, 1_001, 32L << 20, 1 << 20, 1),
        };
        Configuration conf = SharedSpark.session().sparkContext().hadoopConfiguration();
        for (Case c : cases) {
            Synthetic syn = new Synthetic(new Model(c.kind, c.features, 3, new int[0]), c.rows, 1, 11);
            Path file = tmp.resolve(c.kind + "-" + c.features + ".parquet");
            SyntheticParquet.writeFile(conf, new org.apache.hadoop.fs.Path(file.toUri()), syn.chunks(0), c.rows, c.features,
                    c.rowGroupBytes, c.pageBytes, "4.2.0");
            List<String> expected = new ArrayList<>();
            syn.partition(0).forEachRemaining(r -> expected.addAll(bits(List.of(r))));
            for (String vectorized : new String[] {"true", "false"}) {
                SparkSession s = SharedSpark.session().newSession();
                s.conf().set("spark.sql.parquet.enableVectorizedReader", vectorized);
                var df = s.read().parquet(file.toString());
                assertEquals(Synthetic.SCHEMA.asNullable(), df.schema(), c + ": Spark's schema from the footer (file sources read as nullable)");
                assertEquals(expected, bits(df.collectAsList()), c + ", vectorized reader " + vectorized);
            }
            try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(new org.apache.hadoop.fs.Path(file.toUri()), conf))) {
                ParquetMetadata footer = r.getFooter();
                List<BlockMetaData> groups = footer.getBlocks();
                assertTrue(groups.size() >= c.minGroups && groups.size() <= 2 * c.minGroups + 1, c + ": " + groups.size() + " row groups");
                long rows = 0;
                int rowsPerPage = Math.max(1, c.pageBytes / (8 * c.features));
                for (int g = 0; g < groups.size(); g++) {
                    BlockMetaData b = groups.get(g);
                    rows += b.getRowCount();
                    assertTrue(b.getTotalByteSize() <= c.rowGroupBytes, c + ": " + b);
                    if (g < groups.size() - 1) assertTrue(b.getTotalByteSize() > c.rowGroupBytes * 0.9, c + ": " + b);
                    assertEquals((b.getRowCount() + rowsPerPage - 1) / rowsPerPage, r.readOffsetIndex(b.getColumns().get(0)).getPageCount(), c + ": pages");
                }
                assertEquals(c.rows, rows);
                assertEquals(Synthetic.SCHEMA.json(), footer.getFileMetaData().getKeyValueMetaData().get("org.apache.spark.sql.parquet.row.metadata"));
            }
        }
    }
}
