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

/* The slow paths behind the fast path (api.c).  caller is the return
 * address of the gl_malloc or gl_free call: a call from the dynamic linker's
 * code is served without the thread cache (see api_called_by_loader). */
GL_HIDDEN void *api_malloc_slow(size_t size, const void *caller);
GL_HIDDEN void api_free_slow(void *ptr, const void *caller);

/* The dynamic linker's code, [start, start + size): set once by the drop-in
 * library's constructor (dropin.c); empty otherwise.  Plain variables, read
 * on slow paths only. */
GL_HIDDEN extern uintptr_t api_loader_text_start;
GL_HIDDEN extern uintptr_t api_loader_text_size;

/* Is caller (a return address) in the dynamic linker?  ld.so calls malloc
 * and free from inside __tls_get_addr before it records that the thread's
 * DTV is up to date; such a call must not reach liburcu-bp (whose TLS is
 * reached through __tls_get_addr) -- see dropin.c.  A hit on the thread
 * cache touches nothing but initial-exec TLS and is safe; the slow paths
 * serve the loader's misses without the cache, as during a cache's setup. */
static inline bool api_called_by_loader(const void *caller)
{
    return (uintptr_t)caller - api_loader_text_start < api_loader_text_size;
}

#endif
