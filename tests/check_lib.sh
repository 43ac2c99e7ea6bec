# The shell tests' assertions (sourced by cli_test.sh and report_test.sh): each prints
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
