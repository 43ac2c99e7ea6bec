#!/bin/sh
# gradus search on the real Fashion-MNIST, small (2000 training images, one thread a
# trial): the study folder, the table and --export-best, the same study from 1 and 2
# workers (random and ASHA), a study killed with kill -9 and resumed equal to one never
# killed, the lecture's warnings and automatic stops, and each refusal's exit code.
#
#   tests/search_test.sh path/to/gradus
set -u
GRADUS=$(realpath "${1:-build/release/gradus}")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"
cd "$WORK" || exit 1

MLP="linear(32) relu linear(10)"
FIXED="--limit 2000 --val-size 500 --threads 1 --batch-size 100"
LR="lr=loguniform(1e-4, 3e-2)"
WD="weight_decay=loguniform(1e-6, 1e-2)"
search() { "$GRADUS" search --model "$MLP" $FIXED --param "$LR" --param "$WD" "$@"; }


# ---------------------------------------------------------------- a study
expect "gradus search --help exits 0" 0 "$GRADUS" search --help
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "its help fits 80 columns" || bad "its help fits 80 columns"
expect "a random study of 4 trials exits 0" 0 search --trials 4 --epochs 2 --out s1 --export-best best.sh
for f in study.json journal.jsonl trials/0000/model.safetensors trials/0003/metrics.jsonl; do
    [ -s "s1/$f" ] && ok "the study folder holds $f" || bad "the study folder holds $f"
