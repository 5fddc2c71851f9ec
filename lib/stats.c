/* stats.c -- gl_stats_get: sums the arenas' counters and the thread
 * caches' fill levels.  It only reads; it never stops allocating threads
 * (caches are read through liburcu, arenas under their locks briefly).
 *
 * SPDX-License-Identifier: MIT
 */
#include "arena.h"
#include "base.h"
#include "glweave.h"
#include "huge.h"
#include "init.h"
#include "segment.h"
#include "tcache.h"

#include <errno.h>
#include <string.h>

GL_EXPORT int gl_stats_get(struct gl_stats *out, size_t out_size)
{
    if (out == NULL || out_size < sizeof *out || out->version != GL_STATS_VERSION)
        return EINVAL;
    if (!init_ensure())
        return ENOMEM;
    size_t small_out, large, live_caches;
    size_t cached = tcache_cached_bytes(&live_caches);
    arena_totals(&small_out, &large);
    size_t huge = huge_allocated_bytes();
    memset(out, 0, sizeof *out);
    out->version = GL_STATS_VERSION;
    out->arenas = arena_count();
    out->thread_cached = cached;
    out->small_allocated = small_out > cached ? small_out - cached : 0;
    out->large_allocated = large;
    out->huge_allocated = huge;
    out->allocated = out->small_allocated + large + huge;
    out->mapped = segment_mapped_bytes() + base_mapped_bytes();
    out->thread_caches = live_caches;
    out->segments = segment_count();
    return 0;
}
