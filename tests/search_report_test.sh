#!/bin/sh
# Tests of `gradus report STUDY_DIR` on a real short study (Debian's dataset-fashion-mnist,
# 2000 training images): the page and each trial's own page, the table against
# `gradus search --show`, the best trial's command against --export-best, the lecture's
# warnings and the journal's, a study cut short, the refusals' exit codes; then Debian's
# chromium loads the page with a silent console and lays out every chart (skipped, saying
# so, without chromium; required under GRADUS_TEST_BROWSER=required). A screenshot goes to
# BUILD/search_report.png.
#
#   tests/search_report_test.sh path/to/gradus
set -u
GRADUS=$(realpath "${1:-build/release/gradus}")
BUILD=$(dirname "$GRADUS")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"
cd "$WORK" || exit 1

FIXED="--limit 2000 --val-size 500 --threads 1 --batch-size 100"
search() {
    "$GRADUS" search --model "linear({width}) relu linear(10)" $FIXED \
        --param "lr=loguniform(1e-4, 3e-2)" --param "weight_decay=loguniform(1e-6, 1e-2)" \
        --param "width=logint(8, 64)" --param "optim=choice(sgd, adam)" "$@"
}
# unescaped FILE: the text of the page's "To train it again" command, as a shell reads it.
train_again() {
    python3 -c 'import html, re, sys
m = re.search(r"To train it again: <code>(.*?)</code>", open(sys.argv[1]).read())
print(html.unescape(m.group(1)) if m else "")' "$1"
}

# ---------------------------------------------------------------- a study's page
expect "a study of 6 trials" 0 search --trials 6 --epochs 2 --out s
expect "gradus report STUDY_DIR" 0 "$GRADUS" report s
contains "says where the page is and how many trials' pages it wrote" "$WORK/out" \
    "^report: s/report.html ([0-9]* KB), with 6 trials' own pages$"
