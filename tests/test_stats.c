/* test_stats.c -- the statistics agree with what the program holds (across
 * threads), memory goes back to the OS after frees and after gl_trim, and
 * every GLWEAVE_OPTIONS entry changes what it says (checked in child
 * processes that run this program in probe mode with the variable set).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "glweave.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static struct gl_stats stats_now(void)
{
    struct gl_stats s = {.version = GL_STATS_VERSION};
    ck_assert_int_eq(gl_stats_get(&s, sizeof s), 0);
    return s;
}

static size_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* --- counters across threads -------------------------------------------- */

enum { THREADS = 4, BLOCKS = 3000 };
static pthread_barrier_t allocated_barrier, checked_barrier;
static size_t usable_total[THREADS];

static void *hold_and_release(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    static _Thread_local void *blocks[BLOCKS];
    uint64_t x = 0x2545f4914f6cdd1dull * (id + 1);
    size_t total = 0;
    for (unsigned i = 0; i < BLOCKS; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t size = (i % 500 == 7) ? (2 << 20) + x % 100000 : (x & 1) ? 1 + x % 300 : 1 + x % 60000;
        blocks[i] = gl_malloc(size);
        ck_assert_ptr_nonnull(blocks[i]);
        total += gl_usable_size(blocks[i]);
    }
    usable_total[id] = total;
    pthread_barrier_wait(&allocated_barrier);
    pthread_barrier_wait(&checked_barrier);
    for (unsigned i = 0; i < BLOCKS; i++)
        gl_free(blocks[i]);
    return NULL;
}

START_TEST(allocated_is_the_sum_of_live_usable_sizes_across_threads)
{
    gl_trim();
    struct gl_stats before = stats_now();
    pthread_t threads[THREADS];
    pthread_barrier_init(&allocated_barrier, NULL, THREADS + 1);
    pthread_barrier_init(&checked_barrier, NULL, THREADS + 1);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, hold_and_release, (void *)(uintptr_t)i);
    pthread_barrier_wait(&allocated_barrier);
    size_t expected = before.allocated;
    for (unsigned i = 0; i < THREADS; i++)
        expected += usable_total[i];
    struct gl_stats during = stats_now();
    ck_assert_uint_eq(during.allocated, expected);
    ck_assert_uint_eq(during.allocated, during.small_allocated + during.large_allocated + during.huge_allocated);
    ck_assert_uint_eq(during.active, during.allocated + during.thread_cached);
    ck_assert_uint_ge(during.mapped, during.active);
    ck_assert_uint_le(during.resident, during.mapped);
    ck_assert_uint_eq(during.retained, during.mapped - during.resident);
    ck_assert_uint_eq(during.thread_caches, before.thread_caches + THREADS);
    pthread_barrier_wait(&checked_barrier);
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    struct gl_stats after = stats_now();
    ck_assert_uint_eq(after.allocated, before.allocated);
    ck_assert_uint_eq(after.thread_caches, before.thread_caches);
}
END_TEST

