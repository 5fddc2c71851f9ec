/* test_api.c -- the public API of glweave at its edges, through <glweave.h>
 * only: sizes that cannot be met, zero sizes, alignment, contents kept by
 * realloc, zeroed calloc (also of recycled memory), which pointer comes back,
 * errno, the statistics, and invalid pointers that must abort.
 * Each assertion is about observable behaviour, never about internals.
 *
 * SPDX-License-Identifier: MIT
 */
#if defined(__has_include)
#if __has_include("config.h")
#include "config.h"
#endif
#endif

#include <glweave.h>

#include "misuse_child.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

/* The numeric value of a pointer, hidden from the optimiser: the allocation
 * functions carry __attribute__((malloc)), so the compiler may otherwise
 * assume that two of their results never compare equal. */
static uintptr_t bits(const void *p)
{
    uintptr_t u = (uintptr_t)p;
    __asm__ volatile("" : "+r"(u));
    return u;
}

static unsigned char pattern_byte(size_t i, unsigned seed)
{
    return (unsigned char)((i * 131u) ^ ((i >> 8) * 7u) ^ (i >> 16) ^ seed);
}

static void fill_pattern(unsigned char *p, size_t from, size_t to,
                         unsigned seed)
{
    for (size_t i = from; i < to; i++)
        p[i] = pattern_byte(i, seed);
}

/* Index of the first byte in [from, to) that does not hold the pattern, or
 * SIZE_MAX when all do. */
static size_t find_pattern_mismatch(const unsigned char *p, size_t from,
                                    size_t to, unsigned seed)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != pattern_byte(i, seed))
            return i;
    return SIZE_MAX;
}

static size_t find_nonzero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return i;
    return SIZE_MAX;
}

/* What the test is doing right now, printed if the process dies of a
 * signal (a crash inside the allocator otherwise only shows up in Check's
 * report as "received signal" after the last assertion that passed). */
static char current_note[256];

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(current_note, sizeof current_note, fmt, ap);
    va_end(ap);
}

static void report_note_and_die(int sig)
{
    static const char head[] = "test_api: died during: ";
    (void)!write(2, head, sizeof head - 1);
    (void)!write(2, current_note, strlen(current_note));
    (void)!write(2, "\n", 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Runs in each test's own process (Check's fork mode). */
static void install_crash_note(void)
{
    current_note[0] = '\0';
    signal(SIGABRT, report_note_and_die);
    signal(SIGSEGV, report_note_and_die);
    signal(SIGBUS, report_note_and_die);
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

/* Asserts the properties every successful allocation has: non-NULL, 16-byte
 * aligned, at least `size` usable bytes, all of which can be written. */
static void check_block(void *p, size_t size, const char *what)
{
    ck_assert_msg(p != NULL, "%s(%zu) returned NULL (errno %d)", what, size,
                  errno);
    ck_assert_msg(bits(p) % 16 == 0, "%s(%zu) = %p is not 16-byte aligned",
                  what, size, p);
    size_t usable = gl_usable_size(p);
    ck_assert_msg(usable >= size, "%s(%zu): gl_usable_size = %zu", what, size,
                  usable);
    memset(p, 0x5a, usable);
}

static const size_t absurd_sizes[] = {
    SIZE_MAX,
    SIZE_MAX - 1,
    SIZE_MAX - 15,
    SIZE_MAX - 4095,
    SIZE_MAX / 2,
    SIZE_MAX / 2 + 1,
    (size_t)1 << 62,
};
#define N_ABSURD (sizeof absurd_sizes / sizeof absurd_sizes[0])

/* ---------------------------------------------------------------- malloc */

START_TEST(malloc_zero_unique)
{
    enum { N = 1000 };
    static void *ptrs[N];
    for (int i = 0; i < N; i++) {
        ptrs[i] = gl_malloc(0);
        ck_assert_msg(ptrs[i] != NULL, "gl_malloc(0) #%d returned NULL", i);
        ck_assert_msg(bits(ptrs[i]) % 16 == 0, "gl_malloc(0) = %p unaligned",
                      ptrs[i]);
        /* "a 16-byte block": the caller may write that much */
        ck_assert_msg(gl_usable_size(ptrs[i]) >= 16,
                      "gl_usable_size(gl_malloc(0)) = %zu",
                      gl_usable_size(ptrs[i]));
        memset(ptrs[i], i & 0xff, 16);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            ck_assert_msg(bits(ptrs[i]) != bits(ptrs[j]),
                          "gl_malloc(0) #%d and #%d both returned %p", i, j,
                          ptrs[i]);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 16; k++)
            ck_assert_int_eq(((unsigned char *)ptrs[i])[k], i & 0xff);
        gl_free(ptrs[i]);
    }
}
END_TEST

START_TEST(malloc_absurd_sizes_enomem)
{
    for (size_t i = 0; i < N_ABSURD; i++) {
        errno = 0;
        void *p = gl_malloc(absurd_sizes[i]);
        ck_assert_msg(p == NULL, "gl_malloc(%zu) returned %p, expected NULL",
                      absurd_sizes[i], p);
        ck_assert_msg(errno == ENOMEM, "gl_malloc(%zu): errno %d, expected "
                      "ENOMEM", absurd_sizes[i], errno);
    }
    /* and the allocator still works afterwards */
    void *p = gl_malloc(100);
    check_block(p, 100, "gl_malloc");
    gl_free(p);
}
END_TEST

START_TEST(malloc_sizes_aligned_usable)
{
    for (size_t size = 1; size <= 20000; size++) {
        void *p = gl_malloc(size);
        check_block(p, size, "gl_malloc");
        gl_free(p);
    }
    static const size_t big[] = { 64 * KiB, 64 * KiB + 1, MiB, MiB + 1,
                                  3 * MiB, 64 * MiB };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        void *p = gl_malloc(big[i]);
        check_block(p, big[i], "gl_malloc");
        gl_free(p);
    }
}
END_TEST

/* Live blocks never overlap: sort them by address, each must end (by its
 * usable size) before the next begins.  Each keeps its own fill. */
struct live_block {
    unsigned char *p;
    size_t size;
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = bits(((const struct live_block *)a)->p);
    uintptr_t y = bits(((const struct live_block *)b)->p);
    return (x > y) - (x < y);
}

START_TEST(malloc_live_blocks_disjoint)
{
    enum { MAXB = 4000 };
    static struct live_block blocks[MAXB];
    size_t n = 0;
    for (size_t size = 1; size <= 20000 && n < MAXB; size += 7)
        blocks[n++].size = size;
    static const size_t big[] = { 64 * KiB, 100000, MiB, 3 * MiB };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        for (int k = 0; k < 3; k++)
            blocks[n++].size = big[i];
    for (size_t i = 0; i < n; i++) {
        blocks[i].p = gl_malloc(blocks[i].size);
        check_block(blocks[i].p, blocks[i].size, "gl_malloc");
        fill_pattern(blocks[i].p, 0, blocks[i].size, (unsigned)i);
    }
    for (size_t i = 0; i < n; i++) {
        size_t bad = find_pattern_mismatch(blocks[i].p, 0, blocks[i].size,
                                           (unsigned)i);
        ck_assert_msg(bad == SIZE_MAX, "block %zu (%zu bytes at %p) changed "
                      "at offset %zu while others were written", i,
                      blocks[i].size, (void *)blocks[i].p, bad);
    }
    static struct live_block sorted[MAXB];
    memcpy(sorted, blocks, n * sizeof blocks[0]);
    qsort(sorted, n, sizeof sorted[0], by_address);
    for (size_t i = 0; i + 1 < n; i++) {
        uintptr_t end = bits(sorted[i].p) + gl_usable_size(sorted[i].p);
        ck_assert_msg(end <= bits(sorted[i + 1].p),
                      "block %p (usable %zu) overlaps block %p",
                      (void *)sorted[i].p, gl_usable_size(sorted[i].p),
                      (void *)sorted[i + 1].p);
    }
    for (size_t i = 0; i < n; i++)
        gl_free(blocks[i].p);
}
END_TEST

