#!/usr/bin/env bash
# memcheck.sh -- runs the programs of tests/valgrind under valgrind's
# memcheck and checks that memcheck reports each planted error as the kind
# it is, and nothing at all for the clean program.  Run by `make check` in a
# configure --enable-valgrind build (top_builddir set), or by hand from a
# build directory: `bash ../tests/valgrind/memcheck.sh`.  It only reads the
# programs' logs; it never changes the build.  Logs are kept in
# tests/valgrind/*.vglog.
#
# GLWEAVE_OPTIONS is passed on as it is: the fast path, the thread caches
# and the slabs announce blocks to memcheck like the slow paths, so the
# default caches and arenas are what is checked.
#
# SPDX-License-Identifier: MIT
set -uo pipefail

build=${top_builddir:-.}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$build/tests/valgrind

if ! command -v valgrind >/dev/null 2>&1; then
  echo "memcheck: valgrind not found (apt-get install valgrind)" >&2
  exit 77 # automake's SKIP
fi

for program in vg_clean vg_leak vg_use_after_free vg_overflow vg_double_free; do
  if [[ ! -x "$dir/$program" ]]; then
    echo "memcheck: $dir/$program is not built (configure --enable-valgrind, then make check)" >&2
    exit 1
  fi
done

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run NAME [ARGS...]: runs a program under memcheck; sets $log and $status.
run() {
  local name=$1
  shift
  log=$dir/$name${1:+-$1}.vglog
  # The subshell (not exec'd, thanks to the explicit exit) keeps bash's
  # "Aborted" notice for vg_double_free off stderr.
  (valgrind --tool=memcheck --leak-check=full --error-exitcode=99 \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --num-callers=20 --log-file="$log" \
    "$dir/$name" "$@" >"$log.out" 2>&1; exit $?) 2>/dev/null
  status=$?
  printf '%-30s exit %3d, %s\n' "$name $*" "$status" \
    "$(grep -E 'ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== //')"
}

# expect_log PATTERN COUNT WHAT: the log has at least COUNT lines matching.
expect_log() {
  local n
  n=$(grep -c -E "$1" "$log")
  ((n >= $2)) || fail "$(basename "$log"): expected $2 x '$1' ($3), found $n"
}

run vg_clean
((status == 0)) || fail "vg_clean: exit $status (memcheck errors or a failed check)"
expect_log 'ERROR SUMMARY: 0 errors' 1 'no error at all'
expect_log 'All heap blocks were freed|definitely lost: 0 bytes' 1 'no leak'
grep -q 'vg_clean: ok' "$log.out" || fail "vg_clean: did not finish: $(cat "$log.out")"

run vg_leak
((status == 99)) || fail "vg_leak: exit $status, expected memcheck's 99"
expect_log 'definitely lost in loss record' 2 'the small and the large block'
expect_log 'definitely lost: 40,080 bytes in 2 blocks' 1 'both blocks, usable sizes 80 + 40,000'

run vg_use_after_free
((status == 99)) || fail "vg_use_after_free: exit $status, expected 99"
expect_log 'Invalid read of size 1' 2 'a small and a large block'
expect_log "inside a block of size [0-9,]+ free'd" 2 'known as freed blocks'

run vg_overflow small
((status == 99)) || fail "vg_overflow small: exit $status, expected 99"
expect_log 'Invalid write of size 1' 1 'one byte past a small block'
expect_log 'ERROR SUMMARY: 1 errors' 1 'the overflow, and the filling not'

run vg_overflow large
((status == 99)) || fail "vg_overflow large: exit $status, expected 99"
expect_log 'Invalid write of size 1' 2 'one byte past and one before a large block'
expect_log 'ERROR SUMMARY: 2 errors' 1 'those two and nothing else'

for kind in small large; do
  run vg_double_free $kind
  # glweave aborts after memcheck's report: SIGABRT, which valgrind passes on.
  ((status == 134)) || fail "vg_double_free $kind: exit $status, expected 134 (abort)"
  expect_log 'Invalid free\(\)' 1 "memcheck's report"
  grep -q 'glweave: free(): .*double free\|glweave: free(): invalid pointer' "$log.out" ||
    fail "vg_double_free $kind: no glweave report: $(head -c 300 "$log.out")"
done

if ((failures != 0)); then
  echo "memcheck: $failures failed checks; logs in $dir/*.vglog"
  exit 1
fi
echo "memcheck: every planted error reported, the clean program clean (GLWEAVE_OPTIONS=${GLWEAVE_OPTIONS-})"
