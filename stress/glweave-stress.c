/* glweave-stress.c -- the stress suite: many threads allocate, fill, verify,
 * hand over and free blocks through the public API only, while threads start
 * and die, the process forks, and a phase runs under a tight address-space
 * limit.  Every byte of every block is checked before it is reallocated or
 * freed, so corruption cannot hide.  It uses <glweave.h> and pthreads and
 * nothing behind them; its own bookkeeping lives in the C library's heap so
 * that an allocator bug cannot corrupt the checker.
 *
 * On any mismatch it prints the block, the offset, the expected and found
 * byte and the seed to replay, and exits 1.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <glweave.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/* Exit statuses. */
#define EXIT_PASS 0
#define EXIT_MISMATCH 1 /* a check failed: the allocator (or the suite) is wrong */
#define EXIT_USAGE 2

/* ------------------------------------------------------------ options */

enum workload {
    W_MIXED = 1 << 0,   /* workers: every API function on random slots */
    W_HANDOFF = 1 << 1, /* workers pass blocks to each other to be freed */
    W_CHURN = 1 << 2,   /* short-lived threads; workers retire and are replaced */
    W_FORK = 1 << 3,    /* the process forks while workers run */
    W_RLIMIT = 1 << 4,  /* a phase under a tight RLIMIT_AS */
    W_TRIM = 1 << 5,    /* gl_trim and every statistics call, while threads run */
    W_ALL = (1 << 6) - 1
};

static const struct {
    const char *name;
    unsigned bit;
} workload_names[] = {
    {"mixed", W_MIXED}, {"handoff", W_HANDOFF}, {"churn", W_CHURN},
    {"fork", W_FORK},   {"rlimit", W_RLIMIT}, {"trim", W_TRIM},
};
#define WORKLOAD_COUNT (sizeof workload_names / sizeof workload_names[0])

static struct config {
    unsigned threads;
    double seconds;          /* 0: no time limit (then ops bounds the run) */
    unsigned long long ops;  /* per worker; 0: no op limit */
    uint64_t seed;
    size_t min_size, max_size;
    unsigned workloads;
    unsigned slots;          /* live blocks per worker */
    double fork_interval;    /* seconds between forks */
    size_t rlimit_headroom;  /* bytes above the current VmSize */
    double watchdog;         /* seconds without progress before giving up */
    unsigned long long inject_after; /* self-test: corrupt a block after N ops */
    bool self_test;
    bool verbose;
} cfg = {
    .threads = 8,
    .seconds = -1,
    .min_size = 0,
    .max_size = 4 * MiB,
    .workloads = W_ALL,
    .slots = 256,
    .fork_interval = 1.0,
    .rlimit_headroom = 64 * MiB,
    .watchdog = 120,
};

static const char *program_name = "glweave-stress";
static char replay_options[512];

/* ------------------------------------------------------- small helpers */

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rng_next(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ull;
    return mix64(*state);
}

static inline uint64_t rng_below(uint64_t *state, uint64_t n)
{
    return n ? rng_next(state) % n : 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static size_t min_size_t(size_t a, size_t b) { return a < b ? a : b; }
static size_t max_size_t(size_t a, size_t b) { return a > b ? a : b; }

/* --------------------------------------------------- failing, loudly */

/* The first thread to fail prints; any other failing thread waits for the
 * process to end, so that reports never interleave. */
static int failing;

static void print_replay(void)
{
    fprintf(stderr, "%s: seed=0x%016" PRIx64 "\n", program_name, cfg.seed);
    fprintf(stderr, "%s: replay with: %s %s\n", program_name, program_name, replay_options);
}

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *format, ...)
{
    if (__atomic_exchange_n(&failing, 1, __ATOMIC_ACQ_REL)) {
        for (;;)
            pause();
    }
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s: FAILED: ", program_name);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    print_replay();
    fflush(stdout);
    fflush(stderr);
    _exit(EXIT_MISMATCH);
}

/* -------------------------------------------------------- the pattern */

/* Byte i of a block is byte (i % 8) in memory of pattern_word(seed, i / 8):
 * the pattern depends on the block's seed and the offset only, never on the
 * block's current address, so contents that realloc carries to a new
 * address are checked against the same bytes. */
static inline uint64_t pattern_word(uint64_t seed, size_t index)
{
    return mix64(seed + ((uint64_t)index + 1) * 0x9e3779b97f4a7c15ull);
}

static inline unsigned pattern_byte(uint64_t seed, size_t offset)
{
    uint64_t word = pattern_word(seed, offset >> 3);
    unsigned char bytes[8];
    memcpy(bytes, &word, 8);
    return bytes[offset & 7];
}

static void pattern_fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    size_t i = from;
    for (; i < to && (i & 7) != 0; i++)
        p[i] = (unsigned char)pattern_byte(seed, i);
    for (; i + 8 <= to; i += 8) {
        uint64_t word = pattern_word(seed, i >> 3);
        memcpy(p + i, &word, 8);
    }
    for (; i < to; i++)
        p[i] = (unsigned char)pattern_byte(seed, i);
}

struct mismatch {
    size_t offset;      /* first byte that differs */
    unsigned expected, found;
    size_t differing;   /* bytes that differ in the checked range */
    size_t from, to;    /* the checked range */
};

static size_t count_differing(const unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++)
        n += p[i] != pattern_byte(seed, i);
    return n;
}

/* True when p[from, to) holds the pattern of seed; else fills *m. */
static bool pattern_check(const unsigned char *p, size_t from, size_t to, uint64_t seed,
                          struct mismatch *m)
{
    size_t i = from, bad = SIZE_MAX;
    for (; i < to && (i & 7) != 0; i++)
        if (p[i] != pattern_byte(seed, i)) {
            bad = i;
            goto found;
        }
    for (; i + 8 <= to; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        if (word != pattern_word(seed, i >> 3)) {
            for (size_t j = i; j < i + 8; j++)
                if (p[j] != pattern_byte(seed, j)) {
                    bad = j;
                    goto found;
                }
        }
    }
    for (; i < to; i++)
        if (p[i] != pattern_byte(seed, i)) {
            bad = i;
            goto found;
        }
    return true;
found:
    m->offset = bad;
    m->expected = pattern_byte(seed, bad);
    m->found = p[bad];
    m->differing = count_differing(p, bad, to, seed);
    m->from = from;
    m->to = to;
    return false;
}

/* True when p[0, n) is all zero; else fills *m (expected byte 0). */
static bool zero_check(const unsigned char *p, size_t n, struct mismatch *m)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) {
            size_t differing = 0;
            for (size_t j = i; j < n; j++)
                differing += p[j] != 0;
            *m = (struct mismatch){i, 0, p[i], differing, 0, n};
            return false;
        }
    return true;
}

/* ---------------------------------------------------------- blocks */

enum alloc_kind {
    K_MALLOC,
    K_CALLOC,
    K_ALIGNED_ALLOC,
    K_POSIX_MEMALIGN,
    K_REALLOC_NULL,
    K_REALLOCARRAY_NULL,
    K_COUNT
};

static const char *const kind_names[K_COUNT] = {
    "gl_malloc", "gl_calloc", "gl_aligned_alloc", "gl_posix_memalign",
    "gl_realloc(NULL)", "gl_reallocarray(NULL)",
};

enum free_kind { F_FREE, F_FREE_SIZED, F_REALLOC_ZERO, F_REALLOCARRAY_ZERO, F_COUNT };

static const char *const free_names[F_COUNT] = {
    "gl_free", "gl_free_sized", "gl_realloc(p, 0)", "gl_reallocarray(p, 0)",
};

/* A live block and everything needed to check it. */
struct block {
    unsigned char *p;   /* NULL: the slot is empty */
    size_t size;        /* bytes asked for */
    size_t usable;      /* gl_usable_size() when last set */
    size_t align;       /* alignment the address must have (16 at least) */
    uint64_t id;        /* unique: allocating thread's serial and a count */
    uint64_t seed;      /* the pattern seed, fixed for the block's life */
    uint32_t owner;     /* serial of the thread that allocated it */
    uint16_t kind;      /* enum alloc_kind */
    uint16_t reallocs;  /* times it was resized */
};

struct counters {
    unsigned long long ops;
    unsigned long long allocs[K_COUNT];
    unsigned long long frees[F_COUNT];
    unsigned long long remote_frees; /* freed by a thread other than the allocator */
    unsigned long long reallocs, reallocs_moved;
    unsigned long long handoffs;
    unsigned long long calloc_zero_checks;
    unsigned long long huge_allocs;
    unsigned long long bytes_checked;
    unsigned long long threads_started;
    unsigned long long forks;
    unsigned long long enomem;       /* expected ENOMEM (address-space limit phase) */
    unsigned long long trims;        /* gl_trim calls while threads run */
    unsigned long long stats_reads;  /* full statistics reads while threads run */
};

static struct counters totals;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;

static void counters_add(struct counters *into, const struct counters *from)
{
    const unsigned long long *src = (const unsigned long long *)from;
    unsigned long long *dst = (unsigned long long *)into;
    for (size_t i = 0; i < sizeof *from / sizeof *src; i++)
        dst[i] += src[i];
}

static void counters_merge(struct counters *local)
{
    pthread_mutex_lock(&totals_lock);
    counters_add(&totals, local);
    pthread_mutex_unlock(&totals_lock);
    memset(local, 0, sizeof *local);
}

/* Per thread: identity, random state, counters. */
struct tctx {
    uint32_t serial;
    uint64_t rng;
    uint64_t next_id;
    const char *role;
    size_t size_cap;   /* largest request this thread makes (see worker_main) */
    struct counters c;
};

static uint32_t next_serial;

static void tctx_init(struct tctx *t, const char *role)
{
    memset(t, 0, sizeof *t);
    t->serial = __atomic_add_fetch(&next_serial, 1, __ATOMIC_RELAXED);
    t->rng = mix64(cfg.seed ^ ((uint64_t)t->serial * 0xd1b54a32d192ed03ull));
    t->role = role;
    t->size_cap = SIZE_MAX;
}

/* Usable bytes of every block the suite holds, to compare with the
 * allocator's own count when nothing runs. */
