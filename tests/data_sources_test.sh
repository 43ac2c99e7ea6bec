#!/bin/sh
# The data sources and starting points of issue 9 item 19, through the gradus command:
# --data cifar10:DIR on a small fake CIFAR-10 folder made here, --csv-shape on a CSV cut
# from the real Fashion-MNIST, and --init-from for fine-tuning, with the exit code of each
# refusal. Prints "N passed, N failed"; exits non-zero on any failure.
#
#   tests/data_sources_test.sh path/to/gradus
set -u
GRADUS=$(realpath "$1")
DATA=/usr/share/datasets/fashion-mnist
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"

# ---------------------------------------------------------------- cifar10:DIR
# A fake CIFAR-10 folder: the six batch files with 8 records each (label, then 3072
# pixel bytes), the labels 0 to 9 in turn and pixels that depend on the label.
make_cifar() { # folder
    mkdir -p "$1"
    python3 - "$1" <<'PY'
import sys
def batch(name, first):
    with open(sys.argv[1] + '/' + name, 'wb') as f:
        for i in range(8):
            label = (first + i) % 10
            f.write(bytes([label]) + bytes((label * 25 + j) % 256 for j in range(3072)))
for k in range(1, 6):
    batch('data_batch_%d.bin' % k, 8 * (k - 1))
batch('test_batch.bin', 3)
PY
}
CIFAR_MODEL="conv(4,3) relu gap flatten linear(10)"
CIFAR_FAST="--val-size 8 --epochs 1 --batch-size 8 --threads 2 --model"
make_cifar "$WORK/cifar"
expect "train --data cifar10:DIR trains a conv net on 3x32x32 images" 0 \
    "$GRADUS" train --data "cifar10:$WORK/cifar" $CIFAR_FAST "$CIFAR_MODEL" --out "$WORK/c1"
expect "eval --data cifar10:DIR reads the test batch" 0 \
    "$GRADUS" eval --model "$WORK/c1/model.safetensors" --data "cifar10:$WORK/cifar"
contains "eval counts the 8 test images" "$WORK/out" "on 8 samples"
mkdir -p "$WORK/archive"
make_cifar "$WORK/archive/cifar-10-batches-bin"
expect "cifar10:DIR finds DIR/cifar-10-batches-bin, as the archive unpacks" 0 \
    "$GRADUS" train --data "cifar10:$WORK/archive" $CIFAR_FAST "$CIFAR_MODEL" --out "$WORK/c2"
# The checks fail on 40 images of noise (exit 5); what matters is that they read them.
expect "check --data cifar10:DIR runs the checks" 5 "$GRADUS" check --data "cifar10:$WORK/cifar" \
    --model "$CIFAR_MODEL" --threads 2 --batch-size 8
contains "check reads the 40 training images" "$WORK/out" "cifar10:$WORK/cifar, 40 training examples"
rm "$WORK/cifar/data_batch_4.bin"
expect "a missing batch file exits 1" 1 \
    "$GRADUS" train --data "cifar10:$WORK/cifar" $CIFAR_FAST "$CIFAR_MODEL" --out "$WORK/c3"
contains "the message names the missing file" "$WORK/err" "$WORK/cifar/data_batch_4.bin"
contains "the message says what the folder must hold" "$WORK/err" "data_batch_1.bin to data_batch_5.bin and test_batch.bin"
expect "a cifar10: folder that does not exist exits 1 (it cannot be read)" 1 \
    "$GRADUS" train --data "cifar10:$WORK/nowhere" $CIFAR_FAST "$CIFAR_MODEL" --out "$WORK/c4"
contains "the message names --data and the folder" "$WORK/err" "--data cifar10:$WORK/nowhere: no such folder"
make_cifar "$WORK/cut" && head -c 3000 "$WORK/archive/cifar-10-batches-bin/test_batch.bin" >"$WORK/cut/test_batch.bin"
expect "a batch file that is not whole records exits 3" 3 \
    "$GRADUS" train --data "cifar10:$WORK/cut" $CIFAR_FAST "$CIFAR_MODEL" --out "$WORK/c5"

