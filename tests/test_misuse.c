/* test_misuse.c -- issue #7: every misuse of a pointer is reported on one
 * line of stderr naming the call, the pointer and what is wrong, then the
 * process aborts (or, with GLWEAVE_OPTIONS=abort_on_error=0, carries on
 * with the block leaked).  Foreign, wild and interior pointers, double
 * frees (at once, later, on another thread; small, large and huge blocks),
 * large-block tags overwritten by a neighbour's overflow, and a write after
 * free.  Each misuse runs in a forked child (tests/misuse_child.h); the
 * test process itself never misuses the allocator.
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
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

#define bits misuse_bits

/* ------------------------------------------------------------ operations */

/* The three calls that take a pointer and must check it, with the name
 * each one reports. */
struct pointer_op {
    const char *call;
    void (*run)(void *);
};

static void op_free(void *p) { gl_free(p); }

static void op_realloc(void *p)
{
    void *q = gl_realloc(p, 100);
    (void)q;
}

static void op_usable_size(void *p)
{
    size_t n = gl_usable_size(p);
    (void)n;
}

/* A small block goes to the thread cache without any check: it is
 * validated when it goes home to its arena.  Today that is a flush, an
 * overflowing bin or the thread's exit; the flush makes it happen here. */
static void op_free_then_flush(void *p)
{
    gl_free(p);
    gl_thread_flush();
}

static const struct pointer_op every_op[] = {
    {"free", op_free_then_flush},
    {"realloc", op_realloc},
    {"malloc_usable_size", op_usable_size},
};
#define OPS (sizeof every_op / sizeof every_op[0])

static void expect_each_op(void *ptr, const char *what, const char *reason)
{
    for (size_t i = 0; i < OPS; i++) {
        char label[160];
        snprintf(label, sizeof label, "%s() of %s", every_op[i].call, what);
        expect_report(every_op[i].run, ptr, label, every_op[i].call, bits(ptr), reason);
    }
}

static void fill(void *p, size_t n, unsigned char seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed + i * 7);
}

static void warm_up(void)
{
    /* the checks must not depend on the allocator being fresh */
    void *blocks[4] = {gl_malloc(40), gl_malloc(5000), gl_malloc(70000), gl_malloc(2 * MiB)};
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_nonnull(blocks[i]);
        gl_free(blocks[i]);
    }
}

/* -------------------------------------------- pointers glweave never gave */

static _Alignas(16) unsigned char global_block[64];

START_TEST(foreign_stack)
{
    warm_up();
    _Alignas(16) unsigned char local[64];
    memset(local, 1, sizeof local);
    /* the child's stack is a copy of this one: same address */
    expect_each_op(local, "a stack array", "not allocated by glweave");
}
END_TEST

START_TEST(foreign_global)
{
    warm_up();
    expect_each_op(global_block, "a global array", "not allocated by glweave");
}
END_TEST

START_TEST(foreign_glibc_malloc)
{
    warm_up();
    /* In a program linked with libglweave, malloc is glibc's: on its heap,
     * and (above its mmap threshold) in a mapping of its own. */
    void *heap = malloc(100), *mapped = malloc(4 * MiB);
    ck_assert_ptr_nonnull(heap);
    ck_assert_ptr_nonnull(mapped);
    expect_each_op(heap, "a block of glibc's malloc", "not allocated by glweave");
    expect_each_op(mapped, "a 4 MiB block of glibc's malloc", "not allocated by glweave");
    free(heap);
    free(mapped);
}
END_TEST

START_TEST(wild_unmapped_page)
{
    warm_up();
    long page = sysconf(_SC_PAGESIZE);
    void *gone = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(gone, MAP_FAILED);
    ck_assert_int_eq(munmap(gone, (size_t)page), 0);
    /* nothing may read the pointed-to memory before the report */
    expect_each_op(gone, "an unmapped page", "not allocated by glweave");
    expect_each_op((char *)gone + 48, "an address inside an unmapped page", "not allocated by glweave");
}
END_TEST

START_TEST(wild_deadbeef)
{
    warm_up();
    expect_each_op((void *)(uintptr_t)0xdeadbeef, "0xdeadbeef", "not allocated by glweave");
}
END_TEST

/* Above the 47-bit user address space: the registry covers 2^47 bytes and
 * must not be indexed with it.  realloc and usable size go through C code
 * in both builds. */
START_TEST(wild_non_canonical_realloc_usable)
{
    warm_up();
    void *wild = (void *)(uintptr_t)0xdeadbeefdeadbeefull;
    expect_report(op_realloc, wild, "gl_realloc(0xdeadbeefdeadbeef)", "realloc", bits(wild),
                  "not allocated by glweave");
    expect_report(op_usable_size, wild, "gl_usable_size(0xdeadbeefdeadbeef)", "malloc_usable_size",
                  bits(wild), "not allocated by glweave");
    void *high = (void *)((uintptr_t)1 << 47);
    expect_report(op_usable_size, high, "gl_usable_size(1 << 47)", "malloc_usable_size", bits(high),
                  "not allocated by glweave");
}
END_TEST

/* gl_free of such a pointer: the C fast path checks the range; the
 * x86_64 assembly one indexes the bin map with it and may die of SIGSEGV
 * before any report (being fixed on main). */
