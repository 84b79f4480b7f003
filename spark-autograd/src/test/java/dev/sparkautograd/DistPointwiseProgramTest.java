package dev.sparkautograd;

import dev.sparkautograd.tensor.Elementwise;
import dev.sparkautograd.testing.StageNames;
import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The element-wise tail of a scalar reduction run as a program (forward loops, then the scalar
 * derivatives of the op table ({@link Elementwise}) in reverse) gives the loss and gradients the engine gives op by op:
 * every op kind, with each kind of second operand (an aligned DistTensor on either side, a scalar
 * parameter, a constant), a parameter used inside and outside the tail, a slot read by the tail and by
 * an op outside it; and reductions it does not cover run without it.
 */
class DistPointwiseProgramTest {

    private static DistData data(int partitions) {
        Map<String, Tensor> cols = new LinkedHashMap<>();
        cols.put("x", Tensor.randn(21, 257, 3));
        cols.put("y", Tensor.rand(22, 257).gt(0.5).mul(1.0));
        cols.put("pos", Tensor.rand(23, 257).add(0.5));
        return DistData.parallelize(SharedSpark.jsc(), partitions, cols, DistData.options().blockRows(40));
    }

    private static final DistData DATA = data(3);

    /** The ops of the row program named by the reduction's job (0 when none ran one). */
    private static long programOps(List<String> names) {
        List<String> named = StageNames.mentioning(names, "row program: ");
        return named.isEmpty() ? 0 : named.get(0).replaceAll(".*row program: ([^;\\]]*).*", "$1").split(", ").length;
    }

    private static double[] lossAndGrads(boolean program, List<Tensor> init, Function<List<Tensor>, Tensor> model) {
        return FusionSwitch.lossAndGrads(DistTensor.FUSE_POINTWISE, program, init, model);
    }

    /** Checks program == engine (relative 1e-12) and returns how many ops the job names as run by the row program. */
    private static long check(String what, List<Tensor> init, Function<List<Tensor>, Tensor> model) {
        double[][] engineRun = new double[1][], programRun = new double[1][];
        List<String> off = StageNames.during(() -> engineRun[0] = lossAndGrads(false, init, model));
        assertEquals(List.of(), StageNames.mentioning(off, "row program"), what + ": program off, no job ran it");
        long blocks = programOps(StageNames.during(() -> programRun[0] = lossAndGrads(true, init, model)));
        double[] engine = engineRun[0], program = programRun[0];
        double diff = 0, scale = 0;
        assertEquals(engine.length, program.length, what);
        for (int i = 0; i < program.length; i++) {
            if (Double.isNaN(engine[i]) && Double.isNaN(program[i]) && i > 0) continue;
            assertTrue(Double.isFinite(engine[i]), what + ": finite reference");
            diff = Math.max(diff, Math.abs(program[i] - engine[i]));
            scale = Math.max(scale, Math.abs(engine[i]));
        }
        assertTrue(diff <= 1e-12 * scale, what + ": relative difference " + diff / scale);
        return blocks;
    }

    private static final List<Tensor> WB = List.of(Tensor.randn(24, 3).mul(0.5), Tensor.scalar(0.3));

    private static DistTensor z(List<Tensor> p) {
        return DATA.tensor("x").matmul(p.get(0)).add(p.get(1));
    }

    /** A positive input with a graph, for log, sqrt, log1p, div and pow. */
    private static DistTensor positive(List<Tensor> p) {
        return z(p).square().add(0.5);
    }

