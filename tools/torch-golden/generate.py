#!/usr/bin/python3
"""Writes the golden file of the differential test against PyTorch (run by hand, not by CI).

    /usr/bin/python3 tools/torch-golden/generate.py   # Debian's python3-torch (PyTorch 1.13)

Evaluates a seeded set of random programs of the Tensor API's ops in float64 with PyTorch and writes
what PyTorch gives for each (values, grad_fn names, the repr of the result, first- and second-order
gradients, errors) to spark-autograd/src/test/resources/torch-golden/programs.txt, which
TorchGoldenReplayTest replays on the Java API. The file format is described in its header.

The library's documented departures from PyTorch are kept out here, so the checker never needs to
excuse anything: float64 only (no integer or float32 inputs; bool only as comparison results, used
only as where's condition or as a program's last value); shape ops copy (no in-place ops on views;
reshape's grad_fn name, which PyTorch 1.13 picks by whether it could alias, is written as "*");
matmul only of the operand ranks the library supports (1-d and 2-d, an n-d tensor times a matrix);
errors are compared by kind (Python's IndexError is Java's IndexOutOfBoundsException, RuntimeError
an IllegalArgumentException or IllegalStateException) and by the shapes the message must name.

Random programs whose results PyTorch itself does not pin down are drawn again: those that amplify rounding
(see stable() and cancelling_sum()), those whose signed zeros depend on the CPU's vector width (see
vector_width_dependent()), and abs' second-order infinities (PyTorch's efficient zero tensors, see evaluate()).
The directed programs, one group per class of issue 11 (tags c1 to c13), are kept as written.
"""
import math
import os
import random
import sys

import torch

torch.set_default_dtype(torch.float64)

SEED = 20261201
N_RANDOM = 2400
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', '..', 'spark-autograd', 'src', 'test', 'resources', 'torch-golden', 'programs.txt')

INF, NAN = float('inf'), float('nan')

# ---- encoding ---------------------------------------------------------------------------------


def num(v):
    v = float(v)
    if math.isnan(v):
        return 'nan'
    if math.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return repr(v)


def shape_str(s):
    return '-' if len(s) == 0 else 'x'.join(str(d) for d in s)


def java_shape(s):
    return '[' + ', '.join(str(d) for d in s) + ']'


def values(t):
    if t.numel() == 0:
        return ''
    if t._is_zerotensor():  # PyTorch's efficient zeros (unallocated), e.g. abs' second derivative
        t = torch.zeros(t.shape)
    flat = t.detach().reshape(-1).tolist()
    return ' '.join(num(v) for v in flat)


# ---- the ops: name -> (operand pattern, PyTorch call) ------------------------------------------
# Pattern letters: t a tensor, d a double, i an int, b a boolean (0/1), L an int list, T a list of tensors.

def _slice(x, dim, start, end):
    # aten::slice, which x[..., start:end] calls (Python's clamping of the bounds); indexing would give a full
    # range as an alias (AliasBackward0), a view the library does not have.
    return torch.ops.aten.slice(x, dim, start, end)


