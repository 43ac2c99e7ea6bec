#!/bin/sh
# Integration tests of the gradus command on the real Fashion-MNIST files (Debian's
# dataset-fashion-mnist) and on small files made here. Run by `make test` after the unit
# suite; prints "N passed, N failed" and exits non-zero on any failure.
#
#   tests/cli_test.sh path/to/gradus
set -u
GRADUS=$(realpath "${1:-build/release/gradus}")
DATA=/usr/share/datasets/fashion-mnist
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"

# Small, fast settings shared by the training tests.
FAST="--limit 6000 --val-size 1000 --epochs 3 --batch-size 100 --threads 2"
SMALL_MLP="linear(64) bn relu linear(10)"

# ---------------------------------------------------------------- usage
expect "gradus --help exits 0" 0 "$GRADUS" --help
expect "unknown command exits 2" 2 "$GRADUS" frobnicate
for cmd in train eval predict; do
    expect "$cmd --help exits 0" 0 "$GRADUS" "$cmd" --help
    expect "$cmd rejects an unknown flag with 2" 2 "$GRADUS" "$cmd" --no-such-flag
done
"$GRADUS" train --help >"$WORK/help"
for flag in --data --model --optim --lr --momentum --weight-decay --schedule --epochs --batch-size \
            --seed --threads --val-size --preprocess --out --resume --limit; do
    contains "train --help lists $flag" "$WORK/help" "$flag"
done
expect "train rejects a bad number" 2 "$GRADUS" train --lr abc --out "$WORK/x"
contains "bad number message names the flag" "$WORK/err" "--lr abc"
expect "train rejects a bad spec with 2" 2 "$GRADUS" train --model "linear(64) reluu" --limit 100 --val-size 10 --out "$WORK/spec"
contains "bad spec message names the position" "$WORK/err" "1:"

# ---------------------------------------------------------------- train, eval, predict
expect "train runs on Fashion-MNIST" 0 "$GRADUS" train --model "$SMALL_MLP" $FAST --out "$WORK/run"
# linear(64): 784*64 + 64; bn: 2*64; linear(10): 64*10 + 10.
contains "train prints the parameter count at the start" "$WORK/out" "^model: 51,018 parameters; data: 5000 train, 1000 val, 10000 test$"
contains "train prints the optimiser's values it uses" "$WORK/out" "^optimiser: adam, lr 0.001, weight decay 0"
# Columns, not bytes: each three-byte character (the sparkline's blocks, the arrow) is one.
LC_ALL=C sed 's/\xe2[\x80-\xbf][\x80-\xbf]/x/g' "$WORK/out" | awk 'length > 80 { exit 1 }' \
    && ok "train's output fits 80 columns" || bad "train's output fits 80 columns"
for f in model.safetensors checkpoint.safetensors metrics.jsonl summary.json config.json; do
    [ -s "$WORK/run/$f" ] && ok "run folder holds $f" || bad "run folder holds $f"
done
[ "$(wc -l <"$WORK/run/metrics.jsonl")" -eq 3 ] && ok "metrics.jsonl has one line per epoch" || bad "metrics.jsonl has one line per epoch"
for key in test_accuracy best_val_accuracy final_train_loss epochs train_seconds train_samples_per_sec seed threads model; do
    contains "summary.json has $key" "$WORK/run/summary.json" "\"$key\""
done
acc=$(sed -n 's/.*"test_accuracy":[[:space:]]*\([0-9.]*\).*/\1/p' "$WORK/run/summary.json")
awk "BEGIN{exit !($acc > 0.75)}" && ok "a small MLP on 5000 images reaches > 0.75 test accuracy ($acc)" || bad "test accuracy $acc <= 0.75"
ls "$WORK/run" | grep -q -v -E '^(model|checkpoint)\.safetensors$|^(metrics\.jsonl|summary\.json|config\.json|confusion\.json)$' \
    && bad "no temporary files left in the run folder" || ok "no temporary files left in the run folder"
expect "train refuses an existing run folder" 2 "$GRADUS" train --model "$SMALL_MLP" $FAST --out "$WORK/run"

expect "eval runs" 0 "$GRADUS" eval --model "$WORK/run/model.safetensors"
contains "eval prints the accuracy" "$WORK/out" "accuracy"
contains "eval prints the confusion matrix" "$WORK/out" "confusion matrix"
eval_acc=$(sed -n 's/^accuracy \([0-9.]*\).*/\1/p' "$WORK/out")
awk "BEGIN{d=$eval_acc-$acc; exit !(d < 0.00005 && d > -0.00005)}" && ok "eval agrees with the run's test accuracy" || bad "eval $eval_acc vs train $acc"

gunzip -c "$DATA/t10k-images-idx3-ubyte.gz" >"$WORK/test-images"
expect "predict on IDX images" 0 "$GRADUS" predict --model "$WORK/run/model.safetensors" --input "$WORK/test-images" --output "$WORK/pred.csv"
[ "$(wc -l <"$WORK/pred.csv")" -eq 10001 ] && ok "predict writes a header and one row per image" || bad "predict writes a header and one row per image"
expect "predict --probs" 0 "$GRADUS" predict --model "$WORK/run/model.safetensors" --input "$DATA/t10k-images-idx3-ubyte.gz" --probs
awk -F, 'NR==2{s=0; for(i=3;i<=NF;i++) s+=$i; exit !(NF==12 && s>0.999 && s<1.001)}' "$WORK/out" \
    && ok "predict --probs gives the id, the class and 10 probabilities summing to 1" || bad "predict --probs row format"
printf '1,2,3\n' >"$WORK/short.csv"
expect "predict rejects inputs of the wrong size" 2 "$GRADUS" predict --model "$WORK/run/model.safetensors" --input "$WORK/short.csv"

