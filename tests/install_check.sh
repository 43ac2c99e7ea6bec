#!/bin/sh
# make install into a temporary prefix, then use that copy as a user would: build
# tests/install/use_gradus.c with pkg-config (shared, then --static against libgradus.a),
# run both with no LD_LIBRARY_PATH, and run the installed gradus. Checks that the shared
# program finds libgradus.so.0 through gradus.pc's rpath, that both load only OpenBLAS's
# OpenMP build, and that both print the same numbers.
#
#   tests/install_check.sh [BUILD]    (a build folder, build/release by default; make
#                                      install-check runs it for the Makefile's BUILD)
# Not named *_test.sh: cli_test.sh runs those with a gradus path.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
PREFIX=$(mktemp -d)
WORK=$(mktemp -d)
trap 'rm -rf "$PREFIX" "$WORK"' EXIT
. tests/check_lib.sh
CC=${CC:-cc}
unset LD_LIBRARY_PATH
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"

expect "make install PREFIX=$PREFIX" 0 make --no-print-directory BUILD="$BUILD" install PREFIX="$PREFIX"
[ "$failed" -eq 0 ] || { cat "$WORK/err"; echo "$passed passed, $failed failed"; exit 1; }
expect "the installed gradus --help" 0 "$PREFIX/bin/gradus" --help
contains "it prints its usage" "$WORK/out" "^usage: gradus "
expect "pkg-config finds gradus.pc" 0 pkg-config --exists gradus
contains "its Libs give the installed lib folder as rpath" "$PREFIX/lib/pkgconfig/gradus.pc" \
    "^Libs: .*-Wl,-rpath,\${libdir}"

# build NAME OUTPUT LINK...: compiles use_gradus.c against the installed header.
build() {
    name=$1 out=$2
    shift 2
    expect "$name" 0 "$CC" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags gradus) \
        tests/install/use_gradus.c -o "$WORK/$out" "$@"
}
build "links with pkg-config --libs gradus" shared $(pkg-config --libs gradus)
# libgradus.a by name (-l:, searched in pkg-config's -L folders), then what it needs;
# pkg-config's -lgradus after it adds nothing, the archive having resolved every symbol.
build "links libgradus.a with pkg-config --static --libs gradus" static \
    -l:libgradus.a $(pkg-config --static --libs gradus)

expect "the shared program runs without LD_LIBRARY_PATH" 0 "$WORK/shared"
cp "$WORK/out" "$WORK/shared.out"
contains "it loads libgradus.so from the prefix" "$WORK/shared.out" "^libgradus: $PREFIX/lib/libgradus.so"
contains "it loads OpenBLAS's OpenMP build only" "$WORK/shared.out" "^openblas: openmp\$"
contains "it builds, runs and fits with the library" "$WORK/shared.out" "^pca:1 of 4 rows: |first| 3.354\$"
expect "the static program runs" 0 "$WORK/static"
cp "$WORK/out" "$WORK/static.out"
contains "it has the library linked in" "$WORK/static.out" "^libgradus: linked in\$"
contains "it loads OpenBLAS's OpenMP build only" "$WORK/static.out" "^openblas: openmp\$"
grep -v '^libgradus:' "$WORK/shared.out" >"$WORK/a"
grep -v '^libgradus:' "$WORK/static.out" >"$WORK/b"
if [ -s "$WORK/a" ] && cmp -s "$WORK/a" "$WORK/b"; then
    ok "both print the same model outputs and PCA"
else
    bad "both print the same model outputs and PCA"
    diff "$WORK/a" "$WORK/b"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
