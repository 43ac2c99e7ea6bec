#!/bin/sh
# gradus vs PyTorch on the same MLP (784-256-256-10, BatchNorm1d + ReLU), the same data
# (Fashion-MNIST, 55,000 training samples), the same optimiser (SGD, momentum 0.9) and
# batch size, in one run on this machine. Prints training-loop throughput, the ratio to
# PyTorch's best thread setting, and peak memory (maximum resident set size).
#
#   bench/compare_mlp.sh [BATCH...]        (default: 128 32)
set -eu
cd "$(dirname "$0")/.."
make -s build/release/gradus >/dev/null
BATCHES=${*:-"128 32"}
EPOCHS=${EPOCHS:-2}
SPEC='linear(256) bn relu linear(256) bn relu linear(10)'
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

peak_kb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }

gradus_run() { # threads batch -> "samples/s peak_mb"
    rm -rf "$out/run"
    /usr/bin/time -v build/release/gradus train --model "$SPEC" --optim sgd --lr 0.01 --momentum 0.9 \
        --schedule constant --preprocess none --epochs "$EPOCHS" --patience 0 --batch-size "$2" \
        --threads "$1" --out "$out/run" >/dev/null 2>"$out/time"
    sps=$(sed -n 's/.*"train_samples_per_sec":[[:space:]]*\([0-9.]*\).*/\1/p' "$out/run/summary.json")
    echo "$sps $(( $(peak_kb "$out/time") / 1024 ))"
}

torch_run() { # threads batch [env] -> "samples/s peak_mb"
    env ${3:-} /usr/bin/time -v /usr/bin/python3 bench/torch_mlp.py --threads "$1" --batch-size "$2" \
        --epochs "$EPOCHS" >"$out/torch" 2>"$out/time"
    sps=$(sed -n 's/.*"samples_per_sec": \([0-9.]*\).*/\1/p' "$out/torch")
    echo "$sps $(( $(peak_kb "$out/time") / 1024 ))"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
printf '%-6s %-34s %12s %10s\n' batch setting samples/s peak_MB
for b in $BATCHES; do
    best_torch=0
    for setting in "1" "2" "2 OMP_WAIT_POLICY=PASSIVE"; do
        set -- $setting
        r=$(torch_run "$1" "$b" "${2:-}")
        printf '%-6s %-34s %12.0f %10s\n' "$b" "pytorch threads=$setting" ${r% *} ${r#* }
        best_torch=$(echo "$r $best_torch" | awk '{print ($1 > $3) ? $1 : $3}')
        torch_mem=${r#* }
    done
    for t in 1 2; do
        r=$(gradus_run "$t" "$b")
        printf '%-6s %-34s %12.0f %10s   %.2fx PyTorch best\n' "$b" "gradus threads=$t" ${r% *} ${r#* } \
            "$(echo "${r% *} $best_torch" | awk '{print $1 / $2}')"
    done
done