# ---------------------------------------------------------------- no usable batch, no validation
# Batch norm cannot train on one sample: a run whose only batch is one sample is refused
# before it trains on nothing (it printed NaN losses and exited 0).
expect "one training sample with batch norm exits 2" 2 "$GRADUS" train --limit 1 --val-size 0 --threads 2 --out "$WORK/one"
contains "the message says why and what to change" "$WORK/err" "no usable training batch.*batch norm.*--limit"
[ ! -e "$WORK/one/model.safetensors" ] && ok "the refused run writes no model" || bad "the refused run writes no model"
expect "--batch-size 1 with batch norm exits 2" 2 "$GRADUS" train --model "$SMALL_MLP" --limit 100 --val-size 10 \
    --batch-size 1 --threads 2 --out "$WORK/batch1"
contains "the message suggests a larger batch" "$WORK/err" "--batch-size of 2 or more"
expect "one training sample without batch norm trains" 0 "$GRADUS" train --model "linear(10)" --limit 1 --val-size 0 \
    --epochs 1 --threads 2 --out "$WORK/one-linear"
grep -qi nan "$WORK/out" && bad "one sample without batch norm trains on it (no NaN loss)" \
    || ok "one sample without batch norm trains on it (no NaN loss)"
expect "train with --val-size 0" 0 "$GRADUS" train --model "$SMALL_MLP" --limit 2000 --val-size 0 --epochs 2 \
    --batch-size 100 --threads 2 --out "$WORK/noval"
grep -qi nan "$WORK/out" && bad "no NaN printed without validation" || ok "no NaN printed without validation"
[ "$(grep -c '^epoch .* val -  lr' "$WORK/out")" -eq 2 ] && ok "epoch lines say 'val -' without validation" \
    || bad "epoch lines say 'val -' without validation"
contains "the run says which model it keeps without validation" "$WORK/out" "the model kept is the last epoch's"
for setting in '"validation":[[:space:]]*"none"' '"best_val_accuracy":[[:space:]]*null' \
               '"model_kept":[[:space:]]*"last_epoch"' '"best_epoch":[[:space:]]*2'; do
    contains "summary.json without validation has $setting" "$WORK/noval/summary.json" "$setting"
done
contains "metrics.jsonl without validation has null val_loss" "$WORK/noval/metrics.jsonl" '"val_loss":null'
contains "summary.json with validation says the best validation accuracy chose the model" \
    "$WORK/run/summary.json" '"model_kept":[[:space:]]*"best_val_accuracy"'

# ---------------------------------------------------------------- bad data
mkdir -p "$WORK/trunc"
head -c 1000 "$WORK/test-images" >"$WORK/trunc/t10k-images-idx3-ubyte"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    ln -sf "$DATA/$f" "$WORK/trunc/$f"
done
expect "truncated IDX file exits 3" 3 "$GRADUS" eval --model "$WORK/run/model.safetensors" --data "$WORK/trunc"
contains "truncated IDX message names the file" "$WORK/err" "t10k-images-idx3-ubyte"
printf 'not a model' >"$WORK/bad.safetensors"
expect "a malformed model file exits 3" 3 "$GRADUS" eval --model "$WORK/bad.safetensors"
contains "malformed model message names the file" "$WORK/err" "bad.safetensors"

# ---------------------------------------------------------------- memory limit
# Every command takes --memory-limit SIZE (K, M, G, T: powers of 1024) and
# GRADUS_MEMORY_LIMIT; the flag wins. Fashion-MNIST's test images alone need 7.9 MB.
MODEL="$WORK/run/model.safetensors"
for cmd in train eval predict; do
    "$GRADUS" $cmd --help >"$WORK/help-$cmd"
    contains "$cmd --help lists --memory-limit" "$WORK/help-$cmd" "--memory-limit SIZE"
    contains "$cmd --help says the suffixes are powers of 1024" "$WORK/help-$cmd" "K, M, G or T (powers of 1024"
done
contains "train --help names GRADUS_MEMORY_LIMIT" "$WORK/help-train" "GRADUS_MEMORY_LIMIT"
expect "train --memory-limit 1M exits 3" 3 "$GRADUS" train --memory-limit 1M --model "$SMALL_MLP" $FAST --out "$WORK/mem-train"
contains "the message names the limit and how to raise it" "$WORK/err" "beyond the memory limit of 1.0 MB.*--memory-limit"
expect "predict --memory-limit 1M exits 3" 3 "$GRADUS" predict --memory-limit 1M --model "$MODEL" --input "$WORK/test-images"
contains "the predict message names the limit" "$WORK/err" "memory limit"
# A model beyond the limit is no typo in the spec: exit 3, as for data, with the size.
expect "a model beyond --memory-limit exits 3" 3 "$GRADUS" train --memory-limit 200M --model 'linear(65536) linear(10)' $FAST --out "$WORK/mem-model"
contains "the message says what the model would need" "$WORK/err" "the model (.*) would need .* beyond the memory limit"
expect "eval --memory-limit=1M exits 3" 3 "$GRADUS" eval --memory-limit=1M --model "$MODEL"
expect "predict under --memory-limit 64M runs" 0 "$GRADUS" predict --memory-limit 64M --model "$MODEL" --input "$WORK/test-images"
expect "--memory-limit 12X exits 2" 2 "$GRADUS" train --memory-limit 12X --out "$WORK/mem-bad"
contains "the bad size message names the text" "$WORK/err" "--memory-limit 12X"
expect "--memory-limit 0 exits 2" 2 "$GRADUS" eval --memory-limit 0 --model "$MODEL"
contains "the zero size message asks for a positive size" "$WORK/err" "--memory-limit 0: expected a positive size"
expect "--memory-limit without a size exits 2" 2 "$GRADUS" eval --model "$MODEL" --memory-limit
contains "the message says the flag needs a size" "$WORK/err" "--memory-limit needs a SIZE"
expect "GRADUS_MEMORY_LIMIT=1M makes predict exit 3" 3 env GRADUS_MEMORY_LIMIT=1M "$GRADUS" predict --model "$MODEL" --input "$WORK/test-images"
expect "--memory-limit wins over GRADUS_MEMORY_LIMIT" 0 env GRADUS_MEMORY_LIMIT=1M "$GRADUS" predict --memory-limit 1G \
    --model "$MODEL" --input "$WORK/test-images"
