#!/usr/bin/env bash
# setup-debian.sh -- install everything glweave needs to build, test and
# benchmark on Debian 12 (or a close relative).  Idempotent: packages that
# are already installed are left alone, and when nothing is missing the
# script neither updates the package lists nor touches the network.
#
# SPDX-License-Identifier: MIT
set -euo pipefail

packages=(
  # build
  build-essential autoconf automake libtool pkg-config
  # library dependency
  liburcu-dev
  # tests and debugging
  check valgrind clang gdb
  # benchmark peers and plots
  libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 gnuplot-nox
  # Debian packaging (.ci/debian.sh)
  dpkg-dev debhelper lintian
  # real programs run on the drop-in malloc (tests/dropin_programs.sh)
  python3 sqlite3 xz-utils git
)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-debian: this script needs a Debian-like system with apt-get" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != ii* ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup-debian: all ${#packages[@]} packages already installed"
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "setup-debian: need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/glweave-setup.XXXXXX")
trap 'rm -f "$log"' EXIT

run_quietly() {
  if ! "$@" >"$log" 2>&1; then
    echo "setup-debian: failed: $*" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
run_quietly "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
run_quietly "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-debian: done"
