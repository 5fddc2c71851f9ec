/* bench/pair_cost.c -- the hit path of one malloc+free pair, in a loop of a
 * given length.  Run under callgrind at two lengths, the difference of the
 * instruction totals divided by the difference of the lengths is the cost
 * of one pair including the loop (see bench/pair_cost.sh).  Without
 * callgrind it times the loop for throughput.  Built twice: calling
 * malloc/free (peers come in through LD_PRELOAD) and calling gl_malloc and
 * gl_free directly (-DPAIR_USE_GLWEAVE).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef PAIR_USE_GLWEAVE
#include <glweave.h>
#define ALLOCATE gl_malloc
#define RELEASE gl_free
#else
#define ALLOCATE malloc
#define RELEASE free
#endif

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SIZE PAIRS [time]\n", argv[0]);
        return 2;
    }
    size_t size = strtoull(argv[1], NULL, 10);
    long pairs = strtol(argv[2], NULL, 10);
    int timed = argc > 3;
    /* The first pair sets up the thread cache: the loop measures hits. */
    void *warm = ALLOCATE(size);
    RELEASE(warm);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    /* Counting down: the loop costs two instructions besides the calls. */
    for (long left = pairs; left != 0; left--) {
        void *p = ALLOCATE(size);
        /* Keeps the compiler from pairing malloc and free away. */
        __asm__ volatile("" : : "r"(p) : "memory");
        RELEASE(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    if (timed) {
        double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) * 1e-9;
        printf("%.3f\n", (double)pairs / seconds / 1e6); /* million pairs per second */
    }
    return 0;
}
