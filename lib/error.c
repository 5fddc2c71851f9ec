/* error.c -- how glweave reports a bad pointer or a broken invariant.
 * It must never allocate, never use stdio and never take an allocator lock:
 * it runs in the middle of failing allocator calls.  Every report is one
 * line written with a single write(2) where possible, so that lines from
 * two threads do not interleave.
 *
 * SPDX-License-Identifier: MIT
 */
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool error_abort_on_misuse = true;

/* A report being assembled on the stack; parts that do not fit are cut. */
struct report_line {
    char text[320];
    size_t length;
};

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

/* Appends at most limit bytes of text, always leaving room for "\n". */
static void put_text(struct report_line *line, const char *text, size_t limit)
{
    size_t length = strlen(text);
    if (length > limit)
        length = limit;
    size_t room = sizeof line->text - 1 - line->length;
    if (length > room)
        length = room;
    memcpy(line->text + line->length, text, length);
    line->length += length;
}

static void put_hex(struct report_line *line, uintptr_t value)
{
    static const char digits[] = "0123456789abcdef";
    char reversed[2 * sizeof value];
    char text[2 * sizeof value + 3];
    size_t n = 0;
    do {
        reversed[n++] = digits[value & 15];
        value >>= 4;
    } while (value);
    text[0] = '0';
    text[1] = 'x';
    for (size_t i = 0; i < n; i++)
        text[2 + i] = reversed[n - 1 - i];
    text[n + 2] = '\0';
    put_text(line, text, sizeof text);
}

/* "glweave: CALL(): " -- the head every report shares. */
static void put_head(struct report_line *line, const char *call)
{
    line->length = 0;
    put_text(line, "glweave: ", 16);
    put_text(line, call, 64);
    put_text(line, "(): ", 8);
}

static void emit(struct report_line *line)
{
    line->text[line->length++] = '\n';
    write_all(line->text, line->length);
}

void error_report_pointer(const char *call, const char *reason, const void *ptr)
{
    struct report_line line;
    put_head(&line, call);
    put_text(&line, "invalid pointer ", 32);
    put_hex(&line, (uintptr_t)ptr);
    if (reason != NULL) {
        put_text(&line, " (", 2);
        put_text(&line, reason, 100);
        put_text(&line, ")", 1);
    }
    emit(&line);
    if (error_abort_on_misuse)
        abort();
}

static void put_decimal(struct report_line *line, size_t value)
{
    char reversed[24], text[24];
    size_t n = 0;
    do {
        reversed[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (size_t i = 0; i < n; i++)
        text[i] = reversed[n - 1 - i];
    text[n] = '\0';
    put_text(line, text, sizeof text);
}

void error_report_broken_list(const char *call, const char *what, size_t block_size, uintptr_t value)
{
    struct report_line line;
    put_head(&line, call);
    put_text(&line, what, 100);
    put_text(&line, ": a link of the ", 16);
    put_decimal(&line, block_size);
    put_text(&line, "-byte blocks decodes to ", 32);
    put_hex(&line, value);
    emit(&line);
    if (error_abort_on_misuse)
        abort();
}

void error_report_corruption(const char *call, const void *ptr, const char *what, const void *where)
{
    struct report_line line;
    put_head(&line, call);
    put_text(&line, "heap corruption near ", 32);
    put_hex(&line, (uintptr_t)ptr);
    put_text(&line, " (", 2);
    put_text(&line, what, 100);
    put_text(&line, " ", 1);
    put_hex(&line, (uintptr_t)where);
    put_text(&line, ")", 1);
    emit(&line);
    abort();
}

const char *error_freed_reason(const char *call)
{
    return strncmp(call, "free", 4) == 0 ? "double free" : "block already freed";
}

void error_fatal(const char *what)
{
    struct report_line line;
    line.length = 0;
    put_text(&line, "glweave: fatal: ", 16);
    put_text(&line, what, 200);
    emit(&line);
    abort();
}
