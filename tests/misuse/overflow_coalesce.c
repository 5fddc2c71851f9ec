/* overflow_coalesce.c -- the block after a large block is free; the block
 * overflows into that free block's header and index entry, and is then
 * freed, which would merge the two.  SPDX-License-Identifier: MIT */
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
    gl_free(b);
    expect("free", a, "heap corruption");
    memset(a, 'x', usable + 48);
    gl_free(a);
    return survived();
}
