/* test_threads.c -- glweave under threads, through <glweave.h> only: many
 * threads mixing every allocation call with full content checks, blocks
 * freed by a thread other than the one that allocated them, thread exit
 * returning cached blocks, blocks outliving the thread that allocated them,
 * and fork() from a busy multithreaded process.
 * Worker threads never call ck_assert (Check's assertions belong to the
 * test's own thread): they record their first failure, and the test thread
 * asserts on it after join.
 *
 * SPDX-License-Identifier: MIT
 */
#include <glweave.h>

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

/* ------------------------------------------------------------ utilities */

static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t block_seed(const void *p, size_t size, unsigned thread)
{
    return mix64((uint64_t)(uintptr_t)p ^ ((uint64_t)size << 20) ^
                 ((uint64_t)thread << 56)) | 1;
}

/* Byte i of a block holds byte (i % 8) of pattern_word(seed, i / 8); blocks
 * are 16-byte aligned, so whole words can be stored directly. */
static uint64_t pattern_word(uint64_t seed, size_t w)
{
    return seed ^ ((uint64_t)w * 0x9E3779B97F4A7C15ULL);
}

static unsigned char pattern_byte(uint64_t seed, size_t i)
{
    return (unsigned char)(pattern_word(seed, i >> 3) >> ((i & 7) * 8));
}

static void fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    size_t i = from;
    for (; i < to && (i & 7); i++)
        p[i] = pattern_byte(seed, i);
    for (; i + 8 <= to; i += 8) {
        uint64_t w = pattern_word(seed, i >> 3);
        memcpy(p + i, &w, 8);
    }
    for (; i < to; i++)
        p[i] = pattern_byte(seed, i);
}

/* Offset of the first byte in [from, to) not holding the pattern, or
 * SIZE_MAX. */
static size_t verify(const unsigned char *p, size_t from, size_t to,
                     uint64_t seed)
{
    size_t i = from;
    for (; i < to && (i & 7); i++)
        if (p[i] != pattern_byte(seed, i))
            return i;
    for (; i + 8 <= to; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w != pattern_word(seed, i >> 3))
            break;
    }
    for (; i < to; i++)
        if (p[i] != pattern_byte(seed, i))
            return i;
    return SIZE_MAX;
}

static size_t find_nonzero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return i;
    return SIZE_MAX;
}

/* The first failure seen by a worker thread. */
struct failure {
    int failed;
    char msg[512];
};

static void record_failure(struct failure *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void record_failure(struct failure *f, const char *fmt, ...)
{
    if (f->failed++)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

static struct gl_stats stats_now(void)
{
    struct gl_stats s;
    memset(&s, 0, sizeof s);
    s.version = GL_STATS_VERSION;
    int rc = gl_stats_get(&s, sizeof s);
    ck_assert_msg(rc == 0, "gl_stats_get returned %d", rc);
    return s;
}

/* Makes sure the calling thread has its cache, so that baselines taken
 * afterwards do not move when it first allocates. */
static void warm_up(void)
{
    void *p = gl_malloc(64);
    ck_assert_ptr_nonnull(p);
    gl_free(p);
}

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);
    ck_assert_msg(rc == 0, "pthread_create: %s", strerror(rc));
}

static void join_thread(pthread_t t)
{
    int rc = pthread_join(t, NULL);
    ck_assert_msg(rc == 0, "pthread_join: %s", strerror(rc));
}

/* A request size: mostly small, some medium and large, now and then huge
 * (1 in huge_odds, 0 for never). */
static size_t random_size(uint64_t *rng, unsigned huge_odds)
{
    uint64_t r = xorshift64(rng);
    if (huge_odds && r % huge_odds == 0)
        return 2 * MiB + (size_t)(xorshift64(rng) % (64 * KiB));
    unsigned bucket = (unsigned)((r >> 20) % 1000);
    uint64_t v = xorshift64(rng);
    if (bucket < 600)
        return 1 + (size_t)(v % 256);
    if (bucket < 850)
        return 1 + (size_t)(v % 4096);
    if (bucket < 950)
        return 1 + (size_t)(v % 20000);
    return 1 + (size_t)(v % 70000);
}

