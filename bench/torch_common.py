"""What bench/torch_mlp.py and bench/torch_cnn.py share: the Fashion-MNIST training
images as gradus reads them, and a timed training loop with gradus's batch rule.
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


def parse_args(epochs):
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--val-size", type=int, default=5000)
    ap.add_argument("--limit", type=int, default=0, help="the first N examples only (0: all)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    return args


def training_set(args, shape):
    """The training images scaled to [0, 1] (ToTensor) with samples of shape, less the
    validation examples (the same count as gradus splits off), and their labels."""
    x = read_idx(f"{DATA}/train-images-idx3-ubyte.gz", 16).reshape(-1, *shape)
    y = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    x, y = x[args.val_size:], y[args.val_size:]
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y)


def train_and_report(model, x, y, args):
    """SGD (lr 0.01, momentum 0.9) over shuffled mini-batches; prints one JSON line with
    the training loop's throughput and the process's peak memory."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    seen, loop = 0, 0.0
    for _ in range(args.epochs):
        perm = torch.randperm(n)
        start = time.perf_counter()
        # A last batch of one sample would fail BatchNorm in training: gradus drops it too.
        for i in range(0, n - (1 if n % args.batch_size == 1 else 0), args.batch_size):
            idx = perm[i:i + args.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
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
