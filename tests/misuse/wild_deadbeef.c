/* wild_deadbeef.c -- gl_free((void *)0xdeadbeef): an unmapped, misaligned
 * address.  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    void *wild = (void *)(uintptr_t)0xdeadbeef;
    expect("free", wild, "not allocated by glweave");
    gl_free(wild);
    return survived();
}