START_TEST(class_and_arena_counters_follow_the_program)
{
    struct gl_class_stats before = {.version = GL_STATS_VERSION};
    ck_assert_int_eq(gl_stats_class(2, &before, sizeof before), 0); /* 48-byte class */
    ck_assert_uint_eq(before.block_size, 48);
    void *blocks[500];
    for (int i = 0; i < 500; i++)
        blocks[i] = gl_malloc(40);
    struct gl_class_stats during = {.version = GL_STATS_VERSION};
    gl_stats_class(2, &during, sizeof during);
    ck_assert_uint_eq(during.blocks_in_use, before.blocks_in_use + 500);
    ck_assert_uint_gt(during.cache_misses, before.cache_misses);
    ck_assert_uint_ge(during.slabs, 1);
    for (int i = 0; i < 500; i++)
        gl_free(blocks[i]);
    struct gl_class_stats after = {.version = GL_STATS_VERSION};
    gl_stats_class(2, &after, sizeof after);
    ck_assert_uint_eq(after.blocks_in_use, before.blocks_in_use);
    ck_assert_uint_gt(after.cache_flushes, before.cache_flushes);

    /* 500 more allocations of the class: all hits, after the frees above */
    for (int i = 0; i < 500; i++)
        gl_free(gl_malloc(40));
    struct gl_class_stats hit = {.version = GL_STATS_VERSION};
    gl_stats_class(2, &hit, sizeof hit);
    ck_assert_uint_eq(hit.cache_hits, after.cache_hits + 500);
    ck_assert_uint_eq(hit.cache_misses, after.cache_misses);

    struct gl_stats s = stats_now();
    size_t locks = 0, arena_hits = 0, arena_misses = 0, class_hits = 0, class_misses = 0;
    for (unsigned i = 0; i < s.arenas; i++) {
        struct gl_arena_stats a = {.version = GL_STATS_VERSION};
        ck_assert_int_eq(gl_stats_arena(i, &a, sizeof a), 0);
        locks += a.lock_acquired;
        arena_hits += a.cache_hits;
        arena_misses += a.cache_misses;
    }
    for (unsigned c = 0; c < GL_STATS_CLASSES; c++) {
        struct gl_class_stats k = {.version = GL_STATS_VERSION};
        ck_assert_int_eq(gl_stats_class(c, &k, sizeof k), 0);
        class_hits += k.cache_hits;
        class_misses += k.cache_misses;
    }
    ck_assert_uint_gt(locks, 0);
    /* the arenas' shares add up to the classes' totals */
    ck_assert_uint_eq(arena_hits, class_hits);
    ck_assert_uint_eq(arena_misses, class_misses);
    ck_assert_uint_gt(class_hits, 0);
    struct gl_arena_stats bad = {.version = GL_STATS_VERSION};
    ck_assert_int_eq(gl_stats_arena(s.arenas, &bad, sizeof bad), EINVAL);
    ck_assert_int_eq(gl_stats_class(GL_STATS_CLASSES, &after, sizeof after), EINVAL);
}
END_TEST

START_TEST(stats_print_writes_a_report)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(gl_stats_print(fds[1]), 0);
    close(fds[1]);
    char text[8192] = {0};
    size_t got = 0;
    ssize_t n;
    while (got < sizeof text - 1 && (n = read(fds[0], text + got, sizeof text - 1 - got)) > 0)
        got += (size_t)n;
    close(fds[0]);
    ck_assert_ptr_nonnull(strstr(text, "statistics"));
    ck_assert_ptr_nonnull(strstr(text, "allocated"));
    ck_assert_ptr_nonnull(strstr(text, "resident"));
    ck_assert_ptr_nonnull(strstr(text, "lock_taken"));
}
END_TEST

/* --- memory goes back ---------------------------------------------------- */

static void *churn_256m(void *arg)
{
    (void)arg;
    enum { N = 20000 };
    static _Thread_local void *blocks[N];
    size_t total = 0;
    unsigned n = 0;
    uint64_t x = (uint64_t)(uintptr_t)&n | 1;
    while (total < ((size_t)256 << 20) && n < N) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t size = (x & 3) == 0 ? 16384 + x % 200000 : 16 + x % 2000;
        blocks[n] = gl_malloc(size);
        memset(blocks[n], 1, size);
        total += size;
        n++;
    }
    for (unsigned i = 0; i < n; i++)
        gl_free(blocks[i]);
    return NULL;
}

START_TEST(resident_memory_falls_back_after_free_and_trim)
{
    gl_trim();
    size_t start = resident_bytes();
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, churn_256m, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    size_t after_free = resident_bytes();
    /* without gl_trim: at most dirty_max (8 MiB) per arena stays dirty, and
     * exited threads' caches went home */
    bool rss_is_ours = true;
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
    /* Under ThreadSanitizer the process's resident memory also holds TSan's
     * own state for the 1 GiB written: +84 MiB measured here, while gl_stats'
     * resident (glweave's mappings only) was +5 MiB. */
    rss_is_ours = false;
#endif
#endif
    ck_assert_msg(!rss_is_ours || after_free <= start + ((size_t)64 << 20),
                  "resident grew by %zu MiB", (after_free - start) >> 20);
    ck_assert_int_ge(gl_trim(), 0);
    size_t after_trim = resident_bytes();
    ck_assert_msg(after_trim <= start + ((size_t)16 << 20), "resident after trim grew by %zu MiB",
                  (after_trim - start) >> 20);
    ck_assert_uint_eq(stats_now().dirty, 0);
}
END_TEST

/* --- options, through child processes ----------------------------------- */

/* Probe mode: performs a named scenario under the inherited
 * GLWEAVE_OPTIONS and prints what it observed as "key=value" lines. */
