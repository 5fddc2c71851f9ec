/* huge.h -- blocks in mappings of their own.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_HUGE_H
#define GLWEAVE_HUGE_H
#include "internal.h"

struct segment_header;

GL_HIDDEN void *huge_alloc(size_t size, size_t alignment);
/* header is the registry's entry for ptr's segment (kind SEGMENT_HUGE).
 * Returns false if ptr is not that block's payload. */
GL_HIDDEN bool huge_owns(const struct segment_header *header, const void *ptr);
/* Called inside a registry read section, on a block huge_owns accepted:
 * makes ptr the caller's to free (true), or says that another free took it
 * first (false).  A claimed block is no longer owned by anyone. */
GL_HIDDEN bool huge_claim(struct segment_header *header, void *ptr);
/* Unmaps a claimed block (outside the read section: this waits for
 * registry readers). */
GL_HIDDEN void huge_free(struct segment_header *header, void *ptr);
/* Was ptr one of the last huge blocks freed?  For error reports only. */
GL_HIDDEN bool huge_recently_freed(const void *ptr);
GL_HIDDEN size_t huge_usable_size(const struct segment_header *header);
/* Grows or shrinks in place when the mapping allows it. */
GL_HIDDEN bool huge_resize_in_place(struct segment_header *header, size_t size);
GL_HIDDEN size_t huge_allocated_bytes(void);

#endif
