#!/usr/bin/env bash
# .ci/sanitizers.sh -- the sanitizer builds of glweave, run from the top of a
# clone as `bash .ci/sanitizers.sh` (.ci/run calls it after its own builds).
# Builds out of tree with clang and the portable C fast path:
#   build-asan/  --enable-sanitizers=asan  (AddressSanitizer + UBSan)
#   build-tsan/  --enable-sanitizers=tsan  (ThreadSanitizer)
# and runs `make check` in each: the unit tests, the short stress run and the
# stress checker's self-test.  Sanitized code runs 5-15 times slower.  The
# stress run is bounded by time, not operations, so it does not get longer;
# GLWEAVE_STRESS_SECONDS sets it to 20 s here (twice the normal 10 s, to make
# up a little for the lower operation rate).  Check's timeouts are stretched
# (CK_TIMEOUT_MULTIPLIER); the unit tests keep their full length.  Any
# sanitizer report fails the test that produced it.  Both builds always run;
# the script fails if either failed, after printing the logs.  Budget: under
# 8 minutes on 2 cores (2 to 4 minutes measured on Debian 12, clang 14).
#
# SPDX-License-Identifier: MIT
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
top=$PWD
jobs=${JOBS:-2}
cc=${SANITIZER_CC:-clang}
builds=${SANITIZER_BUILDS:-asan tsan}
failed_builds=()

# shellcheck source=.ci/common.sh
source .ci/common.sh

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "sanitizers: $cc not found (bash scripts/setup-debian.sh installs clang)" >&2
  exit 1
fi

prepare_source_tree

dump_logs() {
  local dir=$1 log
  for log in "$dir"/tests/*.log "$dir"/stress/*.log "$dir"/test-suite.log; do
    [[ -f "$log" ]] || continue
    printf '\n----- %s -----\n' "${log#"$top"/}"
    cat "$log"
  done
}

# The settings of each sanitizer's runs.
sanitizer_env() {
  local san=$1
  # Check's default of 4 s per test is far too short for sanitized code;
  # tests that set their own timeout get it multiplied as well.
  echo "CK_TIMEOUT_MULTIPLIER=4"
  case "$san" in
    asan)
      echo "ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
      echo "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
      echo "GLWEAVE_STRESS_SECONDS=${GLWEAVE_STRESS_SECONDS:-20}"
      ;;
    tsan)
      # second_deadlock_stack: lock-order reports name both acquisitions.
      # die_after_fork=0: tests/test_threads checks that the child of a
      # multithreaded parent can start threads and allocate in them, which
      # TSan refuses by default because its own runtime is not fork-safe
      # there; it reports nothing about the program, and the child still
      # runs instrumented.
      # tsan.supp explains each suppression.
      echo "TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1:die_after_fork=0:suppressions=$top/.ci/tsan.supp"
      echo "GLWEAVE_STRESS_SECONDS=${GLWEAVE_STRESS_SECONDS:-20}"
      ;;
  esac
}

build_and_check() {
  local san=$1 dir="build-$1"
  step "$dir: ../configure CC=$cc --disable-asm --enable-sanitizers=$san"
  rm -rf "${top:?}/$dir"
  mkdir "$top/$dir"
  if ! (cd "$top/$dir" && ../configure -q CC="$cc" --disable-asm --enable-sanitizers="$san"); then
    cat "$top/$dir/config.log" || true
    return 1
  fi

  step "$dir: make -j$jobs"
  (cd "$top/$dir" && make -j"$jobs" >/dev/null) || return 1

  local -a envs
  mapfile -t envs < <(sanitizer_env "$san")
  step "$dir: make -j$jobs check (${envs[*]})"
  local status=0
  (cd "$top/$dir" && env "${envs[@]}" make -j"$jobs" check) || status=$?
  # A sanitizer report in a test that still passed (a report printed by a
  # child process, say) counts as a failure too.
  local reports
  reports=$(grep -l -E '^(==[0-9]+==ERROR: |WARNING: ThreadSanitizer|SUMMARY: (Address|Thread|UndefinedBehavior)Sanitizer|.*runtime error: )' \
    "$top/$dir"/tests/*.log "$top/$dir"/stress/*.log 2>/dev/null || true)
  if [[ -n "$reports" ]]; then
    echo "sanitizers: $dir: sanitizer reports in: ${reports//$'\n'/ }"
    status=1
  fi
  if ((status != 0)); then
    dump_logs "$top/$dir"
    return 1
  fi
  grep -h -E '^(PASS|FAIL|XFAIL|ERROR|SKIP): ' "$top/$dir"/tests/*.log "$top/$dir"/stress/*.log 2>/dev/null |
    sed "s|^|  $dir: |" || true
}

for san in $builds; do
  if ! build_and_check "$san"; then
    failed_builds+=("build-$san")
    echo "sanitizers: build-$san FAILED"
  fi
done

if ((${#failed_builds[@]} != 0)); then
  printf '\nsanitizers: FAILED: %s (after %ds)\n' "${failed_builds[*]}" "$SECONDS"
  exit 1
fi
printf '\nsanitizers: %s clean in %ds\n' "$builds" "$SECONDS"
