#!/usr/bin/env bash
# .ci/valgrind.sh -- the valgrind build of glweave, run from the top of a
# clone as `bash .ci/valgrind.sh` (.ci/run calls it).  Builds out of tree in
# build-valgrind/ with --enable-valgrind (memcheck client requests, C fast
# path) and runs its `make check`: the unit tests and stress run natively
# (the client requests must cost nothing there), then
# tests/valgrind/memcheck.sh, which runs programs with planted errors under
# memcheck and checks that each one is reported as what it is (leak, use
# after free, overflow, double free) and that a clean program gives none.
# It only writes inside build-valgrind/.  Budget: under 3 minutes on 2 cores.
#
# SPDX-License-Identifier: MIT
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
top=$PWD
jobs=${JOBS:-2}
dir=build-valgrind

# shellcheck source=.ci/common.sh
source .ci/common.sh

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind.sh: valgrind not found (bash scripts/setup-debian.sh installs it)" >&2
  exit 1
fi

prepare_source_tree

step "$dir: ../configure --enable-valgrind --enable-werror"
rm -rf "${top:?}/$dir"
mkdir "$top/$dir"
(cd "$top/$dir" && ../configure -q --enable-valgrind --enable-werror)
grep -q '^#define GLWEAVE_VALGRIND 1' "$top/$dir/config.h"

step "$dir: make -j$jobs"
(cd "$top/$dir" && make -j"$jobs" >/dev/null)

step "$dir: make -j$jobs check (unit tests natively, then tests/valgrind/memcheck.sh)"
if ! (cd "$top/$dir" && make -j"$jobs" check); then
  for log in "$top/$dir"/tests/*.log "$top/$dir"/tests/valgrind/*.log "$top/$dir"/test-suite.log; do
    [[ -f "$log" ]] || continue
    printf '\n----- %s -----\n' "${log#"$top"/}"
    cat "$log"
  done
  echo "valgrind.sh: FAILED after ${SECONDS}s (memcheck logs: $dir/tests/valgrind/*.vglog)"
  exit 1
fi
cat "$top/$dir/tests/valgrind/memcheck.sh.log"
printf '\nvalgrind.sh: the valgrind build and its memcheck checks passed in %ds\n' "$SECONDS"