START_TEST(wild_non_canonical_free)
{
    warm_up();
    void *wild = (void *)(uintptr_t)0xdeadbeefdeadbeefull;
    expect_report(op_free, wild, "gl_free(0xdeadbeefdeadbeef)", "free", bits(wild), "not allocated by glweave");
    void *high = (void *)((uintptr_t)1 << 47);
    expect_report(op_free, high, "gl_free(1 << 47)", "free", bits(high), "not allocated by glweave");
}
END_TEST

/* ------------------------------------------------------ interior pointers */

static void expect_interior(size_t size, const size_t *offsets, size_t count)
{
    unsigned char *p = gl_malloc(size);
    ck_assert_ptr_nonnull(p);
    /* a pattern, so that no stale allocator data sits inside the block */
    fill(p, gl_usable_size(p), 0x3c);
    for (size_t i = 0; i < count; i++) {
        char what[96];
        snprintf(what, sizeof what, "%zu-byte block + %zu", size, offsets[i]);
        expect_each_op(p + offsets[i], what, "not the start of a block");
    }
    gl_free(p);
}

START_TEST(interior_small)
{
    warm_up();
    /* 16-aligned and 8-aligned: a misaligned one would make the fast path's
     * link store misaligned (undefined; UBSan stops there) */
    static const size_t offsets[] = {16, 32, 8};
    expect_interior(64, offsets, 3);
    expect_interior(5000, offsets, 3);
    expect_interior(16 * KiB, offsets, 3);
}
END_TEST

START_TEST(interior_large)
{
    warm_up();
    static const size_t offsets[] = {16, 32, 4096, 1, 8};
    expect_interior(20000, offsets, 5);
    expect_interior(100000, offsets, 5);
    expect_interior(MiB, offsets, 5);
    /* the last 16 bytes of a block */
    unsigned char *p = gl_malloc(100000);
    ck_assert_ptr_nonnull(p);
    size_t usable = gl_usable_size(p);
    expect_each_op(p + usable - 16, "the last 16 bytes of a large block", "not the start of a block");
    gl_free(p);
}
END_TEST

START_TEST(interior_huge)
{
    warm_up();
    static const size_t offsets[] = {16, 4096, 1, MiB};
    expect_interior(3 * MiB, offsets, 4);
    expect_interior(MiB + 16, offsets, 3);
    /* Beyond the block's first segment (4 MiB) the address is in no
     * segment glweave registered: any reason will do. */
    unsigned char *p = gl_malloc(12 * MiB);
    ck_assert_ptr_nonnull(p);
    expect_each_op(p + 9 * MiB, "a 12 MiB block + 9 MiB", NULL);
    gl_free(p);
}
END_TEST

/* ------------------------------------------------------------ double free */

static void free_twice_then_flush(void *p)
{
    gl_free(p);
    gl_free(p);
    gl_thread_flush(); /* small blocks: checked here today */
}

START_TEST(double_free_at_once)
{
    warm_up();
    static const size_t sizes[] = {16, 48, 1000, 16 * KiB, 16 * KiB + 1, 100000, MiB, MiB + 1, 5 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        char what[80];
        snprintf(what, sizeof what, "free, free of a %zu-byte block", sizes[i]);
        expect_report(free_twice_then_flush, p, what, "free", bits(p), "double free");
        gl_free(p);
    }
}
END_TEST

struct later {
    void *victim;
    void *others[8];
    size_t count;
};

static void free_after_others(void *arg)
{
    struct later *l = arg;
    gl_free(l->victim);
    for (size_t i = 0; i < l->count; i++)
        gl_free(l->others[i]);
    gl_free(l->victim);
    gl_thread_flush();
}

START_TEST(double_free_after_other_frees)
{
    warm_up();
    static const size_t sizes[] = {32, 3000, 40000, 3 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct later l = {.victim = gl_malloc(sizes[i]), .count = 8};
        ck_assert_ptr_nonnull(l.victim);
        for (size_t k = 0; k < l.count; k++) {
            l.others[k] = gl_malloc(sizes[i]);
            ck_assert_ptr_nonnull(l.others[k]);
        }
        char what[96];
        snprintf(what, sizeof what, "double free of a %zu-byte block after 8 others", sizes[i]);
        expect_report(free_after_others, &l, what, "free", bits(l.victim), "double free");
        gl_free(l.victim);
        for (size_t k = 0; k < l.count; k++)
            gl_free(l.others[k]);
    }
}
END_TEST

static void free_flush_free_flush(void *p)
{
    gl_free(p);
    gl_thread_flush();
    gl_free(p);
    gl_thread_flush();
}

/* free(p) twice, then two allocations of the class hand p out twice, and
 * the program writes into it: no flush in between, so nothing is caught
 * before the thread cache is counted -- at the latest when the process
 * exits, where the list turns out longer than the frees that built it. */
static void double_free_reused_then_exit(void *p)
{
    gl_free(p);
    gl_free(p);
    char *a = gl_malloc(64), *b = gl_malloc(64);
    memset(a, 'x', 64);
    memset(b, 'y', 64);
    exit(0); /* the library's destructor flushes this thread's cache */
}