/* One live block and what it must hold. */
struct slot {
    unsigned char *p;
    size_t size;
    uint64_t seed;
};

/* Allocates by a random route; fills the block; checks alignment, usable
 * size and, for calloc, zeros.  Returns 0 on failure (recorded). */
static int allocate_slot(struct slot *s, size_t size, uint64_t *rng,
                         unsigned thread, struct failure *f)
{
    unsigned kind = (unsigned)(xorshift64(rng) % 100);
    unsigned char *p;
    size_t align = 16;
    const char *how;
    if (kind < 55) {
        how = "gl_malloc";
        p = gl_malloc(size);
    } else if (kind < 75) {
        how = "gl_calloc";
        size_t n = 1 + (size_t)(xorshift64(rng) % 4);
        size = (size + n - 1) / n * n;
        p = gl_calloc(n, size / n);
        if (p) {
            size_t bad = find_nonzero(p, size);
            if (bad != SIZE_MAX) {
                record_failure(f, "thread %u: gl_calloc(%zu, %zu) = %p: byte %zu is "
                     "0x%02x", thread, n, size / n, (void *)p, bad, p[bad]);
                gl_free(p);
                return 0;
            }
        }
    } else if (kind < 85) {
        how = "gl_aligned_alloc";
        align = (size_t)1 << (4 + xorshift64(rng) % 9);  /* 16 .. 4096 */
        if (xorshift64(rng) % 50 == 0)
            align = 64 * KiB;
        p = gl_aligned_alloc(align, size);
    } else if (kind < 92) {
        how = "gl_posix_memalign";
        align = (size_t)1 << (3 + xorshift64(rng) % 10);  /* 8 .. 4096 */
        void *q = NULL;
        int rc = gl_posix_memalign(&q, align, size);
        if (rc != 0) {
            record_failure(f, "thread %u: gl_posix_memalign(%zu, %zu) = %d", thread,
                 align, size, rc);
            return 0;
        }
        p = q;
        if (align < 16)
            align = 16;
    } else {
        how = "gl_realloc(NULL)";
        p = gl_realloc(NULL, size);
    }
    if (p == NULL) {
        record_failure(f, "thread %u: %s(%zu) = NULL, errno %d", thread, how, size,
             errno);
        return 0;
    }
    if ((uintptr_t)p % align != 0 || (uintptr_t)p % 16 != 0) {
        record_failure(f, "thread %u: %s(%zu) = %p, not aligned to %zu", thread, how,
             size, (void *)p, align);
        return 0;
    }
    size_t usable = gl_usable_size(p);
    if (usable < size) {
        record_failure(f, "thread %u: %s(%zu) = %p: gl_usable_size %zu", thread, how,
             size, (void *)p, usable);
        return 0;
    }
    s->p = p;
    s->size = size;
    s->seed = block_seed(p, size, thread);
    fill(p, 0, size, s->seed);
    return 1;
}

static int check_slot(const struct slot *s, unsigned thread, const char *when,
                      struct failure *f)
{
    size_t bad = verify(s->p, 0, s->size, s->seed);
    if (bad != SIZE_MAX) {
        record_failure(f, "thread %u: block %p (%zu bytes) corrupted at offset %zu "
             "(0x%02x, expected 0x%02x) %s", thread, (void *)s->p, s->size,
             bad, s->p[bad], pattern_byte(s->seed, bad), when);
        return 0;
    }
    return 1;
}

/* Verifies the block, resizes it, verifies the kept prefix, fills the new
 * part; the seed stays, so the whole block keeps one pattern. */
