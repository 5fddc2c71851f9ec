/* large.c -- an arena's large blocks: address-ordered first fit over free
 * blocks with boundary tags, coalescing with both neighbours on free, the
 * free blocks indexed by large_index.c.  It owns the block headers inside
 * large segments; it never locks (the arena does) and never unmaps (it hands
 * wholly free segments back to the caller).
 *
 * Layout of a block: a 16-byte header {guard, size|flags} then the payload.
 * A free block also holds its index node after the header and its size in
 * its last 8 bytes (the footer), which lets the next block find it.  The
 * guard is the header's other word mixed with the block address and a
 * per-process secret: an overwritten header is caught when it is next read.
 * Every operation checks the tags it is about to rely on (its own block's,
 * its neighbours', a free neighbour's footer and index size) before it
 * changes anything; only when one is wrong does the cold path walk the
 * segment to tell a double free or a bad pointer from a corrupted heap.
 *
 * With --enable-valgrind everything in a segment's data area but the
 * payloads of blocks in use is unaddressable for memcheck (vg.h): headers,
 * index nodes, footers and free space.  A program's overflow into the next
 * header, underflow into its own, or use of a freed block is then reported
 * the moment it happens.  This file's own accesses to that memory are made
 * with memcheck's reports turned off for the thread: every entry point
 * below runs its body between vg_metadata_begin and vg_metadata_end, and
 * never changes what memcheck thinks of a byte (api.c's hooks do that).
 *
 * SPDX-License-Identifier: MIT
 */
#include "large.h"
#include "error.h"
#include "os.h"
#include "segment.h"
#include "vg.h"

#define FLAG_IN_USE ((size_t)1)
#define FLAG_PREV_FREE ((size_t)2)
#define FLAG_PURGED ((size_t)4)   /* free block whose interior pages were returned */
#define FLAG_MASK ((size_t)15)
#define MIN_BLOCK ((size_t)64)

struct block_header {
    uint64_t guard;
    size_t size_flags;
};

static uint64_t large_secret = 0x5a17c0ffee5a17c0ull;

/* The payloads of the last RELEASED_FREES blocks whose free released their
 * segment.  A second free of such a block finds no registry entry once the
 * segment is unmapped: without this it could only be called a pointer
 * glweave does not know (huge.c keeps the same record of its blocks).
 * Written under the arena lock, before the segment leaves the registry;
 * read only when a pointer has already been refused. */
#define RELEASED_FREES 64u
static uintptr_t released_frees[RELEASED_FREES];
static unsigned released_next;

void large_set_secret(uint64_t secret)
{
    large_secret = secret;
}

static inline struct block_header *header_of(const void *payload)
{
    return (struct block_header *)((char *)payload - LARGE_HEADER_SIZE);
}

static inline size_t block_size(const struct block_header *block)
{
    return block->size_flags & ~FLAG_MASK;
}

static inline uint64_t guard_for(const struct block_header *block, size_t size_flags)
{
    return size_flags ^ (uint64_t)(uintptr_t)block ^ large_secret;
}

static inline void write_header(struct block_header *block, size_t size, size_t flags)
{
    block->size_flags = size | flags;
    block->guard = guard_for(block, block->size_flags);
}

static inline bool header_intact(const struct block_header *block)
{
    return block->guard == guard_for(block, block->size_flags);
}

static inline struct block_header *next_block(struct block_header *block)
{
    return (struct block_header *)((char *)block + block_size(block));
}

static inline struct large_node *node_of(struct block_header *block)
{
    return (struct large_node *)(block + 1);
}

static inline struct block_header *block_of_node(struct large_node *node)
{
    return (struct block_header *)node - 1;
}

static inline void set_flag(struct block_header *block, size_t flag, bool on)
{
    size_t flags = block->size_flags & FLAG_MASK;
    flags = on ? (flags | flag) : (flags & ~flag);
    write_header(block, block_size(block), flags);
}

static char *segment_data_start(struct segment_header *segment)
{
    return (char *)segment + segment_large_data_offset();
}

static char *segment_data_end(struct segment_header *segment)
{
    return (char *)segment + GL_SEGMENT_SIZE - LARGE_HEADER_SIZE; /* the sentinel */
}

static size_t segment_data_size(void)
{
    return GL_SEGMENT_SIZE - LARGE_HEADER_SIZE - segment_large_data_offset();
}

