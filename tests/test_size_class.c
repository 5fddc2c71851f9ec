/* test_size_class.c -- every small request maps to a class that fits it,
 * wastes at most 25% (or under 16 bytes for the smallest classes), and is
 * 16-byte aligned; aligned lookups give aligned classes.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "size_class.h"

#include <check.h>
#include <stdlib.h>

static void setup(void) { size_class_init(); }

START_TEST(every_request_fits_with_bounded_waste)
{
    for (size_t request = 0; request <= GL_SMALL_MAX; request++) {
        unsigned bin = size_class_bin(request);
        ck_assert_uint_ge(bin, 1);
        ck_assert_uint_lt(bin, GL_BINS);
        size_t block = size_class_block_size[bin];
        ck_assert_uint_ge(block, request);
        ck_assert_uint_eq(block % 16, 0);
        size_t waste = block - request;
        if (request > 128)
            ck_assert_msg(waste * 4 <= block, "request %zu -> %zu wastes %zu", request, block, waste);
        else
            ck_assert_msg(waste < 16 || request == 0, "request %zu -> %zu", request, block);
        /* the smallest fitting class: the one below is too small */
        if (bin > 1)
            ck_assert_uint_lt(size_class_block_size[bin - 1], request);
    }
}
END_TEST

START_TEST(classes_increase_and_end_at_small_max)
{
    ck_assert_uint_eq(size_class_block_size[0], 0);
    for (unsigned bin = 2; bin < GL_BINS; bin++)
        ck_assert_uint_gt(size_class_block_size[bin], size_class_block_size[bin - 1]);
    ck_assert_uint_eq(size_class_block_size[GL_BINS - 1], GL_SMALL_MAX);
}
END_TEST

START_TEST(aligned_lookup_gives_multiples_of_the_alignment)
{
    for (size_t alignment = 32; alignment <= GL_SMALL_MAX; alignment *= 2) {
        for (size_t request = 1; request <= GL_SMALL_MAX; request += 37) {
            unsigned bin = size_class_bin_aligned(request, alignment);
            if (request > GL_SMALL_MAX)
                continue;
            ck_assert_uint_ne(bin, 0);
            ck_assert_uint_ge(size_class_block_size[bin], request);
            ck_assert_uint_eq(size_class_block_size[bin] % alignment, 0);
        }
    }
    ck_assert_uint_eq(size_class_bin_aligned(100, 2 * GL_SMALL_MAX), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("size_class");
    TCase *tc = tcase_create("classes");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, every_request_fits_with_bounded_waste);
    tcase_add_test(tc, classes_increase_and_end_at_small_max);
    tcase_add_test(tc, aligned_lookup_gives_multiples_of_the_alignment);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
