/* tcache.c -- per-thread caches: one LIFO list of free blocks per size
 * class, refilled from and flushed to the arenas in batches, flushed whole
 * when the thread exits.  It owns the caches' lifecycle and the list of all
 * caches (which statistics read under liburcu); it never touches slabs or
 * segments itself (arenas do).
 *
 * Caches are never freed: an exited thread's cache is recycled for the next
 * new thread, and stays on the list of all caches.  Readers of that list
 * therefore need no grace period; liburcu's list primitives give them the
 * publication order of new entries.
 *
 * SPDX-License-Identifier: MIT
 */
#include "tcache.h"
#include "arena.h"
#include "base.h"
#include "error.h"
#include "registry.h"
#include "size_class.h"

#include <pthread.h>
#include <urcu-bp.h>
#include <urcu/rculist.h>

__thread struct thread_cache *tcache_current
    __attribute__((tls_model("initial-exec"))) = &tcache_unset;
/* Every head FREELIST_END, every word 0 (tcache.h): in .tdata, so that
 * each new thread's TLS starts from it. */
#define EMPTY_HEADS { [0 ... GL_BINS - 1] = FREELIST_END }
__thread struct tcache_hot tcache_hot __attribute__((tls_model("initial-exec"))) = { .heads = EMPTY_HEADS };

#define SENTINEL_CACHE { .sentinel = true }
struct thread_cache tcache_unset = SENTINEL_CACHE;
struct thread_cache tcache_bootstrap = SENTINEL_CACHE;
struct thread_cache tcache_dead = SENTINEL_CACHE;

_Static_assert(offsetof(struct tcache_hot, heads) == TCACHE_HEADS_OFFSET, "asm layout");
_Static_assert(offsetof(struct tcache_hot, words) == TCACHE_WORDS_OFFSET, "asm layout");

int32_t tcache_capacity[GL_BINS];

/* Each bin gets about 1/32 of the thread's byte budget, within these
 * block-count bounds; the largest bins then shrink until the sum fits. */
#define BIN_SHARE 32u
#define BIN_MIN_BLOCKS 4
#define BIN_MAX_BLOCKS 128
#define FLUSH_CHUNK 128u

static pthread_key_t tcache_key;
static pthread_mutex_t tcache_list_lock = PTHREAD_MUTEX_INITIALIZER;
/* Statistics readers hold it while they read another thread's hot part;
 * an exiting thread takes it before its TLS goes away. */
static pthread_mutex_t tcache_hot_lock = PTHREAD_MUTEX_INITIALIZER;
static CDS_LIST_HEAD(tcache_all);
/* Counters of exited threads' caches, per arena (arena_count() of them);
 * written and read under tcache_hot_lock. */
static struct tcache_bin_counters (*retired)[GL_BINS];
static struct thread_cache *tcache_recycled;

static void tcache_thread_exit(void *cache);

static bool tcache_enabled;

bool tcache_init(size_t budget)
{
    tcache_enabled = budget > 0;
    size_t total = 0;
    for (unsigned bin = 1; bin < GL_BINS; bin++) {
        size_t size = size_class_block_size[bin];
        size_t blocks = budget / BIN_SHARE / size;
        if (blocks < BIN_MIN_BLOCKS)
            blocks = budget >= BIN_MIN_BLOCKS * size * 2 ? BIN_MIN_BLOCKS : 0;
        if (blocks > BIN_MAX_BLOCKS)
            blocks = BIN_MAX_BLOCKS;
        tcache_capacity[bin] = (int32_t)blocks;
        total += blocks * size;
    }
    while (total > budget) {
        /* Shrink the bin that holds the most bytes. */
        unsigned biggest = 1;
        for (unsigned bin = 2; bin < GL_BINS; bin++)
            if ((size_t)tcache_capacity[bin] * size_class_block_size[bin]
                > (size_t)tcache_capacity[biggest] * size_class_block_size[biggest])
                biggest = bin;
        tcache_capacity[biggest]--;
        total -= size_class_block_size[biggest];
    }
    retired = base_alloc(arena_count() * sizeof *retired);
    if (retired == NULL)
        return false;
    return pthread_key_create(&tcache_key, tcache_thread_exit) == 0;
}

/* The owner's accesses to its words are relaxed atomics because
 * statistics read them from other threads; they compile to plain moves. */
static inline uint64_t word_load(const struct tcache_hot *hot, unsigned bin)
{
    return __atomic_load_n(&hot->words[bin], __ATOMIC_RELAXED);
}