START_TEST(double_free_small_reused_before_exit)
{
    warm_up();
    void *p = gl_malloc(64);
    ck_assert_ptr_nonnull(p);
    struct child_end end;
    misuse_run_child(double_free_reused_then_exit, p, &end);
    ck_assert_msg(WIFSIGNALED(end.status) && WTERMSIG(end.status) == SIGABRT,
                  "expected SIGABRT at exit, got status %d, stderr \"%s\"", end.status, end.err);
    /* Either the second return of p to its slab ("double free") or the
     * list's broken link is found first, depending on what the writes hit. */
    ck_assert_msg(strncmp(end.err, "glweave: free(): ", 17) == 0
                      && (strstr(end.err, "double free") || strstr(end.err, "corrupted free list")),
                  "stderr \"%s\"", end.err);
    gl_free(p);
}
END_TEST

START_TEST(double_free_small_after_flush)
{
    warm_up();
    void *p = gl_malloc(200);
    ck_assert_ptr_nonnull(p);
    expect_report(free_flush_free_flush, p, "free, flush, free of a small block", "free", bits(p), "double free");
    gl_free(p);
}
END_TEST

/* The first free empties p's slab, and gl_trim gives the slab's pages
 * back (which forgets what was ever carved there); keeper, in another slab
 * of the same segment, keeps the segment mapped. */
static void free_trim_free(void *arg)
{
    void **blocks = arg;
    for (int i = 1; i < 8; i++)
        gl_free(blocks[i]);
    gl_thread_flush();
    gl_trim();
    gl_free(blocks[7]);
    gl_thread_flush();
}

START_TEST(double_free_small_after_trim)
{
    warm_up();
    void *blocks[8];
    for (int i = 0; i < 8; i++) {
        blocks[i] = gl_malloc(16 * KiB);
        ck_assert_ptr_nonnull(blocks[i]);
    }
    /* 16 KiB blocks: four to a 64 KiB slab */
    ck_assert_msg(bits(blocks[0]) >> 16 != bits(blocks[7]) >> 16, "blocks 0 and 7 share a slab");
    expect_report(free_trim_free, blocks, "free, gl_trim, free of a small block", "free", bits(blocks[7]),
                  "double free");
    for (int i = 0; i < 8; i++)
        gl_free(blocks[i]);
}
END_TEST

/* No explicit flush: the second free is found when the bin overflows. */
static void double_free_then_overflow(void *arg)
{
    void **blocks = arg;
    gl_free(blocks[0]);
    gl_free(blocks[0]);
    for (int i = 1; i < 400; i++)
        gl_free(blocks[i]);
    /* if a cache could hold them all, the report comes here */
    gl_thread_flush();
}

START_TEST(double_free_small_cache_overflow)
{
    warm_up();
    static void *blocks[400];
    for (int i = 0; i < 400; i++) {
        blocks[i] = gl_malloc(64);
        ck_assert_ptr_nonnull(blocks[i]);
    }
    expect_report(double_free_then_overflow, blocks, "double free found when the bin overflows", "free",
                  bits(blocks[0]), "double free");
    for (int i = 0; i < 400; i++)
        gl_free(blocks[i]);
}
END_TEST

static void *free_twice_in_thread(void *p)
{
    gl_free(p);
    gl_free(p);
    return NULL; /* a small block is checked when the exiting thread's cache is flushed */
}

static void double_free_then_thread_exit(void *p)
{
    pthread_t t;
    if (pthread_create(&t, NULL, free_twice_in_thread, p) == 0)
        pthread_join(t, NULL);
}

START_TEST(double_free_small_at_thread_exit)
{
    warm_up();
    void *p = gl_malloc(100);
    ck_assert_ptr_nonnull(p);
    expect_report(double_free_then_thread_exit, p, "double free found at thread exit", "free", bits(p),
                  "double free");
    gl_free(p);
}
END_TEST

static void *free_in_thread(void *p)
{
    gl_free(p);
    return NULL;
}

/* Freed here, then freed again by another thread (which exits, flushing
 * its cache).  The report comes from whichever free reaches the arena
 * second: the other thread's exit, or the flush after it. */
static void free_here_then_on_other_thread(void *p)
{
    gl_free(p);
    pthread_t t;
    if (pthread_create(&t, NULL, free_in_thread, p) == 0)
        pthread_join(t, NULL);
    gl_thread_flush();
}

/* The same, with the first free already back in the arena. */
static void free_flush_then_on_other_thread(void *p)
{
    gl_free(p);
    gl_thread_flush();
    pthread_t t;
    if (pthread_create(&t, NULL, free_in_thread, p) == 0)
        pthread_join(t, NULL);
}

START_TEST(double_free_on_other_thread)
{
    warm_up();
    static const size_t sizes[] = {24, 4000, 60000, 2 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        char what[96];
        snprintf(what, sizeof what, "%zu-byte block freed here and on another thread", sizes[i]);
        expect_report(free_here_then_on_other_thread, p, what, "free", bits(p), "double free");
        snprintf(what, sizeof what, "%zu-byte block freed, flushed, freed on another thread", sizes[i]);
        expect_report(free_flush_then_on_other_thread, p, what, "free", bits(p), "double free");
        gl_free(p);
    }
}
END_TEST

