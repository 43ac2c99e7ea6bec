#!/bin/sh
# gradus predict (issue 9 items 13, 15, 17): CSV with a header row and an id column,
# --probs, --top-k, standard input and output, --output written atomically, CSV and IDX
# of the same images giving the same predictions, the warning for raw 0-255 pixels, and
# the exit code of every failure path (1 a file that cannot be read or written, 2 usage
# or a size that does not fit, 3 a malformed file). One small run on the real
# Fashion-MNIST is trained at the start.
#
#   tests/predict_test.sh path/to/gradus
set -u
GRADUS=$(realpath "$1")
DATA=/usr/share/datasets/fashion-mnist
WORK=$(mktemp -d)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
. "$(dirname "$0")/check_lib.sh"

MLP="linear(32) relu linear(10)"
FAST="--val-size 500 --epochs 2 --batch-size 100 --threads 2 --model"
IMAGES="$DATA/t10k-images-idx3-ubyte.gz"
LABELS="$DATA/t10k-labels-idx1-ubyte.gz"

# idx_csv COUNT SCALE: the first COUNT test images as CSV rows of pixel/SCALE (255: the
# values gradus reads from IDX; 1: raw pixels), without labels.
idx_csv() {
    gunzip -c "$IMAGES" | tail -c +17 | head -c $(($1 * 784)) | od -An -v -tu1 -w784 |
        awk -v s="$2" '{for (i = 1; i <= NF; i++) printf "%s%.9g", (i > 1 ? "," : ""), $i / s; printf "\n"}'
}
# column N FILE: the Nth field of each row after the header.
column() { awk -F, -v n="$1" 'NR > 1 { print $n }' "$2"; }

"$GRADUS" train --limit 3000 $FAST "$MLP" --out "$WORK/run" >/dev/null 2>"$WORK/err" \
    && ok "a small run trains" || bad "a small run trains"
MODEL="$WORK/run/model.safetensors"
gunzip -c "$IMAGES" >"$WORK/images"
idx_csv 10000 255 >"$WORK/test.csv"

# ---------------------------------------------------------------- the CSV written
expect "predict on IDX images" 0 "$GRADUS" predict --model "$MODEL" --input "$IMAGES"
cp "$WORK/out" "$WORK/idx.out"
[ "$(head -n 1 "$WORK/idx.out")" = "id,label" ] && ok "the header row is id,label" || bad "header: $(head -n 1 "$WORK/idx.out")"
[ "$(wc -l <"$WORK/idx.out")" -eq 10001 ] && ok "one row per image after the header" || bad "one row per image after the header"
awk -F, 'NR > 1 && $1 != NR - 2 { bad = 1 } END { exit bad }' "$WORK/idx.out" \
    && ok "the id column is the 0-based image number, in order" || bad "the id column is the 0-based image number"
gunzip -c "$LABELS" | tail -c +9 | od -An -v -tu1 -w1 | tr -d ' ' >"$WORK/truth"
column 2 "$WORK/idx.out" | paste -d' ' - "$WORK/truth" | awk '$1 == $2 { n++ } END { exit !(n / NR > 0.6) }' \
    && ok "the labels are mostly right (above 60%)" || bad "the labels are mostly right"
expect "predict with a run folder as --model" 0 "$GRADUS" predict --model "$WORK/run" --input "$IMAGES"
[ "$(head -n 1 "$WORK/out")" = "id,label,class" ] && ok "a Fashion-MNIST run's header adds the class name" \
    || bad "header: $(head -n 1 "$WORK/out")"
awk -F, 'NR > 1 && $2 == 9 && $3 != "Ankle boot" { bad = 1 } NR > 1 && $2 == 0 && $3 != "T-shirt/top" { bad = 1 }
         END { exit bad }' "$WORK/out" && ok "the class column names the label" || bad "the class column names the label"
cut -d, -f1,2 "$WORK/out" | cmp -s - "$WORK/idx.out" && ok "the run folder predicts what its model file does" \
    || bad "the run folder predicts what its model file does"

expect "predict --probs" 0 "$GRADUS" predict --model "$MODEL" --input "$IMAGES" --probs
[ "$(head -n 1 "$WORK/out")" = "id,label,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9" ] \
    && ok "--probs names a column per class" || bad "--probs header: $(head -n 1 "$WORK/out")"
