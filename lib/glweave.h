/* glweave.h -- the public API of libglweave, a thread-safe multi-arena
 * memory allocator.  This header is installed; it owns the contract of every
 * exported function and must never expose an internal type.
 *
 * SPDX-License-Identifier: MIT
 *
 * Conventions shared by every function below:
 *  - Every pointer returned is aligned to at least 16 bytes.
 *  - A request that cannot be met (size overflow, absurd size, address space
 *    exhausted) returns NULL and sets errno to ENOMEM; nothing else changes.
 *  - A pointer passed to gl_free, gl_free_sized, gl_realloc,
 *    gl_reallocarray or gl_usable_size must be NULL (where allowed) or a
 *    pointer returned by this library and not yet freed.  Anything else (a
 *    stack or global address, a pointer from another allocator, a pointer
 *    into the middle of a block, a block freed twice) is detected where
 *    possible and reported on stderr as
 *        glweave: free(): invalid pointer 0x...
 *    followed by abort().
 *  - All functions are thread-safe.  A block may be freed by any thread.
 */
#ifndef GLWEAVE_H
#define GLWEAVE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GL_API_MALLOC __attribute__((malloc, warn_unused_result))
#else
#define GL_API_MALLOC
#endif

/* Allocates size bytes, uninitialised.  gl_malloc(0) returns a unique
 * pointer (to a 16-byte block) that must be passed to gl_free.
 * errno: ENOMEM when size is too large or memory is exhausted. */
void *gl_malloc(size_t size) GL_API_MALLOC;

/* Releases a block.  gl_free(NULL) does nothing.  Invalid pointers and
 * double frees are reported and abort the process (see above). */
void gl_free(void *ptr);

/* Like gl_free, for a caller that knows the size it asked for.  size must be
 * the size passed to the allocating call (or any value up to
 * gl_usable_size(ptr)); a size larger than the block is reported as an
 * invalid free.  gl_free_sized(NULL, n) does nothing. */
void gl_free_sized(void *ptr, size_t size);

/* Allocates nmemb * size bytes, all zero.  If the product overflows, returns
 * NULL with errno = ENOMEM.  gl_calloc(0, n) behaves like gl_malloc(0). */
void *gl_calloc(size_t nmemb, size_t size) GL_API_MALLOC;

/* Resizes a block, keeping min(old, new) bytes of its contents; the block may
 * move.  Edges follow glibc:
 *  - gl_realloc(NULL, n) is gl_malloc(n);
 *  - gl_realloc(p, 0) with p != NULL frees p and returns NULL;
 *  - on failure returns NULL with errno = ENOMEM and p is left untouched. */
void *gl_realloc(void *ptr, size_t size) __attribute__((warn_unused_result));

/* gl_realloc(ptr, nmemb * size), but returns NULL with errno = ENOMEM (and
 * leaves ptr untouched) when the product overflows.  A zero product behaves
 * exactly as gl_realloc(ptr, 0). */
void *gl_reallocarray(void *ptr, size_t nmemb, size_t size)
    __attribute__((warn_unused_result));

/* Allocates size bytes aligned to alignment, which must be a power of two
 * (any power of two is accepted, including values below 16, which give
 * 16-byte alignment).  A zero or non-power-of-two alignment gives NULL with
 * errno = EINVAL.  size need not be a multiple of alignment.
 * errno: EINVAL (bad alignment), ENOMEM (too large). */
void *gl_aligned_alloc(size_t alignment, size_t size) GL_API_MALLOC;

/* POSIX form of aligned allocation.  alignment must be a power of two and a
 * multiple of sizeof(void *).  Returns 0 and stores the block in *memptr, or
 * returns EINVAL (bad alignment) or ENOMEM and leaves *memptr unchanged.
 * errno is not modified. */
int gl_posix_memalign(void **memptr, size_t alignment, size_t size);

/* Returns the number of bytes usable in the block at ptr (at least the size
 * asked for; the whole block may be written).  gl_usable_size(NULL) is 0. */
size_t gl_usable_size(const void *ptr);

/* Returns every block cached by the calling thread to the shared arenas, so
 * that other threads can reuse them.  Cheap to call; never needed for
 * correctness.  A thread's cache is flushed automatically when it exits. */
void gl_thread_flush(void);