static long long live_bytes;
/* Bumped as work gets done; the watchdog checks that it moves. */
static unsigned long long progress;
static const char *phase_name = "start"; /* read by the watchdog */

static void set_phase(const char *name)
{
    __atomic_store_n(&phase_name, name, __ATOMIC_RELAXED);
}

static inline void live_bytes_add(long long delta)
{
    __atomic_add_fetch(&live_bytes, delta, __ATOMIC_RELAXED);
}

static inline void progress_tick(void)
{
    __atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
}

static __attribute__((noreturn)) void die_mismatch(const struct tctx *t, const struct block *b,
                                                   const struct mismatch *m, const char *what)
{
    char context[512];
    size_t n = 0;
    size_t start = m->offset >= 8 ? m->offset - 8 : 0;
    size_t end = min_size_t(m->offset + 8, m->to);
    n += (size_t)snprintf(context + n, sizeof context - n, "bytes %zu..%zu found:   ", start,
                          end);
    for (size_t i = start; i < end; i++)
        n += (size_t)snprintf(context + n, sizeof context - n, " %02x", b->p[i]);
    n += (size_t)snprintf(context + n, sizeof context - n, "\n  bytes %zu..%zu expected:", start,
                          end);
    for (size_t i = start; i < end; i++)
        n += (size_t)snprintf(context + n, sizeof context - n, " %02x",
                              b->seed ? pattern_byte(b->seed, i) : 0);
    die("MISMATCH in block #%" PRIx64 " offset %zu: expected 0x%02x, found 0x%02x "
        "(%s; %zu of the bytes %zu..%zu differ)\n"
        "  block #%" PRIx64 ": %p, size %zu, usable %zu, alignment %zu, allocated by "
        "thread %" PRIu32 " with %s, resized %u times; checked by thread %" PRIu32
        " (%s)\n  %s",
        b->id, m->offset, m->expected, m->found, what, m->differing, m->offset, m->to,
        b->id, (void *)b->p, b->size, b->usable, b->align, b->owner, kind_names[b->kind],
        (unsigned)b->reallocs, t->serial, t->role, context);
}

static void check_address(const struct tctx *t, const struct block *b, const char *what)
{
    uintptr_t address = (uintptr_t)b->p;
    if (address % 16 != 0 || address % b->align != 0)
        die("block #%" PRIx64 " at %p (%s, size %zu) is not aligned to %zu (%s)", b->id,
            (void *)b->p, kind_names[b->kind], b->size, b->align, what);
    (void)t;
}

/* Checks a live block's address, usable size and every byte. */
static void block_verify(struct tctx *t, const struct block *b, const char *what)
{
    check_address(t, b, what);
    size_t usable = gl_usable_size(b->p);
    if (usable != b->usable)
        die("block #%" PRIx64 " at %p (size %zu): gl_usable_size was %zu, is now %zu (%s)",
            b->id, (void *)b->p, b->size, b->usable, usable, what);
    struct mismatch m;
    if (!pattern_check(b->p, 0, b->usable, b->seed, &m))
        die_mismatch(t, b, &m, what);
    t->c.bytes_checked += b->usable;
}

/* ------------------------------------------------- random choices */

static unsigned bit_length(size_t v)
{
    return v ? (unsigned)(64 - __builtin_clzll((unsigned long long)v)) : 0;
}

/* Log-uniform in [lo, hi]: as many draws of each bit length. */
static size_t log_uniform(struct tctx *t, size_t lo, size_t hi)
{
    if (lo >= hi)
        return lo;
    unsigned a = bit_length(lo), b = bit_length(hi);
    unsigned bits = a + (unsigned)rng_below(&t->rng, b - a + 1);
    size_t low = bits ? (size_t)1 << (bits - 1) : 0;
    size_t high = bits >= 64 ? SIZE_MAX : ((size_t)1 << bits) - 1;
    low = max_size_t(low, lo);
    high = min_size_t(high, hi);
    return low + (size_t)rng_below(&t->rng, (uint64_t)(high - low) + 1);
}

/* A request size: mostly small, some large, a few huge, and now and then
 * one on the edges of the allocator's size ranges. */
static size_t random_size(struct tctx *t)
{
    static const size_t edges[] = {
        0, 1, 15, 16, 17, 127, 128, 129, 1023, 1024, 1025, 16383, 16384, 16385,
        65536, 262144, 1048560, 1048576, 1048577, 4194304 - 64, 4194304,
    };
    size_t top = min_size_t(cfg.max_size, t->size_cap);
    unsigned r = (unsigned)rng_below(&t->rng, 1000);
    if (r < 20) {
        size_t s = edges[rng_below(&t->rng, sizeof edges / sizeof edges[0])];
        if (s >= cfg.min_size && s <= top)
            return s;
    }
    size_t lo, hi;
    if (r < 720) {
        lo = 1, hi = 1 * KiB;
    } else if (r < 940) {
        lo = 1 * KiB, hi = 16 * KiB;
    } else if (r < 995) {
        lo = 16 * KiB, hi = 1 * MiB;
    } else {
        lo = 1 * MiB, hi = cfg.max_size;
    }
    lo = max_size_t(lo, max_size_t(cfg.min_size, 1));
    hi = min_size_t(hi, top);
    if (lo > hi) {
        lo = max_size_t(cfg.min_size, 1);
        hi = top;
    }
    if (lo > hi) /* min = max = 0 */
        return top;
    return log_uniform(t, lo, hi);
}

static size_t random_alignment(struct tctx *t, size_t size)
{
    unsigned r = (unsigned)rng_below(&t->rng, 1000);
    if (r < 850)
        return (size_t)1 << rng_below(&t->rng, 13); /* 1 .. 4 KiB */
    if (r < 985 || size < 64 * KiB)
        return (size_t)1 << (13 + rng_below(&t->rng, 4)); /* 8 .. 64 KiB */
    return (size_t)1 << (17 + rng_below(&t->rng, 6)); /* 128 KiB .. 4 MiB */
}

/* Splits size into n * m for calloc and reallocarray. */
static void random_factors(struct tctx *t, size_t size, size_t *n, size_t *m)
{
    static const size_t divisors[] = {1, 2, 3, 4, 5, 8, 16, 24};
    if (size == 0) {
        *n = rng_below(&t->rng, 2) ? 0 : 1 + rng_below(&t->rng, 100);
        *m = *n ? 0 : 1 + rng_below(&t->rng, 100);
        return;
    }
    size_t d = 1;
    for (int tries = 0; tries < 4; tries++) {
        size_t c = divisors[rng_below(&t->rng, sizeof divisors / sizeof divisors[0])];
        if (size % c == 0) {
            d = c;
            break;
        }
    }
    if (rng_below(&t->rng, 2)) {
        *n = d;
        *m = size / d;
    } else {
        *n = size / d;
        *m = d;
    }
}

static int random_kind(struct tctx *t)
{
    unsigned r = (unsigned)rng_below(&t->rng, 100);
    if (r < 40)
        return K_MALLOC;
    if (r < 55)
        return K_CALLOC;
    if (r < 67)
        return K_ALIGNED_ALLOC;
    if (r < 79)
        return K_POSIX_MEMALIGN;
    if (r < 92)
        return K_REALLOC_NULL;
    return K_REALLOCARRAY_NULL;
}

/* ----------------------------------------------- block operations */

static uint64_t block_seed(uint64_t id, size_t size, const void *address)
{
    return mix64(cfg.seed ^ mix64(id) ^ mix64((uint64_t)size * 31 + (uintptr_t)address));
}

/* The sentinel stored in the result of a posix_memalign that must fail. */
#define UNTOUCHED ((void *)(uintptr_t)0x5eed)

/* Allocates size bytes with the API function kind (or a random one when kind
 * is negative), checks the block and fills it.  Returns false only when the
 * allocation failed with ENOMEM and may_fail; anything else wrong is fatal. */
static bool block_alloc(struct tctx *t, struct block *b, size_t size, int kind, bool may_fail)
{
    if (kind < 0)
        kind = random_kind(t);
    size_t align = 16, n = 0, m = 0;
    void *p = NULL;
    int error = 0;
    errno = 0;
    switch (kind) {
    case K_MALLOC:
        p = gl_malloc(size);
        error = errno;
        break;
    case K_CALLOC:
        random_factors(t, size, &n, &m);
        p = gl_calloc(n, m);
        error = errno;
        break;
    case K_ALIGNED_ALLOC:
        align = random_alignment(t, size);
        p = gl_aligned_alloc(align, size);
        error = errno;
        break;
    case K_POSIX_MEMALIGN: {
        align = max_size_t(random_alignment(t, size), sizeof(void *));
        p = UNTOUCHED;
        errno = EDOM;
        int rc = gl_posix_memalign(&p, align, size);
        if (errno != EDOM)
            die("gl_posix_memalign(%zu, %zu) changed errno to %d", align, size, errno);
        if (rc != 0) {
            if (p != UNTOUCHED)
                die("gl_posix_memalign(%zu, %zu) failed with %d but wrote %p to *memptr",
                    align, size, rc, p);
            p = NULL;
            error = rc;
        } else if (p == NULL || p == UNTOUCHED) {
            die("gl_posix_memalign(%zu, %zu) returned 0 and stored %p", align, size, p);
        }
        break;
    }
    case K_REALLOC_NULL:
        p = gl_realloc(NULL, size);
        error = errno;
        break;
    case K_REALLOCARRAY_NULL:
        random_factors(t, size, &n, &m);
        p = gl_reallocarray(NULL, n, m);
        error = errno;
        break;
    }
    if (p == NULL) {
        if (error != ENOMEM)
            die("%s of %zu bytes (alignment %zu) returned NULL with errno %d (%s); "
                "expected a block or ENOMEM",
                kind_names[kind], size, align, error, strerror(error));
        if (!may_fail)
            die("%s of %zu bytes (alignment %zu) failed with ENOMEM outside the "
                "address-space limit phase", kind_names[kind], size, align);
        t->c.enomem++;
        return false;
    }
    memset(b, 0, sizeof *b);
    b->p = p;
    b->size = size;
    b->align = max_size_t(align, 16);
    b->id = ((uint64_t)t->serial << 40) | t->next_id++;
    b->owner = t->serial;
    b->kind = (uint16_t)kind;
    check_address(t, b, "after allocation");
    b->usable = gl_usable_size(p);
    if (b->usable < size)
        die("%s(%zu) gave %p with gl_usable_size %zu, less than asked", kind_names[kind],
            size, p, b->usable);
    if (kind == K_CALLOC) {
        struct mismatch mm;
        if (!zero_check(b->p, size, &mm)) {
            b->seed = 0;
            die_mismatch(t, b, &mm, "gl_calloc block not zero before filling");
        }
        t->c.calloc_zero_checks++;
    }
    b->seed = block_seed(b->id, size, p);
    pattern_fill(b->p, 0, b->usable, b->seed);
    live_bytes_add((long long)b->usable);
    t->c.allocs[kind]++;
    if (size > 1 * MiB)
        t->c.huge_allocs++;
    return true;
}