/* Large blocks in a row, a b c, then a fence that keeps c off the free
 * tail of the segment.  The large heap is first fit by address, so in a
 * test's own process they are neighbours. */
struct row {
    unsigned char *a, *b, *c, *fence;
};

static size_t footprint(const void *p) { return gl_usable_size(p) + 16; }

static struct row make_row(size_t size)
{
    struct row r = {gl_malloc(size), gl_malloc(size), gl_malloc(size), gl_malloc(size)};
    ck_assert_ptr_nonnull(r.a);
    ck_assert_ptr_nonnull(r.b);
    ck_assert_ptr_nonnull(r.c);
    ck_assert_ptr_nonnull(r.fence);
    ck_assert_msg(bits(r.b) == bits(r.a) + footprint(r.a) && bits(r.c) == bits(r.b) + footprint(r.b),
                  "large blocks %p %p %p are not neighbours", (void *)r.a, (void *)r.b, (void *)r.c);
    fill(r.a, gl_usable_size(r.a), 1);
    fill(r.b, gl_usable_size(r.b), 2);
    fill(r.c, gl_usable_size(r.c), 3);
    return r;
}

static void free_row(struct row *r)
{
    gl_free(r->a);
    gl_free(r->b);
    gl_free(r->c);
    gl_free(r->fence);
}

/* Which neighbours of b are free when b is freed twice. */
enum neighbours { NONE_FREE, PREV_FREE, NEXT_FREE, BOTH_FREE };

struct large_case {
    struct row row;
    enum neighbours free_ones;
};

static void free_b_twice(void *arg)
{
    struct large_case *lc = arg;
    if (lc->free_ones == PREV_FREE || lc->free_ones == BOTH_FREE)
        gl_free(lc->row.a);
    if (lc->free_ones == NEXT_FREE || lc->free_ones == BOTH_FREE)
        gl_free(lc->row.c);
    gl_free(lc->row.b); /* merges with the free neighbours */
    gl_free(lc->row.b);
}

START_TEST(double_free_large_merged)
{
    warm_up();
    static const char *names[] = {"no neighbour free", "the block before free", "the block after free",
                                  "both neighbours free"};
    static const size_t sizes[] = {16 * KiB + 1, 100000, MiB};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int n = NONE_FREE; n <= BOTH_FREE; n++) {
            struct large_case lc = {make_row(sizes[s]), (enum neighbours)n};
            char what[128];
            snprintf(what, sizeof what, "double free of a %zu-byte block, %s", sizes[s], names[n]);
            expect_report(free_b_twice, &lc, what, "free", bits(lc.row.b), "double free");
            free_row(&lc.row);
        }
    }
}
END_TEST

/* a and b freed (b merged into a), then a bigger block takes their place:
 * b's old header is now inside a block in use, and b is freed again. */
static void free_b_after_reuse(void *arg)
{
    struct row *r = arg;
    gl_free(r->a);
    gl_free(r->b);
    void *big = gl_malloc(gl_usable_size(r->c) + 64);
    if (big != r->a)
        _exit(3); /* the layout assumption failed: reported by the test */
    gl_free(r->b);
}

START_TEST(double_free_large_after_reuse)
{
    warm_up();
    struct row r = make_row(30000);
    expect_report(free_b_after_reuse, &r, "double free of a block whose place was reallocated", "free", bits(r.b),
                  "double free");
    free_row(&r);
}
END_TEST

/* The number of segments glweave has mapped (small, large and huge), or
 * SIZE_MAX if the statistics fail. */
static size_t segments_now(void)
{
    struct gl_stats st = {.version = GL_STATS_VERSION};
    return gl_stats_get(&st, sizeof st) == 0 ? st.segments : SIZE_MAX;
}

/* Returns a large block that is the only live block of its segment, in an
 * arena (this thread's) that already keeps a wholly free large segment:
 * freeing the block releases and unmaps its segment.  The largest large
 * size, so that a few blocks fill a segment.  Works whatever the heap
 * held before: blocks that land in old segments are freed again.  NULL if
 * that fails (no Check assertion: exec'd children use it too). */
static void *lone_large_block(void)
{
    enum { TRIES = 64 };
    void *others[TRIES];
    size_t count = 0;
    void *lone = NULL, *spare = NULL;
    gl_trim(); /* no wholly free segment is left anywhere */
    while (spare == NULL) {
        size_t before = segments_now();
        void *p = gl_malloc(MiB);
        if (p == NULL || before == SIZE_MAX || count == TRIES)
            return NULL;
        /* nothing fitted anywhere: p is the first block of a new segment */
        if (segments_now() == before + 1 && lone == NULL)
            lone = p;
        else if (segments_now() == before + 1)
            spare = p;
        else
            others[count++] = p;
    }
    gl_free(spare); /* its segment is now wholly free, and kept */
    for (size_t i = 0; i < count; i++)
        gl_free(others[i]); /* some may have landed in lone's segment */
    return lone;
}

START_TEST(double_free_large_segment_released)
{
    warm_up();
    void *p = lone_large_block();
    ck_assert_ptr_nonnull(p);
    /* The first free unmaps p's segment; the second finds no segment. */
    expect_report(free_twice_then_flush, p, "double free of the last block of a released segment", "free",
                  bits(p), "double free");
    gl_free(p);
}
END_TEST