static inline size_t footer_of(const struct block_header *block, size_t size)
{
    return *(const size_t *)((const char *)block + size - sizeof(size_t));
}

/* Always aborts: once a tag is wrong, no later operation can trust the
 * segment, whatever abort_on_error says. */
static GL_COLD __attribute__((noreturn)) void corrupted(const char *call, const void *ptr, const void *where)
{
    error_report_corruption(call, ptr, "overwritten block tag at", where);
}

/* The index node, footer and (at MIN_BLOCK) nothing else fit in a free
 * block after its header. */
_Static_assert(LARGE_HEADER_SIZE + sizeof(struct large_node) + sizeof(size_t) <= MIN_BLOCK,
               "a free block of MIN_BLOCK bytes holds its tags");

/* Writes the tags of a free block of size bytes at block (header, footer,
 * the next block's flag) and counts it as dirty unless purged says its
 * interior pages are known to be returned to the OS.  (The block before a
 * free block is never free: coalescing sees to that.)  Its index entry is
 * the caller's business. */
static void tag_free(struct large_heap *heap, struct block_header *block, size_t size, bool purged)
{
    write_header(block, size, purged ? FLAG_PURGED : 0);
    if (!purged)
        heap->dirty += size;
    *(size_t *)((char *)block + size - sizeof(size_t)) = size;
    set_flag(next_block(block), FLAG_PREV_FREE, true);
}

/* Makes block a free block of size bytes, with its tags and a new index
 * entry. */
static void make_free(struct large_heap *heap, struct block_header *block, size_t size, bool purged)
{
    large_index_insert(&heap->free_index, node_of(block), size);
    tag_free(heap, block, size, purged);
}

/* A free block stops counting as dirty (it is being reused or merged). */
static void uncount_free(struct large_heap *heap, struct block_header *block)
{
    if (!(block->size_flags & FLAG_PURGED))
        heap->dirty -= block_size(block);
}

static void forget_free(struct large_heap *heap, struct block_header *block)
{
    uncount_free(heap, block);
    large_index_remove(&heap->free_index, node_of(block));
}

static bool is_purged(const struct block_header *block)
{
    return (block->size_flags & FLAG_PURGED) != 0;
}

static void unlink_segment(struct large_heap *heap, struct segment_header *segment)
{
    if (segment->prev)
        segment->prev->next = segment->next;
    else
        heap->segments = segment->next;
    if (segment->next)
        segment->next->prev = segment->prev;
}

static bool add_segment(struct large_heap *heap, struct arena *arena)
{
    struct segment_header *segment = segment_create(SEGMENT_LARGE, arena, 0);
    if (segment == NULL)
        return false;
    segment->next = heap->segments;
    if (heap->segments)
        heap->segments->prev = segment;
    heap->segments = segment;
    /* Fresh pages count as defined and addressable to memcheck; the data
     * area (with the sentinel) is no block of the program's yet. */
    vg_mem_noaccess(segment_data_start(segment), segment_data_size() + LARGE_HEADER_SIZE);
    struct block_header *first = (struct block_header *)segment_data_start(segment);
    struct block_header *sentinel = (struct block_header *)segment_data_end(segment);
    write_header(sentinel, 0, FLAG_IN_USE);
    make_free(heap, first, segment_data_size(), true); /* fresh pages */
    heap->empty_segments++;
    return true;
}

static bool spans_segment(struct block_header *block, size_t size)
{
    return (char *)block == segment_data_start(segment_of(block)) && size == segment_data_size();
}

/* Carves an in-use block of exactly need bytes at block (a free block of
 * size bytes, no longer counted as dirty), returning the tail to the heap.
 * node is the block's index entry, which the tail takes over in place (no
 * free block lies between them); NULL when the block is not indexed. */
static void carve(struct large_heap *heap, struct block_header *block, size_t size, size_t need, bool purged,
                  struct large_node *node)
{
    if (spans_segment(block, size))
        heap->empty_segments--;
    if (size - need >= MIN_BLOCK) {
        struct block_header *tail = (struct block_header *)((char *)block + need);
        if (node)
            large_index_replace(&heap->free_index, node, node_of(tail), size - need);
        else
            large_index_insert(&heap->free_index, node_of(tail), size - need);
        write_header(block, need, FLAG_IN_USE);
        tag_free(heap, tail, size - need, purged);
    } else {
        if (node)
            large_index_remove(&heap->free_index, node);
        write_header(block, size, FLAG_IN_USE);
        set_flag(next_block(block), FLAG_PREV_FREE, false);
    }
}

