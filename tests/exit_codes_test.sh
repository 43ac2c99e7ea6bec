#!/bin/sh
# The exit codes of the README's rule, command by command (issue 9 item 13; eval and
# predict have theirs in eval_test.sh and predict_test.sh): 1 a file or folder that cannot
# be read or written, 2 usage (a flag, a value, a spec, a folder that is not what the
# command takes), 3 an input that is there but malformed or beyond the memory limit,
# 4 diverged, 5 a failed check, 130 interrupted (cli_test.sh drives the last three).
#
#   tests/exit_codes_test.sh path/to/gradus
set -u
GRADUS=$(realpath "${1:-build/release/gradus}")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"

FAST="--limit 1000 --val-size 100 --epochs 1 --batch-size 100 --threads 2"
MLP="linear(16) relu linear(10)"
expect "a run for the tests below" 0 "$GRADUS" train --model "$MLP" $FAST --out "$WORK/run"
printf '0,1,2\n1,3\n' >"$WORK/ragged.csv"
mkdir "$WORK/badidx" "$WORK/empty" "$WORK/badcfg" "$WORK/badmetrics"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    printf 'XXXXXXXXXXXXXXXX' >"$WORK/badidx/$f"
done
echo '{"schema": 1, "lr": ' >"$WORK/badcfg/config.json"
cp "$WORK/run/config.json" "$WORK/badmetrics/"
echo '{"epoch": 1, garbage' >"$WORK/badmetrics/metrics.jsonl"
echo junk >"$WORK/junk.safetensors"

# ---------------------------------------------------------------- 1: cannot read or write
expect "gradus: no command exits 2" 2 "$GRADUS"
expect "train: a missing CSV file exits 1" 1 "$GRADUS" train --data "csv:$WORK/none.csv,$WORK/none.csv" $FAST --out "$WORK/o1"
expect "train: a missing data folder exits 1" 1 "$GRADUS" train --data "$WORK/none" $FAST --out "$WORK/o2"
expect "train: a missing --model @FILE exits 1" 1 "$GRADUS" train --model "@$WORK/none.spec" $FAST --out "$WORK/o3"
expect "train: a missing --resume folder exits 1" 1 "$GRADUS" train --resume "$WORK/none"
expect "train: an --out that cannot be made exits 1" 1 "$GRADUS" train $FAST --out /proc/gradus-none/run
expect "check: a missing CSV file exits 1" 1 "$GRADUS" check --data "csv:$WORK/none.csv,$WORK/none.csv"
expect "summary: a missing model file exits 1" 1 "$GRADUS" summary "$WORK/none.safetensors"
expect "report: a missing run folder exits 1" 1 "$GRADUS" report "$WORK/none"
expect "report: an --out that cannot be written exits 1" 1 "$GRADUS" report "$WORK/run" --out /proc/gradus-none/r.html
for f in "$WORK/o1" "$WORK/o2" "$WORK/o3"; do
    [ -e "$f" ] && bad "a failed train leaves no folder ($f)" || ok "a failed train leaves no folder ($(basename "$f"))"
done

# ---------------------------------------------------------------- 2: usage
for cmd in train check summary report; do
    expect "$cmd: an unknown flag exits 2" 2 "$GRADUS" "$cmd" --no-such-flag
done
expect "train: a bad value exits 2" 2 "$GRADUS" train --epochs zero --out "$WORK/o4"
expect "train: a value out of range exits 2" 2 "$GRADUS" train --label-smoothing 1 --out "$WORK/o4"
expect "train: --crop-padding as large as the images exits 2" 2 "$GRADUS" train $FAST --crop-padding 28 --out "$WORK/o5"
contains "the message gives the range the images allow" "$WORK/err" "--crop-padding 28: expected an integer in \[0, 27\] (below the images' 28x28)"
[ -e "$WORK/o5" ] && bad "a refused --crop-padding leaves no folder" || ok "a refused --crop-padding leaves no folder"
cores=$(nproc)
expect "train: --threads above the cores still runs" 0 "$GRADUS" train --model "$MLP" $FAST --threads $((cores + 1)) --out "$WORK/o6"
contains "and warns that it is slower" "$WORK/err" "warning: --threads $((cores + 1)) exceeds this machine's $cores cores: slower, not faster"
expect "train: a bad spec exits 2" 2 "$GRADUS" train --model "linear(8) reluu" $FAST --out "$WORK/o4"
expect "train: --resume of a folder without config.json exits 2" 2 "$GRADUS" train --resume "$WORK/empty"
expect "train: --out holding files exits 2" 2 "$GRADUS" train $FAST --out "$WORK/run"
expect "check: a bad spec exits 2" 2 "$GRADUS" check --model "linear(8) reluu"
expect "summary: a bad spec exits 2" 2 "$GRADUS" summary "linear(8) reluu"
expect "report: a folder that is not a run exits 2" 2 "$GRADUS" report "$WORK/empty"

# ---------------------------------------------------------------- 3: malformed input
expect "train: a ragged CSV exits 3" 3 "$GRADUS" train --data "csv:$WORK/ragged.csv,$WORK/ragged.csv" $FAST --out "$WORK/o5"
expect "train: IDX files with a wrong magic exit 3" 3 "$GRADUS" train --data "$WORK/badidx" $FAST --out "$WORK/o5"
expect "train: --resume of a corrupt config.json exits 3" 3 "$GRADUS" train --resume "$WORK/badcfg"
expect "train: data beyond --memory-limit exits 3" 3 "$GRADUS" train --memory-limit 1K $FAST --out "$WORK/o5"
expect "summary: a malformed model file exits 3" 3 "$GRADUS" summary "$WORK/junk.safetensors"
expect "report: a corrupt metrics.jsonl exits 3" 3 "$GRADUS" report "$WORK/badmetrics"
[ -e "$WORK/o5" ] && bad "a train refused for its data leaves no folder" || ok "a train refused for its data leaves no folder"

# ---------------------------------------------------------------- the rule is documented
"$GRADUS" --help >"$WORK/help"
for code in "1 " "2 " "3 " "4 " "5 " "130 "; do
    contains "gradus --help lists exit code $code" "$WORK/help" "^ *$code"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
