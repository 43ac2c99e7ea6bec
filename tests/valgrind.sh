#!/bin/sh
# Memory check under valgrind: the examples, and the gradus command training, evaluating
# and predicting on a small CSV data set made here (the real set would take minutes under
# valgrind). Fails on any error or definite/indirect leak.
#
#   tests/valgrind.sh build/release
set -eu
BUILD=$(realpath "${1:-build/release}")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# gradus restarts itself to set GOMP_SPINCOUNT unless it is set (cli/main.c); under
# valgrind that restart would leave the tool, so it is set here.
export GOMP_SPINCOUNT=10000
VG="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect"

# 300 rows of 8 features; the label is the sign pattern of the first two features.
awk 'BEGIN { srand(5); for (i = 0; i < 300; i++) { a = rand() - 0.5; b = rand() - 0.5;
     printf "%d", (a > 0) + 2 * (b > 0); printf ",%.4f,%.4f", a, b;
     for (j = 0; j < 6; j++) printf ",%.4f", rand(); printf "\n" } }' >"$WORK/data.csv"
cut -d, -f2- "$WORK/data.csv" >"$WORK/inputs.csv"

run() { echo "valgrind: $*"; $VG "$@" >/dev/null; }
run "$BUILD/examples/lecture"
run "$BUILD/examples/spiral"
run "$BUILD/gradus" train --data "csv:$WORK/data.csv,$WORK/data.csv" --model 'linear(16) bn relu dropout(0.1) linear(4)' \
    --val-size 50 --epochs 2 --batch-size 32 --preprocess pca:4 --threads 2 --out "$WORK/run"
run "$BUILD/gradus" train --resume "$WORK/run" --epochs 3
run "$BUILD/gradus" eval --model "$WORK/run/model.safetensors" --data "csv:$WORK/data.csv,$WORK/data.csv"
run "$BUILD/gradus" predict --model "$WORK/run/model.safetensors" --input "$WORK/inputs.csv" --probs
run "$BUILD/gradus" train --data "csv:$WORK/data.csv,$WORK/data.csv" --model 'linear(16) relu linear(4)' \
    --val-size 50 --epochs 2 --batch-size 32 --monitor=3 --threads 2 --out "$WORK/mon"
run "$BUILD/gradus" check --data "csv:$WORK/data.csv,$WORK/data.csv" --model 'linear(16) relu linear(4)' --lr 0.02 \
    --batch-size 32 --threads 2 --out "$WORK/mon"
run "$BUILD/gradus" report "$WORK/mon"
echo "valgrind: no errors, no leaks"