static int realloc_slot(struct slot *s, size_t size, unsigned thread,
                        struct failure *f)
{
    if (!check_slot(s, thread, "before gl_realloc", f))
        return 0;
    unsigned char *q = gl_realloc(s->p, size);
    if (q == NULL) {
        record_failure(f, "thread %u: gl_realloc(%p, %zu -> %zu) = NULL, errno %d",
             thread, (void *)s->p, s->size, size, errno);
        return 0;
    }
    if ((uintptr_t)q % 16 != 0 || gl_usable_size(q) < size) {
        record_failure(f, "thread %u: gl_realloc(%zu -> %zu) = %p: usable %zu",
             thread, s->size, size, (void *)q, gl_usable_size(q));
        return 0;
    }
    size_t keep = s->size < size ? s->size : size;
    size_t bad = verify(q, 0, keep, s->seed);
    if (bad != SIZE_MAX) {
        record_failure(f, "thread %u: gl_realloc(%p, %zu -> %zu) = %p lost byte %zu",
             thread, (void *)s->p, s->size, size, (void *)q, bad);
        return 0;
    }
    fill(q, keep, size, s->seed);
    s->p = q;
    s->size = size;
    return 1;
}

static int free_slot(struct slot *s, unsigned thread, uint64_t *rng,
                     struct failure *f)
{
    if (!check_slot(s, thread, "before gl_free", f))
        return 0;
    if (xorshift64(rng) % 8 == 0)
        gl_free_sized(s->p, s->size);
    else
        gl_free(s->p);
    s->p = NULL;
    return 1;
}

/* ------------------------------------------------- many threads, mixed */

enum { MIX_THREADS = 8, MIX_SLOTS = 384, MIX_OPS = 100000 };

struct mix_worker {
    pthread_t tid;
    unsigned id;
    struct failure f;
    unsigned long allocs, reallocs, frees;
};

static void *mix_thread(void *arg)
{
    struct mix_worker *w = arg;
    uint64_t rng = mix64(0x1234567 + w->id) | 1;
    static _Thread_local struct slot slots[MIX_SLOTS];
    memset(slots, 0, sizeof slots);
    for (unsigned op = 0; op < MIX_OPS && !w->f.failed; op++) {
        struct slot *s = &slots[xorshift64(&rng) % MIX_SLOTS];
        if (s->p == NULL) {
            if (!allocate_slot(s, random_size(&rng, 2500), &rng, w->id, &w->f))
                break;
            w->allocs++;
        } else if (xorshift64(&rng) % 3 == 0) {
            if (!realloc_slot(s, random_size(&rng, 2500), w->id, &w->f))
                break;
            w->reallocs++;
        } else {
            if (!free_slot(s, w->id, &rng, &w->f))
                break;
            w->frees++;
        }
    }
    for (unsigned i = 0; i < MIX_SLOTS; i++)
        if (slots[i].p && !free_slot(&slots[i], w->id, &rng, &w->f))
            slots[i].p = NULL;   /* corrupted: leak it, already reported */
    return NULL;
}

START_TEST(mixed_operations_8_threads)
{
    warm_up();
    struct gl_stats start = stats_now();
    static struct mix_worker workers[MIX_THREADS];
    memset(workers, 0, sizeof workers);
    for (unsigned i = 0; i < MIX_THREADS; i++) {
        workers[i].id = i;
        start_thread(&workers[i].tid, mix_thread, &workers[i]);
    }
    for (unsigned i = 0; i < MIX_THREADS; i++)
        join_thread(workers[i].tid);
    for (unsigned i = 0; i < MIX_THREADS; i++) {
        ck_assert_msg(!workers[i].f.failed, "%s", workers[i].f.msg);
        ck_assert_uint_gt(workers[i].allocs, MIX_OPS / 4);
        ck_assert_uint_gt(workers[i].reallocs, MIX_OPS / 10);
    }
    struct gl_stats end = stats_now();
    ck_assert_msg(end.allocated == start.allocated,
                  "allocated %zu at start, %zu after all threads freed "
                  "everything and exited", start.allocated, end.allocated);
    ck_assert_msg(end.thread_caches == start.thread_caches,
                  "thread_caches %zu at start, %zu after the threads exited",
                  start.thread_caches, end.thread_caches);
}
END_TEST

