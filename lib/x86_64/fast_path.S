/* lib/x86_64/fast_path.S -- the hit paths of gl_malloc and gl_free for
 * x86_64 (System V ABI, GNU assembler).  They do exactly what the C twin in
 * lib/fast_path.c does: find the thread's cache in initial-exec TLS (the
 * struct tcache_hot itself, not a pointer to it), find the bin, pop or push
 * an encoded free list (freelist.h), return.  No call, no lock, no atomic
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
 *   rcx = offset of the thread's tcache_hot from %fs; rdx = bin;
 *   rax = the block (decoded head); rsi = its encoded link */
        .globl  gl_malloc
        .type   gl_malloc, @function
        .p2align 4
gl_malloc:
        .cfi_startproc
        movq    tcache_hot@gottpoff(%rip), %rcx
        cmpq    $GL_SMALL_MAX, %rdi
        ja      .Lmalloc_miss
        leaq    size_class_bin_of_size(%rip), %rax
        movzbl  (%rax,%rdi), %edx
        movq    %fs:TCACHE_HEADS_OFFSET(%rcx,%rdx,8), %rax
        xorq    freelist_key(%rip), %rax
        /* An empty bin (FREELIST_END), a thread not set up (head 0 decodes
         * to the key) and a link broken by a write after free all decode
         * to an address at or above the limit: the slow path tells them
         * apart and reports the last. */
        cmpq    freelist_limit(%rip), %rax
        jae     .Lmalloc_miss
        movq    (%rax), %rsi
        movq    %rsi, %fs:TCACHE_HEADS_OFFSET(%rcx,%rdx,8)
        /* room + 1, hit countdown - 1 */
        addq    $TCACHE_POP, %fs:TCACHE_WORDS_OFFSET(%rcx,%rdx,8)
        ret
.Lmalloc_miss:
        jmp     api_malloc_slow
        .cfi_endproc
        .size   gl_malloc, .-gl_malloc

/* void gl_free(void *ptr)
 *   rcx = offset of tcache_hot; rdx = bin of ptr's segment (0: not a small
 *   block); rax = the encoded old head */
        .globl  gl_free
        .type   gl_free, @function
        .p2align 4
gl_free:
        .cfi_startproc
        movq    tcache_hot@gottpoff(%rip), %rcx
        movq    %rdi, %rdx
        shrq    $GL_SEGMENT_SHIFT, %rdx
        leaq    registry_bin_map(%rip), %rax
        movzbl  (%rax,%rdx), %edx
        /* The room goes negative for a full bin, for bin 0 (large, huge,
         * foreign or NULL pointers) and in a thread not set up. */
        addq    $TCACHE_PUSH, %fs:TCACHE_WORDS_OFFSET(%rcx,%rdx,8)
        js      .Lfree_miss
        movq    %fs:TCACHE_HEADS_OFFSET(%rcx,%rdx,8), %rax
        movq    %rax, (%rdi)
        xorq    freelist_key(%rip), %rdi
        movq    %rdi, %fs:TCACHE_HEADS_OFFSET(%rcx,%rdx,8)
        ret
.Lfree_miss:
        /* Give the 1 back: the hot part is the thread's own. */
        subq    $TCACHE_PUSH, %fs:TCACHE_WORDS_OFFSET(%rcx,%rdx,8)
        jmp     api_free_slow
        .cfi_endproc
        .size   gl_free, .-gl_free

        .section .note.GNU-stack,"",@progbits
