package dev.sparkautograd.optim;

import dev.sparkautograd.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor optimizers against PyTorch 1.13: the loss and the parameters after each of the first three steps
 * on a small problem, for each optimizer and its momentum / Nesterov / weight-decay / amsgrad variants, as
 * {@code src/test/python/optim_reference.py} printed them (float64, CPU); and a state dict saved after two
 * steps and loaded into a fresh optimizer continues the same trajectory.
 */
class OptimPytorchTest {

    static final Tensor X = Tensor.fromArray(new double[] {0.5, -1.0, 1.5, 0.25, -0.75, 2.0, 0.1, -0.3}, 4, 2);
    static final Tensor Y = Tensor.fromArray(new double[] {0.2, -0.1, 0.4, -0.3, 0.8, 0.05, 0.6, 0.0, -0.5, 0.1, 0.1, 0.1}, 4, 3);
    static final double[] W0 = {0.3, -0.2, 0.1, 0.05, 0.4, -0.35}, B0 = {0.1, -0.05, 0.2};

    /** The script's loss_fn: mean((tanh(X W + b) - Y)^2) + 0.5 * sum|W| * 0.01. */
    static Tensor loss(Tensor w, Tensor b) {
        return X.matmul(w).add(b).tanh().sub(Y).pow(2).mean().add(w.abs().sum().mul(0.5).mul(0.01));
    }

    static final Map<String, Function<List<Tensor>, Optimizer>> CONFIGS = Map.ofEntries(
            Map.entry("sgd", p -> new SGD(p, 0.1)),
            Map.entry("sgd_momentum", p -> new SGD(p, 0.1, 0.9)),
            Map.entry("sgd_dampening_wd", p -> new SGD(p, 0.1, 0.9, 0.1, 0.01, false)),
            Map.entry("sgd_nesterov_wd", p -> new SGD(p, 0.1, 0.9, 0, 0.05, true)),
            Map.entry("adam", p -> new Adam(p, 0.01)),
            Map.entry("adam_wd", p -> new Adam(p, 0.01, 0.8, 0.99, 1e-6, 0.1, false)),
            Map.entry("adam_amsgrad_wd", p -> new Adam(p, 0.01, 0.8, 0.99, 1e-6, 0.1, true)),
            Map.entry("adamw", p -> new AdamW(p, 0.01)),
            Map.entry("adamw_amsgrad", p -> new AdamW(p, 0.01, 0.8, 0.99, 1e-6, 0.1, true)),
            Map.entry("lbfgs", p -> new LBFGS(p, 0.5, 4, null)),
            Map.entry("lbfgs_wolfe", p -> new LBFGS(p, 1, 4, null, 1e-7, 1e-9, 3, LBFGS.STRONG_WOLFE)),
            // a short first step: the line search extrapolates (the runs above only zoom)
            Map.entry("lbfgs_wolfe_short", p -> new LBFGS(p, 0.01, 4, null, 1e-7, 1e-9, 3, LBFGS.STRONG_WOLFE)));

