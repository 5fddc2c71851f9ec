/* large.h -- an arena's heap of large blocks.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_LARGE_H
#define GLWEAVE_LARGE_H
#include "internal.h"
#include "large_index.h"

struct arena;
struct segment_header;

struct large_heap {
    struct large_node *free_index;     /* free blocks by address */
    struct segment_header *segments;   /* segments of this heap */
    size_t empty_segments;             /* wholly free segments kept */
    size_t allocated;                  /* usable bytes of blocks in use */
    size_t dirty;                      /* bytes of free blocks not yet purged */
};

#define LARGE_HEADER_SIZE 16u

/* Why a pointer into a large segment was refused.  A corrupted heap is not
 * among them: it is reported, and the process aborted, where it is found. */
enum large_fault {
    LARGE_OK,
    LARGE_NOT_A_BLOCK, /* not the start of any block */
    LARGE_FREED,       /* a block start (or a stale one) that is free: freed before */
};

/* All calls below need the owning arena's lock. */

/* A block of at least size usable bytes whose address is a multiple of
 * alignment, or NULL when no memory can be mapped. */
GL_HIDDEN void *large_alloc(struct large_heap *heap, struct arena *arena, size_t size, size_t alignment);
/* Frees ptr (which must be in one of heap's segments), or says why it may
 * not (and leaves the heap as it was).  call names the API function in a
 * corruption report.  When a segment becomes wholly free and another one
 * already is, it is unlinked and stored in *release: the caller destroys
 * it after dropping the lock.  Until then it holds one free block outside
 * the index, so that a call on it made meanwhile is refused (LARGE_FREED
 * or LARGE_NOT_A_BLOCK) as it would be on a kept free segment. */
GL_HIDDEN enum large_fault large_free(struct large_heap *heap, void *ptr, const char *call,
                                      struct segment_header **release);
/* Usable size of an in-use block; 0, with the reason in *fault, if ptr is
 * not one. */
GL_HIDDEN size_t large_usable_size(const void *ptr, const char *call, enum large_fault *fault);
/* Grows or shrinks a block without moving it; false if it cannot. */
GL_HIDDEN bool large_resize_in_place(struct large_heap *heap, void *ptr, size_t size);
/* Verifies every block of every segment of the heap and the index against
 * them.  Returns the number of free blocks, or -1 on any inconsistency. */
GL_HIDDEN long large_heap_check(const struct large_heap *heap);
/* The same walk, for --enable-debug's checks around each operation: on any
 * inconsistency it reports "glweave: CALL(): heap corruption near 0xPTR
 * (WHAT 0xBLOCK)", BLOCK being where the walk found it, and aborts
 * (error_report_corruption).  ptr is the pointer call was given. */
GL_HIDDEN void large_heap_verify(const struct large_heap *heap, const char *call, const void *ptr,
                                 const char *what);

GL_HIDDEN void large_set_secret(uint64_t secret);
/* Was ptr one of the last blocks whose free released (unmapped) their
 * segment?  For error reports only; needs no lock. */
GL_HIDDEN bool large_recently_released(const void *ptr);

/* Returns the interior pages of every dirty free block to the OS; returns
 * the bytes given back. */
GL_HIDDEN size_t large_purge(struct large_heap *heap, size_t page);
/* Unlinks and returns one wholly free segment, or NULL; the caller destroys
 * it after dropping the lock. */
GL_HIDDEN struct segment_header *large_take_empty_segment(struct large_heap *heap);

#endif