tail -c 8 s/report.html | grep -q '</html>' && ok "the page is whole HTML" || bad "the page is whole HTML"
pages=$(ls s/trials/*/report.html 2>/dev/null | wc -l)
[ "$pages" -eq 6 ] && ok "each trial's folder has its own page" || bad "$pages trial pages, not 6"
grep -q 'src="http\|href="http\|<link ' s/report.html && bad "the page loads nothing from anywhere" \
    || ok "the page loads nothing from anywhere"
rows=$(grep -c '^<tr[^>]*><td class="num">' s/report.html)
[ "$rows" -eq 6 ] && ok "the table has a row per trial" || bad "the table has $rows rows, not 6"
links=$(grep -o 'href="trials/[0-9]*/report.html"' s/report.html | sort -u | wc -l)
[ "$links" -eq 6 ] && ok "each row links to its trial's page" || bad "$links trial links, not 6"

expect "search --show of the same study" 0 "$GRADUS" search --show s --export-best best.sh
show_best=$(awk '$1 == 1 && $2 ~ /^[0-9]+$/ {print $2; exit}' "$WORK/out")
page_best=$(sed -n 's/^<tr class="best"><td class="num">1<\/td><td><a href="trials\/\([0-9]*\)\/.*/\1/p' s/report.html)
[ -n "$show_best" ] && [ "$show_best" = "$page_best" ] \
    && ok "the page's best trial is --show's ($show_best)" || bad "page's best '$page_best', --show's '$show_best'"
[ "$(train_again s/report.html)" = "$(cat best.sh)" ] \
    && ok "the page's train command is --export-best's" || bad "the page's train command is --export-best's"
for state in finished; do
    contains "the table says each trial's state ($state)" s/report.html "class=\"s-$state\""
done
contains "the facts list the search space" s/report.html "optim=choice(sgd, adam)"
contains "the slices draw a choice by its options" s/report.html '>sgd</text>'
expect "--output elsewhere" 0 "$GRADUS" report s --output "$WORK/elsewhere.html"
[ -s "$WORK/elsewhere.html" ] && ok "... writes the page there" || bad "... writes the page there"
leftovers=$(find s -name '*.tmp*' | wc -l)
[ "$leftovers" -eq 0 ] && ok "no temporary file is left in the study" || bad "$leftovers temporary files left"
expect "a trial's folder is still a run's report" 0 "$GRADUS" report s/trials/0000
contains "... its own page" "$WORK/out" "^report: s/trials/0000/report.html"

# ---------------------------------------------------------------- warnings
expect "a study whose best lr is at its range's top" 0 "$GRADUS" search --model "linear(16) relu linear(10)" \
    $FIXED --strategy grid --param "lr=loguniform(1e-6, 1e-4)" --epochs 1 --out edge
expect "its report" 0 "$GRADUS" report edge
contains "the page gives the edge-of-range warning" edge/report.html \
    "the best lr, 0.0001, lies in the top tenth of its range \[1e-06, 0.0001\]"
cp -r s damaged
sed -i '3a this line is not JSON' damaged/journal.jsonl
expect "a journal with a damaged line" 0 "$GRADUS" report damaged
contains "the page lists the journal's warning with its line" damaged/report.html "<li>[^<]*damaged/journal.jsonl line 4: not JSON"

# A study cut short: its journal up to a trial's first epoch.
mkdir cut && cp s/study.json cut/
awk '{print} /"event":"epoch"/ {exit}' s/journal.jsonl >cut/journal.jsonl
expect "a study cut short" 0 "$GRADUS" report cut
contains "says which trials are still running" cut/report.html "1 running"
contains "the table shows the running trial" cut/report.html 'class="s-running"'

# ---------------------------------------------------------------- refusals
expect "a folder that does not exist exits 1" 1 "$GRADUS" report nowhere
mkdir empty
expect "a folder that is neither a run nor a study exits 2" 2 "$GRADUS" report empty
contains "... saying what either holds" "$WORK/err" "nor a study's study.json"
mkdir bad1 && echo 'not json' >bad1/study.json && : >bad1/journal.jsonl
expect "a study.json that is not JSON exits 3" 3 "$GRADUS" report bad1
contains "... naming the file" "$WORK/err" "bad1/study.json: not JSON"
mkdir bad2 && sed 's/"trials":[[:space:]]*[0-9]*/"trials": 0/' s/study.json >bad2/study.json && : >bad2/journal.jsonl
expect "a study.json with impossible options exits 3" 3 "$GRADUS" report bad2
contains "... naming the file and the option" "$WORK/err" "bad2/study.json: --trials 0"
mkdir nojournal && cp s/study.json nojournal/
expect "a study without its journal exits 1" 1 "$GRADUS" report nojournal
contains "... naming the journal" "$WORK/err" "nojournal/journal.jsonl"

# ---------------------------------------------------------------- in a browser
if ! find_browser; then
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi
browse "$WORK/s/report.html" "$WORK/s.dom"
console_clean "chromium loads the study's page with a silent console" "$WORK/s.dom"
for id in study-best study-curves slice-0 slice-1 slice-2 slice-3 pair-0-1 pair-0-2 pair-1-2 parallel; do
    drawn "the study's page draws $id" "$WORK/s.dom" "$id"
done
browse "$WORK/cut/report.html" "$WORK/cut.dom"
console_clean "chromium loads the cut study's page with a silent console" "$WORK/cut.dom"
browse "$WORK/s/trials/0000/report.html" "$WORK/trial.dom"
drawn "a trial's own page draws its loss" "$WORK/trial.dom" chart-loss
screenshot "$WORK/s/report.html" "$BUILD/search_report.png" 4200
[ -s "$BUILD/search_report.png" ] && ok "a screenshot of the study's page is in $BUILD/search_report.png" \
    || bad "a screenshot of the study's page is in $BUILD/search_report.png"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