/* ---------------------------------- a large block freed twice at once */

static long elapsed_ns(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

static void spin_ns(long ns)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (elapsed_ns(&start) < ns)
        ;
}

/* Two threads free victim at the same moment, each after its own delay
 * (the sweep of delays moves one free across the other's steps).  A third
 * keeps taking the arena's lock (gl_usable_size of keeper, a live large
 * block of the same arena), so that the second free often waits for the
 * lock after it looked the segment up, while the first unmaps it: without
 * that, the window is hit only when the second free's thread wakes up
 * late, which depends on the machine. */
struct free_race {
    void *victim, *keeper;
    long delay_ns[2]; /* [0]: the calling thread's, [1]: the other's */
    bool sized;       /* the other thread calls gl_free_sized */
    int ready, go, stop;
};

static void *race_lock_taker(void *arg)
{
    struct free_race *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
        (void)gl_usable_size(r->keeper);
    return NULL;
}

static void *race_other_thread(void *arg)
{
    struct free_race *r = arg;
    /* this thread's cache and its liburcu registration, before the race */
    gl_free(gl_malloc(64));
    (void)gl_usable_size(r->victim);
    __atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
        ;
    spin_ns(r->delay_ns[1]);
    if (r->sized)
        gl_free_sized(r->victim, MiB);
    else
        gl_free(r->victim);
    return NULL;
}

static void race_two_frees(void *arg)
{
    struct free_race *r = arg;
    pthread_t t, taker;
    if (pthread_create(&t, NULL, race_other_thread, r) != 0
        || pthread_create(&taker, NULL, race_lock_taker, r) != 0)
        _exit(4);
    while (!__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE))
        sched_yield();
    __atomic_store_n(&r->go, 1, __ATOMIC_RELEASE);
    spin_ns(r->delay_ns[0]);
    gl_free(r->victim);
    pthread_join(t, NULL);
    __atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
    pthread_join(taker, NULL);
}

/* Race number i: up to 4 us of delay on one side or the other (a free of
 * a large block whose segment is released takes about 10 us here); every
 * third race, one of the frees is gl_free_sized, which looks the block up
 * (as gl_usable_size does) before freeing it. */
static struct free_race race_number(void *victim, void *keeper, unsigned i)
{
    long delay = (long)(i / 2 * 97 % 4000);
    struct free_race r = {.victim = victim, .keeper = keeper, .sized = i % 3 == 2};
    r.delay_ns[i % 2] = delay;
    return r;
}

/* The race run in a fresh process (this program re-executed): there
 * liburcu is in use, while in a child forked from a process where glweave
 * runs, the registry's readers take its mutex instead.  The victim's
 * address comes first on stderr, then glweave's report. */
static int large_double_free_race_child(const char *number)
{
    void *keeper = gl_malloc(MiB); /* before: not in the victim's segment */
    void *victim = lone_large_block();
    if (keeper == NULL || victim == NULL)
        return 3;
    char line[64];
    int n = snprintf(line, sizeof line, "victim 0x%llx\n", (unsigned long long)bits(victim));
    if (write(2, line, (size_t)n) != n)
        return 5;
    struct free_race r = race_number(victim, keeper, (unsigned)strtoul(number, NULL, 10));
    race_two_frees(&r);
    return 0;
}

static char self_path[4096];

static void exec_race(void *arg)
{
    char number[24];
    snprintf(number, sizeof number, "%u", *(const unsigned *)arg);
    execl(self_path, self_path, "--large-double-free-race", number, (char *)NULL);
    _exit(127);
}

/* Every race must end in glweave's report of the second free, then
 * SIGABRT: never SIGSEGV (the segment unmapped under the second free),
 * nor another report.  The second free is free_sized's when that one
 * loses. */
static void expect_race_report(const struct child_end *end, const char *report, uintptr_t victim,
                               const char *what, unsigned i)
{
    char how[96], expected[128], sized[128];
    snprintf(expected, sizeof expected, "glweave: free(): invalid pointer 0x%llx (double free)\n",
             (unsigned long long)victim);
    snprintf(sized, sizeof sized, "glweave: free_sized(): invalid pointer 0x%llx (double free)\n",
             (unsigned long long)victim);
    bool sized_race = race_number(NULL, NULL, i).sized;
    ck_assert_msg(WIFSIGNALED(end->status) && WTERMSIG(end->status) == SIGABRT
                      && (strncmp(report, expected, strlen(expected)) == 0
                          || (sized_race && strncmp(report, sized, strlen(sized)) == 0)),
                  "%s, race %u: the child %s, stderr \"%s\"; expected SIGABRT after \"%s\"%s", what, i,
                  misuse_describe(end->status, how, sizeof how), end->err, expected,
                  sized_race ? " or its free_sized() twin" : "");
}

