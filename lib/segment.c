/* segment.c -- creates, lays out and destroys segments (small, large) and
 * keeps the counts of mapped memory.  It knows the layout inside a segment;
 * it never hands out blocks (arenas do) and never takes an arena lock.
 * With --enable-valgrind a new slab's blocks start unaddressable for
 * memcheck, as free blocks are: a program's overflow into a block never
 * handed out is reported like one into a freed block (vg.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "segment.h"
#include "freelist.h"
#include "os.h"
#include "registry.h"
#include "size_class.h"
#include "vg.h"

static size_t segments_live;
static size_t segments_mapped_bytes;

static size_t small_header_size(uint32_t block_size, uint32_t *blocks_per_slab, uint32_t *words)
{
    *blocks_per_slab = (uint32_t)(GL_SLAB_SIZE / block_size);
    *words = (*blocks_per_slab + 63) / 64;
    return sizeof(struct segment_header)
           + (size_t)*words * GL_SLABS_PER_SEGMENT * sizeof(uint64_t);
}

/* The largest power of two dividing size, capped at a slab: slab starts are
 * aligned to it so that blocks of power-of-two-multiple classes are aligned
 * to that power of two (aligned allocation relies on this). */
static size_t natural_alignment(size_t size)
{
    size_t a = size & (~size + 1);
    return a > GL_SLAB_SIZE ? GL_SLAB_SIZE : a;
}

size_t segment_large_data_offset(void)
{
    return gl_align_up(sizeof(struct segment_header), 64);
}

struct segment_header *segment_create(enum segment_kind kind, struct arena *arena, unsigned bin)
{
    struct segment_header *segment = os_map_aligned(GL_SEGMENT_SIZE, GL_SEGMENT_SIZE);
    if (segment == NULL)
        return NULL;
    segment->magic = SEGMENT_MAGIC;
    segment->kind = (uint8_t)kind;
    segment->arena = arena;
    segment->mapped_size = GL_SEGMENT_SIZE;
    if (kind == SEGMENT_SMALL) {
        segment->bin = (uint8_t)bin;
        segment->block_size = size_class_block_size[bin];
        small_header_size(segment->block_size, &segment->blocks_per_slab,
                          &segment->bitmap_words_per_slab);
    }
    if (!registry_insert(segment, segment, kind == SEGMENT_SMALL ? bin : 0)) {
        os_unmap(segment, GL_SEGMENT_SIZE);
        return NULL;
    }
    if (kind == SEGMENT_SMALL)
        freelist_raise_limit((uintptr_t)segment + GL_SEGMENT_SIZE);
    __atomic_add_fetch(&segments_live, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&segments_mapped_bytes, GL_SEGMENT_SIZE, __ATOMIC_RELAXED);
    return segment;
}

void segment_destroy(struct segment_header *segment)
{
    registry_remove(segment);
    __atomic_sub_fetch(&segments_live, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&segments_mapped_bytes, GL_SEGMENT_SIZE, __ATOMIC_RELAXED);
    os_unmap(segment, GL_SEGMENT_SIZE);
}

bool segment_start_slab(struct segment_header *segment, struct slab **out)
{
    uint32_t index = segment->slabs_started;
    if (index == GL_SLABS_PER_SEGMENT)
        return false;
    struct slab *slab = &segment->slabs[index];
    char *slab_start = (char *)segment + (size_t)index * GL_SLAB_SIZE;
    char *slab_end = slab_start + GL_SLAB_SIZE;
    char *first = slab_start;
    if (index == 0) {
        uint32_t per_slab, words;
        size_t header = small_header_size(segment->block_size, &per_slab, &words);
        first = (char *)segment + gl_align_up(header, natural_alignment(segment->block_size));
    }
    slab->first_block = first;
    slab->capacity = first < slab_end ? (uint32_t)((size_t)(slab_end - first) / segment->block_size) : 0;
    __atomic_store_n(&slab->never_used, slab->capacity, __ATOMIC_RELAXED);
    vg_mem_noaccess(first, (size_t)slab->capacity * segment->block_size);
    /* Release: gl_usable_size reads slabs without the arena lock, and must
     * see the slab's geometry once it sees the slab counted. */
    __atomic_store_n(&segment->slabs_started, index + 1, __ATOMIC_RELEASE);
    *out = slab;
    return true;
}

struct slab *segment_slab_of_block(struct segment_header *segment, const void *address, size_t *block_index)
{
    size_t offset = (size_t)((const char *)address - (const char *)segment);
    size_t index = offset >> GL_SLAB_SHIFT;
    /* Called without the arena lock (gl_usable_size, gl_realloc): the
     * counters are read atomically; a block the caller owns was carved
     * before, so a stale value can only reject a pointer that was never
     * handed out. */
    if (index >= __atomic_load_n(&segment->slabs_started, __ATOMIC_ACQUIRE))
        return NULL;
    struct slab *slab = &segment->slabs[index];
    if ((const char *)address < slab->first_block)
        return NULL;
    size_t within = (size_t)((const char *)address - slab->first_block);
    size_t block = within / segment->block_size;
    /* The division is on the slow path only: blocks come here in batches. */
    uint32_t carved = slab->capacity - __atomic_load_n(&slab->never_used, __ATOMIC_RELAXED);
    if (block * segment->block_size != within || block >= carved)
        return NULL;
    *block_index = index * segment->blocks_per_slab + block;
    return slab;
}

size_t segment_mapped_bytes(void)
{
    return __atomic_load_n(&segments_mapped_bytes, __ATOMIC_RELAXED);
}

size_t segment_count(void)
{
    return __atomic_load_n(&segments_live, __ATOMIC_RELAXED);
}

void segment_account_huge(long count_delta, long bytes_delta)
{
    __atomic_add_fetch(&segments_live, (size_t)count_delta, __ATOMIC_RELAXED);
    __atomic_add_fetch(&segments_mapped_bytes, (size_t)bytes_delta, __ATOMIC_RELAXED);
}
