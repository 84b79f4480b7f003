"""Reference values for OptimPytorchTest, computed once with PyTorch 1.13 (float64, CPU):
   python3 optim_reference.py
prints the parameters after each of the first steps of each optimizer configuration on the small problem
below, and L-BFGS (strong Wolfe) on Rosenbrock's function. The test states the problem in Java and compares."""
import torch

torch.set_default_dtype(torch.float64)

X = torch.tensor([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [0.1, -0.3]])
Y = torch.tensor([[0.2, -0.1, 0.4], [-0.3, 0.8, 0.05], [0.6, 0.0, -0.5], [0.1, 0.1, 0.1]])
W0 = [[0.3, -0.2, 0.1], [0.05, 0.4, -0.35]]
B0 = [0.1, -0.05, 0.2]


def loss_fn(w, b):
    return (torch.tanh(X @ w + b) - Y).pow(2).mean() + 0.5 * w.abs().sum() * 0.01


CONFIGS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd_dampening_wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov_wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "adam_wd": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "adam_amsgrad_wd": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01),
    "adamw_amsgrad": lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True),
    "lbfgs": lambda p: torch.optim.LBFGS(p, lr=0.5, max_iter=4),
    "lbfgs_wolfe": lambda p: torch.optim.LBFGS(p, lr=1, max_iter=4, history_size=3, line_search_fn="strong_wolfe"),
    "lbfgs_wolfe_short": lambda p: torch.optim.LBFGS(p, lr=0.01, max_iter=4, history_size=3, line_search_fn="strong_wolfe"),
}

STEPS = 3

for name, make in CONFIGS.items():
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    opt = make([w, b])
    print(name)
    for step in range(STEPS):
        def closure():
            opt.zero_grad()
            l = loss_fn(w, b)
            l.backward()
            return l
        loss = opt.step(closure)
        values = torch.cat([w.detach().reshape(-1), b.detach()]).tolist()
        print("  step %d loss %r params %s" % (step + 1, float(loss), ", ".join(repr(v) for v in values)))

xy = torch.tensor([-1.2, 1.0], requires_grad=True)
opt = torch.optim.LBFGS([xy], lr=1, max_iter=200, line_search_fn="strong_wolfe")
def rosenbrock():
    opt.zero_grad()
    a, c = xy[0], xy[1]
    f = (1 - a) ** 2 + 100 * (c - a * a) ** 2
    f.backward()
    return f
opt.step(rosenbrock)
st = opt.state[opt._params[0]]
print("rosenbrock x %r y %r n_iter %d func_evals %d" % (xy[0].item(), xy[1].item(), st["n_iter"], st["func_evals"]))

xy = torch.tensor([-1.2, 1.0], requires_grad=True)
opt = torch.optim.LBFGS([xy], lr=1, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14, line_search_fn="strong_wolfe")
opt.step(rosenbrock)
st = opt.state[opt._params[0]]
print("rosenbrock tight x %r y %r n_iter %d func_evals %d" % (xy[0].item(), xy[1].item(), st["n_iter"], st["func_evals"]))