awk -F, 'NR > 1 { s = 0; best = 3; for (i = 3; i <= NF; i++) { s += $i; if ($i > $best) best = i }
                  if (NF != 12 || s < 0.999 || s > 1.001 || best - 3 != $2) bad = 1 } END { exit bad }' "$WORK/out" \
    && ok "every row's probabilities sum to 1 and the label is the most probable" || bad "--probs rows"

expect "predict --top-k 3" 0 "$GRADUS" predict --model "$MODEL" --input "$IMAGES" --top-k 3
[ "$(head -n 1 "$WORK/out")" = "id,label,top1,p_top1,top2,p_top2,top3,p_top3" ] \
    && ok "--top-k 3 adds three label and probability pairs" || bad "--top-k header: $(head -n 1 "$WORK/out")"
awk -F, 'NR > 1 && ($3 != $2 || $4 < $6 || $6 < $8 || $3 == $5 || $5 == $7 || $3 == $7) { bad = 1 } END { exit bad }' \
    "$WORK/out" && ok "top1 is the label, the probabilities decrease, the classes differ" || bad "--top-k rows"
expect "predict --probs --top-k 1" 0 "$GRADUS" predict --model "$MODEL" --input "$IMAGES" --probs --top-k 1
awk -F, 'NR > 1 { for (i = 3; i <= 12; i++) if (i - 3 == $2 && $i != $14) bad = 1 } END { exit bad }' "$WORK/out" \
    && ok "p_top1 is the label's probability among --probs" || bad "p_top1 is the label's probability among --probs"
expect "--top-k 10 of 10 classes" 0 "$GRADUS" predict --model "$MODEL" --input "$IMAGES" --top-k 10
expect "--top-k 11 of 10 classes exits 2" 2 "$GRADUS" predict --model "$MODEL" --input "$IMAGES" --top-k 11
contains "the message gives the classes" "$WORK/err" "--top-k 11: the model has 10 classes"
expect "--top-k 0 exits 2" 2 "$GRADUS" predict --model "$MODEL" --input "$IMAGES" --top-k 0
expect "--top-k abc exits 2" 2 "$GRADUS" predict --model "$MODEL" --input "$IMAGES" --top-k abc

# ---------------------------------------------------------------- standard input and output
head -n 50 "$WORK/test.csv" >"$WORK/head.csv"
expect "predict reads CSV from standard input" 0 sh -c '"$1" predict --model "$2" --input - <"$3"' sh "$GRADUS" "$MODEL" "$WORK/head.csv"
cp "$WORK/out" "$WORK/stdin.out"
expect "predict reads the same CSV from a file" 0 "$GRADUS" predict --model "$MODEL" --input "$WORK/head.csv"
cmp -s "$WORK/out" "$WORK/stdin.out" && ok "standard input predicts what the file does" || bad "standard input predicts what the file does"
expect "--output - writes to standard output" 0 "$GRADUS" predict --model "$MODEL" --input "$WORK/head.csv" --output -
cmp -s "$WORK/out" "$WORK/stdin.out" && ok "--output - is standard output" || bad "--output - is standard output"
mkdir "$WORK/outdir"
expect "--output FILE" 0 "$GRADUS" predict --model "$MODEL" --input "$WORK/head.csv" --output "$WORK/outdir/pred.csv"
cmp -s "$WORK/outdir/pred.csv" "$WORK/stdin.out" && ok "--output FILE holds what standard output gets" || bad "--output FILE content"
[ ! -s "$WORK/out" ] && ok "nothing goes to standard output with --output FILE" || bad "nothing goes to standard output with --output FILE"
[ "$(ls -A "$WORK/outdir")" = "pred.csv" ] && ok "--output leaves no temporary file" || bad "--output left $(ls -A "$WORK/outdir")"
expect "--output into a missing folder exits 1" 1 "$GRADUS" predict --model "$MODEL" --input "$WORK/head.csv" --output "$WORK/none/pred.csv"
if [ -w /dev/full ]; then
    expect "a failed write to standard output exits 1" 1 sh -c '"$1" predict --model "$2" --input "$3" >/dev/full' sh "$GRADUS" "$MODEL" "$WORK/head.csv"
