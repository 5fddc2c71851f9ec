/* huge.c -- blocks above GL_LARGE_MAX (or with alignments too large for an
 * arena's heap), each in a mapping of its own that starts with a segment
 * header.  The mapping starts on a segment boundary, and only the segment
 * holding the payload is registered.  It never
 * takes an arena lock; unmapping waits for registry readers.  A block is
 * claimed before it is unmapped, so that of two threads freeing it only
 * one unmaps, and the other is told it is a double free.
 *
 * The header stays addressable for memcheck (the registry's readers and
 * api.c read it); the padding between it and the payload does not, so
 * that an underflow of the block is reported (vg.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "huge.h"
#include "os.h"
#include "registry.h"
#include "segment.h"
#include "vg.h"

static size_t huge_allocated;

/* The payloads of the last RECENT_FREES huge blocks freed.  A second free
 * of a huge block finds no mapping and no registry entry: without this it
 * could only be called a pointer glweave does not know.  Written once per
 * huge free (next to a munmap and a grace period), read only when a
 * pointer has already been refused. */
#define RECENT_FREES 64u
static uintptr_t recent_frees[RECENT_FREES];
static unsigned recent_next;

static size_t header_room(void)
{
    return gl_align_up(sizeof(struct segment_header), 64);
}

void *huge_alloc(size_t size, size_t alignment)
{
    size_t page = os_page_size();
    size_t offset = gl_align_up(header_room(), alignment);
    if (size > GL_MAX_REQUEST || alignment > GL_MAX_REQUEST)
        return NULL;
    /* A zero-byte request still gets a mapped, writable block: with a large
     * alignment the payload sits at the end of the header's room, and
     * nothing would be mapped behind it (found by fuzz/fuzz_ops). */
    if (size < GL_QUANTUM)
        size = GL_QUANTUM;
    size_t mapped = gl_align_up(offset + size, page);
    /* Mapping from a segment boundary makes the payload's segment number
     * this mapping's alone: every other glweave mapping starts on a segment
     * boundary too, and none lies inside this one.  Foreign memory may follow
     * the tail; the registry still names this header for it, and huge_owns
     * rejects pointers into it. */
    size_t map_alignment = alignment > GL_SEGMENT_SIZE ? alignment : GL_SEGMENT_SIZE;
    struct segment_header *header = os_map_aligned(mapped, map_alignment);
    if (header == NULL)
        return NULL;
    header->magic = SEGMENT_MAGIC;
    header->kind = SEGMENT_HUGE;
    header->mapped_size = mapped;
    header->huge_payload = (char *)header + offset;
    header->huge_usable = mapped - offset;
    vg_mem_noaccess(header + 1, (size_t)(header->huge_payload - (char *)(header + 1)));
    if (!registry_insert(header->huge_payload, header, 0)) {
        os_unmap(header, mapped);
        return NULL;
    }
    segment_account_huge(1, (long)mapped);
    __atomic_add_fetch(&huge_allocated, header->huge_usable, __ATOMIC_RELAXED);
    return header->huge_payload;
}

bool huge_owns(const struct segment_header *header, const void *ptr)
{
    /* atomic: huge_claim clears it while other threads may look */
    return header->kind == SEGMENT_HUGE && __atomic_load_n(&header->huge_payload, __ATOMIC_ACQUIRE) == ptr;
}

bool huge_claim(struct segment_header *header, void *ptr)
{
    char *expected = ptr;
    if (!__atomic_compare_exchange_n(&header->huge_payload, &expected, NULL, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return false;
    unsigned slot = __atomic_fetch_add(&recent_next, 1, __ATOMIC_RELAXED) % RECENT_FREES;
    __atomic_store_n(&recent_frees[slot], (uintptr_t)ptr, __ATOMIC_RELAXED);
    return true;
}

bool huge_recently_freed(const void *ptr)
{
    for (unsigned i = 0; i < RECENT_FREES; i++)
        if (__atomic_load_n(&recent_frees[i], __ATOMIC_RELAXED) == (uintptr_t)ptr)
            return true;
    return false;
}

void huge_free(struct segment_header *header, void *ptr)
{
    registry_remove(ptr);
    segment_account_huge(-1, -(long)header->mapped_size);
    __atomic_sub_fetch(&huge_allocated, header->huge_usable, __ATOMIC_RELAXED);
    os_unmap(header, header->mapped_size);
}

size_t huge_usable_size(const struct segment_header *header)
{
    return header->huge_usable;
}

bool huge_resize_in_place(struct segment_header *header, size_t size)
{
    size_t offset = (size_t)(header->huge_payload - (char *)header);
    if (size > GL_MAX_REQUEST)
        return false;
    size_t wanted = gl_align_up(offset + size, os_page_size());
    if (wanted == header->mapped_size)
        return true;
    if (wanted < header->mapped_size) {
        os_unmap((char *)header + wanted, header->mapped_size - wanted);
    } else if (!os_resize_in_place(header, header->mapped_size, wanted)) {
        return false;
    }
    long delta = (long)wanted - (long)header->mapped_size;
    segment_account_huge(0, delta);
    __atomic_add_fetch(&huge_allocated, (size_t)delta, __ATOMIC_RELAXED);
    /* Atomic: gl_stats_get reads it (count_resident) under the registry
     * lock, which the block's owner does not take to resize it. */
    __atomic_store_n(&header->mapped_size, wanted, __ATOMIC_RELAXED);
    header->huge_usable = wanted - offset;
    return true;
}

size_t huge_allocated_bytes(void)
{
    return __atomic_load_n(&huge_allocated, __ATOMIC_RELAXED);
}
