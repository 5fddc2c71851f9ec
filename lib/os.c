/* os.c -- mmap, munmap, madvise, mremap and machine facts.  This is the only
 * file that talks to the kernel about memory; it never allocates metadata and
 * never reports errors itself (callers decide what a failure means).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

void *os_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *os_map_aligned(size_t size, size_t alignment)
{
    /* Over-map by the alignment and trim both ends: the kernel gives no
     * alignment guarantee beyond a page. */
    if (size + alignment < size)
        return NULL;
    char *raw = os_map(size + alignment);
    if (raw == NULL)
        return NULL;
    char *aligned = (char *)gl_align_up((uintptr_t)raw, alignment);
    size_t head = (size_t)(aligned - raw);
    size_t tail = alignment - head;
    if (head)
        munmap(raw, head);
    if (tail)
        munmap(aligned + size, tail);
    return aligned;
}

void os_unmap(void *address, size_t size)
{
    int saved = errno;
    munmap(address, size);
    errno = saved;
}

void os_discard(void *address, size_t size)
{
    int saved = errno;
    madvise(address, size, MADV_DONTNEED);
    errno = saved;
}

bool os_resize_in_place(void *address, size_t old_size, size_t new_size)
{
    int saved = errno;
    void *p = mremap(address, old_size, new_size, 0);
    errno = saved;
    return p != MAP_FAILED;
}

size_t os_page_size(void)
{
    /* Threads may race to fill the cache; they store the same value, with
     * atomics so that the race is defined. */
    static size_t page;
    size_t cached = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (cached == 0) {
        long value = sysconf(_SC_PAGESIZE);
        cached = value > 0 ? (size_t)value : 4096;
        __atomic_store_n(&page, cached, __ATOMIC_RELAXED);
    }
    return cached;
}

unsigned os_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