expect "a bad GRADUS_MEMORY_LIMIT exits 2" 2 env GRADUS_MEMORY_LIMIT=lots "$GRADUS" eval --model "$MODEL"
contains "the bad GRADUS_MEMORY_LIMIT message names it" "$WORK/err" "GRADUS_MEMORY_LIMIT=lots"

# ---------------------------------------------------------------- resume after kill -9
RESUME_MODEL="linear(256) bn relu dropout(0.2) linear(10)"
# Epochs enough that the kill below, 0.3 s after the first epoch's line, comes mid-run on
# a fast machine too (an epoch takes about 0.1 s here).
RESUME_FLAGS="--limit 20000 --val-size 2000 --epochs 12 --patience 0 --batch-size 64 --threads 2 --seed 7"
"$GRADUS" train --model "$RESUME_MODEL" $RESUME_FLAGS --out "$WORK/whole" >/dev/null 2>"$WORK/err" \
    && ok "uninterrupted reference run" || bad "uninterrupted reference run"
# Started directly (not through a function, which would run in a subshell), so that $! is
# gradus's pid and kill -9 stops the run itself.
"$GRADUS" train --model "$RESUME_MODEL" $RESUME_FLAGS --out "$WORK/killed" >/dev/null 2>"$WORK/err" &
pid=$!
while [ ! -s "$WORK/killed/metrics.jsonl" ] && kill -0 $pid 2>/dev/null; do sleep 0.05; done
sleep 0.3
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
lines=$(wc -l <"$WORK/killed/metrics.jsonl")
[ "$lines" -lt 12 ] && ok "the run was killed mid-way (after $lines epoch(s))" || bad "the run finished before kill -9"
expect "resume continues the killed run" 0 "$GRADUS" train --resume "$WORK/killed"
# The checkpoints' tensors (after the 8-byte length and the JSON header, whose run state
# holds timings) must be the same bytes.
tensors() { tail -c +$((9 + $(od -An -t u8 -N8 "$1"))) "$1"; }
tensors "$WORK/whole/checkpoint.safetensors" >"$WORK/whole.bin"
tensors "$WORK/killed/checkpoint.safetensors" >"$WORK/killed.bin"
[ -s "$WORK/whole.bin" ] && cmp -s "$WORK/whole.bin" "$WORK/killed.bin" \
    && ok "resumed run ends bit-identical to the uninterrupted one (weights, optimiser, generator)" || bad "resumed checkpoint tensors differ"
cmp -s "$WORK/whole/model.safetensors" "$WORK/killed/model.safetensors" \
    && ok "resumed run keeps the same best model" || bad "resumed best model differs"
[ "$(wc -l <"$WORK/killed/metrics.jsonl")" -eq 12 ] && ok "metrics.jsonl has each epoch once after resume" || bad "metrics.jsonl after resume"

# ---------------------------------------------------------------- one writer per run folder
# Two runs started at once (in the same second) with the default runs/DATE-TIME folder:
# each gets its own folder (the second DATE-TIME-2), none is lost.
mkdir "$WORK/cwd"
(
    cd "$WORK/cwd" || exit 1
    train_default() { "$GRADUS" train --model "$SMALL_MLP" --epochs 1 --limit 2000 --val-size 500 --threads 1 >/dev/null 2>&1; }
    train_default &
    first=$!
    train_default &
    second=$!
    wait $first && wait $second
) && ok "two runs started at once both exit 0" || bad "two runs started at once both exit 0"
[ "$(ls "$WORK/cwd/runs" | wc -l)" -eq 2 ] && ok "two runs started at once write two folders" \
    || bad "two runs started at once write two folders ($(ls "$WORK/cwd/runs" | tr '\n' ' '))"
