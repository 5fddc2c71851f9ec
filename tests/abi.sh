#!/bin/sh
# abi.sh -- the ABI of the shared libraries: for libglweave.so and, when it
# is built, libglweave-malloc.so, the SONAME and every exported symbol with
# its version node must equal the committed list tests/abi/LIB.symbols, so
# that an accidental export, removal or SONAME change fails `make check`;
# and every function that lib/glweave.h declares must be exported.
# A library that was not built (--disable-shared, or not in this tree) is
# skipped; exit 77 when none was.
#
# After a deliberate ABI change (docs/ABI.md), regenerate the lists with
#     GLWEAVE_ABI_UPDATE=1 make check TESTS=tests/abi.sh
# and commit them with the change.
#
# SPDX-License-Identifier: MIT

builddir="${top_builddir:-.}"
listdir="${srcdir:-.}/tests/abi"

if ! command -v readelf >/dev/null 2>&1; then
    echo "abi: readelf not found: skipped"
    exit 77
fi

# Prints "soname NAME" and then one "symbol@version" per exported symbol
# (symbol alone when it has no version), sorted.
abi_of() {
    soname=$(readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    echo "soname ${soname:-none}"
    # Symbols defined here (Ndx is not UND) that other objects can bind to
    # (GLOBAL or WEAK, DEFAULT or PROTECTED visibility); the version nodes
    # themselves (ABS) are implied by the symbols' versions.
    readelf --dyn-syms -W "$1" |
        awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $7 != "ABS" &&
             ($5 == "GLOBAL" || $5 == "WEAK") &&
             ($6 == "DEFAULT" || $6 == "PROTECTED") { print $8 }' |
        LC_ALL=C sort -u
}

# Built without a linker version script (configure found none), the
# exports have no versions: compare the names alone.
versioned=yes
if [ -f "$builddir/config.h" ] &&
    ! grep -q '^#define HAVE_LD_VERSION_SCRIPT 1' "$builddir/config.h"; then
    versioned=no
    echo "abi: built without a version script: comparing symbol names only"
fi
names_only() {
    if [ "$versioned" = yes ]; then cat; else sed 's/@.*//'; fi
}

checked=0
status=0
for name in libglweave libglweave-malloc; do
    lib="$builddir/lib/.libs/$name.so"
    list="$listdir/$name.symbols"
    if [ ! -f "$lib" ]; then
        echo "abi: $lib not built: skipped"
        continue
    fi
    actual=$(abi_of "$lib")
    if [ -n "$GLWEAVE_ABI_UPDATE" ]; then
        {
            echo "# $name.so: SONAME and exported symbols (symbol@@version)."
            echo "# Checked by tests/abi.sh; change only with docs/ABI.md."
            printf '%s\n' "$actual"
        } >"$list"
        echo "abi: wrote $list"
        checked=$((checked + 1))
        continue
    fi
    # Every function glweave.h declares must be exported: a new function
    # left out of lib/glweave.map would otherwise be silently local.
    if [ "$name" = libglweave ] && [ -f "${srcdir:-.}/lib/glweave.h" ]; then
        declared=$(grep -E '^[A-Za-z].*[ *]gl_[a-z0-9_]+\(' "${srcdir:-.}/lib/glweave.h" |
            sed -E 's/^[^(]*[ *](gl_[a-z0-9_]+)\(.*/\1/' | LC_ALL=C sort -u)
        for function in $declared; do
            if ! printf '%s\n' "$actual" | grep -q "^$function\(@\|\$\)"; then
                echo "abi: $function is declared in glweave.h but not exported by $name.so (lib/glweave.map)"
                status=1
            fi
        done
    fi
    if [ ! -f "$list" ]; then
        echo "abi: $list is missing; the library exports:"
        printf '%s\n' "$actual" | sed 's/^/  /'
        status=1
        continue
    fi
    expected=$(grep -v '^#' "$list" | grep -v '^ *$' | names_only)
    if [ "$actual" = "$expected" ]; then
        count=$(printf '%s\n' "$actual" | grep -vc '^soname ' || true)
        echo "abi: $name.so matches $list: $(printf '%s\n' "$actual" | head -n 1), $count symbols"
    else
        echo "abi: $name.so differs from $list (- expected, + built):"
        exp_file=$(mktemp) act_file=$(mktemp)
        printf '%s\n' "$expected" >"$exp_file"
        printf '%s\n' "$actual" >"$act_file"
        diff -u "$exp_file" "$act_file" | sed -n '3,$p'
        rm -f "$exp_file" "$act_file"
        echo "abi: if the change is deliberate, follow docs/ABI.md and run"
        echo "abi:   GLWEAVE_ABI_UPDATE=1 make check TESTS=tests/abi.sh"
        status=1
    fi
    checked=$((checked + 1))
done

if [ "$checked" -eq 0 ]; then
    echo "abi: no shared library built: skipped"
    exit 77
fi
exit "$status"
