#!/bin/sh
# Builds the libFuzzer targets (fuzz/build.mk, into build/fuzz) and runs each for SECONDS
# (default 30, or $FUZZ_SECONDS), two at a time, each on a scratch copy of its seed
# corpus and its saved regressions, so that the checked-in corpus never grows. Fails on
# any crash, leak, sanitizer report or timeout, naming the target and the reproducer.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      e.g. fuzz/run.sh 600 spec config
#
# FUZZ_JOBS (default 2) sets how many targets run at once; FUZZ_KEEP=1 keeps the grown
# corpora in build/fuzz/work/TARGET/corpus for a look afterwards.
set -u
cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-30}}
[ $# -gt 0 ] && shift
targets=${*:-"spec config model checkpoint idx idx_gz csv cifar10 report shape space journal"}
jobs=${FUZZ_JOBS:-2}
out=build/fuzz

echo "fuzz: building the targets into $out"
if ! make --no-print-directory -f fuzz/build.mk -j2 >"$out.build.log" 2>&1; then
    cat "$out.build.log"
    echo "fuzz: the build failed" >&2
    exit 1
fi

# Inputs of 2 files need room for two CIFAR-10 records; the rest keep libFuzzer's
# default (the largest seed, at least 4096 bytes).
max_len() {
    case $1 in
    cifar10 | report) echo 8192 ;;
    *) echo 4096 ;;
    esac
}

# The dictionary of tokens a target's inputs are made of (fuzz/dicts/).
dict_for() {
    case $1 in
    model | checkpoint) echo fuzz/dicts/safetensors.dict ;;
    idx | idx_gz) echo fuzz/dicts/idx.dict ;;
    *) echo "fuzz/dicts/$1.dict" ;;
    esac
}

# Runs one target; its log goes to $out/work/TARGET/log.
run_target() {
    t=$1
    work=$out/work/$t
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp fuzz/corpus/"$t"/* "$work/corpus/"
    set -- "$out/bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
        -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$work/artifacts/"
    dict=$(dict_for "$t")
    [ -f "$dict" ] && set -- "$@" -dict="$dict"
    # The config reader prints the command line's messages on stderr: keep them out.
    [ "$t" = config ] && set -- "$@" -close_fd_mask=2
    # The report prints its path on stdout and its refusals on stderr.
    [ "$t" = report ] && set -- "$@" -close_fd_mask=3
    set -- "$@" "$work/corpus"
    [ -d "fuzz/regressions/$t" ] && set -- "$@" "fuzz/regressions/$t"
    nice "$@" >"$work/log" 2>&1
    echo $? >"$work/status"
}

# The figures at the end of a run: executions per second, coverage, corpus size.
summary() {
    log=$1
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    line=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov:' | tail -n 1)
    cov=$(echo "$line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$line" | sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
    echo "exec/s ${execs:-?}  cov ${cov:-?}  ft ${ft:-?}  corpus ${corp:-?}"
}

failed=0
set -- $targets
while [ $# -gt 0 ]; do
    batch=""
    i=0
    while [ $# -gt 0 ] && [ $i -lt "$jobs" ]; do
        batch="$batch $1"
        shift
        i=$((i + 1))
    done
    echo "fuzz: running$batch for ${seconds}s each"
    for t in $batch; do
        run_target "$t" &
    done
    wait
    for t in $batch; do
        work=$out/work/$t
        status=$(cat "$work/status")
        # slow-unit-* files only say that an input took seconds: not a failure.
        crashes=$(ls "$work/artifacts" 2>/dev/null | grep -E '^(crash|leak|timeout|oom)-')
        if [ "$status" -ne 0 ] || [ -n "$crashes" ]; then
            failed=1
            echo "fuzz: $t FAILED (exit $status); its log is $work/log:" >&2
            grep -E -A 30 'ERROR: |runtime error:|fuzz contract broken|ALARM|==[0-9]+==' "$work/log" | head -n 60 >&2
            for c in $crashes; do
                echo "fuzz: $t reproducer: $work/artifacts/$c (replay: $out/bin/fuzz_$t $work/artifacts/$c)" >&2
            done
        else
            echo "fuzz: $t ok: $(summary "$work/log")"
        fi
        [ "${FUZZ_KEEP:-0}" = 1 ] || rm -rf "$work/corpus"
    done
done
[ $failed -eq 0 ] && echo "fuzz: every target ran clean"
exit $failed
