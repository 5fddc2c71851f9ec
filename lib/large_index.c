/* large_index.c -- a treap over free large blocks, ordered by address and
 * annotated with the largest block size in each subtree, so that the
 * address-ordered first fit is found in O(log n) expected time instead of by
 * walking a list.  Priorities are a hash of the node's address: no random
 * state, and a program cannot choose addresses to unbalance the tree.
 * It owns the tree shape only; it never reads or writes block headers.
 *
 * SPDX-License-Identifier: MIT
 */
#include "large_index.h"
#include "error.h"

static inline uint64_t node_priority(const struct large_node *node)
{
    uint64_t x = (uint64_t)(uintptr_t)node;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static inline size_t subtree_max(const struct large_node *node)
{
    return node ? node->max_size : 0;
}

static inline void refresh(struct large_node *node)
{
    size_t m = node->size;
    size_t l = subtree_max(node->left), r = subtree_max(node->right);
    if (l > m)
        m = l;
    if (r > m)
        m = r;
    node->max_size = m;
}

/* Splits tree into nodes below key (*below) and the rest (*rest). */
static void split(struct large_node *tree, uintptr_t key,
                  struct large_node **below, struct large_node **rest)
{
    if (tree == NULL) {
        *below = *rest = NULL;
    } else if ((uintptr_t)tree < key) {
        split(tree->right, key, &tree->right, rest);
        refresh(tree);
        *below = tree;
    } else {
        split(tree->left, key, below, &tree->left);
        refresh(tree);
        *rest = tree;
    }
}

/* Joins two trees where every key of low is below every key of high. */
static struct large_node *merge(struct large_node *low, struct large_node *high)
{
    if (low == NULL)
        return high;
    if (high == NULL)
        return low;
    if (node_priority(low) > node_priority(high)) {
        low->right = merge(low->right, high);
        refresh(low);
        return low;
    }
    high->left = merge(low, high->left);
    refresh(high);
    return high;
}

void large_index_insert(struct large_node **root, struct large_node *node, size_t size)
{
    struct large_node *below, *rest;
    node->left = node->right = NULL;
    node->size = node->max_size = size;
    split(*root, (uintptr_t)node, &below, &rest);
    *root = merge(merge(below, node), rest);
}

void large_index_remove(struct large_node **root, struct large_node *node)
{
    /* Walk down to the node, then replace it by the merge of its children;
     * only the path above it needs its annotation refreshed. */
    struct large_node *path[128];
    size_t depth = 0;
    struct large_node **link = root;
    while (*link != node) {
        if (*link == NULL || depth == sizeof path / sizeof path[0])
            error_fatal("large block index: node to remove is missing");
        path[depth++] = *link;
        link = (uintptr_t)node < (uintptr_t)*link ? &(*link)->left : &(*link)->right;
    }
    *link = merge(node->left, node->right);
    while (depth > 0)
        refresh(path[--depth]);
}

struct large_node *large_index_first_fit(struct large_node *root, size_t size)
{
    struct large_node *node = root;
    if (subtree_max(node) < size)
        return NULL;
    for (;;) {
        if (subtree_max(node->left) >= size)
            node = node->left;
        else if (node->size >= size)
            return node;
        else
            node = node->right; /* its max_size must be >= size */
    }
}

static long check_subtree(const struct large_node *node, uintptr_t low, uintptr_t high)
{
    if (node == NULL)
        return 0;
    uintptr_t key = (uintptr_t)node;
    if (key < low || key >= high)
        return -1;
    if (node->left && node_priority(node->left) > node_priority(node))
        return -1;
    if (node->right && node_priority(node->right) > node_priority(node))
        return -1;
    size_t m = node->size;
    if (subtree_max(node->left) > m)
        m = subtree_max(node->left);
    if (subtree_max(node->right) > m)
        m = subtree_max(node->right);
    if (node->max_size != m)
        return -1;
    long left = check_subtree(node->left, low, key);
    long right = check_subtree(node->right, key + 1, high);
    if (left < 0 || right < 0)
        return -1;
    return left + right + 1;
}

long large_index_check(const struct large_node *root)
{
    return check_subtree(root, 0, UINTPTR_MAX);
}
