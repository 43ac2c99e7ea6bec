#!/bin/sh
# gradus eval (issue 9 items 13, 15, 16): loss and accuracy, class names, --json, a run
# folder as --model, the run's own splits (--split val reproduces the run's validation
# figures), CSV and IDX of the same images giving the same result, and the exit code of
# every failure path (1 a file that cannot be read, 2 usage or a size that does not fit,
# 3 a malformed file). One small run on the real Fashion-MNIST is trained at the start.
#
#   tests/eval_test.sh path/to/gradus
set -u
GRADUS=$(realpath "$1")
DATA=/usr/share/datasets/fashion-mnist
WORK=$(mktemp -d)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
. "$(dirname "$0")/check_lib.sh"

MLP="linear(32) relu linear(10)"
FAST="--val-size 500 --epochs 2 --batch-size 100 --threads 2 --model"

# idx_csv IMAGES LABELS COUNT SCALE: COUNT rows of "label,pixel/SCALE,...", the IDX
# files' first COUNT images (SCALE 255: the values gradus reads from IDX; 1: raw pixels).
idx_csv() {
    gunzip -c "$1" | tail -c +17 | head -c $(($3 * 784)) | od -An -v -tu1 -w784 >"$WORK/px"
    gunzip -c "$2" | tail -c +9 | head -c "$3" | od -An -v -tu1 -w1 >"$WORK/lb"
    paste -d' ' "$WORK/lb" "$WORK/px" |
        awk -v s="$4" '{printf "%d", $1; for (i = 2; i <= NF; i++) printf ",%.9g", $i / s; printf "\n"}'
}
# field FILE KEY: a number of a JSON file written one key per line or on one line.
field() { tr -d ' \n\t' <"$1" | grep -o "\"$2\":[-0-9.e+]*" | head -1 | cut -d: -f2; }
# close A B TOL: |A - B| < TOL.
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d < t && -d < t) }'; }
# text_value NAME: the number after "NAME" at the start of a line of $WORK/out.
text_value() { sed -n "s/^$1  *\([0-9.]*\).*/\1/p" "$WORK/out"; }

"$GRADUS" train --limit 3000 $FAST "$MLP" --out "$WORK/run" >/dev/null 2>"$WORK/err" \
    && ok "a small run trains" || bad "a small run trains"
idx_csv "$DATA/t10k-images-idx3-ubyte.gz" "$DATA/t10k-labels-idx1-ubyte.gz" 10000 255 >"$WORK/test.csv"
idx_csv "$DATA/train-images-idx3-ubyte.gz" "$DATA/train-labels-idx1-ubyte.gz" 3000 255 >"$WORK/train.csv"

# ---------------------------------------------------------------- loss, accuracy, names
expect "eval of a run folder" 0 "$GRADUS" eval --model "$WORK/run"
cp "$WORK/out" "$WORK/text"
acc=$(text_value accuracy)
loss=$(text_value loss)
close "$acc" "$(field "$WORK/run/summary.json" test_accuracy)" 0.00005 \
    && ok "eval of the run folder gives the run's test accuracy ($acc)" || bad "eval accuracy $acc vs summary.json"
[ -n "$loss" ] && awk -v l="$loss" 'BEGIN { exit !(l > 0 && l < 3) }' \
    && ok "eval prints the loss ($loss)" || bad "eval prints the loss"
contains "the loss is said to be the mean cross-entropy" "$WORK/text" "^loss .*mean cross-entropy"
contains "the accuracy line names the split" "$WORK/text" "^accuracy .* (test split)$"
contains "the data is named on a line of its own" "$WORK/text" "^data     fashion-mnist$"
for name in "T-shirt/top" Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot"; do
    contains "Fashion-MNIST's class $name is named" "$WORK/text" "^ *[0-9] $name  "
done
awk 'length > 80 { bad = 1 } END { exit bad }' "$WORK/text" && ok "eval's report fits 80 columns" \
    || bad "eval's report fits 80 columns"