static inline void word_store(struct tcache_hot *hot, unsigned bin, uint64_t word)
{
    __atomic_store_n(&hot->words[bin], word, __ATOMIC_RELAXED);
}

static inline int32_t room_load(unsigned bin)
{
    return tcache_word_room(word_load(&tcache_hot, bin));
}

static inline void add_hits(struct thread_cache *cache, unsigned bin, uint64_t hits)
{
    __atomic_store_n(&cache->hits[bin], __atomic_load_n(&cache->hits[bin], __ATOMIC_RELAXED) + hits,
                     __ATOMIC_RELAXED);
}

/* Sets the calling thread's room for bin, moving the hit countdown into
 * the cold counter.  held, when not negative, is the number of blocks the
 * list was just found to hold: a room lower than it implies means the
 * countdown wrapped that many times (see tcache.h). */
static void room_set(struct thread_cache *cache, unsigned bin, int32_t room, int32_t held)
{
    uint64_t word = word_load(&tcache_hot, bin);
    uint64_t hits = tcache_word_hits(word);
    int32_t wraps = held < 0 ? 0 : tcache_capacity[bin] - tcache_word_room(word) - held;
    if (wraps > 0 && wraps <= tcache_capacity[bin])
        hits += (uint64_t)wraps << TCACHE_ROOM_SHIFT;
    add_hits(cache, bin, hits);
    word_store(&tcache_hot, bin, tcache_make_word(room));
}

/* Sets up the calling thread's cache, or returns NULL (the thread then
 * works uncached).  While it runs, tcache_current is tcache_bootstrap so
 * that allocations made by pthread_setspecific or liburcu's registration
 * (glibc may call calloc there) are served without a cache instead of
 * recursing into here; the hot part is still all zeros, so they miss. */
static struct thread_cache *tcache_create(void)
{
    tcache_current = &tcache_bootstrap;
    pthread_mutex_lock(&tcache_list_lock);
    struct thread_cache *cache = tcache_recycled;
    if (cache)
        tcache_recycled = cache->next_recycled;
    pthread_mutex_unlock(&tcache_list_lock);
    bool fresh = cache == NULL;
    if (fresh) {
        cache = base_alloc(sizeof *cache);
        if (cache == NULL) {
            tcache_current = &tcache_unset;
            return NULL;
        }
    }
    cache->arena = arena_pick();
    cache->next_recycled = NULL;
    pthread_mutex_lock(&tcache_hot_lock);
    cache->hot = &tcache_hot;
    pthread_mutex_unlock(&tcache_hot_lock);
    __atomic_store_n(&cache->live, true, __ATOMIC_RELEASE);
    if (fresh) {
        pthread_mutex_lock(&tcache_list_lock);
        cds_list_add_tail_rcu(&cache->all_link, &tcache_all);
        pthread_mutex_unlock(&tcache_list_lock);
    }
    if (registry_rcu_usable)
        urcu_bp_register_thread();
    if (pthread_setspecific(tcache_key, cache) != 0) {
        /* Without the key the cache would not be flushed at exit. */
        pthread_mutex_lock(&tcache_hot_lock);
        cache->hot = NULL;
        pthread_mutex_unlock(&tcache_hot_lock);
        __atomic_store_n(&cache->live, false, __ATOMIC_RELEASE);
        pthread_mutex_lock(&tcache_list_lock);
        cache->next_recycled = tcache_recycled;
        tcache_recycled = cache;
        pthread_mutex_unlock(&tcache_list_lock);
        tcache_current = &tcache_unset;
        return NULL;
    }
    /* Only now may the fast paths hit. */
    for (unsigned bin = 1; bin < GL_BINS; bin++) {
        tcache_hot.heads[bin] = FREELIST_END;
        word_store(&tcache_hot, bin, tcache_make_word(tcache_capacity[bin]));
    }
    tcache_current = cache;
    return cache;
}

/* Only the owner writes its counters; statistics read them from other
 * threads, hence the relaxed atomic accesses. */
static inline void count_up(size_t *counter)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* A link that does not lead to a block of the bin: a write after free, an
 * overflow into a free block, or a block freed twice.  Reported; in
 * report-and-leak mode the rest of the list is abandoned. */
static void report_broken_list(unsigned bin, uintptr_t decoded, const char *call)
{
    error_report_broken_list(call, "corrupted free list (write after free, overflow or double free)",
                            size_class_block_size[bin], decoded);
}

/* Is decoded the address of a block of bin?  The fast paths only check
 * the limit; here the registry confirms the segment's class too. */
