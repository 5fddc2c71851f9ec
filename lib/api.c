/* api.c -- the gl_* functions above the fast path: the slow paths of
 * gl_malloc and gl_free (small, large and huge dispatch, pointer
 * validation and the reason given for a refused pointer), and calloc, realloc, aligned allocation, usable size.  It
 * owns the API's edge behaviour (errno, NULL, zero sizes); it never touches
 * a thread cache's lists or a slab directly.
 *
 * With --enable-valgrind it tells memcheck (vg.h) about every block it
 * hands to the program or takes back on these paths; the fast path does the
 * same on its hits, so each block is announced exactly once.
 *
 * SPDX-License-Identifier: MIT
 */
#include "arena.h"
#include "error.h"
#include "glweave.h"
#include "huge.h"
#include "init.h"
#include "registry.h"
#include "segment.h"
#include "size_class.h"
#include "tcache.h"
#include "vg.h"

#include <errno.h>
#include <string.h>

static void *out_of_memory(void)
{
    errno = ENOMEM;
    return NULL;
}

static size_t usable_size_checked(const void *ptr, const char *call);

/* Announces a block the slow paths hand to the program (vg.h); returns it,
 * or reports out of memory.  Without --enable-valgrind nothing but the NULL
 * test is left: VG_ENABLED is 0 and the size lookup is dead code. */
static void *handed_out(void *p)
{
    if (p == NULL)
        return out_of_memory();
    if (VG_ENABLED)
        vg_block_allocated(p, usable_size_checked(p, "malloc"), false);
    return p;
}

/* Large or huge block (size > GL_SMALL_MAX, or a strict alignment). */
static void *alloc_big(size_t size, size_t alignment)
{
    if (size > GL_MAX_REQUEST)
        return out_of_memory();
    void *p = NULL;
    if (size <= GL_LARGE_MAX && alignment <= GL_LARGE_MAX)
        p = arena_alloc_large(tcache_arena(), size, alignment);
    if (p == NULL)
        p = huge_alloc(size, alignment);
    return p ? p : out_of_memory();
}

uintptr_t api_loader_text_start;
uintptr_t api_loader_text_size;

void *api_malloc_slow(size_t size, const void *caller)
{
    if (GL_UNLIKELY(api_called_by_loader(caller))) {
        void *p;
        TCACHE_WITHOUT_CACHE(p = api_malloc_slow(size, NULL));
        return p;
    }
    if (!init_ensure())
        return out_of_memory();
    if (size <= GL_SMALL_MAX)
        return handed_out(tcache_alloc_small(size_class_bin(size)));
    return handed_out(alloc_big(size, GL_QUANTUM));
}

/* What the registry says about a pointer outside small segments. */
enum pointer_kind {
    POINTER_UNKNOWN,  /* in no segment of glweave's */
    POINTER_INTERIOR, /* in a huge block's segment, not its start */
    POINTER_LARGE,    /* in a large segment: large.c decides */
    POINTER_HUGE,
};

/* Call between registry_read_begin and _end: header stays mapped. */
static enum pointer_kind classify_big(struct segment_header *header, const void *ptr, const char *call)
{
    if (header == NULL)
        return POINTER_UNKNOWN;
    if (header->magic != SEGMENT_MAGIC)
        error_report_corruption(call, ptr, "overwritten segment header at", header);
    if (header->kind == SEGMENT_LARGE)
        return POINTER_LARGE;
    if (header->kind == SEGMENT_HUGE)
        return huge_owns(header, ptr) ? POINTER_HUGE : POINTER_INTERIOR;
    return POINTER_UNKNOWN;
}

/* The reason given for a pointer classify_big did not accept. */
static const char *big_fault_reason(enum pointer_kind kind, const void *ptr, const char *call)
{
    /* A freed huge block's mapping and registry entry are gone, and its
     * address may meanwhile lie in another huge block's segment; so are
     * those of a large block's segment that its free released. */
    if (huge_recently_freed(ptr) || large_recently_released(ptr))
        return error_freed_reason(call);
    return kind == POINTER_INTERIOR ? "not the start of a block" : "not allocated by glweave";
}

