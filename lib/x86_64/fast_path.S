/* lib/x86_64/fast_path.S -- the hit paths of gl_malloc and gl_free for
 * x86_64 (System V ABI, GNU assembler).  They do exactly what the C twin in
 * lib/fast_path.c does: find the bin's head in the thread's struct
 * tcache_hot (initial-exec TLS), pop or push the list (links encoded, see
 * freelist.h), return.  gl_malloc reads the slot table (GL_FIXED_SLOT_TABLE:
 * the head's %fs offset for each request size) and gl_free the
 * segment-to-bin map (GL_FIXED_BIN_MAP) at their fixed addresses: the ifunc
 * resolvers in fast_path.c choose these functions only when fixed_tables.c
 * mapped the tables there.  No call, no lock, no atomic read-modify-write,
 * no division.  Every miss jumps to the C slow path with the argument
 * register untouched and the caller's return address as second argument
 * (the slow path serves the dynamic linker's calls apart).  This file owns nothing but these functions; the
 * layout it reads is fixed in internal.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"
#include "internal.h"

        .text

/* void *fast_path_malloc_asm(size_t size): gl_malloc
 *   rdx = %fs offset of the bin's head; rax = the block; rsi = the next
 *   block (its link, decoded) */
        .globl  fast_path_malloc_asm
        .hidden fast_path_malloc_asm
        .type   fast_path_malloc_asm, @function
        .p2align 6
fast_path_malloc_asm:
        .cfi_startproc
        cmpq    $GL_SMALL_MAX, %rdi
        ja      .Lmalloc_miss
        movslq  GL_FIXED_SLOT_TABLE(,%rdi,4), %rdx
        movq    %fs:(%rdx), %rax
        /* An empty bin (FREELIST_END, also a thread not set up) and a link
         * broken by a write after free (decoded into the head by the
         * previous pop) lie at or above the limit: the slow path tells
         * them apart and reports the second. */
        cmpq    freelist_limit(%rip), %rax
        jae     .Lmalloc_miss
        movq    (%rax), %rsi
        xorq    freelist_key(%rip), %rsi
        movq    %rsi, %fs:(%rdx)
        /* room + 1, hit countdown - 1 */
        addq    $TCACHE_POP, %fs:(TCACHE_WORDS_OFFSET - TCACHE_HEADS_OFFSET)(%rdx)
        ret
.Lmalloc_miss:
        movq    (%rsp), %rsi            /* the caller, for the loader test */
        jmp     api_malloc_slow
        .cfi_endproc
        .size   fast_path_malloc_asm, .-fast_path_malloc_asm

/* void fast_path_free_asm(void *ptr): gl_free
 *   rcx = offset of tcache_hot from %fs; rdx = bin of ptr's segment (0: not
 *   a small block); rax = the bin's head */
        .globl  fast_path_free_asm
        .hidden fast_path_free_asm
        .type   fast_path_free_asm, @function
        .p2align 6
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
        xorq    freelist_key(%rip), %rax
        movq    %rax, (%rdi)
        movq    %rdi, %fs:TCACHE_HEADS_OFFSET(%rcx,%rdx,8)
        ret
.Lfree_miss:
        /* Give the 1 back: the hot part is the thread's own. */
        subq    $TCACHE_PUSH, %fs:TCACHE_WORDS_OFFSET(%rcx,%rdx,8)
        movq    (%rsp), %rsi            /* the caller, for the loader test */
        jmp     api_free_slow
        .cfi_endproc
        .size   fast_path_free_asm, .-fast_path_free_asm

        .section .note.GNU-stack,"",@progbits
