#!/bin/sh
# exports.sh -- checks the dynamic symbol table of libglweave.so: every symbol
# the library defines and exports must start with gl_ (an allocator must not
# leak internal names into its callers' namespace), and the public API from
# glweave.h must all be there.  Exit 77 (skipped) when no shared library was
# built, e.g. with --disable-shared.
#
# SPDX-License-Identifier: MIT

lib="${top_builddir:-.}/lib/.libs/libglweave.so"

if [ ! -f "$lib" ]; then
    echo "exports: $lib not found (shared library not built): skipped"
    exit 77
fi
if ! command -v nm >/dev/null 2>&1; then
    echo "exports: nm not found: skipped"
    exit 77
fi

if ! table=$(nm -D --defined-only "$lib"); then
    echo "exports: nm -D --defined-only $lib failed"
    exit 1
fi

# Lines are "ADDRESS TYPE NAME" (the address may be missing).  Absolute
# symbols (type A) are symbol-version nodes, not code or data; skip them.
exported=$(printf '%s\n' "$table" |
    awk 'NF >= 2 && $(NF-1) != "A" { name = $NF; sub(/@.*/, "", name); print name }' |
    sort -u)

status=0

bad=$(printf '%s\n' "$exported" | grep -v '^gl_' | grep -v '^$' || true)
if [ -n "$bad" ]; then
    echo "exports: symbols exported without the gl_ prefix:"
    printf '%s\n' "$bad" | sed 's/^/  /'
    status=1
fi

required="gl_malloc gl_free gl_calloc gl_realloc gl_reallocarray
gl_aligned_alloc gl_posix_memalign gl_usable_size gl_free_sized
gl_thread_flush gl_version gl_stats_get"
for sym in $required; do
    if ! printf '%s\n' "$exported" | grep -qx "$sym"; then
        echo "exports: required API symbol missing: $sym"
        status=1
    fi
done

# Not an error, but worth a look: gl_ symbols that the public header does
# not declare are internals that escaped.
header="${srcdir:-.}/lib/glweave.h"
if [ -f "$header" ]; then
    for sym in $exported; do
        case "$sym" in gl_*) ;; *) continue ;; esac
        if ! grep -q "[^A-Za-z0-9_]$sym *(" "$header"; then
            echo "exports: note: $sym is exported but not declared in glweave.h"
        fi
    done
fi

count=$(printf '%s\n' "$exported" | grep -c . || true)
if [ "$status" -eq 0 ]; then
    echo "exports: ok, $count symbols exported, all with the gl_ prefix:"
    printf '%s\n' "$exported" | sed 's/^/  /'
fi
exit "$status"
