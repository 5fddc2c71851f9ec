#!/usr/bin/env bash
# quickstart.sh -- from a fresh Debian machine to a running glweave program:
# installs the build dependencies, builds the library, installs it into
# ./_install, then compiles examples/mixed_threads.c against the installed
# copy (shared and static) exactly as a user's program would, and runs it.
#
#     bash scripts/quickstart.sh
#
# SPDX-License-Identifier: MIT
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
top=$PWD
prefix="$top/_install"
jobs=${JOBS:-2}

step() { printf '\n==> %s\n' "$*"; }

step "installing build dependencies (scripts/setup-debian.sh)"
bash scripts/setup-debian.sh

step "autoreconf -fi"
autoreconf -fi

step "./configure --prefix=$prefix"
./configure --quiet --prefix="$prefix" --libdir="$prefix/lib"

step "make -j$jobs"
make -j"$jobs"

step "make install (into $prefix)"
rm -rf "$prefix"
make install >/dev/null
mkdir -p "$prefix/bin"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cc=${CC:-cc}

# --- shared library -----------------------------------------------------------
step "building examples/mixed_threads.c against the installed libglweave.so"
read -r -a flags <<<"$(pkg-config --cflags --libs glweave)"
# -pthread is for the example's own threads; glweave's flags come from pkg-config.
echo "$cc -O2 -pthread -o _install/bin/mixed_threads examples/mixed_threads.c ${flags[*]}"
"$cc" -O2 -pthread -o "$prefix/bin/mixed_threads" examples/mixed_threads.c "${flags[@]}"

step "running _install/bin/mixed_threads (shared)"
LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$prefix/bin/mixed_threads"

# --- static library -----------------------------------------------------------
# libglweave.a linked in whole, plus the libraries it needs (liburcu-bp,
# pthread) as `pkg-config --static` lists them; the C library stays shared.
step "building examples/mixed_threads.c against the installed libglweave.a"
if [[ ! -f "$prefix/lib/libglweave.a" ]]; then
  echo "quickstart: $prefix/lib/libglweave.a was not installed" >&2
  exit 1
fi
read -r -a cflags <<<"$(pkg-config --static --cflags glweave)"
read -r -a all_libs <<<"$(pkg-config --static --libs glweave)"
libs=()
for flag in "${all_libs[@]}"; do
  [[ "$flag" == -lglweave ]] || libs+=("$flag")
done
echo "$cc -O2 -pthread -o _install/bin/mixed_threads-static examples/mixed_threads.c" \
  "${cflags[*]} _install/lib/libglweave.a ${libs[*]}"
"$cc" -O2 -pthread -o "$prefix/bin/mixed_threads-static" examples/mixed_threads.c \
  "${cflags[@]}" "$prefix/lib/libglweave.a" "${libs[@]}"
if readelf -d "$prefix/bin/mixed_threads-static" | grep -q 'NEEDED.*libglweave'; then
  echo "quickstart: mixed_threads-static still needs libglweave.so" >&2
  exit 1
fi

step "running _install/bin/mixed_threads-static (static libglweave)"
env -u LD_LIBRARY_PATH "$prefix/bin/mixed_threads-static"

printf '\nquickstart: glweave is installed in %s and the example ran (shared and static).\n' "$prefix"
printf 'Build your own program with:\n'
printf '  export PKG_CONFIG_PATH=%s/lib/pkgconfig\n' "$prefix"
# shellcheck disable=SC2016 # the $(...) is printed for the user to run
printf '  cc prog.c $(pkg-config --cflags --libs glweave)\n'
printf '  LD_LIBRARY_PATH=%s/lib ./a.out\n' "$prefix"
