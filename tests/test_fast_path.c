/* test_fast_path.c -- every small class through the hit paths of gl_malloc
 * and gl_free (the assembly ones on x86_64, the C twin elsewhere): the block
 * is written whole, freed, and the same block comes back; LIFO order holds;
 * misses (empty bin, full bin, big sizes) behave like hits to the caller;
 * every hit is counted, in the thread and after it exited, also when the
 * hit countdown wraps; free-list links are stored encoded.
 *
 * SPDX-License-Identifier: MIT
 */
#include "glweave.h"
#include "internal.h"
#include "size_class.h"
#include "tcache.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static size_t class_sizes[GL_BINS];
static unsigned class_count;

static void setup(void)
{
    /* The library initialises itself; read the class sizes it uses. */
    gl_free(gl_malloc(1));
    class_count = 0;
    for (unsigned bin = 1; bin < GL_BINS; bin++)
        class_sizes[class_count++] = size_class_block_size[bin];
}

START_TEST(every_class_comes_back_through_the_hit_path)
{
    for (unsigned i = 0; i < class_count; i++) {
        size_t size = class_sizes[i];
        /* smallest and largest request of the class */
        size_t smallest = i == 0 ? 1 : class_sizes[i - 1] + 1;
        size_t requests[] = {smallest, size};
        for (unsigned r = 0; r < 2; r++) {
            unsigned char *p = gl_malloc(requests[r]);
            ck_assert_ptr_nonnull(p);
            ck_assert_uint_eq(gl_usable_size(p), size);
            memset(p, (int)(0x40 + i), size);
            gl_free(p);
            unsigned char *q = gl_malloc(requests[r]);
            ck_assert_msg(q == p, "class %zu, request %zu: freed %p, got %p", size, requests[r], (void *)p, (void *)q);
            /* the whole block was usable: the last byte is still ours */
            ck_assert_uint_eq(q[size - 1], 0x40 + i);
            gl_free(q);
        }
    }
}
END_TEST

START_TEST(bins_are_lifo_and_survive_overflow)
{
    /* More blocks than any bin holds: frees overflow into the arena
     * (flushes) and mallocs refill; every block stays intact and distinct. */
    enum { N = 1000 };
    static unsigned char *blocks[N];
    for (unsigned i = 0; i < class_count; i++) {
        size_t size = class_sizes[i];
        unsigned n = size > 4096 ? 100 : N;
        for (unsigned k = 0; k < n; k++) {
            blocks[k] = gl_malloc(size);
            ck_assert_ptr_nonnull(blocks[k]);
            memset(blocks[k], (int)(k & 0xff), size);
        }
        for (unsigned k = 0; k < n; k++) {
            ck_assert_uint_eq(blocks[k][0], k & 0xff);
            ck_assert_uint_eq(blocks[k][size - 1], k & 0xff);
            gl_free(blocks[k]);
        }
        /* the last freed comes back first */
        unsigned char *again = gl_malloc(size);
        ck_assert_ptr_eq(again, blocks[n - 1]);
        gl_free(again);
    }
}
END_TEST

START_TEST(misses_hand_the_argument_over_untouched)
{
    /* Sizes around the small limit and far above it: the miss path must see
     * the size the caller passed. */
    size_t sizes[] = {GL_SMALL_MAX - 1, GL_SMALL_MAX, GL_SMALL_MAX + 1, 100000, 3 << 20};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = gl_malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_ge(gl_usable_size(p), sizes[i]);
        p[0] = 1;
        p[sizes[i] - 1] = 2;
        gl_free(p);
    }
    gl_free(NULL); /* bin 0 miss, then the slow path's NULL check */
}
END_TEST

static uint64_t class_hits(unsigned bin)
{
    struct gl_class_stats k = {.version = GL_STATS_VERSION};
    ck_assert_int_eq(gl_stats_class(bin - 1, &k, sizeof k), 0);
    return k.cache_hits;
}

enum { PAIRS = 1000 };
/* Steps the worker and the checker take in turn. */
static pthread_barrier_t step;

static void *pairs_then_wait(void *arg)
{
    size_t size = (size_t)(uintptr_t)arg;
    gl_free(gl_malloc(size)); /* a miss: sets the cache up, refills the bin */
    pthread_barrier_wait(&step); /* set up */
    pthread_barrier_wait(&step); /* counted before */
    for (int i = 0; i < PAIRS; i++)
        gl_free(gl_malloc(size));
    pthread_barrier_wait(&step); /* paired */
    pthread_barrier_wait(&step); /* counted while alive */
    return NULL;
}

START_TEST(every_hit_is_counted_while_the_thread_lives_and_after)
{
    size_t size = 3000; /* the 3072-byte class, unused by the other tests */
    unsigned bin = size_class_bin(size);
    pthread_t thread;
    pthread_barrier_init(&step, NULL, 2);
    pthread_create(&thread, NULL, pairs_then_wait, (void *)(uintptr_t)size);
    pthread_barrier_wait(&step);
    uint64_t before = class_hits(bin);
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
    ck_assert_uint_eq(class_hits(bin), before + PAIRS); /* read from the live thread's TLS */
    pthread_barrier_wait(&step);
    pthread_join(thread, NULL);
    ck_assert_uint_eq(class_hits(bin), before + PAIRS); /* folded into its cold cache */
}
END_TEST

START_TEST(hits_survive_a_wrapped_countdown)
{
    /* The countdown in the low 31 bits of a bin's word wraps after 2^31
     * hits without a slow path; the borrow takes one from the room, which
     * the next count of the list turns back into 2^31 hits.  Start the
     * countdown at 2 and take 5 hits. */
    size_t size = 5000;
    unsigned bin = size_class_bin(size);
    gl_free(gl_malloc(size));
    uint64_t word = tcache_hot.words[bin];
    tcache_hot.words[bin] = (word & ~(uint64_t)TCACHE_COUNTDOWN_FULL) | 2;
    uint64_t before = class_hits(bin);
    for (int i = 0; i < 5; i++)
        gl_free(gl_malloc(size));
    gl_thread_flush();
    ck_assert_uint_eq(class_hits(bin), before + 5);
    /* The room came back too: the bin takes its full capacity again. */
    ck_assert_int_eq(tcache_word_room(tcache_hot.words[bin]), tcache_capacity[bin]);
}
END_TEST

START_TEST(links_are_stored_encoded)
{
    void *a = gl_malloc(64), *b = gl_malloc(64);
    gl_free(a);
    gl_free(b);
    /* b's link leads to a, but not in plain text */
    uintptr_t link = *(uintptr_t *)b;
    ck_assert_uint_ne(link, (uintptr_t)a);
    ck_assert_uint_eq(link ^ freelist_key, (uintptr_t)a);
    ck_assert_ptr_eq(gl_malloc(64), b);
    ck_assert_ptr_eq(gl_malloc(64), a);
    gl_free(a);
    gl_free(b);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("fast_path");
    TCase *tc = tcase_create("hits");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_class_comes_back_through_the_hit_path);
    tcase_add_test(tc, bins_are_lifo_and_survive_overflow);
    tcase_add_test(tc, misses_hand_the_argument_over_untouched);
    tcase_add_test(tc, every_hit_is_counted_while_the_thread_lives_and_after);
    tcase_add_test(tc, hits_survive_a_wrapped_countdown);
    tcase_add_test(tc, links_are_stored_encoded);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
