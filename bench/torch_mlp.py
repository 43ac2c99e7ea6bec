#!/usr/bin/python3
"""PyTorch side of bench/compare_mlp.sh: trains the same MLP as gradus on Fashion-MNIST
with the same batch size and optimiser, and prints one JSON line with the training-loop
throughput and the process's peak memory.

    /usr/bin/python3 bench/torch_mlp.py --threads 1 --batch-size 128 --epochs 2
"""
import argparse
import gzip
import json
import resource
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--val-size", type=int, default=5000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    x = read_idx(f"{DATA}/train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    y = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    # ToTensor's scaling; the same training split size as gradus's default.
    x = torch.from_numpy(x[args.val_size:].astype(np.float32) / 255.0)
    y = torch.from_numpy(y[args.val_size:])

    model = nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(),
                          nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(),
                          nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    seen, loop = 0, 0.0
    for epoch in range(args.epochs):
        perm = torch.randperm(n)
        start = time.perf_counter()
        for i in range(0, n - (1 if n % args.batch_size == 1 else 0), args.batch_size):
            idx = perm[i:i + args.batch_size]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            seen += len(idx)
        loop += time.perf_counter() - start
    print(json.dumps({
        "samples_per_sec": seen / loop,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final_loss": float(loss),
        "threads": args.threads,
    }))


if __name__ == "__main__":
    main()
