package dev.sparkautograd.jobs.models;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.bytes.HeapByteBufferAllocator;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.column.values.rle.RunLengthBitPackingHybridValuesWriter;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;

/**
 * Writes a {@link Synthetic} dataset as Parquet, one file per partition, a column chunk at a time through
 * parquet-hadoop's {@link ParquetFileWriter}, the files Spark's writer makes of {@link Synthetic#dataset} with
 * {@code spark.sql.parquet.writeLegacyFormat} (the same schema, Spark's schema under its footer key, uncompressed,
 * plain values, no dictionary, min/max statistics, page checksums; named {@code part-NNNNN-<job uuid>-c000.parquet}
 * with a {@code _SUCCESS} file beside them) and the same values.
 *
 * <p>Why not Spark's writer: it hands parquet-mr one value at a time (Spark's per-field writer lambdas, then
 * parquet-mr's record consumer, which encodes a repetition and a definition level, updates the statistics and
 * appends 8 bytes to a slab per value), after copying each row into an {@code UnsafeArrayData} and an
 * {@code UnsafeRow}: in a JFR profile of {@code generate} (1M x 100) that was 55% of the CPU samples against 17%
 * for the generator. Here a page's values are copied into the page buffer in one bulk little-endian copy, its
 * statistics are one pass over the values, and its levels, which depend only on the page's row count (every row
 * has the same length), are encoded once by parquet-mr's RLE/bit-packing encoder and reused.
 */
public final class SyntheticParquet {
    private SyntheticParquet() {}

    /** Spark's Parquet schema of {@link Synthetic#SCHEMA} in its legacy (two-level list) form. */
    public static final MessageType SCHEMA = Types.buildMessage()
            .requiredGroup().as(LogicalTypeAnnotation.listType())
                .repeated(PrimitiveTypeName.DOUBLE).named("array")
                .named("features")
            .required(PrimitiveTypeName.DOUBLE).named("label")
            .named("spark_schema");

    private static final ColumnDescriptor FEATURES = SCHEMA.getColumnDescription(new String[] {"features", "array"}),
            LABEL = SCHEMA.getColumnDescription(new String[] {"label"});

    /** Parquet's default page size (parquet.page.size), which Spark's writer uses. */
    static final int PAGE_BYTES = 1 << 20;

    /** A data page's header with min/max statistics takes about 31 bytes (Thrift's compact protocol); a bound. */
    private static final int PAGE_HEADER_BYTES = 40;

    /** The footer key under which Spark keeps a file's Spark schema (its ParquetReadSupport reads it back). */
    static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";

    /**
     * Writes the dataset into the directory {@code output}, which must not exist: one Spark task per partition
     * writes its file under {@code output/_temporary/<task attempt>/} and renames it into {@code output} (a retried
     * or speculative attempt writes the same bytes), then the driver removes {@code _temporary} and writes
     * {@code _SUCCESS}. When the job fails, {@code output} is deleted (it did not exist before).
     */
    public static void write(SparkSession spark, Synthetic syn, String output, long rowGroupBytes) throws IOException {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path dir = new Path(output);
        FileSystem fs = dir.getFileSystem(hadoop);
        dir = fs.makeQualified(dir);
        if (fs.exists(dir)) throw new IOException("the output " + dir + " exists");
        if (!fs.mkdirs(dir)) throw new IOException("cannot create " + dir);
        String job = UUID.randomUUID().toString(), root = dir.toString();
        String sparkVersion = org.apache.spark.package$.MODULE$.SPARK_VERSION_SHORT();
        SerializableConfiguration conf = new SerializableConfiguration(hadoop);
        List<Integer> ids = IntStream.range(0, syn.partitions()).boxed().toList();
        boolean done = false;
        try {
            JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(ids, ids.size()).foreach(p -> {
                // Spark writes no file for an empty partition, except the first (so an empty dataset keeps its schema)
                if (syn.rowsIn(p) == 0 && p > 0) return;
                String name = String.format("part-%05d-%s-c000.parquet", p, job);
                Path out = new Path(root), tmp = new Path(out, "_temporary/" + TaskContext.get().taskAttemptId() + "/" + name);
                writeFile(conf.value(), tmp, syn.chunks(p), syn.rowsIn(p), syn.model().features(), rowGroupBytes, PAGE_BYTES, sparkVersion);
                FileSystem tfs = out.getFileSystem(conf.value());
                Path target = new Path(out, name);
                if (!tfs.rename(tmp, target) && !tfs.exists(target)) throw new IOException("cannot rename " + tmp + " to " + target);
            });
            fs.delete(new Path(dir, "_temporary"), true);
            fs.create(new Path(dir, "_SUCCESS"), false).close();
            done = true;
        } finally {
            if (!done) fs.delete(dir, true);
        }
    }