START_TEST(usable_size_and_free_null)
{
    ck_assert_uint_eq(gl_usable_size(NULL), 0);
    gl_free(NULL);
    gl_free_sized(NULL, 0);
    gl_free_sized(NULL, 100);
    /* nothing was allocated by any of that */
    struct gl_stats a = stats_now();
    gl_free(NULL);
    struct gl_stats b = stats_now();
    ck_assert_uint_eq(a.allocated, b.allocated);
}
END_TEST

START_TEST(free_sized_valid_sizes)
{
    static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 1000, 4096, 16383,
                                    16384, 16385, 50000, 100000, MiB,
                                    3 * MiB };
    struct gl_stats before = stats_now();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        /* the requested size */
        void *p = gl_malloc(s);
        check_block(p, s, "gl_malloc");
        gl_free_sized(p, s);
        /* the usable size */
        p = gl_malloc(s);
        check_block(p, s, "gl_malloc");
        gl_free_sized(p, gl_usable_size(p));
        /* sizes below the requested one ("any value up to the usable
         * size"): the block must still go back whole, to its own class */
        if (s > 1) {
            p = gl_malloc(s);
            check_block(p, s, "gl_malloc");
            gl_free_sized(p, s / 2 + 1);
            p = gl_malloc(s);
            check_block(p, s, "gl_malloc");
            gl_free_sized(p, 1);
        }
        /* blocks from calloc and aligned_alloc too */
        p = gl_calloc(1, s);
        check_block(p, s, "gl_calloc");
        gl_free_sized(p, s);
        if (s > 0) {
            p = gl_aligned_alloc(64, s);
            check_block(p, s, "gl_aligned_alloc(64)");
            ck_assert_uint_eq(bits(p) % 64, 0);
            gl_free_sized(p, s);
        }
    }
    struct gl_stats after = stats_now();
    ck_assert_msg(after.allocated == before.allocated,
                  "allocated %zu after gl_free_sized of everything, was %zu",
                  after.allocated, before.allocated);
}
END_TEST

START_TEST(free_sized_reuses_block)
{
    /* a block given back with gl_free_sized lands in its own class */
    static const size_t sizes[] = { 16, 32, 100, 1024, 8000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = gl_malloc(sizes[i]);
        check_block(p, sizes[i], "gl_malloc");
        uintptr_t pb = bits(p);
        gl_free_sized(p, sizes[i]);
        void *q = gl_malloc(sizes[i]);
        ck_assert_msg(bits(q) == pb, "size %zu: gl_free_sized(%p) then "
                      "gl_malloc gave %p", sizes[i], (void *)pb, q);
        gl_free(q);
    }
}
END_TEST

/* ---------------------------------------------------------------- calloc */

START_TEST(calloc_overflow_enomem)
{
    static const size_t pairs[][2] = {
        { SIZE_MAX / 2 + 1, 2 },
        { 2, SIZE_MAX / 2 + 1 },
        { SIZE_MAX, SIZE_MAX },
        { SIZE_MAX, 2 },
        { (size_t)1 << 32, (size_t)1 << 32 },
        { ((size_t)1 << 32) + 1, ((size_t)1 << 32) - 1 }, /* 2^64 - 1: fits but absurd */
        { (size_t)1 << 31, (size_t)1 << 31 },             /* 2^62: absurd */
        { 3, SIZE_MAX / 3 + 1 },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        errno = 0;
        void *p = gl_calloc(pairs[i][0], pairs[i][1]);
        ck_assert_msg(p == NULL, "gl_calloc(%zu, %zu) returned %p",
                      pairs[i][0], pairs[i][1], p);
        ck_assert_msg(errno == ENOMEM, "gl_calloc(%zu, %zu): errno %d, "
                      "expected ENOMEM", pairs[i][0], pairs[i][1], errno);
    }
}
END_TEST

START_TEST(calloc_zero_count_unique)
{
    void *a = gl_calloc(0, 10);
    void *b = gl_calloc(10, 0);
    void *c = gl_calloc(0, 0);
    void *d = gl_calloc(0, SIZE_MAX);   /* product 0: no overflow */
    void *all[] = { a, b, c, d };
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(all[i] != NULL, "gl_calloc with a zero product #%d "
                      "returned NULL", i);
        ck_assert_uint_eq(bits(all[i]) % 16, 0);
        for (int j = 0; j < i; j++)
            ck_assert_msg(bits(all[i]) != bits(all[j]),
                          "gl_calloc zero-product results #%d and #%d are "
                          "both %p", j, i, all[i]);
    }
    for (int i = 0; i < 4; i++)
        gl_free(all[i]);
}
END_TEST

START_TEST(calloc_fresh_is_zero)
{
    static const size_t sizes[] = { 1, 16, 48, 100, 1000, 4096, 16000, 16384,
                                    16385, 20000, 100000, MiB, 3 * MiB,
                                    9 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int form = 0; form < 2; form++) {
            unsigned char *p = form ? gl_calloc(sizes[i], 1)
                                    : gl_calloc(1, sizes[i]);
            ck_assert_msg(p != NULL, "gl_calloc(%zu) = NULL", sizes[i]);
            ck_assert_uint_eq(bits(p) % 16, 0);
            ck_assert_uint_ge(gl_usable_size(p), sizes[i]);
            size_t bad = find_nonzero(p, sizes[i]);
            ck_assert_msg(bad == SIZE_MAX, "gl_calloc(%zu) = %p: byte %zu is "
                          "0x%02x", sizes[i], (void *)p, bad,
                          bad == SIZE_MAX ? 0 : p[bad]);
            memset(p, 0xAB, gl_usable_size(p));
            gl_free(p);
        }
    }
    /* a product, not only a size */
    unsigned char *p = gl_calloc(1000, 48);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(gl_usable_size(p), 48000);
    ck_assert_uint_eq(find_nonzero(p, 48000), SIZE_MAX);
    gl_free(p);
}
END_TEST

/* Allocate size s, dirty the whole block, free it, calloc the same size: the
 * same block usually comes back, and it must read as zeros. */
