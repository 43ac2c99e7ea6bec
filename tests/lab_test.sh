#!/bin/sh
# Tests of `gradus lab`: the list, init-depth --quick (its table and verdicts within 80
# columns, its JSON file's layout of docs/lab.md, the same numbers twice), `lab all --quick
# --lang ko` (every experiment's claims in the direction this data shows, each verdict the
# rule's reading of its interval, the Korean notebook), the pages and the notebook in
# chromium (a silent console, every figure laid out; skipped, saying so, without chromium,
# required under GRADUS_TEST_BROWSER=required), the refusals' exit codes.
#
#   tests/lab_test.sh path/to/gradus
set -u
GRADUS=$(realpath "${1:-build/release/gradus}")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"
cd "$WORK" || exit 1

expect "gradus lab list" 0 "$GRADUS" lab list
contains "names init-depth" "$WORK/out" "^init-depth$"
expect "gradus lab --help" 0 "$GRADUS" lab --help
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "its help fits 80 columns" || bad "its help fits 80 columns"

expect "gradus lab init-depth --quick" 0 "$GRADUS" lab init-depth --quick --threads 2 --out d
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "its output fits 80 columns" || bad "its output fits 80 columns"
contains "prints the std of each layer" "$WORK/out" "^10 "
contains "prints a verdict per claim with its interval" "$WORK/out" "95% interval .* over 3"
held=$(grep -c '^held ' "$WORK/out")
[ "$held" -eq 7 ] && ok "the 7 claims held on this run" || bad "$held of 7 claims held"
contains "says where the numbers are" "$WORK/out" "^numbers: d/init-depth.json$"
contains "and the page" "$WORK/out" "^page:    d/init-depth.html$"
tail -c 8 d/init-depth.html | grep -q '</html>' && ok "the page is whole HTML" || bad "the page is whole HTML"
grep -q 'src="http\|href="http\|<link ' d/init-depth.html && bad "the page loads nothing from anywhere" \
    || ok "the page loads nothing from anywhere"
verdicts=$(grep -c '<span class="v v-PASS">held</span>' d/init-depth.html)
[ "$verdicts" -eq 7 ] && ok "the page shows the 7 verdicts" || bad "the page shows $verdicts verdicts"
contains "and the command that measures it again" d/init-depth.html "gradus lab init-depth --quick --seeds 3 --seed 1"
python3 - d/init-depth.json <<'PY' && ok "the JSON file has docs/lab.md's layout" || bad "the JSON file has docs/lab.md's layout"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["experiment"] == "init-depth" and d["quick"] is True
assert d["seeds"] == 3 and d["seconds"] > 0 and d["cpu"]
for c in d["claims"]:
    assert set(c) >= {"id", "claim", "metric", "expect", "threshold", "values", "mean",
                      "ci95_lo", "ci95_hi", "verdict", "evidence"}, c
    assert len(c["values"]) == 3 and c["ci95_lo"] <= c["mean"] <= c["ci95_hi"]
tables = {t["id"]: t for t in d["tables"]}
assert len(tables["layers-relu-he"]["rows"]) == 10
figs = {f["id"]: f for f in d["figures"]}
h = figs["hist-tanh-large"]["series"][0]
assert len(h["x"]) == len(h["y"]) + 1 and abs(sum(h["y"]) - 1) < 1e-9
PY
grep -q 'repetition' "$WORK/err" && bad "without a terminal no progress line is written" \
    || ok "without a terminal no progress line is written"
if command -v script >/dev/null; then
    script -qc "'$GRADUS' lab init-depth --quick --threads 2 --out p" /dev/null >tty.out 2>&1
    grep -q 'init-depth: repetition 3 of 3 \.\.\.' tty.out && ok "on a terminal it says which repetition runs" \
        || bad "on a terminal it says which repetition runs"
fi
expect "a second run with the same seed" 0 "$GRADUS" lab init-depth --quick --threads 2 --out e
python3 - d/init-depth.json e/init-depth.json <<'PY' && ok "gives the same numbers" || bad "gives the same numbers"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for d in (a, b):
    d.pop("seconds")
assert a == b
PY

# claims NAME FILE ASSERTS: the JSON file's claims (c, by id) meet ASSERTS (Python), and
# every verdict is the rule's reading of its own interval.
claims() {
    python3 - "$2" "$3" <<'PY' && ok "$1" || bad "$1"
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["id"]: x for x in d["claims"]}
exec(sys.argv[2])
for x in d["claims"]:
    lo, hi, t = x["ci95_lo"], x["ci95_hi"], x["threshold"]
    side = (hi < t) if x["expect"] == "below" else (lo > t)
    other = (lo >= t) if x["expect"] == "below" else (hi <= t)
    want = "held" if side else "did not hold" if other else "inconclusive"
    assert x["verdict"] == want, x
