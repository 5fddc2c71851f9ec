/* internal.h -- constants and helpers shared by every layer of glweave.
 * It owns the geometry (segment size, size-class limits) that the layers and
 * the assembly fast path agree on; it must never contain code with state.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef GLWEAVE_INTERNAL_H
#define GLWEAVE_INTERNAL_H

#include "config.h"
#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#endif

#define GL_HIDDEN __attribute__((visibility("hidden")))
#define GL_EXPORT __attribute__((visibility("default")))
#define GL_LIKELY(x) __builtin_expect(!!(x), 1)
#define GL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GL_NOINLINE __attribute__((noinline))
#define GL_COLD __attribute__((cold, noinline))

/* Every block is aligned to this, and every size is a multiple of it. */
#define GL_QUANTUM 16

/* Segments: the unit of address space taken from the OS.  A segment is
 * aligned to its size, so any address finds its segment by masking. */
#define GL_SEGMENT_SHIFT 22
#define GL_SEGMENT_SIZE ((size_t)1 << GL_SEGMENT_SHIFT)
#define GL_SEGMENT_MASK (GL_SEGMENT_SIZE - 1)

/* User address space covered by the registry (x86_64 and arm64 user space
 * with 4-level tables: 47 bits). */
#define GL_ADDRESS_BITS 47
#define GL_SEGMENT_COUNT ((size_t)1 << (GL_ADDRESS_BITS - GL_SEGMENT_SHIFT))

/* Slabs: runs of equal blocks inside a small segment. */
#define GL_SLAB_SHIFT 16
#define GL_SLAB_SIZE ((size_t)1 << GL_SLAB_SHIFT)
#define GL_SLABS_PER_SEGMENT (GL_SEGMENT_SIZE / GL_SLAB_SIZE)

/* Requests up to GL_SMALL_MAX are small (size classes, thread caches);
 * up to GL_LARGE_MAX large (first-fit heap of an arena); above, huge (a
 * mapping of their own). */
#define GL_SMALL_MAX 16384
#define GL_LARGE_MAX ((size_t)1 << 20)

/* Bins: bin 0 is a sentinel that never holds a block (a pointer whose
 * segment is not small maps to it); bins 1..GL_SMALL_CLASSES are the
 * small size classes. */
#define GL_SMALL_CLASSES 36
#define GL_BINS (GL_SMALL_CLASSES + 1)


/* Where the x86_64 fast paths find their two tables when fixed_tables.c
 * could map them there: below 2 GiB, so that an instruction addresses them
 * with an absolute 32-bit displacement.  First the slot table, one int32
 * per request size 0..GL_SMALL_MAX: the %fs-relative offset of the bin's
 * head in the thread's struct tcache_hot (so gl_malloc needs neither the
 * size's bin nor the TLS block's offset); then, at GL_FIXED_BIN_MAP, the
 * segment-to-bin map (registry_bin_map, one byte per segment). */
#define GL_FIXED_TABLES_BASE 0x20000000
#define GL_FIXED_SLOT_TABLE GL_FIXED_TABLES_BASE
#define GL_FIXED_BIN_MAP (GL_FIXED_TABLES_BASE + 0x20000)

/* Largest request accepted at all: beyond it, sizes cannot be rounded and
 * mapped without overflow. */
#define GL_MAX_REQUEST (((size_t)1 << 46))

/* Layout of struct tcache_hot, the thread's cache as the fast paths see
 * it (checked against the C struct by static assertions in tcache.c):
 * heads[GL_BINS] (the first free block of each bin, not encoded; see
 * tcache.h), then
 * words[GL_BINS].  A word holds the bin's room (signed) in bits 31..63
 * and a countdown of its hits in bits 0..30, so that a pop is one add of
 * TCACHE_POP (room + 1, countdown - 1) and a push one add of
 * TCACHE_PUSH (room - 1, sign flag = bin full), both 64-bit: the two
 * paths must use the same width, because a load wider than the store
 * just before it to the same address cannot be forwarded from the store
 * buffer (measured with a 16-bit room: the pair loop fell from about 195
 * to 130 million pairs per second). */
#define TCACHE_HEADS_OFFSET 0
#define TCACHE_WORDS_OFFSET (GL_BINS * 8)
#define TCACHE_ROOM_SHIFT 31
#define TCACHE_POP 0x7fffffff
#define TCACHE_PUSH (-0x7fffffff - 1)
#define TCACHE_COUNTDOWN_FULL 0x7fffffff

#ifndef __ASSEMBLER__
static inline size_t gl_align_up(size_t value, size_t alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

static inline bool gl_is_power_of_two(size_t value)
{
    return value != 0 && (value & (value - 1)) == 0;
}

#endif /* !__ASSEMBLER__ */

#endif /* GLWEAVE_INTERNAL_H */
