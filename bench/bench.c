/* bench.c -- the benchmark driver: runs one workload once, in this process,
 * and prints one line of results (throughput, RSS, live bytes and, for
 * glweave, its own counters).  bench/run.sh runs it for every allocator and
 * workload and makes the tables and plots.  It calls the allocator under
 * test only through bench_alloc.h, and keeps its own bookkeeping (arrays of
 * pointers, thread records) in memory it maps itself, so that the allocator
 * sees only the workload's blocks.
 *
 * Every block carries its requested size in its first word, written when it
 * is allocated and checked when it is freed: the driver needs no side table,
 * and an allocator that corrupts a live block is caught.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "bench_alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CACHE_LINE 128 /* two lines: adjacent-line prefetch counts too */

/* ---- options ---------------------------------------------------------- */

static double opt_seconds = 0.3; /* time budget of the measured part */
static long opt_n = -1;          /* size parameter; -1: the workload's default */
static int opt_threads = 1;

/* ---- time, memory, errors ------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    abort();
}

/* Memory for the driver's own records, never from the allocator under
 * test.  Every mapping is listed, so that the report can unmap what is left
 * before it reads the RSS after the workload, and say how much of the peak
 * RSS was the driver's (driver_peak_kb). */
#define MAX_MAPPINGS 4096
static struct mapping {
    void *address;
    size_t bytes;
} mappings[MAX_MAPPINGS];
static size_t driver_bytes, driver_bytes_peak;
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

static void *bench_map(size_t bytes)
{
    bytes = (bytes + 4095) & ~(size_t)4095;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap failed for the driver's own records");
    memset(p, 0, bytes); /* resident from the start, like any program's tables */
    pthread_mutex_lock(&mappings_lock);
    size_t i = 0;
    while (i < MAX_MAPPINGS && mappings[i].address != NULL)
        i++;
    if (i == MAX_MAPPINGS)
        die("too many driver mappings");
    mappings[i].address = p;
    mappings[i].bytes = bytes;
    driver_bytes += bytes;
    if (driver_bytes > driver_bytes_peak)
        driver_bytes_peak = driver_bytes;
    pthread_mutex_unlock(&mappings_lock);
    return p;
}

