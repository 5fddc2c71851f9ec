/* options.h -- run-time options from the GLWEAVE_OPTIONS variable.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_OPTIONS_H
#define GLWEAVE_OPTIONS_H
#include "internal.h"

struct options {
    unsigned arenas;       /* 0: one per online CPU */
    size_t tcache_bytes;   /* bound on a thread cache's bytes; 0 disables caches */
    unsigned decay_ms;     /* dirty free memory is returned after this long */
    size_t dirty_max;      /* per arena, dirty free memory returned at once beyond this */
    bool abort_on_error;
    bool stats_on_exit;
};

GL_HIDDEN extern struct options options;

/* Parses text (the variable's value, may be NULL) into options.  Unknown
 * names and bad values are reported with a warning on stderr and ignored.
 * Never allocates. */
GL_HIDDEN void options_parse(const char *text);

#endif