static inline bool link_is_block(uintptr_t decoded, unsigned bin)
{
    return freelist_plausible(decoded) && registry_fast_bin((void *)decoded) == bin;
}

/* Blocks the calling thread's bin holds, by its room. */
static inline int32_t held_blocks(unsigned bin)
{
    return tcache_capacity[bin] - room_load(bin);
}

/* Ends the bin's list after last (NULL: makes the bin empty). */
static void cut_list(unsigned bin, void *last)
{
    if (last == NULL)
        tcache_hot.heads[bin] = FREELIST_END;
    else
        freelist_store_link(last, freelist_encode((void *)FREELIST_END));
}

/* Returns all but the newest keep blocks of a bin to the arenas.  The walk
 * is bounded by the count the room implies, so that a list made circular
 * by a double free cannot hold it forever (the arena reports the second
 * return of the same block).  Afterwards the bin holds exactly what it
 * kept, whatever its room said. */
static void flush_bin(struct thread_cache *cache, unsigned bin, int32_t keep, const char *call)
{
    int32_t held = held_blocks(bin);
    void *last_kept = NULL;
    uintptr_t next = tcache_hot.heads[bin];
    int32_t kept = 0;
    while (kept < keep && kept < held && next != FREELIST_END) {
        if (!link_is_block(next, bin)) {
            report_broken_list(bin, next, call);
            cut_list(bin, last_kept);
            room_set(cache, bin, tcache_capacity[bin] - kept, -1);
            return;
        }
        last_kept = (void *)next;
        next = freelist_decode(freelist_load_link(last_kept));
        kept++;
    }
    cut_list(bin, last_kept);
    void *batch[FLUSH_CHUNK];
    unsigned n = 0;
    int32_t flushed = 0;
    if (next != FREELIST_END)
        count_up(&cache->flushes[bin]);
    bool counted = true;
    while (next != FREELIST_END && kept + flushed < held) {
        if (!link_is_block(next, bin)) {
            report_broken_list(bin, next, call);
            counted = false;
            break;
        }
        batch[n++] = (void *)next;
        next = freelist_decode(freelist_load_link((void *)next));
        flushed++;
        if (n == FLUSH_CHUNK) {
            arena_return_small(batch, n, call);
            n = 0;
        }
    }
    if (n)
        arena_return_small(batch, n, call);
    /* More blocks on the list than the room accounts for: the program took
     * a block out more often than it freed it, i.e. it freed it twice (the
     * second free linked the block to itself or into a cycle).  The rest
     * is abandoned, never followed. */
    if (counted && next != FREELIST_END) {
        report_broken_list(bin, next, call);
        counted = false;
    }
    /* Reaching the list's end counted it (kept + flushed blocks). */
    room_set(cache, bin, tcache_capacity[bin] - kept,
             counted && next == FREELIST_END ? kept + flushed : -1);
}

static void flush_all(struct thread_cache *cache, const char *call)
{
    for (unsigned bin = 1; bin < GL_BINS; bin++)
        if (tcache_hot.heads[bin] != FREELIST_END || held_blocks(bin) != 0)
            flush_bin(cache, bin, 0, call);
}

/* Folds the hot part's hits into the cold cache and clears the hot part;
 * tcache_hot_lock is held. */
/* Folds the hot part's hits into the cold cache, clears the hot part, and
 * moves the cold counters to the arena's retired counters;
 * tcache_hot_lock is held. */
static void retire_hot(struct thread_cache *cache, struct tcache_hot *hot)
{
    struct tcache_bin_counters *to = retired[cache->arena->index];
    for (unsigned bin = 1; bin < GL_BINS; bin++) {
        add_hits(cache, bin, tcache_word_hits(word_load(hot, bin)));
        word_store(hot, bin, 0);
        hot->heads[bin] = FREELIST_END;
        to[bin].hits += cache->hits[bin];
        to[bin].refills += cache->refills[bin];
        to[bin].flushes += cache->flushes[bin];
        __atomic_store_n(&cache->hits[bin], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&cache->refills[bin], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&cache->flushes[bin], 0, __ATOMIC_RELAXED);
    }
    cache->hot = NULL;
}

static void tcache_thread_exit(void *argument)
{
    struct thread_cache *cache = argument;
    /* Allocations made by later destructors of this thread go straight to
     * the arenas (the zeroed hot part makes them miss). */
    tcache_current = &tcache_dead;
    flush_all(cache, "free");
    pthread_mutex_lock(&tcache_hot_lock);
    retire_hot(cache, &tcache_hot);
    pthread_mutex_unlock(&tcache_hot_lock);
    __atomic_store_n(&cache->live, false, __ATOMIC_RELEASE);
    pthread_mutex_lock(&tcache_list_lock);
    cache->next_recycled = tcache_recycled;
    tcache_recycled = cache;
    pthread_mutex_unlock(&tcache_list_lock);
}

