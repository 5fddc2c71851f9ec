/* foreign_global.c -- gl_usable_size of a global array.  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

static _Alignas(16) unsigned char global_block[256];

int main(void)
{
    expect("malloc_usable_size", global_block, "not allocated by glweave");
    size_t n = gl_usable_size(global_block);
    printf("gl_usable_size returned %zu\n", n);
    return survived();
}
