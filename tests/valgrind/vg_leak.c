/* vg_leak.c -- loses the only pointers to a small and to a large block.
 * memcheck (tests/valgrind/memcheck.sh) must report both as "definitely
 * lost"; it exists to be wrong in exactly that way.
 *
 * The first block of a slab is never the lost one: glweave's slab record
 * points at it (first_block), so memcheck would find that pointer and call
 * the block "still reachable".  A block of the class is kept (and freed)
 * to take that place.
 *
 * SPDX-License-Identifier: MIT
 */
#include <glweave.h>

#include <string.h>

/* The pointers live only in this function's frame, which the next call
 * overwrites: nothing can still reach the blocks. */
__attribute__((noinline)) static void lose(size_t size)
{
    char *volatile p = gl_malloc(size);
    memset(p, 1, size);
}

__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

int main(void)
{
    void *first_of_slab = gl_malloc(72);
    lose(72);      /* small */
    lose(40000);   /* large */
    scrub_stack();
    gl_free(first_of_slab);
    return 0;
}
