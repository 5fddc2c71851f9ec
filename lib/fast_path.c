/* fast_path.c -- the portable C hit paths of gl_malloc and gl_free: read
 * the thread's cache, find the bin, pop or push, return.  No lock, no
 * atomic read-modify-write, no call on a hit; every miss goes to the slow
 * path in api.c with the argument untouched.  The x86_64 assembly twin in
 * lib/x86_64/ must behave exactly like this file.
 *
 * SPDX-License-Identifier: MIT
 */
#include "glweave.h"
#include "init.h"
#include "registry.h"
#include "size_class.h"
#include "tcache.h"

/* GLWEAVE_FORCE_C_FAST_PATH builds the C twin even where the assembly
 * exists (the instruction-count benchmark compares the two). */
#if !defined(GLWEAVE_ASM_X86_64) || defined(GLWEAVE_FORCE_C_FAST_PATH)

GL_EXPORT void *gl_malloc(size_t size)
{
    struct thread_cache *cache = tcache_current;
    if (GL_LIKELY(size <= GL_SMALL_MAX)) {
        unsigned bin = size_class_bin_of_size[size];
        void *block = cache->heads[bin];
        if (GL_LIKELY(block != NULL)) {
            cache->heads[bin] = *(void **)block;
            /* room is read by statistics on other threads: relaxed atomic
             * accesses, which compile to plain moves. */
            __atomic_store_n(&cache->room[bin],
                             __atomic_load_n(&cache->room[bin], __ATOMIC_RELAXED) + 1,
                             __ATOMIC_RELAXED);
            return block;
        }
    }
    return api_malloc_slow(size);
}

GL_EXPORT void gl_free(void *ptr)
{
    struct thread_cache *cache = tcache_current;
    /* A pointer outside small segments maps to bin 0, whose room is never
     * positive: one test covers "not small" and "bin full". */
    unsigned bin = registry_fast_bin(ptr);
    int32_t room = __atomic_load_n(&cache->room[bin], __ATOMIC_RELAXED);
    if (GL_LIKELY(room > 0)) {
        *(void **)ptr = cache->heads[bin];
        cache->heads[bin] = ptr;
        __atomic_store_n(&cache->room[bin], room - 1, __ATOMIC_RELAXED);
        return;
    }
    api_free_slow(ptr);
}

#endif
