/* fixed_tables.c -- tries once to map the slot table (request size to
 * the %fs-relative offset of its bin's head) and the segment-to-bin map at
 * a fixed address below 2 GiB (GL_FIXED_TABLES_BASE).  There the x86_64
 * fast paths index them with an absolute 32-bit displacement instead of
 * first loading a position-independent base address, and gl_malloc finds
 * its bin's head in the thread's TLS without loading the TLS block's
 * offset: two instructions less in gl_malloc, one in gl_free.
 *
 * The address is only asked for, never forced (MAP_FIXED_NOREPLACE): when
 * something already lives there (a second copy of glweave in the process,
 * a sanitizer's or an emulator's reservation) or the kernel is too old to
 * honour the request, the tables stay in the library's own arrays and the
 * fast-path resolvers pick the portable C fast path, which reads them
 * through their pointers.  The decision is taken once, before any table is
 * written, and never changes.
 *
 * It runs from ifunc resolvers, that is, while the dynamic loader is still
 * relocating: it makes raw system calls and touches no other library.  It
 * owns the decision, the mapping and the slot table's contents; it never
 * writes the map (registry.c does).
 *
 * The slot table holds, from the moment the decision is published, only
 * offsets of heads in the thread's own struct tcache_hot: first every size
 * points at bin 0's head, which is always empty, so that a gl_malloc racing
 * with init misses instead of following a half-written table; init then
 * points each size at its bin (fixed_tables_fill_slots).
 *
 * SPDX-License-Identifier: MIT
 */
#include "fixed_tables.h"
#include "registry.h"
#include "tcache.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define TABLES_SIZE (GL_FIXED_BIN_MAP - GL_FIXED_TABLES_BASE + GL_SEGMENT_COUNT)

_Static_assert(GL_FIXED_BIN_MAP - GL_FIXED_SLOT_TABLE >= (GL_SMALL_MAX + 1) * sizeof(int32_t),
               "slot table overlaps the map");
_Static_assert(GL_FIXED_TABLES_BASE + TABLES_SIZE < ((size_t)1 << 31), "tables beyond disp32 reach");

/* 0: not decided yet; 2: being decided; 1: in place; -1: in the library's
 * own arrays.  A lazily bound ifunc resolver and init may race for it. */
static int decision;
/* %fs-relative offset of the thread's struct tcache_hot, once in place. */
static intptr_t hot_offset;

/* Points the slot of every request size at its bin's head, bin_of_size
 * being size_class_bin_of_size, or at bin 0's head when it is NULL.  Each
 * store is a whole aligned int32: a gl_malloc racing with it reads the old
 * slot (bin 0: a miss) or the new one. */
static void point_slots(const uint8_t *bin_of_size)
{
    int32_t *slots = (int32_t *)(uintptr_t)GL_FIXED_SLOT_TABLE;
    for (size_t size = 0; size <= GL_SMALL_MAX; size++) {
        intptr_t bin = bin_of_size ? bin_of_size[size] : 0;
        __atomic_store_n(&slots[size], (int32_t)(hot_offset + TCACHE_HEADS_OFFSET + 8 * bin),
                         __ATOMIC_RELAXED);
    }
}

#if defined(__x86_64__) && defined(__linux__)
static long raw_syscall6(long number, long a, long b, long c, long d, long e, long f)
{
    long result;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return result;
}

static void unmap(long start, long length)
{
    raw_syscall6(SYS_munmap, start, length, 0, 0, 0, 0);
}

/* Pointers at or above 2^47 (kernel or non-canonical addresses) index the
 * map far beyond its end, up to 2^42 bytes from its start.  Readable zero
 * pages there send them to bin 0, hence to the slow path and its report,
 * instead of a SIGSEGV: 4 TiB of address space, read-only, never touched by
 * a valid pointer, so it costs no memory and no commit charge, and it is
 * left out of core dumps.  Best effort: where it cannot be had (valgrind,
 * an address-space limit, a sanitizer's shadow), such pointers still crash
 * the assembly fast path. */
static void reserve_tail(void)
{
    long start = GL_FIXED_BIN_MAP + (long)GL_SEGMENT_COUNT;
    long length = ((long)1 << (64 - GL_SEGMENT_SHIFT)) - (long)GL_SEGMENT_COUNT;
    long got = raw_syscall6(SYS_mmap, start, length, PROT_READ,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (got == start)
        raw_syscall6(SYS_madvise, start, length, MADV_DONTDUMP, 0, 0, 0);
    else if (got > 0 || got < -4095)
        unmap(got, length);
}

/* The offset must be the loader's (negative: x86_64 TLS blocks lie below
 * the thread pointer; 8-aligned; and small enough for an int32 slot).  A
 * GOT slot not relocated yet reads 0: then the C fast path serves. */
static bool usable_hot_offset(intptr_t offset)
{
    return offset < 0 && offset > -((intptr_t)1 << 30) && offset % 8 == 0;
}

static bool map_tables(void)
{
    hot_offset = tcache_hot_tls_offset();
    if (!usable_hot_offset(hot_offset))
        return false;
    long want = GL_FIXED_TABLES_BASE;
    long got = raw_syscall6(SYS_mmap, want, (long)TABLES_SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (got == want) {
        point_slots(NULL);
        reserve_tail();
        return true;
    }
    /* A kernel older than 4.17 takes the flag for a hint and maps elsewhere. */
    if (got > 0 || got < -4095)
        unmap(got, (long)TABLES_SIZE);
    return false;
}
#else
static bool map_tables(void)
{
    return false;
}
#endif

bool fixed_tables_in_place(void)
{
    int seen = __atomic_load_n(&decision, __ATOMIC_ACQUIRE);
    /* Should the loader call a resolver before it has relocated this
     * library (glibc warns, but does it: a library relocated earlier that
     * refers to gl_malloc), the TLS offset's GOT slot still reads 0: answer
     * "not in place" (the C fast path) without deciding, so that the calls
     * resolved later still get the assembly. */
    if (seen == 0 && tcache_hot_tls_offset() == 0)
        return false;
    if (seen == 0 && __atomic_compare_exchange_n(&decision, &seen, 2, false, __ATOMIC_ACQUIRE,
                                                 __ATOMIC_ACQUIRE)) {
        seen = map_tables() ? 1 : -1;
        if (seen == 1)
            registry_bin_map = (uint8_t *)(uintptr_t)GL_FIXED_BIN_MAP;
        __atomic_store_n(&decision, seen, __ATOMIC_RELEASE);
    }
    while (seen == 2) {
        __builtin_ia32_pause();
        seen = __atomic_load_n(&decision, __ATOMIC_ACQUIRE);
    }
    return seen == 1;
}

void fixed_tables_fill_slots(const uint8_t *bin_of_size)
{
    if (fixed_tables_in_place())
        point_slots(bin_of_size);
}
