/* foreign_glibc.c -- gl_realloc of a block from glibc's malloc (in a
 * program linked with libglweave, malloc is glibc's).
 * SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>

int main(void)
{
    void *theirs = malloc(100);
    if (theirs == NULL)
        return setup_failed("malloc");
    expect("realloc", theirs, "not allocated by glweave");
    void *moved = gl_realloc(theirs, 200);
    printf("gl_realloc returned %p\n", moved);
    return survived();
}