/* Returns free memory to the operating system now, as malloc_trim does:
 * flushes the calling thread's cache (other threads' caches flush on their
 * next allocator call), gives back the pages of every free span and empty
 * slab, and unmaps wholly free segments.  Returns 1 if memory was given
 * back, 0 if there was none to give.  Without it, free memory goes back by
 * itself after decay_ms (see GLWEAVE_OPTIONS in glweave(7)). */
int gl_trim(void);

/* Returns the library version as "MAJOR.MINOR.PATCH". */
const char *gl_version(void);

/* A snapshot of the allocator's counters.  The struct grows only at its end;
 * callers set version = GL_STATS_VERSION and pass sizeof(struct gl_stats).
 * All byte counts are totals over every arena and thread. */
#define GL_STATS_VERSION 1
struct gl_stats {
    unsigned version;           /* in: GL_STATS_VERSION */
    unsigned arenas;            /* number of arenas */
    size_t allocated;           /* usable bytes in blocks the program holds */
    size_t thread_cached;       /* bytes of free blocks held in thread caches */
    size_t small_allocated;     /* part of `allocated` in small blocks */
    size_t large_allocated;     /* part of `allocated` in large blocks */
    size_t huge_allocated;      /* part of `allocated` in huge mappings */
    size_t mapped;              /* bytes of address space mapped from the OS */
    size_t thread_caches;       /* live thread caches */
    size_t segments;            /* segments (small, large and huge) in use */
    size_t active;              /* bytes in blocks out of the arenas: allocated + thread_cached */
    size_t resident;            /* bytes of glweave's mappings backed by memory (mincore) */
    size_t retained;            /* mapped but not resident: address space kept, memory given back */
    size_t dirty;               /* free bytes not yet given back (returned after decay_ms) */
    size_t purged;              /* bytes given back with madvise since start */
};

/* Per size class, summed over arenas and threads. */
#define GL_STATS_CLASSES 36
struct gl_class_stats {
    unsigned version;           /* in: GL_STATS_VERSION */
    unsigned index;             /* 0 .. GL_STATS_CLASSES-1 */
    size_t block_size;
    size_t blocks_in_use;       /* held by the program */
    size_t blocks_cached;       /* held in thread caches */
    size_t slabs;               /* slabs started for the class */
    size_t cache_hits;          /* allocations served by a thread cache */
    size_t cache_misses;        /* thread-cache refills from an arena */
    size_t cache_flushes;       /* thread-cache overflows returned to an arena */
};

/* Per arena. */
struct gl_arena_stats {
    unsigned version;           /* in: GL_STATS_VERSION */
    unsigned index;
    size_t small_out;           /* bytes of small blocks out of this arena (program + caches) */
    size_t large_allocated;     /* usable bytes of large blocks in use */
    size_t dirty;
    size_t purged;
    size_t lock_acquired;       /* times the arena lock was taken */
    size_t lock_contended;      /* ... and found already held */
    size_t blocks_out[GL_STATS_CLASSES]; /* small blocks out, per class */
    size_t cache_hits;          /* allocations served by the caches of this arena's threads */
    size_t cache_misses;        /* refills of those caches from this arena */
};

/* Fills *out (of size out_size, normally sizeof *out).  Returns 0, or EINVAL
 * when out is NULL, out->version is unknown or out_size is too small.
 * Reading statistics never blocks allocating threads for long: thread
 * caches are read without stopping them, so the figures are a snapshot that
 * may be a few blocks out of date while other threads run. */
int gl_stats_get(struct gl_stats *out, size_t out_size);

/* Fills the statistics of size class `index` (0 is the smallest) or of
 * arena `index`.  Returns 0, or EINVAL for a bad index, version or size.
 * Cache hits are not counted: counting them would cost the hit path an
 * instruction; misses and flushes are. */
int gl_stats_class(unsigned index, struct gl_class_stats *out, size_t out_size);
int gl_stats_arena(unsigned index, struct gl_arena_stats *out, size_t out_size);

/* Writes a human-readable report of all statistics to file descriptor fd.
 * Uses write(2) only (no stdio, no allocation), so it may be called
 * anywhere, including from a signal handler's point of view of the
 * allocator.  Returns 0, or -1 with errno from write. */
int gl_stats_print(int fd);

#ifdef __cplusplus
}
#endif

#endif /* GLWEAVE_H */
