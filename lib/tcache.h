/* tcache.h -- per-thread caches of small blocks.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_TCACHE_H
#define GLWEAVE_TCACHE_H
#include "internal.h"

#include <urcu/list.h>

struct arena;

/* The hot part comes first: the fast paths (C and assembly) use only
 * heads[] and room[].  room[bin] is how many more blocks the
 * bin may take before it must flush (capacity minus blocks held).  It is
 * never positive for bin 0 or in a sentinel cache, which sends every call
 * to the slow path.  The assembly free path decrements room before testing
 * it, and its slow path adds the 1 back for real caches; sentinel caches
 * start at TCACHE_SENTINEL_ROOM, so far below zero that those unrestored
 * decrements can never bring them up to it. */

struct thread_cache {
    void *heads[GL_BINS];
    int32_t room[GL_BINS];
    /* cold */
    struct arena *arena;
    struct cds_list_head all_link;       /* tcache_all, RCU-published */
    struct thread_cache *next_recycled;
    bool live;
    bool sentinel;
    bool flush_requested;                /* by gl_trim: flush on the next slow path */
    /* Slow-path counters, for statistics (misses: refills; overflows: flushes).
     * They survive the thread, in the recycled cache. */
    size_t refills[GL_BINS];
    size_t flushes[GL_BINS];
};

struct tcache_bin_counters {
    size_t blocks;   /* blocks held now */
    size_t refills;
    size_t flushes;
};

/* The calling thread's cache.  Before the thread's first allocation it
 * points to tcache_unset; while a cache is being set up, to
 * tcache_bootstrap; after the thread's exit handler ran, to tcache_dead.
 * The sentinels are never written by C code (see room above). */
GL_HIDDEN extern __thread struct thread_cache *tcache_current
    __attribute__((tls_model("initial-exec")));
GL_HIDDEN extern struct thread_cache tcache_unset, tcache_bootstrap, tcache_dead;

/* Capacity of each bin, in blocks. */
GL_HIDDEN extern int32_t tcache_capacity[GL_BINS];

/* budget: bytes one cache may hold (0 disables thread caches). */
GL_HIDDEN bool tcache_init(size_t budget);

/* Slow paths of gl_malloc/gl_free for small blocks. */
GL_HIDDEN void *tcache_alloc_small(unsigned bin);
GL_HIDDEN void tcache_free_small(void *block, unsigned bin);

/* Returns every cached block of the calling thread to the arenas. */
GL_HIDDEN void tcache_flush_current(void);
/* The arena of the calling thread (one is picked if it has no cache). */
GL_HIDDEN struct arena *tcache_arena(void);
/* May the calling thread enter a liburcu read section? */
GL_HIDDEN bool tcache_thread_uses_rcu(void);

/* Bytes of blocks held by all live caches, and how many caches live. */
GL_HIDDEN size_t tcache_cached_bytes(size_t *live_caches);
/* Same, and adds per-bin counters of every cache (live or recycled) into
 * bins[GL_BINS] when bins is not NULL. */
GL_HIDDEN size_t tcache_read_counters(size_t *live_caches, struct tcache_bin_counters *bins);
/* Asks every live cache to flush itself on its next slow path. */
GL_HIDDEN void tcache_request_flush_all(void);

GL_HIDDEN void tcache_fork_prepare(void);
GL_HIDDEN void tcache_fork_parent(void);
GL_HIDDEN void tcache_fork_child(void);

#endif