static int probe(const char *scenario)
{
    struct gl_stats s = {.version = GL_STATS_VERSION};
    if (strcmp(scenario, "caches") == 0) {
        static void *blocks[36][64];
        for (unsigned c = 0; c < 36; c++)
            for (unsigned k = 0; k < 64; k++)
                blocks[c][k] = gl_malloc(c < 8 ? 16 * (c + 1) : 128u << ((c - 8) / 4));
        for (unsigned c = 0; c < 36; c++)
            for (unsigned k = 0; k < 64; k++)
                gl_free(blocks[c][k]);
    } else if (strcmp(scenario, "dirty") == 0) {
        void *blocks[100];
        for (int i = 0; i < 100; i++) {
            blocks[i] = gl_malloc(200000);
            memset(blocks[i], 1, 200000);
        }
        /* every other one: the free spans cannot coalesce into whole free
         * segments, which would be unmapped rather than kept dirty */
        for (int i = 1; i < 100; i += 2)
            gl_free(blocks[i]);
    } else if (strcmp(scenario, "double_free") == 0) {
        char *p = gl_malloc(48);
        gl_free(p);
        gl_free(p);
        printf("after_second_free=1\n");
        fflush(stdout);
    } else if (strcmp(scenario, "bad_free") == 0) {
        int local[8];
        gl_free(local + 2);
        printf("survived=1\n");
    }
    gl_stats_get(&s, sizeof s);
    printf("arenas=%u\nthread_cached=%zu\nthread_caches=%zu\ndirty=%zu\n", s.arenas, s.thread_cached,
           s.thread_caches, s.dirty);
    fflush(stdout);
    return 0;
}

struct probe_result {
    int status;
    char out[4096];
    char err[4096];
};

static void read_all(int fd, char *buffer, size_t size)
{
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && (n = read(fd, buffer + got, size - 1 - got)) > 0)
        got += (size_t)n;
    buffer[got] = 0;
}

static void run_probe(const char *options, const char *scenario, struct probe_result *result)
{
    int out[2], err[2];
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (options)
            setenv("GLWEAVE_OPTIONS", options, 1);
        else
            unsetenv("GLWEAVE_OPTIONS");
        execl("/proc/self/exe", "test_stats", "--probe", scenario, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    read_all(out[0], result->out, sizeof result->out);
    read_all(err[0], result->err, sizeof result->err);
    close(out[0]);
    close(err[0]);
    ck_assert_int_eq(waitpid(pid, &result->status, 0), pid);
}

static size_t value_of(const struct probe_result *result, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "%s=", key);
    const char *at = strstr(result->out, pattern);
    ck_assert_msg(at != NULL, "probe printed no %s: %s / %s", key, result->out, result->err);
    return strtoull(at + strlen(pattern), NULL, 10);
}

static bool exited_ok(const struct probe_result *result)
{
    return WIFEXITED(result->status) && WEXITSTATUS(result->status) == 0;
}

START_TEST(option_arenas)
{
    struct probe_result r;
    run_probe("arenas=3", "none", &r);
    ck_assert(exited_ok(&r));
    ck_assert_uint_eq(value_of(&r, "arenas"), 3);
}
END_TEST

START_TEST(option_tcache_bytes)
{
    struct probe_result r;
    run_probe(NULL, "caches", &r);
    ck_assert(exited_ok(&r));
    size_t default_cached = value_of(&r, "thread_cached");
    ck_assert_uint_gt(default_cached, 65536);
    run_probe("tcache_bytes=64k", "caches", &r);
    ck_assert(exited_ok(&r));
    ck_assert_uint_le(value_of(&r, "thread_cached"), 65536);
    ck_assert_uint_gt(value_of(&r, "thread_cached"), 0);
    run_probe("tcache_bytes=0", "caches", &r);
    ck_assert(exited_ok(&r));
    ck_assert_uint_eq(value_of(&r, "thread_cached"), 0);
    ck_assert_uint_eq(value_of(&r, "thread_caches"), 0);
    /* Without thread caches every small free is checked at the call: a
     * double free aborts in the second gl_free, not later. */
    run_probe("tcache_bytes=0", "double_free", &r);
    ck_assert(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT);
    ck_assert_ptr_nonnull(strstr(r.err, "glweave: free(): invalid pointer 0x"));
    ck_assert_ptr_nonnull(strstr(r.err, "double free"));
    ck_assert_ptr_null(strstr(r.out, "after_second_free"));
    /* With them, it is found when the cache is counted: at the latest when
     * the process exits. */
    run_probe(NULL, "double_free", &r);
    ck_assert(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT);
    ck_assert_ptr_nonnull(strstr(r.out, "after_second_free=1"));
    ck_assert_ptr_nonnull(strstr(r.err, "glweave: free(): "));
}
END_TEST

