#!/bin/sh
# gradus search against Optuna (python3-optuna, with python3-torch training the same model)
# on the same space, data, model, optimiser, batch size and budget of trials and epochs, in
# one run on this machine: best validation accuracy and wall time, one worker and one
# thread each. gradus runs random search and ASHA (the same number of trials, at most
# EPOCHS each); Optuna its RandomSampler and TPESampler. The Optuna script validates on
# the first VAL images of the LIMIT, gradus on VAL images split off by the study's split
# seed (the same for every trial).
#
#   TRIALS=27 EPOCHS=9 LIMIT=20000 VAL=5000 bench/compare_search.sh
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh dataset-fashion-mnist python3-torch python3-optuna
make -s build/release/gradus >/dev/null
TRIALS=${TRIALS:-27}
EPOCHS=${EPOCHS:-9}
LIMIT=${LIMIT:-20000}
VAL=${VAL:-5000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

gradus_search() { # strategy -> "best epochs seconds"
    start=$(date +%s.%N)
    build/release/gradus search --model 'linear(128) relu linear(10)' --optim adam \
        --schedule constant --preprocess none --batch-size 128 --limit "$LIMIT" \
        --val-size "$VAL" --threads 1 --epochs "$EPOCHS" --trials "$TRIALS" --seed 1 \
        --param 'lr=loguniform(1e-4, 1e-1)' --param 'weight_decay=loguniform(1e-6, 1e-2)' \
        --strategy "$1" --out "$out/$1" >/dev/null
    end=$(date +%s.%N)
    /usr/bin/python3 - "$out/$1/journal.jsonl" "$start" "$end" <<'PY'
import json, sys
best, epochs = 0.0, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "epoch":
        epochs += 1
        best = max(best, e["val_accuracy"])
print(best, epochs, float(sys.argv[3]) - float(sys.argv[2]))
PY
}

optuna_search() { # sampler -> "best epochs seconds"
    /usr/bin/python3 bench/torch_search.py --sampler "$1" --trials "$TRIALS" --epochs "$EPOCHS" \
        --limit "$LIMIT" --val-size "$VAL" --threads 1 --seed 1 |
        /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["best_val_accuracy"], d["epochs"], d["wall_seconds"])'
}

echo "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; $(date -u +%Y-%m-%d)"
echo "$TRIALS trials of at most $EPOCHS epochs; $LIMIT images, $VAL for validation; 1 thread"
printf '%-28s %8s %8s %9s %9s\n' tool best epochs wall "vs optuna"
set -- $(optuna_search random); o_best=$1 o_epochs=$2 o_wall=$3
for run in "gradus search, random:random" "gradus search, asha:asha" \
           "optuna 3.1, RandomSampler:o-random" "optuna 3.1, TPESampler:o-tpe"; do
    name=${run%%:*} what=${run##*:}
    case $what in
    o-random) set -- "$o_best" "$o_epochs" "$o_wall" ;;
    o-tpe) set -- $(optuna_search tpe) ;;
    *) set -- $(gradus_search "$what") ;;
    esac
    printf '%-28s %8.4f %8d %8.1fs %8.2fx\n' "$name" "$1" "$2" "$3" "$(awk -v a="$o_wall" -v b="$3" 'BEGIN { print a / b }')"
done