complete=0
for dir in "$WORK"/cwd/runs/*; do
    [ -s "$dir/summary.json" ] && [ "$(wc -l <"$dir/metrics.jsonl")" -eq 1 ] && complete=$((complete + 1))
done
[ "$complete" -eq 2 ] && ok "each of the two folders holds a complete run" || bad "each of the two folders holds a complete run"
# A run still training holds its folder: a resume or an --out to it is refused, naming the
# pid. (timeout: a gradus that let them in would train for minutes.)
"$GRADUS" train --model "$SMALL_MLP" --limit 2000 --val-size 500 --epochs 2000 --patience 0 --threads 1 \
    --out "$WORK/busy" >/dev/null 2>&1 &
pid=$!
while [ ! -s "$WORK/busy/config.json" ] && kill -0 $pid 2>/dev/null; do sleep 0.05; done
expect "resume of a run still training exits 1" 1 timeout 60 "$GRADUS" train --resume "$WORK/busy"
contains "the refusal names the folder and the writer's pid" "$WORK/err" "$WORK/busy is being written by another gradus process (pid $pid "
expect "--out to a folder a run is writing exits 1" 1 timeout 60 "$GRADUS" train --model "$SMALL_MLP" --limit 2000 --val-size 500 \
    --epochs 1 --out "$WORK/busy"
contains "the --out refusal names the writer's pid" "$WORK/err" "pid $pid "
contains "the lock file holds the writer's pid" "$WORK/busy/.lock" "^$pid\$"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
expect "once the writer is gone, its lock file does not block a resume" 0 "$GRADUS" train --resume "$WORK/busy" --epochs 1

# ---------------------------------------------------------------- divergence
expect "a diverging run exits 4" 4 "$GRADUS" train --model "$SMALL_MLP" --limit 3000 --val-size 500 \
    --epochs 4 --optim sgd --momentum 0 --lr 0.05 --schedule step:1:1000000 --threads 2 --out "$WORK/nan"
contains "the divergence message names the epoch and suggests a lower rate" "$WORK/err" "lower learning rate"
expect "the last good checkpoint still loads" 0 "$GRADUS" eval --model "$WORK/nan/checkpoint.safetensors"

# ---------------------------------------------------------------- augmentation
for flag in --crop-padding --hflip --random-erasing; do
    contains "train --help lists $flag" "$WORK/help" "$flag"
done
# A constant rate, so that a 1-epoch run resumed to 2 epochs steps as a 2-epoch run does.
train_aug() { # out-dir epochs
    "$GRADUS" train --model "$SMALL_MLP" --limit 2000 --val-size 500 --batch-size 100 --threads 2 \
        --schedule constant --crop-padding 2 --hflip --random-erasing 0.25 --epochs "$2" --out "$1"
}
expect "train with --crop-padding 2 --hflip --random-erasing 0.25" 0 train_aug "$WORK/aug" 2
for setting in "crop_padding 2" "hflip true" "random_erasing 0.25"; do
    key=${setting% *} value=${setting#* }
    contains "config.json stores $key $value" "$WORK/aug/config.json" "\"$key\":[[:space:]]*$value"
done
expect "an augmented run of 1 epoch" 0 train_aug "$WORK/aug-resumed" 1
expect "resume it to 2 epochs" 0 "$GRADUS" train --resume "$WORK/aug-resumed" --epochs 2
tensors "$WORK/aug/checkpoint.safetensors" >"$WORK/aug.bin"
tensors "$WORK/aug-resumed/checkpoint.safetensors" >"$WORK/aug-resumed.bin"
[ -s "$WORK/aug.bin" ] && cmp -s "$WORK/aug.bin" "$WORK/aug-resumed.bin" \
    && ok "resume keeps the augmentation and draws it as the uninterrupted run" || bad "resumed augmented run differs"
awk 'BEGIN { for (i = 0; i < 40; i++) print i % 2 "," i "," i + 1 "," i + 2 }' >"$WORK/aug.csv"
expect "--hflip on CSV data exits 2" 2 "$GRADUS" train --data "csv:$WORK/aug.csv,$WORK/aug.csv" \
    --model "linear(8) relu linear(2)" --val-size 10 --epochs 1 --hflip --out "$WORK/aug-csv"
contains "the message says augmentation needs C x H x W images" "$WORK/err" "C x H x W"

# ---------------------------------------------------------------- eval, predict: models PyTorch wrote
# tests/reference/gen_pytorch_models.py trained them in PyTorch and saved them as
# docs/pytorch.md shows, with no gradus.input_shape; pytorch.json holds PyTorch's own test
# accuracy (float32, as gradus runs). A handful of near-ties could round the other way.
REF=$(realpath "$(dirname "$0")/reference")
torch_acc() { tr -d ' \n' <"$REF/pytorch.json" | sed -n "s/.*\"name\":\"$1\"[^}]*}[^}]*\"test_accuracy\":\([0-9.]*\).*/\1/p"; }
for model in pytorch_mlp pytorch_cnn; do
    expect "eval of $model (no gradus.input_shape)" 0 "$GRADUS" eval --model "$REF/$model.safetensors"
    got=$(sed -n 's/^accuracy \([0-9.]*\).*/\1/p' "$WORK/out")
    want=$(torch_acc "$model")
    awk "BEGIN{d=${got:-0}-${want:-9}; exit !(d < 0.0005 && d > -0.0005)}" \
        && ok "eval of $model agrees with PyTorch's test accuracy ($got, $want)" || bad "eval of $model: $got, PyTorch $want"
    expect "predict with $model" 0 "$GRADUS" predict --model "$REF/$model.safetensors" --input "$WORK/test-images" --output "$WORK/$model.csv"
    [ "$(wc -l <"$WORK/$model.csv")" -eq 10001 ] && ok "predict with $model writes a header and one row per image" || bad "predict with $model writes a header and one row per image"
done
expect "a PyTorch CNN on CSV rows, whose shape no layer fixes, exits 3" 3 "$GRADUS" predict --model "$REF/pytorch_cnn.safetensors" --input "$WORK/short.csv"
contains "the message asks for the input shape" "$WORK/err" "no gradus.input_shape"

# ---------------------------------------------------------------- monitor
# json_lines FILE: every line is one JSON object (jq when installed, else each line's shape).
json_lines() {
    if command -v jq >/dev/null 2>&1; then
        [ "$(jq -R 'fromjson | type' "$1" 2>/dev/null | sort -u)" = '"object"' ]
    else
        ! grep -v -q -E '^\{"type":"(start|loss|record|warning)".*\}$' "$1"
    fi
}
count_type() { grep -c "^{\"type\":\"$2\"" "$1"; }
MON_FLAGS="--limit 2000 --val-size 500 --batch-size 100 --epochs 2 --threads 2 --seed 3"
contains "train --help lists --monitor" "$WORK/help" "--monitor\[=STEPS\]"
expect "train --monitor=5 runs" 0 "$GRADUS" train --model "$SMALL_MLP" $MON_FLAGS --monitor=5 --out "$WORK/mon"
json_lines "$WORK/mon/monitor.jsonl" && ok "monitor.jsonl is JSON lines" || bad "monitor.jsonl is JSON lines"
[ "$(count_type "$WORK/mon/monitor.jsonl" loss)" -eq 30 ] && ok "one loss line per step (2 epochs of 15)" \
    || bad "one loss line per step: $(count_type "$WORK/mon/monitor.jsonl" loss)"