    /**
     * Writes {@code total} rows of {@code d} features from {@code rows} into the Parquet file {@code file}: row groups
     * of at most {@code rowGroupBytes}, pages of at most {@code pageBytes} of values (or one row).
     */
    static void writeFile(Configuration conf, Path file, Synthetic.Chunks rows, long total, int d, long rowGroupBytes,
                          int pageBytes, String sparkVersion) throws IOException {
        int rowsPerPage = Math.max(1, pageBytes / (8 * d)), labelsPerPage = Math.max(1, pageBytes / 8);
        Map<Integer, BytesInput> levels = new HashMap<>(); // by a page's row count
        double bytesPerRow = 8.0 * (d + 1) // values, levels, page headers
                + ((double) levels.computeIfAbsent(rowsPerPage, k -> levels(k, d)).size() + PAGE_HEADER_BYTES) / rowsPerPage
                + (double) PAGE_HEADER_BYTES / labelsPerPage;
        int rowsPerGroup = (int) Math.max(1, Math.min(Integer.MAX_VALUE, rowGroupBytes / bytesPerRow));
        byte[] page = new byte[Math.multiplyExact(rowsPerPage, 8 * d)];
        DoubleBuffer pageValues = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
        double[] labels = new double[(int) Math.min(rowsPerGroup, total)];
        byte[] labelPage = new byte[8 * (int) Math.min(labelsPerPage, labels.length)];
        DoubleBuffer labelValues = ByteBuffer.wrap(labelPage).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
        ParquetFileWriter w = new ParquetFileWriter(HadoopOutputFile.fromPath(file, conf), SCHEMA,
                ParquetFileWriter.Mode.OVERWRITE, rowGroupBytes, ParquetWriter.MAX_PADDING_SIZE_DEFAULT, null,
                ParquetProperties.builder().build());
        boolean ok = false;
        try {
            w.start();
            int at = 0; // the next row of the current chunk
            for (long written = 0; written < total; ) {
                int groupRows = (int) Math.min(rowsPerGroup, total - written);
                w.startBlock(groupRows);
                w.startColumn(FEATURES, (long) groupRows * d, CompressionCodecName.UNCOMPRESSED);
                for (int inGroup = 0; inGroup < groupRows; ) {
                    int pageRows = Math.min(rowsPerPage, groupRows - inGroup);
                    double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
                    for (int filled = 0; filled < pageRows; ) {
                        if (at == rows.rows()) {
                            if (!rows.next()) throw new IllegalStateException("the generator ended before " + total + " rows");
                            at = 0;
                        }
                        int take = Math.min(pageRows - filled, rows.rows() - at);
                        double[] x = rows.features();
                        pageValues.position(filled * d);
                        pageValues.put(x, at * d, take * d);
                        for (int i = at * d, end = (at + take) * d; i < end; i++) { // the values are finite: no NaN rule
                            min = x[i] < min ? x[i] : min;
                            max = x[i] > max ? x[i] : max;
                        }
                        System.arraycopy(rows.labels(), at, labels, inGroup + filled, take);
                        filled += take;
                        at += take;
                    }
                    BytesInput pageLevels = levels.computeIfAbsent(pageRows, k -> levels(k, d));
                    int valueBytes = pageRows * d * 8;
                    w.writeDataPage(pageRows * d, (int) pageLevels.size() + valueBytes,
                            BytesInput.concat(pageLevels, BytesInput.from(page, 0, valueBytes)), stats(FEATURES, min, max),
                            pageRows, Encoding.RLE, Encoding.RLE, Encoding.PLAIN);
                    inGroup += pageRows;
                }
                w.endColumn();
                w.startColumn(LABEL, groupRows, CompressionCodecName.UNCOMPRESSED);
                for (int from = 0; from < groupRows; from += labelsPerPage) {
                    int n = Math.min(labelsPerPage, groupRows - from);
                    labelValues.position(0);
                    labelValues.put(labels, from, n);
                    double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
                    for (int i = from; i < from + n; i++) {
                        min = labels[i] < min ? labels[i] : min;
                        max = labels[i] > max ? labels[i] : max;
                    }
                    // a required column has no levels: parquet-mr names their (empty) encoding BIT_PACKED
                    w.writeDataPage(n, n * 8, BytesInput.from(labelPage, 0, n * 8), stats(LABEL, min, max), n,
                            Encoding.BIT_PACKED, Encoding.BIT_PACKED, Encoding.PLAIN);
                }
                w.endColumn();
                w.endBlock();
                written += groupRows;
            }
            w.end(Map.of(SPARK_SCHEMA_KEY, Synthetic.SCHEMA.json(), "org.apache.spark.version", sparkVersion));
            ok = true;
        } finally {
            if (!ok) w.abort();
        }
    }

    /** A page's statistics: its values are finite and none is null, so min and max say it all. */
    private static Statistics<?> stats(ColumnDescriptor column, double min, double max) {
        Statistics<?> s = Statistics.createStats(column.getPrimitiveType());
        s.updateStats(min);
        s.updateStats(max);
        return s;
    }

    /**
     * The repetition and definition levels of a page of {@code rows} rows of {@code d} features, as a data page v1
     * holds them (each length-prefixed, RLE/bit-packed): repetition 0 at a row's first value and 1 at the others,
     * definition 1 (a value present) everywhere.
     */
    static BytesInput levels(int rows, int d) {
        try (RunLengthBitPackingHybridValuesWriter r = new RunLengthBitPackingHybridValuesWriter(1, 1024, 1 << 16, HeapByteBufferAllocator.getInstance());
             RunLengthBitPackingHybridValuesWriter dl = new RunLengthBitPackingHybridValuesWriter(1, 1024, 1 << 16, HeapByteBufferAllocator.getInstance())) {
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < d; j++) {
                    r.writeInteger(j == 0 ? 0 : 1);
                    dl.writeInteger(1);
                }
            }
            return BytesInput.copy(BytesInput.concat(r.getBytes(), dl.getBytes()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
