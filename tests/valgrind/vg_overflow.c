/* vg_overflow.c -- writes one byte past the usable end of a block, small
 * or large as the argument says ("small" or "large"), and for a large
 * block also one byte before its start.  memcheck (tests/valgrind/
 * memcheck.sh) must report each as an "Invalid write".  The block is
 * written up to its end first: those writes must not be reported.
 * A large block is not freed: glweave would find its header and the next
 * one broken and stop the program (its own check, not memcheck's); the
 * block stays reachable through a global, so no leak is reported.
 *
 * SPDX-License-Identifier: MIT
 */
#include <glweave.h>

#include <stdio.h>
#include <string.h>

static char *volatile block;

int main(int argc, char **argv)
{
    int large = argc > 1 && strcmp(argv[1], "large") == 0;
    size_t size = large ? 40000 : 48;
    char *p = block = gl_malloc(size);
    size_t usable = gl_usable_size(p);
    memset(p, 7, usable);
    p[usable] = 1; /* one byte too far */
    if (large)
        p[-1] = 1; /* one byte before: the block's header */
    printf("vg_overflow: %s block of %zu usable bytes\n", large ? "large" : "small", usable);
    if (!large)
        gl_free(p);
    return 0;
}
