package dev.sparkautograd.benchmarks;

import dev.sparkautograd.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The local engine on small graphs, where per-op overhead is all there is (PyTorch on CPU: about
 * 200 us per call of the seeds' control-flow function, about 4 us per op of a scalar chain), and
 * on one 512x512 matmul, where the BLAS kernel dominates. Each benchmark is forward + backward.
 *
 * <p>Run: {@code mvn -q -pl benchmarks -am package -DskipTests && java -jar benchmarks/target/benchmarks.jar}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class EngineBenchmarks {

    private Tensor a;
    private Tensor m1;
    private Tensor m2;

    @Setup(Level.Trial)
    public void setUp() {
        m1 = Tensor.randn(1, 512, 512);
        m2 = Tensor.randn(2, 512, 512);
    }

    @Setup(Level.Invocation)
    public void freshLeaves() {
        a = Tensor.scalar(0.4676).requiresGrad_(true);
        m1.requiresGrad_(true).setGrad(null);
        m2.requiresGrad_(true).setGrad(null);
    }

    /** The seeds' f: a while loop and an if on tensor values (12 doublings for a = 0.4676), then backward. */
    @Benchmark
    public double controlFlowFunction() {
        Tensor b = a.mul(2);
        while (b.norm().item() < 1000) b = b.mul(2);
        Tensor c = b.sum().item() > 0 ? b : b.mul(100);
        c.backward();
        return a.grad().item();
    }

    /** 1000 scalar multiplications, then backward through all of them: divide by 1000 for per-op cost. */
    @Benchmark
    public double chainOf1000ScalarMuls() {
        Tensor y = a;
        for (int i = 0; i < 1000; i++) y = y.mul(1.0001);
        y.backward();
        return a.grad().item();
    }

    /** sum(m1 @ m2), then backward: three 512^3 matrix products through netlib's BLAS. */
    @Benchmark
    public double matmul512() {
        m1.matmul(m2).sum().backward();
        return m1.grad().get(0, 0);
    }
}
