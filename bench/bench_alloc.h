/* bench_alloc.h -- the one indirection between the benchmark driver and an
 * allocator.  Built plain, the driver calls malloc/free/realloc, so that an
 * allocator given with LD_PRELOAD (or glibc's, with none) is measured; built
 * with -DBENCH_GLWEAVE it calls glweave's gl_* API directly.  Nothing else in
 * the driver may name an allocator.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_ALLOC_H
#define BENCH_ALLOC_H

#include <stddef.h>

/* What an allocator can tell about itself beside RSS (glweave only). */
struct bench_alloc_stats {
    int valid;          /* 0 when the allocator has no statistics */
    size_t allocated;   /* bytes in blocks the program holds */
    size_t mapped;      /* bytes of address space taken from the OS */
    size_t cached;      /* bytes of free blocks in thread caches */
    size_t resident;    /* bytes of the allocator's mappings in memory */
    size_t dirty;       /* free bytes not yet given back to the OS */
};

#ifdef BENCH_GLWEAVE

#include "glweave.h"

#define BENCH_API "gl_api"

static inline void *bench_malloc(size_t n) { return gl_malloc(n); }
static inline void bench_free(void *p) { gl_free(p); }
static inline void *bench_realloc(void *p, size_t n) { return gl_realloc(p, n); }

static inline const char *bench_alloc_name(void)
{
    return "glweave";
}

static inline void bench_alloc_stats(struct bench_alloc_stats *out)
{
    struct gl_stats s = {.version = GL_STATS_VERSION};
    out->valid = gl_stats_get(&s, sizeof s) == 0;
    out->allocated = s.allocated;
    out->mapped = s.mapped;
    out->cached = s.thread_cached;
    out->resident = s.resident;
    out->dirty = s.dirty;
}

#else /* plain malloc: glibc, or whatever LD_PRELOAD put in front of it */

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_API "malloc"

static inline void *bench_malloc(size_t n) { return malloc(n); }
static inline void bench_free(void *p) { free(p); }
static inline void *bench_realloc(void *p, size_t n) { return realloc(p, n); }

/* The file that defines the malloc this process really calls, so that the
 * runner can check that LD_PRELOAD took effect. */
static inline const char *bench_alloc_name(void)
{
    void *(*volatile fn)(size_t) = malloc;
    Dl_info info;
    if (dladdr((void *)fn, &info) == 0 || info.dli_fname == NULL)
        return "unknown";
    const char *slash = strrchr(info.dli_fname, '/');
    return slash ? slash + 1 : info.dli_fname;
}

static inline void bench_alloc_stats(struct bench_alloc_stats *out)
{
    out->valid = 0;
    out->allocated = out->mapped = out->cached = out->resident = out->dirty = 0;
}

#endif

#endif /* BENCH_ALLOC_H */