START_TEST(option_decay_ms_and_dirty_max)
{
    struct probe_result r;
    /* a long decay and a high ceiling keep freed memory dirty ... */
    run_probe("decay_ms=3600000,dirty_max=1g", "dirty", &r);
    ck_assert(exited_ok(&r));
    ck_assert_uint_ge(value_of(&r, "dirty"), (size_t)9 << 20);
    /* ... no decay gives it back at once ... */
    run_probe("decay_ms=0,dirty_max=1g", "dirty", &r);
    ck_assert(exited_ok(&r));
    ck_assert_uint_eq(value_of(&r, "dirty"), 0);
    /* ... and a low ceiling bounds what stays dirty */
    run_probe("decay_ms=3600000,dirty_max=1m", "dirty", &r);
    ck_assert(exited_ok(&r));
    ck_assert_uint_le(value_of(&r, "dirty"), (size_t)1 << 20);
}
END_TEST

START_TEST(option_abort_on_error)
{
    struct probe_result r;
    run_probe(NULL, "bad_free", &r);
    ck_assert(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT);
    ck_assert_ptr_nonnull(strstr(r.err, "glweave: free(): invalid pointer 0x"));
    run_probe("abort_on_error=0", "bad_free", &r);
    ck_assert(exited_ok(&r));
    ck_assert_ptr_nonnull(strstr(r.err, "glweave: free(): invalid pointer 0x"));
    ck_assert_uint_eq(value_of(&r, "survived"), 1);
}
END_TEST

START_TEST(option_stats_on_exit)
{
    struct probe_result r;
    run_probe("stats_on_exit=1", "none", &r);
    ck_assert(exited_ok(&r));
    ck_assert_ptr_nonnull(strstr(r.err, "statistics"));
    run_probe(NULL, "none", &r);
    ck_assert_ptr_null(strstr(r.err, "statistics"));
}
END_TEST

START_TEST(malformed_options_are_survived)
{
    struct probe_result r;
    run_probe("arenas=abc,,=,foo,tcache_bytes=-5,decay_ms=99999999999999999999999,arenas=0,stats_on_exit=2",
              "caches", &r);
    ck_assert_msg(exited_ok(&r), "status %d, stderr %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "bad value for option 'arenas'"));
    ck_assert_ptr_nonnull(strstr(r.err, "missing '=' in 'foo'"));
    ck_assert_ptr_nonnull(strstr(r.err, "bad value for option 'tcache_bytes'"));
    ck_assert_ptr_nonnull(strstr(r.err, "bad value for option 'decay_ms'"));
    ck_assert_ptr_nonnull(strstr(r.err, "bad value for option 'stats_on_exit'"));
    ck_assert_uint_eq(value_of(&r, "arenas"), (size_t)sysconf(_SC_NPROCESSORS_ONLN));
    ck_assert_uint_gt(value_of(&r, "thread_cached"), 0); /* the default cache */
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--probe") == 0)
        return probe(argv[2]);
    Suite *suite = suite_create("stats");
    TCase *counters = tcase_create("counters");
    tcase_set_timeout(counters, 120);
    tcase_add_test(counters, allocated_is_the_sum_of_live_usable_sizes_across_threads);
    tcase_add_test(counters, class_and_arena_counters_follow_the_program);
    tcase_add_test(counters, stats_print_writes_a_report);
    tcase_add_test(counters, resident_memory_falls_back_after_free_and_trim);
    suite_add_tcase(suite, counters);
    TCase *opts = tcase_create("options");
    tcase_set_timeout(opts, 120);
    tcase_add_test(opts, option_arenas);
    tcase_add_test(opts, option_tcache_bytes);
    tcase_add_test(opts, option_decay_ms_and_dirty_max);
    tcase_add_test(opts, option_abort_on_error);
    tcase_add_test(opts, option_stats_on_exit);
    tcase_add_test(opts, malformed_options_are_survived);
    suite_add_tcase(suite, opts);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
