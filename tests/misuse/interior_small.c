/* interior_small.c -- gl_free of a pointer 16 bytes into a small block.
 * The thread cache takes it unchecked; it is validated when it goes home
 * to its arena, here at gl_thread_flush (today's only moment besides a bin
 * overflow and thread exit).  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    unsigned char *p = gl_malloc(64);
    if (p == NULL)
        return setup_failed("gl_malloc");
    expect("free", p + 16, "not the start of a block");
    gl_free(p + 16);
    gl_thread_flush();
    return survived();
}
