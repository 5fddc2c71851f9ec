# .ci/common.sh -- sourced by the CI scripts that make their own out-of-tree
# builds (.ci/sanitizers.sh, .ci/valgrind.sh): the step banner and the
# preparation of the source tree they share.  It defines functions only.
#
# SPDX-License-Identifier: MIT

step() {
  printf '\n==> [%4ds] %s\n' "$SECONDS" "$*"
}

# Out-of-tree builds need generated autotools files and a source tree that
# is not configured in tree (as in .ci/run).
prepare_source_tree() {
  if [[ ! -x configure ]]; then
    step "autoreconf -fi"
    autoreconf -fi
  fi
  if [[ -f config.status ]]; then
    step "cleaning the in-tree configuration (make distclean)"
    make distclean >/dev/null 2>&1 || rm -f config.status config.h Makefile
  fi
}
