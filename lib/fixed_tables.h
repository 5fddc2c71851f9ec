/* fixed_tables.h -- placing the fast paths' two tables at GL_FIXED_TABLES_BASE.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_FIXED_TABLES_H
#define GLWEAVE_FIXED_TABLES_H
#include "internal.h"

/* Are the size table and the segment-to-bin map at GL_FIXED_SIZE_TABLE and
 * GL_FIXED_BIN_MAP?  The first call tries to map them there and points
 * size_class_bin_of_size and registry_bin_map at them; every later call
 * returns the same answer.  It must run before either table is written
 * (the fast-path resolvers and init both call it first). */
GL_HIDDEN bool fixed_tables_in_place(void);

#endif
