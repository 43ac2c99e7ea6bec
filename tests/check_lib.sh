# The shell tests' assertions (sourced by every tests/*_test.sh): each prints
# "ok NAME" or "FAILED NAME" (with the first lines of the command's stderr) and counts it.
# The caller sets WORK, a scratch folder.
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok      $1"; }
bad() { failed=$((failed + 1)); echo "FAILED  $1"; [ -f "$WORK/err" ] && sed 's/^/        /' "$WORK/err" | head -5; }
# expect NAME CODE COMMAND...: the command exits with CODE (its output in $WORK/out, err).
expect() {
    name=$1 code=$2
    shift 2
    "$@" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    if [ "$rc" -eq "$code" ]; then ok "$name"; else bad "$name (exit $rc, expected $code)"; fi
}
# contains NAME FILE TEXT: FILE holds a line matching TEXT (grep's basic regex).
contains() { if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1 ('$3' not in $2)"; fi; }

# ---------------------------------------------------------------- a real browser
# find_browser: BROWSER set to Debian's chromium (CHROMIUM=PATH picks another; one that
# is not there counts as not installed), else false after saying the browser checks are
# skipped, or, with GRADUS_TEST_BROWSER=required (as .ci/run sets), counting a failure.
find_browser() {
    BROWSER=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
    [ -n "$BROWSER" ] && [ -x "$BROWSER" ] && return 0
    if [ "${GRADUS_TEST_BROWSER:-}" = required ]; then
        bad "chromium is installed (GRADUS_TEST_BROWSER=required; scripts/install-deps.sh chromium)"
    else
        echo "skipped: chromium not installed (the browser checks; scripts/install-deps.sh chromium)"
    fi
    return 1
}
# browse PAGE OUT: the page's DOM after its script ran, and the console's lines in OUT.log.
browse() {
    timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --user-data-dir="$WORK/chromium" --enable-logging=stderr --v=0 \
        --dump-dom "file://$1" >"$2" 2>"$2.log"
}
# console_clean NAME OUT: nothing written to the console (errors, uncaught exceptions, logs).
console_clean() {
    if [ -s "$2" ] && ! grep -q -E 'CONSOLE|Uncaught' "$2.log"; then ok "$1"; else
        bad "$1"; grep -E 'CONSOLE|Uncaught' "$2.log" | head -3 | sed 's/^/        /'; fi
}
# drawn NAME DOM ID: the element has data marks that the browser laid out with a size.
drawn() {
    marks=$(grep -o "id=\"$3\"[^>]*" "$2" | sed -n 's/.*data-marks="\([0-9]*\)" data-drawn="\([0-9]*\)".*/\1 \2/p')
    set -- "$1" $marks
    if [ "${2:-0}" -gt 0 ] && [ "${3:-0}" -gt 0 ]; then ok "$1 ($2 marks)"; else bad "$1 (marks: ${2:-none})"; fi
}
# screenshot PAGE PNG: the page as a 1400-pixel-wide window shows it, height 3000.
screenshot() {
    rm -f "$2"
    timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --user-data-dir="$WORK/chromium" --hide-scrollbars --window-size=1400,${3:-3000} \
        --screenshot="$2" "file://$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------- studies
# Each trial's figures by epoch and how it ended, from a journal: what two studies that
# should be equal must share (the order of lines and the clock may differ).
figures() {
    python3 - "$1" <<'PY'
import json, sys
trials = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    t = trials.setdefault(e["trial"], {"epochs": {}})
    if e["event"] == "started":
        t["params"], t["seed"] = e["params"], e["seed"]
    elif e["event"] == "epoch":
        t["epochs"][e["epoch"]] = (e["train_loss"], e["val_loss"], e["val_accuracy"])
    else:
        t["end"] = e["event"]
for k in sorted(trials):
    print(k, json.dumps(trials[k], sort_keys=True))
PY
}
