#!/bin/sh
# Tests of `gradus report` on real short runs (Debian's dataset-fashion-mnist): the page of a
# monitored run, of an interrupted one and of one without --monitor, each loaded by a real
# browser (Debian's chromium, headless) that must log nothing to its console and lay out
# every chart with data marks; a screenshot of the full report is kept beside the binary
# (BUILD/report.png). Also the command's refusals, confusion.json and train's sparkline.
#
#   tests/report_test.sh path/to/gradus
#
# Without chromium the browser checks are skipped, saying so ("skipped: chromium not
# installed"), so that `make test` works on a fresh machine; with GRADUS_TEST_BROWSER=required
# (as .ci/run sets, after installing it) a missing browser is a failure.
set -u
GRADUS=$(realpath "${1:-build/release/gradus}")
BUILD=$(dirname "$GRADUS")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"

RUN="--limit 2000 --val-size 500 --batch-size 100 --epochs 2 --threads 2"

# ---------------------------------------------------------------- runs to report on
expect "train --monitor=5 (the report's full run)" 0 env LANG=C.UTF-8 LC_ALL= "$GRADUS" train $RUN --monitor=5 --out "$WORK/full"
grep -q '^train loss [▁▂▃▄▅▆▇█]\{2,60\} .*(per step, 30 values)$' "$WORK/out" \
    && ok "train ends with a sparkline of its 30 steps' loss in block characters" \
    || bad "train ends with a sparkline of its 30 steps' loss in block characters"
contains "train prints the command that makes the report" "$WORK/out" "^report: gradus report $WORK/full$"
cp "$WORK/out" "$WORK/train-full.out"
expect "gradus check --out adds its results to the run folder" 0 "$GRADUS" check --limit 2000 --threads 2 --out "$WORK/full"
expect "train without --monitor" 0 env LANG=C LC_ALL= "$GRADUS" train $RUN --out "$WORK/plain"
grep -q '^train loss [_.:=+*#-]\{2\} .* -> .*(per epoch, 2 values)$' "$WORK/out" \
    && ok "without a UTF-8 locale the sparkline is ASCII, per epoch" || bad "without a UTF-8 locale the sparkline is ASCII, per epoch"

# confusion.json: ten classes with Fashion-MNIST's names, every test image counted once.
contains "confusion.json has the class count" "$WORK/full/confusion.json" '"classes":[[:space:]]*10'
contains "confusion.json names Fashion-MNIST's classes" "$WORK/full/confusion.json" '"T-shirt/top", "Trouser"'
total=$(tr -d '\n' <"$WORK/full/confusion.json" | sed 's/.*"matrix"://' | tr -c '0-9' ' ' | awk '{for (i = 1; i <= NF; i++) s += $i} END {print s}')
[ "$total" = 10000 ] && ok "the confusion matrix counts the 10000 test images" || bad "the confusion matrix counts $total images, not 10000"

# Killed during its second epoch, and a line cut short at the end of metrics.jsonl too.
"$GRADUS" train --limit 6000 --val-size 500 --batch-size 50 --epochs 50 --threads 2 --monitor=5 \
    --out "$WORK/killed" >/dev/null 2>&1 &
pid=$!
while [ "$(cat "$WORK/killed/metrics.jsonl" 2>/dev/null | wc -l)" -lt 1 ] && kill -0 $pid 2>/dev/null; do sleep 0.05; done
sleep 0.2
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
printf '{"epoch":2,"train_loss":0.4' >>"$WORK/killed/metrics.jsonl"
[ ! -e "$WORK/killed/summary.json" ] && ok "the killed run has no summary.json" || bad "the killed run has no summary.json"

# ---------------------------------------------------------------- the command
expect "report of the full run" 0 "$GRADUS" report "$WORK/full"
contains "report prints where it wrote the page" "$WORK/out" "^report: $WORK/full/report.html"
expect "report --output FILE" 0 "$GRADUS" report "$WORK/plain" --output "$WORK/plain.html"
[ -s "$WORK/plain.html" ] && ok "--output writes the page there" || bad "--output writes the page there"
expect "report of the run without --monitor" 0 "$GRADUS" report "$WORK/plain"
expect "report of the killed run" 0 "$GRADUS" report "$WORK/killed"
ls -a "$WORK/full" | grep -q '\.tmp\|~$' && bad "no temporary file left by the report" || ok "no temporary file left by the report"

H="$WORK/full/report.html"
# Self-contained: nothing fetched from anywhere (the SVG namespace is a name, not a fetch).
grep -q -i -E '<link|@import|(src|href)="(https?:)?//|url\((https?:)?//' "$H" \
    && bad "the page loads nothing from elsewhere" || ok "the page loads nothing from elsewhere"
