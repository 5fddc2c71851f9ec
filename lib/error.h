/* error.h -- reporting misuse and internal failures.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_ERROR_H
#define GLWEAVE_ERROR_H
#include "internal.h"

/* When false, misuse is reported and the offending block is leaked instead of
 * aborting (GLWEAVE_OPTIONS=abort_on_error=0). */
GL_HIDDEN extern bool error_abort_on_misuse;

/* Writes "glweave: CALL(): invalid pointer 0xPTR (REASON)" to stderr (the
 * parenthesis only when reason is not NULL), then aborts unless
 * error_abort_on_misuse is false.  Async-signal-safe: write(2) only. */
GL_HIDDEN GL_COLD void error_report_pointer(const char *call, const char *reason, const void *ptr);
/* Allocator metadata next to ptr was overwritten (a buffer overflow, a
 * write after free): writes "glweave: CALL(): heap corruption near 0xPTR
 * (WHAT 0xWHERE)" and always aborts -- a corrupted heap cannot be leaked
 * around, whatever abort_on_error says. */
GL_HIDDEN GL_COLD __attribute__((noreturn)) void error_report_corruption(const char *call, const void *ptr,
                                                                         const char *what, const void *where);
/* What to call a block that was already freed: "double free" when call is
 * a free function, "block already freed" for realloc or usable size. */
GL_HIDDEN const char *error_freed_reason(const char *call);
/* A free list's link does not lead to a block of its class (value is what
 * it decodes to): a write after free, an overflow into a free block or a
 * double free.  Aborts unless abort_on_error=0 (the list is then abandoned,
 * never followed). */
GL_HIDDEN GL_COLD void error_report_broken_list(const char *call, const char *what, size_t block_size,
                                                uintptr_t value);
/* An internal invariant failed: reports and always aborts. */
GL_HIDDEN GL_COLD __attribute__((noreturn)) void error_fatal(const char *what);

#endif
