/* fuzz/fuzz_ops.c -- a libFuzzer harness: the input is a sequence of
 * allocator operations (allocate, calloc, free, realloc, aligned allocate,
 * usable size, thread flush, trim) on 64 slots, checked against a shadow
 * model: every live block keeps its contents, is aligned as asked, reports a
 * usable size at least as large as asked, and overlaps no other live block.
 * At the end everything is freed and the statistics must show nothing left.
 *
 * SPDX-License-Identifier: MIT
 */
#include "glweave.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64

struct slot {
    unsigned char *block;
    size_t size;
    size_t usable;
    unsigned char seed;
};

static struct slot slots[SLOTS];

static void fail(const char *what, size_t slot)
{
    fprintf(stderr, "fuzz_ops: %s (slot %zu)\n", what, slot);
    abort();
}

static size_t take(const uint8_t **data, size_t *left, size_t bytes)
{
    size_t value = 0;
    for (size_t i = 0; i < bytes && *left; i++, (*data)++, (*left)--)
        value = value << 8 | **data;
    return value;
}

/* Sizes spread over the small classes, large blocks and (rarely) huge ones. */
static size_t pick_size(const uint8_t **data, size_t *left)
{
    size_t kind = take(data, left, 1);
    size_t raw = take(data, left, 2);
    if (kind < 160)
        return raw % 512;
    if (kind < 230)
        return raw % 17000;
    if (kind < 252)
        return 16385 + raw * 16 % (256 << 10);
    return (1 << 20) + raw * 64;
}

/* Each block is filled with its own byte (slots get distinct seeds), so a
 * block that overlaps another or loses bytes in a realloc shows it;
 * memset/memcmp keep the fuzzer fast under AddressSanitizer. */
static void fill(struct slot *s)
{
    memset(s->block, s->seed, s->size);
}

static void verify(const struct slot *s, size_t length, size_t index)
{
    static unsigned char expected[4096];
    memset(expected, s->seed, sizeof expected);
    for (size_t done = 0; done < length; done += sizeof expected) {
        size_t chunk = length - done < sizeof expected ? length - done : sizeof expected;
        if (memcmp(s->block + done, expected, chunk) != 0)
            fail("contents changed", index);
    }
}

static void check_new(size_t index, size_t alignment)
{
    struct slot *s = &slots[index];
    if ((uintptr_t)s->block % alignment != 0)
        fail("misaligned block", index);
    s->usable = gl_usable_size(s->block);
    if (s->usable < s->size)
        fail("usable size below the request", index);
    uintptr_t start = (uintptr_t)s->block, end = start + (s->usable ? s->usable : 1);
    for (size_t other = 0; other < SLOTS; other++) {
        if (other == index || slots[other].block == NULL)
            continue;
        uintptr_t o_start = (uintptr_t)slots[other].block;
        uintptr_t o_end = o_start + (slots[other].usable ? slots[other].usable : 1);
        if (start < o_end && o_start < end)
            fail("blocks overlap", index);
    }
}

static void release(size_t index)
{
    struct slot *s = &slots[index];
    if (s->block == NULL)
        return;
    verify(s, s->size, index);
    gl_free(s->block);
    s->block = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gl_stats before = {.version = GL_STATS_VERSION};
    gl_thread_flush();
    gl_stats_get(&before, sizeof before);
    size_t left = size;
    while (left > 0) {
        size_t op = take(&data, &left, 1);
        size_t index = take(&data, &left, 1) % SLOTS;
        struct slot *s = &slots[index];
        switch (op % 8) {
        case 0: /* allocate */
        case 1: /* calloc */
            release(index);
            s->size = pick_size(&data, &left);
            s->block = op % 8 ? gl_calloc(1, s->size) : gl_malloc(s->size);
            if (s->block == NULL)
                fail("allocation failed", index);
            if (op % 8)
                for (size_t i = 0; i < s->size; i++)
                    if (s->block[i] != 0)
                        fail("calloc block not zero", index);
            s->seed = (unsigned char)(index * 4 + 1);
            check_new(index, 16);
            fill(s);
            break;
        case 2:
            release(index);
            break;
        case 3: { /* realloc keeps the common prefix */
            size_t new_size = pick_size(&data, &left);
            if (s->block == NULL)
                break;
            verify(s, s->size, index);
            unsigned char *moved = gl_realloc(s->block, new_size);
            if (new_size == 0) {
                if (moved != NULL)
                    fail("realloc to 0 did not free", index);
                s->block = NULL;
                break;
            }
            if (moved == NULL)
                fail("realloc failed", index);
            s->block = moved;
            size_t kept = s->size < new_size ? s->size : new_size;
            verify(s, kept, index);
            s->size = new_size;
            check_new(index, 16);
            fill(s);
            break;
        }
        case 4: { /* aligned */
            size_t alignment = (size_t)1 << (take(&data, &left, 1) % 23);
            release(index);
            s->size = pick_size(&data, &left);
            s->block = gl_aligned_alloc(alignment, s->size);
            if (s->block == NULL)
                fail("aligned allocation failed", index);
            s->seed = (unsigned char)(index * 4 + 2);
            check_new(index, alignment < 16 ? 16 : alignment);
            fill(s);
            break;
        }
        case 5:
            if (s->block && gl_usable_size(s->block) != s->usable)
                fail("usable size changed", index);
            break;
        case 6:
            gl_thread_flush();
            break;
        case 7:
            if (op % 64 == 7)
                gl_trim();
            break;
        }
    }
    for (size_t i = 0; i < SLOTS; i++)
        release(i);
    gl_thread_flush();
    struct gl_stats after = {.version = GL_STATS_VERSION};
    gl_stats_get(&after, sizeof after);
    if (after.allocated != before.allocated)
        fail("statistics show bytes left after freeing everything", 0);
    return 0;
}
