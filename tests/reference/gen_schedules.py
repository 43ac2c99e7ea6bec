#!/usr/bin/env python3
"""PyTorch golden values for gradus's OneCycleLR and ReduceLROnPlateau.

Usage: /usr/bin/python3 gen_schedules.py OUTDIR   (writes OUTDIR/schedules.json; torch 1.13)

One-cycle cases ("onecycle_*"): the learning rate and the momentum (SGD's "momentum",
Adam's betas[0]) that torch.optim.lr_scheduler.OneCycleLR sets for t = 0..total_steps - 1
scheduler steps, with its defaults unless the case says otherwise (its settings use
gd_schedule's field names). OneCycleLR replaces the optimiser's momentum by max_momentum
at construction, so the optimiser's own momentum does not matter.

Plateau cases ("plateau_*"): ReduceLROnPlateau stepped once per epoch with the "metrics"
given, recording after each step the learning rate, the best metric and num_bad_epochs
(the settings use gd_plateau's field names; absent ones take PyTorch's defaults). The
metric sequences stall, improve by less than the relative threshold, and improve again,
so that reductions, cooldown, min_lr and eps all act.
"""
import json
import math
import os
import sys
import warnings

import torch

S = torch.optim.lr_scheduler

ONECYCLE_CASES = [
    # name, optimiser, settings; total_steps 20 puts the peak exactly on step 5.
    ("onecycle_sgd_defaults", "sgd", {"base_lr": 0.1, "total_steps": 20}),
    ("onecycle_adam_defaults", "adam", {"base_lr": 0.01, "total_steps": 13}),
    ("onecycle_sgd_short", "sgd", {"base_lr": 0.5, "total_steps": 3}),
    ("onecycle_sgd_options", "sgd", {"base_lr": 0.2, "total_steps": 16, "pct_start": 0.25,
                                     "div_factor": 10.0, "final_div_factor": 100.0,
                                     "base_momentum": 0.8, "max_momentum": 0.9}),
]

ONECYCLE_DEFAULTS = {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4,
                     "base_momentum": 0.85, "max_momentum": 0.95}

PLATEAU_CASES = [
    # An accuracy that stalls: factor 0.5, patience 2; 0.80004 is within the threshold.
    ("plateau_max", {"maximize": True, "factor": 0.5, "patience": 2, "lr": 0.1},
     [0.5, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.8, 0.80004, 0.8, 0.8, 0.81, 0.81, 0.81, 0.81,
      0.5, 0.5]),
    # A loss with PyTorch's defaults: eleven bad epochs before the first reduction.
    ("plateau_min_defaults", {"maximize": False, "lr": 0.01},
     [2.0, 1.5, 1.4, 1.39995] + [1.45] * 12 + [1.0] + [1.2] * 12),
    # Cooldown 2: the two epochs after a reduction count no bad epochs.
    ("plateau_min_cooldown", {"maximize": False, "factor": 0.1, "patience": 1,
                              "cooldown": 2, "lr": 1.0},
     [1.0] + [2.0] * 12),
    # min_lr stops the rate at 0.03; then the reductions change nothing.
    ("plateau_min_lr", {"maximize": False, "factor": 0.5, "patience": 0, "min_lr": 0.03,
                        "lr": 0.1}, [1.0] + [1.0] * 6),
    # eps: from 1e-7 by 0.1 is a change of 9e-8 (done), from 1e-8 of 9e-9 (not done).
    ("plateau_eps", {"maximize": True, "factor": 0.1, "patience": 0, "lr": 1e-6},
     [0.5] + [0.4] * 5),
    # A NaN metric is never better.
    ("plateau_nan", {"maximize": False, "factor": 0.5, "patience": 1, "lr": 0.1},
     [1.0, float("nan"), float("nan"), 0.5, float("nan"), float("nan")]),
]


def onecycle_case(name, kind, s):
    settings = dict(ONECYCLE_DEFAULTS, **s)
    p = torch.zeros(1, requires_grad=True)
    if kind == "sgd":
        opt = torch.optim.SGD([p], lr=settings["base_lr"], momentum=0.5)
    else:
        opt = torch.optim.Adam([p], lr=settings["base_lr"])
    sched = S.OneCycleLR(opt, max_lr=settings["base_lr"], total_steps=settings["total_steps"],
                         pct_start=settings["pct_start"], div_factor=settings["div_factor"],
                         final_div_factor=settings["final_div_factor"],
                         base_momentum=settings["base_momentum"],
                         max_momentum=settings["max_momentum"])
    lrs, momenta = [], []
    for t in range(settings["total_steps"]):
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["momentum"] if kind == "sgd" else group["betas"][0])
        opt.step()
        if t + 1 < settings["total_steps"]:  # a step past total_steps raises
            sched.step()
    return {"name": name, "optimizer": kind, "schedule": settings, "lr": lrs,
            "momentum": momenta}


def number(x):
    """JSON has no NaN or infinities: null stands for them (the test knows which)."""
    return x if math.isfinite(x) else None


def plateau_case(name, s, metrics):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=s["lr"])
    kwargs = {k: s[k] for k in ("factor", "patience", "cooldown", "min_lr") if k in s}
    sched = S.ReduceLROnPlateau(opt, mode="max" if s["maximize"] else "min", **kwargs)
    lrs, bests, bad = [], [], []
    for m in metrics:
        opt.step()
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
        bests.append(number(sched.best))
        bad.append(sched.num_bad_epochs)
    return {"name": name, "plateau": s, "metrics": [number(m) for m in metrics], "lr": lrs,
            "best": bests, "num_bad_epochs": bad}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_schedules.py OUTDIR")
    warnings.simplefilter("ignore")
    cases = [onecycle_case(*c) for c in ONECYCLE_CASES]
    cases += [plateau_case(*c) for c in PLATEAU_CASES]
    path = os.path.join(sys.argv[1], "schedules.json")
    with open(path, "w") as f:
        json.dump({"generator": "gen_schedules.py", "torch": torch.__version__, "cases": cases},
                  f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
