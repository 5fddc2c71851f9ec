/* error.c -- how glweave reports a bad pointer or a broken invariant.
 * It must never allocate, never use stdio and never take an allocator lock:
 * it runs in the middle of failing allocator calls.
 *
 * SPDX-License-Identifier: MIT
 */
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool error_abort_on_misuse = true;

static void write_all(const char *text, size_t length)
{
    while (length > 0) {
        ssize_t n = write(STDERR_FILENO, text, length);
        if (n <= 0)
            return;
        text += n;
        length -= (size_t)n;
    }
}

static size_t format_hex(char *out, uintptr_t value)
{
    static const char digits[] = "0123456789abcdef";
    char reversed[2 * sizeof value];
    size_t n = 0;
    do {
        reversed[n++] = digits[value & 15];
        value >>= 4;
    } while (value);
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++)
        out[2 + i] = reversed[n - 1 - i];
    return n + 2;
}

void error_report_pointer(const char *call, const char *reason, const void *ptr)
{
    char line[256];
    size_t n = 0;
    const char *parts[] = {"glweave: ", call, "(): invalid pointer "};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t len = strlen(parts[i]);
        if (len > 64)
            len = 64;
        memcpy(line + n, parts[i], len);
        n += len;
    }
    n += format_hex(line + n, (uintptr_t)ptr);
    if (reason != NULL) {
        size_t len = strlen(reason);
        if (len > 100)
            len = 100;
        line[n++] = ' ';
        line[n++] = '(';
        memcpy(line + n, reason, len);
        n += len;
        line[n++] = ')';
    }
    line[n++] = '\n';
    write_all(line, n);
    if (error_abort_on_misuse)
        abort();
}

static size_t format_decimal(char *out, size_t value)
{
    char reversed[24];
    size_t n = 0;
    do {
        reversed[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (size_t i = 0; i < n; i++)
        out[i] = reversed[n - 1 - i];
    return n;
}

static size_t append(char *line, size_t n, const char *text)
{
    size_t len = strlen(text);
    if (len > 100)
        len = 100;
    memcpy(line + n, text, len);
    return n + len;
}

void error_report_corruption(const char *call, const char *what, size_t block_size, uintptr_t value)
{
    char line[320];
    size_t n = append(line, 0, "glweave: ");
    n = append(line, n, call);
    n = append(line, n, "(): ");
    n = append(line, n, what);
    n = append(line, n, ": a link of the ");
    n += format_decimal(line + n, block_size);
    n = append(line, n, "-byte blocks decodes to ");
    n += format_hex(line + n, value);
    line[n++] = '\n';
    write_all(line, n);
    if (error_abort_on_misuse)
        abort();
}

void error_fatal(const char *what)
{
    write_all("glweave: fatal: ", 16);
    write_all(what, strlen(what));
    write_all("\n", 1);
    abort();
}
