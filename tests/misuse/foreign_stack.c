/* foreign_stack.c -- gl_free of a stack array.  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>
#include <string.h>

int main(void)
{
    _Alignas(16) unsigned char local[64];
    memset(local, 1, sizeof local);
    void *warm = gl_malloc(32); /* the check must not depend on a fresh allocator */
    gl_free(warm);
    expect("free", local, "not allocated by glweave");
    gl_free(local);
    return survived();
}
