#!/usr/bin/env python3
"""Golden values for gradus's convolution, pooling and flatten layers (tests/test_conv.c).

Usage: /usr/bin/python3 gen_conv.py OUTDIR   (writes OUTDIR/conv.json)

Each case is one nn.Sequential run forward on x and backward from a random upstream
gradient dy, in training mode. It holds the state_dict (names in order, and values), x,
the output y, dy, the input gradient dx, the parameter gradients, and for the network
the state_dict after the step (BatchNorm's running statistics). Inputs and parameters are
float32 values; PyTorch computes in float64, so the goldens carry no rounding of their
own and the C tolerance covers only gradus's float32 arithmetic.
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
    return torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo


def run(name, model, x, gen):
    """One training forward and backward of model (float64) on x (float32 values)."""
    model = model.double().train()
    model.zero_grad()
    xd = x.double().requires_grad_()
    y = model(xd)
    dy = torch.randn(y.shape, generator=gen, dtype=torch.float32)
    y.backward(dy.double())
    return {
        "name": name,
        "x": tensor(x),
        "y": tensor(y),
        "dy": tensor(dy),
        "dx": tensor(xd.grad),
        "grads": {k: tensor(p.grad) for k, p in model.named_parameters()},
    }


def with_params(model, gen):
    """model with every parameter replaced by float32 values in [-0.5, 0.5) (about the conv
    layers' default bound for small fans), so that no case depends on an initialiser."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(uniform(gen, p.shape, -0.5, 0.5))
    return model


def state(model):
    s = model.state_dict()
    return list(s.keys()), {k: tensor(v) for k, v in s.items() if v.is_floating_point()}


def layer_case(name, layer, shape, gen, lo=-2.0, hi=2.0, x=None):
    model = with_params(nn.Sequential(layer), gen)
    names, params = state(model)
    x = uniform(gen, shape, lo, hi) if x is None else x
    case = run(name, model, x, gen)
    case.update(names=names, params=params)
    return case


def conv_cases(gen):
    # (name, Conv2d, input N x C x H x W); heights and widths differ, so that a swap shows.
    specs = [
        ("conv_s1_p1", nn.Conv2d(3, 4, 3, stride=1, padding=1), (2, 3, 6, 5)),
        ("conv_s2_p0", nn.Conv2d(2, 3, (3, 2), stride=2, padding=0), (2, 2, 7, 8)),
        ("conv_dilation2", nn.Conv2d(2, 3, 3, padding=2, dilation=2), (2, 2, 6, 5)),
        ("conv_groups2", nn.Conv2d(4, 6, 3, padding=1, groups=2), (2, 4, 5, 4)),
        ("conv_1x1", nn.Conv2d(3, 5, 1), (2, 3, 4, 3)),
        ("conv_1x1_groups3_nobias", nn.Conv2d(6, 3, 1, groups=3, bias=False), (2, 6, 3, 4)),
        # Everything at once: the strided copy meets padding, dilation and groups.
        ("conv_s3_p2_d2_g3_nobias",
         nn.Conv2d(3, 6, (3, 2), stride=3, padding=2, dilation=2, groups=3, bias=False),
         (2, 3, 9, 7)),
    ]
    return [layer_case(name, layer, shape, gen) for name, layer, shape in specs]


def narrowing_conv_cases(gen):
    """Stride 1 with an output narrower than the input: the row-by-row copy, not the
    contiguous run a same-width output takes. Drawn after the other cases, so that adding
    them left those unchanged."""
    specs = [
        ("conv_s1_valid", nn.Conv2d(2, 3, 3), (2, 2, 7, 6)),
        ("conv_s1_p1_wide_kernel", nn.Conv2d(2, 3, (3, 5), padding=1), (2, 2, 5, 7)),
    ]
    return [layer_case(name, layer, shape, gen) for name, layer, shape in specs]


def pool_cases(gen):
    # Integers 0..3 tie often: the gradient must go to each window's first maximum.
    ties = torch.randint(0, 4, (2, 2, 6, 6), generator=gen).to(torch.float32)
    return [
        layer_case("maxpool2", nn.MaxPool2d(2), (2, 3, 6, 5), gen),
        # All inputs negative: padding that counted as 0 instead of -inf would win.
        layer_case("maxpool3_s2_p1", nn.MaxPool2d(3, stride=2, padding=1), (2, 2, 7, 6), gen,
                   lo=-3.0, hi=-0.5),
        layer_case("maxpool2_ties", nn.MaxPool2d(2), None, gen, x=ties),
        layer_case("avgpool2", nn.AvgPool2d(2), (2, 3, 6, 5), gen),
        layer_case("avgpool3_s2_p1", nn.AvgPool2d(3, stride=2, padding=1), (2, 2, 7, 6), gen),
        layer_case("global_avgpool", nn.AdaptiveAvgPool2d(1), (2, 3, 4, 5), gen),
    ]


def cnn_case(gen):
    """conv-bn-relu-maxpool-flatten-linear, one training step; BatchNorm's weight and bias
    get random values too, so that a mix-up of parameters shows."""
    model = with_params(nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 3 * 3, 5)), gen)
    names, params = state(model)
    case = run("cnn", model, uniform(gen, (3, 2, 6, 6), -2, 2), gen)
    after_names, after = state(model)
    assert after_names == names
    case.update(names=names, params=params, params_after=after,
                num_batches_tracked=int(model[1].num_batches_tracked))
    return case


def main():
    out = sys.argv[1]
    gen = torch.Generator().manual_seed(20240612)
    cases = conv_cases(gen) + pool_cases(gen) + [cnn_case(gen)] + narrowing_conv_cases(gen)
    path = os.path.join(out, "conv.json")
    with open(path, "w") as f:
        json.dump({"generator": "tests/reference/gen_conv.py", "torch": torch.__version__,
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
