#!/bin/sh
# Issue 9 items 12 and 20 from the command line: each optimiser's PyTorch defaults in
# config.json, --momentum refused where nothing reads it, --schedule plateau lowering the
# lr that metrics.jsonl shows (and refused without a validation split), --schedule
# onecycle peaking at --lr, and early stopping on val_loss with --min-delta.
#
#   tests/schedule_test.sh path/to/gradus
set -u
GRADUS=$(realpath "${1:-build/release/gradus}")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"

LINEAR="linear(10)"
FAST="--limit 2000 --val-size 500 --batch-size 100 --threads 2"

# key_is NAME FILE KEY VALUE: config.json (tab-indented, one key a line) says KEY: VALUE.
key_is() { contains "$1" "$2" "\"$3\":[[:space:]]*$4,\?\$"; }

# ---------------------------------------------------------------- optimiser defaults
for case in sgd:0.01:0 adam:0.001:0 adamw:0.001:0.01 rmsprop:0.01:0 adagrad:0.01:0; do
    optim=${case%%:*} rest=${case#*:}
    lr=${rest%%:*} wd=${rest#*:}
    expect "train --optim $optim without --lr runs" 0 "$GRADUS" train --model "$LINEAR" $FAST \
        --epochs 1 --optim "$optim" --out "$WORK/$optim"
    key_is "$optim's PyTorch lr $lr is in config.json" "$WORK/$optim/config.json" lr "$lr"
    key_is "$optim's weight decay $wd is in config.json" "$WORK/$optim/config.json" weight_decay "$wd"
    key_is "$optim's momentum is 0" "$WORK/$optim/config.json" momentum 0
    contains "$optim's epoch line shows lr $lr" "$WORK/out" "lr $lr "
done
expect "a given --lr wins over the optimiser's" 0 "$GRADUS" train --model "$LINEAR" $FAST \
    --epochs 1 --optim adamw --lr 0.003 --weight-decay 0 --out "$WORK/given"
key_is "config.json holds the given --lr" "$WORK/given/config.json" lr 0.003
key_is "config.json holds the given --weight-decay" "$WORK/given/config.json" weight_decay 0
"$GRADUS" train --help >"$WORK/help"
contains "--help lists each optimiser's lr" "$WORK/help" "adam, adamw"
contains "--help shows the default as the optimiser's" "$WORK/help" "\[optimiser's\]"
awk 'length > 80 { bad = 1 } END { exit bad }' "$WORK/help" && ok "--help fits 80 columns" \
    || bad "--help fits 80 columns"

expect "--momentum with adam is refused" 2 "$GRADUS" train --optim adam --momentum 0.9 \
    --out "$WORK/mom"
contains "the refusal says adam has none" "$WORK/err" "--momentum 0.9: --optim adam has no momentum"
expect "--momentum with onecycle is refused" 2 "$GRADUS" train --optim sgd --momentum 0.9 \
    --schedule onecycle --out "$WORK/mom"
contains "the refusal says onecycle cycles it" "$WORK/err" "onecycle cycles the momentum itself"
[ -e "$WORK/mom" ] && bad "a refused run leaves no folder" || ok "a refused run leaves no folder"

# ---------------------------------------------------------------- plateau
# At --lr 1e-6 the model barely moves: validation accuracy stalls at epoch 3 (0.068 twice,
# measured), so with patience 0 the rate of epoch 4 is half of epoch 3's.
expect "train --schedule plateau:0.5:0 runs" 0 "$GRADUS" train --model "$LINEAR" $FAST \
    --epochs 5 --lr 1e-6 --schedule plateau:0.5:0 --patience 0 --out "$WORK/plateau"
lrs=$(grep -o '"lr":[^,}]*' "$WORK/plateau/metrics.jsonl" | cut -d: -f2 | tr '\n' ' ')
first=$(echo "$lrs" | cut -d' ' -f1) last=$(echo "$lrs" | cut -d' ' -f5)
[ "$first" = "1e-06" ] && ok "plateau starts at --lr" || bad "plateau starts at --lr ($lrs)"
[ "$last" = "5e-07" ] && ok "plateau halved the lr in metrics.jsonl after a stall" \
    || bad "plateau halved the lr in metrics.jsonl after a stall ($lrs)"
expect "--schedule plateau with --val-size 0 is refused" 2 "$GRADUS" train --schedule plateau \
    --val-size 0 --out "$WORK/noval"
contains "the refusal names --val-size" "$WORK/err" "--schedule plateau watches the validation split's val_accuracy, and --val-size 0 leaves none"
expect "a plateau factor of 1 is refused" 2 "$GRADUS" train --schedule plateau:1 --out "$WORK/pf"
contains "the refusal says the form" "$WORK/err" "expected plateau\[:FACTOR\[:PATIENCE\]\]"

# ---------------------------------------------------------------- onecycle
# 2000 examples in 20 batches, one epoch: 20 steps, whose peak is step 6 (0.3 x 20 - 1
# = 5, counting from 0), where OneCycleLR's rate is max_lr exactly.
expect "train --schedule onecycle runs" 0 "$GRADUS" train --model "$LINEAR" --limit 2500 \
    --val-size 500 --batch-size 100 --threads 2 --epochs 1 --lr 0.01 --schedule onecycle \
    --monitor=1 --out "$WORK/onecycle"
grep '"type":"loss"' "$WORK/onecycle/monitor.jsonl" | grep -o '"lr":[^,}]*' | cut -d: -f2 \
    >"$WORK/steps"
[ "$(wc -l <"$WORK/steps")" -eq 20 ] && ok "the monitor saw 20 steps" || bad "the monitor saw 20 steps"
[ "$(sed -n 1p "$WORK/steps")" = "0.0004" ] && ok "onecycle starts at --lr / 25" \
    || bad "onecycle starts at --lr / 25 ($(sed -n 1p "$WORK/steps"))"
[ "$(sed -n 6p "$WORK/steps")" = "0.01" ] && ok "onecycle peaks at --lr at step 6" \
    || bad "onecycle peaks at --lr at step 6 ($(sed -n 6p "$WORK/steps"))"
awk '$1 > 0.01 { high = 1 } END { exit high }' "$WORK/steps" && ok "no step is above --lr" \
    || bad "no step is above --lr"
[ "$(sed -n 20p "$WORK/steps")" = "4e-08" ] && ok "onecycle ends at --lr / 25 / 1e4" \
    || bad "onecycle ends at --lr / 25 / 1e4 ($(sed -n 20p "$WORK/steps"))"

# ---------------------------------------------------------------- early stopping
# Every epoch lowers the validation loss, but never by --min-delta 10: patience 2 stops
# after epoch 3, keeping epoch 1's model; without --min-delta the run goes on.
expect "early stopping on val_loss with --min-delta runs" 0 "$GRADUS" train --model "$LINEAR" \
    $FAST --epochs 8 --early-stop val_loss --min-delta 10 --patience 2 --out "$WORK/stop"
[ "$(wc -l <"$WORK/stop/metrics.jsonl")" -eq 3 ] && ok "it stopped after 3 epochs" \
    || bad "it stopped after 3 epochs ($(wc -l <"$WORK/stop/metrics.jsonl"))"
contains "summary.json says epoch 1 is kept" "$WORK/stop/summary.json" '"best_epoch":[[:space:]]*1,'
key_is "config.json holds --early-stop" "$WORK/stop/config.json" early_stop '"val_loss"'
key_is "config.json holds --min-delta" "$WORK/stop/config.json" min_delta 10
expect "the same run without --min-delta" 0 "$GRADUS" train --model "$LINEAR" $FAST --epochs 5 \
    --early-stop val_loss --patience 2 --out "$WORK/nostop"
[ "$(wc -l <"$WORK/nostop/metrics.jsonl")" -eq 5 ] && ok "without --min-delta it trains all 5 epochs" \
    || bad "without --min-delta it trains all 5 epochs"
expect "an unknown --early-stop is refused" 2 "$GRADUS" train --early-stop loss --out "$WORK/es"
contains "the refusal names the choices" "$WORK/err" "--early-stop loss: expected val_accuracy or val_loss"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