    @Test
    void everyUnaryKindMatchesTheEngine() {
        Set<Elementwise> covered = EnumSet.noneOf(Elementwise.class);
        Map<Elementwise, Function<DistTensor, DistTensor>> ops = new LinkedHashMap<>();
        ops.put(Elementwise.NEG, DistTensor::neg);
        ops.put(Elementwise.EXP, DistTensor::exp);
        ops.put(Elementwise.LOG, DistTensor::log);
        ops.put(Elementwise.LOG1P, DistTensor::log1p);
        ops.put(Elementwise.SQRT, DistTensor::sqrt);
        ops.put(Elementwise.ABS, DistTensor::abs);
        ops.put(Elementwise.SIN, DistTensor::sin);
        ops.put(Elementwise.COS, DistTensor::cos);
        ops.put(Elementwise.TANH, DistTensor::tanh);
        ops.put(Elementwise.SIGMOID, DistTensor::sigmoid);
        ops.put(Elementwise.RELU, DistTensor::relu);
        ops.put(Elementwise.SOFTPLUS, DistTensor::softplus);
        ops.put(Elementwise.SQUARE, DistTensor::square);
        ops.put(Elementwise.EXPM1, DistTensor::expm1);
        ops.put(Elementwise.LOG2, DistTensor::log2);
        ops.put(Elementwise.SINH, DistTensor::sinh);
        ops.put(Elementwise.COSH, DistTensor::cosh);
        ops.put(Elementwise.POW_SCALAR, t -> t.pow(3));
        ops.put(Elementwise.CLAMP, t -> t.clamp(-0.5, 0.8));
        for (Map.Entry<Elementwise, Function<DistTensor, DistTensor>> e : ops.entrySet()) {
            Elementwise k = e.getKey();
            boolean needsPositive = k == Elementwise.LOG || k == Elementwise.LOG2 || k == Elementwise.SQRT || k == Elementwise.LOG1P;
            long blocks = check(k.toString(), WB, p -> e.getValue().apply(needsPositive ? positive(p) : z(p).mul(3)).mean());
            assertTrue(blocks >= 1, k + ": the job ran the row program");
            covered.add(k);
        }
        // softplus on both sides of its threshold (20)
        assertTrue(check("softplus above 20", WB, p -> z(p).mul(30).softplus().sum()) >= 1);
        covered.add(Elementwise.ADD);
        covered.add(Elementwise.MUL);
        for (Elementwise k : Elementwise.values()) {
            if (k.arity() == 1 && k.method != null) assertTrue(covered.contains(k), "unary kind without a test: " + k);
        }
    }

    @Test
    void everyBinaryKindWithEachSecondOperandMatchesTheEngine() {
        DistTensor pos = DATA.tensor("pos");
        List<Tensor> wbc = List.of(WB.get(0), WB.get(1), Tensor.scalar(1.7));
        Map<String, Function<List<Tensor>, Tensor>> cases = new LinkedHashMap<>();
        cases.put("add dist", p -> z(p).add(pos).square().sum());
        cases.put("sub dist (gradient on the right)", p -> pos.sub(z(p)).square().sum());
        cases.put("mul dist", p -> z(p).mul(pos).sigmoid().sum());
        cases.put("div dist (gradient on the right)", p -> pos.div(positive(p)).sum());
        cases.put("div dist (both sides)", p -> z(p).div(positive(p)).sum());
        cases.put("add param", p -> z(p).add(p.get(2)).square().sum());
        cases.put("sub param", p -> z(p).sub(p.get(2)).square().sum());
        cases.put("mul param", p -> z(p).mul(p.get(2)).tanh().sum());
        cases.put("div param", p -> z(p).div(p.get(2)).exp().mean());
        cases.put("constants", p -> z(p).add(0.25).sub(1.5).mul(-2).div(4).softplus().sum());
        cases.put("pow constant", p -> positive(p).pow(1.5).sum());
        cases.put("pow dist (gradient in the exponent)", p -> pos.pow(z(p)).sum());
        cases.put("maximum dist", p -> z(p).maximum(pos.sub(1)).square().sum());
        cases.put("minimum param", p -> z(p).minimum(p.get(2)).square().sum());
        for (Map.Entry<String, Function<List<Tensor>, Tensor>> e : cases.entrySet()) {
            assertTrue(check(e.getKey(), wbc, e.getValue()) >= 1, e.getKey() + ": the job ran the row program");
        }
    }

    @Test
    void logisticLossWithLabelsRunsAsOneProgram() {
        DistTensor y = DATA.tensor("y");
        assertEquals(4, check("logistic", WB, p -> {
            DistTensor zz = z(p);
            return zz.softplus().sub(y.mul(zz)).mean();
        }), "add, softplus, mul, sub");
    }

    @Test
    void aParameterInsideAndOutsideTheTailGetsBothContributions() {
        // b shifts the data (engine: rows of 3) and the margin (program).
        assertEquals(2, check("bias twice", WB, p -> DATA.tensor("x").add(p.get(1)).matmul(p.get(0)).add(p.get(1)).softplus().sum()),
                "the second add and softplus");
    }

    @Test
    void aSlotReadInsideAndOutsideTheTailIsAnInputWithTheGraphKept() {
        // z feeds the tail twice (softplus, and clamp then the add): z is the program's input, its gradient summed from both.
        assertTrue(check("shared", WB, p -> {
            DistTensor zz = z(p);
            return zz.softplus().add(zz.clamp(-0.5, 0.5)).sum();
        }) >= 3);
    }

