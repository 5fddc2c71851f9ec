/* threads.c -- the installed glweave, used as a program would: four threads
 * allocate, fill, check, resize and free blocks through <glweave.h>, and
 * free some of each other's blocks.  Built with
 * `pkg-config --cflags --libs glweave` by debian/tests/build (autopkgtest)
 * and .ci/debian.sh.  Exits 0 when every block held what was written.
 *
 * SPDX-License-Identifier: MIT
 */
#include <glweave.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 20000
#define SLOTS 64

static void *handed[THREADS][SLOTS]; /* blocks passed to the next thread */
static pthread_barrier_t barrier;
static int failures[THREADS];

static size_t size_of(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    unsigned r = *seed >> 8;
    return (r & 7) == 0 ? (r % 300000) + 1 : (r % 2048) + 1; /* some large */
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    unsigned seed = 12345u + (unsigned)id;
    unsigned char *slot[SLOTS] = {0};
    size_t length[SLOTS] = {0};

    for (int round = 0; round < ROUNDS; round++) {
        int i = round % SLOTS;
        if (slot[i] != NULL) {
            for (size_t k = 0; k < length[i]; k += 97)
                if (slot[i][k] != (unsigned char)(i + id))
                    failures[id]++;
            if (round % 3 == 0) {
                size_t bigger = length[i] * 2 + 1;
                unsigned char *moved = gl_realloc(slot[i], bigger);
                if (moved == NULL) {
                    failures[id]++;
                    continue;
                }
                memset(moved, i + id, bigger);
                slot[i] = moved;
                length[i] = bigger;
                continue;
            }
            gl_free(slot[i]);
        }
        length[i] = size_of(&seed);
        slot[i] = gl_malloc(length[i]);
        if (slot[i] == NULL || ((uintptr_t)slot[i] & 15) != 0 ||
            gl_usable_size(slot[i]) < length[i]) {
            failures[id]++;
            slot[i] = NULL;
            continue;
        }
        memset(slot[i], i + id, length[i]);
    }
    /* Cross-thread frees: hand half of the blocks to the next thread. */
    for (int i = 0; i < SLOTS; i += 2) {
        handed[id][i] = slot[i];
        slot[i] = NULL;
    }
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < SLOTS; i++) {
        gl_free(handed[(id + 1) % THREADS][i]);
        gl_free(slot[i]);
    }
    gl_thread_flush();
    return NULL;
}

int main(void)
{
    pthread_t thread[THREADS];
    struct gl_stats stats = {.version = GL_STATS_VERSION};
    int total = 0;

    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int t = 0; t < THREADS; t++)
        if (pthread_create(&thread[t], NULL, worker, (void *)(intptr_t)t) != 0) {
            perror("pthread_create");
            return 1;
        }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(thread[t], NULL);
        total += failures[t];
    }
    if (gl_stats_get(&stats, sizeof stats) != 0) {
        printf("threads: gl_stats_get failed\n");
        return 1;
    }
    printf("threads: glweave %s, %d threads x %d rounds, %d failures, "
           "%zu bytes allocated at the end, %u arenas\n",
           gl_version(), THREADS, ROUNDS, total, stats.allocated, stats.arenas);
    return total == 0 && stats.allocated == 0 ? 0 : 1;
}