# ---------------------------------------------------------------- --csv-shape
# The first 1000 training and 200 test images of Fashion-MNIST as CSV: label, 784 pixels.
python3 - "$DATA" "$WORK" <<'PY'
import gzip, sys
data, work = sys.argv[1], sys.argv[2]
for kind, n, out in (('train', 1000, 'train.csv'), ('t10k', 200, 'test.csv')):
    images = gzip.open('%s/%s-images-idx3-ubyte.gz' % (data, kind)).read()[16:]
    labels = gzip.open('%s/%s-labels-idx1-ubyte.gz' % (data, kind)).read()[8:]
    with open('%s/%s' % (work, out), 'w') as f:
        for i in range(n):
            row = images[784 * i:784 * (i + 1)]
            f.write('%d,%s\n' % (labels[i], ','.join(str(b) for b in row)))
PY
CSV="csv:$WORK/train.csv,$WORK/test.csv"
CONV="conv(8,3) relu maxpool(2) flatten linear(10)"
expect "train --csv-shape 1x28x28 trains a conv net on CSV rows" 0 "$GRADUS" train --data "$CSV" \
    --csv-shape 1x28x28 --model "$CONV" --val-size 200 --epochs 2 --threads 2 --out "$WORK/s1"
contains "config.json keeps csv_shape" "$WORK/s1/config.json" '"csv_shape":[[:space:]]*"1x28x28"'
acc=$(sed -n 's/.*"test_accuracy":[[:space:]]*\([0-9.e-]*\).*/\1/p' "$WORK/s1/summary.json")
awk "BEGIN{exit !(${acc:-0} > 0.5)}" && ok "the conv net learns from the reshaped rows (test accuracy $acc > 0.5)" \
    || bad "the conv net on --csv-shape data reaches test accuracy ${acc:-none}"
expect "--csv-shape 28x28 is a grey 1x28x28 image" 0 "$GRADUS" train --data "$CSV" --csv-shape 28x28 \
    --model "$CONV" --val-size 200 --epochs 1 --threads 2 --out "$WORK/s2"
expect "the conv net without --csv-shape is refused (flat rows), exit 2" 2 "$GRADUS" train \
    --data "$CSV" --model "$CONV" --val-size 200 --epochs 1 --threads 2 --out "$WORK/s3"
n=0
for shape in 0x28x28 1x28 axb 99999999999999999999x1x1 4000000000x4000000000x4000000000 \
             1x2x3x4 784 "1x28x28 " -1x28x28; do
    n=$((n + 1))
    expect "--csv-shape '$shape' exits 2" 2 "$GRADUS" train --data "$CSV" --csv-shape "$shape" \
        --model "$CONV" --val-size 200 --epochs 1 --threads 2 --out "$WORK/bad$n"
    contains "its message names the flag and the text" "$WORK/err" "--csv-shape $shape: "
    [ ! -e "$WORK/bad$n" ] && ok "no run folder is left behind" || bad "a run folder is left behind"
done
expect "--csv-shape 1x28 names both sizes" 2 "$GRADUS" train --data "$CSV" --csv-shape 1x28 \
    --val-size 200 --out "$WORK/bad-size"
contains "the message says 28 values against 784 features" "$WORK/err" "28 values a sample, but the CSV rows hold 784 features"
expect "--csv-shape with --data fashion-mnist exits 2" 2 "$GRADUS" train --csv-shape 1x28x28 \
    --limit 1000 --val-size 100 --out "$WORK/bad-source"
contains "the message says it is for csv: data" "$WORK/err" "only for --data csv:"

# ---------------------------------------------------------------- --init-from
MLP="linear(32) relu linear(10)"
FAST="--limit 2000 --val-size 500 --batch-size 100 --threads 2 --schedule constant"
first_loss() { sed -n '1s/.*"train_loss":[[:space:]]*\([0-9.e-]*\).*/\1/p' "$1/metrics.jsonl"; }
expect "train the model to start from" 0 "$GRADUS" train --model "$MLP" $FAST --epochs 3 --out "$WORK/base"
expect "a fresh run" 0 "$GRADUS" train --model "$MLP" $FAST --epochs 1 --seed 2 --out "$WORK/fresh"
expect "a run with --init-from the trained model" 0 "$GRADUS" train --model "$MLP" $FAST --epochs 1 \
    --seed 2 --init-from "$WORK/base/model.safetensors" --out "$WORK/tuned"
