/* segment.h -- segments: aligned mappings whose header says what they hold.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_SEGMENT_H
#define GLWEAVE_SEGMENT_H
#include "internal.h"

struct arena;

enum segment_kind {
    SEGMENT_SMALL = 1, /* slabs of one size class */
    SEGMENT_LARGE = 2, /* an arena's first-fit heap */
    SEGMENT_HUGE = 3,  /* one block in a mapping of its own */
};

#define SEGMENT_MAGIC 0x676c776561766521ull /* "glweave!" */

/* A run of equal blocks inside a small segment. */
struct slab {
    char *first_block;
    void *free_list;          /* blocks returned to the arena */
    uint32_t capacity;        /* blocks the slab can hold */
    uint32_t never_used;      /* blocks past the bump point (not yet carved) */
    uint32_t free_count;      /* blocks on free_list */
    uint32_t in_use;          /* blocks handed out to threads */
    struct slab *next_partial;
    struct slab *prev_partial;
    struct slab *next_empty;  /* arena's list of empty slabs with dirty pages */
    struct slab *prev_empty;
    bool on_partial_list;
    bool on_empty_list;
};

struct segment_header {
    uint64_t magic;
    uint8_t kind;
    uint8_t bin;                  /* SEGMENT_SMALL: the size class */
    struct arena *arena;          /* owner; NULL for huge */
    struct segment_header *next;  /* the owner's list of its segments */
    struct segment_header *prev;
    size_t mapped_size;           /* bytes mapped at the header */
    /* SEGMENT_HUGE */
    char *huge_payload;
    size_t huge_usable;
    /* SEGMENT_SMALL */
    uint32_t block_size;
    uint32_t blocks_per_slab;     /* stride of the out-bitmap per slab */
    uint32_t bitmap_words_per_slab;
    uint32_t slabs_started;
    uint32_t slabs_in_use;        /* slabs with in_use > 0 */
    struct slab slabs[GL_SLABS_PER_SEGMENT];
    /* One bit per block that is out of the arena (in a thread cache or in
     * the program): catches double frees and foreign pointers when blocks
     * come home. */
    uint64_t out_bitmap[];
};

static inline struct segment_header *segment_of(const void *address)
{
    return (struct segment_header *)((uintptr_t)address & ~(uintptr_t)GL_SEGMENT_MASK);
}

/* Maps and registers a segment of the given kind for arena.  For small
 * segments bin is the size class.  Returns NULL when out of memory. */
GL_HIDDEN struct segment_header *segment_create(enum segment_kind kind, struct arena *arena, unsigned bin);
/* Withdraws from the registry and unmaps.  No arena lock may be held. */
GL_HIDDEN void segment_destroy(struct segment_header *segment);
/* Starts the next slab of a small segment; false when all are started. */
GL_HIDDEN bool segment_start_slab(struct segment_header *segment, struct slab **out);
/* The slab holding a block of a small segment, or NULL if address is not the
 * start of a block that has been carved. */
GL_HIDDEN struct slab *segment_slab_of_block(struct segment_header *segment, const void *address, size_t *block_index);

/* Offset of the first usable byte after a large segment's header. */
GL_HIDDEN size_t segment_large_data_offset(void);

GL_HIDDEN size_t segment_mapped_bytes(void);
GL_HIDDEN size_t segment_count(void);
GL_HIDDEN void segment_account_huge(long count_delta, long bytes_delta);

#endif