OPS = {
    'add': ('tt', lambda a, b: a.add(b)), 'sub': ('tt', lambda a, b: a.sub(b)),
    'mul': ('tt', lambda a, b: a.mul(b)), 'div': ('tt', lambda a, b: a.div(b)),
    'addS': ('td', lambda a, v: a.add(v)), 'subS': ('td', lambda a, v: a.sub(v)),
    'mulS': ('td', lambda a, v: a.mul(v)), 'divS': ('td', lambda a, v: a.div(v)),
    'pow': ('tt', lambda a, b: a.pow(b)), 'powS': ('td', lambda a, v: a.pow(v)),
    'maximum': ('tt', torch.maximum), 'minimum': ('tt', torch.minimum),
    'neg': ('t', torch.neg), 'exp': ('t', torch.exp), 'log': ('t', torch.log), 'log1p': ('t', torch.log1p),
    'sqrt': ('t', torch.sqrt), 'abs': ('t', torch.abs), 'sin': ('t', torch.sin), 'cos': ('t', torch.cos),
    'tanh': ('t', torch.tanh), 'sigmoid': ('t', torch.sigmoid), 'relu': ('t', torch.relu),
    'softplus': ('t', torch.nn.functional.softplus), 'square': ('t', torch.square),
    'clamp': ('tdd', lambda a, lo, hi: a.clamp(lo, hi)),
    'dot': ('tt', torch.dot), 'matmul': ('tt', torch.matmul),
    'sum': ('t', torch.sum), 'sumDim': ('tib', lambda a, d, k: a.sum(d, bool(k))),
    'mean': ('t', torch.mean), 'meanDim': ('tib', lambda a, d, k: a.mean(d, bool(k))),
    'norm': ('t', lambda a: a.norm()), 'max': ('t', lambda a: a.max()), 'min': ('t', lambda a: a.min()),
    'logSumExp': ('tib', lambda a, d, k: a.logsumexp(d, bool(k))),
    'softmax': ('ti', lambda a, d: a.softmax(d)), 'logSoftmax': ('ti', lambda a, d: a.log_softmax(d)),
    'reshape': ('tL', lambda a, s: a.reshape(s)), 't': ('t', lambda a: a.t()),
    'transpose': ('tii', lambda a, d0, d1: a.transpose(d0, d1)), 'unsqueeze': ('ti', lambda a, d: a.unsqueeze(d)),
    'squeeze': ('t', lambda a: a.squeeze()), 'squeezeDim': ('ti', lambda a, d: a.squeeze(d)),
    'expand': ('tL', lambda a, s: a.expand(s)), 'slice': ('tiii', _slice), 'index': ('ti', lambda a, i: a[i]),
    'cat': ('Ti', lambda ts, d: torch.cat(ts, d)), 'where': ('ttt', torch.where), 'clone': ('t', lambda a: a.clone()),
    'eq': ('tt', torch.eq), 'ne': ('tt', torch.ne), 'lt': ('tt', torch.lt), 'le': ('tt', torch.le),
    'gt': ('tt', torch.gt), 'ge': ('tt', torch.ge), 'gtS': ('td', lambda a, v: a.gt(v)),
    'leS': ('td', lambda a, v: a.le(v)), 'all': ('t', lambda a: a.all()), 'any': ('t', lambda a: a.any()),
}
COMPARISONS = {'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'gtS', 'leS', 'all', 'any'}
UNARY = ['neg', 'exp', 'log', 'log1p', 'sqrt', 'abs', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'softplus', 'square']
BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum']
SCALAR_BINARY = ['addS', 'subS', 'mulS', 'divS', 'powS']
REDUCTIONS = ['sum', 'sumDim', 'mean', 'meanDim', 'norm', 'max', 'min', 'logSumExp', 'softmax', 'logSoftmax']
SHAPE_OPS = ['reshape', 't', 'transpose', 'unsqueeze', 'squeeze', 'squeezeDim', 'expand', 'slice', 'index', 'cat', 'clone']


# ---- one program ------------------------------------------------------------------------------

class Program:
    """Inputs and steps in creation order; value k is the k-th of them (an input or a step's result)."""

    def __init__(self, tags):
        self.tags = tags
        self.items = []    # ('T', shape, values, requires_grad) or ('O', op, args); args: ('t', k) refs or numbers / lists
        self.functional = None  # 'jacobian' or 'hessian': the steps are f(input 0)

    @property
    def inputs(self):
        return [it[1:] for it in self.items if it[0] == 'T']

    @property
    def steps(self):
        return [it[1:] for it in self.items if it[0] == 'O']

    def input(self, shape, vals, rg):
        self.items.append(('T', list(shape), [float(v) for v in vals], rg))
        return len(self.items) - 1

    def op(self, name, *args):
        self.items.append(('O', name, list(args)))
        return len(self.items) - 1


def R(k):
    return ('t', k)


def encode_arg(a):
    if isinstance(a, tuple):
        return 't%d' % a[1]
    if isinstance(a, list):
        if a and isinstance(a[0], tuple):
            return ','.join('t%d' % x[1] for x in a)
        return ','.join(str(x) for x in a) if a else '.'
    if isinstance(a, bool):
        return '1' if a else '0'
    if isinstance(a, int):
        return str(a)
    return num(a)


NOISE = 2.0 ** -44


def perturb(v):
    """v times (1 +- 2^-44) element-wise, the sign a function of the value (so ties stay ties); values a
    libm computes exactly (zeros, infinities, NaN, multiples of 1/4) are left alone."""
    if v.dtype == torch.bool or v.numel() == 0:
        return v
    d = v.detach()
    exact = (d * 4 == torch.round(d * 4)) & (d.abs() < 1e6)
    bits = d.view(torch.int64)
    sign = 1 - 2 * ((bits & 1) ^ (bits < 0).long()).double()  # x and -x move apart: a cancelling sum shows
    f = torch.where(torch.isfinite(d) & (d != 0) & ~exact, 1 + sign * NOISE, torch.ones_like(d))
    return v * f


def _noisy(f, backward):
    """An op whose result carries the perturbation and whose backward, like PyTorch's, reads that result:
    so the perturbation also reaches the backward formula (1 - y^2 for tanh, ...)."""
    class Noisy(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = perturb(f(x))
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return backward(g, y)
    return Noisy.apply


NOISY = {
    'tanh': _noisy(torch.tanh, lambda g, y: g * (1 - y * y)),
    'sigmoid': _noisy(torch.sigmoid, lambda g, y: g * (1 - y) * y),
    'exp': _noisy(torch.exp, lambda g, y: g * y),
    'sqrt': _noisy(torch.sqrt, lambda g, y: g / (2 * y)),
}


def run_steps(prog, leaves, noise=False):
    """Runs the program on the given input tensors; returns (values, error) with error = (k, op, exc, operand shapes).
    With noise, every value is perturbed by a relative 2^-44 (see stable())."""
    vals = []
    inputs = iter(leaves)
    for item in prog.items:
        if item[0] == 'T':
            x = next(inputs)
            vals.append(perturb(x) if noise else x)
            continue
        _, name, args = item
        pattern, fn = OPS[name]
        if noise and name in NOISY:
            fn = NOISY[name]
        real, shapes = [], []
        for a in args:
            if isinstance(a, tuple):
                real.append(vals[a[1]])
                shapes.append(list(vals[a[1]].shape))
            elif isinstance(a, list) and a and isinstance(a[0], tuple):
                real.append([vals[x[1]] for x in a])
                shapes.extend(list(vals[x[1]].shape) for x in a)
            else:
                real.append(a)
        try:
            r = fn(*real)
        except (RuntimeError, IndexError, ValueError) as e:
            return vals, (len(vals), name, e, shapes)
        vals.append(perturb(r) if noise else r)
    return vals, None


SHAPE_ERROR_OPS = {'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'dot', 'matmul', 'where', 'cat',
                   'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'expand'}


def must_contain(name, exc, shapes):
    """What the Java message must contain: the user's operand shapes for a shape mismatch."""
    msg = str(exc)
    if name in SHAPE_ERROR_OPS and ('size' in msg or 'shape' in msg or 'match' in msg or 'multiplied' in msg):
        return [java_shape(s) for s in shapes]
    return []


def evaluate(prog, rng, check):
    lines = ['P %d %s' % (prog.id, ','.join(prog.tags) if prog.tags else '-')]
    if prog.functional:
        lines.append('F ' + prog.functional)
    for item in prog.items:
        if item[0] == 'T':
            _, shape, vals, rg = item
            lines.append(('T %s %d %s' % (shape_str(shape), 1 if rg else 0, ' '.join(num(v) for v in vals))).rstrip())
        else:
            lines.append('O %s %s' % (item[1], ' '.join(encode_arg(a) for a in item[2])))

    def leaves():
        return [torch.tensor(v, dtype=torch.float64).reshape(s).requires_grad_(rg) for s, v, rg in prog.inputs]

    if prog.functional:
        return lines + functional(prog)

    xs = leaves()
    vals, err = run_steps(prog, xs)
    for k in range(len(vals)):
        if prog.items[k][0] != 'O':
            continue
        v = vals[k]
        name = prog.items[k][1]
        gf = v.grad_fn.name() if v.grad_fn is not None else '-'
        if name == 'reshape' and gf != '-':
            gf = '*'
        lines.append(('V %d %s %s %d %s' % (k, shape_str(v.shape), gf, 1 if v.dtype == torch.bool else 0,
                                            values(v.double()) if v.dtype == torch.bool else values(v))).rstrip())
    if err is not None:
        step, name, exc, shapes = err
        lines.append('X %d %s %s :: %s' % (step, type(exc).__name__, '|'.join(must_contain(name, exc, shapes)) or '.',
                                           str(exc).split('\n')[0]))
        return lines
    if check and (vector_width_dependent(prog, vals) or cancelling_sum(prog, vals)):
        return None
    out = vals[-1]
    lines.append('R ' + repr(out).replace('\\', '\\\\').replace('\n', '\\n'))
    if out.dtype == torch.bool or not out.requires_grad:
        return lines if not check or stable(prog, None, []) else None
    up = upstream(out.shape, rng)
    lines.append(('U %s' % ' '.join(num(v) for v in up.reshape(-1).tolist())).rstrip())
    # First order through backward(), as a user calls it: the leaves' grad().
    try:
        out.backward(up)
    except RuntimeError as e:
        lines.append('B %s :: %s' % (type(e).__name__, str(e).split('\n')[0]))
        return lines
    pos = [k for k, it in enumerate(prog.items) if it[0] == 'T']  # input i is value pos[i]
    for i, x in enumerate(xs):
        if x.requires_grad:
            lines.append(('D %d %s' % (pos[i], 'none' if x.grad is None else values(x.grad))).rstrip())
    # Second order: d/dx of sum_k <w_k, grad_k> with the first-order gradients taken with create_graph.
    xs = leaves()
    vals, _ = run_steps(prog, xs)
    wrt = [x for x in xs if x.requires_grad]
    gs = torch.autograd.grad([vals[-1]], wrt, [up], create_graph=True, allow_unused=True)
    s = None
    ws = []
    for x, g in zip(wrt, gs):
        k = pos[[i for i, y in enumerate(xs) if y is x][0]]
        if g is None or not g.requires_grad:
            continue
        w = nice_tensor(list(x.shape), rng)
        ws.append((k, w))
        term = g.mul(w).sum()
        s = term if s is None else s.add(term)
    if check and not stable(prog, up, ws):
        return None
    for k, w in ws:
        lines.append(('W %d %s' % (k, values(w))).rstrip())
    if s is not None and s.requires_grad:
        hs = torch.autograd.grad([s], wrt, allow_unused=True)
    else:
        hs = [None] * len(wrt)
    if check and any(it[0] == 'O' and it[1] == 'abs' for it in prog.items) and \
            any(h is not None and not h._is_zerotensor() and not torch.isfinite(h).all() for h in hs):
        # abs' double backward sends PyTorch's efficient zero tensor (sgn's derivative) into its input's history: its
        # 0 * inf is 0 through element-wise ops but NaN after a matrix product. Implementation-defined, left out.
        return None
    for x, h in zip(wrt, hs):
        k = pos[[i for i, y in enumerate(xs) if y is x][0]]
        lines.append(('H %d %s' % (k, values(torch.zeros(x.shape) if h is None else h))).rstrip())
    return lines


SUMS = {'sum': lambda x: x.abs().sum(), 'mean': lambda x: x.abs().mean(),
        'sumDim': lambda x, d, k: x.abs().sum(d, bool(k)), 'meanDim': lambda x, d, k: x.abs().mean(d, bool(k))}


def cancelling_sum(prog, vals):
    """Whether a sum cancels so much that the order of its additions shows beyond the replay's tolerance: its
    rounding bound n * 2^-53 * sum|x| exceeds 1e-11 |sum| + 1e-14 (the perturbation of stable() misses a sum whose
    cancelling terms PyTorch happens to add first)."""
    for k, item in enumerate(prog.items):
        if item[0] != 'O' or k >= len(vals) or item[1] not in SUMS:
            continue
        args = item[2]
        x = vals[args[0][1]].detach()
        if x.dtype == torch.bool or x.numel() == 0:
            continue
        bound = SUMS[item[1]](x, *args[1:]) * (x.numel() * 2.0 ** -53)
        r = vals[k].detach()
        fin = torch.isfinite(bound) & torch.isfinite(r)
        if (bound[fin] > 1e-11 * r[fin].abs() + 1e-14).any():
            return True
    return False


def vector_width_dependent(prog, vals):
    """Whether a result depends on the CPU's vector width in PyTorch: a tie of 0. and -0. in maximum/minimum (the
    scalar loop returns the first operand, the AVX one the second) or in max()/min() over 4 or more elements."""
    for k, item in enumerate(prog.items):
        if item[0] != 'O' or k >= len(vals):
            continue
        name, args = item[1], item[2]
        if name in ('maximum', 'minimum') and vals[k].numel() >= 4:
            a, b = torch.broadcast_tensors(vals[args[0][1]].detach(), vals[args[1][1]].detach())
            if ((a == 0) & (b == 0) & (torch.signbit(a) != torch.signbit(b))).any():
                return True
        if name in ('max', 'min') and vals[args[0][1]].numel() >= 4:
            x = vals[args[0][1]].detach()
            zeros = x[(x == 0) & (x == vals[k].detach())]
            if torch.signbit(zeros).any() and not torch.signbit(zeros).all():
                return True
    return False


def outputs(prog, up, ws, noise):
    """Every number the golden file records for a program (values, first- and second-order gradients)."""
    xs = [torch.tensor(v, dtype=torch.float64).reshape(s).requires_grad_(rg) for s, v, rg in prog.inputs]
    pos = [k for k, it in enumerate(prog.items) if it[0] == 'T']
    vals, _ = run_steps(prog, xs, noise)
    out = [v.detach().double().reshape(-1) for v in vals]
    if up is None:
        return out
    wrt = [x for x in xs if x.requires_grad]
    gs = torch.autograd.grad([vals[-1]], wrt, [up], create_graph=True, allow_unused=True)
    out += [g.detach().reshape(-1) for g in gs if g is not None]
    by_value = {pos[i]: g for i, g in zip([i for i, x in enumerate(xs) if x.requires_grad], gs)}
    s = None
    for k, w in ws:
        g = by_value[k]
        if g is not None and g.requires_grad:
            term = g.mul(w).sum()
            s = term if s is None else s.add(term)
    if s is not None and s.requires_grad:
        out += [h.detach().reshape(-1) for h in torch.autograd.grad([s], wrt, allow_unused=True) if h is not None and not h._is_zerotensor()]
    return out


def stable(prog, up, ws):
    """Whether PyTorch's results move by less than 1e-8 relative (1e-11 absolute) when every input and every
    intermediate value is perturbed by 2^-44 relative: a program that amplifies rounding more than that (a sum
    that cancels, 1 - tanh^2 near 1, ...) would compare implementations' rounding, not their semantics, and is
    left out (the replay compares to 1e-10 relative, 1e-13 absolute; one ulp is 2^-52)."""
    a, b = outputs(prog, up, ws, False), outputs(prog, up, ws, True)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return False
        if not torch.equal(torch.isnan(x), torch.isnan(y)):
            return False
        fx, fy = x[~torch.isnan(x)], y[~torch.isnan(y)]
        if not torch.equal(torch.isinf(fx), torch.isinf(fy)) or not torch.equal(fx[torch.isinf(fx)], fy[torch.isinf(fy)]):
            return False
        fin = torch.isfinite(fx)
        if ((fx[fin] - fy[fin]).abs() > 1e-11 + 1e-8 * fy[fin].abs()).any():
            return False
    return True


def functional(prog):
    """jacobian/hessian of x -> the steps' last value, with input 0 as x."""
    consts = [torch.tensor(v, dtype=torch.float64).reshape(s) for s, v, rg in prog.inputs]

    def f(x):
        vals, err = run_steps(prog, [x] + consts[1:])
        return vals[-1]
    fn = torch.autograd.functional.jacobian if prog.functional == 'jacobian' else torch.autograd.functional.hessian
    r = fn(f, consts[0])
    return [('J %s %s' % (shape_str(r.shape), values(r))).rstrip()]


# ---- random values and shapes -----------------------------------------------------------------

NICE = [k / 4 for k in range(-12, 13)]
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, INF, -INF, NAN]
BIG = [1e8, -1e8, 1e17, -1e17, 1e300, -1e300]


def nice_tensor(shape, rng):
    n = math.prod(shape)
    return torch.tensor([rng.choice(NICE) for _ in range(n)], dtype=torch.float64).reshape(shape)


def upstream(shape, rng):
    n = math.prod(shape)
    r = rng.random()
    if r < 0.25:
        v = [1.0] * n
    elif r < 0.85:
        v = [rng.choice(NICE) for _ in range(n)]
    else:
        v = [rng.choice(NICE + SPECIAL) for _ in range(n)]
    return torch.tensor(v, dtype=torch.float64).reshape(shape)


def draw_values(n, flavor, rng):
    out = []
    for _ in range(n):
        r = rng.random()
        if flavor == 'edge' and r < 0.45:
            out.append(rng.choice(SPECIAL))
        elif flavor == 'kink' and r < 0.6:
            out.append(rng.choice([0.0, -0.0, 1.0, 1.0, -1.0, 0.5]))
        elif flavor == 'big' and r < 0.5:
            out.append(rng.choice(BIG))
        elif r < 0.55:
            out.append(rng.choice(NICE))
        else:
            out.append(round(rng.gauss(0, 1.5), 3))
    return out


SHAPES = [[], [1], [2], [3], [4], [2, 3], [3, 2], [3, 1], [1, 3], [2, 2], [1, 1], [2, 1, 3], [2, 3, 2], [4, 1]]
EMPTY_SHAPES = [[0], [2, 0], [0, 3], [2, 0, 3], [0, 1], [1, 0]]


def draw_shape(flavor, rng):
    if flavor == 'empty' and rng.random() < 0.7:
        return list(rng.choice(EMPTY_SHAPES))
    if flavor == 'scalar' and rng.random() < 0.7:
        return []
    return list(rng.choice(SHAPES))


def broadcast_partner(shape, rng):
    """A shape that broadcasts with `shape` (sometimes not: an error case)."""
    r = rng.random()
    if r < 0.03:
        return list(rng.choice(SHAPES + EMPTY_SHAPES))
    if r < 0.3:
        return list(shape)
    if r < 0.4:
        return []
    s = list(shape)
    s = [1 if rng.random() < 0.4 else d for d in s]
    if s and rng.random() < 0.4:
        s = s[rng.randint(0, len(s)):]
    if rng.random() < 0.15 and len(s) < 3:
        s = [rng.choice([1, 2])] + s
    return s


def matmul_partner(a_shape, rng):
    """A right operand of a rank the library supports for `a_shape`, mostly of a matching inner size."""
    ad = len(a_shape)
    if ad == 0:
        return None
    k = a_shape[-1] if rng.random() < 0.9 else rng.choice([1, 2, 4, 5])
    if ad == 1:
        return rng.choice([[k], [k, rng.choice([0, 1, 2, 3])]])
    if ad == 2:
        return rng.choice([[k], [k, rng.choice([0, 1, 2, 3])]])
    return [k, rng.choice([0, 1, 2])]


class Gen:
    def __init__(self, rng):
        self.rng = rng

    def tensor(self, prog, shape, flavor, rg=None):
        rg = self.rng.random() < 0.85 if rg is None else rg
        return prog.input(shape, draw_values(math.prod(shape), flavor, self.rng), rg)

    def random_program(self, pid):
        rng = self.rng
        flavor = rng.choice(['plain', 'plain', 'edge', 'kink', 'kink', 'empty', 'scalar', 'big'])
        prog = Program(['random', flavor])
        prog.id = pid
        cur = self.tensor(prog, draw_shape(flavor, rng), flavor)
        shapes = {cur: list(prog.inputs[cur][0])}
        for _ in range(rng.randint(1, 4)):
            step = self.random_step(prog, cur, shapes, flavor)
            if step is None:
                break
            cur = step
            # Shapes by running PyTorch so far (the program stops at its first error).
            xs = [torch.tensor(v).reshape(s) for s, v, _ in prog.inputs]
            vals, err = run_steps(prog, xs)
            if err is not None:
                break
            if vals[-1].dtype == torch.bool:
                # a bool is never an arithmetic operand (float64 only): it ends the program or is where's condition
                mask_shape = list(vals[-1].shape)
                if rng.random() < 0.6 and prog.steps[-1][0] not in ('all', 'any'):
                    a = self.tensor(prog, broadcast_partner(mask_shape, rng), flavor)
                    b = self.operand(prog, mask_shape, shapes, flavor)
                    cur = prog.op('where', R(cur), R(a), R(b))
                    xs = [torch.tensor(v).reshape(s) for s, v, _ in prog.inputs]
                    vals, err = run_steps(prog, xs)
                    if err is not None or rng.random() < 0.3:
                        break
                    shapes[cur] = list(vals[-1].shape)
                    continue
                break
            shapes[cur] = list(vals[-1].shape)
        return prog

    def operand(self, prog, shape, shapes, flavor):
        rng = self.rng
        cands = [k for k, s in shapes.items() if k < len(prog.inputs) + len(prog.steps)]
        if rng.random() < 0.3:
            k = rng.choice(cands)
            try:
                torch.broadcast_shapes(tuple(shapes[k]), tuple(shape))
                return k
            except RuntimeError:
                pass
        s = broadcast_partner(shape, rng)
        k = self.tensor(prog, s, flavor)
        shapes[k] = s
        return k

    def random_step(self, prog, cur, shapes, flavor):
        rng = self.rng
        s = shapes[cur]
        kind = rng.random()
        if kind < 0.3:
            return prog.op(rng.choice(UNARY), R(cur))
        if kind < 0.5:
            name = rng.choice(BINARY)
            o = self.operand(prog, s, shapes, flavor)
            return prog.op(name, R(cur), R(o)) if rng.random() < 0.7 else prog.op(name, R(o), R(cur))
        if kind < 0.57:
            name = rng.choice(SCALAR_BINARY)
            v = rng.choice(NICE + SPECIAL + [3.0, -2.0, 0.5, -0.5, 1.5]) if name != 'powS' else \
                rng.choice([0.0, 1.0, 2.0, 3.0, -1.0, 0.5, -0.5, 1.5, -2.0, 2.5, INF, -INF, NAN])
            return prog.op(name, R(cur), v)
        if kind < 0.62:
            lo = rng.choice([0.0, -1.0, -0.5, -INF, 0.25])
            hi = rng.choice([1.0, 0.0, 0.5, INF, 2.0])
            return prog.op('clamp', R(cur), lo, hi)
        if kind < 0.77:
            name = rng.choice(REDUCTIONS)
            pattern = OPS[name][0]
            if 'i' in pattern:
                d = self.dim(len(s), rng)
                return prog.op(name, R(cur), d, rng.random() < 0.5) if 'b' in pattern else prog.op(name, R(cur), d)
            return prog.op(name, R(cur))
        if kind < 0.83:
            if len(s) == 0 or rng.random() < 0.4:
                o = self.operand(prog, s, shapes, flavor)
                return prog.op(rng.choice(['eq', 'ne', 'lt', 'le', 'gt', 'ge']), R(cur), R(o))
            return prog.op(rng.choice(['gtS', 'leS']), R(cur), rng.choice([0.0, 0.5, -0.5, 1.0]))
        if kind < 0.88:
            return self.matmul_step(prog, cur, s, flavor)
        return self.shape_step(prog, cur, s, shapes, flavor)

    def dim(self, rank, rng):
        r = max(rank, 1)
        if rng.random() < 0.04:
            return r + rng.choice([0, 1])  # out of range: an error
        return rng.randint(-r, r - 1)

    def matmul_step(self, prog, cur, s, flavor):
        rng = self.rng
        if len(s) == 0:
            return prog.op('neg', R(cur))
        ps = matmul_partner(s, rng)
        if len(s) == 1 and len(ps) == 1 and rng.random() < 0.5:
            o = self.tensor(prog, ps, flavor)
            return prog.op('dot', R(cur), R(o))
        o = self.tensor(prog, ps, flavor)
        if len(s) == 1 and len(ps) == 2 and rng.random() < 0.5:
            # the vector on the right: [m, k] @ [k] needs the matrix on the left
            o = self.tensor(prog, [rng.choice([0, 1, 2, 3]), s[0] if rng.random() < 0.9 else s[0] + 1], flavor)
            return prog.op('matmul', R(o), R(cur))
        return prog.op('matmul', R(cur), R(o))

    def shape_step(self, prog, cur, s, shapes, flavor):
        rng = self.rng
        name = rng.choice(SHAPE_OPS)
        rank = len(s)
        n = math.prod(s)
        if name == 'reshape':
            opts = [[-1], [n], [1, -1], [-1, 1]]
            if n % 2 == 0 and n > 0:
                opts.append([2, -1])
            if n == 0:
                opts.append([0, 2])
            if rng.random() < 0.05:
                opts = [[n + 1]]
            return prog.op('reshape', R(cur), rng.choice(opts))
        if name == 't':
            return prog.op('t', R(cur))
        if name == 'transpose':
            return prog.op('transpose', R(cur), self.dim(rank, rng), self.dim(rank, rng))
        if name == 'unsqueeze':
            return prog.op('unsqueeze', R(cur), rng.randint(-rank - 1, rank))
        if name == 'squeeze':
            return prog.op('squeeze', R(cur))
        if name == 'squeezeDim':
            return prog.op('squeezeDim', R(cur), self.dim(rank, rng))
        if name == 'expand':
            t = [2 if d == 1 and rng.random() < 0.6 else d for d in s]
            if rng.random() < 0.4:
                t = [rng.choice([1, 2, 3])] + t
            if t and rng.random() < 0.2:
                t[rng.randrange(len(t))] = -1
            if rng.random() < 0.04:
                t = [d + 1 for d in t] or [2]
            return prog.op('expand', R(cur), t)
        if name == 'slice':
            if rank == 0:
                return prog.op('clone', R(cur))
            d = rng.randint(-rank, rank - 1)
            size = s[d]
            return prog.op('slice', R(cur), d, rng.randint(-size - 1, size + 1), rng.randint(-size - 1, size + 2))
        if name == 'index':
            size = s[0] if rank > 0 else 1
            return prog.op('index', R(cur), rng.randint(-size, size))
        if name == 'cat':
            if rank == 0:
                return prog.op('clone', R(cur))
            d = rng.randint(-rank, rank - 1)
            t = list(s)
            t[d] = rng.choice([0, 1, 2])
            if rng.random() < 0.05 and rank > 1:
                t[(d + 1) % rank] += 1
            o = self.tensor(prog, t, flavor)
            return prog.op('cat', [R(cur), R(o)] if rng.random() < 0.7 else [R(o), R(cur)], d)
        return prog.op('clone', R(cur))


# ---- the classes, each as directed programs (with random variants) ------------------------

def directed(rng):
    progs = []

    def new(tag):
        p = Program([tag])
        progs.append(p)
        return p

    def vec(vals, rg=True, shape=None):
        return (shape if shape is not None else [len(vals)], vals, rg)

    # 1. select, not multiply: an inf/NaN upstream gradient meets a 0 mask.
    for vals, masked, then in [([-1.0, 4.0], 'relu', 'sqrt'), ([-1.0, 4.0], 'clamp01', 'sqrt'), ([0.0, 1.0], 'min', 'log'),
                               ([2.0, 0.5], 'max', 'log'), ([-2.0, 0.0, 3.0], 'relu', 'log'), ([5.0, -3.0], 'clamp01', 'log')]:
        p = new('c1')
        x = p.input(*vec(vals))
        y = p.op('clamp', R(x), 0.0, 1.0) if masked == 'clamp01' else p.op(masked, R(x))
        y = p.op(then, R(y))
        if len(p.steps) and masked not in ('min', 'max'):
            p.op('sum', R(y))
    for a, b in [([0.0], [-1.0]), ([-1.0], [0.0]), ([2.0, -3.0], [0.0, 0.0])]:
        for name in ('maximum', 'minimum'):
            p = new('c1')
            x, y = p.input(*vec(a)), p.input(*vec(b))
            z = p.op(name, R(x), R(y))
            p.op('sum', R(p.op('sqrt', R(z))))
    for _ in range(30):  # random variants, including an inf/NaN upstream gradient given directly
        p = new('c1')
        x = p.input(*vec([rng.choice([-1.0, 0.0, 2.0, 0.25, -0.0, 3.0]) for _ in range(3)]))
        name = rng.choice(['relu', 'clamp', 'max', 'min', 'maximum', 'minimum'])
        if name == 'clamp':
            y = p.op('clamp', R(x), rng.choice([0.0, -1.0]), rng.choice([1.0, 2.0]))
        elif name in ('maximum', 'minimum'):
            o = p.input(*vec([rng.choice([-1.0, 0.0, 1.0]) for _ in range(3)]))
            y = p.op(name, R(x), R(o))
        else:
            y = p.op(name, R(x))
        p.op(rng.choice(['sqrt', 'log', 'relu', 'abs']), R(y))
    # 2. relu's gradient at NaN (threshold_backward passes it), abs's (sgn(nan) = 0).
    for name in ('relu', 'abs'):
        for vals in ([NAN, 1.0], [NAN], [-1.0, NAN, 0.0, 2.0]):
            p = new('c2')
            p.op(name, R(p.input(*vec(vals))))
    # 3. norm at 0, pow(Tensor)'s exponent gradient at base 0, second order of 0^y.
    for n in (1, 2, 3):
        p = new('c3')
        x = p.input(*vec([0.0] * n))
        r = p.op('norm', R(x))
        p.op('div', R(r), R(r))
    for n in (1, 2):
        p = new('c3')
        x = p.input(*vec([0.0] * n))
        p.op('norm', R(x))
    for b, e in [([0.0], [0.0]), ([0.0], [2.0]), ([0.0, 0.0], [1.0, -1.0]), ([0.0], [0.5])]:
        p = new('c3')
        x, y = p.input(*vec(b)), p.input(*vec(e))
        z = p.op('subS', R(p.op('pow', R(x), R(y))), 2.0)
        p.op('sum', R(p.op('sqrt', R(z))))
        p = new('c3')
        x, y = p.input(*vec(b)), p.input(*vec(e))
        p.op('sum', R(p.op('pow', R(x), R(y))))
    # 4. pow's forward: C's rules for base +-1 and inf/NaN exponents; exponents +-0.5 as sqrt/rsqrt.
    bases = [1.0, -1.0, 0.0, -0.0, INF, -INF, NAN, 2.0, 0.5, -2.0]
    exps = [NAN, INF, -INF, 0.5, -0.5, 0.0, -0.0, 1.0, 2.0, -1.0, 3.0, 1.5]
    for e in exps:
        p = new('c4')
        p.op('powS', R(p.input(*vec(bases))), e)
        p = new('c4')
        x = p.input(*vec(bases))
        y = p.input(*vec([e] * len(bases)))
        p.op('pow', R(x), R(y))
    p = new('c4')
    p.op('pow', R(p.input(*vec([1.0, 1.0, -1.0]))), R(p.input(*vec([NAN, INF, INF]))))
    # 5. +inf (and -inf, NaN) in softmax / logSoftmax / logSumExp.
    for vals in ([1.0, INF], [INF, INF], [-INF, 1.0], [-INF, -INF], [NAN, 1.0], [INF, -INF, 0.0]):
        for name in ('softmax', 'logSoftmax'):
            p = new('c5')
            p.op(name, R(p.input(*vec(vals))), 0)
        p = new('c5')
        p.op('logSumExp', R(p.input(*vec(vals))), 0, False)
    # 6. logSoftmax precision at large magnitudes.
    for vals in ([1e17, 1e17], [1e8, 1e8], [1e8, 1e8 + 1], [-1e17, -1e17, -1e17], [1e300, 1e300], [3e15, 3e15 + 2]):
        for name in ('logSoftmax', 'softmax'):
            p = new('c6')
            p.op(name, R(p.input(*vec(vals))), -1)
        p = new('c6')
        p.op('logSumExp', R(p.input(*vec(vals))), 0, True)
    # 7. signed zeros.
    for name, args in [('relu', ()), ('clamp', (0.0, 1.0)), ('clamp', (-1.0, 0.0)), ('clamp', (-0.0, 1.0)), ('abs', ()),
                       ('neg', ()), ('sqrt', ()), ('squeeze', ()), ('sum', ()), ('max', ()), ('min', ())]:
        p = new('c7')
        p.op(name, R(p.input(*vec([-0.0, 0.0, -1.0]))), *args)
    for a, b in [([0.0], [-0.0]), ([-0.0], [0.0]), ([-0.0, 0.0], [-0.0, -0.0])]:
        for name in ('maximum', 'minimum'):
            p = new('c7')
            p.op(name, R(p.input(*vec(a))), R(p.input(*vec(b))))
    p = new('c7')
    p.op('expand', R(p.input([2, 1], [-0.0, 1.0], True)), [2, 2])
    p = new('c7')
    p.op('expand', R(p.input([], [-0.0], True)), [3])
    p = new('c7')
    p.op('mulS', R(p.op('relu', R(p.input(*vec([-0.0, -2.0]))))), -1.0)
    # 8. 0-d tensors take dim 0 and -1.
    for name, extra in [('logSumExp', (0, False)), ('logSumExp', (-1, True)), ('sumDim', (0, False)), ('sumDim', (-1, True)),
                        ('meanDim', (0, False)), ('meanDim', (-1, True)), ('softmax', (0,)), ('logSoftmax', (-1,)),
                        ('squeezeDim', (0,)), ('squeezeDim', (-1,)), ('unsqueeze', (0,)), ('unsqueeze', (-1,)),
                        ('transpose', (0, -1)), ('sumDim', (1, False)), ('softmax', (1,)), ('logSumExp', (-2, False))]:
        p = new('c8')
        p.op(name, R(p.input([], [3.0], True)), *extra)
    # 9. jacobian / hessian when f does not depend on x.
    for fn in ('jacobian', 'hessian'):
        for case in range(4):
            p = new('c9')
            p.functional = fn
            x = p.input([2], [1.0, 2.0], False)
            c = p.input([2], [3.0, -1.0], False)
            if case == 0:
                p.op('sum', R(p.op('mulS', R(c), 2.0)))
            elif case == 1:
                p.op('sum', R(c))
            elif case == 2:  # depends on x: the closed form is the check
                p.op('sum', R(p.op('mul', R(x), R(p.op('mul', R(x), R(c))))))
            else:
                p.op('sum', R(p.op('add', R(p.op('mulS', R(x), 0.0)), R(c))))
    # 10. zero-size dimensions through every op.
    for name in UNARY + ['sum', 'mean', 'norm', 'max', 'min', 'clone', 't', 'squeeze']:
        for s in ([0], [2, 0], [0, 3]):
            if name == 't' and len(s) > 2:
                continue
            p = new('c10')
            p.op(name, R(p.input(s, [], True)))
    for name, extra in [('sumDim', (0, False)), ('sumDim', (1, True)), ('meanDim', (0, False)), ('meanDim', (1, False)),
                        ('logSumExp', (0, False)), ('logSumExp', (1, False)), ('softmax', (0,)), ('logSoftmax', (1,)),
                        ('unsqueeze', (1,)), ('transpose', (0, 1)), ('slice', (1, 0, 2)), ('index', (1,)),
                        ('reshape', ([-1],)), ('reshape', ([0, 5],)), ('expand', ([2, 2, 0],)), ('clamp', (0.0, 1.0))]:
        p = new('c10')
        p.op(name, R(p.input([2, 0], [], True)), *extra)
    for a, b in [([2, 0, 0], [0, 3]), ([0], [0]), ([0], [0, 3]), ([2, 0], [0]), ([2, 0], [0, 3]), ([0, 2], [2, 3]),
                 ([0, 2], [2]), ([2], [2, 0]), ([3, 0, 2], [2, 2])]:
        p = new('c10')
        p.op('sum', R(p.op('matmul', R(p.input(a, [1.0] * math.prod(a), True)), R(p.input(b, [1.0] * math.prod(b), True)))))
    for name in BINARY:
        p = new('c10')
        p.op(name, R(p.input([2, 0], [], True)), R(p.input([1], [2.0], True)))
    p = new('c10')
    p.op('cat', [R(p.input([2, 0], [], True)), R(p.input([2, 3], [1.0] * 6, True))], 1)
    p = new('c10')
    p.op('dot', R(p.input([0], [], True)), R(p.input([0], [], True)))
    p = new('c10')
    p.op('where', R(p.op('gtS', R(p.input([0, 2], [], False)), 0.0)), R(p.input([0, 2], [], True)), R(p.input([], [1.0], True)))
    # 11. sum/mean of a 0-d tensor with a dim.
    for name in ('sumDim', 'meanDim'):
        for d in (0, -1):
            for k in (False, True):
                p = new('c11')
                p.op(name, R(p.input([], [3.0], True)), d, k)
    # 12. matmul's grad_fn names.
    for a, b in [([3], [3, 2]), ([2, 3, 3], [3, 2]), ([4, 1, 2], [2, 2]), ([2, 3], [3]), ([3], [3]), ([2, 3], [3, 4]),
                 ([1, 2, 3, 2], [2, 3])]:
        p = new('c12')
        p.op('matmul', R(p.input(a, draw_values(math.prod(a), 'plain', rng), True)), R(p.input(b, draw_values(math.prod(b), 'plain', rng), True)))
    # 13. matmul's shape errors name the user's shapes.
    for a, b in [([3], [5, 2]), ([4, 3, 1], [2, 2]), ([2, 3], [4]), ([2, 3], [4, 3]), ([3], [4]), ([2, 2, 3], [2, 3]), ([3], [2, 3])]:
        p = new('c13')
        p.op('matmul', R(p.input(a, [1.0] * math.prod(a), True)), R(p.input(b, [1.0] * math.prod(b), True)))
    return progs


def main():
    rng = random.Random(SEED)
    torch.manual_seed(SEED)
    progs = directed(rng)
    gen = Gen(rng)
    for i in range(N_RANDOM):
        progs.append(gen.random_program(0))
    out = ['# The differential test against PyTorch ' + torch.__version__ + ' (float64): written by tools/torch-golden/generate.py,',
           '# replayed by TorchGoldenReplayTest. Do not edit; regenerate. One program per P line, then:',
           '#   F fn               jacobian|hessian of x -> the last value, x = input 0 (then only J follows)',
           "#   T shape rg v...    an input (shape 2x3, - for 0-d; rg 1 = requires grad), row-major values",
           '#   O op arg...        the next value; values (inputs and ops) are numbered from 0 in order, tK is value K; lists comma-separated, . empty',
           '#   V k shape gradfn bool v...   PyTorch\'s value k (gradfn - for none, * for reshape: not compared)',
           '#   X k Error must|contain :: message   value k raised (the program stops); what the message must contain',
           '#   R repr             the repr of the last value (\\n escaped)',
           '#   U v...             upstream gradient for backward() of the last value',
           '#   D k v...|none      grad() of input k after backward(U)',
           '#   W k v... / H k v...  second order: d/dx_k of sum_j <W_j, dL/dx_j> (the grads taken with create_graph)',
           '#   J shape v...       the jacobian/hessian']
    dropped = 0
    pid = 0
    for p in progs:
        while True:
            p.id = pid
            # The directed programs are chosen by hand (exact values at the edges); the random ones must be stable
            # and not depend on PyTorch's vector width.
            lines = evaluate(p, rng, 'random' in p.tags)
            if lines is not None:
                break
            dropped += 1
            p = gen.random_program(pid)
        out.extend(lines)
        pid += 1
    print('%d random programs left out as numerically unstable or CPU-dependent (and drawn again)' % dropped, file=sys.stderr)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        f.write('\n'.join(out) + '\n')
    tags = {}
    for p in progs:
        for t in p.tags:
            tags[t] = tags.get(t, 0) + 1
    print('%d programs -> %s' % (len(progs), os.path.relpath(OUT)), file=sys.stderr)
    print(' '.join('%s:%d' % kv for kv in sorted(tags.items())), file=sys.stderr)


if __name__ == '__main__':
    main()