/* Verifies a block and frees it with a random API function. */
static void block_free(struct tctx *t, struct block *b)
{
    block_verify(t, b, "before free");
    live_bytes_add(-(long long)b->usable);
    unsigned r = (unsigned)rng_below(&t->rng, 100);
    enum free_kind how;
    if (r < 60) {
        how = F_FREE;
        gl_free(b->p);
    } else if (r < 85) {
        how = F_FREE_SIZED;
        /* Any size from the one asked for up to the usable size is valid. */
        size_t n = b->size + (size_t)rng_below(&t->rng, b->usable - b->size + 1);
        gl_free_sized(b->p, n);
    } else if (r < 95) {
        how = F_REALLOC_ZERO;
        void *q = gl_realloc(b->p, 0);
        if (q != NULL)
            die("gl_realloc(%p, 0) returned %p; documented to free and return NULL",
                (void *)b->p, q);
    } else {
        how = F_REALLOCARRAY_ZERO;
        bool first = rng_below(&t->rng, 2);
        void *q = gl_reallocarray(b->p, first ? 0 : 7, first ? 7 : 0);
        if (q != NULL)
            die("gl_reallocarray(%p, 0 product) returned %p; documented to free and "
                "return NULL", (void *)b->p, q);
    }
    t->c.frees[how]++;
    if (b->owner != t->serial)
        t->c.remote_frees++;
    b->p = NULL;
}

/* Self-test hook: damage the first realloc'd block the way a realloc that
 * copies one byte short would. */
static bool self_test_short_copy;

/* Resizes a block to new_size (> 0): verifies it before, checks that the
 * common prefix was carried over, then fills the rest.  Returns false only
 * when it failed with ENOMEM and may_fail (the block is then checked to be
 * untouched); anything else wrong is fatal. */
static bool block_realloc(struct tctx *t, struct block *b, size_t new_size, bool may_fail)
{
    block_verify(t, b, "before realloc");
    unsigned char *old = b->p;
    size_t n, m;
    bool as_array = rng_below(&t->rng, 5) == 0;
    void *q;
    errno = 0;
    if (as_array) {
        random_factors(t, new_size, &n, &m);
        q = gl_reallocarray(old, n, m);
    } else {
        q = gl_realloc(old, new_size);
    }
    int error = errno;
    const char *call = as_array ? "gl_reallocarray" : "gl_realloc";
    if (q == NULL) {
        if (error != ENOMEM)
            die("%s(%p, %zu) returned NULL with errno %d (%s)", call, (void *)old, new_size,
                error, strerror(error));
        if (!may_fail)
            die("%s(%p, %zu) failed with ENOMEM outside the address-space limit phase",
                call, (void *)old, new_size);
        block_verify(t, b, "after a failed realloc (the block must be untouched)");
        t->c.enomem++;
        return false;
    }
    struct block nb = *b;
    nb.p = q;
    if (q != old)
        nb.align = 16; /* realloc keeps alignment only in place */
    nb.size = new_size;
    check_address(t, &nb, "after realloc");
    nb.usable = gl_usable_size(q);
    if (nb.usable < new_size)
        die("%s(%p, %zu) gave %p with gl_usable_size %zu, less than asked", call,
            (void *)old, new_size, q, nb.usable);
    size_t kept = min_size_t(b->size, new_size);
    if (self_test_short_copy && kept > 0) {
        self_test_short_copy = false;
        nb.p[kept - 1] ^= 0x5a;
    }
    struct mismatch mm;
    if (!pattern_check(nb.p, 0, kept, nb.seed, &mm)) {
        char what[160];
        snprintf(what, sizeof what, "contents carried over by %s from %p (size %zu) to %p "
                 "(size %zu)", call, (void *)old, b->size, q, new_size);
        die_mismatch(t, &nb, &mm, what);
    }
    pattern_fill(nb.p, kept, nb.usable, nb.seed);
    live_bytes_add((long long)nb.usable - (long long)b->usable);
    nb.reallocs++;
    *b = nb;
    t->c.reallocs++;
    if (q != old)
        t->c.reallocs_moved++;
    if (new_size > 1 * MiB)
        t->c.huge_allocs++;
    return true;
}

/* A new size for a block: unrelated, or near the current one (which is
 * where in-place resizing happens). */
static size_t realloc_size(struct tctx *t, const struct block *b)
{
    size_t s;
    if (rng_below(&t->rng, 2)) {
        s = random_size(t);
    } else {
        size_t delta = b->size / 4 + 16;
        delta = (size_t)rng_below(&t->rng, delta + 1);
        s = rng_below(&t->rng, 2) ? b->size + delta : (b->size > delta ? b->size - delta : 1);
        s = min_size_t(max_size_t(s, cfg.min_size), cfg.max_size);
    }
    return s ? s : 1; /* realloc(p, 0) is a free, done in block_free */
}

/* ------------------------------------------------ queues of blocks */

/* A bounded FIFO of blocks under a mutex: the inbox of a worker, and the
 * pool of blocks whose allocating thread has exited. */
struct queue {
    pthread_mutex_t lock;
    struct block *items;
    unsigned capacity, head, count;
};

static void queue_init(struct queue *q, unsigned capacity)
{
    pthread_mutex_init(&q->lock, NULL);
    q->items = calloc(capacity, sizeof *q->items);
    if (q->items == NULL)
        die("out of memory for the suite's own bookkeeping");
    q->capacity = capacity;
}

static void queue_destroy(struct queue *q)
{
    free(q->items);
    pthread_mutex_destroy(&q->lock);
}