contains "the confusion matrix is printed" "$WORK/text" "^confusion matrix (row: true class, column: predicted)"
expect "eval of the run's model file" 0 "$GRADUS" eval --model "$WORK/run/model.safetensors"
[ "$(text_value accuracy)" = "$acc" ] && ok "the model file gives what its run folder gives" \
    || bad "model file $(text_value accuracy) vs run folder $acc"
expect "eval on the training set of a folder of IDX files" 0 "$GRADUS" eval --model "$WORK/run/model.safetensors" \
    --data "$DATA/" --split train
contains "Debian's folder, however written, is Fashion-MNIST" "$WORK/out" "^ *9 Ankle boot"
contains "--split train of a model file is the whole training set" "$WORK/out" "on 60000 samples (train split"

# ---------------------------------------------------------------- --json
expect "eval --json" 0 "$GRADUS" eval --model "$WORK/run" --json
[ "$(wc -l <"$WORK/out")" -eq 1 ] && head -c 1 "$WORK/out" | grep -q '{' && ok "--json prints one JSON object on one line" \
    || bad "--json prints one JSON object on one line"
cp "$WORK/out" "$WORK/json"
for key in loss accuracy samples per_class confusion split data; do
    contains "--json has $key" "$WORK/json" "\"$key\":"
done
close "$(field "$WORK/json" accuracy)" "$acc" 0.00005 && close "$(field "$WORK/json" loss)" "$loss" 0.00005 \
    && ok "--json's loss and accuracy are the text's" || bad "--json's loss and accuracy are the text's"
contains "--json names the classes" "$WORK/json" '"name":"Ankle boot"'
if command -v python3 >/dev/null 2>&1; then
    python3 - "$WORK/json" <<'EOF' && ok "--json: the confusion matrix adds up to the samples and its diagonal to the accuracy" \
        || bad "--json: the confusion matrix adds up to the samples and its diagonal to the accuracy"
import json, sys
j = json.load(open(sys.argv[1]))
c = j["confusion"]
assert sum(map(sum, c)) == j["samples"] == 10000
assert abs(sum(c[i][i] for i in range(10)) / j["samples"] - j["accuracy"]) < 1e-12
assert [p["samples"] for p in j["per_class"]] == [sum(r) for r in c]
EOF
else
    ok "--json's matrix (skipped: no python3)"
fi

# ---------------------------------------------------------------- --split val, train
expect "eval --split val of a run" 0 "$GRADUS" eval --model "$WORK/run" --split val
best=$(field "$WORK/run/summary.json" best_epoch)
line=$(grep "\"epoch\":$best," "$WORK/run/metrics.jsonl")
echo "$line" >"$WORK/best"
val_acc=$(text_value accuracy)
val_loss=$(text_value loss)
contains "--split val evaluates the run's 500 validation examples" "$WORK/out" "on 500 samples (val split"
close "$val_acc" "$(field "$WORK/best" val_accuracy)" 0.00005 \
    && ok "--split val reproduces the best epoch's val_accuracy ($val_acc)" || bad "--split val accuracy $val_acc vs $line"
close "$val_loss" "$(field "$WORK/best" val_loss)" 0.00005 \
    && ok "--split val reproduces the best epoch's val_loss ($val_loss)" || bad "--split val loss $val_loss vs $line"
expect "eval --split train of a run" 0 "$GRADUS" eval --model "$WORK/run" --split train
contains "a run's train split is its --limit less validation" "$WORK/out" "on 2500 samples (train split"
expect "--split val of a model file exits 2" 2 "$GRADUS" eval --model "$WORK/run/model.safetensors" --split val
contains "the message says a run folder is needed" "$WORK/err" "--split val needs a run folder"
"$GRADUS" train --limit 1000 --val-size 0 --epochs 1 --threads 2 --model "$MLP" --out "$WORK/noval" >/dev/null 2>&1
expect "--split val of a run without validation exits 2" 2 "$GRADUS" eval --model "$WORK/noval" --split val
contains "the message says the run had --val-size 0" "$WORK/err" "no validation split.*--val-size 0"
expect "--split bogus exits 2" 2 "$GRADUS" eval --model "$WORK/run" --split bogus
contains "the message lists the splits" "$WORK/err" "expected test, train or val"

