#!/bin/sh
# gradus train and search under mpirun (Open MPI, over this machine's loopback). Train:
# N ranks train one model, equal to one process's within float rounding with --sync-bn,
# bit-identical to itself with --deterministic-reduce, and resumable. Search: every rank is a
# worker of one study, and the study equals the one a single process makes, whatever the
# number of ranks (2, and 3 for an uneven share of 6 trials); --workers is refused under
# mpirun; a gradus built without MPI says so when mpirun starts several. Skipped, saying
# so, when GRADUS was built without MPI or mpirun is missing (`make MPI=1` builds
# build/mpi/gradus; .ci/run installs Open MPI and runs this with it).
#
#   tests/mpi_test.sh path/to/mpi/gradus [path/to/plain/gradus]
set -u
GRADUS=$(realpath "${1:-build/mpi/gradus}")
PLAIN=${2:+$(realpath "$2")}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"
cd "$WORK" || exit 1

if ! command -v mpirun >/dev/null || ! ldd "$GRADUS" 2>/dev/null | grep -q libmpi; then
    echo "skipped: $GRADUS is built without MPI, or mpirun is missing (make MPI=1; scripts/install-deps.sh libopenmpi-dev openmpi-bin)"
    echo "$passed passed, $failed failed"
    exit 0
fi
# This machine's CI runs as root; Open MPI refuses root unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --oversubscribe --mca btl self,tcp,vader"

# same_figures A B: two files alike word for word, but for numbers, which may differ by
# 1e-4 of their size or by 2.1e-3 (one validation sample in 500 can flip on a near tie
# of two scores when the order of additions changes).
same_figures() {
    awk 'NR == FNR { a[FNR] = $0; next }
         {
             n = split(a[FNR], x, /[][ ,:{}"]+/); m = split($0, y, /[][ ,:{}"]+/)
             if (n != m) exit 1
             for (i = 1; i <= n; i++) {
                 if (x[i] == y[i]) continue
                 if (x[i] !~ /^[-0-9.e]+$/ || y[i] !~ /^[-0-9.e]+$/) exit 1
                 d = x[i] - y[i]; s = x[i] < 0 ? -x[i] : x[i]
                 if ((d < 0 ? -d : d) > (1e-4 * s > 2.1e-3 ? 1e-4 * s : 2.1e-3)) exit 1
             }
         }
         END { if (NR != 2 * FNR) exit 1 }' "$1" "$2"
}

# search "LAUNCHER GRADUS" FLAGS...: a small study (the first word list is split on purpose).
search() {
    launch=$1
    shift
    # shellcheck disable=SC2086
    $launch search --model "linear(16) relu linear(10)" --limit 2000 --val-size 500 --threads 1 \
        --batch-size 100 --param "lr=loguniform(1e-4, 3e-2)" --param "weight_decay=loguniform(1e-6, 1e-2)" \
        --trials 6 --epochs 2 --seed 5 "$@"
}
workers_of() { grep '"event":"started"' "$1" | sed 's/.*"pid":\([0-9]*\).*/\1/' | sort -u | wc -l; }

expect "one process (the MPI build, no launcher)" 0 search "$GRADUS" --out one
figures one/journal.jsonl >one.txt
for n in 2 3; do
    expect "mpirun -np $n gradus search" 0 search "$MPIRUN -np $n $GRADUS" --out "np$n"
    contains "... says $n workers" "$WORK/out" "^$n workers, 1 thread each"
    contains "... and rank 0 prints the table once" "$WORK/out" "^random: 6 of 6 trials: 6 finished"
    [ "$(grep -c '^random: 6 of 6' "$WORK/out")" -eq 1 ] && ok "... only once" || bad "... only once"
    w=$(workers_of "np$n/journal.jsonl")
    [ "$w" -eq "$n" ] && ok "$n processes trained trials" || bad "$w processes trained trials, not $n"
    figures "np$n/journal.jsonl" >"np$n.txt"
    cmp -s one.txt "np$n.txt" && ok "$n ranks give the one-process study, trial for trial" \
        || bad "$n ranks give the one-process study, trial for trial"
done
# ------------------------------------------------------------ data-parallel train
# One model on N ranks: 1550 training samples in global batches of 100 (the last of 50),
# shards of 50 on 2 ranks and 33/33/34 (16/17/17 for the last) on 3. Batch norm, dropout
# and SGD with momentum; a CNN with augmentation below.
COMPARE=$(dirname "$GRADUS")/examples/compare_models
train() {
    launch=$1
    shift
    # shellcheck disable=SC2086
    $launch train --limit 2050 --val-size 500 --batch-size 100 --threads 1 --seed 3 \
        --optim sgd --momentum 0.9 --lr 0.05 --schedule constant \
        --model "linear(64) bn relu dropout(0.3) linear(10)" "$@"
}
# near FILE_A FILE_B TOLERANCE: the models' tensors agree within TOLERANCE of each one's
# largest value.
near() { "$COMPARE" "$1" "$2" "$3" >"$WORK/cmp" 2>&1; }