/* --------------------------------------------- producer / consumer */

enum {
    PC_PRODUCERS = 2,
    PC_CONSUMERS = 2,
    PC_BLOCKS = 100000,          /* per producer: 200,000 in all */
    PC_QUEUE = 1024
};

struct pc_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    struct slot items[PC_QUEUE];
    unsigned head, count;
    unsigned producers_left;
};

struct pc_worker {
    pthread_t tid;
    unsigned id;
    struct pc_queue *q;
    struct failure f;
    unsigned long count;
};

static void *producer_thread(void *arg)
{
    struct pc_worker *w = arg;
    struct pc_queue *q = w->q;
    uint64_t rng = mix64(0xabcdef + w->id) | 1;
    for (unsigned i = 0; i < PC_BLOCKS; i++) {
        struct slot s;
        if (!allocate_slot(&s, random_size(&rng, 5000), &rng, w->id, &w->f))
            break;
        pthread_mutex_lock(&q->lock);
        while (q->count == PC_QUEUE)
            pthread_cond_wait(&q->not_full, &q->lock);
        q->items[(q->head + q->count) % PC_QUEUE] = s;
        q->count++;
        pthread_cond_signal(&q->not_empty);
        pthread_mutex_unlock(&q->lock);
        w->count++;
    }
    pthread_mutex_lock(&q->lock);
    q->producers_left--;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static void *consumer_thread(void *arg)
{
    struct pc_worker *w = arg;
    struct pc_queue *q = w->q;
    uint64_t rng = mix64(0x777 + w->id) | 1;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (q->count == 0 && q->producers_left > 0)
            pthread_cond_wait(&q->not_empty, &q->lock);
        if (q->count == 0) {
            pthread_mutex_unlock(&q->lock);
            break;
        }
        struct slot s = q->items[q->head];
        q->head = (q->head + 1) % PC_QUEUE;
        q->count--;
        pthread_cond_signal(&q->not_full);
        pthread_mutex_unlock(&q->lock);
        w->count++;
        if (w->f.failed)
            continue;   /* keep draining so that producers can finish */
        /* now and then resize a foreign block before freeing it */
        if (xorshift64(&rng) % 10 == 0 &&
            !realloc_slot(&s, random_size(&rng, 0), 100 + w->id, &w->f))
            continue;
        free_slot(&s, 100 + w->id, &rng, &w->f);
    }
    return NULL;
}

