/* vg_use_after_free.c -- reads a small and a large block after freeing
 * them.  memcheck (tests/valgrind/memcheck.sh) must report two "Invalid
 * read"s, each inside a block it knows was freed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <glweave.h>

#include <stdio.h>
#include <string.h>

__attribute__((noinline)) static int read_after_free(size_t size)
{
    char *volatile p = gl_malloc(size);
    memset(p, 5, size);
    gl_free(p);
    return p[size / 2];
}

int main(void)
{
    int sum = read_after_free(32);
    sum += read_after_free(30000);
    printf("vg_use_after_free: read %d\n", sum);
    return 0;
}