    /** Per configuration, per step: the loss step() returned, then W (row-major) and b after the step. */
    static final Map<String, double[][]> PYTORCH = Map.ofEntries(
            Map.entry("sgd", new double[][] {
                    {0.25688914775486504, 0.27670628276563003, -0.1676201134815295, 0.09337815672996302, 0.06785240894994465, 0.3855756878162689, -0.34728608524988147, 0.10022479104279472, -0.029812559521945073, 0.19229065519159796},
                    {0.23112073898954424, 0.25429676536751, -0.13611400547943137, 0.08716598652053695, 0.08342391432061783, 0.37111967542076685, -0.3446906903990242, 0.10012119648418587, -0.010954654947579145, 0.184984941793871},
                    {0.20772161749915766, 0.23276417035009106, -0.10576347587228586, 0.08135322683992613, 0.09685622106706555, 0.35668260985552597, -0.34221207124895314, 0.09974018332315542, 0.0063594773361610865, 0.17807423885597334},
            }),
            Map.entry("sgd_momentum", new double[][] {
                    {0.25688914775486504, 0.27670628276563003, -0.1676201134815295, 0.09337815672996302, 0.06785240894994465, 0.3855756878162689, -0.34728608524988147, 0.10022479104279472, -0.029812559521945073, 0.19229065519159796},
                    {0.23112073898954424, 0.23333241985657707, -0.10697210761280788, 0.08120632757750368, 0.09949108237556802, 0.35813779445540883, -0.3422481671239176, 0.10032350842270112, 0.007214041482670291, 0.17804653146630917},
                    {0.1869420901719822, 0.17369865835472711, -0.023391081428668994, 0.06483171872546546, 0.139215717866578, 0.31910383429777306, -0.3353499351722039, 0.09975000408147866, 0.05619494739080985, 0.15870485147870259},
            }),
            Map.entry("sgd_dampening_wd", new double[][] {
                    {0.25688914775486504, 0.27640628276563006, -0.1674201134815295, 0.09327815672996304, 0.06780240894994466, 0.3851756878162689, -0.34693608524988145, 0.10012479104279472, -0.029762559521945075, 0.192090655191598},
                    {0.2309010604432315, 0.23475646319767354, -0.10959464412114861, 0.08156397346707656, 0.09777376466900632, 0.3584734190208229, -0.34154357407118546, 0.10005789254722193, 0.005439185664351562, 0.17823010739692347},
                    {0.1885338355646976, 0.17844411357759377, -0.031229112146771706, 0.0660618876556636, 0.13497335246204825, 0.3211995939902061, -0.33428164120202375, 0.0993486455796997, 0.05134088328472924, 0.15970576228647476},
            }),
            Map.entry("sgd_nesterov_wd", new double[][] {
                    {0.25688914775486504, 0.2528919372546971, -0.13657821561490602, 0.08646849778692975, 0.08344457700489485, 0.36879380685091084, -0.3415185619747748, 0.09947710298130996, -0.011168863091695637, 0.18345224486403613},
                    {0.20703402179935662, 0.18953776655437055, -0.05051625544795459, 0.06901381032065458, 0.12235242855837061, 0.3245356768954176, -0.3302073912293948, 0.09764220195503256, 0.038354204561156034, 0.1616135427934722},
                    {0.14962984205439192, 0.11539431983708033, 0.04875151935001989, 0.049738398877577854, 0.15915095523428593, 0.26977995392557763, -0.31710688846616086, 0.09427690202984927, 0.08974080271679852, 0.13668178385526458},
            }),
            Map.entry("adam", new double[][] {
                    {0.25688914775486504, 0.2900000004293003, -0.19000000030883368, 0.0900000015101533, 0.05999999943985154, 0.39000000069327395, -0.3400000036847127, 0.1099999555144396, -0.04000000049535747, 0.19000000129712694},
                    {0.24458783871519305, 0.2800061080214882, -0.1800022474854825, 0.0800416511310971, 0.0699734882993096, 0.37999975904479844, -0.33009188083065316, 0.10662488098692896, -0.030008184797881386, 0.18002222700145842},
                    {0.23269785533956688, 0.270021767667829, -0.17000884738555716, 0.07016490405916906, 0.07990473160628274, 0.369999652199704, -0.3203863982368859, 0.10038468372890479, -0.020031372828409312, 0.17008613094455657},
            }),
            Map.entry("adam_wd", new double[][] {
                    {0.25688914775486504, 0.2900000380317544, -0.19000002908668973, 0.09000013120013685, 0.05999994237144595, 0.39000005427581574, -0.34000016092655716, 0.09000128980839278, -0.040000048338274, 0.19000010299250059},
                    {0.24460008481418896, 0.28001092478101136, -0.18000590048967413, 0.08007042757195447, 0.06995835617023542, 0.38000263318756966, -0.33006197659302994, 0.08098689775389514, -0.03001835909125695, 0.18003801312534942},
                    {0.2327573160816557, 0.2700412001759167, -0.1700226388785448, 0.07027441196880017, 0.07984196772138462, 0.3700103052319154, -0.32024122216020684, 0.07464621579413896, -0.020069650033206442, 0.17014484977163905},
            }),
            Map.entry("adam_amsgrad_wd", new double[][] {
                    {0.25688914775486504, 0.2900000380317544, -0.19000002908668973, 0.09000013120013685, 0.05999994237144595, 0.39000005427581574, -0.34000016092655716, 0.09000128980839278, -0.040000048338274, 0.19000010299250059},
                    {0.24460008481418896, 0.28001092478101136, -0.18000590048967413, 0.08007042757195447, 0.06995835617023542, 0.38000263318756966, -0.33006197659302994, 0.08098689775389514, -0.03001835909125695, 0.18003801312534942},
                    {0.2327573160816557, 0.2700412001759167, -0.1700226388785448, 0.07027441196880017, 0.07984196772138462, 0.3700103052319154, -0.32024122216020684, 0.07467573679825093, -0.020069650033206442, 0.17014484977163905},
            }),
            Map.entry("adamw", new double[][] {
                    {0.25688914775486504, 0.2899700004293003, -0.1899800003088337, 0.08999000151015331, 0.059994999439851544, 0.38996000069327397, -0.3399650036847127, 0.1099899555144396, -0.03999500049535748, 0.18998000129712694},
                    {0.24456577728710757, 0.27994711271318556, -0.17996325104509583, 0.08002275619938835, 0.06996247630045127, 0.3799207552034326, -0.33002336688472994, 0.10660763994966946, -0.029999204138567, 0.17998326741558401},
                    {0.23265596942328784, 0.2699347833369131, -0.16995186027957704, 0.07013833415635022, 0.07988669111643891, 0.3698826389719104, -0.32028661784414164, 0.10036037767749642, -0.020019445774820732, 0.17002928782134008},
            }),
            Map.entry("adamw_amsgrad", new double[][] {
                    {0.25688914775486504, 0.2897000429298465, -0.18980003088327413, 0.08990015101307264, 0.0599499439854643, 0.3896000693269152, -0.33965036845783536, 0.10989555340227172, -0.03995004953550439, 0.18980012971102653},
                    {0.2443673146988572, 0.279422260911266, -0.17961477599840617, 0.07988223391663735, 0.06984302971246517, 0.3792098845359077, -0.3294599444723527, 0.105895640112745, -0.0299261537058897, 0.17965085861630484},
                    {0.23228731952797846, 0.2691731694429317, -0.16944842300898857, 0.0700122156451364, 0.07965225746752332, 0.36883019514821697, -0.31959814864974867, 0.09906013399302438, -0.01994136887802495, 0.16958644691714458},
            }),
            Map.entry("lbfgs", new double[][] {
                    {0.25688914775486504, -0.2098792843580732, 0.3867852036376332, 0.013188432610198201, 0.1076534118377864, 0.12554718537808243, -0.29777996962894493, 0.15521176864087954, 0.07947281334269052, 0.06995761781858245},
                    {0.02385309622713931, -0.3799222719864777, 0.5473966267151955, 0.03476469647842002, 0.007867489035683746, 0.22894045004592883, -0.28918661469161916, 0.2849098282591324, -0.010465789387075798, 0.05963588102159514},
                    {0.014777552506023375, -0.3857370038200022, 0.5745324493036744, 0.03665712194292643, 0.004687566001170782, 0.24100140010227147, -0.2893252848570338, 0.2912691219569502, -0.014983127753172102, 0.06029891017016001},
            }),
            Map.entry("lbfgs_wolfe", new double[][] {
                    {0.25688914775486504, -0.28817617656948963, 0.43430893538342014, 0.03739223192106278, 0.056658766399209026, 0.19585525762685665, -0.29310955954959134, 0.24970034313396666, 0.02691679795951249, 0.06644446960891146},
                    {0.01751376852587803, -0.392481093184835, 0.5574740510007202, 0.03932144155893108, 0.002369660186932831, 0.23268895408068005, -0.2881702506603215, 0.2951360706187612, -0.009776571008364598, 0.058799839491579985},
                    {0.014753832320163415, -0.38419292619217377, 0.5775603855453175, 0.035436513464651966, 0.005456516849850521, 0.24233931546482756, -0.28969746814688196, 0.29015046275853384, -0.015096331537657028, 0.060656253759567146},
            }),
            Map.entry("lbfgs_wolfe_short", new double[][] {
                    {0.25688914775486504, -0.11619976580545073, 0.3271584153806231, 0.0013196650781245015, 0.1693593511877165, 0.0876969235616293, -0.30265931595154977, 0.07735495559565472, 0.16103040249770925, 0.07477907884629606},
                    {0.037038568557035786, -0.22593956586893948, 0.4012441821628239, 0.012159439997751233, 0.10670022630747623, 0.12740695442840103, -0.29680700732781706, 0.1628750102481884, 0.09268893249055746, 0.06724239056830951},
                    {0.02340238032997033, -0.2586586386039676, 0.4286698942158785, 0.0164966220141815, 0.08742619691001892, 0.14761195892599052, -0.29508725265763075, 0.1885109243898085, 0.07043563513808525, 0.06533491341847378},
            })
    );

