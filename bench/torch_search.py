"""The PyTorch + Optuna side of bench/compare_search.sh: the same search as `gradus search`
on the same data (Fashion-MNIST, the first --limit training images, --val-size of them for
validation), the same model (784-128-10, ReLU), optimiser (Adam), batch size, epochs and
space (lr and weight decay, log-uniform), with Optuna's RandomSampler or TPESampler. A
trial's score is its best validation accuracy over its epochs, as gradus ranks trials; a
loss that is NaN or above 3x the first batch's ends the trial (gradus's rule). Prints one
JSON line: the best, its parameters, the epochs trained and the wall time.
"""
import argparse
import json
import math
import time

import numpy as np
import optuna
import torch
from torch import nn

from torch_common import DATA, read_idx


def data(limit, val_size):
    x = read_idx(f"{DATA}/train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    y = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    x, y = x[:limit], y[:limit]
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    y = torch.from_numpy(y)
    return x[val_size:], y[val_size:], x[:val_size], y[:val_size]


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def objective(args, tx, ty, vx, vy, epochs_done):
    def run(trial):
        lr = trial.suggest_float("lr", args.lr_lo, args.lr_hi, log=True)
        wd = trial.suggest_float("weight_decay", args.wd_lo, args.wd_hi, log=True)
        torch.manual_seed(args.seed * 1000 + trial.number)
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
        loss_fn = nn.CrossEntropyLoss()
        n, best, first = tx.shape[0], 0.0, None
        for epoch in range(args.epochs):
            model.train()
            perm = torch.randperm(n)
            for i in range(0, n, args.batch_size):
                idx = perm[i:i + args.batch_size]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(tx[idx]), ty[idx])
                first = float(loss) if first is None else first
                if not math.isfinite(float(loss)) or float(loss) > 3 * first:
                    return best  # diverged: what it reached
                loss.backward()
                opt.step()
            epochs_done[0] += 1
            best = max(best, accuracy(model, vx, vy))
        return best
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=20000)
    ap.add_argument("--val-size", type=int, default=5000)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sampler", choices=["random", "tpe"], default="random")
    ap.add_argument("--lr-lo", type=float, default=1e-4)
    ap.add_argument("--lr-hi", type=float, default=1e-1)
    ap.add_argument("--wd-lo", type=float, default=1e-6)
    ap.add_argument("--wd-hi", type=float, default=1e-2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    tx, ty, vx, vy = data(args.limit, args.val_size)
    sampler = (optuna.samplers.RandomSampler(seed=args.seed) if args.sampler == "random"
               else optuna.samplers.TPESampler(seed=args.seed))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    epochs_done = [0]
    study.optimize(objective(args, tx, ty, vx, vy, epochs_done), n_trials=args.trials)
    print(json.dumps({"sampler": args.sampler, "best_val_accuracy": study.best_value,
                      "best_params": study.best_params, "epochs": epochs_done[0],
                      "wall_seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
