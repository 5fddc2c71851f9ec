#!/usr/bin/env bash
# .ci/distcheck.sh [BUILD_DIR] -- the release checks on the tarball:
#  1. `make distcheck` in BUILD_DIR (a configured build directory; without
#     one, a fresh out-of-tree build in a temporary directory): the tarball
#     builds out of tree from a read-only source, passes `make check`,
#     installs under DESTDIR and uninstalls without leftovers;
#  2. reproducibility: the tarball, unpacked in two different directories
#     and built out of tree in each, gives byte-identical shared and static
#     libraries (no build path, date or host leaks into them).
# Run from anywhere; exits non-zero on the first failure.
#
# SPDX-License-Identifier: MIT
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${JOBS:-2}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/glweave-distcheck.XXXXXX")
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT

if [[ $# -ge 1 && -f "$1/Makefile" ]]; then
  build=$(cd "$1" && pwd)
else
  echo "distcheck: configuring a fresh build in $scratch/build"
  [[ -x "$top/configure" ]] || (cd "$top" && autoreconf -fi)
  mkdir "$scratch/build"
  (cd "$scratch/build" && "$top/configure" --quiet)
  build=$scratch/build
fi

# --- 1. make distcheck -----------------------------------------------------------
start=$SECONDS
echo "distcheck: make distcheck in $build"
if ! (cd "$build" && make -j"$jobs" distcheck >"$scratch/distcheck.log" 2>&1); then
  tail -n 80 "$scratch/distcheck.log"
  # The test logs of the distcheck build, if it got that far.
  find "$build" -path '*/_build/*' -name '*.log' -newer "$build/Makefile" \
    -exec sh -c 'for f; do echo "----- $f"; tail -n 30 "$f"; done' _ {} + 2>/dev/null | tail -n 200 || true
  echo "distcheck: make distcheck FAILED after $((SECONDS - start))s"
  exit 1
fi
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):|archives ready for distribution' \
  "$scratch/distcheck.log" | tail -n 8 || true
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
tarball=$build/glweave-$version.tar.gz
[[ -f "$tarball" ]] || { echo "distcheck: $tarball was not made"; exit 1; }
echo "distcheck: make distcheck passed in $((SECONDS - start))s ($(basename "$tarball"))"

# --- 2. reproducible builds --------------------------------------------------------
start=$SECONDS
for side in a long-directory-name/b; do
  mkdir -p "$scratch/$side"
  tar -C "$scratch/$side" -xzf "$tarball"
  mkdir "$scratch/$side/build-$RANDOM"
  (cd "$scratch/$side"/build-* && "../glweave-$version/configure" --quiet &&
    make -j"$jobs" >"$scratch/repro-${side##*/}.log" 2>&1) ||
    { tail -n 40 "$scratch/repro-${side##*/}.log"; echo "distcheck: reproducibility build failed"; exit 1; }
done
compared=0
different=0
while read -r lib; do
  other=$(echo "$scratch"/long-directory-name/b/build-*/"$lib")
  compared=$((compared + 1))
  if cmp -s "$scratch"/a/build-*/"$lib" "$other"; then
    echo "distcheck: identical: $lib ($(sha256sum "$other" | cut -c1-16))"
  else
    echo "distcheck: DIFFERENT: $lib"
    different=$((different + 1))
  fi
done < <(cd "$scratch"/a/build-* && find lib -path '*/.libs/*' \( -name '*.so.*' -o -name '*.a' \) -type f | sort)
if ((compared == 0 || different != 0)); then
  echo "distcheck: reproducibility FAILED: $different of $compared libraries differ between two builds"
  exit 1
fi
echo "distcheck: two builds in different directories gave $compared identical libraries ($((SECONDS - start))s)"
