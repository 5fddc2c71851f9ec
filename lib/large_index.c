/* large_index.c -- a treap over free large blocks, ordered by address and
 * annotated with the largest block size in each subtree, so that the
 * address-ordered first fit is found in O(log n) expected time instead of by
 * walking a list.  Priorities are a hash of the node's address when it is
 * inserted: no random state, and a program cannot choose addresses to
 * unbalance the tree.  A node that moves (its block shrinks from the front
 * when it is carved, or absorbs the block before it when that is freed)
 * keeps its place and its priority, so the common operations are one walk
 * down a path and back, with no rotation, touching only the nodes on it.
 * It owns the tree shape only; it never reads or writes block headers.
 * Every operation is iterative, its path bounded by INDEX_MAX_DEPTH (a
 * treap of fewer than 2^40 nodes is deeper with negligible odds).
 *
 * SPDX-License-Identifier: MIT
 */
#include "large_index.h"
#include "error.h"

#define INDEX_MAX_DEPTH 128

_Static_assert(GL_SEGMENT_SIZE <= UINT32_MAX, "free block sizes fit in 32 bits");

static inline uint32_t address_priority(const struct large_node *node)
{
    uint64_t x = (uint64_t)(uintptr_t)node;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return (uint32_t)(x >> 32);
}

static inline uint32_t max3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t m = a > b ? a : b;
    return m > c ? m : c;
}

/* Largest size in the subtree rooted at node (0 if empty). */
static inline uint32_t subtree_max(const struct large_node *node)
{
    return node ? max3(node->size, node->left_max, node->right_max) : 0;
}

/* A step of a path: a node, and which of its children the path took (the
 * child whose subtree changed). */
struct step {
    struct large_node *node;
    bool right;
};

static GL_COLD __attribute__((noreturn)) void too_deep(void)
{
    error_fatal("large block index is too deep");
}

/* Stores in step's node the maximum of the child its path took. */
static inline uint32_t store_child_max(const struct step *step)
{
    struct large_node *node = step->node;
    uint32_t m;
    if (step->right)
        node->right_max = m = subtree_max(node->right);
    else
        node->left_max = m = subtree_max(node->left);
    return m;
}

/* After the subtree below the deepest step changed: refreshes the steps
 * from the deepest up, stopping as soon as a node's subtree maximum does
 * not change (the ones above cannot change either). */
static void refresh_path(struct step *path, size_t depth)
{
    while (depth > 0) {
        struct step *step = &path[--depth];
        uint32_t before = subtree_max(step->node);
        store_child_max(step);
        if (subtree_max(step->node) == before)
            return;
    }
}

/* Refreshes every step, deepest first (their shape changed). */
static void refresh_all(struct step *path, size_t depth)
{
    while (depth > 0)
        store_child_max(&path[--depth]);
}

/* Splits tree into nodes below key (*below) and the rest (*rest). */
static void split(struct large_node *tree, uintptr_t key,
                  struct large_node **below, struct large_node **rest)
{
    struct step path[INDEX_MAX_DEPTH];
    size_t depth = 0;
    while (tree) {
        if (depth == INDEX_MAX_DEPTH)
            too_deep();
        bool is_below = (uintptr_t)tree < key;
        path[depth++] = (struct step){ tree, is_below };
        if (is_below) {
            *below = tree;
            below = &tree->right;
            tree = tree->right;
        } else {
            *rest = tree;
            rest = &tree->left;
            tree = tree->left;
        }
    }
    *below = *rest = NULL;
    refresh_all(path, depth);
}

/* Joins two trees where every key of low is below every key of high. */
static struct large_node *merge(struct large_node *low, struct large_node *high)
{
    struct step path[INDEX_MAX_DEPTH];
    size_t depth = 0;
    struct large_node *result, **link = &result;
    while (low && high) {
        if (depth == INDEX_MAX_DEPTH)
            too_deep();
        if (low->priority > high->priority) {
            path[depth++] = (struct step){ low, true };
            *link = low;
            link = &low->right;
            low = low->right;
        } else {
            path[depth++] = (struct step){ high, false };
            *link = high;
            link = &high->left;
            high = high->left;
        }
    }
    *link = low ? low : high;
    refresh_all(path, depth);
    return result;
}

void large_index_insert(struct large_node **root, struct large_node *node, size_t size)
{
    uintptr_t key = (uintptr_t)node;
    uint32_t size32 = (uint32_t)size;
    node->size = size32;
    node->priority = address_priority(node);
    /* Down to where node belongs by priority; every subtree on the way
     * will hold it, so their maxima only grow. */
    struct large_node **link = root;
    size_t depth = 0;
    while (*link && (*link)->priority > node->priority) {
        if (++depth == INDEX_MAX_DEPTH)
            too_deep();
        struct large_node *above = *link;
        if (key < (uintptr_t)above) {
            if (above->left_max < size32)
                above->left_max = size32;
            link = &above->left;
        } else {
            if (above->right_max < size32)
                above->right_max = size32;
            link = &above->right;
        }
    }
    split(*link, key, &node->left, &node->right);
    node->left_max = subtree_max(node->left);
    node->right_max = subtree_max(node->right);
    *link = node;
}

/* Walks from the root to node, recording the steps above it in path;
 * returns the link that points to node. */
static struct large_node **find_link(struct large_node **root, const struct large_node *node,
                                     struct step *path, size_t *depth)
{
    struct large_node **link = root;
    *depth = 0;
    while (*link != node) {
        if (*link == NULL || *depth == INDEX_MAX_DEPTH)
            error_fatal("large block index: node is missing");
        struct large_node *above = *link;
        bool right = (uintptr_t)node > (uintptr_t)above;
        path[(*depth)++] = (struct step){ above, right };
        link = right ? &above->right : &above->left;
    }
    return link;
}

void large_index_remove(struct large_node **root, struct large_node *node)
{
    /* Replace the node by the merge of its children; only the path above
     * it needs its annotation refreshed. */
    struct step path[INDEX_MAX_DEPTH];
    size_t depth;
    struct large_node **link = find_link(root, node, path, &depth);
    *link = merge(node->left, node->right);
    refresh_path(path, depth);
}

void large_index_replace(struct large_node **root, struct large_node *old,
                         struct large_node *node, size_t size)
{
    struct step path[INDEX_MAX_DEPTH];
    size_t depth;
    struct large_node **link = find_link(root, old, path, &depth);
    /* Read all of old before writing node: they may overlap. */
    struct large_node copy = *old;
    copy.size = (uint32_t)size;
    *node = copy;
    *link = node;
    refresh_path(path, depth);
}

void large_index_resize(struct large_node **root, struct large_node *node, size_t size)
{
    struct step path[INDEX_MAX_DEPTH];
    size_t depth;
    find_link(root, node, path, &depth);
    node->size = (uint32_t)size;
    refresh_path(path, depth);
}

struct large_node *large_index_first_fit(struct large_node *root, size_t size)
{
    struct large_node *node = root;
    if (subtree_max(node) < size)
        return NULL;
    for (;;) {
        if (node->left_max >= size)
            node = node->left;
        else if (node->size >= size)
            return node;
        else
            node = node->right; /* its maximum must be >= size */
    }
}

static long check_subtree(const struct large_node *node, uintptr_t low, uintptr_t high)
{
    if (node == NULL)
        return 0;
    uintptr_t key = (uintptr_t)node;
    if (key < low || key >= high)
        return -1;
    if (node->left && node->left->priority > node->priority)
        return -1;
    if (node->right && node->right->priority > node->priority)
        return -1;
    if (node->left_max != subtree_max(node->left) || node->right_max != subtree_max(node->right))
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
