/* misuse_child.h -- runs one misuse of the allocator in a forked child and
 * checks how the child ended and what it wrote on stderr.  Shared by the
 * Check tests that expect glweave to report and abort (tests/test_misuse.c,
 * tests/test_api.c).
 * It must never misuse the allocator in the calling process itself: the
 * caller's blocks stay valid whatever the child does to its copy of them.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef GLWEAVE_TESTS_MISUSE_CHILD_H
#define GLWEAVE_TESTS_MISUSE_CHILD_H

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The numeric value of a pointer, hidden from the optimiser (the
 * allocation functions carry __attribute__((malloc))). */
static inline uintptr_t misuse_bits(const void *p)
{
    uintptr_t u = (uintptr_t)p;
    __asm__ volatile("" : "+r"(u));
    return u;
}

struct child_end {
    int status;          /* from waitpid */
    char err[4096];      /* what the child wrote on stderr */
};

/* Reads fd to the end into buf (NUL-terminated, cut at size - 1). */
static inline void misuse_read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        char sink[512];
        char *to = len < size - 1 ? buf + len : sink;
        size_t room = len < size - 1 ? size - 1 - len : sizeof sink;
        ssize_t got = read(fd, to, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (to != sink)
            len += (size_t)got;
    }
    buf[len] = '\0';
}

/* Runs bad(arg) in a child whose stderr goes to a pipe.  The child has 20
 * seconds (a cycle in a free list must not stall the suite) and no core
 * file; if bad returns, the child exits 0. */
static inline void misuse_run_child(void (*bad)(void *), void *arg, struct child_end *end)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(20);
        signal(SIGABRT, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        close(pfd[0]);
        dup2(pfd[1], 2);
        close(pfd[1]);
        bad(arg);
        _exit(0);
    }
    close(pfd[1]);
    misuse_read_all(pfd[0], end->err, sizeof end->err);
    close(pfd[0]);
    while (waitpid(pid, &end->status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
}

static inline const char *misuse_describe(int status, char *buf, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(buf, size, "died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    return buf;
}

/* The child must die of SIGABRT after writing, as its first line on
 * stderr, "glweave: CALL(): " followed by a text whose first hexadecimal
 * number is ptr, and containing reason (when not NULL).  The abort may come
 * at any point of bad(): at the misuse itself or when the allocator next
 * looks at the block (a flush, a thread's exit). */
static inline void expect_report(void (*bad)(void *), void *arg, const char *what, const char *call,
                                 uintptr_t ptr, const char *reason)
{
    struct child_end end;
    char how[96];
    misuse_run_child(bad, arg, &end);
    ck_assert_msg(WIFSIGNALED(end.status) && WTERMSIG(end.status) == SIGABRT,
                  "%s: expected glweave's report and SIGABRT; the child %s, stderr \"%s\"", what,
                  misuse_describe(end.status, how, sizeof how), end.err);
    char head[96];
    snprintf(head, sizeof head, "glweave: %s(): ", call);
    ck_assert_msg(strncmp(end.err, head, strlen(head)) == 0, "%s: stderr \"%s\" does not start with \"%s\"",
                  what, end.err, head);
    const char *hex = strstr(end.err, "0x");
    ck_assert_msg(hex != NULL, "%s: no pointer in \"%s\"", what, end.err);
    uintptr_t shown = (uintptr_t)strtoull(hex + 2, NULL, 16);
    ck_assert_msg(shown == ptr, "%s: reported 0x%llx, expected 0x%llx (stderr \"%s\")", what,
                  (unsigned long long)shown, (unsigned long long)ptr, end.err);
    const char *line_end = strchr(end.err, '\n');
    ck_assert_msg(line_end != NULL, "%s: the report \"%s\" is not a whole line", what, end.err);
    if (reason != NULL) {
        /* within the first line */
        const char *found = strstr(end.err, reason);
        ck_assert_msg(found != NULL && found < line_end, "%s: stderr \"%s\" does not say \"%s\"", what,
                      end.err, reason);
    }
}

#endif
