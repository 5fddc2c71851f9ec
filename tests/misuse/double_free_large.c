/* double_free_large.c -- a large block (16 KiB < size <= 1 MiB) freed
 * twice, after it merged with its free neighbour: its old header is still
 * intact inside the merged free block.  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    void *a = gl_malloc(50000), *b = gl_malloc(50000), *fence = gl_malloc(50000);
    if (a == NULL || b == NULL || fence == NULL)
        return setup_failed("gl_malloc");
    expect("free", b, "double free");
    gl_free(a);
    gl_free(b); /* merges into a */
    gl_free(b);
    return survived();
}
