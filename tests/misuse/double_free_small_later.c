/* double_free_small_later.c -- a small block freed, then other blocks of
 * its class, then the block again (found at gl_thread_flush).
 * SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    void *p = gl_malloc(300), *others[16];
    for (int i = 0; i < 16; i++)
        if ((others[i] = gl_malloc(300)) == NULL)
            return setup_failed("gl_malloc");
    if (p == NULL)
        return setup_failed("gl_malloc");
    expect("free", p, "double free");
    gl_free(p);
    for (int i = 0; i < 16; i++)
        gl_free(others[i]);
    gl_free(p);
    gl_thread_flush();
    return survived();
}