    static Stream<Arguments> configs() {
        return CONFIGS.keySet().stream().sorted().map(Arguments::of);
    }

    /** A run: the parameters (fresh copies of W0, B0) and the closure PyTorch's script uses. */
    static final class Run {
        final Tensor w = Tensor.fromArray(W0, 2, 3).requiresGrad_(true), b = Tensor.fromArray(B0, 3).requiresGrad_(true);
        final Optimizer opt;

        Run(String config) {
            opt = CONFIGS.get(config).apply(List.of(w, b));
        }

        Supplier<Tensor> closure() {
            return () -> {
                opt.zeroGrad();
                Tensor l = loss(w, b);
                l.backward();
                return l;
            };
        }

        /** step(closure), then [loss, W..., b...]. */
        double[] step() {
            double l = opt.step(closure()).item();
            double[] out = new double[10];
            out[0] = l;
            System.arraycopy(w.toArray(), 0, out, 1, 6);
            System.arraycopy(b.toArray(), 0, out, 7, 3);
            return out;
        }
    }

    static void assertStep(String config, int step, double[] actual) {
        double[] expected = PYTORCH.get(config)[step];
        for (int i = 0; i < expected.length; i++) {
            String what = i == 0 ? "loss" : i <= 6 ? "W[" + (i - 1) + "]" : "b[" + (i - 7) + "]";
            assertEquals(expected[i], actual[i], 1e-12, config + " step " + (step + 1) + " " + what);
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void firstStepsMatchPytorch(String config) {
        Run run = new Run(config);
        for (int step = 0; step < 3; step++) assertStep(config, step, run.step());
    }

    @ParameterizedTest
    @MethodSource("configs")
    void stateDictSavedMidRunContinuesTheTrajectory(String config) {
        Run run = new Run(config);
        run.step();
        run.step();
        Map<String, Object> saved = run.opt.stateDict();
        double[] w = run.w.toArray(), b = run.b.toArray();
        double[] uninterrupted = run.step();    // the original goes on: the saved dict must not share its state

        Run resumed = new Run(config);
        try (var ignored = dev.sparkautograd.Autograd.noGrad()) {
            resumed.w.copy_(Tensor.fromArray(w, 2, 3));
            resumed.b.copy_(Tensor.fromArray(b, 3));
        }
        resumed.opt.loadStateDict(saved);
        double[] after = resumed.step();
        assertStep(config, 2, after);
        for (int i = 0; i < after.length; i++) assertEquals(uninterrupted[i], after[i], 0.0, config + " value " + i);
    }

    @Test
    void stateDictHasPytorchsLayoutAndIsACopy() {
        Run run = new Run("adam_amsgrad_wd");
        run.step();
        Map<String, Object> dict = run.opt.stateDict();
        @SuppressWarnings("unchecked")
        Map<Integer, Map<String, Object>> state = (Map<Integer, Map<String, Object>>) dict.get("state");
        assertEquals(List.of(0, 1), List.copyOf(state.keySet()));
        assertEquals(List.of("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"), List.copyOf(state.get(0).keySet()));
        assertEquals(1L, state.get(0).get("step"));
        Tensor expAvg = (Tensor) state.get(0).get("exp_avg");
        double before = expAvg.get(0, 0);
        run.step();
        assertEquals(before, expAvg.get(0, 0), 0.0, "the state dict's tensor changed with the optimizer's state");
        Map<?, ?> group = (Map<?, ?>) ((List<?>) dict.get("param_groups")).get(0);
        assertEquals(0.01, group.get("lr"));
        assertEquals(List.of(0, 1), group.get("params"));
        assertNotSame(dict, run.opt.stateDict());
    }

    @Test
    void loadStateDictRejectsAMismatch() {
        Run sgd = new Run("sgd_momentum");
        sgd.step();
        Map<String, Object> sgdState = sgd.opt.stateDict();
        Run adam = new Run("adam");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> adam.opt.loadStateDict(sgdState));
        assertTrue(e.getMessage().startsWith("loaded state dict has the hyperparameters [lr, momentum, dampening, weight_decay, nesterov] but this Adam has"), e.getMessage());

        Tensor only = Tensor.zeros(2, 3).requiresGrad_(true);
        SGD one = new SGD(List.of(only), 0.1, 0.9);
        e = assertThrows(IllegalArgumentException.class, () -> one.loadStateDict(sgdState));
        assertEquals("loaded state dict contains a parameter group that doesn't match the size of optimizer's group (2 parameters, this SGD has 1)", e.getMessage());

        Tensor other = Tensor.zeros(4).requiresGrad_(true);
        SGD reshaped = new SGD(List.of(only, other), 0.1, 0.9);
        e = assertThrows(IllegalArgumentException.class, () -> reshaped.loadStateDict(sgdState));
        assertEquals("loaded state dict has momentum_buffer of shape [3] for parameter 1 of shape [4]", e.getMessage());
    }

    @Test
    void badArgumentsAreRejectedWithPytorchsMessages() {
        Tensor p = Tensor.zeros(2).requiresGrad_(true);
        Map<Supplier<Object>, String> cases = Map.of(
                () -> new SGD(List.of(), 0.1), "optimizer got an empty parameter list",
                () -> new SGD(List.of(p), -1), "Invalid learning rate: -1.0",
                () -> new SGD(List.of(p), 0.1, 0, 0, 0, true), "Nesterov momentum requires a momentum and zero dampening (momentum 0.0, dampening 0.0)",
                () -> new SGD(List.of(p, p), 0.1), "parameter 1 appears more than once in the parameter list",
                () -> new SGD(List.of(p.mul(2)), 0.1), "can't optimize a non-leaf Tensor (parameter 0, grad_fn MulBackward0)",
                () -> new Adam(List.of(p), 0.1, 1.0, 0.999, 1e-8, 0, false), "Invalid beta parameter at index 0: 1.0",
                () -> new Adam(List.of(p), 0.1, 0.9, 0.999, -1e-8, 0, false), "Invalid epsilon value: -1.0E-8",
                () -> new AdamW(List.of(p), 0.1, 0.9, 0.999, 1e-8, -0.01, false), "Invalid weight_decay value: -0.01",
                () -> new LBFGS(List.of(p), 1, 20, "backtracking"), "only 'strong_wolfe' (or this library's 'armijo') is supported as line_search_fn, got 'backtracking'");
        cases.forEach((make, message) -> assertEquals(message, assertThrows(IllegalArgumentException.class, make::get).getMessage()));
        LBFGS lbfgs = new LBFGS(List.of(p));
        assertEquals("LBFGS.step needs a closure that reevaluates the model and returns the loss: use step(closure)",
                assertThrows(IllegalStateException.class, lbfgs::step).getMessage());
    }

    @Test
    void aParameterWithoutGradientIsLeftAlone() {
        Tensor used = Tensor.of(1, 2).requiresGrad_(true), unused = Tensor.of(3, 4).requiresGrad_(true);
        for (Optimizer opt : List.of(new SGD(List.of(used, unused), 0.1, 0.9), new Adam(List.of(used, unused), 0.1))) {
            opt.zeroGrad();
            used.square().sum().backward();
            opt.step();
            assertEquals(List.of(3.0, 4.0), List.of(unused.get(0), unused.get(1)));
            assertTrue(opt.stateDict().get("state") instanceof Map<?, ?> m && m.keySet().equals(java.util.Set.of(0)));
        }
    }

    @Test
    void zeroGradClearsOrZeroes() {
        Tensor p = Tensor.of(1, 2).requiresGrad_(true);
        SGD opt = new SGD(List.of(p), 0.1);
        p.sum().backward();
        opt.zeroGrad(false);
        assertEquals(List.of(0.0, 0.0), List.of(p.grad().get(0), p.grad().get(1)));
        opt.zeroGrad();
        assertEquals(null, p.grad());
    }

    // ---- L-BFGS on Rosenbrock's function, against PyTorch's run (the script's last two lines) -------------

    static Supplier<Tensor> rosenbrock(Tensor xy, Optimizer[] opt) {
        return () -> {
            opt[0].zeroGrad();
            Tensor a = xy.index(0), c = xy.index(1);
            Tensor f = a.neg().add(1).pow(2).add(c.sub(a.mul(a)).pow(2).mul(100));
            f.backward();
            return f;
        };
    }

    @Test
    void lbfgsStrongWolfeConvergesOnRosenbrockAsPytorch() {
        // PyTorch 1.13, LBFGS(lr=1, max_iter=200, line_search_fn="strong_wolfe"), one step from (-1.2, 1):
        // x 0.9999814210791366 y 0.9999619651810989 n_iter 35 func_evals 43;
        // with tolerance_grad=1e-12, tolerance_change=1e-14, max_iter=500:
        // x 1.000000003286162 y 1.0000000058407632 n_iter 37 func_evals 45
        double[][] expected = {{0.9999814210791366, 0.9999619651810989, 35, 43}, {1.000000003286162, 1.0000000058407632, 37, 45}};
        for (int run = 0; run < 2; run++) {
            Tensor xy = Tensor.of(-1.2, 1.0).requiresGrad_(true);
            Optimizer[] opt = new Optimizer[1];
            opt[0] = run == 0
                    ? new LBFGS(List.of(xy), 1, 200, LBFGS.STRONG_WOLFE)
                    : new LBFGS(List.of(xy), 1, 500, null, 1e-12, 1e-14, 100, LBFGS.STRONG_WOLFE);
            opt[0].step(rosenbrock(xy, opt));
            @SuppressWarnings("unchecked")
            Map<String, Object> st = ((Map<Integer, Map<String, Object>>) opt[0].stateDict().get("state")).get(0);
            assertEquals(expected[run][0], xy.get(0), 1e-9, "run " + run + " x");
            assertEquals(expected[run][1], xy.get(1), 1e-9, "run " + run + " y");
            assertEquals((int) expected[run][2], st.get("n_iter"), "run " + run + " n_iter");
            assertEquals((int) expected[run][3], st.get("func_evals"), "run " + run + " func_evals");
        }
    }
}
