/* test_large.c -- the large-block heap: first fit by address, coalescing
 * with both neighbours, in-place resizing, and the heap walk that checks
 * boundary tags against the index after random operation sequences, and
 * how that walk reports a broken heap in --enable-debug builds.
 *
 * SPDX-License-Identifier: MIT
 */
#include "arena.h"
#include "glweave.h"
#include "init.h"
#include "internal.h"
#include "large.h"
#include "tcache.h"

#include "misuse_child.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct large_heap *my_heap(void)
{
    ck_assert(init_ensure());
    return &tcache_arena()->large;
}

/* Bytes a block of usable size u occupies, header included. */
static size_t footprint(void *p) { return gl_usable_size(p) + LARGE_HEADER_SIZE; }

START_TEST(three_neighbours_freed_out_of_order_coalesce)
{
    struct large_heap *heap = my_heap();
    char *a = gl_malloc(40000), *b = gl_malloc(40000), *c = gl_malloc(40000);
    char *fence = gl_malloc(40000); /* keeps c away from the free tail */
    ck_assert_ptr_eq(b, a + footprint(a));
    ck_assert_ptr_eq(c, b + footprint(b));
    size_t together = footprint(a) + footprint(b) + footprint(c) - LARGE_HEADER_SIZE;
    long free_before = large_heap_check(heap);
    gl_free(b);
    ck_assert_int_eq(large_heap_check(heap), free_before + 1);
    gl_free(c);
    ck_assert_int_eq(large_heap_check(heap), free_before + 1); /* b+c merged */
    gl_free(a);
    ck_assert_int_eq(large_heap_check(heap), free_before + 1); /* a+b+c merged */
    char *whole = gl_malloc(together);
    ck_assert_ptr_eq(whole, a);
    ck_assert_uint_ge(gl_usable_size(whole), together);
    memset(whole, 0x5a, together);
    ck_assert_int_ge(large_heap_check(heap), 0);
    gl_free(whole);
    gl_free(fence);
    ck_assert_int_ge(large_heap_check(heap), 0);
}
END_TEST

START_TEST(first_fit_takes_the_lowest_fitting_block)
{
    struct large_heap *heap = my_heap();
    char *blocks[7];
    size_t sizes[7] = {20000, 40000, 20000, 90000, 20000, 60000, 20000};
    for (int i = 0; i < 7; i++)
        blocks[i] = gl_malloc(sizes[i]);
    for (int i = 1; i < 7; i++)
        ck_assert((uintptr_t)blocks[i] > (uintptr_t)blocks[i - 1]);
    gl_free(blocks[1]); /* 40000 hole, lowest */
    gl_free(blocks[3]); /* 90000 hole */
    gl_free(blocks[5]); /* 60000 hole: the best fit for 50000, but not first */
    ck_assert_int_ge(large_heap_check(heap), 3);
    char *p = gl_malloc(50000);
    ck_assert_ptr_eq(p, blocks[3]);   /* first hole that fits 50000 */
    char *q = gl_malloc(30000);
    ck_assert_ptr_eq(q, blocks[1]);   /* lowest hole that fits 30000 */
    char *r = gl_malloc(55000);
    ck_assert_ptr_eq(r, blocks[5]);
    ck_assert_int_ge(large_heap_check(heap), 0);
    gl_free(p); gl_free(q); gl_free(r);
    for (int i = 0; i < 7; i += 2)
        gl_free(blocks[i]);
    ck_assert_int_ge(large_heap_check(heap), 0);
}
END_TEST

START_TEST(resize_in_place_grows_into_a_free_neighbour)
{
    struct large_heap *heap = my_heap();
    char *a = gl_malloc(30000), *b = gl_malloc(30000), *fence = gl_malloc(30000);
    memset(a, 0x11, 30000);
    gl_free(b);
    char *grown = gl_realloc(a, 55000);
    ck_assert_ptr_eq(grown, a);
    for (int i = 0; i < 30000; i++)
        ck_assert_int_eq(grown[i], 0x11);
    char *shrunk = gl_realloc(grown, 20000);
    ck_assert_ptr_eq(shrunk, a);
    ck_assert_int_ge(large_heap_check(heap), 0);
    gl_free(shrunk);
    gl_free(fence);
    ck_assert_int_ge(large_heap_check(heap), 0);
}
END_TEST