static void calloc_recycled_case(size_t s, int flush_between)
{
    note("calloc of recycled blocks of %zu bytes", s);
    unsigned char *p = gl_malloc(s);
    ck_assert_msg(p != NULL, "gl_malloc(%zu) = NULL", s);
    memset(p, 0xAB, gl_usable_size(p));
    gl_free(p);
    if (flush_between)
        gl_thread_flush();
    unsigned char *q = gl_calloc(1, s);
    ck_assert_msg(q != NULL, "gl_calloc(1, %zu) = NULL", s);
    size_t bad = find_nonzero(q, s);
    ck_assert_msg(bad == SIZE_MAX, "gl_calloc(1, %zu) = %p (freed block was "
                  "%p%s): byte %zu is 0x%02x, not 0", s, (void *)q, (void *)p,
                  flush_between ? ", thread cache flushed" : "", bad,
                  bad == SIZE_MAX ? 0 : q[bad]);
    gl_free(q);
}

START_TEST(calloc_zeroes_recycled)
{
    static const size_t sizes[] = { 16, 48, 100, 1000, 16000, 16384, 16385,
                                    20000, 100000, 500000, MiB, 3 * MiB };
    for (int flush = 0; flush <= 1; flush++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            for (int rep = 0; rep < 3; rep++)
                calloc_recycled_case(sizes[i], flush);
}
END_TEST

/* Many dirty blocks of one size freed, then as many callocs: every one of
 * them, recycled from the cache, the arena or a coalesced span, is zero. */
START_TEST(calloc_zeroes_recycled_many)
{
    enum { N = 300 };
    static unsigned char *ptrs[N];
    static const size_t sizes[] = { 48, 1000, 16000, 100000 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t s = sizes[k];
        int n = s >= 100000 ? 40 : N;
        for (int i = 0; i < n; i++) {
            ptrs[i] = gl_malloc(s);
            ck_assert_ptr_nonnull(ptrs[i]);
            memset(ptrs[i], 0xAB, gl_usable_size(ptrs[i]));
        }
        for (int i = 0; i < n; i++)
            gl_free(ptrs[i]);
        if (k % 2)
            gl_thread_flush();
        for (int i = 0; i < n; i++) {
            ptrs[i] = gl_calloc(s, 1);
            ck_assert_ptr_nonnull(ptrs[i]);
            size_t bad = find_nonzero(ptrs[i], s);
            ck_assert_msg(bad == SIZE_MAX, "recycled gl_calloc(%zu, 1) #%d = "
                          "%p: byte %zu is 0x%02x", s, i, (void *)ptrs[i],
                          bad, bad == SIZE_MAX ? 0 : ptrs[i][bad]);
        }
        for (int i = 0; i < n; i++)
            gl_free(ptrs[i]);
    }
    /* dirty large neighbours freed (and coalesced), then one calloc that
     * may be carved from the merged span */
    for (int i = 0; i < 16; i++) {
        ptrs[i] = gl_malloc(40000);
        ck_assert_ptr_nonnull(ptrs[i]);
        memset(ptrs[i], 0xAB, gl_usable_size(ptrs[i]));
    }
    for (int i = 0; i < 16; i++)
        gl_free(ptrs[i]);
    gl_thread_flush();
    unsigned char *q = gl_calloc(1, 300000);
    ck_assert_ptr_nonnull(q);
    size_t bad = find_nonzero(q, 300000);
    ck_assert_msg(bad == SIZE_MAX, "gl_calloc(1, 300000) over freed dirty "
                  "blocks = %p: byte %zu is 0x%02x", (void *)q, bad,
                  bad == SIZE_MAX ? 0 : q[bad]);
    gl_free(q);
}
END_TEST

/* ---------------------------------------------------------------- realloc */

START_TEST(realloc_null_is_malloc)
{
    static const size_t sizes[] = { 0, 1, 100, 16384, 100000, 3 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = gl_realloc(NULL, sizes[i]);
        ck_assert_msg(p != NULL, "gl_realloc(NULL, %zu) = NULL", sizes[i]);
        check_block(p, sizes[i], "gl_realloc(NULL)");
        gl_free(p);
    }
    /* gl_realloc(NULL, 0) is gl_malloc(0): unique */
    void *a = gl_realloc(NULL, 0);
    void *b = gl_realloc(NULL, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_msg(bits(a) != bits(b), "gl_realloc(NULL, 0) twice gave %p", a);
    gl_free(a);
    gl_free(b);
    /* and fails like gl_malloc */
    for (size_t i = 0; i < N_ABSURD; i++) {
        errno = 0;
        void *p = gl_realloc(NULL, absurd_sizes[i]);
        ck_assert_msg(p == NULL && errno == ENOMEM, "gl_realloc(NULL, %zu) = "
                      "%p, errno %d; expected NULL, ENOMEM", absurd_sizes[i],
                      p, errno);
    }
}
END_TEST

START_TEST(realloc_zero_frees)
{
    static const size_t sizes[] = { 0, 1, 100, 16384, 100000, 3 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct gl_stats before = stats_now();
        void *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        void *q = gl_realloc(p, 0);
        ck_assert_msg(q == NULL, "gl_realloc(gl_malloc(%zu), 0) = %p, "
                      "expected NULL", sizes[i], q);
        struct gl_stats after = stats_now();
        ck_assert_msg(after.allocated == before.allocated,
                      "gl_realloc(p, 0) of a %zu-byte block: allocated %zu, "
                      "was %zu before gl_malloc (block not freed?)", sizes[i],
                      after.allocated, before.allocated);
    }
}
END_TEST

START_TEST(realloc_failure_keeps_block)
{
    static const size_t sizes[] = { 1, 100, 16384, 100000, 3 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        unsigned char *p = gl_malloc(s);
        ck_assert_ptr_nonnull(p);
        size_t usable = gl_usable_size(p);
        fill_pattern(p, 0, s, 7);
        for (size_t k = 0; k < N_ABSURD; k++) {
            errno = 0;
            void *q = gl_realloc(p, absurd_sizes[k]);
            ck_assert_msg(q == NULL, "gl_realloc(%zu-byte block, %zu) = %p, "
                          "expected NULL", s, absurd_sizes[k], q);
            ck_assert_msg(errno == ENOMEM, "gl_realloc(%zu-byte block, %zu): "
                          "errno %d, expected ENOMEM", s, absurd_sizes[k],
                          errno);
            size_t bad = find_pattern_mismatch(p, 0, s, 7);
            ck_assert_msg(bad == SIZE_MAX, "failed gl_realloc(%p, %zu) "
                          "changed byte %zu of the block", (void *)p,
                          absurd_sizes[k], bad);
            ck_assert_uint_eq(gl_usable_size(p), usable);
        }
        /* the block is still ours, still live, still resizable */
        unsigned char *q = gl_realloc(p, s + 1000);
        ck_assert_ptr_nonnull(q);
        ck_assert_uint_eq(find_pattern_mismatch(q, 0, s, 7), SIZE_MAX);
        gl_free(q);
    }
}
END_TEST

static void realloc_chain(const size_t *chain, size_t n, unsigned seed)
{
    unsigned char *p = gl_malloc(chain[0]);
    ck_assert_ptr_nonnull(p);
    fill_pattern(p, 0, chain[0], seed);
    size_t old = chain[0];
    for (size_t i = 1; i < n; i++) {
        size_t s = chain[i];
        note("gl_realloc(%p, %zu -> %zu)", (void *)p, old, s);
        unsigned char *q = gl_realloc(p, s);
        ck_assert_msg(q != NULL, "gl_realloc(%p, %zu -> %zu) = NULL (errno "
                      "%d)", (void *)p, old, s, errno);
        ck_assert_msg(bits(q) % 16 == 0, "gl_realloc(%zu -> %zu) = %p "
                      "unaligned", old, s, (void *)q);
        ck_assert_msg(gl_usable_size(q) >= s, "gl_realloc(%zu -> %zu): "
                      "usable %zu", old, s, gl_usable_size(q));
        size_t keep = old < s ? old : s;
        size_t bad = find_pattern_mismatch(q, 0, keep, seed);
        ck_assert_msg(bad == SIZE_MAX, "gl_realloc(%p, %zu -> %zu) = %p: "
                      "byte %zu of the kept %zu differs (0x%02x, expected "
                      "0x%02x)", (void *)p, old, s, (void *)q, bad, keep,
                      bad == SIZE_MAX ? 0 : q[bad],
                      bad == SIZE_MAX ? 0 : pattern_byte(bad, seed));
        fill_pattern(q, keep, s, seed);
        p = q;
        old = s;
    }
    ck_assert_uint_eq(find_pattern_mismatch(p, 0, old, seed), SIZE_MAX);
    gl_free(p);
}

START_TEST(realloc_keeps_contents)
{
    static const size_t chain[] = {
        1, 16, 17, 100, 1000, 16384, 16385, 50000, MiB, MiB + 1, 5 * MiB,
        20 * MiB, 5 * MiB, 100000, 20000, 300, 10, 1
    };
    realloc_chain(chain, sizeof chain / sizeof chain[0], 0x11);
    /* big jumps in both directions */
    static const size_t jumps[] = {
        10, 20 * MiB, 10, 100000, 16, 3 * MiB, 16385, 16384, 1, 5 * MiB,
        5 * MiB + 4096, 5 * MiB - 4096, 64, 48, 32
    };
    realloc_chain(jumps, sizeof jumps / sizeof jumps[0], 0x22);
    /* small steps across a class boundary region, each size in turn */
    static size_t steps[600];
    size_t n = 0;
    for (size_t s = 1; s <= 2048 && n < 300; s += 7)
        steps[n++] = s;
    for (size_t s = 2048; s > 9 && n < 600; s -= 9)
        steps[n++] = s;
    realloc_chain(steps, n, 0x33);
}
END_TEST

START_TEST(realloc_with_neighbours)
{
    /* a growing block with live neighbours on both sides: whether it grows
     * in place or moves, the neighbours keep their contents */
    static const size_t sizes[] = { 100, 5000, 40000, 200000 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t s = sizes[k];
        unsigned char *a = gl_malloc(s), *b = gl_malloc(s), *c = gl_malloc(s);
        ck_assert(a && b && c);
        fill_pattern(a, 0, s, 1);
        fill_pattern(b, 0, s, 2);
        fill_pattern(c, 0, s, 3);
        size_t old = s;
        for (size_t ns = s + 1; ns < 8 * s; ns = ns * 3 / 2) {
            unsigned char *nb = gl_realloc(b, ns);
            ck_assert_ptr_nonnull(nb);
            ck_assert_uint_eq(find_pattern_mismatch(nb, 0, old, 2), SIZE_MAX);
            fill_pattern(nb, old, ns, 2);
            b = nb;
            old = ns;
            ck_assert_uint_eq(find_pattern_mismatch(a, 0, s, 1), SIZE_MAX);
            ck_assert_uint_eq(find_pattern_mismatch(c, 0, s, 3), SIZE_MAX);
        }
        for (size_t ns = old / 2; ns > 8; ns /= 3) {
            unsigned char *nb = gl_realloc(b, ns);
            ck_assert_ptr_nonnull(nb);
            ck_assert_uint_eq(find_pattern_mismatch(nb, 0, ns, 2), SIZE_MAX);
            b = nb;
            ck_assert_uint_eq(find_pattern_mismatch(a, 0, s, 1), SIZE_MAX);
            ck_assert_uint_eq(find_pattern_mismatch(c, 0, s, 3), SIZE_MAX);
        }
        gl_free(a);
        gl_free(b);
        gl_free(c);
    }
}
END_TEST

START_TEST(realloc_aligned_block)
{
    /* blocks from the aligned allocators can be resized like any other */
    static const size_t aligns[] = { 64, 4096, 65536, MiB };
    for (size_t k = 0; k < sizeof aligns / sizeof aligns[0]; k++) {
        unsigned char *p = gl_aligned_alloc(aligns[k], 100);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(bits(p) % aligns[k], 0);
        fill_pattern(p, 0, 100, 9);
        unsigned char *q = gl_realloc(p, 100000);
        ck_assert_ptr_nonnull(q);
        ck_assert_uint_eq(find_pattern_mismatch(q, 0, 100, 9), SIZE_MAX);
        fill_pattern(q, 100, 100000, 9);
        p = gl_realloc(q, 50);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(find_pattern_mismatch(p, 0, 50, 9), SIZE_MAX);
        gl_free(p);
    }
}
END_TEST

/* ----------------------------------------------------------- reallocarray */

START_TEST(reallocarray_overflow_keeps_block)
{
    unsigned char *p = gl_malloc(200);
    ck_assert_ptr_nonnull(p);
    fill_pattern(p, 0, 200, 5);
    static const size_t pairs[][2] = {
        { SIZE_MAX / 2 + 1, 2 },
        { 2, SIZE_MAX / 2 + 1 },
        { SIZE_MAX, SIZE_MAX },
        { (size_t)1 << 32, (size_t)1 << 32 },
        { (size_t)1 << 31, (size_t)1 << 31 },   /* no overflow, absurd */
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        errno = 0;
        void *q = gl_reallocarray(p, pairs[i][0], pairs[i][1]);
        ck_assert_msg(q == NULL, "gl_reallocarray(p, %zu, %zu) = %p",
                      pairs[i][0], pairs[i][1], q);
        ck_assert_msg(errno == ENOMEM, "gl_reallocarray(p, %zu, %zu): errno "
                      "%d, expected ENOMEM", pairs[i][0], pairs[i][1], errno);
        ck_assert_uint_eq(find_pattern_mismatch(p, 0, 200, 5), SIZE_MAX);
    }
    /* NULL too */
    errno = 0;
    void *q = gl_reallocarray(NULL, SIZE_MAX / 2 + 1, 2);
    ck_assert_msg(q == NULL && errno == ENOMEM,
                  "gl_reallocarray(NULL, overflow) = %p, errno %d", q, errno);
    gl_free(p);
}
END_TEST

START_TEST(reallocarray_grows_and_zero)
{
    uint32_t *p = gl_reallocarray(NULL, 10, sizeof(uint32_t));
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(gl_usable_size(p), 40);
    for (uint32_t i = 0; i < 10; i++)
        p[i] = i * 2654435761u;
    size_t n = 10;
    static const size_t counts[] = { 100, 5000, 40000, 300000, 1000000, 7 };
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        size_t nn = counts[k];
        uint32_t *q = gl_reallocarray(p, nn, sizeof(uint32_t));
        ck_assert_msg(q != NULL, "gl_reallocarray(p, %zu, 4) = NULL", nn);
        ck_assert_uint_ge(gl_usable_size(q), nn * 4);
        size_t keep = n < nn ? n : nn;
        for (uint32_t i = 0; i < keep; i++)
            ck_assert_msg(q[i] == i * 2654435761u, "gl_reallocarray %zu -> "
                          "%zu elements: element %u lost", n, nn, i);
        for (size_t i = keep; i < nn; i++)
            q[i] = (uint32_t)i * 2654435761u;
        p = q;
        n = nn;
    }
    /* a zero product is gl_realloc(p, 0): frees and returns NULL */
    struct gl_stats before = stats_now();
    size_t held = gl_usable_size(p);
    void *q = gl_reallocarray(p, 0, 16);
    ck_assert_msg(q == NULL, "gl_reallocarray(p, 0, 16) = %p, expected NULL",
                  q);
    struct gl_stats after = stats_now();
    ck_assert_msg(after.allocated + held == before.allocated,
                  "gl_reallocarray(p, 0, 16): allocated %zu -> %zu, expected "
                  "to drop by %zu", before.allocated, after.allocated, held);
    p = gl_malloc(64);
    ck_assert_ptr_nonnull(p);
    q = gl_reallocarray(p, 16, 0);
    ck_assert_msg(q == NULL, "gl_reallocarray(p, 16, 0) = %p, expected NULL",
                  q);
    /* and with NULL it is gl_realloc(NULL, 0) = gl_malloc(0) */
    void *a = gl_reallocarray(NULL, 0, 16);
    void *b = gl_reallocarray(NULL, 0, 16);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert(bits(a) != bits(b));
    gl_free(a);
    gl_free(b);
    struct gl_stats end = stats_now();
    ck_assert_uint_eq(end.allocated, after.allocated);
}
END_TEST

/* ---------------------------------------------------------------- aligned */

static const size_t bad_alignments[] = { 0, 3, 5, 12, 24, 48, 96, 100, 1000,
                                         4097, 65535, SIZE_MAX,
                                         ((size_t)1 << 40) + 16 };
#define N_BAD_ALIGN (sizeof bad_alignments / sizeof bad_alignments[0])

/* Sizes tried with each alignment: around the alignment itself, and also
 * small, large and huge sizes whatever the alignment, so that every
 * alignment meets every kind of block. */
enum { N_ALIGNED_SIZES = 8 };
static void aligned_sizes(size_t align, size_t out[N_ALIGNED_SIZES])
{
    out[0] = 1;
    out[1] = 100;
    out[2] = align - 1;
    out[3] = align;
    out[4] = 3 * align + 5;
    out[5] = 20000;
    out[6] = 100000;
    out[7] = 3 * MiB + 5;
}

/* One alignment per loop iteration (_i is its log2), so that a crash at one
 * alignment does not hide the results of the others. */
START_TEST(aligned_alloc_every_power)
{
    size_t align = (size_t)1 << _i;
    size_t sizes[N_ALIGNED_SIZES];
    aligned_sizes(align, sizes);
    size_t need = align < 16 ? 16 : align;
    for (int k = 0; k < N_ALIGNED_SIZES; k++) {
        if (sizes[k] == 0)
            continue;   /* align 1, size align-1: not specified */
        note("gl_aligned_alloc(%zu, %zu)", align, sizes[k]);
        void *p = gl_aligned_alloc(align, sizes[k]);
        ck_assert_msg(p != NULL, "gl_aligned_alloc(%zu, %zu) = NULL "
                      "(errno %d)", align, sizes[k], errno);
        ck_assert_msg(bits(p) % need == 0, "gl_aligned_alloc(%zu, %zu) = "
                      "%p not aligned to %zu", align, sizes[k], p, need);
        size_t usable = gl_usable_size(p);
        ck_assert_msg(usable >= sizes[k], "gl_aligned_alloc(%zu, %zu): "
                      "usable %zu", align, sizes[k], usable);
        memset(p, 0xc3, usable);
        note("gl_free(gl_aligned_alloc(%zu, %zu) = %p)", align, sizes[k], p);
        gl_free(p);
    }
}
END_TEST

/* Zero bytes at every alignment: a unique, writable, freeable block, which
 * gl_realloc can grow (the fuzzer found a 4 MiB-aligned zero-byte block
 * that was not mapped). */
START_TEST(aligned_alloc_zero_bytes)
{
    for (size_t alignment = 16; alignment <= ((size_t)16 << 20); alignment *= 2) {
        unsigned char *p = gl_aligned_alloc(alignment, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % alignment, 0);
        ck_assert_uint_ge(gl_usable_size(p), 1);
        p[0] = 0x5a;
        unsigned char *q = gl_realloc(p, 5968);
        ck_assert_ptr_nonnull(q);
        ck_assert_uint_eq(q[0], 0x5a);
        gl_free(q);
    }
}
END_TEST

START_TEST(aligned_alloc_live_together)
{
    /* several live at once with a large alignment, all disjoint and intact */
    unsigned char *live[8];
    for (int i = 0; i < 8; i++) {
        live[i] = gl_aligned_alloc(MiB, 1000 + (size_t)i * 100000);
        ck_assert_ptr_nonnull(live[i]);
        ck_assert_uint_eq(bits(live[i]) % MiB, 0);
        fill_pattern(live[i], 0, 1000 + (size_t)i * 100000, (unsigned)i);
    }
    for (int i = 0; i < 8; i++) {
        ck_assert_uint_eq(find_pattern_mismatch(live[i], 0,
                              1000 + (size_t)i * 100000, (unsigned)i),
                          SIZE_MAX);
        gl_free(live[i]);
    }
}
END_TEST

START_TEST(aligned_alloc_bad_alignment)
{
    for (size_t i = 0; i < N_BAD_ALIGN; i++) {
        errno = 0;
        void *p = gl_aligned_alloc(bad_alignments[i], 64);
        ck_assert_msg(p == NULL, "gl_aligned_alloc(%zu, 64) = %p, expected "
                      "NULL", bad_alignments[i], p);
        ck_assert_msg(errno == EINVAL, "gl_aligned_alloc(%zu, 64): errno %d, "
                      "expected EINVAL", bad_alignments[i], errno);
    }
}
END_TEST

START_TEST(aligned_alloc_too_large)
{
    static const size_t aligns[] = { 16, 4096, MiB };
    for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++)
        for (size_t i = 0; i < N_ABSURD; i++) {
            errno = 0;
            void *p = gl_aligned_alloc(aligns[a], absurd_sizes[i]);
            ck_assert_msg(p == NULL && errno == ENOMEM,
                          "gl_aligned_alloc(%zu, %zu) = %p, errno %d; "
                          "expected NULL, ENOMEM", aligns[a], absurd_sizes[i],
                          p, errno);
        }
    /* a valid (power of two) but unsatisfiable alignment */
    errno = 0;
    void *p = gl_aligned_alloc((size_t)1 << 63, 16);
    ck_assert_msg(p == NULL && errno == ENOMEM, "gl_aligned_alloc(2^63, 16) = "
                  "%p, errno %d; expected NULL, ENOMEM", p, errno);
}
END_TEST

