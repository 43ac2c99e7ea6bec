#!/bin/sh
# Data-parallel scaling on this machine: the MLP and the CNN of compare_mlp.sh and
# compare_cnn.sh trained on Fashion-MNIST in global batches of 128 by 1 and by 2 ranks of
# one thread each (mpirun over shared memory, --sync-bn), with MPI_Allreduce and with the
# ordered sum of --deterministic-reduce: each setting's samples per second (the median of
# 3 runs), the speed-up over one rank, a step's milliseconds, the part of it spent in the
# gradient sum (waiting for the other rank included) and the gradient bytes summed. The
# inputs of docs/distributed.md's cluster model.
#
#   bench/compare_scaling.sh
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh libopenmpi-dev openmpi-bin
make -s MPI=1 build/mpi/bench/dist_step >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "CPU: $cpu, $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $(date +%F)"
field() { sed -n "s/.*\"$1\": \"*\([0-9.A-Za-z_]*\).*/\1/p"; }
# median3 CMD...: the run (of 3) with the median samples per second.
median3() {
    for i in 1 2 3; do "$@"; done |
        awk -F'"samples_per_sec": ' '{ split($2, a, ","); print a[1] "\t" $0 }' |
        sort -n | sed -n 2p | cut -f 2-
}
printf '%-4s %5s %-13s %10s %8s %8s %8s %10s\n' model ranks sum "samples/s" speed-up \
    "step ms" "sum ms" "sum bytes"
for model in mlp cnn; do
    steps=$([ "$model" = mlp ] && echo 300 || echo 30)
    base=""
    for ranks in 1 2; do
        for reduce in "" --deterministic-reduce; do
            [ "$ranks" -eq 1 ] && [ -n "$reduce" ] && continue
            # shellcheck disable=SC2086
            line=$(median3 mpirun --oversubscribe --mca btl self,vader -np "$ranks" \
                build/mpi/bench/dist_step "$model" 128 "$steps" $reduce)
            rate=$(echo "$line" | field samples_per_sec)
            base=${base:-$rate}
            printf '%-4s %5s %-13s %10.0f %7.2fx %8.2f %8.2f %10s\n' "$model" "$ranks" \
                "$([ "$ranks" -eq 1 ] && echo none || echo "$line" | field reduce)" "$rate" "$(echo "$rate / $base" | bc -l)" \
                "$(echo "$line" | field step_ms)" "$(echo "$line" | field sum_ms)" \
                "$(echo "$line" | field sum_bytes)"
        done
    done
done