START_TEST(cross_thread_free)
{
    warm_up();
    struct gl_stats start = stats_now();
    static struct pc_queue q;
    memset(&q, 0, sizeof q);
    pthread_mutex_init(&q.lock, NULL);
    pthread_cond_init(&q.not_empty, NULL);
    pthread_cond_init(&q.not_full, NULL);
    q.producers_left = PC_PRODUCERS;
    static struct pc_worker prod[PC_PRODUCERS], cons[PC_CONSUMERS];
    memset(prod, 0, sizeof prod);
    memset(cons, 0, sizeof cons);
    for (unsigned i = 0; i < PC_CONSUMERS; i++) {
        cons[i].id = i;
        cons[i].q = &q;
        start_thread(&cons[i].tid, consumer_thread, &cons[i]);
    }
    for (unsigned i = 0; i < PC_PRODUCERS; i++) {
        prod[i].id = i;
        prod[i].q = &q;
        start_thread(&prod[i].tid, producer_thread, &prod[i]);
    }
    for (unsigned i = 0; i < PC_PRODUCERS; i++)
        join_thread(prod[i].tid);
    for (unsigned i = 0; i < PC_CONSUMERS; i++)
        join_thread(cons[i].tid);
    unsigned long produced = 0, consumed = 0;
    for (unsigned i = 0; i < PC_PRODUCERS; i++) {
        ck_assert_msg(!prod[i].f.failed, "producer: %s", prod[i].f.msg);
        produced += prod[i].count;
    }
    for (unsigned i = 0; i < PC_CONSUMERS; i++) {
        ck_assert_msg(!cons[i].f.failed, "consumer: %s", cons[i].f.msg);
        consumed += cons[i].count;
    }
    ck_assert_uint_eq(produced, (unsigned long)PC_PRODUCERS * PC_BLOCKS);
    ck_assert_uint_eq(consumed, produced);
    struct gl_stats end = stats_now();
    ck_assert_msg(end.allocated == start.allocated,
                  "allocated %zu before, %zu after %lu blocks were allocated "
                  "on producers, freed on consumers and every thread exited",
                  start.allocated, end.allocated, produced);
    ck_assert_msg(end.thread_caches == start.thread_caches,
                  "thread_caches %zu before, %zu after the threads exited",
                  start.thread_caches, end.thread_caches);
    ck_assert_msg(end.thread_cached == start.thread_cached,
                  "thread_cached %zu before, %zu after the threads exited "
                  "(only the idle main thread's cache should remain)",
                  start.thread_cached, end.thread_cached);
    pthread_mutex_destroy(&q.lock);
    pthread_cond_destroy(&q.not_empty);
    pthread_cond_destroy(&q.not_full);
}
END_TEST

/* ------------------------------------- blocks outliving their thread */

enum { OUTLIVE_ROUNDS = 60, OUTLIVE_BLOCKS = 120 };

struct outlive_worker {
    unsigned id;
    struct slot kept[OUTLIVE_BLOCKS];
    unsigned nkept;
    struct failure f;
};

static void *outlive_thread(void *arg)
{
    struct outlive_worker *w = arg;
    uint64_t rng = mix64(0x5151 + w->id) | 1;
    struct slot all[OUTLIVE_BLOCKS];
    for (unsigned i = 0; i < OUTLIVE_BLOCKS; i++)
        if (!allocate_slot(&all[i], random_size(&rng, 200), &rng, w->id,
                           &w->f))
            return NULL;
    /* free half here, hand the other half to the parent */
    for (unsigned i = 0; i < OUTLIVE_BLOCKS; i++) {
        if (i % 2)
            w->kept[w->nkept++] = all[i];
        else if (!free_slot(&all[i], w->id, &rng, &w->f))
            return NULL;
    }
    return NULL;
}

START_TEST(blocks_outlive_their_thread)
{
    warm_up();
    struct gl_stats start = stats_now();
    uint64_t rng = 99;
    struct failure f = { 0, "" };
    for (unsigned round = 0; round < OUTLIVE_ROUNDS; round++) {
        static struct outlive_worker w;
        memset(&w, 0, sizeof w);
        w.id = round;
        pthread_t t;
        start_thread(&t, outlive_thread, &w);
        join_thread(t);
        ck_assert_msg(!w.f.failed, "%s", w.f.msg);
        ck_assert_uint_eq(w.nkept, OUTLIVE_BLOCKS / 2);
        /* the thread is gone: its blocks are still whole, and can be
         * resized and freed here */
        for (unsigned i = 0; i < w.nkept; i++) {
            if (i % 3 == 0)
                ck_assert_msg(realloc_slot(&w.kept[i], random_size(&rng, 0),
                                           1000, &f), "%s", f.msg);
            ck_assert_msg(free_slot(&w.kept[i], 1000, &rng, &f), "%s", f.msg);
        }
    }
    struct gl_stats end = stats_now();
    ck_assert_msg(end.allocated == start.allocated,
                  "allocated %zu at start, %zu at the end", start.allocated,
                  end.allocated);
    ck_assert_msg(end.thread_caches == start.thread_caches,
                  "thread_caches %zu at start, %zu after %d threads came and "
                  "went", start.thread_caches, end.thread_caches,
                  OUTLIVE_ROUNDS);
}
END_TEST

