/* expect.h -- the one helper of the bad-input programs in tests/misuse/:
 * each program prints what glweave must report, then misuses the
 * allocator.  tests/misuse.sh reads the line and compares it with the
 * program's stderr and the way it ended (SIGABRT).  If a program gets past
 * its misuse it says so and exits 0, which the script counts as a failure.
 * The programs use only <glweave.h>, linked from the installed library.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef GLWEAVE_MISUSE_EXPECT_H
#define GLWEAVE_MISUSE_EXPECT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* "EXPECT CALL PTR REASON": the report must start "glweave: CALL(): ",
 * show PTR as its first number and contain REASON.  A NULL ptr means the
 * pointer is not known in advance (printed as "-"). */
static void expect(const char *call, const void *ptr, const char *reason)
{
    if (ptr != NULL)
        printf("EXPECT %s %#llx %s\n", call, (unsigned long long)(uintptr_t)ptr, reason);
    else
        printf("EXPECT %s - %s\n", call, reason);
    fflush(stdout);
}

/* The misuse went unnoticed. */
static int survived(void)
{
    printf("SURVIVED\n");
    return 0;
}

/* The program could not set its misuse up (not a verdict on glweave). */
static int setup_failed(const char *why)
{
    printf("SETUP FAILED: %s\n", why);
    return 2;
}

#endif
