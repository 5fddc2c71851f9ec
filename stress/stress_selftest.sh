#!/bin/sh
# stress_selftest.sh -- proves that the stress suite's checker works: the
# program corrupts live blocks on purpose (a flipped byte, a realloc that
# copies one byte short, a corrupted block in a full multithreaded run) and
# passes only if every corruption is reported with its block and offset and
# the corrupted runs exit non-zero.
#
# SPDX-License-Identifier: MIT

prog="${top_builddir:-.}/stress/glweave-stress"
exec "$prog" --self-test-corruption ${GLWEAVE_STRESS_SEED:+--seed "$GLWEAVE_STRESS_SEED"}
