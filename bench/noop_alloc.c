/* noop_alloc.c -- an "allocator" whose malloc of up to 64 bytes returns one
 * static buffer and whose free of that buffer does nothing; everything else
 * goes to glibc's allocator.  bench-pair preloads it into the pair loop to
 * show what the loop and its two calls through the GOT cost by themselves:
 * the floor under every allocator's figure.  Never use it for anything
 * else: every small allocation returns the same memory.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

/* glibc's own entry points, which stay reachable under an interposer. */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);

static _Alignas(16) char the_block[64];

__attribute__((visibility("default"))) void *malloc(size_t size)
{
    return size <= sizeof the_block ? the_block : __libc_malloc(size);
}

__attribute__((visibility("default"))) void free(void *ptr)
{
    if (ptr != the_block)
        __libc_free(ptr);
}

__attribute__((visibility("default"))) void *calloc(size_t count, size_t size)
{
    return __libc_calloc(count, size);
}

__attribute__((visibility("default"))) void *realloc(void *ptr, size_t size)
{
    if (ptr == the_block) {
        void *fresh = __libc_malloc(size);
        if (fresh != NULL)
            for (size_t i = 0; i < size && i < sizeof the_block; i++)
                ((char *)fresh)[i] = the_block[i];
        return fresh;
    }
    return __libc_realloc(ptr, size);
}