/* Is free block (the neighbour of an operation) whole: sound size, footer
 * and index entry, followed by an in-use block whose header is intact? */
static bool free_neighbour_sound(struct block_header *free_block)
{
    size_t size = block_size(free_block);
    char *end = segment_data_end(segment_of(free_block));
    if (size < MIN_BLOCK || size > (size_t)(end - (char *)free_block))
        return false;
    if (footer_of(free_block, size) != size || node_of(free_block)->size != size)
        return false;
    struct block_header *after = next_block(free_block);
    return header_intact(after) && (after->size_flags & FLAG_IN_USE) != 0;
}

static void *alloc_block(struct large_heap *heap, struct arena *arena, size_t size, size_t alignment)
{
    size_t need = gl_align_up(size, GL_QUANTUM) + LARGE_HEADER_SIZE;
    if (need < MIN_BLOCK)
        need = MIN_BLOCK;
    size_t slack = alignment > GL_QUANTUM ? alignment + MIN_BLOCK : 0;
    if (need + slack > segment_data_size())
        return NULL;
    struct large_node *node = large_index_first_fit(heap->free_index, need + slack);
    if (node == NULL) {
        if (!add_segment(heap, arena))
            return NULL;
        node = large_index_first_fit(heap->free_index, need + slack);
    }
    struct block_header *block = block_of_node(node);
    /* An overflow from the block before, or a write after free, may have
     * hit this free block: never carve from broken tags. */
    if (!header_intact(block) || (block->size_flags & FLAG_IN_USE) || block_size(block) != node->size
        || !free_neighbour_sound(block))
        corrupted("malloc", block + 1, block);
    size_t free_size = block_size(block);
    bool purged = is_purged(block);
    uncount_free(heap, block);
    if (alignment > GL_QUANTUM) {
        uintptr_t payload = gl_align_up((uintptr_t)block + LARGE_HEADER_SIZE, alignment);
        struct block_header *aligned = header_of((void *)payload);
        size_t lead = (size_t)((char *)aligned - (char *)block);
        /* A lead too small to be a free block of its own moves the
         * payload up by whole alignments (slack covers this). */
        while (lead != 0 && lead < MIN_BLOCK) {
            payload += alignment;
            lead += alignment;
        }
        aligned = header_of((void *)payload);
        if (lead != 0) {
            if (spans_segment(block, free_size))
                heap->empty_segments--;
            /* make_free marks aligned as following a free block; carve
             * writes aligned's header, so store the flag after carving. */
            write_header(block, lead, purged ? FLAG_PURGED : 0);
            if (!purged)
                heap->dirty += lead;
            *(size_t *)((char *)block + lead - sizeof(size_t)) = lead;
            large_index_resize(&heap->free_index, node, lead);
            carve(heap, aligned, free_size - lead, need, purged, NULL);
            set_flag(aligned, FLAG_PREV_FREE, true);
            heap->allocated += block_size(aligned) - LARGE_HEADER_SIZE;
            return (void *)payload;
        }
    }
    carve(heap, block, free_size, need, purged, node);
    heap->allocated += block_size(block) - LARGE_HEADER_SIZE;
    return (char *)block + LARGE_HEADER_SIZE;
}

/* Is ptr the payload of an in-use block of a large segment? */
static struct block_header *in_use_block(const void *ptr)
{
    struct segment_header *segment = segment_of(ptr);
    const char *p = ptr;
    if (((uintptr_t)p & (GL_QUANTUM - 1)) != 0)
        return NULL;
    if (p < segment_data_start(segment) + LARGE_HEADER_SIZE || p >= segment_data_end(segment))
        return NULL;
    struct block_header *block = header_of(ptr);
    if (!header_intact(block) || !(block->size_flags & FLAG_IN_USE))
        return NULL;
    size_t size = block_size(block);
    if (size < MIN_BLOCK || (char *)block + size > segment_data_end(segment))
        return NULL;
    if (!header_intact(next_block(block)))
        return NULL;
    return block;
}

/* Could a freed block's header still be at p - LARGE_HEADER_SIZE?  A block
 * freed into its free neighbour keeps its old header, intact, inside the
 * merged block, and a guard matches by accident with odds of 2^-64. */
