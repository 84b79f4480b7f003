package dev.sparkautograd.jobs;

import dev.sparkautograd.jobs.models.Model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * The description of a trained model that train writes beside params.npy and predict reads: {@code model.properties}
 * with the model kind, the feature count, the class count, the hidden layer sizes and, for the fm, its factors (a
 * Java properties file, readable by anyone). With params.npy it rebuilds the module exactly ({@link Model#module}).
 */
record SavedModel(Model.Kind kind, int features, int classes, int[] hidden, int factors) {

    static final String FILE = "model.properties";

    static SavedModel of(Model m) {
        return new SavedModel(m.kind(), m.features(), m.classes(), m.hidden(), m.factors());
    }

    Model model() {
        return kind == Model.Kind.fm ? new Model(kind, features, classes, hidden, factors) : new Model(kind, features, classes, hidden);
    }

    void write(OutputStream out) throws IOException {
        String text = "# spark-autograd train: the model of params.npy\n"
                + "model=" + kind + "\n"
                + "features=" + features + "\n"
                + "classes=" + classes + "\n"
                + "hidden=" + Arrays.stream(hidden).mapToObj(Integer::toString).collect(Collectors.joining(",")) + "\n"
                + (kind == Model.Kind.fm ? "factors=" + factors + "\n" : "");
        out.write(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads a model description; a missing or bad entry is an IllegalArgumentException naming {@code where} and the entry. */
    static SavedModel read(InputStream in, String where) throws IOException {
        Properties p = new Properties();
        p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
        String kind = p.getProperty("model");
        Model.Kind k;
        try {
            k = Model.Kind.valueOf(String.valueOf(kind));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": 'model' is " + (kind == null ? "missing" : "'" + kind + "', not one of " + Arrays.toString(Model.Kind.values())));
        }
        int features = positive(p, "features", where), classes = positive(p, "classes", where);
        String h = p.getProperty("hidden", "").trim();
        int[] hidden;
        try {
            hidden = h.isEmpty() ? new int[0] : Arrays.stream(h.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": 'hidden' must be comma-separated sizes, got '" + h + "'");
        }
        int factors = k == Model.Kind.fm ? positive(p, "factors", where) : 0;
        return new SavedModel(k, features, classes, hidden, factors);
    }

    private static int positive(Properties p, String key, String where) {
        String v = p.getProperty(key);
        try {
            int n = Integer.parseInt(String.valueOf(v).trim());
            if (n >= 1) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(where + ": '" + key + "' must be a positive integer, got " + (v == null ? "nothing" : "'" + v + "'"));
    }
}
