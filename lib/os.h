/* os.h -- the only door to the operating system's memory calls.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_OS_H
#define GLWEAVE_OS_H
#include "internal.h"

/* Maps size bytes (a multiple of the page size) aligned to alignment (a
 * power of two, at least a page).  Returns NULL on failure. */
GL_HIDDEN void *os_map_aligned(size_t size, size_t alignment);
GL_HIDDEN void *os_map(size_t size);
GL_HIDDEN void os_unmap(void *address, size_t size);
/* Tells the OS the pages may be dropped; they read back as zero. */
GL_HIDDEN void os_discard(void *address, size_t size);
/* Tries to grow or shrink a mapping in place; true on success. */
GL_HIDDEN bool os_resize_in_place(void *address, size_t old_size, size_t new_size);
GL_HIDDEN size_t os_page_size(void);
GL_HIDDEN unsigned os_cpu_count(void);

#endif