done
contains "study.json keeps the space as given" s1/study.json '"lr=loguniform(1e-4, 3e-2)"'
contains "study.json's seed is a string" s1/study.json '"seed":[[:space:]]*"1"'
contains "the table ranks the trials" "$WORK/out" "^   1  00[0-9][0-9]  finished       2  0\.[0-9]* *lr="
[ "$(grep -c '"event":"finished"' s1/journal.jsonl)" -eq 4 ] && ok "the journal ends every trial" \
    || bad "the journal ends every trial"
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "the table fits 80 columns" || bad "the table fits 80 columns"
contains "--export-best writes the train command" best.sh "^gradus train .*--lr [0-9.e-]* .*--seed [0-9]*"
contains "... with the study's one validation split" best.sh " --split-seed [1-9][0-9]*"
# Every trial has its own seed but the study's split seed: one validation set for all.
splits=$(cat s1/trials/*/config.json | sed -n 's/.*"split_seed":[[:space:]]*"\([0-9]*\)".*/\1/p' | sort -u)
seeds=$(cat s1/trials/*/config.json | sed -n 's/.*"seed":[[:space:]]*"\([0-9]*\)".*/\1/p' | sort -u | wc -l)
[ "$(echo "$splits" | wc -l)" -eq 1 ] && [ "$splits" != 0 ] && [ "$seeds" -eq 4 ] \
    && ok "the 4 trials have 4 seeds and one split seed ($splits)" \
    || bad "the 4 trials have 4 seeds and one split seed (split seeds: $splits; seeds: $seeds)"

# The exported command trains the best trial again, bit for bit: the same best accuracy.
best=$(sed -n 's/^   1  \([0-9]*\)  finished *[0-9]*  \(0\.[0-9]*\).*/\2/p' "$WORK/out")
sed "s|^gradus |\"$GRADUS\" |; s|\$| --out again|" best.sh >again.sh
expect "the exported command runs" 0 sh again.sh
again=$(sed -n 's/.*"best_val_accuracy":[[:space:]]*\([0-9.]*\).*/\1/p' again/summary.json)
[ -n "$best" ] && awk -v a="$again" -v b="$best" 'BEGIN { exit !(sprintf("%.4f", a) == b) }' \
    && ok "it reaches the trial's validation accuracy ($best)" \
    || bad "it reaches the trial's validation accuracy ($best, again $again)"
expect "--show prints the table again" 0 "$GRADUS" search --show s1
contains "with the counts" "$WORK/out" "^random: 4 of 4 trials: 4 finished; 8 epochs in all"

# ---------------------------------------------------------------- reproducible
for strategy in random asha; do
    expect "$strategy with 1 worker" 0 search --strategy "$strategy" --trials 6 --epochs 3 --seed 5 --workers 1 --out "$strategy-1"
    expect "$strategy with 2 workers" 0 search --strategy "$strategy" --trials 6 --epochs 3 --seed 5 --workers 2 --out "$strategy-2"
    figures "$strategy-1/journal.jsonl" >"$strategy-1.txt"
    figures "$strategy-2/journal.jsonl" >"$strategy-2.txt"
    cmp -s "$strategy-1.txt" "$strategy-2.txt" && ok "$strategy: 1 and 2 workers give the same trials and figures" \
        || bad "$strategy: 1 and 2 workers give the same trials and figures"
done
grep -q '"end": "pruned"' asha-1.txt && ok "asha prunes trials at a rung" || bad "asha prunes trials at a rung"
epochs=$(grep -c '"event":"epoch"' asha-1/journal.jsonl)
[ "$epochs" -lt 18 ] && ok "asha trains fewer epochs than 6 full trials ($epochs of 18)" \
    || bad "asha trains fewer epochs than 6 full trials ($epochs of 18)"

# ---------------------------------------------------------------- kill -9, resume
BIG="--limit 6000 --trials 4 --epochs 3 --seed 9"
expect "an uninterrupted study" 0 search $BIG --workers 2 --out whole
"$GRADUS" search --model "$MLP" $FIXED --param "$LR" --param "$WD" $BIG --workers 2 --out cut >/dev/null 2>&1 &
pid=$!
for _ in $(seq 300); do # until the first trial has ended, and before the last has
    grep -q '"event":"finished"' cut/journal.jsonl 2>/dev/null && break
    sleep 0.05
done
pkill -9 -P "$pid"; kill -9 "$pid"; wait "$pid" 2>/dev/null
before=$(grep -c '"event":"finished"' cut/journal.jsonl)
[ "$before" -ge 1 ] && [ "$before" -lt 4 ] && ok "kill -9 stopped the study midway ($before of 4 trials ended)" \
    || bad "kill -9 stopped the study midway ($before of 4 trials ended)"
grep '"event":"finished"' cut/journal.jsonl | sed 's/.*"trial":\([0-9]*\).*/\1/' >ended.txt
expect "--resume finishes it" 0 "$GRADUS" search --resume cut --workers 2
figures whole/journal.jsonl >whole.txt
figures cut/journal.jsonl >cut.txt
cmp -s whole.txt cut.txt && ok "the resumed study equals the uninterrupted one" \
    || bad "the resumed study equals the uninterrupted one"
rerun=0
while read -r t; do
    n=$(grep -c "\"event\":\"started\",\"trial\":$t," cut/journal.jsonl)
    [ "$n" -eq 1 ] || rerun=$((rerun + 1))
done <ended.txt
[ "$rerun" -eq 0 ] && ok "no trial that had ended was started again" || bad "$rerun ended trials started again"

# ---------------------------------------------------------------- the lecture's warnings
expect "a range that is too low" 0 "$GRADUS" search --model "$MLP" $FIXED --strategy grid \
    --param "lr=loguniform(1e-6, 1e-4)" --epochs 2 --out edge
contains "the best value at its range's edge is said" "$WORK/out" \
    "warning: the best lr, 0.0001, lies in the top tenth of its range"
contains "with a wider range to try" "$WORK/out" "0.0001\]: the best may be beyond it; try a range up to 0.001"
expect "learning rates that blow up" 0 "$GRADUS" search --model "$MLP" $FIXED --optim sgd --param "lr=loguniform(50, 100)" --trials 3 --epochs 1 --out blow
contains "each trial is stopped as diverged" "$WORK/out" "3 diverged"
contains "and most trials diverged is said" "$WORK/out" "warning: 3 of 3 trials diverged"
contains "the journal says why" blow/journal.jsonl '"event":"diverged".*"message":"loss .*above 3 x the first batch'"'"'s\|"event":"diverged".*"message"'
expect "two repeats of each configuration" 0 search --trials 2 --repeats 2 --epochs 1 --out rep
contains "the table gives a 95% interval" "$WORK/out" "0\.[0-9]* +-0\.[0-9]*"
expect "coarse-to-fine in 3 stages" 0 search --strategy coarse-to-fine --trials 6 --epochs 4 --out c2f
contains "its later stages train longer" c2f/journal.jsonl '"event":"finished","trial":[0-9]*,"epoch":4'

# ---------------------------------------------------------------- refusals
expect "a bad --param exits 2" 2 search --param "dropout=uniformm(0, 1)" --out r1
contains "naming the flag and column" "$WORK/err" "--param 3, column"
printf 'lr=loguniform(1e-4, 1e-1)\nwidth=int(8, 4)\n' >bad.space
expect "a bad line of --space exits 2" 2 "$GRADUS" search --space bad.space --out r2
contains "naming the file and line" "$WORK/err" "bad.space line 2"
expect "a missing --space exits 1" 1 "$GRADUS" search --space none.space --out r3
expect "no parameter exits 2" 2 "$GRADUS" search --out r4
expect "--val-size 0 exits 2" 2 search --val-size 0 --out r5
expect "an --out that holds a study exits 2" 2 search --out s1
contains "and says how to go on" "$WORK/err" "gradus search --resume s1"
expect "--resume with a search flag exits 2" 2 "$GRADUS" search --resume s1 --trials 9
expect "--resume of a folder that is no study exits 2" 2 "$GRADUS" search --resume again
expect "--resume of a missing folder exits 1" 1 "$GRADUS" search --resume none
expect "an unknown --strategy exits 2" 2 search --strategy tpe --out r6
[ ! -e r1 ] && [ ! -e r5 ] && ok "a refused study leaves no folder" || bad "a refused study leaves no folder"
printf '{"event":"epoch","trial":0,"epoch":1,garbage\n' >>s1/journal.jsonl
expect "--show of a journal with a damaged line exits 0" 0 "$GRADUS" search --show s1
contains "and names the line" "$WORK/out" "journal.jsonl line [0-9]*: not JSON"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
