#!/bin/sh
# Installs the Debian 12 packages gradus needs to build and test, if any are missing.
# Usage: scripts/install-deps.sh [extra-package ...]
set -eu

PACKAGES="build-essential pkg-config libopenblas-dev libopenblas0-openmp liblapacke-dev \
libcjson-dev zlib1g-dev libpng-dev libcriterion-dev libdnnl-dev $*"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
