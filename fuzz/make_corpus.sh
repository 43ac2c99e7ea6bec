#!/bin/sh
# Regenerates the seed corpora fuzz/corpus/TARGET/ with fuzz/make_corpus.c (built with the
# fuzz build's library). The outputs are checked in; a few minimised inputs that a long
# run found may sit beside them (fuzz/README.md), and this keeps those.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory -f fuzz/build.mk -j2 build/fuzz/bin/make_corpus >/dev/null
mkdir -p fuzz/corpus
build/fuzz/bin/make_corpus fuzz/corpus
du -sh fuzz/corpus
