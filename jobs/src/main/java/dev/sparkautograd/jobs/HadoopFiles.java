package dev.sparkautograd.jobs;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Files the jobs write on the driver (.npy, CSV, PNG) through the Hadoop client: file://, hdfs://, s3a://... */
final class HadoopFiles {

    private HadoopFiles() {}

    interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /** Writes (overwrites) {@code path}; returns its fully qualified name. */
    static String write(SparkSession spark, String path, Writer writer) throws IOException {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf);
        // A local file through Hadoop's checksummed file system gets a hidden .name.crc beside it; the jobs' small
        // driver-side files are read by numpy and image viewers, not by Hadoop, so they are written without one.
        FileSystem target = fs instanceof org.apache.hadoop.fs.LocalFileSystem local ? local.getRawFileSystem() : fs;
        try (FSDataOutputStream out = target.create(p, true)) {
            writer.write(out);
        }
        return fs.makeQualified(p).toString();
    }

    static InputStream open(SparkSession spark, String path) throws IOException {
        Path p = new Path(path);
        return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).open(p);
    }

    static boolean exists(SparkSession spark, String path) throws IOException {
        Path p = new Path(path);
        return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p);
    }

    static String qualify(SparkSession spark, String path) throws IOException {
        Path p = new Path(path);
        return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).makeQualified(p).toString();
    }

    /**
     * The rule of every job's output: an existing {@code path} is refused unless {@code overwrite}, then it is
     * deleted (a directory with its content) before the job writes anything. Returns null when the path is
     * free, else the usage error to throw.
     */
    static String claimOutput(SparkSession spark, String path, boolean overwrite) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
        if (!fs.exists(p)) return null;
        if (!overwrite) return "the output " + fs.makeQualified(p) + " exists: pass --overwrite to replace it, or choose another --output";
        if (!fs.delete(p, true)) throw new IOException("cannot delete " + fs.makeQualified(p) + " (--overwrite)");
        return null;
    }

    /** {@code dir/name}, for a directory given as a path or URI. */
    static String child(String dir, String name) {
        return new Path(new Path(dir), name).toString();
    }
}
