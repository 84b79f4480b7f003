package dev.sparkautograd.jobs.bench;

import dev.ludovic.netlib.blas.BLAS;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Pattern;

/** What this JVM computes with: the CPU model, netlib's BLAS implementation and the native library it loaded. */
public final class Machine {

    private Machine() {}

    /** A native BLAS's file name: the reference libblas, OpenBLAS, BLIS, MKL (not netlib's own JNI shim). */
    private static final Pattern NATIVE_BLAS = Pattern.compile("/(libblas\\.so[^/]*|libopenblas[^/]*|libblis[^/]*|libmkl_rt[^/]*)$");

    /** netlib's implementation class, e.g. JNIBLAS (native), VectorBLAS or Java8BLAS (pure Java). */
    public static String blasClass() {
        return BLAS.getInstance().getClass().getSimpleName();
    }

    /**
     * The native BLAS libraries mapped into this process after netlib resolved its BLAS (the files behind
     * Debian's alternatives, e.g. .../openblas-pthread/libblas.so.3), or "none" when netlib runs pure Java
     * (or the process map cannot be read: Linux only).
     */
    public static String nativeBlasLibrary() {
        BLAS.getInstance(); // load it first
        Set<String> found = new LinkedHashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash < 0) continue;
                String file = line.substring(slash).trim();
                if (NATIVE_BLAS.matcher(file).find()) found.add(file);
            }
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getClass().getSimpleName() + ")";
        }
        return found.isEmpty() ? "none" : String.join(", ", found);
    }

    /** netlib's class and the native library, e.g. {@code JNIBLAS (/usr/lib/.../openblas-pthread/libblas.so.3)}. */
    public static String blas() {
        return blasClass() + " (" + nativeBlasLibrary() + ")";
    }

    /** The CPU model from /proc/cpuinfo, or the JVM's os.arch when it cannot be read. */
    public static String cpu() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return System.getProperty("os.arch");
    }
}