START_TEST(double_free_large_racing_release)
{
    warm_up();
    /* Each race frees the last block of a segment twice at once, in an
     * arena that keeps another free segment: the first free to get the
     * arena's lock releases the segment and unmaps it, and the second
     * must still be reported, whenever it comes.  About 1.5 s each way;
     * at least 20 races each way however slow the build. */
    const long budget_ns = 1500000000L;
    void *keeper = gl_malloc(MiB); /* before: not in the victim's segment */
    void *victim = lone_large_block();
    ck_assert_ptr_nonnull(keeper);
    ck_assert_ptr_nonnull(victim);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned forked = 0;
    while (forked < 20 || (forked < 2000 && elapsed_ns(&start) < budget_ns)) {
        struct free_race r = race_number(victim, keeper, forked);
        struct child_end end;
        misuse_run_child(race_two_frees, &r, &end);
        expect_race_report(&end, end.err, bits(victim), "forked child", forked);
        forked++;
    }
    gl_free(victim);
    gl_free(keeper);

    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned fresh = 0;
    while (fresh < 20 || (fresh < 1000 && elapsed_ns(&start) < budget_ns)) {
        struct child_end end;
        misuse_run_child(exec_race, &fresh, &end);
        ck_assert_msg(strncmp(end.err, "victim 0x", 9) == 0 && strchr(end.err, '\n') != NULL,
                      "re-executed child, race %u: no victim line; stderr \"%s\"", fresh, end.err);
        uintptr_t fresh_victim = (uintptr_t)strtoull(end.err + 9, NULL, 16);
        expect_race_report(&end, strchr(end.err, '\n') + 1, fresh_victim, "re-executed child", fresh);
        fresh++;
    }
}
END_TEST

static void free_then_realloc(void *p)
{
    gl_free(p);
    void *q = gl_realloc(p, 10);
    (void)q;
}

static void free_then_usable_size(void *p)
{
    gl_free(p);
    size_t n = gl_usable_size(p);
    (void)n;
}

START_TEST(use_after_free_big)
{
    warm_up();
    static const size_t sizes[] = {50000, 3 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct row r = make_row(50000);
        void *p = sizes[i] > MiB ? gl_malloc(sizes[i]) : r.b;
        ck_assert_ptr_nonnull(p);
        char what[96];
        snprintf(what, sizeof what, "gl_realloc of a freed %zu-byte block", sizes[i]);
        expect_report(free_then_realloc, p, what, "realloc", bits(p), "already freed");
        snprintf(what, sizeof what, "gl_usable_size of a freed %zu-byte block", sizes[i]);
        expect_report(free_then_usable_size, p, what, "malloc_usable_size", bits(p), "already freed");
        if (p != r.b)
            gl_free(p);
        free_row(&r);
    }
}
END_TEST

/* The small block just freed is its bin's first free block: realloc and
 * usable size compare it with the head and report at the call. */
START_TEST(use_after_free_small_first_in_cache)
{
    warm_up();
    static const size_t sizes[] = {48, 5000, 16 * KiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        char what[96];
        snprintf(what, sizeof what, "gl_realloc of a just freed %zu-byte block", sizes[i]);
        expect_report(free_then_realloc, p, what, "realloc", bits(p), "already freed");
        snprintf(what, sizeof what, "gl_usable_size of a just freed %zu-byte block", sizes[i]);
        expect_report(free_then_usable_size, p, what, "malloc_usable_size", bits(p), "already freed");
        gl_free(p);
    }
}
END_TEST

/* --------------------------------------- overflow into a large neighbour */

struct overflow {
    struct row row;
    size_t past_end;       /* bytes written beyond a's usable size */
    bool free_b_first;     /* b is free when a overflows */
    void (*then)(struct overflow *);
};

static void overflow_run(void *arg)
{
    struct overflow *o = arg;
    if (o->free_b_first)
        gl_free(o->row.b);
    memset(o->row.a, 'x', gl_usable_size(o->row.a) + o->past_end);
    o->then(o);
    _exit(0);
}

static void then_free_a(struct overflow *o) { gl_free(o->row.a); }
static void then_free_b(struct overflow *o) { gl_free(o->row.b); }
static void then_free_c(struct overflow *o) { gl_free(o->row.c); }
static void then_usable_b(struct overflow *o) { (void)gl_usable_size(o->row.b); }

static void then_realloc_a(struct overflow *o)
{
    void *q = gl_realloc(o->row.a, 80000);
    (void)q;
}

static void then_malloc(struct overflow *o)
{
    (void)o;
    void *q = gl_malloc(40000); /* the size of a, b and c */
    (void)q;
}

static void expect_overflow(size_t past_end, bool free_b_first, void (*then)(struct overflow *), const char *what,
                            const char *call, int reported)
{
    struct overflow o = {make_row(40000), past_end, free_b_first, then};
    unsigned char *named[] = {o.row.a, o.row.b, o.row.c};
    expect_report(overflow_run, &o, what, call, bits(named[reported]), "heap corruption");
    free_row(&o.row);
}

