#!/bin/sh
# Trains examples/fashion_cnn.spec on Fashion-MNIST with augmentation (random crops of the
# 2-pixel padded image, horizontal flips) and prints its test accuracy.
#
#   examples/train_cnn.sh [RUN_DIR] [extra gradus train flags...]
set -eu
cd "$(dirname "$0")/.."
make -s build/release/gradus
out=${1:-runs/fashion-cnn}
[ $# -gt 0 ] && shift
exec build/release/gradus train --model @examples/fashion_cnn.spec --preprocess center-channel \
    --crop-padding 2 --hflip --optim adam --lr 0.002 --schedule cosine --epochs 20 --patience 0 \
    --batch-size 128 --out "$out" "$@"