/* ------------------------------------------ thread exit flushes cache */

enum { EXIT_THREADS = 4, EXIT_PER_SIZE = 200 };

struct exit_worker {
    pthread_t tid;
    unsigned id;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int freed;       /* set by the worker once its blocks are freed */
    int go;          /* set by the test to let the worker exit */
    struct failure f;
};

static void *exit_thread(void *arg)
{
    struct exit_worker *w = arg;
    static const size_t sizes[] = { 16, 48, 128, 512, 2048 };
    enum { NS = sizeof sizes / sizeof sizes[0] };
    static _Thread_local void *ptrs[NS * EXIT_PER_SIZE];
    for (unsigned i = 0; i < NS * EXIT_PER_SIZE; i++) {
        ptrs[i] = gl_malloc(sizes[i % NS]);
        if (!ptrs[i]) {
            record_failure(&w->f, "gl_malloc(%zu) = NULL", sizes[i % NS]);
            break;
        }
        memset(ptrs[i], 0x42, sizes[i % NS]);
    }
    for (unsigned i = 0; i < NS * EXIT_PER_SIZE; i++)
        gl_free(ptrs[i]);
    pthread_mutex_lock(&w->lock);
    w->freed = 1;
    pthread_cond_broadcast(&w->cond);
    while (!w->go)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

START_TEST(thread_exit_returns_cache)
{
    warm_up();
    gl_thread_flush();
    static struct exit_worker w[EXIT_THREADS];
    memset(w, 0, sizeof w);
    size_t held[EXIT_THREADS];
    struct gl_stats base = stats_now();
    /* start the workers one at a time, so that what each holds shows up
     * on its own while the others are parked */
    for (unsigned i = 0; i < EXIT_THREADS; i++) {
        struct gl_stats before = stats_now();
        w[i].id = i;
        pthread_mutex_init(&w[i].lock, NULL);
        pthread_cond_init(&w[i].cond, NULL);
        start_thread(&w[i].tid, exit_thread, &w[i]);
        pthread_mutex_lock(&w[i].lock);
        while (!w[i].freed)
            pthread_cond_wait(&w[i].cond, &w[i].lock);
        pthread_mutex_unlock(&w[i].lock);
        ck_assert_msg(!w[i].f.failed, "%s", w[i].f.msg);
        struct gl_stats parked = stats_now();
        ck_assert_msg(parked.thread_caches == before.thread_caches + 1,
                      "thread %u parked with its blocks freed: thread_caches "
                      "%zu, was %zu before it started", i,
                      parked.thread_caches, before.thread_caches);
        ck_assert_msg(parked.thread_cached > before.thread_cached,
                      "thread %u freed %d small blocks and parked: "
                      "thread_cached %zu, was %zu before it started", i,
                      5 * EXIT_PER_SIZE, parked.thread_cached,
                      before.thread_cached);
        ck_assert_msg(parked.allocated == before.allocated,
                      "thread %u freed all it allocated: allocated %zu, "
                      "was %zu", i, parked.allocated, before.allocated);
        held[i] = parked.thread_cached - before.thread_cached;
    }
    /* let them go in an order other than the one they came in */
    static const unsigned order[EXIT_THREADS] = { 2, 0, 3, 1 };
    for (unsigned k = 0; k < EXIT_THREADS; k++) {
        unsigned i = order[k];
        struct gl_stats before = stats_now();
        pthread_mutex_lock(&w[i].lock);
        w[i].go = 1;
        pthread_cond_broadcast(&w[i].cond);
        pthread_mutex_unlock(&w[i].lock);
        join_thread(w[i].tid);
        struct gl_stats after = stats_now();
        ck_assert_msg(after.thread_caches == before.thread_caches - 1,
                      "thread %u joined: thread_caches %zu, was %zu", i,
                      after.thread_caches, before.thread_caches);
        ck_assert_msg(after.thread_cached + held[i] <= before.thread_cached,
                      "thread %u held %zu cached bytes and was joined: "
                      "thread_cached %zu -> %zu", i, held[i],
                      before.thread_cached, after.thread_cached);
        pthread_mutex_destroy(&w[i].lock);
        pthread_cond_destroy(&w[i].cond);
    }
    struct gl_stats end = stats_now();
    ck_assert_uint_eq(end.thread_caches, base.thread_caches);
    ck_assert_msg(end.thread_cached <= base.thread_cached,
                  "thread_cached %zu at start, %zu after all exited",
                  base.thread_cached, end.thread_cached);
    ck_assert_uint_eq(end.allocated, base.allocated);
}
END_TEST

/* ------------------------------------------------ fork while busy */

enum { BUSY_THREADS = 4, BUSY_SLOTS = 64, FORKS = 5 };

static atomic_int busy_stop;

struct busy_worker {
    pthread_t tid;
    unsigned id;
    struct failure f;
    unsigned long ops;
};

static void *busy_thread(void *arg)
{
    struct busy_worker *w = arg;
    uint64_t rng = mix64(0xb0b0 + w->id) | 1;
    struct slot slots[BUSY_SLOTS];
    memset(slots, 0, sizeof slots);
    while (!atomic_load_explicit(&busy_stop, memory_order_relaxed) &&
           !w->f.failed) {
        struct slot *s = &slots[xorshift64(&rng) % BUSY_SLOTS];
        if (s->p == NULL)
            allocate_slot(s, random_size(&rng, 1000), &rng, w->id, &w->f);
        else if (xorshift64(&rng) % 4 == 0)
            realloc_slot(s, random_size(&rng, 1000), w->id, &w->f);
        else
            free_slot(s, w->id, &rng, &w->f);
        w->ops++;
    }
    for (unsigned i = 0; i < BUSY_SLOTS; i++)
        if (slots[i].p)
            free_slot(&slots[i], w->id, &rng, &w->f);
    return NULL;
}

/* In the forked child: report with write(2) (no stdio, no Check) and leave
 * with a code that says what went wrong. */
static void child_die(int code, const char *msg)
{
    char buf[600];
    int n = snprintf(buf, sizeof buf, "fork child: %s\n", msg);
    if (n > 0)
        (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf);
    _exit(code);
}

/* Allocates and frees small, large and huge blocks with content checks. */
static void child_churn(unsigned id, unsigned rounds, struct failure *f)
{
    uint64_t rng = mix64(0xc41d + id) | 1;
    struct slot slots[32];
    memset(slots, 0, sizeof slots);
    for (unsigned r = 0; r < rounds && !f->failed; r++) {
        struct slot *s = &slots[r % 32];
        if (s->p && !free_slot(s, id, &rng, f))
            break;
        size_t size;
        switch (r % 4) {
        case 0: size = 1 + (size_t)(xorshift64(&rng) % 1024); break;
        case 1: size = 16385 + (size_t)(xorshift64(&rng) % 100000); break;
        case 2: size = (r % 40 == 2) ? 2 * MiB + 12345
                                     : 1 + (size_t)(xorshift64(&rng) % 200);
                break;
        default: size = 1 + (size_t)(xorshift64(&rng) % 16384); break;
        }
        if (!allocate_slot(s, size, &rng, id, f))
            break;
        if (r % 7 == 0 &&
            !realloc_slot(s, 1 + (size_t)(xorshift64(&rng) % 50000), id, f))
            break;
    }
    for (unsigned i = 0; i < 32; i++)
        if (slots[i].p)
            free_slot(&slots[i], id, &rng, f);
}

struct child_worker {
    struct failure f;
};

static void *child_thread(void *arg)
{
    struct child_worker *cw = arg;
    child_churn(77, 2000, &cw->f);
    return NULL;
}

static void run_fork_child(struct slot *pre, unsigned npre)
{
    alarm(30);   /* a deadlocked allocator must not hang the suite */
    struct failure f = { 0, "" };
    /* blocks the parent allocated before fork: intact and freeable here */
    uint64_t rng = 5;
    for (unsigned i = 0; i < npre; i++)
        if (!free_slot(&pre[i], 500, &rng, &f))
            child_die(2, f.msg);
    child_churn(1, 3000, &f);
    if (f.failed)
        child_die(3, f.msg);
    struct child_worker cw;
    memset(&cw, 0, sizeof cw);
    pthread_t t;
    if (pthread_create(&t, NULL, child_thread, &cw) != 0)
        child_die(4, "pthread_create failed");
    child_churn(2, 1000, &f);
    if (pthread_join(t, NULL) != 0)
        child_die(4, "pthread_join failed");
    if (cw.f.failed)
        child_die(5, cw.f.msg);
    if (f.failed)
        child_die(3, f.msg);
    struct gl_stats s;
    memset(&s, 0, sizeof s);
    s.version = GL_STATS_VERSION;
    if (gl_stats_get(&s, sizeof s) != 0)
        child_die(6, "gl_stats_get failed");
    _exit(0);
}

START_TEST(fork_while_threads_busy)
{
    warm_up();
    atomic_store(&busy_stop, 0);
    static struct busy_worker w[BUSY_THREADS];
    memset(w, 0, sizeof w);
    for (unsigned i = 0; i < BUSY_THREADS; i++) {
        w[i].id = i;
        start_thread(&w[i].tid, busy_thread, &w[i]);
    }
    uint64_t rng = 4242;
    struct failure f = { 0, "" };
    for (unsigned round = 0; round < FORKS; round++) {
        /* some blocks of the parent's, live across the fork */
        struct slot pre[6];
        static const size_t pre_sizes[6] = { 24, 1000, 16384, 70000, 300000,
                                             3 * MiB };
        for (unsigned i = 0; i < 6; i++)
            ck_assert_msg(allocate_slot(&pre[i], pre_sizes[i], &rng, 600,
                                        &f), "%s", f.msg);
        /* let the workers get well into their loops, at a varying point */
        struct timespec ts = { 0, 20000000 + (long)(xorshift64(&rng) %
                                                    30000000) };
        nanosleep(&ts, NULL);
        pid_t pid = fork();
        ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0)
            run_fork_child(pre, 6);   /* never returns */
        int status;
        pid_t got;
        while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
        ck_assert_int_eq(got, pid);
        ck_assert_msg(!WIFSIGNALED(status), "fork %u: child killed by signal "
                      "%d%s", round, WTERMSIG(status),
                      WTERMSIG(status) == SIGALRM
                          ? " (SIGALRM: it hung for 30 s -- deadlock after "
                            "fork?)" : "");
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "fork %u: child exited with %d (see its stderr)", round,
                      WEXITSTATUS(status));
        /* the parent's copies are untouched by whatever the child did */
        for (unsigned i = 0; i < 6; i++)
            ck_assert_msg(free_slot(&pre[i], 600, &rng, &f), "%s", f.msg);
    }
    atomic_store(&busy_stop, 1);
    for (unsigned i = 0; i < BUSY_THREADS; i++)
        join_thread(w[i].tid);
    for (unsigned i = 0; i < BUSY_THREADS; i++) {
        ck_assert_msg(!w[i].f.failed, "busy thread: %s", w[i].f.msg);
        ck_assert_uint_gt(w[i].ops, 0);
    }
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc;

    tc = tcase_create("mixed");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, mixed_operations_8_threads);
    suite_add_tcase(s, tc);

    tc = tcase_create("cross_thread");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cross_thread_free);
    tcase_add_test(tc, blocks_outlive_their_thread);
    suite_add_tcase(s, tc);

    tc = tcase_create("thread_exit");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, thread_exit_returns_cache);
    suite_add_tcase(s, tc);

    tc = tcase_create("fork");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fork_while_threads_busy);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(threads_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
