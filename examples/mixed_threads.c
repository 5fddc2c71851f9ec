/* mixed_threads.c -- a small tour of the glweave API: four threads allocate,
 * fill, verify, resize and free blocks of random sizes (8 B .. 256 KiB) at the
 * same time, then the program prints what each did and the allocator's stats.
 *
 * Build against an installed glweave:
 *     cc -O2 mixed_threads.c $(pkg-config --cflags --libs glweave) -pthread
 *
 * Exits 0 when every block held exactly what was written into it and the
 * allocator reports no bytes still allocated at the end; 1 otherwise.
 *
 * SPDX-License-Identifier: MIT
 */
#include <glweave.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    THREADS = 4,
    SLOTS = 64,                  /* live blocks per thread at most */
    OPERATIONS = 20000,          /* per thread */
    MIN_SIZE = 8,
    MAX_SIZE = 256 * 1024
};

/* One live block: where it is, how many bytes we asked for, and the byte
 * every one of those bytes must hold. */
struct slot {
    unsigned char *ptr;
    size_t size;
    unsigned char fill;
};

struct worker {
    int id;
    uint64_t rng;                /* xorshift64 state */
    struct slot slots[SLOTS];
    unsigned long mallocs, callocs, reallocs, aligned, frees;
    unsigned long long bytes;    /* bytes requested in total */
    unsigned long failures;      /* verify failures: must stay 0 */
    unsigned long out_of_memory;
};

static uint64_t next_random(struct worker *w)
{
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return w->rng = x;
}

/* Sizes spread evenly over the powers of two, so small blocks (the common
 * case in real programs) are frequent and large ones still show up. */
static size_t random_size(struct worker *w)
{
    unsigned shift = 3 + (unsigned)(next_random(w) % 16);   /* 2^3 .. 2^18 */
    size_t size = (size_t)1 << shift;
    size += next_random(w) % size;
    if (size < MIN_SIZE)
        size = MIN_SIZE;
    if (size > MAX_SIZE)
        size = MAX_SIZE;
    return size;
}

/* Counts the bytes in p[from, to) that differ from value. */
static size_t count_mismatches(const unsigned char *p, size_t from, size_t to,
                               unsigned char value)
{
    size_t bad = 0;
    for (size_t i = from; i < to; i++)
        bad += p[i] != value;
    return bad;
}

static void check(struct worker *w, int ok, const char *what,
                  const struct slot *s)
{
    if (ok)
        return;
    w->failures++;
    fprintf(stderr, "thread %d: %s (block %p, %zu bytes)\n", w->id, what,
            (void *)s->ptr, s->size);
}

static void verify(struct worker *w, const struct slot *s)
{
    check(w, count_mismatches(s->ptr, 0, s->size, s->fill) == 0,
          "block contents changed", s);
}

/* Fills a fresh slot with a new block from one of three allocating calls. */
static void allocate(struct worker *w, struct slot *s)
{
    size_t size = random_size(w);
    unsigned kind = (unsigned)(next_random(w) % 4);

    s->size = size;
    if (kind == 0) {
        /* calloc: every byte must come back zero. */
        s->ptr = gl_calloc(1, size);
        if (s->ptr)
            check(w, count_mismatches(s->ptr, 0, size, 0) == 0,
                  "calloc block not zeroed", s);
        w->callocs++;
    } else if (kind == 1) {
        /* aligned_alloc: any power of two from 16 B to 4 KiB. */
        size_t alignment = (size_t)16 << (next_random(w) % 9);
        s->ptr = gl_aligned_alloc(alignment, size);
        if (s->ptr)
            check(w, ((uintptr_t)s->ptr & (alignment - 1)) == 0,
                  "aligned_alloc block misaligned", s);
        w->aligned++;
    } else {
        s->ptr = gl_malloc(size);
        w->mallocs++;
    }

    if (!s->ptr) {
        w->out_of_memory++;
        return;
    }
    check(w, ((uintptr_t)s->ptr & 15) == 0, "block not 16-byte aligned", s);
    check(w, gl_usable_size(s->ptr) >= size, "usable size too small", s);
    w->bytes += size;

    /* A fill byte that is never 0 tells a stale or shared block from a
     * fresh calloc. */
    s->fill = (unsigned char)(1 + next_random(w) % 255);
    memset(s->ptr, s->fill, size);
}

