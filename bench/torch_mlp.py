#!/usr/bin/python3
"""PyTorch side of bench/compare_mlp.sh: trains the same MLP as gradus on Fashion-MNIST
with the same batch size and optimiser, and prints one JSON line with the training-loop
throughput and the process's peak memory.

    /usr/bin/python3 bench/torch_mlp.py --threads 1 --batch-size 128 --epochs 2
"""
from torch import nn

from torch_common import parse_args, train_and_report, training_set


def main():
    args = parse_args(epochs=2)
    x, y = training_set(args, (784,))
    model = nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(),
                          nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(),
                          nn.Linear(256, 10))
    train_and_report(model, x, y, args)


if __name__ == "__main__":
    main()
