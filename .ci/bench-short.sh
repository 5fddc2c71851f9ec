#!/usr/bin/env bash
# .ci/bench-short.sh -- proves that the benchmark suite builds and runs:
# `make bench-short` in a configured build directory (every allocator found,
# tiny sizes, one repetition; a few seconds).  Fails if a run crashes, times
# out or measures the wrong allocator, or if the suite takes over 100 s.
#
#     bash .ci/bench-short.sh [BUILD_DIR]     (default: build)
#
# SPDX-License-Identifier: MIT
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:-build}
if [[ ! -f "$dir/Makefile" ]]; then
  echo "bench-short: $dir is not a configured build directory" >&2
  exit 1
fi
start=$SECONDS
timeout 100 make -C "$dir" -j"${JOBS:-2}" bench/bench_malloc bench/bench_glweave
timeout 100 make -C "$dir" bench-short
echo "bench-short: the benchmark suite ran in $((SECONDS - start))s"
