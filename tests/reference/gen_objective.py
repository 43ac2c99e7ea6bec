"""Golden values for gradient clipping: torch.nn.utils.clip_grad_norm_ over the parameters
of a Linear(3, 4) (weight and bias), for a norm above and below max_norm.
Usage: /usr/bin/python3 gen_objective.py OUTPUT_DIR
"""
import json
import sys

import torch
from torch import nn


def tensor(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def case(name, scale, max_norm):
    torch.manual_seed(3)
    layer = nn.Linear(3, 4)
    grads = [torch.randn_like(p) * scale for p in layer.parameters()]
    for p, g in zip(layer.parameters(), grads):
        p.grad = g.clone()
    norm = torch.nn.utils.clip_grad_norm_(layer.parameters(), max_norm)
    flat_in = torch.cat([g.reshape(-1) for g in grads])
    flat_out = torch.cat([p.grad.reshape(-1) for p in layer.parameters()])
    return {"name": name, "max_norm": max_norm, "total_norm": float(norm),
            "grads": tensor(flat_in), "clipped": tensor(flat_out)}


def main(out):
    cases = [case("clip_above", 3.0, 1.0), case("clip_below", 0.05, 1.0)]
    with open(f"{out}/objective.json", "w") as f:
        json.dump({"cases": cases}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
