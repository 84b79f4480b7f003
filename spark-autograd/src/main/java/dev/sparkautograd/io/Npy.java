package dev.sparkautograd.io;

import dev.sparkautograd.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's {@code .npy} format, version 1.0, for float64 arrays: what {@code numpy.save} writes and
 * {@code numpy.load} reads. Layout: the magic {@code \x93NUMPY}, version bytes 1 and 0, a little-endian
 * uint16 header length, then an ASCII Python dict literal
 * {@code {'descr': '<f8', 'fortran_order': False, 'shape': (n, m), }} padded with spaces and ending in
 * {@code \n} so that the data start at a multiple of 64 bytes, then the little-endian doubles in C order.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /** The header (magic to the newline) of a float64 C-order array of this shape. */
    public static byte[] header(int[] shape) {
        StringBuilder dims = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) dims.append(", ");
            dims.append(shape[i]);
        }
        if (shape.length == 1) dims.append(','); // Python's 1-tuple: (n,)
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
        int prefix = MAGIC.length + 2 + 2; // magic, version, header length
        int total = prefix + dict.length() + 1; // + the newline
        int padded = (total + 63) / 64 * 64;
        String text = dict + " ".repeat(padded - total) + "\n";
        ByteBuffer buf = ByteBuffer.allocate(padded).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) text.length());
        buf.put(text.getBytes(StandardCharsets.US_ASCII));
        return buf.array();
    }

    /** Writes {@code data} (C order, {@code prod(shape)} values) as a .npy stream; does not close {@code out}. */
    public static void write(OutputStream out, double[] data, int... shape) throws IOException {
        long n = 1;
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= s;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, got " + data.length);
        }
        out.write(header(shape));
        ByteBuffer buf = ByteBuffer.allocate(8 * 8192).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : data) {
            if (!buf.hasRemaining()) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            buf.putDouble(v);
        }
        out.write(buf.array(), 0, buf.position());
        out.flush();
    }

    public static void write(OutputStream out, Tensor t) throws IOException {
        write(out, t.toArray(), t.shape());
    }

    public static void write(Path file, Tensor t) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            write(out, t);
        }
    }

    /** Reads a version 1.x/2.x/3.x .npy stream of {@code '<f8'}, C order; does not close {@code in}. */
    public static Tensor read(InputStream in) throws IOException {
        DataInputStream din = new DataInputStream(in);
        byte[] magic = new byte[6];
        din.readFully(magic);
        if (!Arrays.equals(magic, MAGIC)) throw new IOException("not a .npy file (bad magic)");
        int major = din.readUnsignedByte();
        din.readUnsignedByte();
        long headerLen;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(Short.reverseBytes(din.readShort()));
        } else if (major == 2 || major == 3) {
            headerLen = Integer.toUnsignedLong(Integer.reverseBytes(din.readInt()));
        } else {
            throw new IOException("unsupported .npy version " + major);
        }
        byte[] hb = new byte[(int) headerLen];
        din.readFully(hb);
        String header = new String(hb, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) throw new IOException("bad .npy header: " + header.strip());
        if (!d.group(1).equals("<f8")) throw new IOException("only '<f8' (float64, little-endian) is supported, got '" + d.group(1) + "'");
        if (f.group(1).equals("True")) throw new IOException("fortran_order True is not supported");
        int[] shape = Arrays.stream(s.group(1).split(",")).map(String::strip).filter(x -> !x.isEmpty())
                .mapToInt(Integer::parseInt).toArray();
        int n = 1;
        for (int x : shape) n = Math.multiplyExact(n, x);
        byte[] raw = new byte[Math.multiplyExact(n, 8)];
        din.readFully(raw);
        double[] data = new double[n];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(data);
        return Tensor.fromArray(data, shape);
    }

    public static Tensor read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in);
        }
    }

    /** The .npy bytes of a tensor. */
    public static byte[] toBytes(Tensor t) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            write(out, t);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out.toByteArray();
    }
}