START_TEST(posix_memalign_every_power)
{
    size_t align = (size_t)1 << _i;
    size_t sizes[N_ALIGNED_SIZES];
    aligned_sizes(align, sizes);
    for (int k = 0; k < N_ALIGNED_SIZES; k++) {
        void *p = NULL;
        errno = EDOM;
        note("gl_posix_memalign(&p, %zu, %zu)", align, sizes[k]);
        int rc = gl_posix_memalign(&p, align, sizes[k]);
        ck_assert_msg(rc == 0, "gl_posix_memalign(%zu, %zu) = %d", align,
                      sizes[k], rc);
        ck_assert_msg(errno == EDOM, "gl_posix_memalign changed errno to "
                      "%d", errno);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(bits(p) % align == 0 && bits(p) % 16 == 0,
                      "gl_posix_memalign(%zu, %zu) gave %p", align,
                      sizes[k], p);
        size_t usable = gl_usable_size(p);
        ck_assert_msg(usable >= sizes[k], "gl_posix_memalign(%zu, %zu): "
                      "usable %zu", align, sizes[k], usable);
        memset(p, 0x3c, usable);
        note("gl_free(gl_posix_memalign(%zu, %zu) = %p)", align, sizes[k], p);
        gl_free(p);
    }
}
END_TEST

