/* init.h -- lazy, thread-safe start-up of the allocator.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_INIT_H
#define GLWEAVE_INIT_H
#include "internal.h"

GL_HIDDEN extern int init_state; /* 2 once ready */

/* Returns true once every layer is ready; false if the OS refused memory. */
GL_HIDDEN bool init_slow(void);

static inline bool init_ensure(void)
{
    return GL_LIKELY(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == 2) || init_slow();
}

/* The slow paths behind the fast path (api.c). */
GL_HIDDEN void *api_malloc_slow(size_t size);
GL_HIDDEN void api_free_slow(void *ptr);

#endif