/* Grows or shrinks a live block; the common prefix must survive the move. */
static void resize(struct worker *w, struct slot *s)
{
    size_t new_size = random_size(w);
    unsigned char *p = gl_realloc(s->ptr, new_size);
    w->reallocs++;
    if (!p) {                       /* the old block is still ours */
        w->out_of_memory++;
        return;
    }
    size_t kept = new_size < s->size ? new_size : s->size;
    s->ptr = p;
    check(w, count_mismatches(p, 0, kept, s->fill) == 0,
          "realloc lost contents", s);
    s->size = new_size;
    w->bytes += new_size;
    memset(p + kept, s->fill, new_size - kept);
}

static void release(struct worker *w, struct slot *s)
{
    verify(w, s);
    /* Half of the frees tell the allocator the size, to show gl_free_sized. */
    if (next_random(w) & 1)
        gl_free_sized(s->ptr, s->size);
    else
        gl_free(s->ptr);
    s->ptr = NULL;
    s->size = 0;
    w->frees++;
}

static void *work(void *arg)
{
    struct worker *w = arg;

    for (int op = 0; op < OPERATIONS; op++) {
        struct slot *s = &w->slots[next_random(w) % SLOTS];
        if (!s->ptr) {
            allocate(w, s);
        } else if (next_random(w) % 3 == 0) {
            verify(w, s);
            resize(w, s);
        } else {
            release(w, s);
        }
    }

    for (int i = 0; i < SLOTS; i++)
        if (w->slots[i].ptr)
            release(w, &w->slots[i]);
    return NULL;
}

int main(void)
{
    static struct worker workers[THREADS];
    pthread_t threads[THREADS];
    int status = 0;

    for (int i = 0; i < THREADS; i++) {
        workers[i].id = i;
        workers[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        if (pthread_create(&threads[i], NULL, work, &workers[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);

    printf("glweave %s: %d threads, %d operations each\n", gl_version(),
           THREADS, OPERATIONS);
    for (int i = 0; i < THREADS; i++) {
        const struct worker *w = &workers[i];
        unsigned long ops = w->mallocs + w->callocs + w->aligned + w->reallocs
                            + w->frees;
        printf("thread %d: %lu calls (malloc %lu, calloc %lu, aligned %lu, "
               "realloc %lu, free %lu), %.1f MiB requested, "
               "out of memory %lu, verify failures %lu\n",
               w->id, ops, w->mallocs, w->callocs, w->aligned, w->reallocs,
               w->frees, (double)w->bytes / (1024.0 * 1024.0),
               w->out_of_memory, w->failures);
        if (w->failures || w->out_of_memory)
            status = 1;
    }

    struct gl_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.version = GL_STATS_VERSION;
    if (gl_stats_get(&stats, sizeof stats) != 0) {
        fprintf(stderr, "gl_stats_get failed\n");
        return 1;
    }
    printf("stats: allocated %zu bytes after all frees (expected 0), "
           "thread-cached %zu, mapped %.1f MiB in %zu segments, %u arenas\n",
           stats.allocated, stats.thread_cached,
           (double)stats.mapped / (1024.0 * 1024.0), stats.segments,
           stats.arenas);
    if (stats.allocated != 0) {
        fprintf(stderr, "error: the allocator still counts %zu bytes as "
                "allocated after every block was freed\n", stats.allocated);
        status = 1;
    }

    puts(status == 0 ? "mixed_threads: OK" : "mixed_threads: FAILED");
    return status;
}
