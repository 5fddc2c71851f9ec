/* lib/x86_64/dropin_stubs.S -- malloc and free of libglweave-malloc.so
 * (the drop-in library, lib/dropin.c) on x86_64: each one indirect jump
 * through the GOT slot of gl_malloc or gl_free, which the loader filled with
 * the hit path that fast_path.c's resolver chose.  A jump, not a call: the
 * hit path returns straight to the program, and on a miss the slow path
 * sees the program's return address, which tells it whether the caller is
 * the dynamic linker (api_called_by_loader).  This file owns nothing else.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

        .text

        .globl  malloc
        .type   malloc, @function
        .p2align 4
malloc:
        .cfi_startproc
        jmp     *gl_malloc@GOTPCREL(%rip)
        .cfi_endproc
        .size   malloc, .-malloc

        .globl  free
        .type   free, @function
        .p2align 4
free:
        .cfi_startproc
        jmp     *gl_free@GOTPCREL(%rip)
        .cfi_endproc
        .size   free, .-free

        .section .note.GNU-stack,"",@progbits