static bool stale_header_at(const char *segment_start, const char *p)
{
    if (((uintptr_t)p & (GL_QUANTUM - 1)) != 0 || p < segment_start + LARGE_HEADER_SIZE)
        return false;
    const struct block_header *old = header_of(p);
    return header_intact(old) && block_size(old) >= MIN_BLOCK;
}

/* The cold path behind every refused pointer: walks the segment's blocks
 * from its start, checking each tag, and says what ptr is.  A broken tag on
 * the way is reported as corruption (and aborts).  LARGE_OK means ptr is an
 * in-use block start with sound tags around it. */
static GL_COLD enum large_fault diagnose(const void *ptr, const char *call)
{
    struct segment_header *segment = segment_of(ptr);
    char *start = segment_data_start(segment), *end = segment_data_end(segment);
    const char *p = ptr;
    struct block_header *block = (struct block_header *)start;
    bool previous_free = false;
    while ((char *)block < end) {
        size_t size = block_size(block);
        bool in_use = (block->size_flags & FLAG_IN_USE) != 0;
        if (!header_intact(block) || size < MIN_BLOCK || size > (size_t)(end - (char *)block)
            || previous_free != ((block->size_flags & FLAG_PREV_FREE) != 0)
            || (!in_use && (previous_free || footer_of(block, size) != size)))
            corrupted(call, ptr, block);
        if (p < (char *)block + size) {
            if (p < (char *)block + LARGE_HEADER_SIZE)
                return LARGE_NOT_A_BLOCK; /* in a header, or before the first block */
            if (p == (char *)block + LARGE_HEADER_SIZE) {
                if (!in_use)
                    return LARGE_FREED;
                if (!header_intact(next_block(block)))
                    corrupted(call, ptr, next_block(block));
                return LARGE_OK;
            }
            return stale_header_at(start, p) ? LARGE_FREED : LARGE_NOT_A_BLOCK;
        }
        previous_free = !in_use;
        block = next_block(block);
    }
    return LARGE_NOT_A_BLOCK; /* at or past the sentinel */
}

/* A check on the fast path failed: says why, or reports suspect as the
 * broken tag when the walk finds ptr sound (a footer or an index entry
 * the walk does not read). */
static GL_COLD enum large_fault refuse(const void *ptr, const char *call, const void *suspect)
{
    enum large_fault fault = diagnose(ptr, call);
    if (fault == LARGE_OK)
        corrupted(call, ptr, suspect);
    return fault;
}

static size_t usable_size(const void *ptr, const char *call, enum large_fault *fault)
{
    struct block_header *block = in_use_block(ptr);
    if (block == NULL) {
        *fault = refuse(ptr, call, header_of(ptr));
        return 0;
    }
    *fault = LARGE_OK;
    return block_size(block) - LARGE_HEADER_SIZE;
}

static enum large_fault free_block(struct large_heap *heap, void *ptr, const char *call,
                            struct segment_header **release)
{
    *release = NULL;
    struct block_header *block = in_use_block(ptr);
    if (block == NULL)
        return refuse(ptr, call, header_of(ptr));
    size_t size = block_size(block);

    /* Every tag the merge will trust is checked before anything changes.
     * A block freed twice after merging into its free neighbour still has
     * an intact header, but its neighbours disagree with it: refuse()
     * walks the segment and finds it inside a free block. */
    struct block_header *next = next_block(block);
    bool next_free = !(next->size_flags & FLAG_IN_USE);
    if (next_free && !free_neighbour_sound(next))
        return refuse(ptr, call, next);
    struct block_header *prev = NULL;
    size_t prev_size = 0;
    if (block->size_flags & FLAG_PREV_FREE) {
        prev_size = *(size_t *)((char *)block - sizeof(size_t)); /* its footer */
        prev = (struct block_header *)((char *)block - prev_size);
        size_t room = (size_t)((char *)block - segment_data_start(segment_of(block)));
        if (prev_size < MIN_BLOCK || prev_size > room || !header_intact(prev)
            || block_size(prev) != prev_size || (prev->size_flags & FLAG_IN_USE)
            || !free_neighbour_sound(prev))
            return refuse(ptr, call, (char *)block - sizeof(size_t));
    }

