/* write_after_free.c -- the first 16 bytes of a freed small block are
 * overwritten, then blocks of its class are allocated: the allocation that
 * follows the overwritten free-list link must abort with a report
 * containing "corrupted".  Expected to pass only after main's encoded free
 * lists (lib/freelist.h); today the program dies of SIGSEGV.
 * SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>
#include <string.h>

int main(void)
{
    void *p = gl_malloc(48);
    if (p == NULL)
        return setup_failed("gl_malloc");
    expect("malloc", NULL, "corrupted");
    gl_free(p);
    memset(p, 'A', 16);
    for (int i = 0; i < 3; i++) {
        void *q = gl_malloc(48);
        printf("gl_malloc returned %p\n", q);
    }
    return survived();
}
