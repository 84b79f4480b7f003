package dev.sparkautograd.jobs.bench;

import dev.ludovic.netlib.blas.BLAS;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The machine's DGEMM rate through netlib's BLAS (native when one is installed): {@code threads} threads (one per
 * task slot, as Spark runs tasks, each BLAS call single-threaded by OPENBLAS_NUM_THREADS=1) each multiplying its own
 * square n x n matrices, {@code 2 n^3} floating-point operations per product. The rate is the total over the threads.
 */
public final class Dgemm implements AutoCloseable {

    private final int n;
    private final int threads;
    private final ExecutorService pool;
    private final double[][] a, b, c;

    public Dgemm(int n, int threads) {
        this.n = n;
        this.threads = threads;
        this.a = new double[threads][];
        this.b = new double[threads][];
        this.c = new double[threads][];
        for (int t = 0; t < threads; t++) {
            a[t] = new double[n * n];
            b[t] = new double[n * n];
            c[t] = new double[n * n];
            for (int i = 0; i < n * n; i++) {
                a[t][i] = ((i * 31 + t) % 1000) / 1000.0 - 0.5;
                b[t][i] = ((i * 17 + 3 * t) % 1000) / 1000.0 - 0.5;
            }
        }
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread th = new Thread(r, "bench-dgemm");
            th.setDaemon(true);
            return th;
        });
    }

    /** Floating-point operations of one round (every thread one product). */
    public double flopsPerRound() {
        return 2.0 * n * n * n * threads;
    }

    /** One product on every thread at once; returns the seconds it took. */
    public double multiplyOnce() throws Exception {
        BLAS blas = BLAS.getInstance();
        List<Future<?>> parts = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int k = t;
            parts.add(pool.submit(() -> blas.dgemm("N", "N", n, n, n, 1.0, a[k], n, b[k], n, 0.0, c[k], n)));
        }
        for (Future<?> f : parts) f.get();
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The median rate (FLOP/s) over {@code rounds} rounds after {@code warmup}. */
    public double flopsPerSecond(int warmup, int rounds) throws Exception {
        for (int i = 0; i < warmup; i++) multiplyOnce();
        double[] t = new double[rounds];
        for (int i = 0; i < rounds; i++) t[i] = multiplyOnce();
        Arrays.sort(t);
        return flopsPerRound() / t[rounds / 2];
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
