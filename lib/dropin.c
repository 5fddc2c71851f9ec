/* dropin.c -- the C library's malloc family on top of glweave, for
 * libglweave-malloc.so (LD_PRELOAD).  It owns only the edges where glibc's
 * behaviour differs from the gl_* API (memalign's rounding, valloc, pvalloc,
 * C23 sized frees); it must never call malloc or anything that may, since
 * every such call would come back here.
 *
 * The gl_* functions are declared hidden below: they bind inside this
 * library without a PLT hop and are not exported by it, so a program that
 * also links libglweave.so keeps that library's gl_* entirely apart.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "error.h"
#include "internal.h"
#include "os.h"

#pragma GCC visibility push(hidden)
#include "glweave.h"
#pragma GCC visibility pop

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

/* C23; the headers of glibc 2.36 (Debian 12) do not declare them. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);

GL_EXPORT void *malloc(size_t size)
{
    return gl_malloc(size);
}

GL_EXPORT void free(void *ptr)
{
    gl_free(ptr);
}

GL_EXPORT void *calloc(size_t nmemb, size_t size)
{
    return gl_calloc(nmemb, size);
}

GL_EXPORT void *realloc(void *ptr, size_t size)
{
    return gl_realloc(ptr, size);
}

GL_EXPORT void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
    return gl_reallocarray(ptr, nmemb, size);
}

GL_EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size)
{
    return gl_posix_memalign(memptr, alignment, size);
}

/* A zero or non-power-of-two alignment fails with EINVAL, as in glibc 2.38
 * and later (older glibc treated aligned_alloc as memalign). */
GL_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    return gl_aligned_alloc(alignment, size);
}

/* glibc's memalign is lenient: an alignment up to 16 is malloc's own, an
 * alignment that is not a power of two is rounded up to the next one, and
 * only one too large to round (above SIZE_MAX / 2 + 1) gives EINVAL. */
GL_EXPORT void *memalign(size_t alignment, size_t size)
{
    if (alignment <= GL_QUANTUM)
        return gl_malloc(size);
    if (alignment > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!gl_is_power_of_two(alignment)) {
        size_t rounded = 2 * GL_QUANTUM;
        while (rounded < alignment)
            rounded <<= 1;
        alignment = rounded;
    }
    return gl_aligned_alloc(alignment, size);
}

GL_EXPORT void *valloc(size_t size)
{
    return gl_aligned_alloc(os_page_size(), size);
}

/* Page-aligned, and the size rounded up to whole pages (0 stays 0, which
 * gives a unique page-aligned block, as in glibc). */
GL_EXPORT void *pvalloc(size_t size)
{
    size_t page = os_page_size();
    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return gl_aligned_alloc(page, gl_align_up(size, page));
}

GL_EXPORT size_t malloc_usable_size(void *ptr)
{
    return gl_usable_size(ptr);
}

/* C23: size must be what the block was asked with; a size larger than the
 * block is reported as an invalid free. */
GL_EXPORT void free_sized(void *ptr, size_t size)
{
    gl_free_sized(ptr, size);
}

/* C23: for blocks from aligned_alloc(alignment, size).  A pointer that is
 * not aligned as the caller says cannot have come from that call. */
GL_EXPORT void free_aligned_sized(void *ptr, size_t alignment, size_t size)
{
    if (ptr == NULL)
        return;
    if (!gl_is_power_of_two(alignment) || ((uintptr_t)ptr & (alignment - 1)) != 0) {
        error_report_pointer("free_aligned_sized", "not aligned as stated", ptr);
        return; /* report-and-leak mode */
    }
    gl_free_sized(ptr, size);
}
