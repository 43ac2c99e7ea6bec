#!/usr/bin/python3
"""PyTorch side of bench/compare_cnn.sh: trains the same CNN as gradus on Fashion-MNIST
(1x28x28 images) with the same batch size and optimiser, and prints one JSON line with the
training-loop throughput and the process's peak memory.

    /usr/bin/python3 bench/torch_cnn.py --threads 1 --batch-size 128 --epochs 1 [--limit N]
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


def cnn():
    """gradus's 'conv(32,3,pad=1) bn relu maxpool(2) conv(64,3,pad=1) bn relu maxpool(2)
    flatten linear(128) bn relu dropout(0.3) linear(10)'."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Dropout(0.3), nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--val-size", type=int, default=5000)
    ap.add_argument("--limit", type=int, default=0,
                    help="use only the first N examples, before the validation split (as gradus)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    x = read_idx(f"{DATA}/train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    y = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    # ToTensor's scaling; the same training split size as gradus's (which samples it at random).
    x, y = x[args.val_size:], y[args.val_size:]
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    y = torch.from_numpy(y)

    model = cnn()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    seen, loop = 0, 0.0
    for epoch in range(args.epochs):
        perm = torch.randperm(n)
        start = time.perf_counter()
        # A last batch of one sample would fail BatchNorm in training: gradus drops it too.
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
        "samples": seen,
    }))


if __name__ == "__main__":
    main()