expect "train: one process, 2 epochs" 0 train "$GRADUS" --epochs 2 --sync-bn --deterministic-reduce --out t1
for n in 2 3; do
    expect "mpirun -np $n gradus train --sync-bn --deterministic-reduce" 0 \
        train "$MPIRUN -np $n $GRADUS" --epochs 2 --sync-bn --deterministic-reduce --out "t$n"
    [ "$(grep -c '^run folder:' "$WORK/out")" -eq 1 ] && ok "... rank 0 alone prints" \
        || bad "... rank 0 alone prints"
    contains "... and tests" "$WORK/out" "^test accuracy"
    # Only the order of additions differs from one process (the shards' partial sums of
    # each gradient, the merged moments of batch norm): float32 rounding, 1e-7 of each
    # tensor's scale, grown by two epochs of steps; measured at most 6e-7.
    near t1/model.safetensors "t$n/model.safetensors" 1e-5 \
        && ok "... ends with the one-process weights within 1e-5 ($(tail -1 "$WORK/cmp"))" \
        || bad "... ends with the one-process weights within 1e-5 ($(tail -1 "$WORK/cmp"))"
    sed 's/.*"val_accuracy":\([0-9.]*\).*/\1/' t1/metrics.jsonl >acc1.txt
    sed 's/.*"val_accuracy":\([0-9.]*\).*/\1/' "t$n/metrics.jsonl" >"acc$n.txt"
    same_figures acc1.txt "acc$n.txt" && ok "... and its validation accuracy every epoch" \
        || bad "... and its validation accuracy every epoch ($(cat acc1.txt) against $(cat "acc$n.txt"))"
done
expect "mpirun -np 3 gradus train again" 0 \
    train "$MPIRUN -np 3 $GRADUS" --epochs 2 --sync-bn --deterministic-reduce --out t3again
cmp -s t3/model.safetensors t3again/model.safetensors && ok "... gives the same bits" \
    || bad "... gives the same bits"
expect "mpirun -np 2 with MPI_Allreduce's own order" 0 \
    train "$MPIRUN -np 2 $GRADUS" --epochs 2 --sync-bn --out t2mpi
near t1/model.safetensors t2mpi/model.safetensors 1e-5 && ok "... also within 1e-5 of one process" \
    || bad "... also within 1e-5 of one process ($(tail -1 "$WORK/cmp"))"
expect "mpirun -np 2 without --sync-bn (each rank's own statistics)" 0 \
    train "$MPIRUN -np 2 $GRADUS" --epochs 2 --deterministic-reduce --out t2local
near t1/model.safetensors t2local/model.safetensors 1e-3 && bad "... is not the one-process model" \
    || ok "... is not the one-process model ($(tail -1 "$WORK/cmp"))"

# Resume: 1 epoch, then --resume to 3, equals 3 epochs straight, bit for bit.
expect "mpirun -np 2: 3 epochs" 0 train "$MPIRUN -np 2 $GRADUS" --epochs 3 --sync-bn --deterministic-reduce --out full
expect "mpirun -np 2: 1 epoch" 0 train "$MPIRUN -np 2 $GRADUS" --epochs 1 --sync-bn --deterministic-reduce --out part
expect "mpirun -np 2 gradus train --resume --epochs 3" 0 $MPIRUN -np 2 "$GRADUS" train --resume part --epochs 3
contains "... says what changed" "$WORK/out" "resuming with --epochs 3 (was 1)"
cmp -s full/model.safetensors part/model.safetensors && ok "... ends with the uninterrupted run's bits" \
    || bad "... ends with the uninterrupted run's bits"

# A CNN with batch norm after convolutions and augmentation on 2 ranks.
CNN="conv(8,3,padding=1) bn relu maxpool(2) flatten linear(10)"
cnn() {
    launch=$1
    shift
    # shellcheck disable=SC2086
    $launch train --limit 1100 --val-size 300 --batch-size 64 --threads 1 --seed 4 --epochs 1 \
        --optim sgd --lr 0.05 --crop-padding 2 --hflip --sync-bn --deterministic-reduce \
        --model "$CNN" "$@"
}
expect "a CNN with augmentation, one process" 0 cnn "$GRADUS" --out c1
expect "... and on 2 ranks" 0 cnn "$MPIRUN -np 2 $GRADUS" --out c2
near c1/model.safetensors c2/model.safetensors 1e-5 && ok "... agree within 1e-5 ($(tail -1 "$WORK/cmp"))" \
    || bad "... agree within 1e-5 ($(tail -1 "$WORK/cmp"))"

