/* base.h -- memory for the allocator's own structures.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_BASE_H
#define GLWEAVE_BASE_H
#include "internal.h"

/* Returns zeroed memory aligned to 64 bytes, or NULL when the OS refuses.
 * Base memory is never freed: its users recycle their objects. */
GL_HIDDEN void *base_alloc(size_t size);
GL_HIDDEN size_t base_mapped_bytes(void);
GL_HIDDEN void base_fork_prepare(void);
GL_HIDDEN void base_fork_parent(void);
GL_HIDDEN void base_fork_child(void);

#endif
