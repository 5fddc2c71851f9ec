/* large_index.h -- the index of an arena's free large blocks.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_LARGE_INDEX_H
#define GLWEAVE_LARGE_INDEX_H
#include "internal.h"

/* A node lives inside the free block it describes; its address is the key,
 * so in-order traversal is address order. */
struct large_node {
    struct large_node *left;
    struct large_node *right;
    size_t size;     /* bytes of the free block */
    size_t max_size; /* largest size in this subtree */
};

GL_HIDDEN void large_index_insert(struct large_node **root, struct large_node *node, size_t size);
GL_HIDDEN void large_index_remove(struct large_node **root, struct large_node *node);
/* The lowest-addressed node whose size is at least size, or NULL. */
GL_HIDDEN struct large_node *large_index_first_fit(struct large_node *root, size_t size);
/* Checks address order, heap order of priorities and the max_size
 * annotations.  Returns the number of nodes, or -1 if an invariant is
 * broken. */
GL_HIDDEN long large_index_check(const struct large_node *root);

#endif
