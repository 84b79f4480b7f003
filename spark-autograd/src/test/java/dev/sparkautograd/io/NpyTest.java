package dev.sparkautograd.io;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class NpyTest {

    /** What numpy 2.4's {@code np.save} writes for these shapes (headers copied from its output). */
    private static byte[] numpyBytes(String shape, double... values) {
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
        String text = dict + " ".repeat(118 - 1 - dict.length()) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + 118 + 8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0});
        b.put(text.getBytes(StandardCharsets.US_ASCII));
        for (double v : values) b.putDouble(v);
        return b.array();
    }

    @Test
    void writesWhatNumpyWrites() {
        assertArrayEquals(numpyBytes("(3,)", 1.5, -2.0, 3.25), Npy.toBytes(Tensor.of(1.5, -2.0, 3.25)));
        assertArrayEquals(numpyBytes("(2, 3)", 0, 1, 2, 3, 4, 5), Npy.toBytes(Tensor.arange(6).reshape(2, 3)));
        assertArrayEquals(numpyBytes("()", 7.0), Npy.toBytes(Tensor.scalar(7)));
        assertArrayEquals(numpyBytes("(0,)"), Npy.toBytes(Tensor.zeros(0)));
    }

    @Test
    void headerIsPaddedTo64BytesAndEndsWithANewline() {
        for (int[] shape : new int[][] {{}, {1}, {123456789}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}}) {
            byte[] h = Npy.header(shape);
            assertEquals(0, h.length % 64, Arrays.toString(shape));
            assertEquals('\n', h[h.length - 1]);
            assertEquals(h.length - 10, (h[8] & 0xff) | (h[9] & 0xff) << 8);
        }
    }

    @Test
    void roundTripIsBitwise() throws IOException {
        double[] odd = {0.0, -0.0, Double.MIN_VALUE, Double.MAX_VALUE, Double.NaN, Double.NEGATIVE_INFINITY, Math.PI, -1e-300};
        Tensor t = Tensor.fromArray(odd, 2, 4);
        Tensor back = Npy.read(new ByteArrayInputStream(Npy.toBytes(t)));
        assertArrayEquals(t.shape(), back.shape());
        for (int i = 0; i < odd.length; i++) {
            assertEquals(Double.doubleToRawLongBits(odd[i]), Double.doubleToRawLongBits(back.toArray()[i]));
        }
        Tensor big = Tensor.randn(1, 3, 5000);
        assertArrayEquals(big.toArray(), Npy.read(new ByteArrayInputStream(Npy.toBytes(big))).toArray());
    }

    @Test
    void refusesOtherFormats() {
        byte[] bytes = Npy.toBytes(Tensor.of(1, 2));
        byte[] f4 = new String(bytes, StandardCharsets.ISO_8859_1).replace("<f8", "<f4").getBytes(StandardCharsets.ISO_8859_1);
        IOException e = assertThrows(IOException.class, () -> Npy.read(new ByteArrayInputStream(f4)));
        assertEquals("only '<f8' (float64, little-endian) is supported, got '<f4'", e.getMessage());
        assertThrows(IOException.class, () -> Npy.read(new ByteArrayInputStream(new byte[] {1, 2, 3, 4, 5, 6})));
        assertThrows(IllegalArgumentException.class, () -> Npy.write(new java.io.ByteArrayOutputStream(), new double[3], 2, 2));
    }

    /**
     * The python3 to cross-check with: Debian's /usr/bin/python3 (where .ci/run installs python3-numpy) when
     * present, else the first python3 on the PATH. Skipped without one, except under CI=true, where it fails.
     */
    private static String python3() {
        if (Files.isExecutable(Path.of("/usr/bin/python3"))) return "/usr/bin/python3";
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path exe = Path.of(dir.isEmpty() ? "." : dir, "python3");
            if (Files.isExecutable(exe)) return exe.toString();
        }
        missing("python3 is not installed");
        return null;
    }

    private static void missing(String what) {
        if ("true".equals(System.getenv("CI"))) fail("CI=true but " + what + " (.ci/run installs python3-numpy)");
        Assumptions.abort(what + ": skipping the cross-check with numpy (apt-get install python3-numpy)");
    }

    /** numpy loads our file and we load numpy's. */
    @Test
    void numpyLoadsOursAndWeLoadNumpys() throws Exception {
        String python = python3();
        Path dir = Files.createTempDirectory("npy");
        try {
            Process probe = new ProcessBuilder(python, "-c", "import numpy").redirectErrorStream(true).start();
            String probeOut = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(probe.waitFor(120, TimeUnit.SECONDS), python + " -c 'import numpy' did not finish");
            if (probe.exitValue() != 0) missing(python + " has no numpy (" + probeOut.strip() + ")");

            Path ours = dir.resolve("ours.npy"), theirs = dir.resolve("theirs.npy");
            Npy.write(ours, Tensor.arange(6).reshape(3, 2).mul(0.5));
            String script = "import numpy as np; a = np.load('" + ours + "'); assert a.dtype == np.float64 and a.shape == (3, 2);"
                    + " assert (a == np.arange(6).reshape(3, 2) * 0.5).all(); np.save('" + theirs + "', np.linspace(0, 1, 7).reshape(7, 1))";
            Process p = new ProcessBuilder(python, "-c", script).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), python + " did not finish");
            assertEquals(0, p.exitValue(), out);
            Tensor t = Npy.read(theirs);
            assertArrayEquals(new int[] {7, 1}, t.shape());
            assertEquals(0.5, t.get(3, 0));
        } finally {
            try (var files = Files.walk(dir)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
            }
        }
    }
}
