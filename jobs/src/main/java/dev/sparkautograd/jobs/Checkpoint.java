package dev.sparkautograd.jobs;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.io.Npy;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * train's checkpoint: after step {@code step}, the parameters ({@code params.npy}, the flat layout of train's
 * output) and {@code state.bin} (the model and optimizer it belongs to, the optimizer's {@code stateDict()},
 * the progress curve and the evaluation count, Java-serialized; tensors as shape and values) in a directory
 * {@code step-NNNNNNNN} of the checkpoint directory. The step directory is written under a temporary name and
 * renamed when complete, so a driver killed while writing leaves the previous checkpoint intact; older step
 * directories are deleted after the rename. {@link #latest} reads the newest complete one.
 */
final class Checkpoint implements Serializable {
    private static final long serialVersionUID = 1L;

    static final String PARAMS = "params.npy", STATE = "state.bin", PREFIX = "step-";

    /** The model ({@code Model.describe()}) and the optimizer the checkpoint belongs to. */
    final String model, optimizer;
    final int step, evaluations;
    final List<double[]> curve;
    /** The optimizer's state dict with each Tensor replaced by a {@link SavedTensor}. */
    final Map<String, Object> optimizerState;
    /** train's --batch-size (0: the full batch) and --batch-seed: a resumed run must draw the same batches. */
    int batchSize;
    long batchSeed;
    /** Not serialized in state.bin: params.npy holds them. */
    transient double[] params;

    @SuppressWarnings("unchecked")
    Checkpoint(String model, String optimizer, int step, int evaluations, List<double[]> curve, Map<String, Object> optimizerState, double[] params) {
        this.model = model;
        this.optimizer = optimizer;
        this.step = step;
        this.evaluations = evaluations;
        this.curve = new ArrayList<>(curve);
        this.optimizerState = optimizerState == null ? null : (Map<String, Object>) toSerializable(optimizerState);
        this.params = params;
    }

    Checkpoint batches(int size, long seed) {
        this.batchSize = size;
        this.batchSeed = seed;
        return this;
    }

    /** A tensor in state.bin. */
    record SavedTensor(int[] shape, double[] values) implements Serializable {}

    /** The optimizer state dict as saved (tensors rebuilt). */
    @SuppressWarnings("unchecked")
    Map<String, Object> optimizerStateDict() {
        return (Map<String, Object>) fromSerializable(optimizerState);
    }

    private static Object toSerializable(Object v) {
        if (v instanceof Tensor t) return new SavedTensor(t.shape(), t.toArray());
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> c = new LinkedHashMap<>();
            m.forEach((k, x) -> c.put(k, toSerializable(x)));
            return c;
        }
        if (v instanceof List<?> l) {
            List<Object> c = new ArrayList<>();
            for (Object x : l) c.add(toSerializable(x));
            return c;
        }
        return v;
    }

    private static Object fromSerializable(Object v) {
        if (v instanceof SavedTensor t) return Tensor.fromArray(t.values().clone(), t.shape());
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> c = new LinkedHashMap<>();
            m.forEach((k, x) -> c.put(k, fromSerializable(x)));
            return c;
        }
        if (v instanceof List<?> l) {
            List<Object> c = new ArrayList<>();
            for (Object x : l) c.add(fromSerializable(x));
            return c;
        }
        return v;
    }

    /** Writes this checkpoint to {@code dir/step-NNNNNNNN} (write, then rename) and deletes the older ones; returns its qualified path. */
    String write(SparkSession spark, String dir) throws IOException {
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(spark.sparkContext().hadoopConfiguration());
        FileSystem raw = fs instanceof org.apache.hadoop.fs.LocalFileSystem local ? local.getRawFileSystem() : fs; // no .crc files
        String name = String.format("%s%08d", PREFIX, step);
        Path tmp = new Path(root, "_" + name + ".tmp"), done = new Path(root, name);
        raw.delete(tmp, true);
        try (OutputStream out = raw.create(new Path(tmp, PARAMS), true)) {
            Npy.write(out, params, params.length);
        }
        try (ObjectOutputStream out = new ObjectOutputStream(raw.create(new Path(tmp, STATE), true))) {
            out.writeObject(this);
        }
        raw.delete(done, true);
        if (!raw.rename(tmp, done)) throw new IOException("cannot rename " + fs.makeQualified(tmp) + " to " + fs.makeQualified(done));
        for (FileStatus s : raw.listStatus(root)) {
            String n = s.getPath().getName();
            if (n.startsWith(PREFIX) && n.compareTo(name) < 0) raw.delete(s.getPath(), true);
        }
        return fs.makeQualified(done).toString();
    }

    /** The newest complete checkpoint in {@code dir}, or null when there is none (no directory, or no complete step). */
    static Checkpoint latest(SparkSession spark, String dir) throws IOException, ClassNotFoundException {
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(spark.sparkContext().hadoopConfiguration());
        if (!fs.exists(root)) return null;
        Path newest = null;
        for (FileStatus s : fs.listStatus(root)) {
            String n = s.getPath().getName();
            if (s.isDirectory() && n.startsWith(PREFIX) && (newest == null || n.compareTo(newest.getName()) > 0)) newest = s.getPath();
        }
        if (newest == null) return null;
        Checkpoint c;
        try (ObjectInputStream in = new ObjectInputStream(fs.open(new Path(newest, STATE)))) {
            c = (Checkpoint) in.readObject();
        }
        try (InputStream in = fs.open(new Path(newest, PARAMS))) {
            c.params = Npy.read(in).toArray();
        }
        return c;
    }

    static String qualified(SparkSession spark, String dir) throws IOException {
        return HadoopFiles.qualify(spark, dir);
    }
}