static bool queue_put(struct queue *q, const struct block *b)
{
    pthread_mutex_lock(&q->lock);
    bool ok = q->count < q->capacity;
    if (ok) {
        q->items[(q->head + q->count) % q->capacity] = *b;
        q->count++;
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

static unsigned queue_take(struct queue *q, struct block *out, unsigned max)
{
    pthread_mutex_lock(&q->lock);
    unsigned n = 0;
    while (n < max && q->count > 0) {
        out[n++] = q->items[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->count--;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* ---------------------------------------------------------- workers */

struct worker {
    unsigned index;
    pthread_t thread;
    bool thread_running;       /* main's view */
    int retired;               /* atomic: the thread left (churn); restart it */
    int finished;              /* atomic: the op budget is spent */
    unsigned long long ops;    /* owned by the worker's current thread */
    struct block *slots;
    struct queue inbox;
};

static struct worker *workers;
static unsigned worker_count;
static int stop_flag;
static unsigned workers_finished;
static struct queue orphans;   /* blocks whose allocating thread may be gone */

/* Blocks that are never written while they sit here: a forked child can
 * verify them, so the pool's lock is held across fork(). */
#define WITNESS_CAPACITY 48
static struct {
    pthread_mutex_t lock;
    struct block items[WITNESS_CAPACITY];
    unsigned count;
} witness = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool stopping(void)
{
    return __atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE) != 0;
}

static struct worker *other_worker(struct tctx *t, const struct worker *self)
{
    if (worker_count == 0)
        return NULL;
    unsigned i = (unsigned)rng_below(&t->rng, worker_count);
    if (self && worker_count > 1 && &workers[i] == self)
        i = (i + 1 + (unsigned)rng_below(&t->rng, worker_count - 1)) % worker_count;
    return &workers[i];
}

/* Passes a block to another worker, who verifies and frees it; frees it
 * here when the inboxes tried are full (their owners may not have run for a
 * while: there are more threads than cores). */
static void give_away(struct tctx *t, struct worker *self, struct block *b)
{
    for (int tries = 0; tries < 3; tries++) {
        struct worker *to = other_worker(t, self);
        if (to && queue_put(&to->inbox, b)) {
            t->c.handoffs++;
            b->p = NULL;
            return;
        }
    }
    block_free(t, b);
}

static struct block *empty_slot(struct tctx *t, struct worker *w)
{
    for (int tries = 0; tries < 4; tries++) {
        struct block *b = &w->slots[rng_below(&t->rng, cfg.slots)];
        if (b->p == NULL)
            return b;
    }
    return NULL;
}

/* Takes blocks others sent: most are freed here (by a thread that did not
 * allocate them), some kept and resized, some passed on to a third thread. */
static void drain_inbox(struct tctx *t, struct worker *w, unsigned max)
{
    struct block got[16];
    unsigned n = queue_take(&w->inbox, got, max < 16 ? max : 16);
    for (unsigned i = 0; i < n; i++) {
        struct block *b = &got[i];
        block_verify(t, b, "after a handoff");
        unsigned r = (unsigned)rng_below(&t->rng, 10);
        struct block *slot;
        if (r < 7) {
            block_free(t, b);
        } else if (r < 9 && (slot = empty_slot(t, w)) != NULL) {
            *slot = *b;
            if (rng_below(&t->rng, 2))
                block_realloc(t, slot, realloc_size(t, slot), false);
        } else {
            give_away(t, w, b);
        }
    }
}

static void drain_orphans(struct tctx *t, unsigned max)
{
    struct block got[16];
    unsigned n = queue_take(&orphans, got, max < 16 ? max : 16);
    for (unsigned i = 0; i < n; i++)
        block_free(t, &got[i]);
}

/* Puts a fresh block into the witness pool or takes one out and frees it. */
static void witness_exchange(struct tctx *t, struct block *b)
{
    pthread_mutex_lock(&witness.lock);
    if (b->p != NULL && witness.count < WITNESS_CAPACITY) {
        witness.items[witness.count++] = *b;
        b->p = NULL;
    } else if (b->p == NULL && witness.count > 0) {
        unsigned i = (unsigned)rng_below(&t->rng, witness.count);
        *b = witness.items[i];
        witness.items[i] = witness.items[--witness.count];
    }
    pthread_mutex_unlock(&witness.lock);
}

static void inject_corruption(struct tctx *t, struct worker *w)
{
    for (unsigned i = 0; i < cfg.slots; i++) {
        struct block *b = &w->slots[(i + (unsigned)rng_below(&t->rng, cfg.slots)) % cfg.slots];
        if (b->p == NULL || b->usable == 0)
            continue;
        size_t offset = (size_t)rng_below(&t->rng, b->usable);
        fprintf(stderr, "%s: self-test: injecting corruption into block #%" PRIx64
                " offset %zu (flipping 0x%02x to 0x%02x)\n", program_name, b->id, offset,
                b->p[offset], b->p[offset] ^ 0x10);
        b->p[offset] ^= 0x10;
        return;
    }
}

static void worker_step(struct tctx *t, struct worker *w)
{
    unsigned workloads = cfg.workloads;
    if ((workloads & W_HANDOFF) && rng_below(&t->rng, 4) == 0)
        drain_inbox(t, w, 16);
    if ((workloads & W_CHURN) && rng_below(&t->rng, 64) == 0)
        drain_orphans(t, 4);
    if (cfg.inject_after && w->index == 0 && w->ops == cfg.inject_after)
        inject_corruption(t, w);
    if ((workloads & W_TRIM) && rng_below(&t->rng, 8192) == 0) {
        gl_trim(); /* gives back free memory while the others use theirs */
        t->c.trims++;
    }

    struct block *b = &w->slots[rng_below(&t->rng, cfg.slots)];
    if ((workloads & W_FORK) && rng_below(&t->rng, 256) == 0) {
        witness_exchange(t, b);
        if (b->p != NULL && b->owner != t->serial) {
            block_free(t, b); /* a block another thread allocated */
            return;
        }
    }
    if (b->p == NULL) {
        block_alloc(t, b, random_size(t), -1, false);
        return;
    }
    if (!(workloads & W_MIXED)) { /* handoff only: allocate here, free there */
        give_away(t, w, b);
        return;
    }
    unsigned r = (unsigned)rng_below(&t->rng, 100);
    bool hand_over = (workloads & W_HANDOFF) && rng_below(&t->rng, 4) != 0;
    if (r < 45) {
        if (hand_over)
            give_away(t, w, b);
        else
            block_free(t, b);
    } else if (r < 75) {
        block_realloc(t, b, realloc_size(t, b), false);
    } else if (r < 85) {
        block_verify(t, b, "periodic check");
    } else {
        if (hand_over)
            give_away(t, w, b);
        else
            block_free(t, b);
        block_alloc(t, b, random_size(t), -1, false);
    }
}

static void *worker_main(void *argument)
{
    struct worker *w = argument;
    struct tctx t;
    tctx_init(&t, "worker");
    t.c.threads_started++;
    /* Odd workers keep to small blocks, which they go through many times
     * faster: the run mixes a high rate of small-block operations with
     * large and huge blocks (whose every byte takes time to check). */
    if (w->index % 2 == 1 && cfg.min_size <= 1 * KiB)
        t.size_cap = 16 * KiB;
    unsigned long long retire_at = ULLONG_MAX;
    if (cfg.workloads & W_CHURN)
        retire_at = w->ops + 1000 + rng_below(&t.rng, 20000);
    for (;;) {
        if (cfg.ops && w->ops >= cfg.ops) {
            __atomic_add_fetch(&workers_finished, 1, __ATOMIC_RELEASE);
            __atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
            break;
        }
        if (stopping())
            break;
        if (w->ops >= retire_at) {
            /* The thread dies; its slots outlive it and its successor
             * carries on with them. */
            __atomic_store_n(&w->retired, 1, __ATOMIC_RELEASE);
            break;
        }
        worker_step(&t, w);
        w->ops++;
        t.c.ops++;
        if ((w->ops & 31) == 0)
            progress_tick();
    }
    counters_merge(&t.c);
    return NULL;
}

static void start_thread(pthread_t *thread, void *(*body)(void *), void *argument)
{
    int rc = pthread_create(thread, NULL, body, argument);
    if (rc != 0)
        die("pthread_create: %s", strerror(rc));
}

static void join_thread(pthread_t thread)
{
    int rc = pthread_join(thread, NULL);
    if (rc != 0)
        die("pthread_join: %s", strerror(rc));
}

/* ------------------------------------------------------ thread churn */

struct churn_arg {
    pthread_t thread;
    unsigned long long ops;
};

/* A short life: allocate, use, free some, leave the rest to others. */
static void *churn_thread(void *argument)
{
    struct churn_arg *a = argument;
    struct tctx t;
    tctx_init(&t, "churn");
    t.c.threads_started++;
    struct block blocks[48];
    unsigned n = 4 + (unsigned)rng_below(&t.rng, 45);
    for (unsigned i = 0; i < n; i++)
        block_alloc(&t, &blocks[i], random_size(&t), -1, false);
    for (unsigned k = 0; k < n; k++) {
        struct block *b = &blocks[rng_below(&t.rng, n)];
        if (rng_below(&t.rng, 2))
            block_realloc(&t, b, realloc_size(&t, b), false);
        else
            block_verify(&t, b, "periodic check");
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned r = (unsigned)rng_below(&t.rng, 3);
        struct worker *to = other_worker(&t, NULL);
        if (r == 0) {
            block_free(&t, &blocks[i]);
        } else if (r == 1 && to && (cfg.workloads & W_HANDOFF) &&
                   queue_put(&to->inbox, &blocks[i])) {
            t.c.handoffs++;
        } else if (!queue_put(&orphans, &blocks[i])) {
            block_free(&t, &blocks[i]);
        }
    }
    drain_orphans(&t, 8);
    t.c.ops += 3 * (unsigned long long)n;
    a->ops = t.c.ops;
    progress_tick();
    counters_merge(&t.c);
    return NULL;
}

/* Starts and joins short-lived threads until the run stops. */
static void *churn_driver(void *argument)
{
    (void)argument;
    struct tctx t;
    tctx_init(&t, "churn driver");
    unsigned long long ops = 0;
    while (!stopping()) {
        struct churn_arg args[4];
        unsigned n = 2 + (unsigned)rng_below(&t.rng, 3);
        for (unsigned i = 0; i < n; i++)
            start_thread(&args[i].thread, churn_thread, &args[i]);
        for (unsigned i = 0; i < n; i++) {
            join_thread(args[i].thread);
            ops += args[i].ops;
        }
        if (worker_count == 0 && cfg.ops && ops >= cfg.ops)
            break;
    }
    return NULL;
}

/* -------------------------------------------------------- statistics */

static struct gl_stats stats_now(void)
{
    struct gl_stats s;
    memset(&s, 0, sizeof s);
    s.version = GL_STATS_VERSION;
    int rc = gl_stats_get(&s, sizeof s);
    if (rc != 0)
        die("gl_stats_get returned %d", rc);
    if (s.small_allocated + s.large_allocated + s.huge_allocated != s.allocated)
        die("gl_stats: allocated %zu is not small %zu + large %zu + huge %zu", s.allocated,
            s.small_allocated, s.large_allocated, s.huge_allocated);
    if (s.arenas == 0)
        die("gl_stats: no arenas");
    return s;
}

/* Every statistics call, checked for what holds even while other threads
 * allocate (the figures themselves are a snapshot). */
static struct gl_stats read_all_stats(int print_fd)
{
    struct gl_stats s = stats_now();
    size_t previous = 0;
    for (unsigned i = 0; i <= GL_STATS_CLASSES; i++) {
        struct gl_class_stats c;
        memset(&c, 0, sizeof c);
        c.version = GL_STATS_VERSION;
        int rc = gl_stats_class(i, &c, sizeof c);
        if (i == GL_STATS_CLASSES) {
            if (rc != EINVAL)
                die("gl_stats_class(%u), one past the last class, returned %d", i, rc);
            break;
        }
        if (rc != 0 || c.index != i || c.block_size <= previous)
            die("gl_stats_class(%u) returned %d, index %u, block size %zu after %zu", i, rc,
                c.index, c.block_size, previous);
        previous = c.block_size;
    }
    for (unsigned i = 0; i <= s.arenas; i++) {
        struct gl_arena_stats a;
        memset(&a, 0, sizeof a);
        a.version = GL_STATS_VERSION;
        int rc = gl_stats_arena(i, &a, sizeof a);
        if (i == s.arenas) {
            if (rc != EINVAL)
                die("gl_stats_arena(%u), one past the last arena, returned %d", i, rc);
            break;
        }
        if (rc != 0 || a.index != i)
            die("gl_stats_arena(%u) returned %d, index %u", i, rc, a.index);
    }
    if (print_fd >= 0 && gl_stats_print(print_fd) != 0)
        die("gl_stats_print: %s", strerror(errno));
    return s;
}

/* With no other thread running, the allocator's count of allocated bytes
 * must be exactly the usable bytes of the blocks the suite holds. */
static void check_quiescent_stats(const char *when)
{
    struct gl_stats s = stats_now();
    long long expected = __atomic_load_n(&live_bytes, __ATOMIC_RELAXED);
    if ((long long)s.allocated != expected)
        die("%s: gl_stats allocated = %zu (small %zu, large %zu, huge %zu) but the blocks "
            "alive add up to %lld usable bytes", when, s.allocated, s.small_allocated,
            s.large_allocated, s.huge_allocated, expected);
    /* The finer statistics must add up to the same figures. */
    if (s.active != s.allocated + s.thread_cached)
        die("%s: gl_stats active = %zu, not allocated %zu + thread_cached %zu", when,
            s.active, s.allocated, s.thread_cached);
    size_t in_use = 0, cached = 0, large = 0;
    for (unsigned i = 0; i < GL_STATS_CLASSES; i++) {
        struct gl_class_stats c = {.version = GL_STATS_VERSION};
        if (gl_stats_class(i, &c, sizeof c) != 0)
            die("gl_stats_class(%u) failed", i);
        in_use += c.blocks_in_use * c.block_size;
        cached += c.blocks_cached * c.block_size;
    }
    for (unsigned i = 0; i < s.arenas; i++) {
        struct gl_arena_stats a = {.version = GL_STATS_VERSION};
        if (gl_stats_arena(i, &a, sizeof a) != 0)
            die("gl_stats_arena(%u) failed", i);
        large += a.large_allocated;
    }
    if (in_use != s.small_allocated || cached != s.thread_cached || large != s.large_allocated)
        die("%s: per-class blocks in use add up to %zu bytes and cached to %zu, per-arena "
            "large blocks to %zu; gl_stats_get says small %zu, thread_cached %zu, large %zu",
            when, in_use, cached, large, s.small_allocated, s.thread_cached,
            s.large_allocated);
    if (cfg.verbose)
        printf("%s: %s: allocated %zu bytes in live blocks, as counted (mapped %zu, "
               "thread-cached %zu, %zu thread caches)\n", program_name, when, s.allocated,
               s.mapped, s.thread_cached, s.thread_caches);
}

/* --------------------------------------------------------------- fork */

/* Runs in the child of a fork taken while workers allocate: only this
 * thread survives.  It verifies what it inherited, frees some of it,
 * allocates and frees on its own, and checks the counters. */
static __attribute__((noreturn)) void child_main(void)
{
    pthread_mutex_unlock(&witness.lock); /* taken before fork() by this thread */
    struct tctx t;
    tctx_init(&t, "fork child");
    struct gl_stats before = stats_now();
    size_t freed_inherited = 0;
    for (unsigned i = 0; i < witness.count; i++)
        block_verify(&t, &witness.items[i], "inherited across fork");
    while (witness.count > 0 && rng_below(&t.rng, 3) != 0) {
        struct block *b = &witness.items[--witness.count];
        freed_inherited += b->usable;
        block_free(&t, b);
    }
    /* A small mixed workload of its own, all API functions. */
    enum { CHILD_SLOTS = 64 };
    struct block slots[CHILD_SLOTS];
    memset(slots, 0, sizeof slots);
    /* 1500 operations, or fewer when the sizes are large: a fork must not
     * stall the parent's run for long. */
    size_t budget = 256 * MiB;
    for (unsigned op = 0; op < 1500 && budget > 0; op++) {
        struct block *b = &slots[rng_below(&t.rng, CHILD_SLOTS)];
        if (b->p == NULL) {
            block_alloc(&t, b, random_size(&t), -1, false);
            budget -= min_size_t(budget, b->usable);
        } else if (rng_below(&t.rng, 3) == 0) {
            block_realloc(&t, b, realloc_size(&t, b), false);
        } else {
            block_free(&t, b);
        }
    }
    for (unsigned i = 0; i < CHILD_SLOTS; i++)
        if (slots[i].p)
            block_free(&t, &slots[i]);
    for (unsigned i = 0; i < witness.count; i++)
        block_verify(&t, &witness.items[i], "inherited across fork, at the child's end");
    struct gl_stats after = stats_now();
    if (after.allocated + freed_inherited != before.allocated)
        die("fork child: gl_stats allocated was %zu at the start, %zu at the end after "
            "freeing %zu inherited bytes (and everything it allocated): expected %zu",
            before.allocated, after.allocated, freed_inherited,
            before.allocated - freed_inherited);
    fflush(stdout);
    _exit(0);
}

/* Waits for a child, giving up (and killing it) after timeout seconds. */
static int wait_child(pid_t pid, double timeout, const char *what)
{
    double deadline = now_seconds() + timeout;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            die("waitpid(%d) for %s: %s", (int)pid, what, strerror(errno));
        if (now_seconds() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            die("%s (pid %d) did not finish within %.0f s: a deadlock after fork()?", what,
                (int)pid, timeout);
        }
        sleep_seconds(0.002);
    }
}

static void describe_status(int status, char *out, size_t size)
{
    if (WIFEXITED(status))
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "ended with wait status 0x%x", (unsigned)status);
}

static void fork_once(struct tctx *t)
{
    fflush(stdout);
    fflush(stderr);
    pthread_mutex_lock(&witness.lock);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0)
        child_main();
    pthread_mutex_unlock(&witness.lock);
    int status = wait_child(pid, cfg.watchdog / 2, "the fork child");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char text[96];
        describe_status(status, text, sizeof text);
        die("the child of fork() %s; it must verify, allocate, free and exit 0", text);
    }
    t->c.forks++;
}

