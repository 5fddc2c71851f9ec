/* vg.h -- what the allocator tells valgrind's memcheck about the blocks it
 * hands out and takes back (configure --enable-valgrind).  Without that
 * option every hook is an empty inline function and valgrind's header is
 * not even included.  It owns these hooks and never changes allocator
 * state; with valgrind absent (a native run) each client request is a few
 * instructions that do nothing.
 *
 * Who calls what, exactly once per block and event:
 *  - vg_block_allocated right after a block is taken for the program and
 *    before the program sees it; vg_block_freed as soon as the program
 *    gives it back, before glweave writes anything into it (free lists,
 *    boundary tags) or validates it.  The fast path calls them on its hits,
 *    api.c on everything that reaches the slow paths.
 *  - vg_block_resized after an in-place realloc (api.c).
 *  - vg_metadata_begin/end around code that reads or writes glweave's own
 *    bookkeeping in memory the program must not touch (large.c).
 *
 * Sizes are usable sizes (what gl_usable_size reports), not the sizes
 * asked for: the program may use the whole block, so memcheck reports an
 * access only past its usable end.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef GLWEAVE_VG_H
#define GLWEAVE_VG_H
#include "internal.h"

#ifdef GLWEAVE_VALGRIND
#include <valgrind/memcheck.h>

#define VG_ENABLED 1

/* A block of usable size bytes now belongs to the program.  zeroed: its
 * bytes are known to be zero (calloc), so reading them is not a use of
 * uninitialised memory. */
static inline void vg_block_allocated(const void *block, size_t size, bool zeroed)
{
    /* No redzone: small blocks sit edge to edge in their slab, and the
     * bytes around a large block are its boundary tags, which large.c
     * keeps unaddressable itself. */
    VALGRIND_MALLOCLIKE_BLOCK(block, size, 0, zeroed);
}

/* The program gave the block back: from here on any access by the program
 * is an error, and a second free is reported as an invalid free. */
static inline void vg_block_freed(const void *block)
{
    VALGRIND_FREELIKE_BLOCK(block, 0);
}

/* realloc kept the block in place with a new usable size: a grown tail is
 * addressable but undefined, a cut tail unaddressable, and the common
 * prefix keeps its state. */
static inline void vg_block_resized(const void *block, size_t old_size, size_t new_size)
{
    if (old_size != new_size)
        VALGRIND_RESIZEINPLACE_BLOCK(block, old_size, new_size, 0);
}

/* Bytes the program wrote (calloc of a fresh mapping, known to be zero)
 * without glweave writing them. */
static inline void vg_mem_defined(const void *start, size_t size)
{
    VALGRIND_MAKE_MEM_DEFINED(start, size);
}

/* Memory that is neither a block of the program's nor free for it to touch
 * (free space, boundary tags, padding): any access by the program is an
 * error. */
static inline void vg_mem_noaccess(const void *start, size_t size)
{
    VALGRIND_MAKE_MEM_NOACCESS(start, size);
}

/* Between begin and end the calling thread reads and writes bookkeeping
 * that is kept unaddressable (vg_mem_noaccess) so that the program's
 * accesses to it are reported.  Memcheck then reports nothing for this
 * thread, and leaves every byte's state as it was: a write to an
 * unaddressable byte stays unaddressable, and a read from one gives a
 * defined value.  Nestable; other threads keep their reports. */
static inline void vg_metadata_begin(void)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
}

static inline void vg_metadata_end(void)
{
    VALGRIND_ENABLE_ERROR_REPORTING;
}

#else

#define VG_ENABLED 0

static inline void vg_block_allocated(const void *block, size_t size, bool zeroed)
{
    (void)block;
    (void)size;
    (void)zeroed;
}

static inline void vg_block_freed(const void *block)
{
    (void)block;
}

static inline void vg_block_resized(const void *block, size_t old_size, size_t new_size)
{
    (void)block;
    (void)old_size;
    (void)new_size;
}

static inline void vg_mem_defined(const void *start, size_t size)
{
    (void)start;
    (void)size;
}

static inline void vg_mem_noaccess(const void *start, size_t size)
{
    (void)start;
    (void)size;
}

static inline void vg_metadata_begin(void)
{
}

static inline void vg_metadata_end(void)
{
}

#endif

#endif
