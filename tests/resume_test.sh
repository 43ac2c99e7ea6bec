#!/bin/sh
# gradus train --resume as issue 9 item 4 asks: flags that cannot change are refused,
# those that can are applied with a line, a finished or early-stopped run says what to
# give, config.json's paths are absolute (a resume works from another folder), and the
# seed is one type (a string) in config.json and summary.json.
#
#   tests/resume_test.sh path/to/gradus
set -u
GRADUS=$(realpath "${1:-build/release/gradus}")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"

MLP="linear(32) relu linear(10)"
FAST="--limit 2000 --val-size 500 --batch-size 100 --threads 2"
expect "a short run to resume" 0 "$GRADUS" train --model "$MLP" $FAST --epochs 2 --out "$WORK/run"
cp "$WORK/run/metrics.jsonl" "$WORK/metrics.before"

# ---------------------------------------------------------------- flags that cannot change
for flag in "--model linear(16)_relu_linear(10)" "--optim sgd" "--batch-size 50" "--seed 2" \
            "--limit 1000" "--data csv:a.csv,b.csv"; do
    set -- $flag
    value=$(echo "$2" | tr _ ' ')
    expect "--resume refuses a new $1" 2 "$GRADUS" train --resume "$WORK/run" "$1" "$value"
    contains "the refusal of $1 names it and what can change" "$WORK/err" "$1 cannot change on --resume.*only --epochs, --lr"
done
cmp -s "$WORK/metrics.before" "$WORK/run/metrics.jsonl" && ok "a refused resume trains nothing" || bad "a refused resume trains nothing"
expect "--out naming another folder than --resume is refused" 2 "$GRADUS" train --resume "$WORK/run" --out "$WORK/other"
contains "the --out refusal says a resumed run stays" "$WORK/err" "stays in its folder"

# ---------------------------------------------------------------- flags repeated or changed
expect "the saved values given again are fine (the same command plus --resume)" 0 \
    "$GRADUS" train --resume "$WORK/run" --model "$MLP" $FAST --epochs 3
contains "a new --epochs is said" "$WORK/out" "resuming with --epochs 3 (was 2)"
grep -q 'resuming with --threads\|resuming with --limit' "$WORK/out" && bad "unchanged flags are not said" || ok "unchanged flags are not said"
contains "config.json keeps the new --epochs" "$WORK/run/config.json" '"epochs":[[:space:]]*3,'
[ "$(wc -l <"$WORK/run/metrics.jsonl")" -eq 3 ] && ok "the resume trained the third epoch" || bad "the resume trained the third epoch"
expect "a new --lr and --patience are taken" 0 "$GRADUS" train --resume "$WORK/run" --epochs 4 --lr 0.0003 --patience 5
contains "the new --lr is said with the old" "$WORK/out" "resuming with --lr 0.0003 (was "
contains "the new --patience is said" "$WORK/out" "resuming with --patience 5 (was 8)"
contains "config.json keeps the new --lr" "$WORK/run/config.json" '"lr":[[:space:]]*0.0003,'

# ---------------------------------------------------------------- nothing left to do
cp "$WORK/run/metrics.jsonl" "$WORK/metrics.before"
expect "resuming a finished run exits 0" 0 "$GRADUS" train --resume "$WORK/run"
contains "a finished run says so" "$WORK/out" "the run has finished its 4 epochs (--epochs 4)"
contains "a finished run says what to give" "$WORK/out" "resume with a larger --epochs"
cmp -s "$WORK/metrics.before" "$WORK/run/metrics.jsonl" && ok "a finished run trains nothing on resume" || bad "a finished run trains nothing on resume"
expect "a run that stops early" 0 "$GRADUS" train --model "$MLP" $FAST --epochs 40 --lr 0.05 --patience 1 --out "$WORK/early"
n=$(wc -l <"$WORK/early/metrics.jsonl")
[ "$n" -lt 40 ] && ok "--patience 1 stopped it early ($n epochs)" || bad "--patience 1 stopped it early ($n epochs)"
expect "resuming an early-stopped run exits 0" 0 "$GRADUS" train --resume "$WORK/early"
contains "an early-stopped run says so" "$WORK/out" "the run stopped early at epoch $n (--patience 1"
contains "and what to give" "$WORK/out" "resume with a larger --patience"
expect "resuming it with a larger --patience trains on" 0 "$GRADUS" train --resume "$WORK/early" --patience 3
[ "$(wc -l <"$WORK/early/metrics.jsonl")" -gt "$n" ] && ok "the larger --patience trained more epochs" || bad "the larger --patience trained more epochs"

# ---------------------------------------------------------------- paths and types
mkdir "$WORK/here" "$WORK/elsewhere"
head -c 4000 /dev/urandom | od -An -tu1 -w4 -v | awk 'NF == 4 { print NR % 3 "," $1/255 "," $2/255 "," $3/255 }' >"$WORK/here/train.csv"
cp "$WORK/here/train.csv" "$WORK/here/test.csv"
(cd "$WORK/here" && "$GRADUS" train --data csv:train.csv,test.csv --val-size 100 --epochs 1 \
    --model "linear(4) relu linear(3)" --threads 2 --out run) >"$WORK/out" 2>"$WORK/err" \
    && ok "a run on CSV files named relative to the working folder" || bad "a run on CSV files named relative to the working folder"
contains "config.json names the CSV files by absolute paths" "$WORK/here/run/config.json" "\"data\":[[:space:]]*\"csv:$WORK/here/train.csv,$WORK/here/test.csv\""
(cd "$WORK/elsewhere" && "$GRADUS" train --resume ../here/run --epochs 2) >"$WORK/out" 2>"$WORK/err" \
    && ok "the run resumes from another folder" || bad "the run resumes from another folder"
contains "config.json's seed is a string" "$WORK/run/config.json" '"seed":[[:space:]]*"1"'
contains "summary.json's seed is a string too" "$WORK/run/summary.json" '"seed":[[:space:]]*"1"'

# ---------------------------------------------------------------- help
"$GRADUS" train --help >"$WORK/help"
contains "--help says which flags a resume may change" "$WORK/help" "\-\-epochs, \-\-lr, \-\-threads, \-\-patience"
contains "--help says what --epochs does to the schedule on resume" "$WORK/help" "recomputed for the new \-\-epochs"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