START_TEST(overflow_into_neighbour)
{
    warm_up();
    /* b in use; a writes over b's guard (8 bytes) or b's whole header */
    expect_overflow(8, false, then_free_b, "b's guard overwritten, b freed", "free", 1);
    expect_overflow(16, false, then_free_b, "b's header overwritten, b freed", "free", 1);
    expect_overflow(16, false, then_free_a, "b's header overwritten, a (the culprit) freed", "free", 0);
    expect_overflow(16, false, then_realloc_a, "b's header overwritten, a grown by realloc", "realloc", 0);
    expect_overflow(16, false, then_usable_b, "b's header overwritten, gl_usable_size(b)", "malloc_usable_size",
                    1);
    /* b free: a writes over its header and index entry, then a is freed
     * (merging with b) or c is (merging with b from the other side) */
    expect_overflow(16, true, then_free_a, "free b's header overwritten, a freed", "free", 0);
    expect_overflow(48, true, then_free_a, "free b's header and index entry overwritten, a freed", "free", 0);
    expect_overflow(16, true, then_free_c, "free b's header overwritten, c freed", "free", 2);
    /* ... or an allocation takes b's place (first fit: b is the lowest
     * free block that fits) */
    expect_overflow(16, true, then_malloc, "free b's header overwritten, then malloc", "malloc", 1);
}
END_TEST

/* ------------------------------------------------------- write after free */

static void write_after_free(void *p)
{
    gl_free(p);
    memset(p, 'A', 16); /* the free-list link lives in the first 8 bytes */
    for (int i = 0; i < 3; i++) {
        void *q = gl_malloc(48);
        (void)q;
    }
}

/* Expected to pass only after main's encoded free lists (lib/freelist.h):
 * today the third gl_malloc follows the link 0x4141414141414141 and dies
 * of SIGSEGV. */
START_TEST(write_after_free_small)
{
    warm_up();
    void *p = gl_malloc(48);
    ck_assert_ptr_nonnull(p);
    struct child_end end;
    char how[96];
    misuse_run_child(write_after_free, p, &end);
    ck_assert_msg(WIFSIGNALED(end.status) && WTERMSIG(end.status) == SIGABRT,
                  "write after free: expected a report and SIGABRT; the child %s, stderr \"%s\"",
                  misuse_describe(end.status, how, sizeof how), end.err);
    ck_assert_msg(strncmp(end.err, "glweave: malloc(): ", 19) == 0 && strstr(end.err, "corrupted") != NULL,
                  "write after free: stderr \"%s\" is not \"glweave: malloc(): ...corrupted...\"", end.err);
    gl_free(p);
}
END_TEST

/* ------------------------------------------------------ report and leak */

/* Run in a fresh process (this program re-executed with
 * GLWEAVE_OPTIONS=abort_on_error=0): misuses the allocator in every way
 * that is found on a slow path, checks that the program goes on, that live
 * blocks keep their contents and that new blocks overlap nothing.  Exits
 * 0 when all is well, or with a code saying which check failed. */

struct live {
    unsigned char *p;
    size_t size;
    unsigned char seed;
};

static bool intact(const struct live *l)
{
    for (size_t i = 0; i < l->size; i++)
        if (l->p[i] != (unsigned char)(l->seed + i * 7))
            return false;
    return true;
}

static int by_address(const void *x, const void *y)
{
    const struct live *a = x, *b = y;
    return a->p < b->p ? -1 : a->p > b->p;
}

static int report_and_leak_child(void)
{
    enum { LIVE = 600 };
    static struct live live[LIVE];
    size_t n = 0;
    static const size_t sizes[] = {24, 100, 1000, 5000, 20000, 100000, 3 * MiB};
    for (size_t i = 0; i < 7; i++, n++) {
        live[n] = (struct live){gl_malloc(sizes[i]), sizes[i], (unsigned char)n};
        fill(live[n].p, sizes[i], live[n].seed);
    }
    _Alignas(16) unsigned char local[64];
    void *glibc = malloc(64);
    long page = sysconf(_SC_PAGESIZE);
    void *gone = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, (size_t)page);

    gl_free(local);                                   /* 1 */
    gl_free(global_block);                            /* 2 */
    gl_free(glibc);                                   /* 3 */
    gl_free(gone);                                    /* 4 */
    gl_free((void *)(uintptr_t)0xdeadbeef);           /* 5 */
    if (gl_realloc(local, 100) != NULL)               /* 6 */
        return 10;
    if (gl_usable_size(global_block) != 0)            /* 7 */
        return 11;
    gl_free(live[5].p + 16);                          /* 8: interior, large */
    gl_free(live[6].p + 4096);                        /* 9: interior, huge */
    void *large = gl_malloc(50000);
    gl_free(large);
    gl_free(large);                                   /* 10: double free, large */
    void *huge = gl_malloc(2 * MiB);
    gl_free(huge);
    gl_free(huge);                                    /* 11: double free, huge */
    void *small = gl_malloc(64);
    gl_free(small);
    gl_thread_flush();
    gl_free(small);
    gl_thread_flush();                                /* 12: double free, small, after a flush */
    /* an interior small pointer: the cache stores its link at the pointer,
     * inside the block, before anything can check it, so this block's
     * contents are not checked afterwards */
    unsigned char *victim = gl_malloc(64);
    gl_free(victim + 16);
    gl_thread_flush();                                /* 13: interior, small */
    free(glibc);

    for (size_t i = 0; i < n; i++)
        if (!intact(&live[i]))
            return 20 + (int)i;
    /* the allocator still works: new blocks hold their contents and
     * overlap neither each other nor the live ones (nor the leaked one) */
    live[n++] = (struct live){victim, 64, 0};
    for (unsigned i = 0; n < LIVE; i++, n++) {
        size_t size = i % 64 == 0 ? 2 * MiB : (size_t[]){16, 48, 64, 700, 4096, 30000, 200000}[i % 7];
        live[n] = (struct live){gl_malloc(size), size, (unsigned char)(n * 13)};
        if (live[n].p == NULL)
            return 30;
        fill(live[n].p, size, live[n].seed);
    }
    for (size_t i = 8; i < n; i++)
        if (!intact(&live[i]))
            return 31;
    qsort(live, n, sizeof live[0], by_address);
    for (size_t i = 1; i < n; i++)
        if (live[i - 1].p + live[i - 1].size > live[i].p)
            return 32;
    for (size_t i = 0; i < n; i++)
        if (live[i].p != victim)
            gl_free(live[i].p);
    gl_thread_flush();
    return 0;
}

