/* arena.c -- the shared arenas: each has a lock, per-class lists of slabs
 * with free blocks, and a large heap.  Thread caches take and return small
 * blocks here in batches.  An arena never calls up into thread caches and
 * never unmaps memory while holding its lock; it may read the registry
 * under it (the lock order is arena, then registry).
 *
 * SPDX-License-Identifier: MIT
 */
#include "arena.h"
#include "base.h"
#include "error.h"
#include "freelist.h"
#include "options.h"
#include "os.h"
#include "registry.h"
#include "segment.h"
#include "size_class.h"

#include <time.h>

#define MAX_ARENAS 64u

static struct arena *arenas[MAX_ARENAS];
static unsigned arenas_count;
static unsigned next_arena;

static uint64_t now_ms(void);

bool arena_init_all(unsigned count)
{
    if (count == 0)
        count = 1;
    if (count > MAX_ARENAS)
        count = MAX_ARENAS;
    for (unsigned i = 0; i < count; i++) {
        struct arena *arena = base_alloc(sizeof *arena);
        if (arena == NULL)
            return false;
        pthread_mutex_init(&arena->lock, NULL);
        arena->index = i;
        /* the decay counts from now, not from the epoch */
        arena->last_purge_ms = now_ms();
        arenas[i] = arena;
    }
    arenas_count = count;
    return true;
}

unsigned arena_count(void) { return arenas_count; }
struct arena *arena_get(unsigned index) { return arenas[index]; }

struct arena *arena_pick(void)
{
    unsigned n = __atomic_fetch_add(&next_arena, 1, __ATOMIC_RELAXED);
    return arenas[n % arenas_count];
}

static void arena_lock(struct arena *arena)
{
    if (pthread_mutex_trylock(&arena->lock) != 0) {
        pthread_mutex_lock(&arena->lock);
        arena->lock_contended++;
    }
    arena->lock_acquired++;
}

static void arena_unlock(struct arena *arena)
{
    pthread_mutex_unlock(&arena->lock);
}

/* --- small blocks ------------------------------------------------------ */

static void partial_push(struct arena_bin *bin, struct slab *slab)
{
    slab->prev_partial = NULL;
    slab->next_partial = bin->partial;
    if (bin->partial)
        bin->partial->prev_partial = slab;
    bin->partial = slab;
    slab->on_partial_list = true;
}

static void partial_remove(struct arena_bin *bin, struct slab *slab)
{
    if (slab->prev_partial)
        slab->prev_partial->next_partial = slab->next_partial;
    else
        bin->partial = slab->next_partial;
    if (slab->next_partial)
        slab->next_partial->prev_partial = slab->prev_partial;
    slab->on_partial_list = false;
}

/* --- returning memory ------------------------------------------------- */

static size_t slab_dirty_bytes(const struct slab *slab, size_t block_size)
{
    return (size_t)(slab->capacity - slab->never_used) * block_size;
}

static void empty_push(struct arena *arena, struct slab *slab, size_t block_size)
{
    slab->prev_empty = NULL;
    slab->next_empty = arena->empty_slabs;
    if (arena->empty_slabs)
        arena->empty_slabs->prev_empty = slab;
    arena->empty_slabs = slab;
    slab->on_empty_list = true;
    arena->small_dirty += slab_dirty_bytes(slab, block_size);
}

static void empty_remove(struct arena *arena, struct slab *slab, size_t block_size)
{
    if (slab->prev_empty)
        slab->prev_empty->next_empty = slab->next_empty;
    else
        arena->empty_slabs = slab->next_empty;
    if (slab->next_empty)
        slab->next_empty->prev_empty = slab->prev_empty;
    slab->on_empty_list = false;
    arena->small_dirty -= slab_dirty_bytes(slab, block_size);
}

/* Gives an empty slab's pages back and makes it as good as new: its blocks
 * will be carved again, from zero pages. */
