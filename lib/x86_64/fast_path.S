/* lib/x86_64/fast_path.S -- the hit paths of gl_malloc and gl_free for
 * x86_64 (System V ABI, GNU assembler).  They do exactly what the C twin in
 * lib/fast_path.c does: read the thread's cache from initial-exec TLS, find
 * the bin, pop or push, return.  No call, no lock, no atomic
 * read-modify-write, no division.  Every miss jumps to the C slow path with
 * the argument register untouched.  This file owns nothing but these two
 * functions; the layout it reads is fixed in internal.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"
#include "internal.h"

        .text

/* void *gl_malloc(size_t size)
 *   rcx = cache; rdx = bin; rax = block */
        .globl  gl_malloc
        .type   gl_malloc, @function
        .p2align 4
gl_malloc:
        .cfi_startproc
        movq    tcache_current@gottpoff(%rip), %rax
        movq    %fs:(%rax), %rcx
        cmpq    $GL_SMALL_MAX, %rdi
        ja      .Lmalloc_miss
        leaq    size_class_bin_of_size(%rip), %rax
        movzbl  (%rax,%rdi), %edx
        movq    TCACHE_HEADS_OFFSET(%rcx,%rdx,8), %rax
        testq   %rax, %rax
        je      .Lmalloc_miss                   /* empty bin, or a sentinel cache */
        movq    (%rax), %rsi
        movq    %rsi, TCACHE_HEADS_OFFSET(%rcx,%rdx,8)
        addl    $1, TCACHE_ROOM_OFFSET(%rcx,%rdx,4)
        ret
.Lmalloc_miss:
        jmp     api_malloc_slow
        .cfi_endproc
        .size   gl_malloc, .-gl_malloc

/* void gl_free(void *ptr)
 *   rcx = cache; rdx = bin of ptr's segment (0: not a small block) */
        .globl  gl_free
        .type   gl_free, @function
        .p2align 4
gl_free:
        .cfi_startproc
        movq    tcache_current@gottpoff(%rip), %rax
        movq    %fs:(%rax), %rcx
        movq    %rdi, %rdx
        shrq    $GL_SEGMENT_SHIFT, %rdx
        leaq    registry_bin_map(%rip), %rax
        movzbl  (%rax,%rdx), %edx
        /* room goes negative for a full bin, for bin 0 (large, huge,
         * foreign or NULL pointers) and in the sentinel caches */
        subl    $1, TCACHE_ROOM_OFFSET(%rcx,%rdx,4)
        js      .Lfree_miss
        movq    TCACHE_HEADS_OFFSET(%rcx,%rdx,8), %rax
        movq    %rax, (%rdi)
        movq    %rdi, TCACHE_HEADS_OFFSET(%rcx,%rdx,8)
        ret
.Lfree_miss:
        /* Give the 1 back, except in the sentinels, which are shared by
         * threads and must not be written concurrently: their room starts
         * at TCACHE_SENTINEL_ROOM and stays far below zero. */
        cmpl    $(TCACHE_SENTINEL_ROOM / 2), TCACHE_ROOM_OFFSET(%rcx,%rdx,4)
        jl      1f
        addl    $1, TCACHE_ROOM_OFFSET(%rcx,%rdx,4)
1:      jmp     api_free_slow
        .cfi_endproc
        .size   gl_free, .-gl_free

        .section .note.GNU-stack,"",@progbits