# Refusals, said once by rank 0, and a divergence stops every rank at the same step.
expect "3 ranks on batches of 4 with batch norm exit 2" 2 train "$MPIRUN -np 3 $GRADUS" --epochs 1 --batch-size 4 --out small
contains "... saying each rank needs two samples" "$WORK/err" "3 ranks cannot share a batch of 2 samples"
[ "$(grep -c 'cannot share' "$WORK/err")" -eq 1 ] && ok "... once" || bad "... once"
expect "a divergence on 2 ranks exits 4" 4 train "$MPIRUN -np 2 $GRADUS" --epochs 1 --lr 1e9 --out div
contains "... saying where" "$WORK/err" "the loss became NaN or infinite at epoch 1"

# --ranks-per-trial 2 on 4 ranks: 2 workers (slots), each trial data-parallel on 2 ranks.
# Trials get the one-process study's parameters and seeds; their figures agree to float
# rounding (losses measured within 5e-6).
bnsearch() {
    search "$@" --model "linear(16) bn relu linear(10)" --sync-bn --deterministic-reduce
}
expect "a search with batch norm, one process" 0 bnsearch "$GRADUS" --out bn1
expect "mpirun -np 4 gradus search --ranks-per-trial 2" 0 bnsearch "$MPIRUN -np 4 $GRADUS" --ranks-per-trial 2 --out bn4
contains "... says 2 workers of 2 ranks" "$WORK/out" "^2 workers of 2 ranks, 1 thread each"
w=$(workers_of bn4/journal.jsonl)
[ "$w" -eq 2 ] && ok "... 2 slots trained trials" || bad "$w slots trained trials, not 2"
figures bn1/journal.jsonl >bn1.txt
figures bn4/journal.jsonl >bn4.txt
same_figures bn1.txt bn4.txt && ok "... the one-process study's trials, to rounding" \
    || bad "... the one-process study's trials, to rounding"
sed 's/0\.6/0.7/' bn4.txt >bn4-moved.txt
same_figures bn1.txt bn4-moved.txt && bad "... a moved figure is caught" || ok "... a moved figure is caught"
expect "ASHA, one process" 0 bnsearch "$GRADUS" --strategy asha --trials 9 --epochs 3 --out asha1
expect "ASHA on 2 slots of 2 ranks" 0 bnsearch "$MPIRUN -np 4 $GRADUS" --ranks-per-trial 2 \
    --strategy asha --trials 9 --epochs 3 --out asha4
figures asha1/journal.jsonl >asha1.txt
figures asha4/journal.jsonl >asha4.txt
same_figures asha1.txt asha4.txt && ok "... promotes and prunes the one-process study's trials" \
    || bad "... promotes and prunes the one-process study's trials"
expect "--ranks-per-trial 2 on 3 ranks exits 2" 2 search "$MPIRUN -np 3 $GRADUS" --ranks-per-trial 2 --out r3
contains "... naming the ranks to start" "$WORK/err" "not a multiple of 2; start mpirun -np 2 or 4"
expect "--ranks-per-trial 2 without mpirun exits 2" 2 search "$GRADUS" --ranks-per-trial 2 --out r1

expect "--workers 2 under mpirun exits 2" 2 search "$MPIRUN -np 2 $GRADUS" --workers 2 --out w2
contains "... saying each rank is one worker" "$WORK/err" "under mpirun each of the 2 ranks is one worker"
expect "--show under mpirun prints once" 0 $MPIRUN -np 2 "$GRADUS" search --show np2
[ "$(grep -c '^random: 6 of 6' "$WORK/out")" -eq 1 ] && ok "... from rank 0 alone" || bad "... from rank 0 alone"
if [ -n "$PLAIN" ]; then
    expect "a gradus built without MPI under mpirun -np 2 exits 2" 2 search "$MPIRUN -np 2 $PLAIN" --out plain
    contains "... saying to build it with MPI" "$WORK/err" "built without MPI: build it with make MPI=1"
    expect "... and its train too" 2 train "$MPIRUN -np 2 $PLAIN" --epochs 1 --out plaintrain
    contains "... saying to build it with MPI" "$WORK/err" "built without MPI: build it with make MPI=1"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
