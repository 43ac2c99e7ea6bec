#!/usr/bin/python3
"""PyTorch side of bench/compare_inference.sh: the MLP of bench/torch_mlp.py or the CNN of
bench/torch_cnn.py in model.eval() under torch.no_grad(), forward passes on a batch of
N(0,1) inputs, repeated for at least 0.2 s a round after a warm-up; prints one JSON line
(samples per second, the median of 5 rounds), as bench/infer_step does for gradus.

    /usr/bin/python3 bench/torch_infer.py mlp|cnn BATCH THREADS
"""
import json
import statistics
import sys
import time

import torch
from torch import nn

from torch_cnn import cnn


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(),
                         nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(),
                         nn.Linear(256, 10))


def main():
    kind, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = (cnn() if kind == "cnn" else mlp()).eval()
    shape = (batch, 1, 28, 28) if kind == "cnn" else (batch, 784)
    x = torch.randn(*shape)
    rates = []
    with torch.no_grad():
        for _ in range(3):
            model(x)
        for _ in range(5):
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < 0.2 or calls < 3:
                model(x)
                calls += 1
            rates.append(calls * batch / (time.perf_counter() - start))
    print(json.dumps({"tool": "pytorch", "model": kind, "batch": batch, "threads": threads,
                      "samples_per_sec": round(statistics.median(rates), 1)}))


if __name__ == "__main__":
    main()
