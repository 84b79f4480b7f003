package dev.sparkautograd.jobs.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** The machine's streaming read bandwidth: {@code threads} threads summing disjoint slices of one large array. */
public final class Bandwidth implements AutoCloseable {

    private final double[] data;
    private final int threads;
    private final ExecutorService pool;
    /** Keeps the sums alive so the JIT cannot drop the loads. */
    public volatile double sink;

    public Bandwidth(long bytes, int threads) {
        this.data = new double[(int) Math.min(Integer.MAX_VALUE - 8, bytes / 8)];
        for (int i = 0; i < data.length; i++) data[i] = i & 1023;
        this.threads = threads;
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "bench-bandwidth");
            t.setDaemon(true);
            return t;
        });
    }

    public long bytes() {
        return 8L * data.length;
    }

    /** One read of the whole array; returns the seconds it took. */
    public double readOnce() throws Exception {
        int n = data.length;
        List<Future<Double>> parts = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int from = (int) ((long) n * t / threads), to = (int) ((long) n * (t + 1) / threads);
            parts.add(pool.submit(() -> sum(data, from, to)));
        }
        double s = 0;
        for (Future<Double> f : parts) s += f.get();
        long t1 = System.nanoTime();
        sink = s;
        return (t1 - t0) / 1e9;
    }

    static double sum(double[] a, int from, int to) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = from;
        for (; i + 3 < to; i += 4) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
        }
        for (; i < to; i++) s0 += a[i];
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
