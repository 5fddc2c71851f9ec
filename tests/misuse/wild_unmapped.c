/* wild_unmapped.c -- gl_free of an address in a page that was mapped and
 * unmapped again: glweave must report it without touching the page
 * (never SIGSEGV).  SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *gone = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (gone == MAP_FAILED || munmap(gone, page) != 0)
        return setup_failed("mmap/munmap");
    expect("free", gone, "not allocated by glweave");
    gl_free(gone);
    return survived();
}
