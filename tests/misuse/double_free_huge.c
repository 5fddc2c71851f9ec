/* double_free_huge.c -- a huge block (> 1 MiB, a mapping of its own,
 * unmapped by the first free) freed twice.  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    void *p = gl_malloc(5 << 20);
    if (p == NULL)
        return setup_failed("gl_malloc");
    expect("free", p, "double free");
    gl_free(p);
    gl_free(p);
    return survived();
}
