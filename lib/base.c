/* base.c -- the metadata allocator: bump allocation from chunks mapped from
 * the OS.  It serves arenas, thread caches and registry leaves; it must
 * never call malloc (it sits below it) and never frees (objects are
 * recycled by their owners).
 *
 * SPDX-License-Identifier: MIT
 */
#include "base.h"
#include "os.h"

#include <pthread.h>

#define BASE_CHUNK_SIZE ((size_t)1 << 20)
#define BASE_ALIGNMENT 64u

static pthread_mutex_t base_lock = PTHREAD_MUTEX_INITIALIZER;
static char *base_cursor;
static size_t base_remaining;
static size_t base_mapped;

void *base_alloc(size_t size)
{
    size = gl_align_up(size, BASE_ALIGNMENT);
    pthread_mutex_lock(&base_lock);
    if (size > base_remaining) {
        size_t chunk = size > BASE_CHUNK_SIZE ? gl_align_up(size, os_page_size())
                                              : BASE_CHUNK_SIZE;
        char *fresh = os_map(chunk);
        if (fresh == NULL) {
            pthread_mutex_unlock(&base_lock);
            return NULL;
        }
        base_mapped += chunk;
        /* The tail of the old chunk is abandoned: chunks are large and
         * requests small, so the loss is a fraction of a percent. */
        base_cursor = fresh;
        base_remaining = chunk;
    }
    void *result = base_cursor;
    base_cursor += size;
    base_remaining -= size;
    pthread_mutex_unlock(&base_lock);
    return result; /* fresh anonymous pages are zero */
}

size_t base_mapped_bytes(void)
{
    pthread_mutex_lock(&base_lock);
    size_t n = base_mapped;
    pthread_mutex_unlock(&base_lock);
    return n;
}

void base_fork_prepare(void) { pthread_mutex_lock(&base_lock); }
void base_fork_parent(void) { pthread_mutex_unlock(&base_lock); }
void base_fork_child(void) { pthread_mutex_unlock(&base_lock); }
