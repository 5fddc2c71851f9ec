/* arena.h -- shared arenas: slabs of small blocks and a large heap each.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_ARENA_H
#define GLWEAVE_ARENA_H
#include "internal.h"
#include "large.h"

#include <pthread.h>

struct slab;
struct segment_header;

struct arena_bin {
    struct slab *partial;                /* slabs with blocks to give */
    struct segment_header *carving;      /* small segment with unstarted slabs */
    struct segment_header *segments;     /* every small segment of the bin */
    size_t blocks_out;                   /* blocks out of the arena */
    size_t slabs;                        /* slabs started */
};

struct arena {
    pthread_mutex_t lock;
    unsigned index;
    struct arena_bin bins[GL_BINS];
    struct large_heap large;
    size_t small_out_bytes;  /* small blocks out of the arena (threads + program) */
    struct slab *empty_slabs;   /* empty slabs whose pages are still dirty */
    struct segment_header *to_unmap; /* wholly empty small segments, unmapped after unlocking */
    size_t small_dirty;         /* bytes of carved blocks in those slabs */
    uint64_t last_purge_ms;
    size_t purged_bytes;        /* given back with madvise, in total */
    size_t lock_acquired;
    size_t lock_contended;      /* times the lock was found taken */
};

GL_HIDDEN bool arena_init_all(unsigned count);
GL_HIDDEN unsigned arena_count(void);
GL_HIDDEN struct arena *arena_get(unsigned index);
/* Spreads threads over arenas: round robin on first use. */
GL_HIDDEN struct arena *arena_pick(void);

/* Takes up to want blocks of bin from arena, linked through their first
 * word, into *list.  Returns how many (0 when out of memory). */
GL_HIDDEN unsigned arena_take_small(struct arena *arena, unsigned bin, unsigned want, void **list);
/* Returns count blocks (an array), each to the arena owning its segment,
 * taking each arena's lock once per batch.  call names the API function
 * for error messages. */
GL_HIDDEN void arena_return_small(void **blocks, unsigned count, const char *call);

/* Why ptr, in a small segment but not a block start that is out, was
 * refused by call: the reason for an "invalid pointer" report. */
GL_HIDDEN const char *arena_small_fault(struct segment_header *segment, const void *ptr, const char *call);

GL_HIDDEN void *arena_alloc_large(struct arena *arena, size_t size, size_t alignment);
/* header is the registry entry of ptr's segment (kind SEGMENT_LARGE).
 * Both report a pointer that is not an in-use block (after unlocking):
 * call names the API function in the report.
 * Both take arena (header->arena, read by the caller in its registry read
 * section, now ended) and check under its lock, in a read section of their
 * own (use_rcu as for registry_read_begin), that the registry still names
 * header as a large segment of arena.  They return false, having done
 * nothing, if it does not: the segment was released meanwhile. */
GL_HIDDEN bool arena_free_large(struct arena *arena, struct segment_header *header, void *ptr, const char *call,
                                bool use_rcu);
/* *usable is 0 when ptr was refused (and reported). */
GL_HIDDEN bool arena_usable_large(struct arena *arena, struct segment_header *header, const void *ptr,
                                  const char *call, bool use_rcu, size_t *usable);
GL_HIDDEN const char *arena_large_fault_reason(enum large_fault fault, const char *call);
GL_HIDDEN bool arena_resize_large(struct segment_header *header, void *ptr, size_t size);

/* Returns dirty free memory of every arena to the OS, and unmaps wholly
 * free large segments (gl_trim).  Returns the bytes given back. */
GL_HIDDEN size_t arena_trim_all(void);

/* A consistent copy of one arena's counters (taken under its lock). */
struct arena_counters {
    size_t small_out, large_allocated, dirty, purged, lock_acquired, lock_contended;
    size_t blocks_out[GL_BINS];
    size_t slabs[GL_BINS];
};
GL_HIDDEN void arena_read_counters(unsigned index, struct arena_counters *out);


GL_HIDDEN void arena_fork_prepare(void);
GL_HIDDEN void arena_fork_parent(void);
GL_HIDDEN void arena_fork_child(void);

#endif