PY
}

# ---------------------------------------------------------------- gradus lab all
# Every experiment once, --quick, one thread (batches of 10 in sigmoid-saturation are too
# small to share), the notebook in Korean; the sections below read its JSON files.
expect "gradus lab all --quick --lang ko" 0 "$GRADUS" lab all --quick --threads 1 --out nb --lang ko
awk 'length > 80 { exit 1 }' "$WORK/out" && ok "its output fits 80 columns" || bad "its output fits 80 columns"
contains "says where the notebook is" "$WORK/out" "^notebook: nb/notebook.html$"
missing=0
for name in $("$GRADUS" lab list | grep -v '^ '); do
    [ -s "nb/$name.json" ] && [ -s "nb/$name.html" ] || missing=$((missing + 1))
    grep -q "id=\"exp-$name\"" nb/notebook.html || missing=$((missing + 1))
done
[ "$missing" -eq 0 ] && ok "every experiment has its JSON, its page and a notebook section" \
    || bad "$missing JSON files, pages or notebook sections missing"
contains "the notebook's words are Korean" nb/notebook.html "성립"
contains "... its claims too" nb/notebook.html "가중치가 너무 작으면"
contains "... with each command that measures it again" nb/notebook.html "gradus lab init-depth --quick --seeds 3 --seed 1"
tail -c 8 nb/notebook.html | grep -q '</html>' && ok "the notebook is whole HTML" || bad "the notebook is whole HTML"

# ---------------------------------------------------------------- sigmoid-saturation
claims "sigmoid-saturation: the sigmoid net's first layer gets under 1% of its fifth's gradient, ReLU's 10x more, every seed; verdicts are the numbers'" \
    nb/sigmoid-saturation.json '
assert max(c["sigmoid-starves-first-layer"]["values"]) < 0.01, c["sigmoid-starves-first-layer"]
assert min(c["relu-passes-more"]["values"]) > 1, c["relu-passes-more"]
'

# ---------------------------------------------------------------- search
claims "search: random search tries 9 learning rates where the grid tries 3, every seed; verdicts are the numbers'" \
    nb/search.json '
assert c["random-tries-more-values"]["values"] == [6, 6, 6], c["random-tries-more-values"]
'
[ -s nb/search-studies/random-1/journal.jsonl ] && [ -d nb/search-studies/grid-3/trials/0008 ] \
    && ok "the studies are kept in the lab's folder" || bad "the studies are kept in the lab's folder"

# ---------------------------------------------------------------- batchnorm
claims "batchnorm: more grid cells train with batch norm and it trains at lr 1 where the plain net does not, every seed; verdicts are the numbers'" \
    nb/batchnorm.json '
assert min(c["bn-trains-more"]["values"]) > 0, c["bn-trains-more"]
assert min(c["bn-allows-higher-lr"]["values"]) > 0.1, c["bn-allows-higher-lr"]
t = {t["id"]: t for t in d["tables"]}
assert len(t["grid"]["rows"]) == 9 and len(t["test-modes"]["rows"]) == 3
'

# ---------------------------------------------------------------- zero-centred-outputs
# One sample: dL/dw = delta x, so all-positive x gives one sign per unit, exactly.
claims "zero-centred-outputs: one sign for every unit on raw pixels and after sigmoid, none when centred or after tanh; verdicts are the numbers'" \
    nb/zero-centred-outputs.json '
assert c["raw-pixels-one-sign"]["values"] == [1, 1, 1], c["raw-pixels-one-sign"]
assert c["centred-pixels-mixed"]["values"] == [0, 0, 0], c["centred-pixels-mixed"]
assert c["sigmoid-outputs-one-sign"]["values"] == [1, 1, 1], c["sigmoid-outputs-one-sign"]
'

# ---------------------------------------------------------------- exp-cost
# Timings: their figures are checked for their layout and the verdicts for the rule, but
# no direction of speed is asserted (a loaded machine must not fail a test).
claims "exp-cost: six activations' positive timings; verdicts are the numbers'" nb/exp-cost.json '
rows = {t["id"]: t for t in d["tables"]}["cost"]["rows"]
assert [r["label"] for r in rows] == ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu"]
assert all(v > 0 for r in rows for v in r["values"][1:4]), rows
assert all(0 < r["values"][4] < 1 for r in rows), rows
'

# ---------------------------------------------------------------- learning-rate
# What the lecture's picture shows and this data shows with it, every seed.
claims "learning-rate: low is slow, very low barely moves, very high explodes; verdicts are the numbers'" \
    nb/learning-rate.json '
