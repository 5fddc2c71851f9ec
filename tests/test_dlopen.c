/* test_dlopen.c -- libglweave loaded with dlopen() by a program whose
 * threads were started before the load, and more threads started after it:
 * all of them allocate, verify and free through the loaded library (its
 * initial-exec TLS must fit glibc's static TLS surplus, its initialisation
 * must be lazy and thread-safe), and blocks cross threads.  The same again
 * in a process where the fixed address of the fast paths' tables is taken
 * before the load: the library must then work with its portable fast path.
 * This program is not linked with glweave.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <check.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
/* GL_FIXED_TABLES_BASE in lib/internal.h */
#define FIXED_TABLES_BASE 0x20000000ul

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void (*flush_fn)(void);

static malloc_fn lib_malloc;
static free_fn lib_free;
static flush_fn lib_flush;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t loaded_cond = PTHREAD_COND_INITIALIZER;
static int loaded;

enum { THREADS_BEFORE = 4, THREADS_AFTER = 4, ROUNDS = 20000, KEEP = 64 };
static void *handed_over[THREADS_BEFORE + THREADS_AFTER][KEEP];

static const char *library_path(void)
{
    static char path[4096];
    const char *top = getenv("top_builddir");
    snprintf(path, sizeof path, "%s/lib/.libs/libglweave.so", top ? top : ".");
    return path;
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    pthread_mutex_lock(&gate);
    while (!loaded)
        pthread_cond_wait(&loaded_cond, &gate);
    pthread_mutex_unlock(&gate);
    uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1);
    unsigned char *live[16] = {0};
    size_t length[16] = {0};
    for (unsigned round = 0; round < ROUNDS; round++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        unsigned slot = x % 16;
        if (live[slot]) {
            for (size_t k = 0; k < length[slot]; k++)
                if (live[slot][k] != (unsigned char)(slot + k + id))
                    return (void *)"corrupted block";
            lib_free(live[slot]);
            live[slot] = NULL;
        } else {
            length[slot] = 1 + (x >> 32) % ((x & 0x100) ? 40000 : 300);
            live[slot] = lib_malloc(length[slot]);
            if (live[slot] == NULL)
                return (void *)"allocation failed";
            for (size_t k = 0; k < length[slot]; k++)
                live[slot][k] = (unsigned char)(slot + k + id);
        }
    }
    for (unsigned slot = 0; slot < 16; slot++)
        lib_free(live[slot]);
    /* blocks that another thread will free */
    for (unsigned k = 0; k < KEEP; k++) {
        handed_over[id][k] = lib_malloc(24 + k * 8);
        if (handed_over[id][k] == NULL)
            return (void *)"allocation failed";
        memset(handed_over[id][k], (int)id, 24 + k * 8);
    }
    lib_flush();
    return NULL;
}

/* Is there a mapping that starts at FIXED_TABLES_BASE, and is it
 * readable? */
static int fixed_region_state(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int state = 0; /* absent */
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long start;
        char perms[8];
        if (sscanf(line, "%lx-%*x %7s", &start, perms) == 2 && start == FIXED_TABLES_BASE)
            state = perms[0] == 'r' ? 2 : 1;
    }
    if (maps)
        fclose(maps);
    return state;
}

static void threads_before_and_after_dlopen(void)
{
    pthread_t threads[THREADS_BEFORE + THREADS_AFTER];
    for (unsigned i = 0; i < THREADS_BEFORE; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i), 0);

    void *library = dlopen(library_path(), RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(library != NULL, "dlopen: %s", dlerror());
    lib_malloc = (malloc_fn)(uintptr_t)dlsym(library, "gl_malloc");
    lib_free = (free_fn)(uintptr_t)dlsym(library, "gl_free");
    lib_flush = (flush_fn)(uintptr_t)dlsym(library, "gl_thread_flush");
    ck_assert(lib_malloc && lib_free && lib_flush);

    pthread_mutex_lock(&gate);
    loaded = 1;
    pthread_cond_broadcast(&loaded_cond);
    pthread_mutex_unlock(&gate);
    for (unsigned i = THREADS_BEFORE; i < THREADS_BEFORE + THREADS_AFTER; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < THREADS_BEFORE + THREADS_AFTER; i++) {
        void *result;
        ck_assert_int_eq(pthread_join(threads[i], &result), 0);
        ck_assert_msg(result == NULL, "thread %u: %s", i, (const char *)result);
    }
    /* the main thread frees every thread's blocks */
    for (unsigned i = 0; i < THREADS_BEFORE + THREADS_AFTER; i++)
        for (unsigned k = 0; k < KEEP; k++) {
            unsigned char *p = handed_over[i][k];
            ck_assert_uint_eq(p[0], i);
            ck_assert_uint_eq(p[24 + k * 8 - 1], i);
            lib_free(p);
        }
    /* The library stays loaded: threads' exit handlers (pthread keys) point
     * into it, as for any allocator that is dlopened. */
}

START_TEST(load_with_threads_before_and_after)
{
    threads_before_and_after_dlopen();
#ifdef GLWEAVE_ASM_X86_64
    /* The tables went to their fixed address: the assembly fast path runs. */
    ck_assert_int_eq(fixed_region_state(), 2);
#endif
}
END_TEST

START_TEST(load_when_the_fixed_address_is_taken)
{
    void *squatter = mmap((void *)FIXED_TABLES_BASE, 1 << 20, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ck_assert_ptr_eq(squatter, (void *)FIXED_TABLES_BASE);
    threads_before_and_after_dlopen();
    ck_assert_int_eq(fixed_region_state(), 1); /* still ours, untouched */
}
END_TEST

int main(void)
{
    FILE *probe = fopen(library_path(), "r");
    if (probe == NULL) {
        printf("skipped: %s not built (static-only build?)\n", library_path());
        return 77;
    }
    fclose(probe);
    Suite *suite = suite_create("dlopen");
    TCase *tc = tcase_create("dlopen");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, load_with_threads_before_and_after);
    tcase_add_test(tc, load_when_the_fixed_address_is_taken);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