START_TEST(posix_memalign_errors)
{
    void *const sentinel = (void *)(uintptr_t)0x1234560;
    for (size_t i = 0; i < N_BAD_ALIGN; i++) {
        void *p = sentinel;
        errno = EDOM;
        int rc = gl_posix_memalign(&p, bad_alignments[i], 64);
        ck_assert_msg(rc == EINVAL, "gl_posix_memalign(%zu, 64) = %d, "
                      "expected EINVAL", bad_alignments[i], rc);
        ck_assert_msg(p == sentinel, "gl_posix_memalign(%zu) changed *memptr",
                      bad_alignments[i]);
        ck_assert_msg(errno == EDOM, "gl_posix_memalign changed errno to %d",
                      errno);
    }
    /* powers of two that are not multiples of sizeof(void *) */
    for (size_t align = 1; align < sizeof(void *); align *= 2) {
        void *p = sentinel;
        int rc = gl_posix_memalign(&p, align, 64);
        ck_assert_msg(rc == EINVAL, "gl_posix_memalign(%zu, 64) = %d, "
                      "expected EINVAL", align, rc);
        ck_assert(p == sentinel);
    }
    for (size_t i = 0; i < N_ABSURD; i++) {
        void *p = sentinel;
        errno = EDOM;
        int rc = gl_posix_memalign(&p, 64, absurd_sizes[i]);
        ck_assert_msg(rc == ENOMEM, "gl_posix_memalign(64, %zu) = %d, "
                      "expected ENOMEM", absurd_sizes[i], rc);
        ck_assert(p == sentinel);
        ck_assert_msg(errno == EDOM, "gl_posix_memalign changed errno to %d",
                      errno);
    }
    void *p = sentinel;
    ck_assert_int_eq(gl_posix_memalign(&p, (size_t)1 << 63, 16), ENOMEM);
    ck_assert(p == sentinel);
}
END_TEST