START_TEST(random_operations_keep_the_heap_consistent)
{
    struct large_heap *heap = my_heap();
    enum { SLOTS = 600 };
    static char *slot[SLOTS];
    static size_t length[SLOTS];
    uint64_t x = 88172645463325252ull;
    for (int step = 0; step < 40000; step++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int i = (int)(x % SLOTS);
        if (slot[i]) {
            for (size_t k = 0; k < length[i]; k += 997)
                ck_assert_int_eq((unsigned char)slot[i][k], (unsigned char)(i + k));
            if (x & 0x100) {
                size_t n = GL_SMALL_MAX + 1 + (x >> 20) % 300000;
                char *p = gl_realloc(slot[i], n);
                ck_assert_ptr_nonnull(p);
                slot[i] = p;
                length[i] = length[i] < n ? length[i] : n;
            } else {
                gl_free(slot[i]);
                slot[i] = NULL;
            }
        } else {
            length[i] = GL_SMALL_MAX + 1 + (x >> 20) % 300000;
            size_t alignment = (x & 0x200) ? ((size_t)32 << ((x >> 40) % 11)) : 16;
            slot[i] = gl_aligned_alloc(alignment, length[i]);
            ck_assert_ptr_nonnull(slot[i]);
            ck_assert_uint_eq((uintptr_t)slot[i] % alignment, 0);
            for (size_t k = 0; k < length[i]; k += 997)
                slot[i][k] = (char)(i + k);
        }
        if (step % 500 == 0)
            ck_assert_int_ge(large_heap_check(heap), 0);
    }
    for (int i = 0; i < SLOTS; i++)
        gl_free(slot[i]);
    ck_assert_int_ge(large_heap_check(heap), 0);
    ck_assert_uint_eq(heap->allocated, 0);
}
END_TEST

/* --enable-debug walks the heap before and after every large operation
 * with large_heap_verify.  Called directly here, so that every build tests
 * its report: one line naming the call, the pointer it was given and the
 * block where the walk found the heap broken, then abort. */
struct walk_case {
    char *a, *b;
    size_t past_end; /* bytes a's overflow writes beyond its usable size */
};

static void overflow_then_walk(void *arg)
{
    struct walk_case *w = arg;
    memset(w->a, 'x', gl_usable_size(w->a) + w->past_end);
    large_heap_verify(my_heap(), "free", w->b, "the heap walk before freeing found a bad block at");
    _exit(0);
}

START_TEST(heap_walk_reports_call_pointer_and_block)
{
    struct large_heap *heap = my_heap();
    char *a = gl_malloc(40000), *b = gl_malloc(40000), *fence = gl_malloc(40000);
    ck_assert_ptr_eq(b, a + footprint(a));
    large_heap_verify(heap, "free", b, "must not be reported"); /* sound: returns */
    static const size_t past_ends[] = {8, 16};  /* b's guard, b's whole header */
    for (size_t i = 0; i < 2; i++) {
        struct walk_case w = {a, b, past_ends[i]};
        struct child_end end;
        char how[96], expected[160];
        misuse_run_child(overflow_then_walk, &w, &end);
        snprintf(expected, sizeof expected,
                 "glweave: free(): heap corruption near 0x%llx (the heap walk before freeing found a bad block at "
                 "0x%llx)\n",
                 (unsigned long long)misuse_bits(b), (unsigned long long)(misuse_bits(b) - LARGE_HEADER_SIZE));
        ck_assert_msg(WIFSIGNALED(end.status) && WTERMSIG(end.status) == SIGABRT && strcmp(end.err, expected) == 0,
                      "%zu bytes past a: the child %s, stderr \"%s\"; expected SIGABRT after \"%s\"",
                      past_ends[i], misuse_describe(end.status, how, sizeof how), end.err, expected);
    }
    large_heap_verify(heap, "free", b, "must not be reported"); /* the overflows were the children's */
    gl_free(a);
    gl_free(b);
    gl_free(fence);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("large");
    TCase *tc = tcase_create("heap");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, three_neighbours_freed_out_of_order_coalesce);
    tcase_add_test(tc, first_fit_takes_the_lowest_fitting_block);
    tcase_add_test(tc, resize_in_place_grows_into_a_free_neighbour);
    tcase_add_test(tc, random_operations_keep_the_heap_consistent);
    tcase_add_test(tc, heap_walk_reports_call_pointer_and_block);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
