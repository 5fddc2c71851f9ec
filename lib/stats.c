/* stats.c -- the statistics API: sums the arenas' counters and the thread
 * caches' fill levels, measures resident memory with mincore, and prints a
 * report with write(2).  It only reads; it never stops allocating threads
 * (caches are read through liburcu, arenas under their locks briefly) and
 * never allocates.
 *
 * SPDX-License-Identifier: MIT
 */
#define _DEFAULT_SOURCE
#include "arena.h"
#include "base.h"
#include "glweave.h"
#include "huge.h"
#include "init.h"
#include "os.h"
#include "registry.h"
#include "segment.h"
#include "size_class.h"
#include "tcache.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Static_assert(GL_STATS_CLASSES == GL_SMALL_CLASSES, "public class count");

static void count_resident(struct segment_header *header, void *context)
{
    size_t *resident = context;
    size_t page = os_page_size();
    /* A huge block's owner may resize it meanwhile (huge_resize_in_place). */
    size_t length = header->kind == SEGMENT_HUGE
                        ? __atomic_load_n(&header->mapped_size, __ATOMIC_RELAXED)
                        : GL_SEGMENT_SIZE;
    unsigned char pages[256];
    for (size_t offset = 0; offset < length; offset += sizeof pages * page) {
        size_t chunk = length - offset < sizeof pages * page ? length - offset : sizeof pages * page;
        if (mincore((char *)header + offset, chunk, pages) != 0)
            continue;
        for (size_t i = 0; i < (chunk + page - 1) / page; i++)
            *resident += (pages[i] & 1) * page;
    }
}

static bool valid_request(const void *out, unsigned version, size_t out_size, size_t needed)
{
    return out != NULL && out_size >= needed && version == GL_STATS_VERSION;
}

GL_EXPORT int gl_stats_get(struct gl_stats *out, size_t out_size)
{
    if (!valid_request(out, out ? out->version : 0, out_size, sizeof *out))
        return EINVAL;
    if (!init_ensure())
        return ENOMEM;
    size_t live_caches;
    size_t cached = tcache_cached_bytes(&live_caches);
    size_t small_out = 0, large = 0, dirty = 0, purged = 0;
    for (unsigned i = 0; i < arena_count(); i++) {
        struct arena_counters counters;
        arena_read_counters(i, &counters);
        small_out += counters.small_out;
        large += counters.large_allocated;
        dirty += counters.dirty;
        purged += counters.purged;
    }
    size_t huge = huge_allocated_bytes();
    size_t resident = 0;
    registry_for_each(count_resident, &resident);
    memset(out, 0, sizeof *out);
    out->version = GL_STATS_VERSION;
    out->arenas = arena_count();
    out->thread_cached = cached;
    out->small_allocated = small_out > cached ? small_out - cached : 0;
    out->large_allocated = large;
    out->huge_allocated = huge;
    out->allocated = out->small_allocated + large + huge;
    out->active = out->allocated + cached;
    out->mapped = segment_mapped_bytes() + base_mapped_bytes();
    out->resident = resident + base_mapped_bytes();
    out->retained = out->mapped > out->resident ? out->mapped - out->resident : 0;
    out->dirty = dirty;
    out->purged = purged;
    out->thread_caches = live_caches;
    out->segments = segment_count();
    return 0;
}

GL_EXPORT int gl_stats_class(unsigned index, struct gl_class_stats *out, size_t out_size)
{
    if (!valid_request(out, out ? out->version : 0, out_size, sizeof *out) || index >= GL_SMALL_CLASSES)
        return EINVAL;
    if (!init_ensure())
        return ENOMEM;
    unsigned bin = index + 1;
    struct tcache_bin_counters caches[GL_BINS];
    memset(caches, 0, sizeof caches);
    size_t live_caches;
    tcache_read_counters(&live_caches, caches, NULL);
    size_t out_blocks = 0, slabs = 0;
    for (unsigned i = 0; i < arena_count(); i++) {
        struct arena_counters counters;
        arena_read_counters(i, &counters);
        out_blocks += counters.blocks_out[bin];
        slabs += counters.slabs[bin];
    }
    memset(out, 0, sizeof *out);
    out->version = GL_STATS_VERSION;
    out->index = index;
    out->block_size = size_class_block_size[bin];
    out->blocks_cached = caches[bin].blocks;
    out->blocks_in_use = out_blocks > caches[bin].blocks ? out_blocks - caches[bin].blocks : 0;
    out->slabs = slabs;
    out->cache_hits = caches[bin].hits;
    out->cache_misses = caches[bin].refills;
    out->cache_flushes = caches[bin].flushes;
    return 0;
}