/* ------------------------------------------------------------------ reuse */

START_TEST(reuse_same_size)
{
    static const size_t sizes[] = { 1, 16, 32, 100, 1024, 8000, 16384 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        uintptr_t pb = bits(p);
        gl_free(p);
        void *q = gl_malloc(sizes[i]);
        ck_assert_msg(bits(q) == pb, "gl_malloc(%zu) after freeing %p gave "
                      "%p", sizes[i], (void *)pb, q);
        gl_free(q);
    }
}
END_TEST

START_TEST(reuse_same_class)
{
    /* 17 and 30 bytes are both in the 32-byte class */
    void *p = gl_malloc(17);
    ck_assert_ptr_nonnull(p);
    uintptr_t pb = bits(p);
    gl_free(p);
    void *q = gl_malloc(30);
    ck_assert_msg(bits(q) == pb, "gl_malloc(30) after freeing gl_malloc(17) "
                  "= %p gave %p", (void *)pb, q);
    gl_free(q);
    /* in general: a request for the usable size of a freed small block is in
     * its class */
    static const size_t sizes[] = { 1, 20, 100, 700, 3000, 10000, 16000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        size_t usable = gl_usable_size(p);
        pb = bits(p);
        gl_free(p);
        q = gl_malloc(usable);
        ck_assert_msg(bits(q) == pb, "size %zu (usable %zu): freed %p, "
                      "gl_malloc(%zu) gave %p", sizes[i], usable, (void *)pb,
                      usable, q);
        gl_free(q);
    }
}
END_TEST

START_TEST(reuse_lifo_several)
{
    /* the last blocks freed come back first, for a handful of blocks */
    enum { N = 8 };
    void *p[N];
    uintptr_t pb[N];
    for (int i = 0; i < N; i++) {
        p[i] = gl_malloc(64);
        ck_assert_ptr_nonnull(p[i]);
        pb[i] = bits(p[i]);
    }
    for (int i = 0; i < N; i++)
        gl_free(p[i]);
    for (int i = N - 1; i >= 0; i--) {
        void *q = gl_malloc(64);
        ck_assert_msg(bits(q) == pb[i], "expected %p back, got %p",
                      (void *)pb[i], q);
        p[i] = q;
    }
    for (int i = 0; i < N; i++)
        gl_free(p[i]);
}
END_TEST

/* ---------------------------------------------------------------- version */

START_TEST(version_string)
{
    const char *v = gl_version();
    ck_assert_ptr_nonnull(v);
    ck_assert_msg(v[0] != '\0', "gl_version() is empty");
    const char *s = v;
    for (int part = 0; part < 3; part++) {
        ck_assert_msg(*s >= '0' && *s <= '9', "gl_version() = \"%s\" is not "
                      "N.N.N", v);
        while (*s >= '0' && *s <= '9')
            s++;
        if (part < 2) {
            ck_assert_msg(*s == '.', "gl_version() = \"%s\" is not N.N.N", v);
            s++;
        }
    }
    ck_assert_msg(*s == '\0', "gl_version() = \"%s\" is not N.N.N", v);
    ck_assert_str_eq(gl_version(), v);
#ifdef PACKAGE_VERSION
    ck_assert_str_eq(v, PACKAGE_VERSION);
#endif
}
END_TEST

/* ------------------------------------------------------------------ stats */

START_TEST(stats_einval)
{
    struct gl_stats s;
    ck_assert_int_eq(gl_stats_get(NULL, sizeof s), EINVAL);
    static const unsigned bad_versions[] = { 0, GL_STATS_VERSION + 1, 999,
                                             UINT_MAX };
    for (size_t i = 0; i < sizeof bad_versions / sizeof bad_versions[0];
         i++) {
        memset(&s, 0, sizeof s);
        s.version = bad_versions[i];
        ck_assert_msg(gl_stats_get(&s, sizeof s) == EINVAL,
                      "gl_stats_get with version %u did not give EINVAL",
                      bad_versions[i]);
    }
    static const size_t small[] = { 0, 1, sizeof(unsigned),
                                    offsetof(struct gl_stats, allocated),
                                    sizeof s - 1 };
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        memset(&s, 0, sizeof s);
        s.version = GL_STATS_VERSION;
        ck_assert_msg(gl_stats_get(&s, small[i]) == EINVAL,
                      "gl_stats_get with out_size %zu did not give EINVAL",
                      small[i]);
    }
    memset(&s, 0, sizeof s);
    s.version = GL_STATS_VERSION;
    ck_assert_int_eq(gl_stats_get(&s, sizeof s), 0);
    ck_assert_uint_eq(s.version, GL_STATS_VERSION);
}
END_TEST

