/* wild_non_canonical.c -- gl_free of an address above the 47-bit user
 * address space.  The C fast path checks the range; the x86_64 assembly
 * one indexes its bin map with the pointer and may die of SIGSEGV until
 * main's fix lands.  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    void *wild = (void *)(uintptr_t)0xdeadbeefdeadbeefull;
    expect("free", wild, "not allocated by glweave");
    gl_free(wild);
    return survived();
}
