#!/bin/sh
# gradus search under mpirun (Open MPI, over this machine's loopback): every rank is a
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
expect "--workers 2 under mpirun exits 2" 2 search "$MPIRUN -np 2 $GRADUS" --workers 2 --out w2
contains "... saying each rank is one worker" "$WORK/err" "under mpirun each of the 2 ranks is one worker"
expect "--show under mpirun prints once" 0 $MPIRUN -np 2 "$GRADUS" search --show np2
[ "$(grep -c '^random: 6 of 6' "$WORK/out")" -eq 1 ] && ok "... from rank 0 alone" || bad "... from rank 0 alone"
if [ -n "$PLAIN" ]; then
    expect "a gradus built without MPI under mpirun -np 2 exits 2" 2 search "$MPIRUN -np 2 $PLAIN" --out plain
    contains "... saying to build it with MPI" "$WORK/err" "built without MPI: build it with make MPI=1"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
