/* vg.h -- what the allocator tells valgrind's memcheck about the blocks it
 * hands out and takes back (configure --enable-valgrind).  Without that
 * option every hook is an empty inline function.  It owns these hooks and
 * never changes allocator state.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef GLWEAVE_VG_H
#define GLWEAVE_VG_H
#include "internal.h"

/* A block of usable size bytes now belongs to the program. */
static inline void vg_block_allocated(const void *block, size_t size, bool zeroed)
{
    (void)block;
    (void)size;
    (void)zeroed;
}

/* The program gave the block back. */
static inline void vg_block_freed(const void *block)
{
    (void)block;
}

/* realloc kept the block in place with a new usable size. */
static inline void vg_block_resized(const void *block, size_t old_size, size_t new_size)
{
    (void)block;
    (void)old_size;
    (void)new_size;
}

#endif