/* -------------------------------------- the address-space limit phase */

static size_t vm_size_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        die("cannot open /proc/self/status: %s", strerror(errno));
    char line[256];
    size_t kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kib) == 1)
            break;
    fclose(f);
    if (kib == 0)
        die("no VmSize in /proc/self/status");
    return kib * KiB;
}

#define RLIMIT_THREADS_MAX 4
/* Records per thread: enough for one thread to exhaust the headroom twice
 * over with the smallest blocks the phase asks for (2 KiB). */
static unsigned rlimit_records;

struct rlimit_thread {
    pthread_t thread;
    unsigned index;
    struct block *records;
    unsigned count;
    bool large_enomem, small_enomem;
    unsigned large_blocks, small_blocks; /* allocated before ENOMEM */
    struct counters c;
};

static pthread_barrier_t rlimit_barrier;

static void rlimit_sync(void)
{
    int rc = pthread_barrier_wait(&rlimit_barrier);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        die("pthread_barrier_wait: %s", strerror(rc));
}

static void free_records(struct tctx *t, struct rlimit_thread *r)
{
    for (unsigned i = 0; i < r->count; i++)
        block_free(t, &r->records[i]);
    r->count = 0;
}

/* Allocates blocks of sizes in [lo, hi] until ENOMEM (or the records run
 * out).  Returns true when ENOMEM was seen. */
static bool exhaust(struct tctx *t, struct rlimit_thread *r, size_t lo, size_t hi)
{
    while (r->count < rlimit_records) {
        struct block *b = &r->records[r->count];
        if (!block_alloc(t, b, log_uniform(t, lo, hi), -1, true))
            return true;
        r->count++;
        if ((r->count & 15) == 0)
            progress_tick();
    }
    return false;
}

/* The steps every thread of the phase takes together (main included). */
static void rlimit_steps(struct tctx *t, struct rlimit_thread *r)
{
    rlimit_sync(); /* every thread is ready: main sets the limit */
    rlimit_sync(); /* the limit is set */
    r->large_enomem = exhaust(t, r, 192 * KiB, 1 * MiB);
    r->large_blocks = r->count;
    rlimit_sync(); /* main checks that huge requests fail */
    rlimit_sync();
    free_records(t, r);
    rlimit_sync(); /* main checks that memory comes back */
    rlimit_sync();
    r->small_enomem = exhaust(t, r, 2 * KiB, 16 * KiB);
    r->small_blocks = r->count;
    /* Resizing within small classes may or may not find room: it must
     * either work or fail cleanly, leaving the block alone. */
    for (unsigned i = 0; i < r->count && i < 64; i++)
        block_realloc(t, &r->records[i], r->records[i].size + 1024, true);
    rlimit_sync();
    free_records(t, r);
    rlimit_sync(); /* main lifts the limit */
}

static void *rlimit_thread_main(void *argument)
{
    struct rlimit_thread *r = argument;
    struct tctx t;
    tctx_init(&t, "address-space limit");
    t.c.threads_started++;
    /* A first allocation before the limit: the thread's cache and its
     * liburcu registration are set up now, not under the limit. */
    void *warm = gl_malloc(64);
    gl_free(warm);
    rlimit_steps(&t, r);
    r->c = t.c;
    return NULL;
}

/* Requests that cannot fit in the headroom must fail with ENOMEM (and
 * leave errno, *memptr and the block being resized as documented). */
static void expect_enomem(struct tctx *t, struct block *victim)
{
    /* Beyond the headroom, far beyond, and beyond any machine's memory. */
    const size_t sizes[] = {cfg.rlimit_headroom + 32 * MiB, 4 * cfg.rlimit_headroom + 1 * GiB,
                            64 * GiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i];
        void *p;
        errno = 0;
        if ((p = gl_malloc(size)) != NULL || errno != ENOMEM)
            die("under RLIMIT_AS: gl_malloc(%zu) gave %p, errno %d; expected NULL, ENOMEM",
                size, p, errno);
        errno = 0;
        if ((p = gl_calloc(size / 16, 16)) != NULL || errno != ENOMEM)
            die("under RLIMIT_AS: gl_calloc(%zu, 16) gave %p, errno %d; expected NULL, ENOMEM",
                size / 16, p, errno);
        errno = 0;
        if ((p = gl_aligned_alloc(2 * MiB, size)) != NULL || errno != ENOMEM)
            die("under RLIMIT_AS: gl_aligned_alloc(2 MiB, %zu) gave %p, errno %d; expected "
                "NULL, ENOMEM", size, p, errno);
        p = UNTOUCHED;
        errno = EDOM;
        int rc = gl_posix_memalign(&p, 4096, size);
        if (rc != ENOMEM || p != UNTOUCHED || errno != EDOM)
            die("under RLIMIT_AS: gl_posix_memalign(4096, %zu) returned %d, stored %p, errno "
                "%d; expected ENOMEM, nothing stored, errno untouched", size, rc, p, errno);
        t->c.enomem += 4;
        if (victim && victim->p) {
            size_t before = victim->usable;
            errno = 0;
            if ((p = gl_realloc(victim->p, size)) != NULL || errno != ENOMEM)
                die("under RLIMIT_AS: gl_realloc(%p, %zu) gave %p, errno %d; expected "
                    "NULL, ENOMEM", (void *)victim->p, size, p, errno);
            errno = 0;
            if ((p = gl_reallocarray(victim->p, size / 8, 8)) != NULL || errno != ENOMEM)
                die("under RLIMIT_AS: gl_reallocarray(%p, %zu, 8) gave %p, errno %d; "
                    "expected NULL, ENOMEM", (void *)victim->p, size / 8, p, errno);
            block_verify(t, victim, "after a failed realloc under RLIMIT_AS");
            if (victim->usable != before)
                die("failed realloc changed the block's usable size");
            t->c.enomem += 2;
        }
    }
}

