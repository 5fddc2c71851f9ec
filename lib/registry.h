/* registry.h -- which segments are glweave's, and what they hold.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_REGISTRY_H
#define GLWEAVE_REGISTRY_H
#include "internal.h"

struct segment_header;

/* The fast map: one byte per segment of the address space, the bin of a
 * small segment or 0.  Read without any lock by the fast path of free.  It
 * points to GL_FIXED_BIN_MAP when fixed_tables.c mapped it there (before
 * any segment exists), else to a static array (zero pages until written)
 * that exists before any initialisation: free() may run before glweave's
 * constructor. */
GL_HIDDEN extern uint8_t *registry_bin_map;

/* Publishes header as the owner of the segment containing address; bin is
 * the small bin of the segment or 0.  Returns false when metadata memory is
 * exhausted. */
GL_HIDDEN bool registry_insert(const void *address, struct segment_header *header, unsigned bin);
/* Withdraws the segment containing address and waits until no reader can
 * still hold its header: after it returns, the memory may be unmapped.
 * Must be called without any arena lock held. */
GL_HIDDEN void registry_remove(const void *address);

/* A read section: between begin and end, a header returned by lookup stays
 * mapped.  use_rcu is false for threads that must not enter liburcu (not
 * yet registered, or exiting): they take the writers' mutex instead. */
GL_HIDDEN void registry_read_begin(bool use_rcu);
GL_HIDDEN void registry_read_end(bool use_rcu);
GL_HIDDEN struct segment_header *registry_lookup(const void *address);

static inline size_t registry_segment_number(const void *address)
{
    return (uintptr_t)address >> GL_SEGMENT_SHIFT;
}

static inline unsigned registry_fast_bin(const void *address)
{
    size_t number = registry_segment_number(address);
    return number < GL_SEGMENT_COUNT ? registry_bin_map[number] : 0;
}

/* Calls visit(header, context) for every registered segment, under the
 * writers' mutex (segments cannot come or go meanwhile). */
GL_HIDDEN void registry_for_each(void (*visit)(struct segment_header *header, void *context), void *context);

/* False in a process forked from one where glweave was running: there the
 * allocator never calls liburcu again (see init.c, fork_child), and every
 * reader takes the writers' mutex instead. */
GL_HIDDEN extern bool registry_rcu_usable;

GL_HIDDEN void registry_fork_prepare(void);
GL_HIDDEN void registry_fork_parent(void);
GL_HIDDEN void registry_fork_child(void);

#endif
