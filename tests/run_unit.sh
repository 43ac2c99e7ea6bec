#!/bin/sh
# Runs the Criterion suite from tests/ and fails when it fails, or when a sanitizer
# reported anything: LeakSanitizer and UBSan report in a test's process after the test
# has passed, which Criterion does not count as a failure.
#
#   tests/run_unit.sh path/to/gradus-tests [criterion args...]
set -u
bin=$(realpath "$1")
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cd "$(dirname "$0")"
"$bin" --jobs 2 "$@" >"$log" 2>&1
status=$?
cat "$log"
if grep -q -E "LeakSanitizer|AddressSanitizer|runtime error:" "$log"; then
    echo "sanitizer reports above: failing the run" >&2
    exit 1
fi
exit $status
