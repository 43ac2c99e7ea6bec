#!/bin/sh
# gradus vs PyTorch on the same CNN, the same data (Fashion-MNIST as 1x28x28 images), the
# same optimiser (SGD, lr 0.01, momentum 0.9) and batch size, in one run on this machine.
# Prints training-loop throughput, the ratio to PyTorch's best thread setting, and peak
# memory (maximum resident set size). When OPENBLAS_CORETYPE is set, gradus also runs with
# it (and OPENBLAS_L2_SIZE) unset, letting OpenBLAS pick its kernel for this processor.
#
#   bench/compare_cnn.sh [BATCH...]        (default: 128)
#   LIMIT=N   use the first N examples (5,000 of them split off for validation)  [30000]
#             LIMIT=0: all 60,000 (one epoch then takes PyTorch minutes per setting)
set -eu
cd "$(dirname "$0")/.."
make -s build/release/gradus >/dev/null
BATCHES=${*:-128}
LIMIT=${LIMIT:-30000}
SPEC='conv(32,3,pad=1) bn relu maxpool(2) conv(64,3,pad=1) bn relu maxpool(2) flatten linear(128) bn relu dropout(0.3) linear(10)'
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
limit_flag=$([ "$LIMIT" -gt 0 ] && echo "--limit $LIMIT" || true)

peak_kb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }

gradus_run() { # threads batch [env] -> "samples/s peak_mb"
    rm -rf "$out/run"
    env ${3:-} /usr/bin/time -v build/release/gradus train --model "$SPEC" --optim sgd --lr 0.01 \
        --momentum 0.9 --schedule constant --preprocess none --epochs 1 --patience 0 \
        --batch-size "$2" --threads "$1" $limit_flag --out "$out/run" >/dev/null 2>"$out/time"
    sps=$(sed -n 's/.*"train_samples_per_sec":[[:space:]]*\([0-9.]*\).*/\1/p' "$out/run/summary.json")
    echo "$sps $(( $(peak_kb "$out/time") / 1024 ))"
}

torch_run() { # threads batch [env] -> "samples/s peak_mb"
    env ${3:-} /usr/bin/time -v /usr/bin/python3 bench/torch_cnn.py --threads "$1" --batch-size "$2" \
        --epochs 1 --limit "$LIMIT" >"$out/torch" 2>"$out/time"
    sps=$(sed -n 's/.*"samples_per_sec": \([0-9.]*\).*/\1/p' "$out/torch")
    echo "$sps $(( $(peak_kb "$out/time") / 1024 ))"
}

kernel() { # [env] -> OpenBLAS's kernel for gradus
    env ${1:-} OPENBLAS_VERBOSE=2 build/release/gradus --version 2>&1 | sed -n 's/^Core: //p' | head -1
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (gradus's OpenBLAS kernel: $(kernel))"
echo "model: $SPEC"
echo "data: Fashion-MNIST, ${LIMIT:-60000} examples less 5,000 for validation; 1 epoch timed"
printf '%-6s %-44s %12s %10s\n' batch setting samples/s peak_MB
row() { # batch label "samples/s peak_mb" [best]
    printf '%-6s %-44s %12.0f %10s' "$1" "$2" ${3% *} ${3#* }
    [ -z "${4:-}" ] || printf '   %.2fx PyTorch best' "$(echo "${3% *} $4" | awk '{print $1 / $2}')"
    echo
}
for b in $BATCHES; do
    best_torch=0
    for setting in "1" "2" "2 OMP_WAIT_POLICY=PASSIVE"; do
        set -- $setting
        r=$(torch_run "$1" "$b" "${2:-}")
        row "$b" "pytorch threads=$setting" "$r"
        best_torch=$(echo "$r $best_torch" | awk '{print ($1 > $3) ? $1 : $3}')
    done
    for t in 1 2; do
        row "$b" "gradus threads=$t" "$(gradus_run "$t" "$b")" "$best_torch"
    done
    if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
        unset_env="-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"
        for t in 1 2; do
            row "$b" "gradus threads=$t, CORETYPE unset ($(kernel "$unset_env"))" \
                "$(gradus_run "$t" "$b" "$unset_env")" "$best_torch"
        done
    fi
done
