#!/usr/bin/env bash
# .ci/debian.sh [BUILD_DIR] -- the Debian packages, built as a distribution
# would: `make dist` in BUILD_DIR (a configured build directory; without
# one, a fresh out-of-tree build in a temporary directory), the tarball
# unpacked in a temporary directory with its packaging/debian/ copied to
# debian/, `dpkg-buildpackage -us -uc -b`, lintian (any error fails), the
# .debs installed with apt-get, a four-thread program built against them
# with pkg-config and run (debian/tests/build), and the packages purged
# again so that the machine is left as it was.
# Needs dpkg-dev, debhelper and lintian (scripts/setup-debian.sh), and root
# to install the packages.
#
# SPDX-License-Identifier: MIT
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${JOBS:-2}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/glweave-debian.XXXXXX")
packages=(libglweave0 libglweave-dev)
installed=no

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  as_root=(sudo)
fi

cleanup() {
  if [[ $installed == yes ]]; then
    echo "debian: purging ${packages[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get purge -y -qq "${packages[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

for pkg in "${packages[@]}"; do
  if dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii'; then
    echo "debian: $pkg is already installed on this machine; remove it first" >&2
    exit 1
  fi
done

if [[ $# -ge 1 && -f "$1/Makefile" ]]; then
  build=$(cd "$1" && pwd)
else
  [[ -x "$top/configure" ]] || (cd "$top" && autoreconf -fi)
  mkdir "$scratch/build"
  (cd "$scratch/build" && "$top/configure" --quiet)
  build=$scratch/build
fi

echo "debian: make dist in $build"
(cd "$build" && make dist >/dev/null)
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
tarball=$build/glweave-$version.tar.gz

# The layout dpkg-source expects: NAME_VERSION.orig.tar.gz beside NAME-VERSION/.
cp "$tarball" "$scratch/glweave_$version.orig.tar.gz"
tar -C "$scratch" -xzf "$tarball"
src=$scratch/glweave-$version
cp -r "$src/packaging/debian" "$src/debian"

echo "debian: dpkg-buildpackage -us -uc -b in $src"
start=$SECONDS
if ! (cd "$src" && dpkg-buildpackage -us -uc -b -j"$jobs" >"$scratch/build.log" 2>&1); then
  tail -n 80 "$scratch/build.log"
  echo "debian: dpkg-buildpackage FAILED"
  exit 1
fi
grep -E '^(# (TOTAL|PASS|FAIL|SKIP|ERROR):|dpkg-deb: building)' "$scratch/build.log" || true
echo "debian: packages built in $((SECONDS - start))s"

changes=$(echo "$scratch"/glweave_"$version"-*_*.changes)
echo "debian: lintian $(basename "$changes")"
# lintian exits non-zero on any error (and only on errors).
if ! lintian --fail-on error --display-info "$changes" >"$scratch/lintian.log" 2>&1; then
  cat "$scratch/lintian.log"
  echo "debian: lintian reported errors"
  exit 1
fi
if [[ -s "$scratch/lintian.log" ]]; then
  cat "$scratch/lintian.log"
fi
echo "debian: lintian: $(grep -c '^E: ' "$scratch/lintian.log" || true) errors," \
  "$(grep -c '^W: ' "$scratch/lintian.log" || true) warnings," \
  "$(grep -c '^I: ' "$scratch/lintian.log" || true) infos"

echo "debian: installing the packages"
debs=()
for pkg in "${packages[@]}"; do
  debs+=("$(echo "$scratch/${pkg}_$version"-*.deb)")
done
installed=yes
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${debs[@]}" >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log"; echo "debian: apt-get install FAILED"; exit 1; }
dpkg-query -W -f='debian: installed ${Package} ${Version}\n' "${packages[@]}"
dpkg -L libglweave0 libglweave-dev | grep -E '\.so|\.a$|\.h$|\.pc$|man' | sed 's/^/  /'

echo "debian: a four-thread program against the installed package (debian/tests/build)"
sh "$src/debian/tests/build"

echo "debian: OK: built, linted, installed, used and removed ${packages[*]} $version"