static void flush_all_if_requested(struct thread_cache *cache)
{
    if (__atomic_load_n(&cache->flush_requested, __ATOMIC_RELAXED)) {
        __atomic_store_n(&cache->flush_requested, false, __ATOMIC_RELAXED);
        flush_all(cache, "free");
    }
}

static struct thread_cache *current_or_new(void)
{
    struct thread_cache *cache = tcache_current;
    if (cache == &tcache_unset && tcache_enabled)
        cache = tcache_create();
    if (cache == NULL || cache->sentinel)
        return NULL;
    flush_all_if_requested(cache);
    return cache;
}

void *tcache_alloc_small(unsigned bin)
{
    struct thread_cache *cache = current_or_new();
    void *list;
    if (cache == NULL || tcache_capacity[bin] == 0)
        return arena_take_small(cache ? cache->arena : arena_pick(), bin, 1, &list) ? list : NULL;
    uintptr_t block = tcache_hot.heads[bin];
    if (block != FREELIST_END) {
        if (link_is_block(block, bin)) {
            /* A hit that reached the slow path (calloc, aligned requests). */
            tcache_hot.heads[bin] = freelist_decode(freelist_load_link((void *)block));
            room_set(cache, bin, room_load(bin) + 1, -1);
            add_hits(cache, bin, 1);
            return (void *)block;
        }
        report_broken_list(bin, block, "malloc");
        tcache_hot.heads[bin] = FREELIST_END;
        word_store(&tcache_hot, bin, tcache_make_word(tcache_capacity[bin]));
    }
    unsigned want = (unsigned)tcache_capacity[bin] / 2;
    count_up(&cache->refills[bin]);
    unsigned got = arena_take_small(cache->arena, bin, want ? want : 1, &list);
    if (got == 0)
        return NULL;
    tcache_hot.heads[bin] = freelist_decode(freelist_load_link(list));
    /* The list was empty (held 0): room_set learns from the old room
     * whether the countdown wrapped. */
    room_set(cache, bin, tcache_capacity[bin] - (int32_t)(got - 1), 0);
    return list;
}

void tcache_free_small(void *block, unsigned bin)
{
    struct thread_cache *cache = current_or_new();
    if (cache == NULL || tcache_capacity[bin] == 0) {
        arena_return_small(&block, 1, "free");
        return;
    }
    /* Freeing the bin's first free block again (the one double free a
     * compare finds; the rest are found when the list is next counted). */
    if ((uintptr_t)block == tcache_hot.heads[bin]) {
        error_report_pointer("free", "double free", block);
        return; /* report-and-leak mode */
    }
    if (room_load(bin) <= 0)
        flush_bin(cache, bin, tcache_capacity[bin] / 2, "free");
    freelist_store_link(block, freelist_encode((void *)tcache_hot.heads[bin]));
    tcache_hot.heads[bin] = (uintptr_t)block;
    room_set(cache, bin, room_load(bin) - 1, -1);
}

void tcache_suspend(struct tcache_suspended *saved)
{
    saved->cache = tcache_current;
    tcache_current = &tcache_bootstrap;
    for (unsigned bin = 0; bin < GL_BINS; bin++) {
        saved->hot.heads[bin] = tcache_hot.heads[bin];
        saved->hot.words[bin] = word_load(&tcache_hot, bin);
        tcache_hot.heads[bin] = FREELIST_END;
        /* room 0: frees miss too (statistics reading meanwhile see the
         * bins full, for the few instructions of a loader call) */
        word_store(&tcache_hot, bin, 0);
    }
}

void tcache_resume(const struct tcache_suspended *saved)
{
    for (unsigned bin = 0; bin < GL_BINS; bin++) {
        tcache_hot.heads[bin] = saved->hot.heads[bin];
        word_store(&tcache_hot, bin, saved->hot.words[bin]);
    }
    tcache_current = saved->cache;
}

bool tcache_is_first_free(const void *block, unsigned bin)
{
    return (uintptr_t)block == tcache_hot.heads[bin];
}

intptr_t tcache_hot_tls_offset(void)
{
#if defined(__x86_64__)
    intptr_t offset;
    /* The GOT slot of the initial-exec access itself (R_X86_64_TPOFF64),
     * read without adding the thread pointer: from an ifunc resolver, the
     * thread's TLS may not be set up yet. */
    __asm__("movq tcache_hot@gottpoff(%%rip), %0" : "=r"(offset));
    return offset;
#else
    return 0;
#endif
}