static void run_rlimit_phase(struct tctx *t)
{
    set_phase("address-space limit");
    unsigned n = cfg.threads < RLIMIT_THREADS_MAX ? cfg.threads : RLIMIT_THREADS_MAX;
    if (n == 0)
        n = 1;
    rlimit_records = (unsigned)(cfg.rlimit_headroom / KiB) + 1024;
    struct rlimit_thread *rt = calloc(n, sizeof *rt);
    if (rt == NULL)
        die("out of memory for the suite's own bookkeeping");
    for (unsigned i = 0; i < n; i++) {
        rt[i].index = i;
        rt[i].records = calloc(rlimit_records, sizeof *rt[i].records);
        if (rt[i].records == NULL)
            die("out of memory for the suite's own bookkeeping");
    }
    int rc = pthread_barrier_init(&rlimit_barrier, NULL, n);
    if (rc != 0)
        die("pthread_barrier_init: %s", strerror(rc));
    for (unsigned i = 1; i < n; i++)
        start_thread(&rt[i].thread, rlimit_thread_main, &rt[i]);

    rlimit_sync(); /* the others have made their first allocation */
    struct rlimit old;
    if (getrlimit(RLIMIT_AS, &old) != 0)
        die("getrlimit(RLIMIT_AS): %s", strerror(errno));
    /* Every thread's stack and cache exist now: what the limit leaves is
     * the headroom, which a new 4 MiB segment (mapped 8 MiB, then trimmed
     * to alignment) or a huge block must fit in. */
    size_t vm = vm_size_bytes();
    struct rlimit tight = old;
    tight.rlim_cur = vm + cfg.rlimit_headroom;
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < tight.rlim_cur)
        tight.rlim_cur = old.rlim_cur;
    if (setrlimit(RLIMIT_AS, &tight) != 0)
        die("setrlimit(RLIMIT_AS, %zu): %s", (size_t)tight.rlim_cur, strerror(errno));
    if (cfg.verbose)
        printf("%s: RLIMIT_AS set to VmSize %zu MiB + %zu MiB, %u threads\n", program_name,
               vm / MiB, cfg.rlimit_headroom / MiB, n);

    struct rlimit_thread *mine = &rt[0];
    struct tctx *self = t;
    /* Main takes the same steps as the others, with its checks between. */
    rlimit_sync();
    mine->large_enomem = exhaust(self, mine, 192 * KiB, 1 * MiB);
    mine->large_blocks = mine->count;
    rlimit_sync();
    bool any_large = false;
    for (unsigned i = 0; i < n; i++)
        any_large |= rt[i].large_enomem;
    if (!any_large)
        die("under RLIMIT_AS (headroom %zu MiB): %u threads allocated %u large blocks each "
            "without ENOMEM", cfg.rlimit_headroom / MiB, n, rlimit_records);
    if (cfg.verbose) {
        unsigned blocks = 0;
        for (unsigned i = 0; i < n; i++)
            blocks += rt[i].large_blocks;
        printf("%s: under RLIMIT_AS: %u large blocks until ENOMEM\n", program_name, blocks);
    }
    expect_enomem(self, mine->count ? &mine->records[0] : NULL);
    rlimit_sync();
    free_records(self, mine);
    rlimit_sync();
    /* Everything large is freed: memory must be usable again, still under
     * the limit. */
    struct block again[2];
    if (!block_alloc(self, &again[0], 1 * MiB - 64, K_MALLOC, true))
        die("under RLIMIT_AS: gl_malloc(1 MiB) failed even after every large block was freed");
    if (!block_alloc(self, &again[1], 16 * MiB, K_MALLOC, true))
        die("under RLIMIT_AS: gl_malloc(16 MiB) failed even after every large block was freed"
            " (headroom %zu MiB)", cfg.rlimit_headroom / MiB);
    block_free(self, &again[0]);
    block_free(self, &again[1]);
    rlimit_sync();
    mine->small_enomem = exhaust(self, mine, 2 * KiB, 16 * KiB);
    mine->small_blocks = mine->count;
    for (unsigned i = 0; i < mine->count && i < 64; i++)
        block_realloc(self, &mine->records[i], mine->records[i].size + 1024, true);
    rlimit_sync();
    bool any_small = false;
    unsigned small_blocks = 0;
    for (unsigned i = 0; i < n; i++) {
        any_small |= rt[i].small_enomem;
        small_blocks += rt[i].small_blocks;
    }
    if (cfg.verbose)
        printf("%s: under RLIMIT_AS: %u small blocks until ENOMEM\n", program_name,
               small_blocks);
    if (!any_small)
        die("under RLIMIT_AS (headroom %zu MiB): %u threads allocated %u small blocks each "
            "without ENOMEM", cfg.rlimit_headroom / MiB, n, rlimit_records);
    free_records(self, mine);
    if (setrlimit(RLIMIT_AS, &old) != 0)
        die("restoring RLIMIT_AS: %s", strerror(errno));
    rlimit_sync();
    for (unsigned i = 1; i < n; i++) {
        join_thread(rt[i].thread);
        counters_add(&t->c, &rt[i].c);
    }
    pthread_barrier_destroy(&rlimit_barrier);

    /* The limit is lifted: what failed must work now. */
    struct block big[3];
    size_t beyond = cfg.rlimit_headroom + 32 * MiB; /* failed under the limit */
    if (!block_alloc(self, &big[0], beyond, K_MALLOC, true))
        die("gl_malloc(%zu) failed after RLIMIT_AS was restored", beyond);
    if (!block_alloc(self, &big[1], 64 * MiB, K_ALIGNED_ALLOC, true))
        die("gl_aligned_alloc(64 MiB) failed after RLIMIT_AS was restored");
    if (!block_alloc(self, &big[2], 512 * KiB, K_CALLOC, true))
        die("gl_calloc(512 KiB) failed after RLIMIT_AS was restored");
    for (unsigned i = 0; i < 3; i++)
        block_free(self, &big[i]);
    for (unsigned i = 0; i < n; i++)
        free(rt[i].records);
    free(rt);
    progress_tick();
}

/* ---------------------------------------------------------- watchdog */

static int watchdog_stop;

static void *watchdog_main(void *argument)
{
    (void)argument;
    unsigned long long last = __atomic_load_n(&progress, __ATOMIC_RELAXED);
    double last_change = now_seconds();
    while (!__atomic_load_n(&watchdog_stop, __ATOMIC_ACQUIRE)) {
        sleep_seconds(0.05);
        unsigned long long now = __atomic_load_n(&progress, __ATOMIC_RELAXED);
        if (now != last) {
            last = now;
            last_change = now_seconds();
        } else if (now_seconds() - last_change > cfg.watchdog) {
            die("watchdog: no progress for %.0f s in phase \"%s\" (a deadlock or a livelock)",
                cfg.watchdog, __atomic_load_n(&phase_name, __ATOMIC_RELAXED));
        }
    }
    return NULL;
}

/* ------------------------------------------------------------- the run */

static void free_everything(struct tctx *t)
{
    set_phase("teardown");
    for (unsigned i = 0; i < worker_count; i++) {
        struct worker *w = &workers[i];
        for (unsigned s = 0; s < cfg.slots; s++)
            if (w->slots[s].p)
                block_free(t, &w->slots[s]);
        struct block b;
        while (queue_take(&w->inbox, &b, 1))
            block_free(t, &b);
        progress_tick();
    }
    struct block b;
    while (queue_take(&orphans, &b, 1))
        block_free(t, &b);
    while (witness.count > 0)
        block_free(t, &witness.items[--witness.count]);
}

static void print_summary(double elapsed)
{
    const struct counters *c = &totals;
    unsigned long long allocs = 0, frees = 0;
    for (int k = 0; k < K_COUNT; k++)
        allocs += c->allocs[k];
    for (int k = 0; k < F_COUNT; k++)
        frees += c->frees[k];
    printf("%s: %.1f s, %llu ops (%.0f/s), %llu threads started, %llu forks\n",
           program_name, elapsed, c->ops, elapsed > 0 ? (double)c->ops / elapsed : 0.0,
           c->threads_started, c->forks);
    printf("  allocations %llu:", allocs);
    for (int k = 0; k < K_COUNT; k++)
        printf(" %s %llu%s", kind_names[k], c->allocs[k], k + 1 < K_COUNT ? "," : "\n");
    printf("  frees %llu:", frees);
    for (int k = 0; k < F_COUNT; k++)
        printf(" %s %llu%s", free_names[k], c->frees[k], k + 1 < F_COUNT ? "," : "\n");
    printf("  freed by a thread other than the allocating one: %llu (%.1f%%); "
           "handoffs %llu\n", c->remote_frees,
           frees ? 100.0 * (double)c->remote_frees / (double)frees : 0.0, c->handoffs);
    printf("  reallocs %llu (%llu moved); huge blocks %llu; calloc zero checks %llu; "
           "expected ENOMEM %llu\n", c->reallocs, c->reallocs_moved, c->huge_allocs,
           c->calloc_zero_checks, c->enomem);
    printf("  bytes verified %.1f GiB; gl_trim calls %llu, statistics reads %llu\n",
           (double)c->bytes_checked / (double)GiB, c->trims, c->stats_reads);
}