[ "$(count_type "$WORK/mon/monitor.jsonl" record)" -eq 6 ] && ok "a record every 5 steps" || bad "a record every 5 steps"
head -1 "$WORK/mon/monitor.jsonl" | grep -q '^{"type":"start","schema":1,' && ok "monitor.jsonl starts with its schema" \
    || bad "monitor.jsonl starts with its schema"
contains "a record holds each layer's histogram" "$WORK/mon/monitor.jsonl" '"histogram":\['
contains "a record holds each tensor's update/weight ratio" "$WORK/mon/monitor.jsonl" '"name":"0.weight","grad_norm":[0-9.e-]*,"weight_norm":[0-9.e-]*,"update_norm":[0-9.e-]*,"update_ratio"'
expect "the same run without --monitor" 0 "$GRADUS" train --model "$SMALL_MLP" $MON_FLAGS --out "$WORK/mon-off"
[ ! -e "$WORK/mon-off/monitor.jsonl" ] && ok "no monitor.jsonl without --monitor" || bad "no monitor.jsonl without --monitor"
tensors "$WORK/mon/checkpoint.safetensors" >"$WORK/mon.bin"
tensors "$WORK/mon-off/checkpoint.safetensors" >"$WORK/mon-off.bin"
[ -s "$WORK/mon.bin" ] && cmp -s "$WORK/mon.bin" "$WORK/mon-off.bin" \
    && ok "the monitor only watches: the same bits with and without it" || bad "--monitor changed the training"
expect "--resume with --monitor" 0 "$GRADUS" train --resume "$WORK/mon" --epochs 3 --monitor=5
[ "$(count_type "$WORK/mon/monitor.jsonl" start)" -eq 2 ] && [ "$(count_type "$WORK/mon/monitor.jsonl" loss)" -eq 45 ] \
    && ok "a resumed run appends a start line and its steps" || bad "a resumed run appends a start line and its steps"
expect "--monitor=0 exits 2" 2 "$GRADUS" train --monitor=0 --out "$WORK/mon-zero"
contains "the --monitor message says what STEPS must be" "$WORK/err" "STEPS must be a whole number"

expect "a deep sigmoid network with large weights trains under --monitor" 0 "$GRADUS" train \
    --model "linear(64, init=normal(std=3)) sigmoid linear(64, init=normal(std=3)) sigmoid linear(10)" \
    $MON_FLAGS --epochs 1 --monitor=5 --out "$WORK/mon-sigmoid"
contains "--monitor warns of saturated sigmoids" "$WORK/out" "^warning: layer 1 (sigmoid): [0-9]*% of units saturated (threshold 50%)"
contains "the warning is in monitor.jsonl with its threshold" "$WORK/mon-sigmoid/monitor.jsonl" \
    '"type":"warning".*"code":"saturated","subject":"1","value":[0-9.e-]*,"threshold":0.5'
expect "a ReLU layer with a bias of -10 trains under --monitor" 0 "$GRADUS" train \
    --model "linear(64, bias_init=constant(-10)) relu linear(10)" $MON_FLAGS --epochs 1 --monitor=5 --out "$WORK/mon-dead"
contains "--monitor warns of dead ReLU units" "$WORK/out" "^warning: layer 1 (relu): 100% of units never fired in the last 5 steps"
expect "a learning rate of 1e-7 trains under --monitor" 0 "$GRADUS" train --model "$SMALL_MLP" $MON_FLAGS --epochs 1 \
    --lr 1e-7 --schedule constant --monitor=5 --out "$WORK/mon-slow"
contains "--monitor says the learning rate is probably too low" "$WORK/out" "^warning: 0.weight: update/weight ratio .*too low"
expect "a loss past 3x its first value stops a --monitor run with 4" 4 "$GRADUS" train --model "linear(64) relu linear(10)" \
    $MON_FLAGS --optim sgd --lr 5 --monitor=5 --out "$WORK/mon-boom"
contains "the stop names the 3x rule" "$WORK/err" "more than 3x the first loss"

# Read while the run writes it, then after kill -9: whole lines only, each valid.
"$GRADUS" train --model "$SMALL_MLP" --limit 6000 --val-size 500 --batch-size 50 --epochs 100 --threads 2 \
    --monitor=5 --out "$WORK/mon-live" >/dev/null 2>"$WORK/err" &
pid=$!
while ! grep -q '"type":"record"' "$WORK/mon-live/monitor.jsonl" 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 0.05; done
head -n "$(($(wc -l <"$WORK/mon-live/monitor.jsonl")))" "$WORK/mon-live/monitor.jsonl" >"$WORK/mon-live.part"
kill -0 $pid 2>/dev/null && json_lines "$WORK/mon-live.part" && ok "monitor.jsonl is readable while the run writes it" \
    || bad "monitor.jsonl is readable while the run writes it"
sleep 0.5
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ "$(tail -c 1 "$WORK/mon-live/monitor.jsonl" | od -An -c | tr -d ' ')" = '\n' ] && json_lines "$WORK/mon-live/monitor.jsonl" \
    && ok "after kill -9 monitor.jsonl holds whole, valid lines" || bad "after kill -9 monitor.jsonl holds whole, valid lines"