static void bench_unmap(void *p)
{
    pthread_mutex_lock(&mappings_lock);
    for (size_t i = 0; i < MAX_MAPPINGS; i++) {
        if (mappings[i].address == p) {
            munmap(p, mappings[i].bytes);
            driver_bytes -= mappings[i].bytes;
            mappings[i].address = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&mappings_lock);
}

static void bench_unmap_all(void)
{
    for (size_t i = 0; i < MAX_MAPPINGS; i++)
        if (mappings[i].address != NULL)
            bench_unmap(mappings[i].address);
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or -1. */
static long status_kb(const char *field)
{
    char buf[4096];
    FILE *f = fopen("/proc/self/status", "r");
    long kb = -1;
    size_t len = strlen(field);
    if (f == NULL)
        return -1;
    while (fgets(buf, sizeof buf, f)) {
        if (strncmp(buf, field, len) == 0 && buf[len] == ':') {
            kb = strtol(buf + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* ---- random numbers and sizes ------------------------------------------- */

static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A uniform index below n, without a division. */
static inline size_t rng_below(uint64_t *state, size_t n)
{
    return (size_t)(((rng_next(state) >> 32) * (uint64_t)n) >> 32);
}

/* Precomputed random sizes, so that the hot loops spend nothing on them. */
#define SIZE_TABLE 65536u
struct size_table {
    uint32_t size[SIZE_TABLE];
    size_t lo, hi;
};

static struct size_table *size_table_new(size_t lo, size_t hi, uint64_t seed)
{
    struct size_table *t = bench_map(sizeof *t);
    uint64_t state = seed | 1;
    t->lo = lo;
    t->hi = hi;
    for (unsigned i = 0; i < SIZE_TABLE; i++)
        t->size[i] = (uint32_t)(lo + rng_below(&state, hi - lo + 1));
    return t;
}

/* ---- blocks --------------------------------------------------------------- */

/* Keeps the compiler from proving a block unused (and eliding the pair). */
static inline void escape(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Allocates n >= 8 bytes and writes its first word and last byte. */
static inline void *block_new(size_t n)
{
    void *p = bench_malloc(n);
    if (p == NULL)
        die("allocation failed");
    ((unsigned char *)p)[n - 1] = (unsigned char)n;
    *(size_t *)p = n; /* after the last byte: for n == 8 they overlap */
    escape(p);
    return p;
}

/* Checks the size word, frees, and returns the size. */
static inline size_t block_free(void *p, size_t lo, size_t hi)
{
    size_t n = *(size_t *)p;
    if (n < lo || n > hi)
        die("a live block's first word changed (allocator corrupted it?)");
    bench_free(p);
    return n;
}

/* ---- results -------------------------------------------------------------- */

struct result {
    const char *unit;       /* what rate counts per second */
    double ops;             /* operations counted in the measured part */
    double seconds;         /* duration of the measured part */
    size_t live_peak;       /* most bytes the workload held at once */
    struct bench_alloc_stats loaded; /* allocator counters at the peak */
};

static long rss_base_kb;

static void report(const char *workload, long n, const struct result *r)
{
    struct bench_alloc_stats end;
    bench_alloc_stats(&end);
    bench_unmap_all();
    long rss_end = status_kb("VmRSS");
    long rss_peak = status_kb("VmHWM");
    printf("BENCH workload=%s n=%ld threads=%d api=%s malloc_lib=%s unit=%s"
           " ops=%.0f seconds=%.6f rate=%.1f live_peak_bytes=%zu"
           " rss_base_kb=%ld rss_peak_kb=%ld rss_end_kb=%ld driver_peak_kb=%zu",
           workload, n, opt_threads, BENCH_API, bench_alloc_name(), r->unit,
           r->ops, r->seconds, r->seconds > 0 ? r->ops / r->seconds : 0.0,
           r->live_peak, rss_base_kb, rss_peak, rss_end, driver_bytes_peak / 1024);
    if (end.valid && r->loaded.valid)
        printf(" gl_allocated_peak=%zu gl_mapped_peak=%zu gl_allocated_end=%zu"
               " gl_mapped_end=%zu gl_cached_end=%zu gl_resident_end=%zu gl_dirty_end=%zu",
               r->loaded.allocated, r->loaded.mapped, end.allocated, end.mapped, end.cached,
               end.resident, end.dirty);
    printf("\n");
    fflush(stdout);
}

/* ---- single-threaded workloads -------------------------------------------- */

/* Alloc-free pairs of 8..64 bytes. */
static void run_pairs(struct result *r)
{
    struct size_table *sizes = size_table_new(8, 64, 11);
    double start = now(), t;
    unsigned long pairs = 0;
    do {
        for (unsigned i = 0; i < 4096; i++) {
            void *p = block_new(sizes->size[(pairs + i) & (SIZE_TABLE - 1)]);
            block_free(p, 8, 64);
        }
        pairs += 4096;
    } while ((t = now()) - start < opt_seconds);
    r->ops = 2.0 * (double)pairs;
    r->seconds = t - start;
    r->live_peak = 64;
    bench_alloc_stats(&r->loaded);
}

/* Batches of n blocks of 8..64 bytes, allocated together, freed together in
 * allocation order. */
static void run_batch(struct result *r, long n)
{
    struct size_table *sizes = size_table_new(8, 64, 12);
    void **block = bench_map((size_t)n * sizeof *block);
    double start = now(), t;
    unsigned long rounds = 0, k = 0;
    size_t live = 0;
    do {
        for (long i = 0; i < n; i++) {
            size_t size = sizes->size[k++ & (SIZE_TABLE - 1)];
            block[i] = block_new(size);
            live += size;
        }
        if (live > r->live_peak) {
            r->live_peak = live;
            bench_alloc_stats(&r->loaded);
        }
        for (long i = 0; i < n; i++)
            live -= block_free(block[i], 8, 64);
        rounds++;
    } while ((t = now()) - start < opt_seconds);
    r->ops = 2.0 * (double)n * (double)rounds;
    r->seconds = t - start;
}

/* n live blocks of lo..hi bytes; each step frees a random one and puts a
 * new block of a random size in its place.  The fill is not timed. */
static void run_replace(struct result *r, long n, size_t lo, size_t hi)
{
    struct size_table *sizes = size_table_new(lo, hi, 13);
    void **block = bench_map((size_t)n * sizeof *block);
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    unsigned long k = 0;
    size_t live = 0;
    for (long i = 0; i < n; i++) {
        size_t size = sizes->size[k++ & (SIZE_TABLE - 1)];
        block[i] = block_new(size);
        live += size;
    }
    r->live_peak = live;
    double start = now(), t;
    unsigned long steps = 0;
    do {
        for (unsigned i = 0; i < 1024; i++) {
            size_t at = rng_below(&rng, (size_t)n);
            size_t size = sizes->size[k++ & (SIZE_TABLE - 1)];
            live -= block_free(block[at], lo, hi);
            block[at] = block_new(size);
            live += size;
            if (live > r->live_peak)
                r->live_peak = live;
        }
        steps += 1024;
    } while ((t = now()) - start < opt_seconds);
    r->ops = 2.0 * (double)steps;
    r->seconds = t - start;
    bench_alloc_stats(&r->loaded);
    for (long i = 0; i < n; i++)
        block_free(block[i], lo, hi);
}

/* Eight interleaved chains, each a block grown by realloc in steps of
 * about 1/8 from 16 bytes to max bytes, then freed and started again.  The
 * first word (the chain's tag) must survive every move. */
#define CHAINS 8
static void run_realloc(struct result *r, long max)
{
    void *chain[CHAINS] = {0};
    size_t size[CHAINS] = {0};
    size_t live = 0;
    double start = now(), t;
    unsigned long calls = 0;
    do {
        for (unsigned i = 0; i < 1024; i++) {
            unsigned c = i % CHAINS;
            size_t grown = size[c] + size[c] / 8 + 16;
            if (grown > (size_t)max) {
                bench_free(chain[c]);
                live -= size[c];
                chain[c] = NULL;
                size[c] = 0;
                calls++;
                continue;
            }
            void *p = bench_realloc(chain[c], grown);
            if (p == NULL)
                die("realloc failed");
            if (chain[c] == NULL)
                *(uint64_t *)p = 0xC0FFEE00u + c;
            else if (*(uint64_t *)p != 0xC0FFEE00u + c)
                die("realloc lost the block's contents");
            ((unsigned char *)p)[grown - 1] = 1;
            escape(p);
            live += grown - size[c];
            if (live > r->live_peak)
                r->live_peak = live;
            chain[c] = p;
            size[c] = grown;
            calls++;
        }
    } while ((t = now()) - start < opt_seconds);
    r->ops = (double)calls;
    r->seconds = t - start;
    bench_alloc_stats(&r->loaded);
    for (unsigned c = 0; c < CHAINS; c++)
        bench_free(chain[c]);
}

/* Fragmentation: n blocks of lo..hi bytes (every byte written), every
 * other one freed, n/2 blocks of 5*lo/4..4*hi bytes (too big for the holes)
 * allocated, then everything freed.  Not time-budgeted: one pass. */
static void run_frag(struct result *r, long n, size_t lo, size_t hi)
{
    size_t big_lo = lo + lo / 4 + 16, big_hi = 4 * hi;
    struct size_table *small = size_table_new(lo, hi, 14);
    struct size_table *big = size_table_new(big_lo, big_hi, 15);
    void **block = bench_map((size_t)n * sizeof *block);
    void **more = bench_map((size_t)(n / 2 + 1) * sizeof *more);
    size_t live = 0;
    double start = now();
    for (long i = 0; i < n; i++) {
        size_t size = small->size[i & (SIZE_TABLE - 1)];
        block[i] = block_new(size);
        memset((char *)block[i] + sizeof(size_t), 0x5A, size - sizeof(size_t));
        live += size;
    }
    r->live_peak = live;
    for (long i = 1; i < n; i += 2) {
        live -= block_free(block[i], lo, hi);
        block[i] = NULL;
    }
    for (long i = 0; i < n / 2; i++) {
        size_t size = big->size[i & (SIZE_TABLE - 1)];
        more[i] = block_new(size);
        memset((char *)more[i] + sizeof(size_t), 0xA5, size - sizeof(size_t));
        live += size;
    }
    if (live > r->live_peak)
        r->live_peak = live;
    bench_alloc_stats(&r->loaded);
    for (long i = 0; i < n; i += 2)
        block_free(block[i], lo, hi);
    for (long i = 0; i < n / 2; i++)
        block_free(more[i], big_lo, big_hi);
    r->seconds = now() - start;
    r->ops = 2.0 * (double)(n + n / 2);
}

/* ---- threads ---------------------------------------------------------------- */

/* One record per worker, each on its own lines so that the driver itself
 * shares no cache line between threads. */
struct worker {
    _Alignas(CACHE_LINE) int id;
    pthread_t thread;
    uint64_t rng;
    double ops;           /* counted until the stop flag was seen */
    double end;           /* when this worker saw the stop flag */
    int64_t live;         /* bytes allocated minus bytes freed, by this thread */
};

static struct worker *workers;
static volatile int stop_flag;
static pthread_barrier_t start_barrier;

static inline int stopped(void)
{
    return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED);
}

static inline void live_add(struct worker *w, int64_t bytes)
{
    __atomic_store_n(&w->live, __atomic_load_n(&w->live, __ATOMIC_RELAXED) + bytes,
                     __ATOMIC_RELAXED);
}

static inline void worker_stop(struct worker *w, double ops)
{
    w->ops = ops;
    w->end = now();
}

/* Starts the workers, lets them run for the time budget while sampling the
 * live bytes every millisecond, stops and joins them. */
static void run_workers(struct result *r, void *(*body)(void *))
{
    workers = bench_map((size_t)opt_threads * sizeof *workers);
    if (pthread_barrier_init(&start_barrier, NULL, (unsigned)opt_threads + 1) != 0)
        die("pthread_barrier_init failed");
    for (int i = 0; i < opt_threads; i++) {
        workers[i].id = i;
        workers[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
        if (pthread_create(&workers[i].thread, NULL, body, &workers[i]) != 0)
            die("pthread_create failed");
    }
    pthread_barrier_wait(&start_barrier);
    double start = now();
    int64_t peak = 0;
    unsigned samples = 0;
    struct timespec tick = {0, 1000000};
    while (now() - start < opt_seconds) {
        nanosleep(&tick, NULL);
        int64_t live = 0;
        for (int i = 0; i < opt_threads; i++)
            live += __atomic_load_n(&workers[i].live, __ATOMIC_RELAXED);
        if (live > peak) {
            peak = live;
            /* Allocator counters near the peak, at most every 10 ms. */
            if (samples++ % 10 == 0)
                bench_alloc_stats(&r->loaded);
        }
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    double end = start;
    r->ops = 0;
    for (int i = 0; i < opt_threads; i++) {
        pthread_join(workers[i].thread, NULL);
        r->ops += workers[i].ops;
        if (workers[i].end > end)
            end = workers[i].end;
    }
    if (!r->loaded.valid)
        bench_alloc_stats(&r->loaded);
    r->seconds = end - start;
    r->live_peak = peak > 0 ? (size_t)peak : 0;
}

/* churn: every thread replaces random blocks among its own live set. */
static struct size_table *churn_sizes;
static long churn_live;

static void *churn_body(void *arg)
{
    struct worker *w = arg;
    size_t n = (size_t)churn_live;
    void **block = bench_map(n * sizeof *block);
    unsigned long k = (unsigned long)w->id * 7919u;
    double ops = 0;
    int64_t live = 0;
    for (size_t i = 0; i < n; i++) {
        size_t size = churn_sizes->size[k++ & (SIZE_TABLE - 1)];
        block[i] = block_new(size);
        live += (int64_t)size;
    }
    live_add(w, live);
    pthread_barrier_wait(&start_barrier);
    while (!stopped()) {
        int64_t delta = 0;
        for (unsigned i = 0; i < 256; i++) {
            size_t at = rng_below(&w->rng, n);
            size_t size = churn_sizes->size[k++ & (SIZE_TABLE - 1)];
            delta -= (int64_t)block_free(block[at], churn_sizes->lo, churn_sizes->hi);
            block[at] = block_new(size);
            delta += (int64_t)size;
        }
        live_add(w, delta);
        ops += 512;
    }
    worker_stop(w, ops);
    for (size_t i = 0; i < n; i++)
        block_free(block[i], churn_sizes->lo, churn_sizes->hi);
    live_add(w, -w->live);
    bench_unmap(block);
    return NULL;
}

/* prodcons: the threads form a ring; each allocates batches for its
 * successor and frees the batches of its predecessor, so that every block
 * is freed by a thread other than the one that allocated it.  The rings are
 * single-producer single-consumer, lock-free, in the driver's own memory. */
#define PC_BATCH 64
#define PC_SLOTS 16
struct pc_ring {
    _Alignas(CACHE_LINE) uint64_t head; /* consumer's */
    _Alignas(CACHE_LINE) uint64_t tail; /* producer's */
    int producer_done;
    _Alignas(CACHE_LINE) void *slot[PC_SLOTS][PC_BATCH];
};
static struct pc_ring *pc_rings;
static struct size_table *pc_sizes;

static void *prodcons_body(void *arg)
{
    struct worker *w = arg;
    struct pc_ring *out = &pc_rings[(w->id + 1) % opt_threads];
    struct pc_ring *in = &pc_rings[w->id];
    unsigned long k = (unsigned long)w->id * 7919u;
    double ops = 0;
    int producing = 1;
    pthread_barrier_wait(&start_barrier);
    for (;;) {
        int progress = 0;
        if (producing && stopped()) {
            producing = 0;
            worker_stop(w, ops);
            __atomic_store_n(&out->producer_done, 1, __ATOMIC_RELEASE);
        }
        if (producing) {
            uint64_t tail = out->tail;
            if (tail - __atomic_load_n(&out->head, __ATOMIC_ACQUIRE) < PC_SLOTS) {
                void **batch = out->slot[tail % PC_SLOTS];
                int64_t bytes = 0;
                for (unsigned i = 0; i < PC_BATCH; i++) {
                    size_t size = pc_sizes->size[k++ & (SIZE_TABLE - 1)];
                    batch[i] = block_new(size);
                    bytes += (int64_t)size;
                }
                live_add(w, bytes);
                __atomic_store_n(&out->tail, tail + 1, __ATOMIC_RELEASE);
                ops += PC_BATCH;
                progress = 1;
            }
        }
        int done = __atomic_load_n(&in->producer_done, __ATOMIC_ACQUIRE);
        uint64_t head = in->head;
        if (head != __atomic_load_n(&in->tail, __ATOMIC_ACQUIRE)) {
            void **batch = in->slot[head % PC_SLOTS];
            int64_t bytes = 0;
            for (unsigned i = 0; i < PC_BATCH; i++)
                bytes += (int64_t)block_free(batch[i], pc_sizes->lo, pc_sizes->hi);
            live_add(w, -bytes);
            __atomic_store_n(&in->head, head + 1, __ATOMIC_RELEASE);
            if (producing)
                ops += PC_BATCH;
            progress = 1;
        } else if (done && !producing) {
            break; /* the predecessor has stopped and everything it sent is freed */
        }
        if (!progress)
            sched_yield();
    }
    return NULL;
}

/* server: a shared pool of requests (blocks of 16..2048 bytes); every step
 * a thread allocates a new block, swaps it into a random slot of the pool
 * and frees the block it took out, which some thread allocated earlier. */
#define SERVER_STRIPES 64
struct server_lock {
    _Alignas(CACHE_LINE) pthread_mutex_t mutex;
};
static struct server_lock *server_locks;
static void **server_pool;
static long server_slots;
static struct size_table *server_sizes;

static void *server_body(void *arg)
{
    struct worker *w = arg;
    unsigned long k = (unsigned long)w->id * 7919u;
    double ops = 0;
    int64_t live = 0;
    for (long s = w->id; s < server_slots; s += opt_threads) {
        size_t size = server_sizes->size[k++ & (SIZE_TABLE - 1)];
        server_pool[s] = block_new(size);
        live += (int64_t)size;
    }
    live_add(w, live);
    pthread_barrier_wait(&start_barrier);
    while (!stopped()) {
        int64_t delta = 0;
        for (unsigned i = 0; i < 256; i++) {
            size_t size = server_sizes->size[k++ & (SIZE_TABLE - 1)];
            void *fresh = block_new(size);
            size_t at = rng_below(&w->rng, (size_t)server_slots);
            pthread_mutex_t *lock = &server_locks[at % SERVER_STRIPES].mutex;
            pthread_mutex_lock(lock);
            void *old = server_pool[at];
            server_pool[at] = fresh;
            pthread_mutex_unlock(lock);
            delta += (int64_t)size;
            delta -= (int64_t)block_free(old, server_sizes->lo, server_sizes->hi);
        }
        live_add(w, delta);
        ops += 512;
    }
    worker_stop(w, ops);
    return NULL;
}

/* falseshare: the main thread allocates one small block per thread, back to
 * back, and hands them out; each thread frees its block, then allocates a
 * small block of its own and writes it in a hot loop, again and again.  An
 * allocator that puts different threads' blocks in one cache line (or
 * recycles the handed block to its new owner) makes the lines bounce. */
#define HOT_WRITES 1000
static void **falseshare_handed;

/* The hot loop is a few bytes of code whose speed depends on where it
 * sits (a loop that straddles a 32- or 64-byte boundary ran at half speed
 * in one build of the driver and not the other).  A function of its own,
 * aligned, puts it at the same place in both builds. */
__attribute__((noinline, aligned(64))) static void hot_writes(volatile size_t *p)
{
    for (unsigned i = 0; i < HOT_WRITES; i++)
        *p += 1;
}

static void *falseshare_body(void *arg)
{
    struct worker *w = arg;
    double ops = 0;
    pthread_barrier_wait(&start_barrier);
    block_free(falseshare_handed[w->id], 8, 8);
    while (!stopped()) {
        volatile size_t *p = block_new(8);
        hot_writes(p);
        *p = 8;
        block_free((void *)p, 8, 8);
        ops += HOT_WRITES;
    }
    worker_stop(w, ops);
    return NULL;
}

/* threadchurn: rounds of `threads` short-lived threads; each allocates 64
 * blocks, frees half and leaves the other half to the main thread, which
 * frees them after the join (blocks of a thread that has exited). */
#define TC_BLOCKS 64
struct tc_thread {
    _Alignas(CACHE_LINE) uint64_t seed;
    void *left[TC_BLOCKS / 2];
};
static struct size_table *tc_sizes;

static void *tc_body(void *arg)
{
    struct tc_thread *t = arg;
    void *block[TC_BLOCKS];
    unsigned long k = t->seed;
    for (unsigned i = 0; i < TC_BLOCKS; i++)
        block[i] = block_new(tc_sizes->size[k++ & (SIZE_TABLE - 1)]);
    for (unsigned i = 0; i < TC_BLOCKS; i += 2)
        block_free(block[i], tc_sizes->lo, tc_sizes->hi);
    for (unsigned i = 1; i < TC_BLOCKS; i += 2)
        t->left[i / 2] = block[i];
    return NULL;
}

static void run_threadchurn(struct result *r)
{
    tc_sizes = size_table_new(16, 512, 16);
    struct tc_thread *t = bench_map((size_t)opt_threads * sizeof *t);
    pthread_t *thread = bench_map((size_t)opt_threads * sizeof *thread);
    double start = now(), end;
    unsigned long rounds = 0;
    do {
        for (int i = 0; i < opt_threads; i++) {
            t[i].seed = rounds * 131u + (unsigned long)i * 7919u;
            if (pthread_create(&thread[i], NULL, tc_body, &t[i]) != 0)
                die("pthread_create failed");
        }
        for (int i = 0; i < opt_threads; i++) {
            pthread_join(thread[i], NULL);
            for (unsigned j = 0; j < TC_BLOCKS / 2; j++)
                block_free(t[i].left[j], tc_sizes->lo, tc_sizes->hi);
        }
        rounds++;
        if (rounds == 1)
            bench_alloc_stats(&r->loaded);
    } while ((end = now()) - start < opt_seconds);
    r->ops = (double)rounds * opt_threads; /* threads, each 64 mallocs and 64 frees */
    r->seconds = end - start;
    r->live_peak = (size_t)opt_threads * TC_BLOCKS * tc_sizes->hi; /* bound */
}

/* ---- main ------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench [-t SECONDS] [-n N] [-p THREADS] WORKLOAD\n"
            "  single-threaded (-n):\n"
            "    pairs              alloc-free pairs, 8..64 B\n"
            "    batch       -n N   N blocks of 8..64 B allocated, then all freed\n"
            "    mixed       -n N   random replacement among N live blocks, 8..256 B\n"
            "    large       -n N   random replacement among N live blocks, 1..64 KiB\n"
            "    realloc     -n MAX 8 interleaved realloc growth chains up to MAX bytes\n"
            "    frag-small  -n N   N blocks 16..64 B, free every other, N/2 of 36..256 B\n"
            "    frag-large  -n N   N blocks 1..16 KiB, free every other, N/2 of 1.3..64 KiB\n"
            "  threads (-p):\n"
            "    churn       -n N   each thread: random replacement among N blocks, 8..512 B\n"
            "    prodcons           ring of threads (>= 2); each block freed by the next thread\n"
            "    server      -n N   shared pool of N blocks (16..2048 B) swapped by all threads\n"
            "    falseshare         small blocks written in a hot loop by every thread\n"
            "    threadchurn        threads created and joined, 64 blocks each\n"
            "Prints one line: BENCH key=value ...  (-t: time budget, default 0.3 s)\n");
    exit(2);
}

static long default_n(long fallback)
{
    return opt_n >= 0 ? opt_n : fallback;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "t:n:p:h")) != -1) {
        switch (c) {
        case 't': opt_seconds = atof(optarg); break;
        case 'n': opt_n = atol(optarg); break;
        case 'p': opt_threads = atoi(optarg); break;
        default: usage();
        }
    }
    if (optind != argc - 1 || opt_threads < 1 || opt_threads > 1024 || opt_seconds < 0)
        usage();
    const char *w = argv[optind];
    struct result r = {.unit = "ops/s"};
    long n = 0;

    rss_base_kb = status_kb("VmRSS");
    if (strcmp(w, "pairs") == 0) {
        run_pairs(&r);
    } else if (strcmp(w, "batch") == 0) {
        n = default_n(1000);
        if (n < 1) usage();
        run_batch(&r, n);
    } else if (strcmp(w, "mixed") == 0) {
        n = default_n(10000);
        if (n < 1) usage();
        run_replace(&r, n, 8, 256);
    } else if (strcmp(w, "large") == 0) {
        n = default_n(1000);
        if (n < 1) usage();
        run_replace(&r, n, 1024, 65536);
    } else if (strcmp(w, "realloc") == 0) {
        n = default_n(65536);
        if (n < 64) usage();
        run_realloc(&r, n);
    } else if (strcmp(w, "frag-small") == 0) {
        n = default_n(1000000);
        if (n < 2) usage();
        run_frag(&r, n, 16, 64);
    } else if (strcmp(w, "frag-large") == 0) {
        n = default_n(4000);
        if (n < 2) usage();
        run_frag(&r, n, 1024, 16384);
    } else if (strcmp(w, "churn") == 0) {
        n = churn_live = default_n(1000);
        if (n < 1) usage();
        churn_sizes = size_table_new(8, 512, 17);
        run_workers(&r, churn_body);
    } else if (strcmp(w, "prodcons") == 0) {
        if (opt_threads < 2) {
            fprintf(stderr, "bench: prodcons needs at least 2 threads\n");
            return 2;
        }
        pc_sizes = size_table_new(16, 256, 18);
        pc_rings = bench_map((size_t)opt_threads * sizeof *pc_rings);
        run_workers(&r, prodcons_body);
    } else if (strcmp(w, "server") == 0) {
        n = server_slots = default_n(10000);
        if (n < 1) usage();
        server_sizes = size_table_new(16, 2048, 19);
        server_pool = bench_map((size_t)n * sizeof *server_pool);
        server_locks = bench_map(SERVER_STRIPES * sizeof *server_locks);
        for (unsigned i = 0; i < SERVER_STRIPES; i++)
            pthread_mutex_init(&server_locks[i].mutex, NULL);
        run_workers(&r, server_body);
        for (long s = 0; s < n; s++)
            block_free(server_pool[s], server_sizes->lo, server_sizes->hi);
    } else if (strcmp(w, "falseshare") == 0) {
        r.unit = "writes/s";
        falseshare_handed = bench_map((size_t)opt_threads * sizeof *falseshare_handed);
        for (int i = 0; i < opt_threads; i++)
            falseshare_handed[i] = block_new(8);
        run_workers(&r, falseshare_body);
    } else if (strcmp(w, "threadchurn") == 0) {
        r.unit = "threads/s";
        run_threadchurn(&r);
    } else {
        usage();
    }
    report(w, n, &r);
    return 0;
}
