/* fast_path.c -- the portable C hit paths of gl_malloc and gl_free: read
 * the thread's cache, find the bin, pop or push (links encoded, see
 * freelist.h), return.  No lock, no
 * atomic read-modify-write, no call on a hit; every miss goes to the slow
 * path in api.c with the argument untouched (and the caller's return
 * address).  The x86_64 assembly twin in
 * lib/x86_64/ must behave exactly like this file.
 *
 * SPDX-License-Identifier: MIT
 */
#include "glweave.h"
#include "fast_path.h"
#include "fixed_tables.h"
#include "init.h"
#include "registry.h"
#include "size_class.h"
#include "tcache.h"
#include "vg.h"

/* Where the assembly exists (and GLWEAVE_FORCE_C_FAST_PATH, used by the
 * instruction-count benchmark, does not ask for the C twin alone), gl_malloc
 * and gl_free are ifuncs: the loader calls a resolver below once, which
 * picks the assembly when fixed_tables.c could place the tables at their
 * fixed address, and the C twin otherwise.  Callers reach either with no
 * extra instruction.  Elsewhere the C twin is gl_malloc and gl_free. */
#ifdef FAST_PATH_IFUNC
#define SELECT_FAST_PATH 1
#define C_MALLOC fast_path_malloc_c
#define C_FREE fast_path_free_c
#define C_VISIBILITY GL_HIDDEN
C_VISIBILITY void *fast_path_malloc_c(size_t size);
C_VISIBILITY void fast_path_free_c(void *ptr);
#else
#define C_MALLOC gl_malloc
#define C_FREE gl_free
#define C_VISIBILITY GL_EXPORT
#endif

C_VISIBILITY void *C_MALLOC(size_t size)
{
    if (GL_LIKELY(size <= GL_SMALL_MAX)) {
        unsigned bin = size_class_bin_of_size[size];
        /* An empty bin, a thread without a cache yet and a broken link
         * (decoded into the head by the previous pop) all lie at or above
         * the limit. */
        uintptr_t block = tcache_hot.heads[bin];
        if (GL_LIKELY(freelist_plausible(block))) {
            tcache_hot.heads[bin] = freelist_decode(freelist_load_link((void *)block));
            /* Room + 1, hit countdown - 1 (internal.h).  words are read
             * by statistics on other threads: relaxed atomic accesses,
             * which compile to plain moves. */
            __atomic_store_n(&tcache_hot.words[bin],
                             __atomic_load_n(&tcache_hot.words[bin], __ATOMIC_RELAXED) + TCACHE_POP,
                             __ATOMIC_RELAXED);
            vg_block_allocated((void *)block, size_class_block_size[bin], false);
            return (void *)block;
        }
    }
    return api_malloc_slow(size, __builtin_return_address(0));
}

C_VISIBILITY void C_FREE(void *ptr)
{
    /* A pointer outside small segments maps to bin 0, whose room is always
     * 0: one test covers "not small" and "bin full". */
    unsigned bin = registry_fast_bin(ptr);
    uint64_t word = __atomic_load_n(&tcache_hot.words[bin], __ATOMIC_RELAXED);
    if (GL_LIKELY(tcache_word_room(word) > 0)) {
        vg_block_freed(ptr);
        freelist_store_link(ptr, freelist_encode((void *)tcache_hot.heads[bin]));
        tcache_hot.heads[bin] = (uintptr_t)ptr;
        __atomic_store_n(&tcache_hot.words[bin], word + (uint64_t)(int64_t)TCACHE_PUSH, __ATOMIC_RELAXED);
        return;
    }
    api_free_slow(ptr, __builtin_return_address(0));
}

#ifdef SELECT_FAST_PATH
/* lib/x86_64/fast_path.S */
GL_HIDDEN void *fast_path_malloc_asm(size_t size);
GL_HIDDEN void fast_path_free_asm(void *ptr);

typedef void *malloc_function(size_t);
typedef void free_function(void *);

static malloc_function *resolve_malloc(void)
{
    return fixed_tables_in_place() ? fast_path_malloc_asm : fast_path_malloc_c;
}

static free_function *resolve_free(void)
{
    return fixed_tables_in_place() ? fast_path_free_asm : fast_path_free_c;
}

GL_EXPORT void *gl_malloc(size_t size) __attribute__((ifunc("resolve_malloc")));
GL_EXPORT void gl_free(void *ptr) __attribute__((ifunc("resolve_free")));
#endif
