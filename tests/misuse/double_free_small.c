/* double_free_small.c -- free(p); free(p) of a small block.  Both frees go
 * to the thread cache unchecked; the second is found when the blocks go
 * home, here at gl_thread_flush.  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    void *p = gl_malloc(48);
    if (p == NULL)
        return setup_failed("gl_malloc");
    expect("free", p, "double free");
    gl_free(p);
    gl_free(p);
    gl_thread_flush();
    return survived();
}