contains "the page has inline CSS" "$H" "<style>"
contains "the page has inline JavaScript" "$H" "<script>"
contains "the confusion matrix has the class names" "$H" "Ankle boot"
contains "the update ratio chart marks the 1e-3 band" "$H" "about 1e-3: healthy"
contains "values are readable on hover (titles)" "$H" "<title>train"
contains "the check results are there" "$H" "loss at initialisation"
for f in "$WORK"/full/*.svg "$WORK"/full/*.png; do
    [ -e "$f" ] || continue
    n=$(basename "$f")
    case $n in *.png) contains "$n is embedded as a data: URI" "$H" 'src="data:image/png;base64,iVBORw0KGgo' ;;
                *.svg) contains "$n is embedded inline" "$H" "id=\"figure-$n\"" ;; esac
done
P="$WORK/plain/report.html"
contains "without --monitor the page says the monitor is absent" "$P" 'id="absent-monitor"'
contains "... and how to get it" "$P" "gradus train --monitor"
contains "... and that check.json is absent, with its command" "$P" "gradus check --out DIR"
K="$WORK/killed/report.html"
contains "the killed run's page says it did not finish" "$K" "Not finished: no summary.json yet"
contains "... that metrics.jsonl's cut line was left out" "$K" "metrics.jsonl: its last line was incomplete"
contains "... and how to continue it" "$K" "gradus train --resume"

# Figures someone put in the folder: an SVG inline, a PNG as a data: URI.
cp -r "$WORK/plain" "$WORK/figs"
printf '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect class="bar" width="40" height="20" fill="#4e79a7"/></svg>\n' >"$WORK/figs/lr_range.svg"
printf 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYPgPAAEDAQAIicLsAAAAAElFTkSuQmCC' | base64 -d >"$WORK/figs/first_batch.png"
expect "report of a folder with a figure and a picture" 0 "$GRADUS" report "$WORK/figs"
contains "an SVG in the folder is inline, without its XML prolog" "$WORK/figs/report.html" '<svg xmlns="http://www.w3.org/2000/svg" width="40"'
contains "a PNG in the folder is a data: URI" "$WORK/figs/report.html" 'src="data:image/png;base64,iVBORw0KGgo'

# Bad input.
mkdir -p "$WORK/empty"
expect "a folder that is not a run exits 2" 2 "$GRADUS" report "$WORK/empty"
contains "... saying what a run folder holds" "$WORK/err" "not a run folder: it has neither config.json nor metrics.jsonl"
expect "a folder that does not exist exits 1 (it cannot be read)" 1 "$GRADUS" report "$WORK/nowhere"
expect "report without a folder exits 2" 2 "$GRADUS" report
cp -r "$WORK/plain" "$WORK/broken"
sed -i '1s/.*/{"epoch":1,"train_loss":/' "$WORK/broken/metrics.jsonl"
expect "a malformed line of metrics.jsonl exits 3" 3 "$GRADUS" report "$WORK/broken"
contains "... naming the file and the line" "$WORK/err" "broken/metrics.jsonl:1: not a JSON object"

# ---------------------------------------------------------------- in a browser
# Without a browser: say so and end here (check_lib.sh's find_browser).
if ! find_browser; then
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

browse "$H" "$WORK/full.dom"
console_clean "chromium loads the full report with a silent console" "$WORK/full.dom"
for id in chart-loss chart-accuracy chart-step-loss chart-lr chart-activations chart-hist-0 \
          chart-saturation chart-update-ratio chart-grad-norm chart-confusion; do
    drawn "the full report draws $id" "$WORK/full.dom" "$id"
done
browse "$P" "$WORK/plain.dom"
console_clean "chromium loads the report of a run without --monitor with a silent console" "$WORK/plain.dom"
for id in chart-loss chart-accuracy chart-lr chart-confusion; do
    drawn "without --monitor the report still draws $id" "$WORK/plain.dom" "$id"
done
browse "$K" "$WORK/killed.dom"
console_clean "chromium loads the killed run's report with a silent console" "$WORK/killed.dom"
for id in chart-loss chart-step-loss chart-update-ratio; do
    drawn "the killed run's report draws $id" "$WORK/killed.dom" "$id"
done
browse "$WORK/figs/report.html" "$WORK/figs.dom"
console_clean "chromium loads a report with figures with a silent console" "$WORK/figs.dom"
drawn "the PNG is drawn" "$WORK/figs.dom" "picture-first_batch.png"

screenshot "$H" "$BUILD/report.png"
[ -s "$BUILD/report.png" ] && ok "a screenshot of the full report is in $BUILD/report.png" \
    || bad "a screenshot of the full report is in $BUILD/report.png"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
