#!/bin/sh
# Inference, gradus against PyTorch in one run on this machine: the forward pass in
# evaluation mode (gradus: gd_model_forward after gd_model_set_training(false); PyTorch:
# model.eval() under torch.no_grad()) of the MLP and the CNN of compare_mlp.sh and
# compare_cnn.sh, at batches of 128 and 1000 and 1 and 2 threads; the CPU, OpenBLAS's
# kernel, each side's samples per second and their ratio.
#
#   bench/compare_inference.sh
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh python3-torch
make -s build/release/bench/infer_step >/dev/null
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "CPU: $cpu, $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $(date +%F)"
printf '%-5s %6s %8s %14s %14s %7s\n' model batch threads "gradus/s" "pytorch/s" ratio
rate() { sed -n 's/.*"samples_per_sec": \([0-9.]*\).*/\1/p'; }
best=""
for model in mlp cnn; do
    for batch in 128 1000; do
        gb=0 tb=0
        for threads in 1 2; do
            g=$(build/release/bench/infer_step "$model" "$batch" "$threads" | rate)
            t=$(cd bench && /usr/bin/python3 torch_infer.py "$model" "$batch" "$threads" | rate)
            printf '%-5s %6s %8s %14.0f %14.0f %6.2fx\n' "$model" "$batch" "$threads" "$g" "$t" \
                "$(echo "$g / $t" | bc -l)"
            gb=$(echo "if ($g > $gb) $g else $gb" | bc -l)
            tb=$(echo "if ($t > $tb) $t else $tb" | bc -l)
        done
        best="$best$(printf '%-5s %6s %8s %14.0f %14.0f %6.2fx' "$model" "$batch" best "$gb" "$tb" \
            "$(echo "$gb / $tb" | bc -l)")
"
    done
done
echo "each side at its best thread count:"
printf '%s' "$best"
