/* interior_huge.c -- gl_free of a pointer 16 bytes into a huge block (a
 * mapping of its own).  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    unsigned char *p = gl_malloc(3 << 20);
    if (p == NULL)
        return setup_failed("gl_malloc");
    expect("free", p + 16, "not the start of a block");
    gl_free(p + 16);
    return survived();
}