# ---------------------------------------------------------------- check
# gradus check: the default model on 2000 examples passes (or warns), each numbered line
# fits 80 columns, --json is the same result as JSON, --out saves it, a failed check
# exits 5 (a learning rate of 1e-9 cannot overfit 20 examples).
expect "check --help exits 0" 0 "$GRADUS" check --help
contains "check --help lists train's --model" "$WORK/out" "--model SPEC"
expect "check rejects an unknown flag with 2" 2 "$GRADUS" check --no-such-flag
expect "check passes the default model on 2000 examples" 0 "$GRADUS" check --limit 2000 --threads 2
for n in 1 2 3 4 5 6 7 8; do
    contains "check prints check $n with a verdict" "$WORK/out" "^ $n .* \(PASS\|WARN\|FAIL\|SKIP\)\$"
done
grep -q ' FAIL$' "$WORK/out" && bad "no check fails on the default model" || ok "no check fails on the default model"
awk 'length > 80 {bad=1} END {exit bad}' "$WORK/out" && ok "check's output fits 80 columns" || bad "check's output fits 80 columns"
expect "check --json --out" 0 "$GRADUS" check --limit 2000 --threads 2 --json --out "$WORK/chk"
python3 -c "
import json, sys
d = json.load(open('$WORK/out'))
f = json.load(open('$WORK/chk/check.json'))
assert [c['number'] for c in d['checks']] == list(range(1, 9)), d['checks']
assert d['passed'] and all(c['verdict'] in ('PASS', 'WARN', 'SKIP') for c in d['checks'])
assert d['checks'][0]['figures']['expected'] > 2.302 and d['checks'] == f['checks']
" 2>"$WORK/err" && ok "check --json prints the 8 slots, saved as RUN_DIR/check.json" || bad "check --json prints the 8 slots, saved as RUN_DIR/check.json"
[ -s "$WORK/chk/lr_range.svg" ] && grep -q '<path' "$WORK/chk/lr_range.svg" && ok "check --out draws the range test's curve" || bad "check --out draws the range test's curve"
[ "$(od -An -tx1 -N4 "$WORK/chk/first_batch.png" | tr -d ' ')" = 89504e47 ] && ok "check --out saves the first batch as a PNG" || bad "check --out saves the first batch as a PNG"
expect "a failed check exits 5" 5 "$GRADUS" check --limit 500 --threads 2 --lr 1e-9
contains "the range test says --lr 1e-9 is far from its suggestion" "$WORK/out" "--lr 1e-09 is more than 10x from the suggested"
contains "the overfit check fails at lr 1e-9" "$WORK/out" "^ 3 overfit 20 examples .* FAIL\$"
contains "its advice says to raise the learning rate" "$WORK/out" "advice: .*raise the learning rate"
for cmd in train check report; do
    "$GRADUS" $cmd --help >"$WORK/help-$cmd"
    awk 'length > 80 {bad=1} END {exit bad}' "$WORK/help-$cmd" && ok "$cmd --help fits 80 columns" || bad "$cmd --help fits 80 columns"
done
expect "gradus --help lists exit code 5" 0 "$GRADUS" --help
contains "exit code 5 is a failed check" "$WORK/out" "5 *a check failed"

# ---------------------------------------------------------------- setting ranges
# A value outside its setting's range exits 2 before any data is read, in one wording:
# the flag, the text and the range, each end open or closed.
expect "train --momentum 1 exits 2" 2 "$GRADUS" train --momentum 1 --out "$WORK/range"
contains "the message names the flag and the range" "$WORK/err" "--momentum 1: expected a number in \[0, 1)"
expect "train --lr 0 exits 2" 2 "$GRADUS" train --lr 0 --out "$WORK/range"
contains "--lr's range is open at 0" "$WORK/err" "--lr 0: expected a number in (0, inf)"
[ ! -e "$WORK/range" ] && ok "a refused setting writes no run folder" || bad "a refused setting wrote $WORK/range"
expect "train --warmup longer than --epochs exits 2" 2 "$GRADUS" train --warmup 4 --epochs 3 --out "$WORK/range"
contains "the warm-up message names both flags" "$WORK/err" "--warmup 4: expected an integer in \[0, 3\] (at most --epochs)"

# ---------------------------------------------------------------- terminal width
# Every --help fits 80 columns; epoch lines fit 80; the bar fits the terminal (a
# pseudo-terminal of 60 columns: no line wider than 60 between carriage returns, each
# redraw cleared to the end with ESC [K); a huge loss prints as %g, not 25 digits.
for cmd in "" train eval predict check report; do
    "$GRADUS" $cmd --help >"$WORK/help-w"
    awk 'length > 80 {bad=1} END {exit bad}' "$WORK/help-w" && ok "gradus $cmd --help fits 80 columns" \
        || bad "gradus $cmd --help fits 80 columns"
done
expect "a diverging sgd run trains" 0 "$GRADUS" train --model "linear(10)" --optim sgd --lr 1e6 --limit 300 \
    --val-size 100 --epochs 2 --threads 2 --out "$WORK/cols-huge"
grep -q '^epoch .* loss [0-9.]*e+0[0-9] acc ' "$WORK/out" && ok "a huge loss prints in %g form" \
    || bad "a huge loss prints in %g form"
grep '^epoch ' "$WORK/out" | grep -q '[0-9]\{10\}' && bad "no loss of 10 or more digits" || ok "no loss of 10 or more digits"
"$GRADUS" train --model "$SMALL_MLP" --limit 3000 --val-size 500 --epochs 2 --batch-size 10 --threads 2 \
    --lr 0.00125 --out "$WORK/cols-epochs" >"$WORK/epochs" 2>&1