static size_t purge_slab(struct arena *arena, struct slab *slab)
{
    struct segment_header *segment = segment_of(slab->first_block);
    size_t page = os_page_size();
    uintptr_t first = gl_align_up((uintptr_t)slab->first_block, page);
    uintptr_t last = ((uintptr_t)slab->first_block + slab_dirty_bytes(slab, segment->block_size))
                     & ~(uintptr_t)(page - 1);
    empty_remove(arena, slab, segment->block_size);
    size_t given = 0;
    if (last > first) {
        os_discard((void *)first, last - first);
        given = last - first;
    }
    slab->free_list = NULL;
    slab->free_count = 0;
    __atomic_store_n(&slab->never_used, slab->capacity, __ATOMIC_RELAXED);
    return given;
}

/* Takes each small segment none of whose blocks is out off every list of
 * the arena and queues it for unmapping.  Unless everything goes (gl_trim),
 * the segment still carving new slabs is kept, so that a bin that empties
 * and refills does not map and unmap. */
static size_t retire_empty_segments(struct arena *arena, bool everything)
{
    size_t given = 0;
    for (unsigned index = 1; index < GL_BINS; index++) {
        struct arena_bin *bin = &arena->bins[index];
        struct segment_header *segment = bin->segments, *next;
        for (; segment; segment = next) {
            next = segment->next;
            if (segment->slabs_in_use != 0 || (segment == bin->carving && !everything))
                continue;
            if (segment == bin->carving)
                bin->carving = NULL;
            for (uint32_t i = 0; i < segment->slabs_started; i++) {
                struct slab *slab = &segment->slabs[i];
                if (slab->on_empty_list)
                    empty_remove(arena, slab, segment->block_size);
                if (slab->on_partial_list)
                    partial_remove(bin, slab);
            }
            if (segment->prev)
                segment->prev->next = segment->next;
            else
                bin->segments = segment->next;
            if (segment->next)
                segment->next->prev = segment->prev;
            segment->next = arena->to_unmap;
            arena->to_unmap = segment;
            given += GL_SEGMENT_SIZE;
        }
    }
    return given;
}

/* Drops the lock, then unmaps what purging queued (unmapping waits for
 * registry readers, which must never happen under an arena lock). */
static void arena_unlock_and_unmap(struct arena *arena)
{
    struct segment_header *queue = arena->to_unmap;
    arena->to_unmap = NULL;
    arena_unlock(arena);
    while (queue) {
        struct segment_header *next = queue->next;
        segment_destroy(queue);
        queue = next;
    }
}

static size_t purge_all(struct arena *arena, bool everything)
{
    size_t given = retire_empty_segments(arena, everything);
    while (arena->empty_slabs)
        given += purge_slab(arena, arena->empty_slabs);
    given += large_purge(&arena->large, os_page_size());
    arena->purged_bytes += given;
    return given;
}

static uint64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Called on slow paths with the lock held: dirty memory beyond dirty_max is
 * returned at once, the rest once decay_ms have passed since the last
 * purge.  No background thread: a program that stops calling the allocator
 * keeps at most dirty_max per arena (gl_trim returns it). */
static void maybe_purge(struct arena *arena)
{
    size_t dirty = arena->small_dirty + arena->large.dirty;
    if (dirty == 0)
        return;
    uint64_t now = now_ms();
    if (dirty > options.dirty_max || now - arena->last_purge_ms >= options.decay_ms) {
        purge_all(arena, false);
        arena->last_purge_ms = now;
    }
}

size_t arena_trim_all(void)
{
    size_t given = 0;
    for (unsigned i = 0; i < arenas_count; i++) {
        struct arena *arena = arenas[i];
        struct segment_header *empty[16];
        size_t count;
        do {
            arena_lock(arena);
            given += purge_all(arena, true);
            arena->last_purge_ms = now_ms();
            for (count = 0; count < sizeof empty / sizeof empty[0]; count++)
                if ((empty[count] = large_take_empty_segment(&arena->large)) == NULL)
                    break;
            arena_unlock_and_unmap(arena);
            /* unmapping waits for registry readers: never under the lock */
            for (size_t k = 0; k < count; k++) {
                segment_destroy(empty[k]);
                given += GL_SEGMENT_SIZE;
            }
        } while (count == sizeof empty / sizeof empty[0]);
    }
    return given;
}

