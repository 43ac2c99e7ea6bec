#!/usr/bin/env python3
"""Golden values for gradus's initialisers (tests/test_init.c): torch.nn.init's
calculate_gain for every nonlinearity and _calculate_fan_in_and_fan_out for a few shapes,
plus exact values of erfinv, which trunc_normal_ is built on.

Usage: /usr/bin/python3 gen_init.py OUTDIR   (writes OUTDIR/init.json)

The random initialisers themselves have no goldens: gradus's generator is not PyTorch's,
so tests/test_init.c checks their distributions statistically instead.

erfinv's references come from mpmath at 200 bits, evaluated at the exact binary value of
each double y, not from torch.erfinv: PyTorch's float64 erfinv is itself an approximation
good to a few ulps, and the C test measures gradus's to about one.
"""
import json
import math
import os
import sys

import mpmath
import torch
from torch.nn import init

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu"]

# Linear (out, in), Conv1d (out, in, k), Conv2d (out, in, kh, kw), and edges: one-wide
# sides and a zero-sized side.
FAN_SHAPES = [[400, 250], [3, 5], [1, 1], [8, 4, 5], [16, 8, 3, 3], [6, 3, 1, 2],
              [5, 0], [0, 2, 3]]

# Both branches of the residual (y < 1/2 and above), Giles's two polynomials, the far tail
# up to the last double below 1, tiny arguments and the sign.
ERFINV_YS = [0.0, 1e-300, 1e-10, 0.1, 0.3, 0.4999999999999999, 0.5, 0.7, 0.9, 0.99,
             0.999, 1 - 1e-5, 1 - 1e-7, 1 - 1e-8, 1 - 1e-10, 1 - 1e-12, 1 - 1e-14,
             1 - 2.0**-52, 1 - 2.0**-53, -0.25, -0.95, -(1 - 1e-13)]


def gain_cases():
    cases = [{"name": "gain_" + nl, "nonlinearity": nl, "param": None,
              "gain": float(init.calculate_gain(nl))} for nl in NONLINEARITIES]
    for label, slope in [("0.2", 0.2), ("sqrt5", math.sqrt(5))]:
        cases.append({"name": "gain_leaky_relu_" + label, "nonlinearity": "leaky_relu",
                      "param": slope, "gain": float(init.calculate_gain("leaky_relu", slope))})
    return cases


def fan_cases():
    cases = []
    for shape in FAN_SHAPES:
        fan_in, fan_out = init._calculate_fan_in_and_fan_out(torch.empty(shape))
        cases.append({"name": "fan_" + "x".join(map(str, shape)), "shape": shape,
                      "fan_in": fan_in, "fan_out": fan_out})
    return cases


def erfinv_case():
    mpmath.mp.prec = 200
    return {"name": "erfinv", "y": [float(y) for y in ERFINV_YS],
            "x": [float(mpmath.erfinv(mpmath.mpf(y))) for y in ERFINV_YS]}


def main():
    out = os.path.join(sys.argv[1], "init.json")
    cases = gain_cases() + fan_cases() + [erfinv_case()]
    with open(out, "w") as f:
        json.dump({"cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