else
    ok "a failed write (skipped: no /dev/full)"
fi

# ---------------------------------------------------------------- CSV and IDX (item 15)
expect "an IDX-trained model predicts a CSV of the same images" 0 "$GRADUS" predict --model "$MODEL" --input "$WORK/test.csv"
cmp -s "$WORK/out" "$WORK/idx.out" && ok "the CSV gives the IDX's predictions" || bad "the CSV gives the IDX's predictions"
[ -s "$WORK/err" ] && bad "CSV in [0, 1] gets no warning" || ok "CSV in [0, 1] gets no warning"
gunzip -c "$DATA/train-images-idx3-ubyte.gz" | tail -c +17 | head -c $((3000 * 784)) | od -An -v -tu1 -w784 >"$WORK/tpx"
gunzip -c "$DATA/train-labels-idx1-ubyte.gz" | tail -c +9 | head -c 3000 | od -An -v -tu1 -w1 | paste -d' ' - "$WORK/tpx" |
    awk '{printf "%d", $1; for (i = 2; i <= NF; i++) printf ",%.9g", $i / 255; printf "\n"}' >"$WORK/train.csv"
"$GRADUS" train --data "csv:$WORK/train.csv,$WORK/train.csv" $FAST "$MLP" --out "$WORK/csvrun" >/dev/null 2>"$WORK/err" \
    && ok "a run trains on CSV" || bad "a run trains on CSV"
expect "a CSV-trained model predicts IDX images" 0 "$GRADUS" predict --model "$WORK/csvrun" --input "$IMAGES"
cp "$WORK/out" "$WORK/csvrun-idx.out"
expect "a CSV-trained model predicts the CSV of those images" 0 "$GRADUS" predict --model "$WORK/csvrun" --input "$WORK/test.csv"
cmp -s "$WORK/out" "$WORK/csvrun-idx.out" && ok "IDX and CSV of the same images predict the same" || bad "IDX and CSV of the same images predict the same"
[ "$(head -n 1 "$WORK/out")" = "id,label" ] && ok "CSV data names no classes" || bad "CSV header: $(head -n 1 "$WORK/out")"

expect "predict --csv-shape 1x28x28" 0 "$GRADUS" predict --model "$MODEL" --input "$WORK/test.csv" --csv-shape 1x28x28
cmp -s "$WORK/out" "$WORK/idx.out" && ok "CSV rows shaped 1x28x28 predict as the IDX images" || bad "CSV rows shaped 1x28x28"
expect "a --csv-shape of another size exits 2" 2 "$GRADUS" predict --model "$MODEL" --input "$WORK/test.csv" --csv-shape 3x28x28
contains "the message names --csv-shape" "$WORK/err" "csv-shape"

# ---------------------------------------------------------------- input scaling
idx_csv 20 1 >"$WORK/raw.csv"
expect "predict on raw 0-255 CSV pixels runs" 0 "$GRADUS" predict --model "$MODEL" --input "$WORK/raw.csv"
contains "it warns that they look like raw pixels" "$WORK/err" "warning: .*raw.csv holds values up to 255.*trained on data in \[0, 1\].*divide raw 0-255 pixels by 255"
expect "raw pixels on standard input" 0 sh -c '"$1" predict --model "$2" --input - <"$3"' sh "$GRADUS" "$MODEL" "$WORK/raw.csv"
contains "the warning names standard input" "$WORK/err" "warning: standard input holds values up to 255"
expect "IDX images" 0 "$GRADUS" predict --model "$MODEL" --input "$WORK/images"
[ -s "$WORK/err" ] && bad "IDX images get no warning" || ok "IDX images get no warning"
"$GRADUS" train --limit 1000 --val-size 100 --epochs 1 --threads 2 --preprocess none --model "$MLP" --out "$WORK/nopre" >/dev/null 2>&1
expect "a model without preprocessing on raw pixels" 0 "$GRADUS" predict --model "$WORK/nopre" --input "$WORK/raw.csv"
[ -s "$WORK/err" ] && bad "without fitted means nothing is claimed" || ok "without fitted means nothing is claimed"
"$GRADUS" predict --help >"$WORK/help"
contains "--help says IDX pixels are divided by 255" "$WORK/help" "IDX pixels are divided by 255"
contains "--help says CSV values are used as they are" "$WORK/help" "CSV values$"
contains "--help shows the columns" "$WORK/help" "id,label\[,class\]\[,p_0,...\]\[,top1,p_top1,...\]"
contains "--help says how the exit codes are used" "$WORK/help" "^exit status: 0 done; 1 a file"
awk 'length > 80 { bad = 1 } END { exit bad }' "$WORK/help" && ok "predict --help fits 80 columns" || bad "predict --help fits 80 columns"