START_TEST(stats_sane)
{
    void *p = gl_malloc(100);
    void *q = gl_malloc(200000);
    void *r = gl_malloc(3 * MiB);
    ck_assert(p && q && r);
    struct gl_stats s = stats_now();
    ck_assert_uint_ge(s.arenas, 1);
    ck_assert_uint_ge(s.thread_caches, 1);
    ck_assert_uint_ge(s.segments, 1);
    ck_assert_uint_ge(s.allocated, gl_usable_size(p) + gl_usable_size(q) +
                                   gl_usable_size(r));
    ck_assert_msg(s.mapped >= s.allocated + s.thread_cached,
                  "mapped %zu < allocated %zu + thread_cached %zu", s.mapped,
                  s.allocated, s.thread_cached);
    ck_assert_msg(s.small_allocated + s.large_allocated + s.huge_allocated ==
                  s.allocated, "small %zu + large %zu + huge %zu != "
                  "allocated %zu", s.small_allocated, s.large_allocated,
                  s.huge_allocated, s.allocated);
    gl_free(p);
    gl_free(q);
    gl_free(r);
}
END_TEST

/* Allocates the listed sizes, checks the growth of `allocated` against the
 * sum of usable sizes (at least, then exactly: this thread is alone and
 * cached blocks are counted in thread_cached), frees, checks the return. */
static void stats_track(const size_t *sizes, const size_t *aligns, size_t n)
{
    enum { MAXN = 64 };
    void *ptrs[MAXN];
    ck_assert(n <= MAXN);
    struct gl_stats before = stats_now();
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = aligns && aligns[i] ? gl_aligned_alloc(aligns[i], sizes[i])
                                      : gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(ptrs[i]);
        sum += gl_usable_size(ptrs[i]);
    }
    struct gl_stats mid = stats_now();
    ck_assert_msg(mid.allocated >= before.allocated + sum,
                  "allocated %zu -> %zu after allocating %zu usable bytes",
                  before.allocated, mid.allocated, sum);
    ck_assert_msg(mid.allocated == before.allocated + sum,
                  "allocated %zu -> %zu (+%zu) after allocating blocks of "
                  "%zu usable bytes in total", before.allocated,
                  mid.allocated, mid.allocated - before.allocated, sum);
    ck_assert_msg(mid.small_allocated + mid.large_allocated +
                  mid.huge_allocated == mid.allocated,
                  "small %zu + large %zu + huge %zu != allocated %zu",
                  mid.small_allocated, mid.large_allocated,
                  mid.huge_allocated, mid.allocated);
    for (size_t i = 0; i < n; i++)
        gl_free(ptrs[i]);
    struct gl_stats after = stats_now();
    ck_assert_msg(after.allocated == before.allocated,
                  "allocated %zu before, %zu after allocating and freeing",
                  before.allocated, after.allocated);
    ck_assert_uint_eq(after.small_allocated, before.small_allocated);
    ck_assert_uint_eq(after.large_allocated, before.large_allocated);
    ck_assert_uint_eq(after.huge_allocated, before.huge_allocated);
}

START_TEST(stats_allocated_tracks_malloc)
{
    static const size_t sizes[] = { 0, 1, 16, 17, 48, 100, 1000, 1000, 1000,
                                    8000, 16384, 16385, 50000, 100000,
                                    200000, MiB, MiB + 1, 3 * MiB, 20 * MiB };
    stats_track(sizes, NULL, sizeof sizes / sizeof sizes[0]);
    /* again, now that caches and arenas are warm */
    stats_track(sizes, NULL, sizeof sizes / sizeof sizes[0]);
}
END_TEST

START_TEST(stats_allocated_tracks_aligned)
{
    static const size_t sizes[] = { 100, 100, 5000, 100, 40000, 100,
                                    3 * MiB };
    static const size_t aligns[] = { 64, 4096, 4096, 65536, 65536, MiB,
                                     4 * MiB };
    stats_track(sizes, aligns, sizeof sizes / sizeof sizes[0]);
    stats_track(sizes, aligns, sizeof sizes / sizeof sizes[0]);
}
END_TEST

START_TEST(stats_calloc_realloc)
{
    struct gl_stats before = stats_now();
    void *a = gl_calloc(100, 10);
    void *b = gl_realloc(NULL, 5000);
    ck_assert(a && b);
    b = gl_realloc(b, 70000);
    ck_assert_ptr_nonnull(b);
    a = gl_realloc(a, 20);
    ck_assert_ptr_nonnull(a);
    struct gl_stats mid = stats_now();
    ck_assert_msg(mid.allocated == before.allocated + gl_usable_size(a) +
                  gl_usable_size(b), "allocated %zu -> %zu, live usable %zu",
                  before.allocated, mid.allocated,
                  gl_usable_size(a) + gl_usable_size(b));
    gl_free(a);
    gl_free(b);
    ck_assert_uint_eq(stats_now().allocated, before.allocated);
}
END_TEST

START_TEST(thread_flush_empties_cache)
{
    void *ptrs[200];
    for (int i = 0; i < 200; i++) {
        ptrs[i] = gl_malloc(16 + (size_t)(i % 10) * 100);
        ck_assert_ptr_nonnull(ptrs[i]);
    }
    for (int i = 0; i < 200; i++)
        gl_free(ptrs[i]);
    struct gl_stats before = stats_now();
    gl_thread_flush();
    struct gl_stats after = stats_now();
    ck_assert_msg(after.thread_cached == 0, "thread_cached is %zu after "
                  "gl_thread_flush on the only thread (was %zu)",
                  after.thread_cached, before.thread_cached);
    ck_assert_uint_eq(after.allocated, before.allocated);
    gl_thread_flush();   /* twice is fine */
    void *p = gl_malloc(100);
    check_block(p, 100, "gl_malloc after gl_thread_flush");
    gl_free(p);
}
END_TEST

/* ------------------------------------------------------- invalid pointers */

/* Runs bad(arg) in a child with stderr captured; the child must die of
 * SIGABRT, having written a line starting with "glweave: " that contains
 * `expect` and, when want_ptr != 0, the pointer in hex after "0x". */