GL_EXPORT int gl_stats_arena(unsigned index, struct gl_arena_stats *out, size_t out_size)
{
    if (!valid_request(out, out ? out->version : 0, out_size, sizeof *out))
        return EINVAL;
    if (!init_ensure())
        return ENOMEM;
    if (index >= arena_count())
        return EINVAL;
    struct arena_counters counters;
    arena_read_counters(index, &counters);
    memset(out, 0, sizeof *out);
    out->version = GL_STATS_VERSION;
    out->index = index;
    out->small_out = counters.small_out;
    out->large_allocated = counters.large_allocated;
    out->dirty = counters.dirty;
    out->purged = counters.purged;
    out->lock_acquired = counters.lock_acquired;
    out->lock_contended = counters.lock_contended;
    for (unsigned c = 0; c < GL_SMALL_CLASSES; c++)
        out->blocks_out[c] = counters.blocks_out[c + 1];
    struct tcache_bin_counters caches[GL_BINS];
    memset(caches, 0, sizeof caches);
    size_t live_caches;
    tcache_read_counters(&live_caches, caches, arena_get(index));
    for (unsigned bin = 1; bin < GL_BINS; bin++) {
        out->cache_hits += caches[bin].hits;
        out->cache_misses += caches[bin].refills;
    }
    return 0;
}

/* --- the report, formatted without stdio ------------------------------- */

struct report {
    int fd;
    int error;
    size_t used;
    char text[2048];
};

static void report_flush(struct report *r)
{
    size_t done = 0;
    while (done < r->used && r->error == 0) {
        ssize_t n = write(r->fd, r->text + done, r->used - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r->error = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    r->used = 0;
}

static void put(struct report *r, const char *s)
{
    for (; *s; s++) {
        if (r->used == sizeof r->text)
            report_flush(r);
        r->text[r->used++] = *s;
    }
}

static void put_number(struct report *r, size_t value, int width)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    char line[48];
    int at = 0;
    for (int pad = width - n; pad > 0; pad--)
        line[at++] = ' ';
    while (n)
        line[at++] = digits[--n];
    line[at] = 0;
    put(r, line);
}

static void put_field(struct report *r, const char *name, size_t value)
{
    put(r, "  ");
    put(r, name);
    for (size_t pad = strlen(name); pad < 16; pad++)
        put(r, " ");
    put_number(r, value, 16);
    put(r, "\n");
}

GL_EXPORT int gl_stats_print(int fd)
{
    struct report r = {.fd = fd};
    struct gl_stats s = {.version = GL_STATS_VERSION};
    if (gl_stats_get(&s, sizeof s) != 0) {
        errno = ENOMEM;
        return -1;
    }
    put(&r, "glweave ");
    put(&r, gl_version());
    put(&r, " statistics (bytes)\n");
    put_field(&r, "allocated", s.allocated);
    put_field(&r, "  small", s.small_allocated);
    put_field(&r, "  large", s.large_allocated);
    put_field(&r, "  huge", s.huge_allocated);
    put_field(&r, "thread_cached", s.thread_cached);
    put_field(&r, "active", s.active);
    put_field(&r, "dirty", s.dirty);
    put_field(&r, "purged", s.purged);
    put_field(&r, "resident", s.resident);
    put_field(&r, "mapped", s.mapped);
    put_field(&r, "retained", s.retained);
    put_field(&r, "segments", s.segments);
    put_field(&r, "thread_caches", s.thread_caches);
    put_field(&r, "arenas", s.arenas);
    put(&r, "arena      small_out  large_alloc        dirty    lock_taken   contended      cache_hits  cache_misses\n");
    for (unsigned i = 0; i < s.arenas; i++) {
        struct gl_arena_stats a = {.version = GL_STATS_VERSION};
        if (gl_stats_arena(i, &a, sizeof a) != 0)
            continue;
        put_number(&r, i, 5);
        put_number(&r, a.small_out, 15);
        put_number(&r, a.large_allocated, 13);
        put_number(&r, a.dirty, 13);
        put_number(&r, a.lock_acquired, 14);
        put_number(&r, a.lock_contended, 12);
        put_number(&r, a.cache_hits, 16);
        put_number(&r, a.cache_misses, 14);
        put(&r, "\n");
    }
    put(&r, "class  in_use_blocks  cached_blocks   slabs      cache_hits  cache_misses  cache_flushes\n");
    for (unsigned c = 0; c < GL_STATS_CLASSES; c++) {
        struct gl_class_stats k = {.version = GL_STATS_VERSION};
        if (gl_stats_class(c, &k, sizeof k) != 0 || (k.slabs == 0 && k.cache_misses == 0))
            continue;
        put_number(&r, k.block_size, 5);
        put_number(&r, k.blocks_in_use, 15);
        put_number(&r, k.blocks_cached, 15);
        put_number(&r, k.slabs, 8);
        put_number(&r, k.cache_hits, 16);
        put_number(&r, k.cache_misses, 14);
        put_number(&r, k.cache_flushes, 15);
        put(&r, "\n");
    }
    report_flush(&r);
    if (r.error) {
        errno = r.error;
        return -1;
    }
    return 0;
}
