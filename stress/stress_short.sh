#!/bin/sh
# stress_short.sh -- the short stress run of `make check`: 8 threads, every
# workload, 10 seconds.  The environment adjusts it (.ci/sanitizers.sh sets
# 20 s: the run is bounded by time, and sanitized code does fewer operations):
#   GLWEAVE_STRESS_SECONDS  length of the threads phase (default 10)
#   GLWEAVE_STRESS_THREADS  worker threads (default 8)
#   GLWEAVE_STRESS_SEED     replay a seed printed by an earlier run
#   GLWEAVE_STRESS_ARGS     any further options
# The program prints its seed first; a failure prints it again with the
# command line that replays it.
#
# SPDX-License-Identifier: MIT

prog="${top_builddir:-.}/stress/glweave-stress"
set -- --threads "${GLWEAVE_STRESS_THREADS:-8}" \
    --seconds "${GLWEAVE_STRESS_SECONDS:-10}" --workloads all
if [ -n "${GLWEAVE_STRESS_SEED:-}" ]; then
    set -- "$@" --seed "$GLWEAVE_STRESS_SEED"
fi
# shellcheck disable=SC2086 # GLWEAVE_STRESS_ARGS is a list of options
exec "$prog" "$@" ${GLWEAVE_STRESS_ARGS:-}
