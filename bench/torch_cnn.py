#!/usr/bin/python3
"""PyTorch side of bench/compare_cnn.sh: trains the same CNN as gradus on Fashion-MNIST
(1x28x28 images) with the same batch size and optimiser, and prints one JSON line with the
training-loop throughput and the process's peak memory.

    /usr/bin/python3 bench/torch_cnn.py --threads 1 --batch-size 128 --epochs 1 [--limit N]
"""
from torch import nn

from torch_common import parse_args, train_and_report, training_set


def cnn():
    """gradus's 'conv(32,3,pad=1) bn relu maxpool(2) conv(64,3,pad=1) bn relu maxpool(2)
    flatten linear(128) bn relu dropout(0.3) linear(10)'."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Dropout(0.3), nn.Linear(128, 10))


def main():
    args = parse_args(epochs=1)
    x, y = training_set(args, (1, 28, 28))
    train_and_report(cnn(), x, y, args)


if __name__ == "__main__":
    main()
