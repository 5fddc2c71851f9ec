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
GL_HIDDEN void error_report_pointer(const char *call, const char *reason, const void *ptr);
/* A free list's link does not lead to a block of its class (value is what
 * it decodes to).  Aborts unless abort_on_error=0. */
GL_HIDDEN void error_report_corruption(const char *call, const char *what, size_t block_size, uintptr_t value);
/* An internal invariant failed: reports and always aborts. */
GL_HIDDEN __attribute__((noreturn)) void error_fatal(const char *what);

#endif
