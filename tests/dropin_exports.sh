#!/bin/sh
# dropin_exports.sh -- checks the dynamic symbol table of
# libglweave-malloc.so: it must define and export exactly the C library's
# malloc family (nothing of glweave's own, not even gl_*: the drop-in must
# not clash with a libglweave.so in the same process), and the symbols must
# be unversioned, or they would not interpose glibc's versioned ones.  It
# also checks that libglweave.so defines none of the family.  Exit 77
# (skipped) when no shared library was built, e.g. with --disable-shared.

dropin="${top_builddir:-.}/lib/.libs/libglweave-malloc.so"
api="${top_builddir:-.}/lib/.libs/libglweave.so"

family="aligned_alloc calloc free free_aligned_sized free_sized malloc
malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc"

if [ ! -f "$dropin" ]; then
    echo "dropin_exports: $dropin not found (shared library not built): skipped"
    exit 77
fi
if ! command -v nm >/dev/null 2>&1; then
    echo "dropin_exports: nm not found: skipped"
    exit 77
fi

# Defined dynamic symbols as NAME or NAME@VERSION, absolute version nodes
# (type A) left out.
defined() {
    nm -D --defined-only "$1" | awk 'NF >= 2 && $(NF-1) != "A" { print $NF }' | sort -u
}

if ! table=$(defined "$dropin"); then
    echo "dropin_exports: nm -D --defined-only $dropin failed"
    exit 1
fi

status=0
# shellcheck disable=SC2086 # one name per word
expected=$(printf '%s\n' $family | sort)
names=$(printf '%s\n' "$table" | sed 's/@.*//' | sort -u)

extra=$(printf '%s\n' "$names" | grep -v '^$' | grep -vxF "$expected" || true)
if [ -n "$extra" ]; then
    echo "dropin_exports: $dropin exports symbols outside the malloc family:"
    printf '%s\n' "$extra" | sed 's/^/  /'
    status=1
fi
for sym in $family; do
    if ! printf '%s\n' "$names" | grep -qx "$sym"; then
        echo "dropin_exports: $dropin does not export $sym"
        status=1
    fi
done
versioned=$(printf '%s\n' "$table" | grep '@' || true)
if [ -n "$versioned" ]; then
    echo "dropin_exports: versioned symbols cannot interpose glibc's:"
    printf '%s\n' "$versioned" | sed 's/^/  /'
    status=1
fi

if [ -f "$api" ]; then
    leaked=$(defined "$api" | sed 's/@.*//' | grep -xF "$expected" || true)
    if [ -n "$leaked" ]; then
        echo "dropin_exports: $api defines malloc-family symbols:"
        printf '%s\n' "$leaked" | sed 's/^/  /'
        status=1
    fi
fi

if [ "$status" -eq 0 ]; then
    echo "dropin_exports: ok, $dropin exports exactly the malloc family:"
    printf '%s\n' "$names" | sed 's/^/  /'
fi
exit "$status"
