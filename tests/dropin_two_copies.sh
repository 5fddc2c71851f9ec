#!/bin/sh
# SPDX-License-Identifier: MIT
# dropin_two_copies.sh -- two copies of glweave in one process: the drop-in
# library preloaded into a test program that has the allocator linked in
# statically.  fork() with busy threads must work (each copy's fork handlers
# take only that copy's locks; liburcu's non-reentrant fork hooks are not
# called), and the thread tests must pass as they do without the preload.
# Exit 77 (skipped) without the shared library.

dropin="${top_builddir:-.}/lib/.libs/libglweave-malloc.so"
program="${top_builddir:-.}/tests/test_threads"
if [ ! -f "$dropin" ]; then
    echo "dropin_two_copies: $dropin not found (shared library not built): skipped"
    exit 77
fi
dropin=$(cd "$(dirname "$dropin")" && pwd)/$(basename "$dropin")
# test_threads may be a libtool wrapper script: preload inside it too.
if timeout 300 env LD_PRELOAD="$dropin" "$program"; then
    echo "dropin_two_copies: test_threads passed with the drop-in preloaded"
    exit 0
fi
echo "dropin_two_copies: test_threads failed or hung with the drop-in preloaded"
exit 1