    @Test
    void reductionsItDoesNotCoverRunWithoutIt() {
        Tensor w = WB.get(0).detach().requiresGrad_(true);
        List<String> names = StageNames.during(() -> {
            // rows of 3 values: not one value per row
            DATA.tensor("x").mul(w).square().sum().backward();
            // a reduction over rows (result of the row shape)
            DATA.tensor("x").mul(w).sum(0, false).sum().backward();
        });
        assertEquals(List.of(), StageNames.mentioning(names, "row program"));
        assertTrue(w.grad() != null);
    }

    @Test
    void valueOnlyUnderNoGradUsesTheProgramToo() {
        double without;
        double[] withProgram = new double[1];
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            assertEquals(2, programOps(StageNames.during(() -> withProgram[0] = z(WB).softplus().sum().item())), "add, softplus");
            JavaSparkContext sc = SharedSpark.jsc();
            sc.setLocalProperty(DistTensor.FUSE_POINTWISE, "false");
            try {
                without = z(WB).softplus().sum().item();
            } finally {
                sc.setLocalProperty(DistTensor.FUSE_POINTWISE, null);
            }
        }
        assertEquals(without, withProgram[0], 1e-12 * Math.abs(without));
    }

    /** d/ds of {@code sum(f(k + s))} at s = 0 by PyTorch's conventions, from the closed forms. */
    private static double pytorchDerivativeSum(Elementwise kind, double[] k) {
        double sum = 0;
        for (double v : k) {
            sum += switch (kind) {
                case RELU -> v > 0 ? 1 : 0;                                  // relu'(0) = 0
                case ABS -> v > 0 ? 1 : v < 0 ? -1 : 0;                      // abs'(0) = 0
                case SOFTPLUS -> v > 20 ? 1 : 1 / (1 + Math.exp(-v));        // linear only above the threshold 20
                default -> throw new IllegalArgumentException(kind.toString());
            };
        }
        return sum;
    }

    /**
     * Inputs exactly at the kinks (relu and abs at 0 and -0, softplus at its threshold 20 and next to it),
     * through the row program and through the engine: the same loss and gradient, and the gradient is
     * PyTorch's (relu'(0) = abs'(0) = 0, softplus'(20) = sigmoid(20), not 1).
     */
    @Test
    void atTheKinksTheProgramGivesTheEnginesAndPyTorchsDerivatives() {
        double[] k = {-1, 0, 0, -0.0, 2, 0, 20, 20, 19.999999999999996, 20.000000000000004, -20, 0, 20, 0.5, 0, 20};
        DistData kinks = DistData.parallelize(SharedSpark.jsc(), 3, Map.of("k", Tensor.of(k)), DistData.options().blockRows(2));
        List<Tensor> shift = List.of(Tensor.scalar(0.0));
        Map<Elementwise, Function<DistTensor, DistTensor>> ops = new LinkedHashMap<>();
        ops.put(Elementwise.RELU, DistTensor::relu);
        ops.put(Elementwise.ABS, DistTensor::abs);
        ops.put(Elementwise.SOFTPLUS, DistTensor::softplus);
        for (Map.Entry<Elementwise, Function<DistTensor, DistTensor>> e : ops.entrySet()) {
            Function<List<Tensor>, Tensor> model = p -> e.getValue().apply(kinks.tensor("k").add(p.get(0))).sum();
            double[] engine = lossAndGrads(false, shift, model), program = lossAndGrads(true, shift, model);
            String what = e.getKey() + " at its kinks";
            assertEquals(engine[0], program[0], 1e-12 * Math.abs(engine[0]), what + ": loss");
            assertEquals(engine[1], program[1], 1e-12 * Math.max(1, Math.abs(engine[1])), what + ": d/ds, program against engine");
            double pytorch = pytorchDerivativeSum(e.getKey(), k);
            assertEquals(pytorch, engine[1], 1e-12 * Math.max(1, Math.abs(pytorch)), what + ": d/ds, engine against PyTorch's");
        }
    }

    @Test
    void theProgramIsBitwiseRepeatableAcrossRuns() {
        Function<List<Tensor>, Tensor> model = p -> z(p).softplus().sub(DATA.tensor("y").mul(z(p))).mean();
        assertArrayEquals(lossAndGrads(true, WB, model), lossAndGrads(true, WB, model));
    }
}
