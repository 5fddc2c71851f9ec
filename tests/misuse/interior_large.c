/* interior_large.c -- gl_free of a pointer 4 KiB into a large block.
 * SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>
#include <string.h>

int main(void)
{
    unsigned char *p = gl_malloc(100000);
    if (p == NULL)
        return setup_failed("gl_malloc");
    memset(p, 0x5a, 100000);
    expect("free", p + 4096, "not the start of a block");
    gl_free(p + 4096);
    return survived();
}
