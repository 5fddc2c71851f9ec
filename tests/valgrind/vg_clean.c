/* vg_clean.c -- a correct program that uses every allocation function on
 * small, large and huge blocks.  Under memcheck (tests/valgrind/memcheck.sh)
 * it must give no error and no leak: this is the check that glweave's own
 * accesses to its bookkeeping, calloc's zeroes and in-place reallocs are
 * described to memcheck correctly.  It never does anything wrong on purpose.
 *
 * SPDX-License-Identifier: MIT
 */
#include <glweave.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "vg_clean: %s\n", what);
        failures++;
    }
}

/* Fills the whole usable block and reads it back: every byte the program
 * may use must be addressable, and defined once written. */
static void fill_and_check(unsigned char *p, unsigned char seed)
{
    size_t usable = gl_usable_size(p);
    for (size_t i = 0; i < usable; i++)
        p[i] = (unsigned char)(seed + i);
    unsigned sum = 0;
    for (size_t i = 0; i < usable; i++)
        sum += p[i] == (unsigned char)(seed + i);
    expect(sum == usable, "block contents");
}

/* calloc's bytes must be defined: branching on them is no error. */
static void check_zero(const unsigned char *p, size_t n)
{
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            nonzero++;
    expect(nonzero == 0, "calloc zeroes");
}

static void sizes(void)
{
    static const size_t sizes[] = {0, 1, 16, 24, 48, 100, 1000, 5000, 16384,
                                   16385, 70000, 300000, 1u << 20, 5u << 20};
    void *blocks[sizeof sizes / sizeof sizes[0]];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        blocks[i] = gl_malloc(sizes[i]);
        expect(blocks[i] != NULL, "malloc");
        fill_and_check(blocks[i], (unsigned char)i);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *z = gl_calloc(1, sizes[i]);
        expect(z != NULL, "calloc");
        check_zero(z, sizes[i]);
        gl_free_sized(z, sizes[i]);
    }
    /* Freed in an order that coalesces large blocks with both neighbours. */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i += 2)
        gl_free(blocks[i]);
    for (size_t i = 1; i < sizeof sizes / sizeof sizes[0]; i += 2)
        gl_free(blocks[i]);
}

static void reallocs(void)
{
    /* Grows through small, large (in place when the next block is free)
     * and huge, then shrinks back; the common prefix must survive. */
    static const size_t steps[] = {10, 40, 20000, 20500, 40000, 30000, 20000,
                                   3u << 20, 6u << 20, 2u << 20, 50000, 8};
    unsigned char *p = NULL;
    size_t have = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        p = gl_realloc(p, steps[i]);
        expect(p != NULL, "realloc");
        size_t keep = have < steps[i] ? have : steps[i];
        size_t same = 0;
        for (size_t j = 0; j < keep; j++)
            same += p[j] == (unsigned char)j;
        expect(same == keep, "realloc keeps the prefix");
        for (size_t j = 0; j < steps[i]; j++)
            p[j] = (unsigned char)j;
        have = steps[i];
    }
    p = gl_reallocarray(p, 100, 30);
    expect(p != NULL, "reallocarray");
    p = gl_realloc(p, 0); /* frees */
    expect(p == NULL, "realloc to 0");
}

static void aligned(void)
{
    static const size_t alignments[] = {16, 32, 64, 256, 4096, 65536, 1u << 22};
    for (size_t i = 0; i < sizeof alignments / sizeof alignments[0]; i++) {
        size_t a = alignments[i];
        unsigned char *p = gl_aligned_alloc(a, 3 * a);
        expect(p != NULL && (size_t)p % a == 0, "aligned_alloc");
        fill_and_check(p, 7);
        void *q = NULL;
        expect(gl_posix_memalign(&q, a, 100) == 0 && (size_t)q % a == 0, "posix_memalign");
        fill_and_check(q, 9);
        gl_free(p);
        gl_free(q);
    }
}

/* Blocks handed between threads, so that frees come from a thread that did
 * not allocate. */
static void *worker(void *argument)
{
    void **slot = argument;
    gl_free(*slot);
    *slot = gl_malloc(200);
    fill_and_check(*slot, 3);
    return NULL;
}

static void threads(void)
{
    void *slot = gl_malloc(64);
    fill_and_check(slot, 1);
    pthread_t thread;
    expect(pthread_create(&thread, NULL, worker, &slot) == 0, "pthread_create");
    pthread_join(thread, NULL);
    gl_free(slot);
}

int main(void)
{
    for (int round = 0; round < 3; round++) {
        sizes();
        reallocs();
        aligned();
        threads();
    }
    gl_thread_flush();
    gl_trim();
    if (failures)
        return 1;
    puts("vg_clean: ok");
    return 0;
}
