/* test_large_index.c -- the treap behind the large-block first fit keeps
 * its invariants (address order, heap order, subtree maxima) through random
 * insert/remove/replace/resize sequences, and first fit returns the lowest-addressed
 * fitting node, compared with a brute-force scan.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "large_index.h"

#include <check.h>
#include <stdlib.h>

#define NODES 4000

static struct large_node nodes[NODES];
static bool present[NODES];
static size_t sizes[NODES];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static struct large_node *brute_first_fit(size_t size)
{
    for (int i = 0; i < NODES; i++) /* nodes[] is in address order */
        if (present[i] && sizes[i] >= size)
            return &nodes[i];
    return NULL;
}

/* The tree's invariants now and then (every step near the end), and a
 * first-fit search against brute force at every step. */
static void check_step(struct large_node *root, long count, int step)
{
    if (step % 997 == 0 || step > 59900)
        ck_assert_int_eq(large_index_check(root), count);
    size_t want = 64 + 16 * (next_random() % 6000);
    ck_assert_ptr_eq(large_index_first_fit(root, want), brute_first_fit(want));
}

/* Empties the tree completely. */
static void remove_all(struct large_node **root)
{
    for (int i = 0; i < NODES; i++)
        if (present[i]) {
            large_index_remove(root, &nodes[i]);
            present[i] = false;
        }
    ck_assert_ptr_null(*root);
}

START_TEST(random_insert_remove_keeps_invariants)
{
    struct large_node *root = NULL;
    long count = 0;
    for (int step = 0; step < 60000; step++) {
        int i = (int)(next_random() % NODES);
        if (present[i]) {
            large_index_remove(&root, &nodes[i]);
            present[i] = false;
            count--;
        } else {
            sizes[i] = 64 + 16 * (next_random() % 5000);
            large_index_insert(&root, &nodes[i], sizes[i]);
            present[i] = true;
            count++;
        }
        check_step(root, count, step);
    }
    remove_all(&root);
    ck_assert_ptr_null(large_index_first_fit(root, 1));
}
END_TEST

/* Moves and resizes, as the heap does when it carves a free block from the
 * front or merges a freed block into a free neighbour: a node takes the
 * place of its present neighbour in the array (no present node between
 * them), or changes size in place. */
START_TEST(replace_and_resize_keep_invariants)
{
    struct large_node *root = NULL;
    long count = 0;
    for (int i = 0; i < NODES; i++)
        present[i] = false;
    for (int step = 0; step < 60000; step++) {
        int i = (int)(next_random() % NODES);
        unsigned op = (unsigned)(next_random() % 4);
        size_t size = 64 + 16 * (next_random() % 5000);
        if (!present[i]) {
            large_index_insert(&root, &nodes[i], size);
            sizes[i] = size;
            present[i] = true;
            count++;
        } else if (op == 0) {
            large_index_remove(&root, &nodes[i]);
            present[i] = false;
            count--;
        } else if (op == 1) {
            large_index_resize(&root, &nodes[i], size);
            sizes[i] = size;
        } else {
            int to = op == 2 ? i + 1 : i - 1; /* up (carving) or down (merging) */
            if (to < 0 || to >= NODES || present[to])
                continue;
            large_index_replace(&root, &nodes[i], &nodes[to], size);
            present[i] = false;
            present[to] = true;
            sizes[to] = size;
        }
        check_step(root, count, step);
    }
    remove_all(&root);
}
END_TEST

START_TEST(check_detects_a_broken_annotation)
{
    struct large_node *root = NULL;
    for (int i = 0; i < 100; i++)
        large_index_insert(&root, &nodes[i], 100 + (size_t)i);
    ck_assert_int_eq(large_index_check(root), 100);
    if (root->left)
        root->left_max += 16;
    else
        root->right_max += 16;
    ck_assert_int_eq(large_index_check(root), -1);
}
END_TEST

START_TEST(depth_stays_logarithmic_for_sequential_addresses)
{
    /* Blocks arrive in address order (the common case when a segment is
     * carved); a plain BST would degenerate into a list. */
    struct large_node *root = NULL;
    for (int i = 0; i < NODES; i++)
        large_index_insert(&root, &nodes[i], 64);
    int depth = 0;
    for (struct large_node *n = root; n; n = n->right)
        depth++;
    ck_assert_int_lt(depth, 64);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("large_index");
    TCase *tc = tcase_create("treap");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, random_insert_remove_keeps_invariants);
    tcase_add_test(tc, replace_and_resize_keep_invariants);
    tcase_add_test(tc, check_detects_a_broken_annotation);
    tcase_add_test(tc, depth_stays_logarithmic_for_sequential_addresses);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