static int run_stress(void)
{
    struct tctx main_ctx;
    tctx_init(&main_ctx, "main");
    struct tctx *t = &main_ctx;
    double start = now_seconds();
    pthread_t watchdog;
    start_thread(&watchdog, watchdog_main, NULL);

    bool run_workers = cfg.workloads & (W_MIXED | W_HANDOFF);
    worker_count = run_workers ? cfg.threads : 0;
    queue_init(&orphans, 1024);
    if (worker_count) {
        workers = calloc(worker_count, sizeof *workers);
        if (workers == NULL)
            die("out of memory for the suite's own bookkeeping");
    }
    for (unsigned i = 0; i < worker_count; i++) {
        workers[i].index = i;
        workers[i].slots = calloc(cfg.slots, sizeof *workers[i].slots);
        if (workers[i].slots == NULL)
            die("out of memory for the suite's own bookkeeping");
        queue_init(&workers[i].inbox, 1024);
    }

    set_phase("threads");
    for (unsigned i = 0; i < worker_count; i++) {
        start_thread(&workers[i].thread, worker_main, &workers[i]);
        workers[i].thread_running = true;
    }
    pthread_t churn;
    bool churning = cfg.workloads & W_CHURN;
    if (churning)
        start_thread(&churn, churn_driver, NULL);
    /* Blocks of every kind for forked children to find, made while the
     * threads make their first allocations (lazily set-up state races). */
    if (cfg.workloads & W_FORK) {
        static const size_t sizes[] = {16, 100, 4000, 16384, 100000, 1 * MiB, 2 * MiB};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t size = min_size_t(max_size_t(sizes[i], cfg.min_size), cfg.max_size);
            struct block b;
            block_alloc(t, &b, size, (int)(i % K_COUNT), false);
            witness_exchange(t, &b);
            if (b.p)
                block_free(t, &b);
        }
    }

    double next_fork = start + 0.05 + 0.25 * (double)rng_below(&t->rng, 1000) / 1000.0;
    bool concurrent = run_workers || churning || (cfg.workloads & W_FORK);
    double last_stats = start, last_trim = start, last_print = start;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0)
        die("open /dev/null: %s", strerror(errno));
    while (concurrent) {
        double now = now_seconds();
        if (cfg.seconds > 0 && now - start >= cfg.seconds)
            break;
        if (cfg.ops && worker_count &&
            __atomic_load_n(&workers_finished, __ATOMIC_ACQUIRE) == worker_count)
            break;
        if (!run_workers && churning && cfg.ops && cfg.seconds <= 0) {
            /* churn alone, bounded by ops: the driver ends by itself */
            join_thread(churn);
            churning = false;
            break;
        }
        if (!run_workers && !churning && t->c.forks > 0 && cfg.seconds <= 0)
            break; /* fork alone, bounded by ops: one fork is the run */
        /* Replace retired workers: their blocks outlive them. */
        for (unsigned i = 0; i < worker_count; i++) {
            struct worker *w = &workers[i];
            if (w->thread_running && __atomic_load_n(&w->retired, __ATOMIC_ACQUIRE)) {
                join_thread(w->thread);
                w->retired = 0;
                start_thread(&w->thread, worker_main, w);
            }
        }
        if ((cfg.workloads & W_FORK) && now >= next_fork) {
            set_phase("fork");
            fork_once(t);
            set_phase("threads");
            next_fork = now_seconds() + cfg.fork_interval;
            progress_tick();
        }
        if (now - last_stats > 0.05) {
            /* Read while everyone allocates.  Live caches belong to live
             * threads: the workers, at most 4 churn threads, main; a cache
             * that outlived its thread would show up here as the threads
             * come and go. */
            bool print = (cfg.workloads & W_TRIM) && now - last_print > 1.0;
            struct gl_stats s = (cfg.workloads & W_TRIM) ? read_all_stats(print ? devnull : -1)
                                                         : stats_now();
            if (print)
                last_print = now;
            t->c.stats_reads++;
            if (s.thread_caches > worker_count + 4 + 1)
                die("gl_stats counts %zu live thread caches with at most %u threads alive",
                    s.thread_caches, worker_count + 4 + 1);
            last_stats = now;
        }
        if ((cfg.workloads & W_TRIM) && now - last_trim > 0.1) {
            gl_trim();
            t->c.trims++;
            last_trim = now;
        }
        if (!run_workers && !churning)
            progress_tick();
        sleep_seconds(0.002);
    }
    /* A fork while the others still run, if none happened yet. */
    if ((cfg.workloads & W_FORK) && t->c.forks == 0) {
        set_phase("fork");
        fork_once(t);
    }
    set_phase("stopping");
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < worker_count; i++)
        join_thread(workers[i].thread);
    if (churning)
        join_thread(churn);
    double concurrent_end = now_seconds();

    /* Everyone else has exited: the counts must match exactly. */
    check_quiescent_stats("after the threads phase");
    if (cfg.workloads & W_RLIMIT) {
        run_rlimit_phase(t);
        check_quiescent_stats("after the address-space limit phase");
    }
    free_everything(t);
    counters_merge(&t->c);

    struct gl_stats s = stats_now();
    if (s.allocated != 0)
        die("everything is freed and every thread joined, yet gl_stats allocated = %zu "
            "(small %zu, large %zu, huge %zu): leaked or miscounted", s.allocated,
            s.small_allocated, s.large_allocated, s.huge_allocated);
    gl_thread_flush();
    s = stats_now();
    if (s.allocated != 0 || s.thread_cached != 0)
        die("after gl_thread_flush in the last thread: allocated %zu, thread_cached %zu; "
            "expected 0 and 0", s.allocated, s.thread_cached);
    if (s.thread_caches > 1)
        die("every thread but main has exited, yet gl_stats counts %zu live thread caches",
            s.thread_caches);
    /* Nothing is allocated: gl_trim gives back every segment. */
    gl_trim();
    s = stats_now();
    if (s.segments != 0 || s.allocated != 0)
        die("after freeing everything and gl_trim: %zu segments in use (%zu bytes mapped), "
            "allocated %zu; expected no segment left", s.segments, s.mapped, s.allocated);
    close(devnull);

    __atomic_store_n(&watchdog_stop, 1, __ATOMIC_RELEASE);
    join_thread(watchdog);
    double end = now_seconds();
    print_summary(end - start);
    printf("  threads phase %.1f s; final gl_stats: allocated %zu, thread_cached %zu, "
           "mapped %zu, segments %zu\n", concurrent_end - start, s.allocated, s.thread_cached,
           s.mapped, s.segments);
    if (totals.remote_frees == 0 && (cfg.workloads & W_HANDOFF) && worker_count > 1)
        die("the handoff workload ran but no block was freed by another thread");

    for (unsigned i = 0; i < worker_count; i++) {
        free(workers[i].slots);
        queue_destroy(&workers[i].inbox);
    }
    free(workers);
    queue_destroy(&orphans);
    printf("%s: PASS (seed=0x%016" PRIx64 ")\n", program_name, cfg.seed);
    return EXIT_PASS;
}

/* ------------------------------------------------------- self-test */

/* Proves that the checker sees corruption: it damages live blocks on
 * purpose and requires every damage to be reported, then runs the real
 * suite in a child with a corrupted block and requires it to fail. */
static int self_test_failures;

static void self_test_expect(bool detected, const char *what)
{
    printf("self-test: %-64s %s\n", what, detected ? "detected" : "MISSED");
    if (!detected)
        self_test_failures++;
}

static bool detects(const struct block *b, size_t offset, unsigned found)
{
    struct mismatch m;
    if (pattern_check(b->p, 0, b->usable, b->seed, &m))
        return false;
    return m.offset == offset && m.found == found &&
           m.expected == pattern_byte(b->seed, offset);
}

