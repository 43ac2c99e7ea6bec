#!/usr/bin/env python3
"""PyTorch golden values for gradus's optimisers and learning-rate schedules.

Usage: /usr/bin/python3 gen_optim.py OUTDIR   (writes OUTDIR/optim.json; needs torch 1.13)

Optimiser cases ("optim_*"): ten float32 parameters take three steps of torch.optim in
float32, as a float32 model trains, each from a fixed gradient that does not depend on the
parameters, so the C test can write the same gradients into the model's flat buffer. A case
records its config (gd_optim_config's field names; absent fields take PyTorch's defaults),
the parameters after each step and the named state after the last step.

"defaults_*" cases hold each optimiser's default hyperparameters, read from its signature.

Schedule cases ("schedule_*"): the learning rate that torch.optim.lr_scheduler sets for
t = 0..12 scheduler steps, with a gd_schedule's settings (its field names).
"""
import inspect
import json
import os
import sys
import warnings

import torch
from torch.optim.optimizer import required

PARAMS = [0.5, -1.25, 2.0, -0.75, 0.125, 1.5, -2.5, 0.0, 3.0, -0.375]
# Element 5 never has a gradient (only weight decay moves it); the third gradient is small
# or zero where the first two were large, so that AMSGrad's maximum differs from v.
GRADS = [
    [0.3, -1.2, 0.05, 2.0, -0.4, 0.0, 0.9, -0.07, 1.5, -3.0],
    [0.1, -0.8, -0.2, 1.0, 0.6, 0.0, -1.1, 0.02, 1.4, -2.5],
    [-0.5, 0.0, 0.3, 0.001, 0.6, 0.0, 0.05, -0.3, 0.0, -0.25],
]

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}

# name, kind, config in gd_optim_config's names. lr is set high enough (0.05-0.1) that each
# update is a large fraction of the parameters, so a wrong update cannot hide inside rtol.
OPTIM_CASES = [
    ("optim_sgd_plain", "sgd", {"lr": 0.1}),
    ("optim_sgd_momentum_dampening", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.25}),
    ("optim_sgd_nesterov", "sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("optim_sgd_weight_decay", "sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    ("optim_adagrad_defaults", "adagrad", {"lr": 0.1}),
    ("optim_adagrad_lr_decay_weight_decay", "adagrad",
     {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1, "initial_accumulator_value": 0.25}),
    ("optim_rmsprop_plain", "rmsprop", {"lr": 0.05}),
    ("optim_rmsprop_momentum", "rmsprop", {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.1}),
    ("optim_rmsprop_centered", "rmsprop",
     {"lr": 0.02, "alpha": 0.9, "centered": True, "momentum": 0.5}),
    ("optim_adam_plain", "adam", {"lr": 0.1}),
    ("optim_adam_amsgrad", "adam", {"lr": 0.1, "beta2": 0.9, "amsgrad": True}),
    ("optim_adam_weight_decay", "adam", {"lr": 0.1, "weight_decay": 0.5}),
    ("optim_adamw_default_decay", "adamw", {"lr": 0.1}),
    ("optim_adamw_amsgrad", "adamw",
     {"lr": 0.05, "beta1": 0.8, "weight_decay": 0.5, "amsgrad": True}),
]

# torch.optim arguments that gd_optim_config has (betas splits into beta1, beta2).
CONFIG_FIELDS = ["lr", "weight_decay", "momentum", "dampening", "nesterov", "eps", "amsgrad",
                 "alpha", "centered", "lr_decay", "initial_accumulator_value"]

STEPS = 13


def f32(values):
    """Rounds to float32 and writes each number in full (repr of the float)."""
    return [float(x) for x in torch.tensor(values, dtype=torch.float32).tolist()]


def tensor(values):
    return {"shape": [len(values)], "data": values}


def torch_kwargs(cls, config):
    kwargs = {k: v for k, v in config.items() if k not in ("beta1", "beta2")}
    if "beta1" in config or "beta2" in config:
        b1, b2 = inspect.signature(cls).parameters["betas"].default
        kwargs["betas"] = (config.get("beta1", b1), config.get("beta2", b2))
    return kwargs