fresh=$(first_loss "$WORK/fresh") tuned=$(first_loss "$WORK/tuned")
awk "BEGIN{exit !(${tuned:-9} < 0.7 * ${fresh:-0})}" \
    && ok "--init-from's first epoch has a much lower loss ($tuned) than a fresh run's ($fresh)" \
    || bad "--init-from's first epoch loss ${tuned:-none} is not much below a fresh run's ${fresh:-none}"
contains "config.json keeps init_from" "$WORK/tuned/config.json" "\"init_from\":[[:space:]]*\"$WORK/base/model.safetensors\""
expect "--init-from takes a checkpoint too" 0 "$GRADUS" train --model "$MLP" $FAST --epochs 1 \
    --init-from "$WORK/base/checkpoint.safetensors" --out "$WORK/from-checkpoint"
expect "--init-from into a deeper model copies what matches" 0 "$GRADUS" train \
    --model "linear(32) relu linear(10) relu linear(10)" $FAST --epochs 1 \
    --init-from "$WORK/base/model.safetensors" --out "$WORK/deeper"
contains "train says how many tensors --init-from copied" "$WORK/out" "^--init-from: 4 of 6 tensors copied;"
contains "and which were not in the file" "$WORK/out" "not in the file: 4.weight, 4.bias"
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "the --init-from report fits 80 columns" || bad "the --init-from report fits 80 columns"

# Resumed bit for bit: the checkpoint holds the copied weights, and the file is not read
# again (it is moved away before the resume).
cp "$WORK/base/model.safetensors" "$WORK/start.safetensors"
expect "2 epochs from --init-from" 0 "$GRADUS" train --model "$MLP" $FAST --epochs 2 \
    --init-from "$WORK/start.safetensors" --out "$WORK/whole"
expect "1 epoch from --init-from" 0 "$GRADUS" train --model "$MLP" $FAST --epochs 1 \
    --init-from "$WORK/start.safetensors" --out "$WORK/halves"
mv "$WORK/start.safetensors" "$WORK/moved.safetensors"
expect "resumed to 2 epochs without the file" 0 "$GRADUS" train --resume "$WORK/halves" --epochs 2
tensors() { tail -c +$((9 + $(od -An -t u8 -N8 "$1"))) "$1"; }
tensors "$WORK/whole/checkpoint.safetensors" >"$WORK/whole.bin"
tensors "$WORK/halves/checkpoint.safetensors" >"$WORK/halves.bin"
[ -s "$WORK/whole.bin" ] && cmp -s "$WORK/whole.bin" "$WORK/halves.bin" \
    && ok "an --init-from run resumed ends bit-identical to the uninterrupted one" \
    || bad "the resumed --init-from run differs from the uninterrupted one"

expect "a model of which nothing matches exits 2" 2 "$GRADUS" train \
    --model "linear(16) relu linear(16) relu linear(10)" $FAST --epochs 1 \
    --init-from "$WORK/base/model.safetensors" --out "$WORK/nomatch"
contains "the message names the file" "$WORK/err" "--init-from $WORK/base/model.safetensors: no tensor of the model matches"
contains "the message names the model" "$WORK/err" "--model linear(16) relu linear(16) relu linear(10)"
contains "the message says why the first tensor does not fit" "$WORK/err" "0.weight: \[16, 784\] here, \[32, 784\] in the file"
expect "a missing --init-from file exits 1" 1 "$GRADUS" train --model "$MLP" $FAST --epochs 1 \
    --init-from "$WORK/absent.safetensors" --out "$WORK/absent"
contains "the message names it" "$WORK/err" "--init-from $WORK/absent.safetensors"
echo "not a model file" >"$WORK/junk.safetensors"
expect "an --init-from file that is not a model file exits 3" 3 "$GRADUS" train --model "$MLP" $FAST \
    --epochs 1 --init-from "$WORK/junk.safetensors" --out "$WORK/junk"
contains "the message names it" "$WORK/err" "--init-from $WORK/junk.safetensors"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
