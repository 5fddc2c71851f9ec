/* fixed_tables.h -- placing the fast paths' two tables at GL_FIXED_TABLES_BASE.
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_FIXED_TABLES_H
#define GLWEAVE_FIXED_TABLES_H
#include "internal.h"

/* Are the slot table and the segment-to-bin map at GL_FIXED_SLOT_TABLE and
 * GL_FIXED_BIN_MAP?  The first call tries to map them there and points
 * registry_bin_map at the map; every later call returns the same answer.
 * It must run before the map is written (the fast-path resolvers and init
 * both call it first). */
GL_HIDDEN bool fixed_tables_in_place(void);

/* Points every request size's slot at the head of its bin, bin_of_size
 * being size_class_bin_of_size; does nothing where the tables are not in
 * place.  Init calls it once the size classes exist. */
GL_HIDDEN void fixed_tables_fill_slots(const uint8_t *bin_of_size);

#endif