def optim_case(name, kind, config):
    cls = OPTIMIZERS[kind]
    p = torch.tensor(f32(PARAMS), dtype=torch.float32, requires_grad=True)
    opt = cls([p], foreach=False, **torch_kwargs(cls, config))
    case = {"name": name, "kind": kind, "config": config, "params": tensor(f32(PARAMS)),
            "grads": {"shape": [len(GRADS), len(PARAMS)], "data": sum(map(f32, GRADS), [])}}
    for k, grad in enumerate(GRADS):
        p.grad = torch.tensor(f32(grad), dtype=torch.float32)
        opt.step()
        case["step%d" % (k + 1)] = tensor(f32(p.detach().tolist()))
    case["state"] = {key: tensor(f32(value.tolist()))
                     for key, value in opt.state[p].items() if key != "step" and value is not None}
    return case


def defaults_case(kind):
    """The defaults in each signature; SGD's lr is required there, so it has none."""
    config = {}
    for key, param in inspect.signature(OPTIMIZERS[kind]).parameters.items():
        if key == "betas":
            config["beta1"], config["beta2"] = param.default
        elif key in CONFIG_FIELDS and param.default is not required:
            config[key] = param.default
    return {"name": "defaults_" + kind, "kind": kind, "config": config}


# name, gd_schedule settings (kind: constant, step, exponential, cosine, linear).
SCHEDULE_CASES = [
    ("schedule_constant", {"kind": "constant", "base_lr": 0.1}),
    ("schedule_step", {"kind": "step", "base_lr": 0.1, "step_size": 3, "gamma": 0.5}),
    ("schedule_exponential", {"kind": "exponential", "base_lr": 0.1, "gamma": 0.8}),
    # t runs past t_max, where PyTorch's cosine climbs back.
    ("schedule_cosine", {"kind": "cosine", "base_lr": 0.1, "t_max": 8, "eta_min": 0.001}),
    # LinearLR with PyTorch's defaults: 1/3, 1, 5.
    ("schedule_linear_defaults", {"kind": "linear", "base_lr": 0.1, "start_factor": 1.0 / 3,
                                  "end_factor": 1.0, "total_iters": 5}),
    ("schedule_linear_decay", {"kind": "linear", "base_lr": 0.1, "start_factor": 1.0,
                               "end_factor": 0.1, "total_iters": 4}),
    ("schedule_warmup_cosine", {"kind": "cosine", "base_lr": 0.1, "t_max": 6, "eta_min": 0.0,
                                "warmup_steps": 3, "warmup_start_factor": 0.1}),
    ("schedule_warmup_step", {"kind": "step", "base_lr": 0.1, "step_size": 2, "gamma": 0.5,
                              "warmup_steps": 4, "warmup_start_factor": 0.25}),
    ("schedule_warmup_linear", {"kind": "linear", "base_lr": 0.1, "start_factor": 0.5,
                                "end_factor": 0.2, "total_iters": 3, "warmup_steps": 2,
                                "warmup_start_factor": 0.5}),
]


def main_scheduler(opt, s):
    S = torch.optim.lr_scheduler
    kind = s["kind"]
    if kind == "constant":
        return S.LambdaLR(opt, lambda t: 1.0)
    if kind == "step":
        return S.StepLR(opt, step_size=s["step_size"], gamma=s["gamma"])
    if kind == "exponential":
        return S.ExponentialLR(opt, gamma=s["gamma"])
    if kind == "cosine":
        return S.CosineAnnealingLR(opt, T_max=s["t_max"], eta_min=s["eta_min"])
    return S.LinearLR(opt, start_factor=s["start_factor"], end_factor=s["end_factor"],
                      total_iters=s["total_iters"])


def schedule_case(name, s):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=s["base_lr"])
    warmup = s.get("warmup_steps", 0)
    if warmup > 0:
        S = torch.optim.lr_scheduler
        first = S.LinearLR(opt, start_factor=s["warmup_start_factor"], end_factor=1.0,
                           total_iters=warmup)
        sched = S.SequentialLR(opt, [first, main_scheduler(opt, s)], milestones=[warmup])
    else:
        sched = main_scheduler(opt, s)
    lrs = []
    for _ in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"name": name, "schedule": s, "lr": tensor([float(x) for x in lrs])}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_optim.py OUTDIR")
    warnings.simplefilter("ignore")  # the schedulers' step(0) deprecation notice
    cases = [optim_case(*c) for c in OPTIM_CASES]
    cases += [defaults_case(kind) for kind in OPTIMIZERS]
    cases += [schedule_case(*c) for c in SCHEDULE_CASES]
    path = os.path.join(sys.argv[1], "optim.json")
    with open(path, "w") as f:
        json.dump({"generator": "gen_optim.py", "torch": torch.__version__, "cases": cases}, f,
                  indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
