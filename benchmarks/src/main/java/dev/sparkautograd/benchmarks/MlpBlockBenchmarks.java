package dev.sparkautograd.benchmarks;

import dev.sparkautograd.Tensor;
import dev.sparkautograd.tensor.Kernels;
import dev.sparkautograd.tensor.PortableMath;
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
 * One block of the bench's MLP ({@code 1,300 x 100} rows times {@code 100 x 256}): its forward product through
 * {@code Kernels.mm} (BLAS dgemm) beside the tanh over the {@code 1,300 x 256} pre-activations: the op table's
 * array kernel (lane-wise once warm), the scalar {@code PortableMath.tanh} loop and {@code Math.tanh}. The ratio
 * tanh / dgemm says how much of the MLP's time the activation takes; the MLP's gradient does two such products.
 *
 * <p>Run: {@code mvn -q -pl benchmarks -am package -DskipTests && java -jar benchmarks/target/benchmarks.jar MlpBlock}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class MlpBlockBenchmarks {

    private static final int ROWS = 1300, IN = 100, HIDDEN = 256;

    private double[] x;
    private double[] w1;
    private double[] z;
    private double[] out;

    @Setup(Level.Trial)
    public void setUp() {
        x = Tensor.randn(1, ROWS * IN).toArray();
        w1 = Tensor.randn(2, IN * HIDDEN).mul(0.1).toArray();
        z = Kernels.mm(x, w1, ROWS, IN, HIDDEN);
        out = new double[z.length];
    }

    @Benchmark
    public double[] dgemmForward() {
        return Kernels.mm(x, w1, ROWS, IN, HIDDEN);
    }

    @Benchmark
    public double[] tanhArrayKernel() {
        PortableMath.tanh(z, out, z.length);
        return out;
    }

    @Benchmark
    public double[] tanhScalarLoop() {
        for (int i = 0; i < z.length; i++) out[i] = PortableMath.tanh(z[i]);
        return out;
    }

    @Benchmark
    public double[] tanhJavaLangMath() {
        for (int i = 0; i < z.length; i++) out[i] = Math.tanh(z[i]);
        return out;
    }
}