    heap->allocated -= size - LARGE_HEADER_SIZE;
    /* The merged block takes over a neighbour's index entry in place: the
     * previous block's (same address), else the next one's (no free block
     * lies between them). */
    struct large_node *entry = NULL;
    if (next_free) {
        uncount_free(heap, next);
        size += block_size(next);
        entry = node_of(next);
    }
    if (prev != NULL) {
        uncount_free(heap, prev);
        if (entry)
            large_index_remove(&heap->free_index, entry);
        entry = node_of(prev);
        block = prev;
        size += prev_size;
    }
    if (spans_segment(block, size)) {
        if (heap->empty_segments >= 1) {
            struct segment_header *segment = segment_of(block);
            if (entry)
                large_index_remove(&heap->free_index, entry);
            unlink_segment(heap, segment);
            /* One free block, in no index: until the segment leaves the
             * registry, a racing second free of one of its blocks may still
             * come here under the arena lock, and must find it freed. */
            write_header(block, size, 0);
            *(size_t *)((char *)block + size - sizeof(size_t)) = size;
            set_flag(next_block(block), FLAG_PREV_FREE, true);
            unsigned slot = __atomic_fetch_add(&released_next, 1, __ATOMIC_RELAXED) % RELEASED_FREES;
            __atomic_store_n(&released_frees[slot], (uintptr_t)ptr, __ATOMIC_RELAXED);
            *release = segment;
            return LARGE_OK;
        }
        heap->empty_segments++;
    }
    if (entry == NULL)
        large_index_insert(&heap->free_index, node_of(block), size);
    else if (entry == node_of(block))
        large_index_resize(&heap->free_index, entry, size);
    else
        large_index_replace(&heap->free_index, entry, node_of(block), size);
    tag_free(heap, block, size, false);
    return LARGE_OK;
}

static bool resize_block(struct large_heap *heap, void *ptr, size_t size)
{
    struct block_header *block = in_use_block(ptr);
    if (block == NULL)
        return false;
    size_t need = gl_align_up(size, GL_QUANTUM) + LARGE_HEADER_SIZE;
    if (need < MIN_BLOCK)
        need = MIN_BLOCK;
    size_t current = block_size(block);
    size_t available = current;
    struct block_header *next = next_block(block);
    bool next_free = !(next->size_flags & FLAG_IN_USE);
    if (next_free && !free_neighbour_sound(next)) {
        refuse(ptr, "realloc", next); /* aborts unless ptr was freed */
        return false;
    }
    if (next_free)
        available += block_size(next);
    if (need > available)
        return false;
    if (need <= current && current - need < MIN_BLOCK)
        return true; /* shrinking by less than a block: nothing to give back */
    if (next_free)
        forget_free(heap, next);
    size_t flags = block->size_flags & FLAG_MASK;
    heap->allocated -= current - LARGE_HEADER_SIZE;
    if (available - need >= MIN_BLOCK) {
        write_header(block, need, flags);
        make_free(heap, next_block(block), available - need, false);
    } else {
        write_header(block, available, flags);
        set_flag(next_block(block), FLAG_PREV_FREE, false);
    }
    heap->allocated += block_size(block) - LARGE_HEADER_SIZE;
    return true;
}

static size_t purge_free_blocks(struct large_heap *heap, size_t page)
{
    /* In address order over the free blocks, without recursion. */
    struct large_node *stack[128];
    size_t depth = 0, purged = 0;
    struct large_node *node = heap->free_index;
    while (node || depth) {
        while (node) {
            if (depth == sizeof stack / sizeof stack[0])
                error_fatal("large block index is too deep");
            stack[depth++] = node;
            node = node->left;
        }
        node = stack[--depth];
        struct block_header *block = block_of_node(node);
        if (!is_purged(block)) {
            size_t size = block_size(block);
            /* keep the header, index node and footer; return the rest */
            uintptr_t first = gl_align_up((uintptr_t)block + LARGE_HEADER_SIZE + sizeof(struct large_node), page);
            uintptr_t last = ((uintptr_t)block + size - sizeof(size_t)) & ~(uintptr_t)(page - 1);
            if (last > first) {
                os_discard((void *)first, last - first);
                purged += last - first;
            }
            write_header(block, size, (block->size_flags & FLAG_MASK) | FLAG_PURGED);
            heap->dirty -= size;
        }
        node = node->right;
    }
    return purged;
}

