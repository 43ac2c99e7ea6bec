#!/usr/bin/env python3
"""Golden values for gradus's residual blocks with projections (tests/test_residual.c).

Usage: /usr/bin/python3 gen_residual.py OUTDIR   (writes OUTDIR/residual.json)

A block that changes the shape gets ResNet's "option B" shortcut: y = block(x) + proj(x),
proj a bias-free 1x1 Conv2d with the block's stride on images, a bias-free Linear on flat
samples; a block that keeps the shape adds x itself. Each case is one nn.Sequential run
forward on x and backward from a random upstream gradient dy, in training mode. It holds
the state_dict (names in order, and values), x, the output y, dy, the input gradient dx and
the parameter gradients. Inputs and parameters are float32 values; PyTorch computes in
float64, so the goldens carry no rounding of their own.
"""
import json
import os
import sys

import torch
from torch import nn


class Residual(nn.Sequential):
    """gradus's residual: the block's layers are children "0", "1", ...; a projection, when
    given, is the child "proj" (so its state_dict keys follow the block's)."""

    def __init__(self, *layers, proj=None):
        super().__init__(*layers)
        self.block_size = len(layers)
        if proj is not None:
            self.proj = proj

    def forward(self, x):
        # nn.Sequential's own iteration would run proj too: only the numbered children chain.
        x_id = self.proj(x) if hasattr(self, "proj") else x
        for i in range(self.block_size):
            x = self[i](x)
        return x + x_id


def tensor(t):
    t = t.detach().to(torch.float32)
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def uniform(gen, shape, lo, hi):
    return torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo


def with_params(model, gen):
    """Every parameter replaced by float32 values in [-0.5, 0.5), so that no case depends
    on an initialiser (BatchNorm's weight and bias too, so that a mix-up shows)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(uniform(gen, p.shape, -0.5, 0.5))
    return model


def assert_clear_of_relu_kinks(model, x, margin):
    """No ReLU input within margin of 0, so that gradus's float32 takes PyTorch's branch."""
    seen = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        model(x.double())
    for h in hooks:
        h.remove()
    model.zero_grad()
    assert all(v.abs().min() > margin for v in seen), "input near a ReLU kink: change the seed"


def case(name, model, x, gen):
    """One training forward and backward of model (float64) on x (float32 values)."""
    model = with_params(model, gen).double().train()
    state = model.state_dict()
    names = list(state.keys())
    params = {k: tensor(v) for k, v in state.items() if v.is_floating_point()}
    # The kink check's forward moves BatchNorm's running statistics, not the output.
    assert_clear_of_relu_kinks(model, x, 1e-3)
    xd = x.double().requires_grad_()
    y = model(xd)
    dy = torch.randn(y.shape, generator=gen, dtype=torch.float32)
    y.backward(dy.double())
    return {
        "name": name,
        "names": names,
        "params": params,
        "x": tensor(x),
        "y": tensor(y),
        "dy": tensor(dy),
        "dx": tensor(xd.grad),
        "grads": {k: tensor(p.grad) for k, p in model.named_parameters()},
    }


def main():
    out = sys.argv[1]
    gen = torch.Generator().manual_seed(20240613)
    conv = nn.Sequential(
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
        # 4 x 6 x 6 -> 8 x 3 x 3; no bias before batch norm (which would cancel its gradient).
        Residual(nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8),
                 nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                 proj=nn.Conv2d(4, 8, 1, stride=2, bias=False)))
    flat = nn.Sequential(Residual(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5),
                                  proj=nn.Linear(4, 5, bias=False)))
    identity = nn.Sequential(Residual(nn.Conv2d(4, 4, 3, padding=1), nn.Tanh()))
    cases = [
        case("conv_projection", conv, uniform(gen, (3, 4, 6, 6), -2, 2), gen),
        case("linear_projection", flat, uniform(gen, (3, 4), -2, 2), gen),
        case("identity", identity, uniform(gen, (2, 4, 5, 5), -2, 2), gen),
    ]
    path = os.path.join(out, "residual.json")
    with open(path, "w") as f:
        json.dump({"generator": "tests/reference/gen_residual.py", "torch": torch.__version__,
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