/* A slab with blocks to give, starting a new slab or segment if needed. */
static struct slab *slab_with_room(struct arena *arena, unsigned bin_index)
{
    struct arena_bin *bin = &arena->bins[bin_index];
    if (bin->partial)
        return bin->partial;
    struct slab *slab;
    for (;;) {
        if (bin->carving == NULL || !segment_start_slab(bin->carving, &slab)) {
            struct segment_header *fresh = segment_create(SEGMENT_SMALL, arena, bin_index);
            if (fresh == NULL)
                return NULL;
            fresh->prev = NULL;
            fresh->next = bin->segments;
            if (bin->segments)
                bin->segments->prev = fresh;
            bin->segments = fresh;
            bin->carving = fresh;
            continue;
        }
        if (slab->capacity > 0)
            break;
    }
    bin->slabs++;
    partial_push(bin, slab);
    return slab;
}

/* The out-bitmap holds bitmap_words_per_slab words per slab; index is
 * slab * blocks_per_slab + block within the slab. */
static inline uint64_t *out_word(struct segment_header *segment, size_t index, uint64_t *bit)
{
    size_t slab = index / segment->blocks_per_slab;
    size_t within = index % segment->blocks_per_slab;
    *bit = (uint64_t)1 << (within & 63);
    return &segment->out_bitmap[slab * segment->bitmap_words_per_slab + within / 64];
}

static inline void mark_out(struct segment_header *segment, size_t index, bool out)
{
    uint64_t bit;
    uint64_t *word = out_word(segment, index, &bit);
    *word = out ? (*word | bit) : (*word & ~bit);
}

static inline bool is_out(struct segment_header *segment, size_t index)
{
    uint64_t bit;
    return (*out_word(segment, index, &bit) & bit) != 0;
}

/* The block after block on its slab's free list (NULL after the last).  A
 * link that leads outside the slab, or off a block boundary, was written by
 * the program after it freed block: reported, and the rest of the list is
 * abandoned (report-and-leak mode). */
static void *next_in_slab(struct slab *slab, void *block, size_t block_size, unsigned bin_index)
{
    uintptr_t next = freelist_decode(freelist_load_link(block));
    if (next == FREELIST_END)
        return NULL;
    uintptr_t first = (uintptr_t)slab->first_block;
    if (next >= first && next < first + (size_t)slab->capacity * block_size
        && (next - first) % block_size == 0)
        return (void *)next;
    error_report_broken_list("malloc", "corrupted free list (write after free or overflow)",
                            size_class_block_size[bin_index], next);
    slab->free_count = 1; /* the block being taken is the last one left */
    return NULL;
}

unsigned arena_take_small(struct arena *arena, unsigned bin_index, unsigned want, void **list)
{
    size_t block_size = size_class_block_size[bin_index];
    void *head = NULL;
    unsigned taken = 0;
    arena_lock(arena);
    while (taken < want) {
        struct slab *slab = slab_with_room(arena, bin_index);
        if (slab == NULL)
            break;
        struct segment_header *segment = segment_of(slab->first_block);
        size_t slab_index = (size_t)(slab - segment->slabs);
        if (slab->on_empty_list)
            empty_remove(arena, slab, block_size);
        while (taken < want && (slab->free_count > 0 || slab->never_used > 0)) {
            void *block;
            if (slab->free_count > 0) {
                block = slab->free_list;
                slab->free_list = next_in_slab(slab, block, block_size, bin_index);
                slab->free_count--;
            } else {
                block = slab->first_block + (size_t)(slab->capacity - slab->never_used) * block_size;
                /* atomic: segment_slab_of_block reads it without the lock */
                __atomic_store_n(&slab->never_used, slab->never_used - 1, __ATOMIC_RELAXED);
            }
            size_t within = (size_t)((char *)block - slab->first_block) / block_size;
            mark_out(segment, slab_index * segment->blocks_per_slab + within, true);
            if (slab->in_use++ == 0)
                segment->slabs_in_use++;
            freelist_store_link(block, freelist_encode(head ? head : (void *)FREELIST_END));
            head = block;
            taken++;
        }
        if (slab->free_count == 0 && slab->never_used == 0)
            partial_remove(&arena->bins[bin_index], slab);
    }
    arena->small_out_bytes += (size_t)taken * block_size;
    arena->bins[bin_index].blocks_out += taken;
    maybe_purge(arena);
    arena_unlock_and_unmap(arena);
    *list = head;
    return taken;
}