cat "$WORK/out" >>"$WORK/epochs"
[ "$(grep -c '^epoch ' "$WORK/epochs")" -ge 4 ] && awk '/^epoch / && length > 80 {bad=1} END {exit bad}' "$WORK/epochs" \
    && ok "epoch lines fit 80 columns" || bad "epoch lines fit 80 columns"
if script -qec true /dev/null </dev/null >/dev/null 2>&1; then
    script -qec "stty cols 60; \"$GRADUS\" train --model \"$SMALL_MLP\" --limit 3000 --val-size 500 --epochs 2 \
        --batch-size 10 --threads 2 --out \"$WORK/cols-pty\"" /dev/null </dev/null >"$WORK/pty.out" 2>&1
    tr '\r' '\n' <"$WORK/pty.out" | sed 's/\x1b\[K//g' | grep '\[[#.]*\]' >"$WORK/bars"
    [ -s "$WORK/bars" ] && ok "the bar is drawn on a pseudo-terminal" || bad "the bar is drawn on a pseudo-terminal"
    awk 'length > 60 {bad=1} END {exit bad}' "$WORK/bars" && ok "the bar fits a 60-column terminal" \
        || bad "the bar fits a 60-column terminal"
    grep -q "$(printf '\033')\[K" "$WORK/pty.out" && ok "the bar's redraws clear to the end of the line" \
        || bad "the bar's redraws clear to the end of the line"
else
    ok "the bar under a pseudo-terminal (skipped: no util-linux script)"
fi

# ---------------------------------------------------------------- failed runs, refused models
# A run that fails before writing a file leaves no folder it made (its lock included); a
# folder that was there before stays.
expect "a failing train into a new --out exits 2" 2 "$GRADUS" train --model "linear(8) reluu" --limit 100 --val-size 10 --out "$WORK/failed/run"
[ ! -e "$WORK/failed/run" ] && ok "the failed run's new folder is removed" || bad "the failed run left $WORK/failed/run"
mkdir "$WORK/kept"
expect "a failing train into an existing empty folder exits 2" 2 "$GRADUS" train --model relu --limit 100 --val-size 10 --out "$WORK/kept"
[ -d "$WORK/kept" ] && ok "a folder that existed before stays" || bad "the failed run removed $WORK/kept, which it did not make"
mkdir "$WORK/default-out"
(cd "$WORK/default-out" && "$GRADUS" train --model relu --limit 100 --val-size 10 >/dev/null 2>&1)
[ -z "$(ls -A "$WORK/default-out/runs" 2>/dev/null)" ] && ok "a failed run leaves no runs/DATE-TIME folder" \
    || bad "a failed run left $(ls "$WORK/default-out/runs")"
expect "--val-size as large as --limit exits 2" 2 "$GRADUS" train --limit 5000 --val-size 5000 --out "$WORK/novalsplit"
contains "the message names --limit and --val-size" "$WORK/err" "--val-size 5000 leaves no training examples of the 5000 that --limit keeps"
expect "a model with 5 outputs for 10 classes exits 2" 2 "$GRADUS" train --model "linear(16) relu linear(5)" --limit 100 --val-size 10 --out "$WORK/narrow"
contains "the message says how to end --model" "$WORK/err" "the data has 10 classes but the model outputs 5: end --model with linear(10)"
expect "a model with no classifier exits 2" 2 "$GRADUS" train --model "linear(256) relu" --limit 100 --val-size 10 --out "$WORK/no-classifier"
contains "the message names the outputs" "$WORK/err" "the model outputs 256"
expect "a model without parameters exits 2" 2 "$GRADUS" train --model relu --limit 100 --val-size 10 --out "$WORK/noparams"
contains "the message says there is nothing to train" "$WORK/err" "the model has no parameters: nothing to train (--model relu)"
printf 'PK\003\004\024\000\000\000\000\000\010\000archive/data.pkl' >"$WORK/model.pt"
expect "eval of a PyTorch .pt file exits 3" 3 "$GRADUS" eval --model "$WORK/model.pt"
contains "the message says it is no safetensors file" "$WORK/err" "not a safetensors file"
contains "the message says how to convert it" "$WORK/err" "safetensors.torch.save_file"

# ---------------------------------------------------------------- divergence advice, --lr on resume, Ctrl-C
expect "a run diverging in epoch 1 exits 4" 4 "$GRADUS" train --model "$SMALL_MLP" --limit 3000 --val-size 500 \
    --epochs 2 --optim sgd --momentum 0 --lr 1e4 --threads 2 --out "$WORK/nan1"
contains "with no checkpoint yet it says to start again" "$WORK/err" "no checkpoint yet: start again with a lower --lr"
grep -q "checkpoint.safetensors" "$WORK/err" && bad "it names no checkpoint that does not exist" \
    || ok "it names no checkpoint that does not exist"
expect "a run diverging in epoch 2 exits 4" 4 "$GRADUS" train --model "$SMALL_MLP" --limit 3000 --val-size 500 \
    --epochs 2 --optim sgd --momentum 0 --lr 0.05 --schedule step:1:1000000 --threads 2 --out "$WORK/nan2"
contains "the advice is a resume with a lower --lr" "$WORK/err" "resume with gradus train --resume $WORK/nan2 --lr 0.005"
expect "the resume with a new --lr completes" 0 "$GRADUS" train --resume "$WORK/nan2" --lr 1e-9
contains "it says the rate it resumes with" "$WORK/out" "^resuming with --lr 1e-09 (was 0.05)"
grep -q '"lr":[[:space:]]*1e-09' "$WORK/nan2/config.json" && ok "config.json holds the new lr" \
    || bad "config.json holds the new lr"