void tcache_flush_current(void)
{
    struct thread_cache *cache = tcache_current;
    if (!cache->sentinel)
        flush_all(cache, "free");
}

struct arena *tcache_arena(void)
{
    struct thread_cache *cache = current_or_new();
    return cache ? cache->arena : arena_pick();
}

bool tcache_thread_uses_rcu(void)
{
    return !tcache_current->sentinel && registry_rcu_usable;
}

void tcache_request_flush_all(void)
{
    struct thread_cache *cache;
    pthread_mutex_lock(&tcache_list_lock);
    cds_list_for_each_entry(cache, &tcache_all, all_link)
        /* live changes outside the list lock (thread start and exit). */
        if (__atomic_load_n(&cache->live, __ATOMIC_ACQUIRE))
            __atomic_store_n(&cache->flush_requested, true, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&tcache_list_lock);
}

size_t tcache_cached_bytes(size_t *live_caches)
{
    return tcache_read_counters(live_caches, NULL, NULL);
}

size_t tcache_read_counters(size_t *live_caches, struct tcache_bin_counters *bins, const struct arena *only)
{
    bool use_rcu = tcache_thread_uses_rcu();
    size_t bytes = 0, live = 0;
    struct thread_cache *cache;
    if (use_rcu)
        urcu_bp_read_lock();
    else
        pthread_mutex_lock(&tcache_list_lock);
    /* Holds off exiting threads only (never allocating ones): their hot
     * parts stay readable while we read them. */
    pthread_mutex_lock(&tcache_hot_lock);
    cds_list_for_each_entry_rcu(cache, &tcache_all, all_link) {
        struct tcache_hot *hot = cache->hot;
        if (hot == NULL || (only != NULL && cache->arena != only))
            continue;
        live++;
        for (unsigned bin = 1; bin < GL_BINS; bin++) {
            uint64_t word = word_load(hot, bin);
            int32_t held = tcache_capacity[bin] - tcache_word_room(word);
            if (held > 0)
                bytes += (size_t)held * size_class_block_size[bin];
            if (bins) {
                bins[bin].blocks += held > 0 ? (size_t)held : 0;
                bins[bin].hits += __atomic_load_n(&cache->hits[bin], __ATOMIC_RELAXED) + tcache_word_hits(word);
                bins[bin].refills += __atomic_load_n(&cache->refills[bin], __ATOMIC_RELAXED);
                bins[bin].flushes += __atomic_load_n(&cache->flushes[bin], __ATOMIC_RELAXED);
            }
        }
    }
    for (unsigned a = 0; bins && a < arena_count(); a++) {
        if (only != NULL && a != only->index)
            continue;
        for (unsigned bin = 1; bin < GL_BINS; bin++) {
            bins[bin].hits += retired[a][bin].hits;
            bins[bin].refills += retired[a][bin].refills;
            bins[bin].flushes += retired[a][bin].flushes;
        }
    }
    pthread_mutex_unlock(&tcache_hot_lock);
    if (use_rcu)
        urcu_bp_read_unlock();
    else
        pthread_mutex_unlock(&tcache_list_lock);
    *live_caches = live;
    return bytes;
}

void tcache_fork_prepare(void)
{
    pthread_mutex_lock(&tcache_list_lock);
    pthread_mutex_lock(&tcache_hot_lock);
}

void tcache_fork_parent(void)
{
    pthread_mutex_unlock(&tcache_hot_lock);
    pthread_mutex_unlock(&tcache_list_lock);
}

void tcache_fork_child(void)
{
    /* Only the forking thread survives.  The other threads' caches may have
     * been mid-update when fork() ran, so their blocks cannot be trusted:
     * they are abandoned (a bounded leak), their hits kept, and the caches
     * recycled.  Their hot parts are still readable: fork() copied the
     * dead threads' TLS with the rest of memory. */
    struct thread_cache *cache, *mine = tcache_current;
    cds_list_for_each_entry(cache, &tcache_all, all_link) {
        if (cache == mine || !cache->live)
            continue;
        if (cache->hot)
            retire_hot(cache, cache->hot);
        cache->live = false;
        cache->next_recycled = tcache_recycled;
        tcache_recycled = cache;
    }
    pthread_mutex_unlock(&tcache_hot_lock);
    pthread_mutex_unlock(&tcache_list_lock);
}