assert min(c["low-is-slow"]["values"]) > 0, c["low-is-slow"]
assert min(c["very-low-barely-moves"]["values"]) > 0.8, c["very-low-barely-moves"]
assert c["very-high-explodes"]["values"] == [1, 1, 1], c["very-high-explodes"]
rows = {t["id"]: t for t in d["tables"]}["final-losses"]["rows"]
assert len(rows) == 3 and all(r["values"][1] > 0 for r in rows)  # the range test rates
'

# ---------------------------------------------------------------- preprocessing
claims "preprocessing: centred and standardised inputs train faster than raw ones on every seed; verdicts are the numbers'" \
    nb/preprocessing.json '
assert min(c["standardising-helps"]["values"]) > 0, c["standardising-helps"]
assert min(c["centring-helps"]["values"]) > 0, c["centring-helps"]
assert len({t["id"]: t for t in d["tables"]}["by-input"]["rows"]) == 12
'

# ---------------------------------------------------------------- bn-dropout
claims "bn-dropout: dropout narrows the small set's gap on every seed; verdicts are the numbers'" \
    nb/bn-dropout.json '
assert min(c["dropout-regularises"]["values"]) > 0, c["dropout-regularises"]
assert len({t["id"]: t for t in d["tables"]}["by-net"]["rows"]) == 24
'

expect "an unknown experiment exits 2" 2 "$GRADUS" lab init-dpth
contains "... saying how to list them" "$WORK/err" "gradus lab list"
expect "--seeds 0 exits 2" 2 "$GRADUS" lab init-depth --seeds 0
contains "... naming the flag and the range" "$WORK/err" "\-\-seeds 0: expected an integer in \[1, 100\]"
expect "an unknown flag exits 2" 2 "$GRADUS" lab init-depth --fast
expect "no experiment exits 2" 2 "$GRADUS" lab
: >file
expect "an --out that cannot be a folder exits 1" 1 "$GRADUS" lab init-depth --quick --out file/x

# ---------------------------------------------------------------- in a browser
if find_browser; then
    browse "$WORK/d/init-depth.html" "$WORK/lab.dom"
    console_clean "chromium loads the lab page with a silent console" "$WORK/lab.dom"
    for id in fig-std-by-layer fig-hist-tanh-small fig-hist-tanh-large fig-hist-tanh-xavier \
              fig-hist-relu-xavier fig-hist-relu-he; do
        drawn "the lab page draws $id" "$WORK/lab.dom" "$id"
    done
    browse "$WORK/nb/preprocessing.html" "$WORK/pre.dom"
    console_clean "chromium loads the preprocessing page with a silent console" "$WORK/pre.dom"
    for id in fig-loss-by-input fig-val-by-input; do
        drawn "the preprocessing page draws $id" "$WORK/pre.dom" "$id"
    done
    browse "$WORK/nb/notebook.html" "$WORK/nb.dom"
    console_clean "chromium loads the notebook with a silent console" "$WORK/nb.dom"
    for id in init-depth-std-by-layer learning-rate-loss-by-rate sigmoid-saturation-grad-by-layer; do
        drawn "the notebook draws $id" "$WORK/nb.dom" "$id"
    done
    browse "$WORK/nb/batchnorm.html" "$WORK/bn.dom"
    console_clean "chromium loads the batchnorm page with a silent console" "$WORK/bn.dom"
    for id in fig-grid fig-percentiles; do
        drawn "the batchnorm page draws $id" "$WORK/bn.dom" "$id"
    done
    browse "$WORK/nb/bn-dropout.html" "$WORK/bnd.dom"
    console_clean "chromium loads the bn-dropout page with a silent console" "$WORK/bnd.dom"
    drawn "the bn-dropout page draws fig-small-gap" "$WORK/bnd.dom" fig-small-gap
    browse "$WORK/nb/sigmoid-saturation.html" "$WORK/sig.dom"
    console_clean "chromium loads the sigmoid-saturation page with a silent console" "$WORK/sig.dom"
    for id in fig-grad-by-layer fig-top-layer fig-loss fig-saturated-sigmoid fig-grad-sigmoid fig-grad-relu; do
        drawn "the sigmoid-saturation page draws $id" "$WORK/sig.dom" "$id"
    done
    browse "$WORK/nb/learning-rate.html" "$WORK/lr.dom"
    console_clean "chromium loads the learning-rate page with a silent console" "$WORK/lr.dom"
    for id in fig-loss-by-rate fig-range-test; do
        drawn "the learning-rate page draws $id" "$WORK/lr.dom" "$id"
    done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