# ---------------------------------------------------------------- exit codes
expect "no --input exits 2" 2 "$GRADUS" predict --model "$MODEL"
expect "no --model exits 2" 2 "$GRADUS" predict --input "$WORK/head.csv"
expect "an unknown flag exits 2" 2 "$GRADUS" predict --model "$MODEL" --input "$WORK/head.csv" --bogus
expect "a stray argument exits 2" 2 "$GRADUS" predict --model "$MODEL" --input "$WORK/head.csv" extra
expect "a bad --label-column exits 2" 2 "$GRADUS" predict --model "$MODEL" --input "$WORK/head.csv" --label-column -1
expect "a missing model file exits 1" 1 "$GRADUS" predict --model "$WORK/none.safetensors" --input "$WORK/head.csv"
mkdir "$WORK/empty"
expect "a run folder without a model exits 1" 1 "$GRADUS" predict --model "$WORK/empty" --input "$WORK/head.csv"
expect "a missing input file exits 1" 1 "$GRADUS" predict --model "$MODEL" --input "$WORK/none.csv"
printf 'not a model' >"$WORK/bad.safetensors"
expect "a malformed model file exits 3" 3 "$GRADUS" predict --model "$WORK/bad.safetensors" --input "$WORK/head.csv"
head -c 5000 "$WORK/images" >"$WORK/truncated"
expect "a truncated IDX file exits 3" 3 "$GRADUS" predict --model "$MODEL" --input "$WORK/truncated"
contains "the message names the file" "$WORK/err" "truncated"
head -c 5000 "$WORK/images" | gzip >"$WORK/truncated.gz"
expect "a gzip of a truncated IDX file exits 3" 3 "$GRADUS" predict --model "$MODEL" --input "$WORK/truncated.gz"
{ printf '\000\000\010\011'; tail -c +5 "$WORK/images"; } >"$WORK/dims"
expect "an IDX file of 9 dimensions exits 3" 3 "$GRADUS" predict --model "$MODEL" --input "$WORK/dims"
{ printf '\001\002\010\003'; tail -c +5 "$WORK/images"; } >"$WORK/magic"
expect "a file with a wrong magic (read as CSV) exits 3" 3 "$GRADUS" predict --model "$MODEL" --input "$WORK/magic"
printf '0.5,x\n' >"$WORK/cell.csv"
expect "a CSV with a bad cell exits 3" 3 "$GRADUS" predict --model "$MODEL" --input "$WORK/cell.csv"
printf '0.5,0.5\n0.5\n' >"$WORK/ragged.csv"
expect "a ragged CSV exits 3" 3 "$GRADUS" predict --model "$MODEL" --input "$WORK/ragged.csv"
printf '0.5,x\n' | "$GRADUS" predict --model "$MODEL" --input - >"$WORK/out" 2>"$WORK/err"
[ $? -eq 3 ] && ok "a bad cell on standard input exits 3" || bad "a bad cell on standard input exits 3"
printf '0.5,0.5,0.5\n' >"$WORK/narrow.csv"
expect "CSV rows of the wrong size exit 2" 2 "$GRADUS" predict --model "$MODEL" --input "$WORK/narrow.csv"
contains "the message names both sizes" "$WORK/err" "3 values).*784 values"
expect "CSV rows of the wrong size without preprocessing exit 2" 2 "$GRADUS" predict --model "$WORK/nopre" --input "$WORK/narrow.csv"
contains "the message names both sizes" "$WORK/err" "3 values per sample; the model takes 784"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
