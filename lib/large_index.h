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
    uint32_t size;      /* bytes of the free block (blocks live in a segment) */
    uint32_t priority;  /* treap priority: a hash of the address the node was
                         * inserted at, kept when large_index_replace moves it */
    /* Largest size in the left and right subtrees (0 if empty).  Kept in the
     * parent, not in each child, so that neither a search nor an update on
     * a path reads the nodes beside it: every node lives in a different
     * free block, and each one read is likely a cache miss. */
    uint32_t left_max;
    uint32_t right_max;
};

GL_HIDDEN void large_index_insert(struct large_node **root, struct large_node *node, size_t size);
GL_HIDDEN void large_index_remove(struct large_node **root, struct large_node *node);
/* Puts node (not in the tree) in old's place, with size bytes, and takes
 * old out.  No other node of the tree may lie between old and node in
 * address order (a free block that shrinks from the front or grows
 * downwards).  node may overlap old's memory. */
GL_HIDDEN void large_index_replace(struct large_node **root, struct large_node *old,
                                   struct large_node *node, size_t size);
/* Changes the size of a node in the tree. */
GL_HIDDEN void large_index_resize(struct large_node **root, struct large_node *node, size_t size);
/* The lowest-addressed node whose size is at least size, or NULL. */
GL_HIDDEN struct large_node *large_index_first_fit(struct large_node *root, size_t size);
/* Checks address order, heap order of priorities and the max_size
 * annotations.  Returns the number of nodes, or -1 if an invariant is
 * broken. */
GL_HIDDEN long large_index_check(const struct large_node *root);

#endif
