/* overflow_neighbour.c -- a large block overflows by 16 bytes into the
 * header (boundary tag) of the block after it; that block is then freed.
 * SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>
#include <string.h>

int main(void)
{
    unsigned char *a = gl_malloc(40000), *b = gl_malloc(40000), *fence = gl_malloc(40000);
    if (a == NULL || b == NULL || fence == NULL)
        return setup_failed("gl_malloc");
    size_t usable = gl_usable_size(a);
    if (a + usable + 16 != b)
        return setup_failed("the two large blocks are not neighbours");
    expect("free", b, "heap corruption");
    memset(a, 'x', usable + 16);
    gl_free(b);
    return survived();
}
