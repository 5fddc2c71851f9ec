/* vg_double_free.c -- frees a small block twice (or a large one with the
 * argument "large").  memcheck (tests/valgrind/memcheck.sh) must report an
 * "Invalid free", after which glweave's own check reports the double free
 * and aborts the program.
 *
 * SPDX-License-Identifier: MIT
 */
#include <glweave.h>

#include <string.h>

int main(int argc, char **argv)
{
    size_t size = argc > 1 && strcmp(argv[1], "large") == 0 ? 40000 : 64;
    void *volatile p = gl_malloc(size);
    gl_free(p);
    gl_free(p);
    return 0;
}