static void expect_abort(void (*bad)(void *), void *arg, const char *what,
                         const char *expect, uintptr_t want_ptr)
{
    struct child_end end;
    misuse_run_child(bad, arg, &end);
    int status = end.status;
    const char *buf = end.err;
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "%s: expected abort(); child %s %d, stderr \"%s\"", what,
                  WIFSIGNALED(status) ? "died of signal" : "exited with",
                  WIFSIGNALED(status) ? WTERMSIG(status)
                                      : WEXITSTATUS(status), buf);
    ck_assert_msg(strncmp(buf, "glweave: ", 9) == 0,
                  "%s: stderr \"%s\" does not start with \"glweave: \"", what,
                  buf);
    ck_assert_msg(strstr(buf, expect) != NULL,
                  "%s: stderr \"%s\" does not contain \"%s\"", what, buf,
                  expect);
    if (want_ptr) {
        const char *hex = strstr(buf, "0x");
        ck_assert_msg(hex != NULL, "%s: no pointer in \"%s\"", what, buf);
        uintptr_t shown = (uintptr_t)strtoull(hex + 2, NULL, 16);
        ck_assert_msg(shown == want_ptr, "%s: reported 0x%llx, expected %p",
                      what, (unsigned long long)shown, (void *)want_ptr);
    }
}

static _Alignas(16) unsigned char global_block[64];

static void free_it(void *p) { gl_free(p); }

/* A small block freed on the fast path is checked when it goes home to its
 * arena (a flush), not at the gl_free call itself: the hit path has no
 * instruction budget for a division.  (Immediate detection belongs to the
 * hardening work.) */
static void free_then_flush(void *p)
{
    gl_free(p);
    gl_thread_flush();
}

static void free_stack(void *unused)
{
    (void)unused;
    _Alignas(16) volatile unsigned char local[64];
    local[0] = 1;
    gl_free((void *)local);
}

static void double_free(void *p)
{
    gl_free(p);
    gl_free(p);
    /* a cache may take the second free without looking; the blocks are
     * checked at the latest when they reach the slow path */
    gl_thread_flush();
    for (int i = 0; i < 1000; i++) {
        void *q = gl_malloc(32);
        gl_free(q);
    }
    gl_thread_flush();
}

static void free_sized_too_big(void *p)
{
    gl_free_sized(p, gl_usable_size(p) + 1);
    gl_thread_flush();
}

static void realloc_stack(void *unused)
{
    (void)unused;
    _Alignas(16) volatile unsigned char local[64];
    local[0] = 1;
    void *q = gl_realloc((void *)local, 128);
    (void)q;
}

START_TEST(invalid_free_foreign)
{
    /* warm the allocator up first: the check must not depend on state */
    void *warm = gl_malloc(100);
    gl_free(warm);
    expect_abort(free_it, global_block, "gl_free(global)",
                 "free(): invalid pointer 0x", bits(global_block));
    expect_abort(free_stack, NULL, "gl_free(stack)",
                 "free(): invalid pointer 0x", 0);
    expect_abort(realloc_stack, NULL, "gl_realloc(stack)",
                 "invalid pointer 0x", 0);
    void *sys = malloc(100);   /* the system allocator's */
    expect_abort(free_it, sys, "gl_free(system malloc block)",
                 "free(): invalid pointer 0x", bits(sys));
    free(sys);
}
END_TEST

START_TEST(invalid_free_interior)
{
    static const size_t sizes[] = { 64, 100000, 3 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        size_t off = sizes[i] < 4096 ? 16 : 4096;
        char what[64];
        snprintf(what, sizeof what, "gl_free(%zu-byte block + %zu)", sizes[i],
                 off);
        expect_abort(sizes[i] < 4096 ? free_then_flush : free_it, p + off, what,
                     "free(): invalid pointer 0x", bits(p + off));
        gl_free(p);
    }
}
END_TEST

START_TEST(invalid_double_free)
{
    static const size_t sizes[] = { 32, 100000, 3 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        char what[64];
        snprintf(what, sizeof what, "double gl_free of a %zu-byte block",
                 sizes[i]);
        expect_abort(double_free, p, what, "invalid pointer 0x", bits(p));
        gl_free(p);
    }
}
END_TEST

START_TEST(invalid_free_sized_too_big)
{
    static const size_t sizes[] = { 32, 100000, 3 * MiB };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        char what[64];
        snprintf(what, sizeof what, "gl_free_sized(%zu-byte block, usable+1)",
                 sizes[i]);
        /* "reported as an invalid free": any glweave report naming p */
        expect_abort(free_sized_too_big, p, what, "0x", bits(p));
        gl_free(p);
    }
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc;

    tc = tcase_create("malloc");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, install_crash_note, NULL);
    tcase_add_test(tc, malloc_zero_unique);
    tcase_add_test(tc, malloc_absurd_sizes_enomem);
    tcase_add_test(tc, malloc_sizes_aligned_usable);
    tcase_add_test(tc, malloc_live_blocks_disjoint);
    tcase_add_test(tc, usable_size_and_free_null);
    tcase_add_test(tc, free_sized_valid_sizes);
    tcase_add_test(tc, free_sized_reuses_block);
    suite_add_tcase(s, tc);

    tc = tcase_create("calloc");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, install_crash_note, NULL);
    tcase_add_test(tc, calloc_overflow_enomem);
    tcase_add_test(tc, calloc_zero_count_unique);
    tcase_add_test(tc, calloc_fresh_is_zero);
    tcase_add_test(tc, calloc_zeroes_recycled);
    tcase_add_test(tc, calloc_zeroes_recycled_many);
    suite_add_tcase(s, tc);

    tc = tcase_create("realloc");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, install_crash_note, NULL);
    tcase_add_test(tc, realloc_null_is_malloc);
    tcase_add_test(tc, realloc_zero_frees);
    tcase_add_test(tc, realloc_failure_keeps_block);
    tcase_add_test(tc, realloc_keeps_contents);
    tcase_add_test(tc, realloc_with_neighbours);
    tcase_add_test(tc, realloc_aligned_block);
    tcase_add_test(tc, reallocarray_overflow_keeps_block);
    tcase_add_test(tc, reallocarray_grows_and_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("aligned");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, install_crash_note, NULL);
    tcase_add_loop_test(tc, aligned_alloc_every_power, 0, 25);   /* 1 .. 16 MiB */
    tcase_add_test(tc, aligned_alloc_live_together);
    tcase_add_test(tc, aligned_alloc_zero_bytes);
    tcase_add_test(tc, aligned_alloc_bad_alignment);
    tcase_add_test(tc, aligned_alloc_too_large);
    tcase_add_loop_test(tc, posix_memalign_every_power, 3, 25);  /* 8 .. 16 MiB */
    tcase_add_test(tc, posix_memalign_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("reuse");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, install_crash_note, NULL);
    tcase_add_test(tc, reuse_same_size);
    tcase_add_test(tc, reuse_same_class);
    tcase_add_test(tc, reuse_lifo_several);
    suite_add_tcase(s, tc);

    tc = tcase_create("version_stats");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, install_crash_note, NULL);
    tcase_add_test(tc, version_string);
    tcase_add_test(tc, stats_einval);
    tcase_add_test(tc, stats_sane);
    tcase_add_test(tc, stats_allocated_tracks_malloc);
    tcase_add_test(tc, stats_allocated_tracks_aligned);
    tcase_add_test(tc, stats_calloc_realloc);
    tcase_add_test(tc, thread_flush_empties_cache);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid_pointers");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, install_crash_note, NULL);
    tcase_add_test(tc, invalid_free_foreign);
    tcase_add_test(tc, invalid_free_interior);
    tcase_add_test(tc, invalid_double_free);
    tcase_add_test(tc, invalid_free_sized_too_big);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