/* Runs a function that must end the process with a mismatch report. */
static bool child_fails_with_report(void (*body)(void), const char *must_contain)
{
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        body();
        _exit(EXIT_PASS); /* the corruption went unnoticed */
    }
    close(fds[1]);
    char output[8192];
    size_t used = 0;
    ssize_t n;
    while ((n = read(fds[0], output + used, sizeof output - 1 - used)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            used += (size_t)n;
    close(fds[0]);
    output[used] = '\0';
    int status = wait_child(pid, cfg.watchdog, "the self-test child");
    bool failed = WIFEXITED(status) && WEXITSTATUS(status) == EXIT_MISMATCH;
    bool reported = strstr(output, "MISMATCH") && strstr(output, "seed=") &&
                    (!must_contain || strstr(output, must_contain));
    for (char *line = strtok(output, "\n"); line; line = strtok(NULL, "\n"))
        printf("    | %s\n", line);
    char text[96];
    describe_status(status, text, sizeof text);
    printf("    the child %s\n", text);
    return failed && reported;
}

static struct block victim;

static void corrupt_then_free(void)
{
    struct tctx t;
    tctx_init(&t, "self-test");
    victim.p[victim.usable / 2] ^= 0x01;
    block_free(&t, &victim); /* must die before freeing */
}

static void short_copy_realloc(void)
{
    struct tctx t;
    tctx_init(&t, "self-test");
    self_test_short_copy = true;
    block_realloc(&t, &victim, victim.size * 3, false); /* must die */
}

static int run_self_test(char *argv0)
{
    struct tctx t;
    tctx_init(&t, "self-test");
    static const size_t sizes[] = {24, 3000, 100000, 2 * MiB + 100};
    static const char *const names[] = {"small", "small", "large", "huge"};
    char what[128];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct block b;
        block_alloc(&t, &b, sizes[i], K_MALLOC, false);
        struct mismatch m;
        if (!pattern_check(b.p, 0, b.usable, b.seed, &m)) {
            printf("self-test: a freshly filled %zu-byte block does not verify\n", sizes[i]);
            self_test_failures++;
        }
        size_t offsets[] = {0, b.size / 2, b.size - 1, b.usable - 1};
        for (size_t k = 0; k < 4; k++) {
            size_t offset = offsets[k];
            unsigned original = b.p[offset];
            unsigned flipped = original ^ (1u << rng_below(&t.rng, 8));
            b.p[offset] = (unsigned char)flipped;
            snprintf(what, sizeof what, "%s block of %zu bytes, byte %zu of %zu flipped",
                     names[i], b.size, offset, b.usable);
            self_test_expect(detects(&b, offset, flipped), what);
            b.p[offset] = (unsigned char)original;
        }
        block_free(&t, &b);
    }

    /* calloc blocks must be zero: the same check on a dirtied block. */
    {
        unsigned char *p = gl_calloc(100, 10);
        struct mismatch m;
        bool clean = p && zero_check(p, 1000, &m);
        p[777] = 0x42;
        bool caught = !zero_check(p, 1000, &m) && m.offset == 777 && m.found == 0x42;
        self_test_expect(clean && caught, "calloc block with byte 777 not zero");
        gl_free(p);
    }

    /* A realloc that copies one byte short, then a corrupted block freed:
     * both through the suite's own paths, in a child that must print the
     * report and exit 1. */
    block_alloc(&t, &victim, 5000, K_MALLOC, false);
    printf("self-test: realloc of a 5000-byte block that loses its last byte:\n");
    self_test_expect(child_fails_with_report(short_copy_realloc, "offset 4999"),
                     "realloc copying one byte short (exit 1, block/offset reported)");
    printf("self-test: a live block with one flipped byte, freed:\n");
    snprintf(what, sizeof what, "offset %zu", victim.usable / 2);
    self_test_expect(child_fails_with_report(corrupt_then_free, what),
                     "flipped byte caught before free (exit 1, offset reported)");
    block_free(&t, &victim);

    /* The whole suite, with one worker corrupting a block mid-run. */
    fflush(stdout);
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    char seed[32];
    snprintf(seed, sizeof seed, "0x%" PRIx64, cfg.seed);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        char *args[] = {argv0, "--threads", "4", "--seconds", "30", "--seed", seed,
                        "--workloads", "mixed,handoff", "--max-size", "300000",
                        "--inject-corruption", "3000", NULL};
        execv("/proc/self/exe", args);
        execv(argv0, args);
        fprintf(stderr, "exec %s: %s\n", argv0, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    static char output[65536];
    size_t used = 0;
    ssize_t n;
    while ((n = read(fds[0], output + used, sizeof output - 1 - used)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0)
            used += (size_t)n;
    close(fds[0]);
    output[used] = '\0';
    int status = wait_child(pid, cfg.watchdog, "the self-test run");
    printf("self-test: a full run (4 threads, mixed+handoff) with one corrupted block:\n");
    /* The injection names the block and offset; the report must too. */
    char token[96] = "";
    const char *injected = strstr(output, "injecting corruption into ");
    if (injected) {
        const char *blk = injected + strlen("injecting corruption into ");
        const char *paren = strstr(blk, " (");
        size_t len = paren ? (size_t)(paren - blk) : 0;
        if (len < sizeof token) {
            memcpy(token, blk, len);
            token[len] = '\0';
        }
    }
    const char *report = strstr(output, "MISMATCH in ");
    bool named = token[0] && report && strstr(report, token) == report + strlen("MISMATCH in ");
    for (char *line = strtok(output, "\n"); line; line = strtok(NULL, "\n"))
        printf("    | %s\n", line);
    char text[96];
    describe_status(status, text, sizeof text);
    printf("    the run %s\n", text);
    self_test_expect(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_MISMATCH && named,
                     "run with a corrupted block exits 1, naming block and offset");

    if (self_test_failures) {
        printf("self-test: FAILED: %d corruption(s) went unnoticed\n", self_test_failures);
        return EXIT_MISMATCH;
    }
    printf("self-test: PASS: every corruption was detected and reported\n");
    return EXIT_PASS;
}

/* ----------------------------------------------------------- options */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: %s [options]\n"
        "  --threads N          worker threads (default 8)\n"
        "  --seconds S          run the threads phase for S seconds (default 10,\n"
        "                       or no time limit when --ops is given)\n"
        "  --ops N              operations per worker (default: no limit)\n"
        "  --seed S             random seed (default: from the clock); printed\n"
        "  --min-size N         smallest request (default 0; K, M, G suffixes)\n"
        "  --max-size N         largest request (default 4M)\n"
        "  --workloads LIST     comma-separated: mixed,handoff,churn,fork,rlimit,trim\n"
        "                       or all (default all)\n"
        "  --slots N            live blocks per worker (default 256)\n"
        "  --fork-interval S    seconds between forks (default 1)\n"
        "  --rlimit-headroom N  address space left above VmSize in the limit\n"
        "                       phase (default 64M, at least 32M)\n"
        "  --watchdog S         fail after S seconds without progress (default 120)\n"
        "  --verbose            more output\n"
        "  --self-test-corruption\n"
        "                       prove the checker: corrupt blocks on purpose and\n"
        "                       require every corruption to be reported\n"
        "  --inject-corruption N  (used by the self-test) worker 0 flips a byte of\n"
        "                       a live block after N operations: the run must fail\n"
        "Exit status: 0 pass, 1 a check failed, 2 bad usage.\n",
        program_name);
}

static bool parse_size(const char *text, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || end == text)
        return false;
    unsigned long long scale = 1;
    switch (*end) {
    case 'k': case 'K': scale = KiB; end++; break;
    case 'm': case 'M': scale = MiB; end++; break;
    case 'g': case 'G': scale = GiB; end++; break;
    default: break;
    }
    if (*end != '\0' || v > SIZE_MAX / scale)
        return false;
    *out = (size_t)(v * scale);
    return true;
}

static bool parse_workloads(const char *text, unsigned *out)
{
    unsigned bits = 0;
    char *copy = strdup(text), *save = NULL;
    if (copy == NULL)
        return false;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (strcmp(item, "all") == 0) {
            bits |= W_ALL;
            continue;
        }
        size_t i;
        for (i = 0; i < WORKLOAD_COUNT; i++)
            if (strcmp(item, workload_names[i].name) == 0)
                break;
        if (i == WORKLOAD_COUNT) {
            free(copy);
            return false;
        }
        bits |= workload_names[i].bit;
    }
    free(copy);
    *out = bits;
    return bits != 0;
}

static void workloads_text(unsigned bits, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < WORKLOAD_COUNT; i++)
        if (bits & workload_names[i].bit) {
            if (out[0])
                strncat(out, ",", size - strlen(out) - 1);
            strncat(out, workload_names[i].name, size - strlen(out) - 1);
        }
}

static uint64_t clock_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return mix64((uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)getpid() << 32));
}

int main(int argc, char **argv)
{
    enum {
        O_THREADS = 256, O_SECONDS, O_OPS, O_SEED, O_MIN, O_MAX, O_WORKLOADS, O_SLOTS,
        O_FORK_INTERVAL, O_HEADROOM, O_WATCHDOG, O_VERBOSE, O_SELF_TEST, O_INJECT, O_HELP
    };
    static const struct option options[] = {
        {"threads", required_argument, NULL, O_THREADS},
        {"seconds", required_argument, NULL, O_SECONDS},
        {"ops", required_argument, NULL, O_OPS},
        {"seed", required_argument, NULL, O_SEED},
        {"min-size", required_argument, NULL, O_MIN},
        {"max-size", required_argument, NULL, O_MAX},
        {"workloads", required_argument, NULL, O_WORKLOADS},
        {"slots", required_argument, NULL, O_SLOTS},
        {"fork-interval", required_argument, NULL, O_FORK_INTERVAL},
        {"rlimit-headroom", required_argument, NULL, O_HEADROOM},
        {"watchdog", required_argument, NULL, O_WATCHDOG},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"self-test-corruption", no_argument, NULL, O_SELF_TEST},
        {"inject-corruption", required_argument, NULL, O_INJECT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *slash = strrchr(argv[0], '/');
    program_name = slash ? slash + 1 : argv[0];
    /* libtool's uninstalled wrapper runs the real program as lt-NAME. */
    if (strncmp(program_name, "lt-", 3) == 0)
        program_name += 3;
    bool seed_given = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end = NULL;
        bool ok = true;
        errno = 0;
        switch (opt) {
        case O_THREADS: {
            unsigned long v = strtoul(optarg, &end, 10);
            ok = *end == '\0' && v >= 1 && v <= 1024;
            cfg.threads = (unsigned)v;
            break;
        }
        case O_SECONDS:
            cfg.seconds = strtod(optarg, &end);
            ok = *end == '\0' && cfg.seconds >= 0;
            break;
        case O_OPS:
            cfg.ops = strtoull(optarg, &end, 0);
            ok = *end == '\0' && !errno;
            break;
        case O_SEED:
            cfg.seed = strtoull(optarg, &end, 0);
            ok = *end == '\0' && !errno;
            seed_given = true;
            break;
        case O_MIN: ok = parse_size(optarg, &cfg.min_size); break;
        case O_MAX: ok = parse_size(optarg, &cfg.max_size); break;
        case O_WORKLOADS: ok = parse_workloads(optarg, &cfg.workloads); break;
        case O_SLOTS: {
            unsigned long v = strtoul(optarg, &end, 10);
            ok = *end == '\0' && v >= 1 && v <= 1u << 20;
            cfg.slots = (unsigned)v;
            break;
        }
        case O_FORK_INTERVAL:
            cfg.fork_interval = strtod(optarg, &end);
            ok = *end == '\0' && cfg.fork_interval >= 0;
            break;
        case O_HEADROOM:
            /* At least room for a 16 MiB huge block and its alignment slack. */
            ok = parse_size(optarg, &cfg.rlimit_headroom) && cfg.rlimit_headroom >= 32 * MiB;
            break;
        case O_WATCHDOG:
            cfg.watchdog = strtod(optarg, &end);
            ok = *end == '\0' && cfg.watchdog > 0;
            break;
        case O_VERBOSE: cfg.verbose = true; break;
        case O_SELF_TEST: cfg.self_test = true; break;
        case O_INJECT:
            cfg.inject_after = strtoull(optarg, &end, 0);
            ok = *end == '\0' && !errno;
            break;
        case O_HELP: usage(stdout); return EXIT_PASS;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (!ok) {
            fprintf(stderr, "%s: bad value for --%s: %s\n", program_name,
                    options[opt - O_THREADS].name, optarg);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument %s\n", program_name, argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (cfg.min_size > cfg.max_size) {
        fprintf(stderr, "%s: --min-size is larger than --max-size\n", program_name);
        return EXIT_USAGE;
    }
    if (cfg.seconds < 0)
        cfg.seconds = cfg.ops ? 0 : 10;
    if (!seed_given)
        cfg.seed = clock_seed();
    setvbuf(stdout, NULL, _IOLBF, 0);

    char workloads[96];
    workloads_text(cfg.workloads, workloads, sizeof workloads);
    snprintf(replay_options, sizeof replay_options,
             "--seed 0x%016" PRIx64 " --threads %u --seconds %g --ops %llu --min-size %zu "
             "--max-size %zu --workloads %s --slots %u%s", cfg.seed, cfg.threads, cfg.seconds,
             cfg.ops, cfg.min_size, cfg.max_size, workloads, cfg.slots,
             cfg.self_test ? " --self-test-corruption" : "");
    printf("%s: glweave %s, seed=0x%016" PRIx64 "\n", program_name, gl_version(), cfg.seed);
    printf("%s: %s\n", program_name, replay_options);
    if (cfg.self_test)
        return run_self_test(argv[0]);
    return run_stress();
}