static struct segment_header *take_empty_segment(struct large_heap *heap)
{
    for (struct segment_header *segment = heap->segments; segment; segment = segment->next) {
        struct block_header *first = (struct block_header *)segment_data_start(segment);
        if (!(first->size_flags & FLAG_IN_USE) && spans_segment(first, block_size(first))) {
            forget_free(heap, first);
            heap->empty_segments--;
            unlink_segment(heap, segment);
            return segment;
        }
    }
    return NULL;
}

/* The walk behind large_heap_check; on failure *bad is the block whose
 * tags are wrong (the one whose size leads past the sentinel, the
 * sentinel, or the block holding the index's root when the index and the
 * blocks disagree). */
static long check_heap(const struct large_heap *heap, const void **bad)
{
    long free_blocks = 0;
    for (struct segment_header *segment = heap->segments; segment; segment = segment->next) {
        struct block_header *block = (struct block_header *)segment_data_start(segment);
        struct block_header *end = (struct block_header *)segment_data_end(segment);
        struct block_header *previous = block;
        bool previous_free = false;
        *bad = block;
        while (block != end) {
            if (block > end) {
                *bad = previous;
                return -1;
            }
            *bad = block;
            if (!header_intact(block) || block_size(block) < MIN_BLOCK)
                return -1;
            bool is_free = !(block->size_flags & FLAG_IN_USE);
            if (previous_free != !!(block->size_flags & FLAG_PREV_FREE))
                return -1;
            if (is_free) {
                if (previous_free) /* two free neighbours: coalescing missed */
                    return -1;
                size_t size = block_size(block);
                if (*(size_t *)((char *)block + size - sizeof(size_t)) != size)
                    return -1;
                if (node_of(block)->size != size)
                    return -1;
                free_blocks++;
            }
            previous_free = is_free;
            previous = block;
            block = next_block(block);
        }
        *bad = end;
        if (!header_intact(end) || previous_free != !!(end->size_flags & FLAG_PREV_FREE))
            return -1;
    }
    *bad = heap->free_index ? block_of_node(heap->free_index) : NULL;
    long indexed = large_index_check(heap->free_index);
    return indexed == free_blocks ? free_blocks : -1;
}

bool large_recently_released(const void *ptr)
{
    for (unsigned i = 0; i < RELEASED_FREES; i++)
        if (__atomic_load_n(&released_frees[i], __ATOMIC_RELAXED) == (uintptr_t)ptr)
            return true;
    return false;
}

/* --- entry points: the bodies above, with memcheck's reports off ----------- */

void *large_alloc(struct large_heap *heap, struct arena *arena, size_t size, size_t alignment)
{
    vg_metadata_begin();
    void *payload = alloc_block(heap, arena, size, alignment);
    vg_metadata_end();
    return payload;
}

size_t large_usable_size(const void *ptr, const char *call, enum large_fault *fault)
{
    vg_metadata_begin();
    size_t usable = usable_size(ptr, call, fault);
    vg_metadata_end();
    return usable;
}

enum large_fault large_free(struct large_heap *heap, void *ptr, const char *call,
                            struct segment_header **release)
{
    vg_metadata_begin();
    enum large_fault fault = free_block(heap, ptr, call, release);
    vg_metadata_end();
    return fault;
}

bool large_resize_in_place(struct large_heap *heap, void *ptr, size_t size)
{
    vg_metadata_begin();
    bool ok = resize_block(heap, ptr, size);
    vg_metadata_end();
    return ok;
}

size_t large_purge(struct large_heap *heap, size_t page)
{
    vg_metadata_begin();
    size_t purged = purge_free_blocks(heap, page);
    vg_metadata_end();
    return purged;
}

struct segment_header *large_take_empty_segment(struct large_heap *heap)
{
    vg_metadata_begin();
    struct segment_header *segment = take_empty_segment(heap);
    vg_metadata_end();
    return segment;
}

long large_heap_check(const struct large_heap *heap)
{
    const void *bad;
    vg_metadata_begin();
    long free_blocks = check_heap(heap, &bad);
    vg_metadata_end();
    return free_blocks;
}

void large_heap_verify(const struct large_heap *heap, const char *call, const void *ptr, const char *what)
{
    const void *bad;
    vg_metadata_begin();
    long free_blocks = check_heap(heap, &bad);
    vg_metadata_end();
    if (free_blocks < 0)
        error_report_corruption(call, ptr, what, bad);
}
