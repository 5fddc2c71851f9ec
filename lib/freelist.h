/* freelist.h -- how a free small block links to the next one.
 *
 * Every free-list link stored inside a free block (thread caches and slabs
 * alike) is encoded: the next block's address XOR a per-process random key.
 * A program that writes into a block after freeing it therefore cannot
 * forge a link to memory of its choosing, and what it writes decodes to an
 * address that is caught before it is followed: every valid block lies
 * below freelist_limit, while the key's top bits make ordinary data (small
 * or negative numbers, pointers, text) decode above it.  A list ends with
 * the encoded FREELIST_END, which is also above the limit.
 *
 * This header owns the encoding and the two accesses to a link; it never
 * walks a list (tcache.c and arena.c do).  With --enable-valgrind the
 * accesses tell memcheck that the allocator, not the program, reads and
 * writes a freed block.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef GLWEAVE_FREELIST_H
#define GLWEAVE_FREELIST_H
#include "internal.h"
#include "vg.h"

#define FREELIST_END UINTPTR_MAX

/* Set once by init before any block exists; read by the fast paths
 * (assembly included) with plain loads. */
GL_HIDDEN extern uintptr_t freelist_key;
/* Above every small segment's end; raised (never lowered) when a small
 * segment is mapped.  0 until then, so that nothing decodes as valid. */
GL_HIDDEN extern uintptr_t freelist_limit;

/* Chooses the key from a random number: bit 62 set and bit 61 clear, so
 * that a value whose top bits are all zero or all one decodes to an
 * address far above any block. */
GL_HIDDEN void freelist_set_key(uint64_t random);
/* Records that blocks exist up to end. */
GL_HIDDEN void freelist_raise_limit(uintptr_t end);

static inline uintptr_t freelist_encode(const void *block)
{
    return (uintptr_t)block ^ freelist_key;
}

static inline uintptr_t freelist_decode(uintptr_t encoded)
{
    return encoded ^ freelist_key;
}

/* Could a decoded link be a block?  (FREELIST_END is not.) */
static inline bool freelist_plausible(uintptr_t decoded)
{
    return decoded < __atomic_load_n(&freelist_limit, __ATOMIC_RELAXED);
}

/* A free block is unaddressable for memcheck from vg_block_freed on (vg.h),
 * so that the program's use of it is reported; the allocator's own access
 * to the link opens that word for the access only. */
static inline uintptr_t freelist_load_link(const void *block)
{
    vg_mem_defined(block, sizeof(uintptr_t));
    uintptr_t link = *(const uintptr_t *)block;
    vg_mem_noaccess(block, sizeof(uintptr_t));
    return link;
}

static inline void freelist_store_link(void *block, uintptr_t encoded)
{
    vg_mem_defined(block, sizeof(uintptr_t));
    *(uintptr_t *)block = encoded;
    vg_mem_noaccess(block, sizeof(uintptr_t));
}

#endif
