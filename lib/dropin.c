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
 * Calls from the dynamic linker are served without the thread cache (see
 * "Calls from the dynamic linker" below).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "error.h"
#include "fast_path.h"
#include "init.h"
#include "internal.h"
#include "os.h"
#include "tcache.h"

#pragma GCC visibility push(hidden)
#include "glweave.h"
#pragma GCC visibility pop

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

/* C23; the headers of glibc 2.36 (Debian 12) do not declare them. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);

/* --- Calls from the dynamic linker ----------------------------------------
 * ld.so calls malloc, calloc, realloc and free from inside __tls_get_addr
 * (a thread's dynamic TLS block, a larger DTV, freeing blocks of unloaded
 * modules) before it records that the thread's DTV is up to date.  If such a
 * call reaches liburcu-bp -- a thread's first allocation registers it, and
 * freeing a large block enters a read section -- liburcu's TLS, which it
 * reaches through __tls_get_addr, makes the dynamic linker start the same
 * update again inside the first: glibc 2.36 then reallocates the DTV twice
 * from the same block (a double free, then a corrupted DTV); later glibc,
 * which also frees in that path, may recurse without end.  glibc's advice is
 * that a replacement malloc and its dependencies use initial-exec TLS only,
 * and liburcu-bp does not.  So a call whose caller is ld.so's code runs with
 * the thread's cache pointer set to the bootstrap sentinel, as during a
 * cache's own setup: no cache is created, no liburcu call is made (pointers
 * are checked under the registry's mutex instead) and blocks come from and
 * go to the arenas directly.  Such calls are rare (dlopen, pthread_create, a
 * thread's first touch of a module's TLS), so the locks cost nothing that
 * matters.
 *
 * With the x86_64 assembly, malloc and free are one-instruction stubs
 * (lib/x86_64/dropin_stubs.S) that jump through gl_malloc's and gl_free's
 * GOT slots to the hit paths, leaving the caller's return address in place:
 * a loader's call that hits the thread cache touches initial-exec TLS only
 * and is safe, and the slow paths behind them (api.c) test the caller and
 * serve the loader's misses without the cache.  (Not ifuncs themselves:
 * glibc, whose own calls to malloc are relocated before this library,
 * warns about every ifunc it meets in a library not relocated yet.)
 * Elsewhere malloc and free are functions that test their caller here, as
 * calloc and realloc always do. */

/* __tls_get_addr is defined by the dynamic linker: the object holding it is
 * ld.so, wherever it was loaded and however the program was started. */
extern void *__tls_get_addr(void *);

static int find_loader_text(struct dl_phdr_info *info, size_t size, void *unused)
{
    (void)size;
    (void)unused;
    uintptr_t marker = (uintptr_t)&__tls_get_addr;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + segment->p_vaddr;
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)
            || marker - start >= segment->p_memsz)
            continue;
        api_loader_text_start = start;
        api_loader_text_size = (uintptr_t)segment->p_memsz;
        return 1;
    }
    return 0;
}

/* First of this library's constructors.  Before it runs, nothing can have
 * loaded a module with TLS into a second thread, which the guard is for. */
__attribute__((constructor(101))) static void dropin_load(void)
{
    dl_iterate_phdr(find_loader_text, NULL);
}

/* The loader's calls run without the thread cache (which may be a real
 * cache, or none: a thread not yet set up, or exiting). */

static GL_NOINLINE void *loader_calloc(size_t nmemb, size_t size)
{
    void *p;
    TCACHE_WITHOUT_CACHE(p = gl_calloc(nmemb, size));
    return p;
}

static GL_NOINLINE void *loader_realloc(void *ptr, size_t size)
{
    void *p;
    TCACHE_WITHOUT_CACHE(p = gl_realloc(ptr, size));
    return p;
}

/* --- The family ----------------------------------------------------------- */

#ifndef FAST_PATH_IFUNC
static GL_NOINLINE void *loader_malloc(size_t size)
{
    void *p;
    TCACHE_WITHOUT_CACHE(p = gl_malloc(size));
    return p;
}

static GL_NOINLINE void loader_free(void *ptr)
{
    TCACHE_WITHOUT_CACHE(gl_free(ptr));
}

GL_EXPORT void *malloc(size_t size)
{
    if (GL_UNLIKELY(api_called_by_loader(__builtin_return_address(0))))
        return loader_malloc(size);
    return gl_malloc(size);
}

GL_EXPORT void free(void *ptr)
{
    if (GL_UNLIKELY(api_called_by_loader(__builtin_return_address(0))))
        loader_free(ptr);
    else
        gl_free(ptr);
}
#endif

GL_EXPORT void *calloc(size_t nmemb, size_t size)
{
    if (GL_UNLIKELY(api_called_by_loader(__builtin_return_address(0))))
        return loader_calloc(nmemb, size);
    return gl_calloc(nmemb, size);
}

GL_EXPORT void *realloc(void *ptr, size_t size)
{
    if (GL_UNLIKELY(api_called_by_loader(__builtin_return_address(0))))
        return loader_realloc(ptr, size);
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
