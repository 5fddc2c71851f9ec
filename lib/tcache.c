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
#include "registry.h"
#include "size_class.h"

#include <pthread.h>
#include <urcu-bp.h>
#include <urcu/rculist.h>

__thread struct thread_cache *tcache_current
    __attribute__((tls_model("initial-exec"))) = &tcache_unset;

#define SENTINEL_CACHE \
    { .room = {[0 ... GL_BINS - 1] = TCACHE_SENTINEL_ROOM}, .sentinel = true }
struct thread_cache tcache_unset = SENTINEL_CACHE;
struct thread_cache tcache_bootstrap = SENTINEL_CACHE;
struct thread_cache tcache_dead = SENTINEL_CACHE;

_Static_assert(offsetof(struct thread_cache, heads) == TCACHE_HEADS_OFFSET, "asm layout");
_Static_assert(offsetof(struct thread_cache, room) == TCACHE_ROOM_OFFSET, "asm layout");

int32_t tcache_capacity[GL_BINS];

/* Each bin gets about 1/32 of the thread's byte budget, within these
 * block-count bounds; the largest bins then shrink until the sum fits. */
#define BIN_SHARE 32u
#define BIN_MIN_BLOCKS 4
#define BIN_MAX_BLOCKS 128
#define FLUSH_CHUNK 128u

static pthread_key_t tcache_key;
static pthread_mutex_t tcache_list_lock = PTHREAD_MUTEX_INITIALIZER;
static CDS_LIST_HEAD(tcache_all);
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
    return pthread_key_create(&tcache_key, tcache_thread_exit) == 0;
}

static inline int32_t room_load(struct thread_cache *cache, unsigned bin)
{
    return __atomic_load_n(&cache->room[bin], __ATOMIC_RELAXED);
}

static inline void room_store(struct thread_cache *cache, unsigned bin, int32_t value)
{
    /* Relaxed atomics: statistics read room[] from other threads. */
    __atomic_store_n(&cache->room[bin], value, __ATOMIC_RELAXED);
}

/* Sets up the calling thread's cache, or returns NULL (the thread then
 * works uncached).  While it runs, tcache_current is tcache_bootstrap so
 * that allocations made by pthread_setspecific or liburcu's registration
 * (glibc may call calloc there) are served without a cache instead of
 * recursing into here. */
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
    for (unsigned bin = 0; bin < GL_BINS; bin++) {
        cache->heads[bin] = NULL;
        room_store(cache, bin, bin == 0 ? 0 : tcache_capacity[bin]);
    }
    cache->arena = arena_pick();
    cache->next_recycled = NULL;
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
        __atomic_store_n(&cache->live, false, __ATOMIC_RELEASE);
        pthread_mutex_lock(&tcache_list_lock);
        cache->next_recycled = tcache_recycled;
        tcache_recycled = cache;
        pthread_mutex_unlock(&tcache_list_lock);
        tcache_current = &tcache_unset;
        return NULL;
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

/* Returns all but the newest keep blocks of a bin to the arenas. */
static void flush_bin(struct thread_cache *cache, unsigned bin, int32_t keep)
{
    void **link = &cache->heads[bin];
    for (int32_t i = 0; i < keep && *link; i++)
        link = (void **)*link;
    void *rest = *link;
    *link = NULL;
    void *batch[FLUSH_CHUNK];
    unsigned n = 0;
    int32_t flushed = 0;
    if (rest)
        count_up(&cache->flushes[bin]);
    while (rest) {
        batch[n++] = rest;
        rest = *(void **)rest;
        flushed++;
        if (n == FLUSH_CHUNK) {
            arena_return_small(batch, n, "free");
            n = 0;
        }
    }
    if (n)
        arena_return_small(batch, n, "free");
    room_store(cache, bin, room_load(cache, bin) + flushed);
}

static void flush_all(struct thread_cache *cache)
{
    for (unsigned bin = 1; bin < GL_BINS; bin++)
        if (cache->heads[bin])
            flush_bin(cache, bin, 0);
}