static void exec_report_and_leak(void *unused)
{
    (void)unused;
    setenv("GLWEAVE_OPTIONS", "abort_on_error=0", 1);
    execl(self_path, self_path, "--report-and-leak", (char *)NULL);
    _exit(127);
}

static size_t count_lines_with(const char *text, const char *what)
{
    size_t count = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hit = strstr(line, what);
        if (hit != NULL && hit < line + len)
            count++;
        line += len + (end != NULL);
    }
    return count;
}

START_TEST(report_and_leak)
{
    struct child_end end;
    char how[96];
    misuse_run_child(exec_report_and_leak, NULL, &end);
    ck_assert_msg(WIFEXITED(end.status) && WEXITSTATUS(end.status) == 0,
                  "abort_on_error=0: the program %s (see report_and_leak_child for the codes), stderr \"%s\"",
                  misuse_describe(end.status, how, sizeof how), end.err);
    static const struct {
        const char *text;
        size_t count;
    } expected[] = {
        {"glweave: free(): invalid pointer 0x", 11},
        {"glweave: realloc(): invalid pointer 0x", 1},
        {"glweave: malloc_usable_size(): invalid pointer 0x", 1},
        {"(not allocated by glweave)", 7},
        {"(not the start of a block)", 3},
        {"(double free)", 3},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        ck_assert_msg(count_lines_with(end.err, expected[i].text) == expected[i].count,
                      "abort_on_error=0: %zu lines with \"%s\", expected %zu; stderr \"%s\"",
                      count_lines_with(end.err, expected[i].text), expected[i].text, expected[i].count, end.err);
    ck_assert_msg(count_lines_with(end.err, "glweave: ") == 13, "abort_on_error=0: 13 reports expected: \"%s\"",
                  end.err);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc;

    tc = tcase_create("foreign_and_wild");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, foreign_stack);
    tcase_add_test(tc, foreign_global);
    tcase_add_test(tc, foreign_glibc_malloc);
    tcase_add_test(tc, wild_unmapped_page);
    tcase_add_test(tc, wild_deadbeef);
    tcase_add_test(tc, wild_non_canonical_realloc_usable);
    suite_add_tcase(s, tc);

    /* fails on the x86_64 assembly build until main's fast-path fix */
    tc = tcase_create("wild_non_canonical_free");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, wild_non_canonical_free);
    suite_add_tcase(s, tc);

    tc = tcase_create("interior");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, interior_small);
    tcase_add_test(tc, interior_large);
    tcase_add_test(tc, interior_huge);
    suite_add_tcase(s, tc);

    tc = tcase_create("double_free");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, double_free_at_once);
    tcase_add_test(tc, double_free_after_other_frees);
    tcase_add_test(tc, double_free_small_after_flush);
    tcase_add_test(tc, double_free_small_after_trim);
    tcase_add_test(tc, double_free_small_cache_overflow);
    tcase_add_test(tc, double_free_small_at_thread_exit);
    tcase_add_test(tc, double_free_small_reused_before_exit);
    tcase_add_test(tc, double_free_on_other_thread);
    tcase_add_test(tc, double_free_large_merged);
    tcase_add_test(tc, double_free_large_after_reuse);
    tcase_add_test(tc, double_free_large_segment_released);
    tcase_add_test(tc, use_after_free_big);
    tcase_add_test(tc, use_after_free_small_first_in_cache);
    suite_add_tcase(s, tc);

    /* about 3 s: races in forked and in re-executed children */
    tc = tcase_create("double_free_race");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, double_free_large_racing_release);
    suite_add_tcase(s, tc);

    tc = tcase_create("overflow");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, overflow_into_neighbour);
    suite_add_tcase(s, tc);

    tc = tcase_create("report_and_leak");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, report_and_leak);
    suite_add_tcase(s, tc);

    /* expected to pass only after main's encoded free lists */
    tc = tcase_create("write_after_free");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, write_after_free_small);
    suite_add_tcase(s, tc);

    return s;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--report-and-leak") == 0)
        return report_and_leak_child();
    if (argc == 3 && strcmp(argv[1], "--large-double-free-race") == 0)
        return large_double_free_race_child(argv[2]);
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len <= 0)
        return EXIT_FAILURE;
    self_path[len] = '\0';
    SRunner *sr = srunner_create(misuse_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
