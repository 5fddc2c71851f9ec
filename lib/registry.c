/* registry.c -- the segment registry: a two-level radix table from segment
 * number to segment header, read under liburcu (urcu-bp) and written under a
 * mutex, plus the flat byte map that gives the fast path a small block's bin
 * from its address.  It owns those two tables only; it never maps or unmaps
 * a segment, and it never calls malloc.
 *
 * Why RCU: free() of a pointer must read the header of the segment the
 * pointer claims to be in.  The radix table says whether that segment is
 * ours; RCU guarantees that a header seen in the table stays mapped until the
 * reader is done, even if another thread withdraws and unmaps it meanwhile
 * (which only a racing double or invalid free can provoke).
 *
 * SPDX-License-Identifier: MIT
 */
#include "registry.h"
#include "base.h"

#include <pthread.h>
#include <urcu-bp.h>

#define LEAF_BITS 12u
#define LEAF_ENTRIES ((size_t)1 << LEAF_BITS)
#define ROOT_ENTRIES (GL_SEGMENT_COUNT >> LEAF_BITS)

struct registry_leaf {
    struct segment_header *entries[LEAF_ENTRIES];
};

static uint8_t bin_map_here[GL_SEGMENT_COUNT];
uint8_t *registry_bin_map = bin_map_here;
static struct registry_leaf *registry_root[ROOT_ENTRIES];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
bool registry_rcu_usable = true;

bool registry_insert(const void *address, struct segment_header *header, unsigned bin)
{
    size_t number = registry_segment_number(address);
    if (number >= GL_SEGMENT_COUNT)
        return false;
    pthread_mutex_lock(&registry_lock);
    struct registry_leaf *leaf = registry_root[number >> LEAF_BITS];
    if (leaf == NULL) {
        leaf = base_alloc(sizeof *leaf);
        if (leaf == NULL) {
            pthread_mutex_unlock(&registry_lock);
            return false;
        }
        rcu_assign_pointer(registry_root[number >> LEAF_BITS], leaf);
    }
    rcu_assign_pointer(leaf->entries[number & (LEAF_ENTRIES - 1)], header);
    /* The fast map is written for small segments only: the entry of any
     * other is 0 already, and free's fast path reads it with a plain load,
     * which a racing double free of a large block would otherwise race. */
    if (bin != 0)
        __atomic_store_n(&registry_bin_map[number], (uint8_t)bin, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&registry_lock);
    return true;
}

void registry_remove(const void *address)
{
    size_t number = registry_segment_number(address);
    pthread_mutex_lock(&registry_lock);
    if (__atomic_load_n(&registry_bin_map[number], __ATOMIC_RELAXED) != 0)
        __atomic_store_n(&registry_bin_map[number], 0, __ATOMIC_RELEASE);
    struct registry_leaf *leaf = registry_root[number >> LEAF_BITS];
    if (leaf != NULL)
        rcu_assign_pointer(leaf->entries[number & (LEAF_ENTRIES - 1)], NULL);
    pthread_mutex_unlock(&registry_lock);
    /* Without RCU every reader holds the mutex, so none can still see the
     * entry once the mutex was released. */
    if (registry_rcu_usable)
        urcu_bp_synchronize_rcu();
}

void registry_read_begin(bool use_rcu)
{
    if (use_rcu && registry_rcu_usable)
        urcu_bp_read_lock();
    else
        pthread_mutex_lock(&registry_lock);
}

void registry_read_end(bool use_rcu)
{
    if (use_rcu && registry_rcu_usable)
        urcu_bp_read_unlock();
    else
        pthread_mutex_unlock(&registry_lock);
}

struct segment_header *registry_lookup(const void *address)
{
    size_t number = registry_segment_number(address);
    if (number >= GL_SEGMENT_COUNT)
        return NULL;
    struct registry_leaf *leaf = rcu_dereference(registry_root[number >> LEAF_BITS]);
    if (leaf == NULL)
        return NULL;
    return rcu_dereference(leaf->entries[number & (LEAF_ENTRIES - 1)]);
}

void registry_for_each(void (*visit)(struct segment_header *header, void *context), void *context)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t root = 0; root < ROOT_ENTRIES; root++) {
        struct registry_leaf *leaf = registry_root[root];
        if (leaf == NULL)
            continue;
        for (size_t i = 0; i < LEAF_ENTRIES; i++)
            if (leaf->entries[i] != NULL)
                visit(leaf->entries[i], context);
    }
    pthread_mutex_unlock(&registry_lock);
}

void registry_fork_prepare(void) { pthread_mutex_lock(&registry_lock); }
void registry_fork_parent(void) { pthread_mutex_unlock(&registry_lock); }
void registry_fork_child(void) { pthread_mutex_unlock(&registry_lock); }
