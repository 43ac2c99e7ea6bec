#!/usr/bin/env python3
"""Golden values for gradus's layers (tests/test_layers_golden.c): Linear, every activation,
PReLU, Maxout, a residual block and an MLP, each one forward and one backward.

Usage: /usr/bin/python3 gen_layers.py OUTDIR   (writes OUTDIR/layers.json)

Every case holds the input x, the parameters (by state_dict name, in state_dict order, and
the list of those names), the output y, the upstream gradient dy, the input gradient dx
and the parameter gradients. Inputs and parameters are float32 values. Activations are
computed in float32, as PyTorch's own kernels compute them (the point is to agree with
them at 0, +-50 and +-1000 too); the layers with sums (Linear, PReLU's slopes, the
networks) in float64, so their goldens carry no rounding of their own.
"""
import json
import os
import sys

import torch
from torch import nn


def tensor(t):
    t = t.detach().to(torch.float32)
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def uniform(gen, shape, lo, hi):
    return (torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo)


def away_from(x, margin):
    """x with every |x| >= margin (kinks of ReLU-like layers sit at 0)."""
    return torch.where(x.abs() < margin, torch.sign(x + 1e-30) * margin + x, x)


def run(name, model, x, gen, dtype):
    """One forward and backward of model on x with a random upstream gradient."""
    model = model.to(dtype)
    model.zero_grad()
    xd = x.to(dtype).requires_grad_()
    y = model(xd)
    dy = torch.randn(y.shape, generator=gen, dtype=torch.float32)
    y.backward(dy.to(dtype))
    state = model.state_dict()
    return {
        "name": name,
        "names": list(state.keys()),
        "params": {k: tensor(v) for k, v in state.items()},
        "x": tensor(x),
        "y": tensor(y),
        "dy": tensor(dy),
        "dx": tensor(xd.grad),
        "grads": {k: tensor(p.grad) for k, p in model.named_parameters()},
    }


def linear_cases(gen):
    cases = []
    for name, fin, fout, bias, n in [("linear_5x3_bias", 5, 3, True, 4),
                                     ("linear_5x3_nobias", 5, 3, False, 4),
                                     ("linear_7x2_batch1", 7, 2, True, 1)]:
        model = nn.Sequential(nn.Linear(fin, fout, bias=bias))
        cases.append(run(name, model, uniform(gen, (n, fin), -2, 2), gen, torch.float64))
    return cases


# Branch points and saturation (0, +-1, +-50, +-1000), then random values in [-3, 3].
SPECIAL = [0.0, 1.0, -1.0, 50.0, -50.0, 1000.0, -1000.0]

ACTIVATIONS = [
    ("sigmoid", nn.Sigmoid()),
    ("tanh", nn.Tanh()),
    ("relu", nn.ReLU()),
    ("leaky_relu", nn.LeakyReLU()),
    ("leaky_relu_0.2", nn.LeakyReLU(0.2)),
    ("elu", nn.ELU()),
    ("elu_0.5", nn.ELU(alpha=0.5)),
    ("gelu", nn.GELU(approximate="none")),
    ("silu", nn.SiLU()),
    ("softplus", nn.Softplus()),
    ("softplus_beta2", nn.Softplus(beta=2.0)),
]


def activation_cases(gen):
    cases = []
    for name, act in ACTIVATIONS:
        x = torch.cat([torch.tensor(SPECIAL), uniform(gen, (9,), -3, 3)]).reshape(2, 8)
        cases.append(run(name, nn.Sequential(act), x, gen, torch.float32))
    return cases


def prelu_cases(gen):
    shared = nn.Sequential(nn.PReLU())  # one slope, PyTorch's init 0.25
    per_channel = nn.Sequential(nn.PReLU(num_parameters=5))
    with torch.no_grad():
        per_channel[0].weight.copy_(torch.tensor([0.1, -0.3, 0.25, 0.05, 1.5]))
    return [run(name, model, away_from(uniform(gen, (4, 5), -3, 3), 0.1), gen, torch.float64)
            for name, model in [("prelu_shared", shared), ("prelu_per_channel", per_channel)]]


class Maxout(nn.Module):
    """gradus's Maxout(k) on flat features: the max over groups of k consecutive features."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x.view(x.shape[0], x.shape[1] // self.k, self.k).max(-1)[0]


def maxout_cases(gen):
    cases = []
    for name, k, features in [("maxout_k2", 2, 8), ("maxout_k3", 3, 9)]:
        x = uniform(gen, (3, features), -3, 3)
        # torch.max and gradus both pick the first of equal maxima; with no near-ties the
        # winner does not depend on that rule.
        top2 = x.view(3, features // k, k).topk(2, dim=-1)[0]
        assert (top2[..., 0] - top2[..., 1]).min() > 1e-3, name
        cases.append(run(name, nn.Sequential(Maxout(k)), x, gen, torch.float64))
    return cases


class Residual(nn.Sequential):
    """x + block(x): a Sequential, so its children are named "i.0", "i.1", ..."""

    def forward(self, x):
        return x + super().forward(x)


def assert_clear_of_relu_kinks(model, x, margin):
    """No ReLU input within margin of 0, so float32 and float64 take the same branch."""
    seen = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        model(x.to(next(model.parameters()).dtype))
    for h in hooks:
        h.remove()
    assert all(v.abs().min() > margin for v in seen), "input near a ReLU kink: change the seed"


def network_cases(gen):
    residual = nn.Sequential(nn.Linear(4, 6), nn.ReLU(),
                             Residual(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6)),
                             nn.Linear(6, 2))
    mlp = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 3))
    cases = []
    for name, model, x_shape in [("residual", residual, (3, 4)), ("mlp", mlp, (5, 6))]:
        x = uniform(gen, x_shape, -2, 2)
        assert_clear_of_relu_kinks(model, x, 1e-3)
        cases.append(run(name, model, x, gen, torch.float64))
    return cases


def main():
    out = sys.argv[1]
    torch.manual_seed(20240612)  # the layers' default initialisation (float32 values)
    gen = torch.Generator().manual_seed(20240612)  # inputs and upstream gradients
    cases = (linear_cases(gen) + activation_cases(gen) + prelu_cases(gen) + maxout_cases(gen)
             + network_cases(gen))
    path = os.path.join(out, "layers.json")
    with open(path, "w") as f:
        json.dump({"generator": "tests/reference/gen_layers.py", "torch": torch.__version__,
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
