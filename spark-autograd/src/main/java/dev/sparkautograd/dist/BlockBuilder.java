package dev.sparkautograd.dist;

import dev.sparkautograd.Tensor;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.LongFunction;

/**
 * One block being filled, a row or a run of rows at a time: per column a dense row-major buffer (grown by
 * doubling) or growable CSR arrays, trimmed into a {@link Block} by {@link #build}. Every reader's block rule is
 * {@link #full}: {@code blockRows} rows when that is positive, else rows until the block holds {@code blockBytes}
 * (dense values at 8 bytes, sparse entries at 12: value and column index, plus 4 per sparse row); every column of a
 * row goes into the same block. {@link #blocks} is the partition's iterator over such blocks that every reader uses.
 */
final class BlockBuilder {
    /** Global index of the block's first row. */
    final long first;
    /** Rows added so far. */
    int rows;
    private final int[] widths;
    private final boolean[] scalar;
    private final double[][] dense;
    private final CsrBuilder[] csr;
    private final int blockRows;
    private final long blockBytes;
    /** Bytes a row adds besides its sparse entries: its dense values, and 4 per sparse column. */
    private final long bytesPerRow;
    private boolean anySparse;

    /**
     * A block of columns of {@code widths} values per row (scalar columns: width 1, a {@code [rows]} tensor), the
     * columns where {@code sparse} (may be null) as CSR, dense buffers sized for {@code capacity} rows at first.
     */
    BlockBuilder(long first, int[] widths, boolean[] scalar, boolean[] sparse, int blockRows, long blockBytes, int capacity) {
        this.first = first;
        this.widths = widths;
        this.scalar = scalar;
        this.blockRows = blockRows;
        this.blockBytes = blockBytes;
        int n = widths.length;
        dense = new double[n][];
        csr = new CsrBuilder[n];
        long perRow = 0;
        for (int i = 0; i < n; i++) {
            if (sparse != null && sparse[i]) {
                csr[i] = new CsrBuilder();
                anySparse = true;
                perRow += 4;
            } else {
                dense[i] = new double[Math.multiplyExact(capacity, widths[i])];
                perRow += 8L * widths[i];
            }
        }
        bytesPerRow = perRow;
    }

    /** Whether the block has its rows: {@code blockRows} of them, or else {@code blockBytes} of values. */
    boolean full() {
        if (blockRows > 0) return rows >= blockRows;
        long bytes = rows * bytesPerRow;
        for (CsrBuilder c : csr) if (c != null) bytes += 12L * c.nnz;
        return bytes >= blockBytes;
    }

    /** Rows still to add to a block of {@code blockRows} rows. */
    int room() {
        return blockRows - rows;
    }

    boolean anySparse() {
        return anySparse;
    }

    boolean isSparse(int i) {
        return csr[i] != null;
    }

    /** Dense column {@code i}'s buffer, grown to hold at least {@code rowsUpTo} rows (row {@code r} at {@code r * width}). */
    double[] dense(int i, int rowsUpTo) {
        int need = Math.multiplyExact(rowsUpTo, widths[i]);
        if (need > dense[i].length) dense[i] = Arrays.copyOf(dense[i], Math.max(need, 2 * dense[i].length));
        return dense[i];
    }

    /** Sparse column {@code i}'s CSR arrays: append each row's entries, then end the row. */
    CsrBuilder csr(int i) {
        return csr[i];
    }

    /** Counts {@code k} more rows as added (their cells written, or to be written, by the reader). */
    void addRows(int k) {
        rows += k;
    }

    /** The block of the rows added, its buffers trimmed to them. */
    Block build() {
        int n = widths.length;
        Tensor[] ts = new Tensor[n];
        Block.Csr[] cs = new Block.Csr[n];
        for (int i = 0; i < n; i++) {
            if (csr[i] != null) {
                cs[i] = csr[i].build(widths[i]);
            } else {
                int size = rows * widths[i];
                double[] d = dense[i].length == size ? dense[i] : Arrays.copyOf(dense[i], size);
                ts[i] = Tensor.wrap(d, scalar[i] ? new int[] {rows} : new int[] {rows, widths[i]}, false);
            }
        }
        return new Block(first, ts, cs);
    }

    /** Rows to read into blocks: whether any remain, and adding the next ones to a block. */
    interface Rows {
        boolean hasNext();

        /**
         * Adds at least one row (the next, of global index {@code next}, and possibly more while the block is not
         * {@link #full} and the input has them at hand) to {@code block}; returns how many.
         */
        int addTo(BlockBuilder block, long next);
    }

    /** A row reader: adds {@code row} (global index {@code r}) to {@code block}, counting it. */
    interface RowRead<R> {
        void read(R row, BlockBuilder block, long r);
    }

    /** The blocks of one partition whose first row has global index {@code offset}; {@code open} makes an empty block. */
    static Iterator<Block> blocks(Rows in, long offset, LongFunction<BlockBuilder> open) {
        return new Iterator<>() {
            long next = offset;

            @Override
            public boolean hasNext() {
                return in.hasNext();
            }

            @Override
            public Block next() {
                if (!in.hasNext()) throw new NoSuchElementException();
                BlockBuilder b = open.apply(next);
                while (!b.full() && in.hasNext()) next += in.addTo(b, next);
                return b.build();
            }
        };
    }

    /** The blocks of a partition's rows, each added by {@code read}. */
    static <R> Iterator<Block> blocks(Iterator<R> rows, long offset, LongFunction<BlockBuilder> open, RowRead<R> read) {
        return blocks(new Rows() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public int addTo(BlockBuilder block, long next) {
                read.read(rows.next(), block, next);
                return 1;
            }
        }, offset, open);
    }

    /** Growable CSR arrays for one column of one block. */
    static final class CsrBuilder {
        private int[] offsets = new int[17];
        private int rows;
        /** The entries: the first {@link #nnz} are the column's (a reader may write beyond them, then count them). */
        int[] indices = new int[64];
        double[] values = new double[64];
        int nnz;

        void add(int j, double v) {
            reserve(1);
            indices[nnz] = j;
            values[nnz++] = v;
        }

        /** Appends the non-zeros of {@code x[0..m)} at their positions. */
        void addNonZeros(double[] x, int m) {
            reserve(m);
            for (int j = 0; j < m; j++) {
                double v = x[j];
                if (v != 0) {
                    indices[nnz] = j;
                    values[nnz++] = v;
                }
            }
        }

        /** Room for {@code more} entries after the {@link #nnz} there are. */
        void reserve(int more) {
            if (nnz + more <= values.length) return;
            int size = Math.max(nnz + more, 2 * values.length);
            indices = Arrays.copyOf(indices, size);
            values = Arrays.copyOf(values, size);
        }

        void endRow() {
            if (rows + 2 > offsets.length) offsets = Arrays.copyOf(offsets, 2 * offsets.length);
            offsets[++rows] = nnz;
        }

        Block.Csr build(int width) {
            return new Block.Csr(width, Arrays.copyOf(offsets, rows + 1), Arrays.copyOf(indices, nnz), Arrays.copyOf(values, nnz));
        }
    }
}