static void free_big(void *ptr, const char *call)
{
    bool use_rcu = tcache_thread_uses_rcu();
    for (;;) {
        registry_read_begin(use_rcu);
        struct segment_header *header = registry_lookup(ptr);
        enum pointer_kind kind = classify_big(header, ptr, call);
        struct arena *arena = kind == POINTER_LARGE ? header->arena : NULL;
        /* Claimed while the header is sure to be mapped: of two threads
         * freeing one huge block, only the claimant unmaps it. */
        bool claimed = kind == POINTER_HUGE && huge_claim(header, ptr);
        registry_read_end(use_rcu);
        switch (kind) {
        case POINTER_LARGE:
            /* The read section ends before the arena's lock is taken (the
             * lock order is arena, then registry); arena_free_large looks
             * again under the lock.  false: the segment was released and
             * withdrawn meanwhile (a racing free of its last block), so the
             * pointer is classified anew. */
            if (arena_free_large(arena, header, ptr, call, use_rcu))
                return;
            continue;
        case POINTER_HUGE:
            if (claimed)
                huge_free(header, ptr);
            else
                error_report_pointer(call, error_freed_reason(call), ptr);
            return;
        default:
            error_report_pointer(call, big_fault_reason(kind, ptr, call), ptr);
            return;
        }
    }
}

void api_free_slow(void *ptr, const void *caller)
{
    if (ptr == NULL)
        return;
    if (GL_UNLIKELY(api_called_by_loader(caller))) {
        TCACHE_WITHOUT_CACHE(api_free_slow(ptr, NULL));
        return;
    }
    /* Before glweave validates the pointer or links the block anywhere:
     * memcheck then reports a double or invalid free itself, with the
     * stacks of the block's allocation and free, before glweave's own
     * report stops the program. */
    vg_block_freed(ptr);
    unsigned bin = registry_fast_bin(ptr);
    if (bin != 0)
        tcache_free_small(ptr, bin);
    else
        free_big(ptr, "free");
}

/* Usable size of a block, or 0 after reporting an invalid pointer. */
static size_t usable_size_checked(const void *ptr, const char *call)
{
    unsigned bin = registry_fast_bin(ptr);
    if (bin != 0) {
        size_t index;
        struct segment_header *segment = segment_of(ptr);
        if (segment_slab_of_block(segment, ptr, &index) == NULL) {
            error_report_pointer(call, arena_small_fault(segment, ptr, call), ptr);
            return 0;
        }
        /* The one freed block of the thread's cache that a compare finds
         * (the others are found when the cache is next counted). */
        if (tcache_is_first_free(ptr, bin)) {
            error_report_pointer(call, error_freed_reason(call), ptr);
            return 0;
        }
        return size_class_block_size[bin];
    }
    bool use_rcu = tcache_thread_uses_rcu();
    for (;;) {
        registry_read_begin(use_rcu);
        struct segment_header *header = registry_lookup(ptr);
        enum pointer_kind kind = classify_big(header, ptr, call);
        /* read while the mapping is sure to be there */
        struct arena *arena = kind == POINTER_LARGE ? header->arena : NULL;
        size_t huge_usable = kind == POINTER_HUGE ? huge_usable_size(header) : 0;
        registry_read_end(use_rcu);
        switch (kind) {
        case POINTER_LARGE: {
            /* As in free_big: false when a racing free released the
             * segment before the arena's lock was taken. */
            size_t usable;
            if (arena_usable_large(arena, header, ptr, call, use_rcu, &usable))
                return usable; /* 0: refused, and reported */
            continue;
        }
        case POINTER_HUGE:
            return huge_usable;
        default:
            error_report_pointer(call, big_fault_reason(kind, ptr, call), ptr);
            return 0;
        }
    }
}

GL_EXPORT size_t gl_usable_size(const void *ptr)
{
    if (ptr == NULL)
        return 0;
    return usable_size_checked(ptr, "malloc_usable_size");
}

GL_EXPORT void gl_free_sized(void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    size_t usable = usable_size_checked(ptr, "free_sized");
    if (usable == 0)
        return; /* reported; leaked in report-and-leak mode */
    if (size > usable) {
        error_report_pointer("free_sized", "size larger than the block", ptr);
        return;
    }
    gl_free(ptr);
}

