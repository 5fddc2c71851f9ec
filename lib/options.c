/* options.c -- parses GLWEAVE_OPTIONS ("name=value,name=value").  It owns
 * the option table and its defaults; it never allocates (it runs during
 * initialisation, below malloc) and never fails: a bad entry is reported
 * and skipped.
 *
 * SPDX-License-Identifier: MIT
 */
#include "options.h"

#include <string.h>
#include <unistd.h>

struct options options = {
    .arenas = 0,
    .tcache_bytes = (size_t)1 << 20,
    .decay_ms = 1000,
    .dirty_max = (size_t)8 << 20,
    .abort_on_error = true,
    .stats_on_exit = false,
};

static void warn(const char *what, const char *name, size_t name_length)
{
    char line[200];
    size_t n = 0;
    const char *head = "glweave: GLWEAVE_OPTIONS: ";
    size_t length = strlen(head);
    memcpy(line, head, length);
    n += length;
    length = strlen(what);
    memcpy(line + n, what, length);
    n += length;
    line[n++] = ' ';
    line[n++] = '\'';
    if (name_length > 100)
        name_length = 100;
    memcpy(line + n, name, name_length);
    n += name_length;
    const char *tail = "' ignored\n";
    length = strlen(tail);
    memcpy(line + n, tail, length);
    n += length;
    ssize_t ignored = write(STDERR_FILENO, line, n);
    (void)ignored;
}

/* A decimal number with an optional k/m/g suffix (powers of 1024). */
static bool parse_size(const char *text, size_t length, size_t limit, size_t *out)
{
    if (length == 0)
        return false;
    size_t value = 0, i = 0;
    for (; i < length && text[i] >= '0' && text[i] <= '9'; i++) {
        size_t digit = (size_t)(text[i] - '0');
        if (digit > limit || value > (limit - digit) / 10)
            return false;
        value = value * 10 + (size_t)(text[i] - '0');
    }
    if (i == 0)
        return false;
    if (i + 1 == length) {
        unsigned shift;
        switch (text[i]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return false;
        }
        if (value > (limit >> shift))
            return false;
        value <<= shift;
    } else if (i != length) {
        return false;
    }
    *out = value;
    return true;
}

static bool name_is(const char *name, size_t length, const char *expected)
{
    return strlen(expected) == length && memcmp(name, expected, length) == 0;
}

static void apply(const char *name, size_t name_length, const char *value, size_t value_length)
{
    size_t number;
    if (name_is(name, name_length, "arenas")) {
        if (!parse_size(value, value_length, 1024, &number) || number == 0)
            goto bad_value;
        options.arenas = (unsigned)number;
    } else if (name_is(name, name_length, "tcache_bytes")) {
        if (!parse_size(value, value_length, (size_t)1 << 30, &number))
            goto bad_value;
        options.tcache_bytes = number;
    } else if (name_is(name, name_length, "decay_ms")) {
        if (!parse_size(value, value_length, 3600000, &number))
            goto bad_value;
        options.decay_ms = (unsigned)number;
    } else if (name_is(name, name_length, "dirty_max")) {
        if (!parse_size(value, value_length, (size_t)1 << 40, &number))
            goto bad_value;
        options.dirty_max = number;
    } else if (name_is(name, name_length, "abort_on_error")) {
        if (!parse_size(value, value_length, 1, &number))
            goto bad_value;
        options.abort_on_error = number == 1;
    } else if (name_is(name, name_length, "stats_on_exit")) {
        if (!parse_size(value, value_length, 1, &number))
            goto bad_value;
        options.stats_on_exit = number == 1;
    } else {
        warn("unknown option", name, name_length);
    }
    return;
bad_value:
    warn("bad value for option", name, name_length);
}

void options_parse(const char *text)
{
    if (text == NULL)
        return;
    while (*text) {
        const char *end = strchr(text, ',');
        size_t length = end ? (size_t)(end - text) : strlen(text);
        if (length > 0) {
            const char *equals = memchr(text, '=', length);
            if (equals == NULL)
                warn("missing '=' in", text, length);
            else
                apply(text, (size_t)(equals - text), equals + 1, length - (size_t)(equals - text) - 1);
        }
        text += length;
        if (*text == ',')
            text++;
    }
}