const char *arena_small_fault(struct segment_header *segment, const void *ptr, const char *call)
{
    size_t offset = (size_t)((const char *)ptr - (const char *)segment);
    size_t index = offset >> GL_SLAB_SHIFT;
    if (index < __atomic_load_n(&segment->slabs_started, __ATOMIC_ACQUIRE)) {
        const struct slab *slab = &segment->slabs[index];
        const char *p = ptr;
        if (p >= slab->first_block && (size_t)(p - slab->first_block) % segment->block_size == 0
            && (size_t)(p - slab->first_block) / segment->block_size < slab->capacity)
            /* A block's place that is not out: given back already.  (A
             * purged slab forgets which of its blocks were ever carved, so
             * "never handed out" cannot be told apart; a wild pointer
             * landing exactly on a block boundary is the rarer case.) */
            return error_freed_reason(call);
    }
    return "not the start of a block";
}

/* Returns one block to its slab; the owning arena's lock is held. */
static void return_one(struct arena *arena, struct segment_header *segment, void *block, const char *call)
{
    size_t index;
    struct slab *slab = segment_slab_of_block(segment, block, &index);
    if (slab == NULL) {
        error_report_pointer(call, arena_small_fault(segment, block, call), block);
        return; /* report-and-leak mode */
    }
    if (!is_out(segment, index)) {
        error_report_pointer(call, "double free", block);
        return;
    }
    mark_out(segment, index, false);
    freelist_store_link(block, freelist_encode(slab->free_list ? slab->free_list : (void *)FREELIST_END));
    slab->free_list = block;
    slab->free_count++;
    if (--slab->in_use == 0) {
        segment->slabs_in_use--;
        empty_push(arena, slab, segment->block_size);
    }
    if (!slab->on_partial_list)
        partial_push(&arena->bins[segment->bin], slab);
    arena->small_out_bytes -= segment->block_size;
    arena->bins[segment->bin].blocks_out--;
}

void arena_return_small(void **blocks, unsigned count, const char *call)
{
    /* Blocks usually all belong to one or two arenas: take the first
     * unreturned block's arena, return every block of that arena under one
     * lock, and repeat. */
    unsigned done = 0;
    while (done < count) {
        struct arena *arena = segment_of(blocks[done])->arena;
        arena_lock(arena);
        unsigned kept = done;
        for (unsigned i = done; i < count; i++) {
            struct segment_header *segment = segment_of(blocks[i]);
            if (segment->arena == arena)
                return_one(arena, segment, blocks[i], call);
            else
                blocks[kept++] = blocks[i];
        }
        maybe_purge(arena);
        arena_unlock_and_unmap(arena);
        count = kept;
    }
}

/* --- large blocks ------------------------------------------------------ */

/* --enable-debug walks the whole heap around every operation: slow, but it
 * names the operation that broke it.  What it finds is reported like any
 * other corruption: the call, the pointer it was given, and (in what, which
 * ends in "at") the block where the walk found the heap broken. */
static void debug_check_heap(struct arena *arena, const char *call, const void *ptr, const char *what)
{
#ifdef GLWEAVE_DEBUG
    large_heap_verify(&arena->large, call, ptr, what);
#else
    (void)arena;
    (void)call;
    (void)ptr;
    (void)what;
#endif
}

void *arena_alloc_large(struct arena *arena, size_t size, size_t alignment)
{
    arena_lock(arena);
    void *p = large_alloc(&arena->large, arena, size, alignment);
    debug_check_heap(arena, "malloc", p, "the heap walk after allocating found a bad block at");
    maybe_purge(arena);
    arena_unlock_and_unmap(arena);
    return p;
}