# ---------------------------------------------------------------- CSV and IDX (item 15)
expect "an IDX-trained model evaluates a CSV of the same images" 0 "$GRADUS" eval --model "$WORK/run" \
    --data "csv:$WORK/train.csv,$WORK/test.csv"
[ "$(text_value accuracy)" = "$acc" ] && [ "$(text_value loss)" = "$loss" ] \
    && ok "the CSV gives the IDX's accuracy and loss" || bad "CSV $(text_value accuracy) $(text_value loss) vs IDX $acc $loss"
grep -q "T-shirt" "$WORK/out" && bad "CSV data has no class names" || ok "CSV data has no class names"
"$GRADUS" train --data "csv:$WORK/train.csv,$WORK/test.csv" $FAST "$MLP" --out "$WORK/csvrun" >/dev/null 2>"$WORK/err" \
    && ok "a run trains on the CSV" || bad "a run trains on the CSV"
expect "a CSV-trained model evaluates the IDX images" 0 "$GRADUS" eval --model "$WORK/csvrun" --data fashion-mnist
csv_acc=$(text_value accuracy)
close "$csv_acc" "$(field "$WORK/csvrun/summary.json" test_accuracy)" 0.00005 \
    && ok "the IDX images give the CSV run's test accuracy ($csv_acc)" || bad "IDX $csv_acc vs the CSV run's test accuracy"
expect "a CSV run folder evaluates its own CSV data" 0 "$GRADUS" eval --model "$WORK/csvrun" --split val
close "$(text_value accuracy)" "$(field "$WORK/csvrun/summary.json" best_val_accuracy)" 0.00005 \
    && ok "the CSV run's --split val gives its best validation accuracy" || bad "the CSV run's --split val"
head -n 1000 "$WORK/train.csv" >"$WORK/t1k.csv"
"$GRADUS" train --data "csv:$WORK/t1k.csv,$WORK/t1k.csv" --csv-shape 1x28x28 --val-size 200 --epochs 1 --threads 2 \
    --batch-size 50 --model "conv(4,3) relu maxpool(2) flatten linear(10)" --out "$WORK/cnn" >/dev/null 2>"$WORK/err" \
    && ok "a conv net trains on CSV rows given --csv-shape 1x28x28" || bad "a conv net trains on CSV rows given --csv-shape"
expect "the conv run's --split val (its config.json's --csv-shape)" 0 "$GRADUS" eval --model "$WORK/cnn" --split val
close "$(text_value accuracy)" "$(field "$WORK/cnn/summary.json" best_val_accuracy)" 0.00005 \
    && ok "the conv run's --split val gives its best validation accuracy" || bad "the conv run's --split val"
expect "the conv run evaluates IDX images" 0 "$GRADUS" eval --model "$WORK/cnn" --data fashion-mnist
expect "eval --csv-shape of the wrong size exits 2" 2 "$GRADUS" eval --model "$WORK/cnn" --csv-shape 2x28x28
contains "the message names --csv-shape" "$WORK/err" "csv-shape"
idx_csv "$DATA/t10k-images-idx3-ubyte.gz" "$DATA/t10k-labels-idx1-ubyte.gz" 200 1 >"$WORK/raw.csv"
expect "eval of raw 0-255 CSV pixels runs" 0 "$GRADUS" eval --model "$WORK/run" --data "csv:$WORK/train.csv,$WORK/raw.csv"
contains "it warns that the values look like raw pixels" "$WORK/err" "warning: the CSV data holds values up to 255.*divide raw 0-255 pixels by 255"
expect "eval of scaled CSV" 0 "$GRADUS" eval --model "$WORK/run" --data "csv:$WORK/train.csv,$WORK/test.csv"
[ -s "$WORK/err" ] && bad "scaled CSV gets no warning" || ok "scaled CSV gets no warning"

