/* size_class.c -- builds the size classes: multiples of 16 up to 128, then
 * four classes per doubling up to GL_SMALL_MAX, which keeps the space lost
 * to rounding at or below 25% (and below 16 bytes for the first classes).
 * It owns the tables only; it never decides where blocks live.
 *
 * SPDX-License-Identifier: MIT
 */
#include "size_class.h"
#include "error.h"

uint32_t size_class_block_size[GL_BINS];
uint8_t size_class_bin_of_size[GL_SMALL_MAX + 1];

void size_class_init(void)
{
    unsigned bin = 1;
    for (uint32_t size = 16; size <= 128; size += 16)
        size_class_block_size[bin++] = size;
    for (uint32_t base = 128; base < GL_SMALL_MAX; base *= 2)
        for (uint32_t step = 1; step <= 4; step++)
            size_class_block_size[bin++] = base + step * (base / 4);
    if (bin != GL_BINS || size_class_block_size[GL_BINS - 1] != GL_SMALL_MAX)
        error_fatal("size class table does not match GL_SMALL_CLASSES");

    unsigned current = 1;
    for (size_t size = 0; size <= GL_SMALL_MAX; size++) {
        while (size_class_block_size[current] < size)
            current++;
        size_class_bin_of_size[size] = (uint8_t)current;
    }
}

unsigned size_class_bin_aligned(size_t size, size_t alignment)
{
    if (size > GL_SMALL_MAX || alignment > GL_SMALL_MAX)
        return 0;
    /* Blocks of a class start at multiples of the class size from a
     * slab start that is aligned to the class's largest power-of-two factor
     * (see segment.c), so a class is aligned to alignment exactly when its
     * size is a multiple of alignment.  Powers of two are classes, so the
     * search always ends. */
    for (unsigned bin = size_class_bin(size); bin < GL_BINS; bin++)
        if (size_class_block_size[bin] % alignment == 0)
            return bin;
    return 0;
}