/* Takes arena's lock, then enters a registry read section and checks that
 * the registry still names header as a large segment of arena.  Between
 * the caller's lookup and this lock, another thread's free of the
 * segment's last block (a double free racing the caller) may have released
 * the segment, withdrawn it from the registry and unmapped it.  On true the
 * caller works on the segment and then leaves the read section: it cannot
 * be unmapped before.  A segment released but not yet withdrawn is still
 * sound (large_free leaves it one free block).  On false nothing is held. */
static bool lock_large_segment(struct arena *arena, struct segment_header *header, const void *ptr,
                               bool use_rcu)
{
    arena_lock(arena);
    registry_read_begin(use_rcu);
    if (registry_lookup(ptr) == header && header->kind == SEGMENT_LARGE && header->arena == arena)
        return true;
    registry_read_end(use_rcu);
    arena_unlock(arena);
    return false;
}

bool arena_free_large(struct arena *arena, struct segment_header *header, void *ptr, const char *call,
                      bool use_rcu)
{
    struct segment_header *release = NULL;
    if (!lock_large_segment(arena, header, ptr, use_rcu))
        return false;
    debug_check_heap(arena, call, ptr, "the heap walk before freeing found a bad block at");
    enum large_fault fault = large_free(&arena->large, ptr, call, &release);
    debug_check_heap(arena, call, ptr, "the heap walk after freeing found a bad block at");
    registry_read_end(use_rcu);
    maybe_purge(arena);
    arena_unlock_and_unmap(arena);
    if (fault != LARGE_OK)
        error_report_pointer(call, arena_large_fault_reason(fault, call), ptr);
    /* unmapping waits for registry readers: after the read section */
    if (release)
        segment_destroy(release);
    return true;
}

bool arena_resize_large(struct segment_header *header, void *ptr, size_t size)
{
    struct arena *arena = header->arena;
    arena_lock(arena);
    debug_check_heap(arena, "realloc", ptr, "the heap walk before resizing found a bad block at");
    bool ok = large_resize_in_place(&arena->large, ptr, size);
    debug_check_heap(arena, "realloc", ptr, "the heap walk after resizing found a bad block at");
    arena_unlock(arena);
    return ok;
}

bool arena_usable_large(struct arena *arena, struct segment_header *header, const void *ptr, const char *call,
                        bool use_rcu, size_t *usable)
{
    /* Under the lock: a neighbour's free or allocation rewrites this
     * block's header (its "previous is free" flag). */
    enum large_fault fault;
    if (!lock_large_segment(arena, header, ptr, use_rcu))
        return false;
    *usable = large_usable_size(ptr, call, &fault);
    registry_read_end(use_rcu);
    arena_unlock(arena);
    if (fault != LARGE_OK)
        error_report_pointer(call, arena_large_fault_reason(fault, call), ptr);
    return true;
}

const char *arena_large_fault_reason(enum large_fault fault, const char *call)
{
    if (fault == LARGE_FREED)
        return error_freed_reason(call);
    return "not the start of a block";
}

void arena_read_counters(unsigned index, struct arena_counters *out)
{
    struct arena *arena = arenas[index];
    arena_lock(arena);
    out->small_out = arena->small_out_bytes;
    out->large_allocated = arena->large.allocated;
    out->dirty = arena->small_dirty + arena->large.dirty;
    out->purged = arena->purged_bytes;
    out->lock_acquired = arena->lock_acquired;
    out->lock_contended = arena->lock_contended;
    for (unsigned bin = 0; bin < GL_BINS; bin++) {
        out->blocks_out[bin] = arena->bins[bin].blocks_out;
        out->slabs[bin] = arena->bins[bin].slabs;
    }
    arena_unlock(arena);
}

void arena_fork_prepare(void)
{
    for (unsigned i = 0; i < arenas_count; i++)
        pthread_mutex_lock(&arenas[i]->lock);
}

void arena_fork_parent(void)
{
    for (unsigned i = 0; i < arenas_count; i++)
        pthread_mutex_unlock(&arenas[i]->lock);
}

void arena_fork_child(void)
{
    /* The forking thread took every lock in prepare and is the child's only
     * thread: releasing them leaves the arenas exactly as they were. */
    for (unsigned i = 0; i < arenas_count; i++)
        pthread_mutex_unlock(&arenas[i]->lock);
}