GL_EXPORT void *gl_calloc(size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total))
        return out_of_memory();
    void *p = gl_malloc(total);
    if (p == NULL)
        return NULL;
    /* Huge blocks are fresh mappings, already zero: memcheck, told by
     * gl_malloc that the block is undefined, learns that here. */
    if (total <= GL_LARGE_MAX)
        memset(p, 0, total);
    else
        vg_mem_defined(p, total);
    return p;
}

/* A small block whose class also fits the new size stays where it is. */
static bool same_home(const void *ptr, size_t size)
{
    unsigned bin = registry_fast_bin(ptr);
    return bin != 0 && size <= GL_SMALL_MAX && size_class_bin(size) == bin;
}

static bool resize_in_place(void *ptr, size_t size)
{
    if (registry_fast_bin(ptr) != 0)
        return false;
    bool use_rcu = tcache_thread_uses_rcu();
    registry_read_begin(use_rcu);
    struct segment_header *header = registry_lookup(ptr);
    enum pointer_kind kind = classify_big(header, ptr, "realloc");
    registry_read_end(use_rcu);
    switch (kind) {
    case POINTER_LARGE:
        return size > GL_SMALL_MAX && size <= GL_LARGE_MAX && arena_resize_large(header, ptr, size);
    case POINTER_HUGE:
        return size > GL_LARGE_MAX && huge_resize_in_place(header, size);
    default:
        return false;
    }
}

GL_EXPORT void *gl_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return gl_malloc(size);
    if (size == 0) {
        gl_free(ptr);
        return NULL;
    }
    size_t old_usable = usable_size_checked(ptr, "realloc");
    if (old_usable == 0)
        return NULL; /* invalid pointer, reported */
    if (size > GL_MAX_REQUEST)
        return out_of_memory();
    if (same_home(ptr, size))
        return ptr; /* same class, same usable size */
    if (resize_in_place(ptr, size)) {
        if (VG_ENABLED)
            vg_block_resized(ptr, old_usable, usable_size_checked(ptr, "realloc"));
        return ptr;
    }
    void *fresh = gl_malloc(size);
    if (fresh == NULL)
        return NULL;
    memcpy(fresh, ptr, old_usable < size ? old_usable : size);
    gl_free(ptr);
    return fresh;
}

GL_EXPORT void *gl_reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total))
        return out_of_memory();
    return gl_realloc(ptr, total);
}

/* Aligned allocation once alignment is known to be a power of two. */
static void *aligned_alloc_checked(size_t alignment, size_t size)
{
    if (alignment <= GL_QUANTUM)
        return gl_malloc(size);
    if (!init_ensure())
        return out_of_memory();
    if (size > GL_MAX_REQUEST || alignment > GL_MAX_REQUEST)
        return out_of_memory();
    unsigned bin = size_class_bin_aligned(size ? size : 1, alignment);
    if (bin != 0)
        return handed_out(tcache_alloc_small(bin));
    return handed_out(alloc_big(size, alignment));
}

GL_EXPORT void *gl_aligned_alloc(size_t alignment, size_t size)
{
    if (!gl_is_power_of_two(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_alloc_checked(alignment, size);
}

GL_EXPORT int gl_posix_memalign(void **memptr, size_t alignment, size_t size)
{
    if (!gl_is_power_of_two(alignment) || alignment % sizeof(void *) != 0)
        return EINVAL;
    /* Restored on success too: a thread's first allocation sets up its
     * cache, and liburcu's registration may leave errno at ENOMEM (a failed
     * in-place mremap it recovers from). */
    int saved = errno;
    void *p = aligned_alloc_checked(alignment, size);
    errno = saved;
    if (p == NULL)
        return ENOMEM;
    *memptr = p;
    return 0;
}

GL_EXPORT void gl_thread_flush(void)
{
    tcache_flush_current();
}

GL_EXPORT int gl_trim(void)
{
    if (!init_ensure())
        return 0;
    tcache_flush_current();
    tcache_request_flush_all();
    return arena_trim_all() > 0;
}

GL_EXPORT const char *gl_version(void)
{
    return PACKAGE_VERSION;
}