static void tcache_thread_exit(void *argument)
{
    struct thread_cache *cache = argument;
    /* Allocations made by later destructors of this thread go straight to
     * the arenas. */
    tcache_current = &tcache_dead;
    flush_all(cache);
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
        flush_all(cache);
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
    void *block = cache->heads[bin];
    if (block) {
        cache->heads[bin] = *(void **)block;
        room_store(cache, bin, room_load(cache, bin) + 1);
        return block;
    }
    unsigned want = (unsigned)tcache_capacity[bin] / 2;
    count_up(&cache->refills[bin]);
    unsigned got = arena_take_small(cache->arena, bin, want ? want : 1, &list);
    if (got == 0)
        return NULL;
    block = list;
    cache->heads[bin] = *(void **)block;
    room_store(cache, bin, tcache_capacity[bin] - (int32_t)(got - 1));
    return block;
}

void tcache_free_small(void *block, unsigned bin)
{
    struct thread_cache *cache = current_or_new();
    if (cache == NULL || tcache_capacity[bin] == 0) {
        arena_return_small(&block, 1, "free");
        return;
    }
    if (room_load(cache, bin) <= 0)
        flush_bin(cache, bin, tcache_capacity[bin] / 2);
    *(void **)block = cache->heads[bin];
    cache->heads[bin] = block;
    room_store(cache, bin, room_load(cache, bin) - 1);
}

void tcache_flush_current(void)
{
    struct thread_cache *cache = tcache_current;
    if (!cache->sentinel)
        flush_all(cache);
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
    return tcache_read_counters(live_caches, NULL);
}

size_t tcache_read_counters(size_t *live_caches, struct tcache_bin_counters *bins)
{
    bool use_rcu = tcache_thread_uses_rcu();
    size_t bytes = 0, live = 0;
    struct thread_cache *cache;
    if (use_rcu)
        urcu_bp_read_lock();
    else
        pthread_mutex_lock(&tcache_list_lock);
    cds_list_for_each_entry_rcu(cache, &tcache_all, all_link) {
        if (!__atomic_load_n(&cache->live, __ATOMIC_ACQUIRE)) {
            for (unsigned bin = 1; bins && bin < GL_BINS; bin++) {
                bins[bin].refills += __atomic_load_n(&cache->refills[bin], __ATOMIC_RELAXED);
                bins[bin].flushes += __atomic_load_n(&cache->flushes[bin], __ATOMIC_RELAXED);
            }
            continue;
        }
        live++;
        for (unsigned bin = 1; bin < GL_BINS; bin++) {
            int32_t held = tcache_capacity[bin] - room_load(cache, bin);
            if (held > 0)
                bytes += (size_t)held * size_class_block_size[bin];
            if (bins) {
                bins[bin].blocks += held > 0 ? (size_t)held : 0;
                bins[bin].refills += __atomic_load_n(&cache->refills[bin], __ATOMIC_RELAXED);
                bins[bin].flushes += __atomic_load_n(&cache->flushes[bin], __ATOMIC_RELAXED);
            }
        }
    }
    if (use_rcu)
        urcu_bp_read_unlock();
    else
        pthread_mutex_unlock(&tcache_list_lock);
    *live_caches = live;
    return bytes;
}

void tcache_fork_prepare(void) { pthread_mutex_lock(&tcache_list_lock); }
void tcache_fork_parent(void) { pthread_mutex_unlock(&tcache_list_lock); }

void tcache_fork_child(void)
{
    /* Only the forking thread survives.  The other threads' caches may have
     * been mid-update when fork() ran, so their blocks cannot be trusted:
     * they are abandoned (a bounded leak), and the caches recycled. */
    struct thread_cache *cache, *mine = tcache_current;
    cds_list_for_each_entry(cache, &tcache_all, all_link) {
        if (cache == mine || !cache->live)
            continue;
        cache->live = false;
        cache->next_recycled = tcache_recycled;
        tcache_recycled = cache;
    }
    pthread_mutex_unlock(&tcache_list_lock);
}