# ---------------------------------------------------------------- exit codes
expect "no --model exits 2" 2 "$GRADUS" eval
expect "an unknown flag exits 2" 2 "$GRADUS" eval --model "$WORK/run" --bogus
expect "a stray argument exits 2" 2 "$GRADUS" eval --model "$WORK/run" extra
expect "a bad --label-column exits 2" 2 "$GRADUS" eval --model "$WORK/run" --label-column x
contains "the message names the flag" "$WORK/err" "label-column"
expect "a missing model file exits 1" 1 "$GRADUS" eval --model "$WORK/none.safetensors"
mkdir "$WORK/empty"
expect "a run folder without model.safetensors exits 1" 1 "$GRADUS" eval --model "$WORK/empty"
contains "the message names model.safetensors" "$WORK/err" "no model.safetensors"
mkdir "$WORK/noconfig" && cp "$WORK/run/model.safetensors" "$WORK/noconfig/"
expect "a run folder without config.json exits 1" 1 "$GRADUS" eval --model "$WORK/noconfig"
contains "the message names config.json" "$WORK/err" "noconfig/config.json: cannot open"
mkdir "$WORK/badconfig" && cp "$WORK/run/model.safetensors" "$WORK/badconfig/" && printf '{"lr": ' >"$WORK/badconfig/config.json"
expect "a malformed config.json exits 3" 3 "$GRADUS" eval --model "$WORK/badconfig"
contains "the message names config.json" "$WORK/err" "badconfig/config.json"
expect "a missing CSV file exits 1" 1 "$GRADUS" eval --model "$WORK/run" --data "csv:$WORK/train.csv,$WORK/none.csv"
expect "a missing --data folder exits 1 (it cannot be read)" 1 "$GRADUS" eval --model "$WORK/run" --data "$WORK/none"
printf '1,0.5,x\n' >"$WORK/cell.csv"
expect "a CSV with a bad cell exits 3" 3 "$GRADUS" eval --model "$WORK/run" --data "csv:$WORK/cell.csv,$WORK/cell.csv"
printf '1,0.5,0.5\n2,0.5\n' >"$WORK/ragged.csv"
expect "a ragged CSV exits 3" 3 "$GRADUS" eval --model "$WORK/run" --data "csv:$WORK/ragged.csv,$WORK/ragged.csv"
printf '1,0.5,0.5\n' >"$WORK/narrow.csv"
expect "CSV rows of the wrong size exit 2" 2 "$GRADUS" eval --model "$WORK/run" --data "csv:$WORK/narrow.csv,$WORK/narrow.csv"
contains "the message names both sizes" "$WORK/err" "2 values).*784 values"
mkdir "$WORK/idx"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-labels-idx1-ubyte.gz; do ln -s "$DATA/$f" "$WORK/idx/$f"; done
gunzip -c "$DATA/t10k-images-idx3-ubyte.gz" | head -c 5000 >"$WORK/idx/t10k-images-idx3-ubyte"
expect "a truncated IDX file exits 3" 3 "$GRADUS" eval --model "$WORK/run" --data "$WORK/idx"
{ printf '\001\002\010\003'; gunzip -c "$DATA/t10k-images-idx3-ubyte.gz" | tail -c +5; } >"$WORK/idx/t10k-images-idx3-ubyte"
expect "an IDX file with a wrong magic exits 3" 3 "$GRADUS" eval --model "$WORK/run" --data "$WORK/idx"
printf 'not a model' >"$WORK/bad.safetensors"
expect "a malformed model file exits 3" 3 "$GRADUS" eval --model "$WORK/bad.safetensors"
if [ -w /dev/full ]; then
    expect "a failed write of the report exits 1" 1 sh -c '"$1" eval --model "$2" >/dev/full' sh "$GRADUS" "$WORK/run"
    expect "a failed write of --json exits 1" 1 sh -c '"$1" eval --model "$2" --json >/dev/full' sh "$GRADUS" "$WORK/run"
else
    ok "a failed write (skipped: no /dev/full)"
fi
"$GRADUS" eval --help >"$WORK/help"
contains "--help says how the exit codes are used" "$WORK/help" "^exit status: 0 done; 1 a file"
contains "--help says how inputs are scaled" "$WORK/help" "IDX and CIFAR pixels are divided by 255; CSV values"
awk 'length > 80 { bad = 1 } END { exit bad }' "$WORK/help" && ok "eval --help fits 80 columns" || bad "eval --help fits 80 columns"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
