/* lib/x86_64/fast_path.S -- the hit paths of gl_malloc and gl_free for
 * x86_64 (System V ABI, GNU assembler).  They do exactly what the C twin in
 * lib/fast_path.c does: find the thread's cache in initial-exec TLS (the
 * struct tcache_hot itself, not a pointer to it), find the bin, pop or push
 * an encoded free list (freelist.h), return.  They read the size table and
 * the segment-to-bin map at their fixed addresses (GL_FIXED_SIZE_TABLE,
 * GL_FIXED_BIN_MAP): the ifunc resolvers in fast_path.c choose them only
 * when fixed_tables.c mapped the tables there.  No call, no lock, no atomic
 * read-modify-write, no division.  Every miss jumps to the C slow path with
 * the argument register untouched.  This file owns nothing but these two
 * functions; the layout it reads is fixed in internal.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"
#include "internal.h"

        .text

/* void *fast_path_malloc_asm(size_t size): gl_malloc
 *   rcx = offset of the thread's tcache_hot from %fs; rdx = bin;
 *   rax = the block (decoded head); rsi = its encoded link */
        .globl  fast_path_malloc_asm
        .hidden fast_path_malloc_asm
        .type   fast_path_malloc_asm, @function
        .p2align 4
fast_path_malloc_asm:
        .cfi_startproc
        movq    tcache_hot@gottpoff(%rip), %rcx
        cmpq    $GL_SMALL_MAX, %rdi
        ja      .Lmalloc_miss
        movzbl  GL_FIXED_SIZE_TABLE(%rdi), %edx
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
        .size   fast_path_malloc_asm, .-fast_path_malloc_asm

/* void fast_path_free_asm(void *ptr): gl_free
 *   rcx = offset of tcache_hot; rdx = bin of ptr's segment (0: not a small
 *   block); rax = the encoded old head */
        .globl  fast_path_free_asm
        .hidden fast_path_free_asm
        .type   fast_path_free_asm, @function
        .p2align 4
fast_path_free_asm:
        .cfi_startproc
        movq    tcache_hot@gottpoff(%rip), %rcx
        movq    %rdi, %rdx
        shrq    $GL_SEGMENT_SHIFT, %rdx
        movzbl  GL_FIXED_BIN_MAP(%rdx), %edx
        /* The room goes negative for a full bin, for bin 0 (large, huge,
         * foreign or NULL pointers) and in a thread not set up. */
        movq    %fs:TCACHE_HEADS_OFFSET(%rcx,%rdx,8), %rax
        addq    $TCACHE_PUSH, %fs:TCACHE_WORDS_OFFSET(%rcx,%rdx,8)
        js      .Lfree_miss
        movq    %rax, (%rdi)
        xorq    freelist_key(%rip), %rdi
        movq    %rdi, %fs:TCACHE_HEADS_OFFSET(%rcx,%rdx,8)
        ret
.Lfree_miss:
        /* Give the 1 back: the hot part is the thread's own. */
        subq    $TCACHE_PUSH, %fs:TCACHE_WORDS_OFFSET(%rcx,%rdx,8)
        jmp     api_free_slow
        .cfi_endproc
        .size   fast_path_free_asm, .-fast_path_free_asm

        .section .note.GNU-stack,"",@progbits
