#!/usr/bin/env python3
"""Mutation check: applies each one-line mutation of tests/mutations.txt to a copy of the
tree, one at a time, rebuilds the unit suite and runs it; a mutation the suite does not
kill survives. Exits 1 if any survives or no longer applies. Not part of `make test`: it
builds and runs the suite once per mutation (a few minutes each on 2 cores).

Usage: tests/mutate.py [--only SUBSTRING] [--keep DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = "build/mutate"


def read_mutations(path):
    entries, cur = [], {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line.strip():
            if cur:
                entries.append(cur)
            cur = {}
        elif not line.startswith("#"):
            key, _, value = line.partition(": ")
            cur[key] = value
    if cur:
        entries.append(cur)
    for e in entries:
        assert set(e) == {"file", "find", "into", "what"}, e
    return entries


def copy_tree(dest):
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for f in files:
        if os.path.isfile(os.path.join(ROOT, f)):
            os.makedirs(os.path.dirname(os.path.join(dest, f)) or dest, exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), os.path.join(dest, f))


def suite_passes(tree):
    """Builds the unit suite in tree and runs it; True when it builds and passes."""
    build = subprocess.run(["make", "-j2", f"BUILD={BUILD}", f"{BUILD}/tests/gradus-tests"],
                           cwd=tree, capture_output=True, text=True)
    if build.returncode != 0:
        return False
    run = subprocess.run(["tests/run_unit.sh", f"{BUILD}/tests/gradus-tests", "--fail-fast"],
                         cwd=tree, capture_output=True, text=True)
    return run.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="run the mutations whose 'what' contains this")
    ap.add_argument("--keep", help="work in this folder (kept) instead of a temporary one")
    args = ap.parse_args()
    mutations = read_mutations(os.path.join(ROOT, "tests", "mutations.txt"))
    if args.only:
        mutations = [m for m in mutations if args.only in m["what"]]
    tree = args.keep or tempfile.mkdtemp(prefix="gradus-mutate-")
    copy_tree(tree)
    if not suite_passes(tree):
        print("the unmutated suite fails: fix it first", file=sys.stderr)
        return 1
    bad = 0
    for m in mutations:
        path = os.path.join(tree, m["file"])
        original = open(path).read()
        if original.count(m["find"]) != 1:
            print(f"STALE     {m['file']}: '{m['find']}' occurs {original.count(m['find'])} times")
            bad += 1
            continue
        with open(path, "w") as f:
            f.write(original.replace(m["find"], m["into"]))
        killed = not suite_passes(tree)
        with open(path, "w") as f:
            f.write(original)
        print(f"{'killed ' if killed else 'SURVIVED'}  {m['file']}: {m['what']}", flush=True)
        bad += not killed
    print(f"{len(mutations) - bad} killed, {bad} survived or stale, of {len(mutations)}")
    if not args.keep:
        shutil.rmtree(tree)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