"$GRADUS" train --model "$SMALL_MLP" --limit 1000 --val-size 100 --epochs 1 --threads 2 --out "$WORK/relr" >/dev/null 2>&1
expect "--resume --lr on a finished epoch goes on" 0 "$GRADUS" train --resume "$WORK/relr" --epochs 2 --lr 0.0005
contains "the run folder is printed" "$WORK/out" "^run folder: $WORK/relr\$"
contains "the new rate is printed with the old" "$WORK/out" "^resuming with --lr 0.0005 (was 0.001)"
grep -q '"lr":[[:space:]]*0.0005' "$WORK/relr/config.json" && ok "config.json holds the resumed lr" \
    || bad "config.json holds the resumed lr"
"$GRADUS" train --model "$SMALL_MLP" --limit 20000 --val-size 1000 --epochs 200 --batch-size 10 --threads 2 \
    --out "$WORK/ctrlc" >"$WORK/ctrlc.out" 2>"$WORK/ctrlc.err" &
ctrlc_pid=$!
i=0
while [ ! -e "$WORK/ctrlc/checkpoint.safetensors" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT "$ctrlc_pid"
wait "$ctrlc_pid"
ctrlc_rc=$?
[ "$ctrlc_rc" -eq 130 ] && ok "Ctrl-C exits 130" || bad "Ctrl-C exits 130 (exit $ctrlc_rc)"
contains "the run folder is printed at the start" "$WORK/ctrlc.out" "^run folder: $WORK/ctrlc\$"
contains "Ctrl-C says what is lost and how to resume" "$WORK/ctrlc.err" \
    "interrupted at epoch [0-9]*; the epoch in progress is lost; resume with gradus train --resume $WORK/ctrlc\$"
expect "the interrupted run resumes to its end" 0 "$GRADUS" train --resume "$WORK/ctrlc" --epochs 2
contains "the resumed run tests its model" "$WORK/out" "^test accuracy"

# ---------------------------------------------------------------- summary
# gradus summary: a spec's or a model file's layers and totals, as Keras's model.summary().
params_of() { sed -n 's/^Total parameters: \([0-9,]*\).*/\1/p' "$1" | tr -d ,; }
trained=$(sed -n 's/.*"parameters":[[:space:]]*\([0-9]*\).*/\1/p' "$WORK/run/summary.json")
expect "summary of the trained spec exits 0" 0 "$GRADUS" summary "$SMALL_MLP"
[ -n "$trained" ] && [ "$(params_of "$WORK/out")" = "$trained" ] \
    && ok "summary's total parameters equal train's summary.json ($trained)" \
    || bad "summary's total parameters $(params_of "$WORK/out") differ from summary.json's $trained"
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "summary fits 80 columns" || bad "summary fits 80 columns"
contains "summary lists the batch norm layer" "$WORK/out" "^1  *batchnorm1d  *64  *128$"
expect "summary of a model file exits 0" 0 "$GRADUS" summary "$WORK/run/model.safetensors"
[ "$(params_of "$WORK/out")" = "$trained" ] && ok "the model file's total parameters equal summary.json's" \
    || bad "the model file's total parameters $(params_of "$WORK/out") differ from $trained"
expect "summary of the default model exits 0" 0 "$GRADUS" summary
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "the default model's summary fits 80 columns" \
    || bad "the default model's summary fits 80 columns"
expect "summary of a convolution with --input 1x28x28" 0 "$GRADUS" summary "conv2d(8, 3, padding=1) relu flatten linear(10)" --input 1x28x28 --batch-size 32
contains "the convolution's output shape is per sample" "$WORK/out" "^0  *conv2d  *8x28x28  *80$"
contains "the activations are for the batch asked" "$WORK/out" "activations, batch 32"
expect "summary of a bad spec exits 2" 2 "$GRADUS" summary "linear(64) reluu"
contains "the bad spec's message names the position" "$WORK/err" "1:12"
expect "summary with a bad --input exits 2" 2 "$GRADUS" summary --input 28x
expect "summary with a bad --batch-size exits 2" 2 "$GRADUS" summary --batch-size 0
printf "junk" >"$WORK/junk.safetensors"
expect "summary of a malformed model file exits 3" 3 "$GRADUS" summary "$WORK/junk.safetensors"
expect "summary of a missing model file exits 1 (an I/O failure)" 1 "$GRADUS" summary "$WORK/none.safetensors"
expect "summary --help exits 0" 0 "$GRADUS" summary --help
contains "summary --help says the default input is Fashion-MNIST's" "$WORK/out" "784: Fashion-MNIST"
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "summary --help fits 80 columns" || bad "summary --help fits 80 columns"

# ---------------------------------------------------------------- the other suites
# Each command with many tests has its own script, tests/NAME_test.sh GRADUS, printing
# "ok"/"FAILED" lines and "N passed, N failed" (report_test.sh needs a browser, and skips
# those checks, saying so, without one); each of their results counts here.
for suite in "$(dirname "$0")"/*_test.sh; do
    [ "$(basename "$suite")" = cli_test.sh ] && continue
    log="$WORK/$(basename "$suite" .sh).log"
    "$suite" "$GRADUS" >"$log" 2>&1
    suite_rc=$?
    while IFS= read -r line; do
        case $line in
        "ok "*) passed=$((passed + 1)); echo "$line" ;;
        "FAILED "*) failed=$((failed + 1)); echo "$line" ;;
        [0-9]*" passed, "*) ;;
        *) echo "$line" ;;
        esac
    done <"$log"
    [ "$suite_rc" -eq 0 ] || grep -q '^FAILED' "$log" || bad "$(basename "$suite") exited $suite_rc"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
