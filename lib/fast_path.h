/* fast_path.h -- whether gl_malloc and gl_free choose their hit paths
 * (fast_path.c).
 * SPDX-License-Identifier: MIT */
#ifndef GLWEAVE_FAST_PATH_H
#define GLWEAVE_FAST_PATH_H
#include "internal.h"

/* Are gl_malloc and gl_free ifuncs choosing between the x86_64 assembly
 * and the C twin?  Elsewhere they are the C twin itself. */
#if defined(GLWEAVE_ASM_X86_64) && !defined(GLWEAVE_FORCE_C_FAST_PATH)
#define FAST_PATH_IFUNC 1
#endif

#endif
