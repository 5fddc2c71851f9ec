/* tcache.h -- per-thread caches of small blocks.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_TCACHE_H
#define GLWEAVE_TCACHE_H
#include "internal.h"
#include "freelist.h"

#include <urcu/list.h>

struct arena;

/* The hot part of a thread's cache lives in the thread's own
 * initial-exec TLS block, so that the fast paths reach it at a fixed
 * offset from the thread pointer: heads[bin] is the address of the bin's
 * first free block, or FREELIST_END; the links inside the blocks are
 * encoded (freelist.h), the heads are not: the TLS block is not the
 * program's to write, a plain head saves gl_malloc a decode, and the slow
 * paths compare a block with it (freeing, reallocating or asking the size
 * of the bin's first free block is caught at that call).  words[bin] holds the bin's room (how many more blocks
 * it may take before it must flush) and a countdown of its hits
 * (internal.h).  The slow path harvests the countdown into the cold
 * cache's hits whenever it sets a room.  If 2^31 hits pass without the
 * slow path visiting the bin, the countdown wraps and the borrow takes one
 * from the room; the slow path finds that out when it next counts the
 * list, and adds 2^31 hits.
 *
 * A thread starts with the TLS image: every head FREELIST_END (above
 * freelist_limit), so gl_malloc misses; every room 0, so gl_free misses.
 * The slow path then sets the cache up (rooms = capacities).  Bin 0
 * (pointers outside small segments) keeps an empty head and room 0
 * forever.  When the thread exits, its hits are folded into its cold cache
 * and the hot part returns to that starting state.  Only the owner writes
 * it; statistics read words[] from other threads under tcache_hot_lock,
 * which the owner takes before its TLS goes away. */
struct tcache_hot {
    uintptr_t heads[GL_BINS];
    uint64_t words[GL_BINS];
};

GL_HIDDEN extern __thread struct tcache_hot tcache_hot
    __attribute__((tls_model("initial-exec")));

static inline int32_t tcache_word_room(uint64_t word)
{
    return (int32_t)((int64_t)word >> TCACHE_ROOM_SHIFT);
}

/* Hits since the countdown was last full. */
static inline uint64_t tcache_word_hits(uint64_t word)
{
    return TCACHE_COUNTDOWN_FULL - (word & TCACHE_COUNTDOWN_FULL);
}

static inline uint64_t tcache_make_word(int32_t room)
{
    return ((uint64_t)(int64_t)room << TCACHE_ROOM_SHIFT) | TCACHE_COUNTDOWN_FULL;
}

/* The cold part: everything the slow paths and statistics need. */
struct thread_cache {
    struct tcache_hot *hot;              /* owner's TLS; NULL once it exited */
    struct arena *arena;
    struct cds_list_head all_link;       /* tcache_all, RCU-published */
    struct thread_cache *next_recycled;
    bool live;
    bool sentinel;
    bool flush_requested;                /* by gl_trim: flush on the next slow path */
    /* Counters for statistics (misses: refills; overflows: flushes; hits
     * harvested from the hot part).  When the thread exits they move to its
     * arena's retired counters, and the recycled cache starts from zero. */
    size_t refills[GL_BINS];
    size_t flushes[GL_BINS];
    size_t hits[GL_BINS];
};

struct tcache_bin_counters {
    size_t blocks;   /* blocks held now */
    size_t hits;
    size_t refills;
    size_t flushes;
};

/* The calling thread's cold cache.  Before the thread's first allocation it
 * points to tcache_unset; while a cache is being set up, to
 * tcache_bootstrap; after the thread's exit handler ran, to tcache_dead.
 * Only the slow paths read it. */
GL_HIDDEN extern __thread struct thread_cache *tcache_current
    __attribute__((tls_model("initial-exec")));
GL_HIDDEN extern struct thread_cache tcache_unset, tcache_bootstrap, tcache_dead;

/* Takes the calling thread's cache out of service (both fast paths miss,
 * the slow paths work uncached) until tcache_resume. */
struct tcache_suspended {
    struct thread_cache *cache;
    struct tcache_hot hot;
};
GL_HIDDEN void tcache_suspend(struct tcache_suspended *saved);
GL_HIDDEN void tcache_resume(const struct tcache_suspended *saved);

/* Runs statement with the calling thread's cache suspended (the dynamic
 * linker's calls: see api_called_by_loader in init.h). */
#define TCACHE_WITHOUT_CACHE(statement)                                       \
    do {                                                                      \
        struct tcache_suspended saved_cache_;                                 \
        tcache_suspend(&saved_cache_);                                        \
        statement;                                                            \
        tcache_resume(&saved_cache_);                                         \
    } while (0)

/* The %fs-relative offset of tcache_hot as the loader set it, read without
 * touching TLS (x86_64; 0 elsewhere or while the loader has not filled it
 * in yet).  Used by fixed_tables.c, from ifunc resolvers. */
GL_HIDDEN intptr_t tcache_hot_tls_offset(void);

/* Is block the first free block of the calling thread's bin?  (Then a
 * realloc or usable size of it uses a block already freed.) */
GL_HIDDEN bool tcache_is_first_free(const void *block, unsigned bin);

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
/* Same, and adds per-bin counters of every cache (live, and of the threads
 * that exited) into bins[GL_BINS] when bins is not NULL.  With only not
 * NULL, counts the caches of that arena alone. */
GL_HIDDEN size_t tcache_read_counters(size_t *live_caches, struct tcache_bin_counters *bins,
                                      const struct arena *only);
/* Asks every live cache to flush itself on its next slow path. */
GL_HIDDEN void tcache_request_flush_all(void);

GL_HIDDEN void tcache_fork_prepare(void);
GL_HIDDEN void tcache_fork_parent(void);
GL_HIDDEN void tcache_fork_child(void);

#endif
