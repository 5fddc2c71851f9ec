/* size_class.h -- the small size classes and the size-to-bin map.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_SIZE_CLASS_H
#define GLWEAVE_SIZE_CLASS_H
#include "internal.h"

/* class_size[bin] is the block size of a bin; class_size[0] is 0. */
GL_HIDDEN extern uint32_t size_class_block_size[GL_BINS];
/* size_class_bin_of_size[n] is the bin for a request of n bytes,
 * n <= GL_SMALL_MAX.  Indexed by the byte count itself (16 KiB, shared by
 * all threads) so that the fast path needs no rounding arithmetic.  (The
 * x86_64 fast path reads fixed_tables.c's slot table, built from it.) */
GL_HIDDEN extern uint8_t size_class_bin_of_size[GL_SMALL_MAX + 1];

GL_HIDDEN void size_class_init(void);

static inline unsigned size_class_bin(size_t size)
{
    return size_class_bin_of_size[size];
}

/* The smallest bin whose blocks hold size bytes and are aligned to
 * alignment (a power of two up to GL_SMALL_MAX), or 0 if none is. */
GL_HIDDEN unsigned size_class_bin_aligned(size_t size, size_t alignment);

#endif
