/* double_free_thread.c -- a small block freed by the main thread (and
 * flushed home), then freed again by another thread, whose exit returns
 * its cache to the arena: the report comes from that thread.
 * SPDX-License-Identifier: MIT */
#include "expect.h"

#include <glweave.h>
#include <pthread.h>

static void *free_again(void *p)
{
    gl_free(p);
    return NULL;
}

int main(void)
{
    void *p = gl_malloc(80);
    if (p == NULL)
        return setup_failed("gl_malloc");
    expect("free", p, "double free");
    gl_free(p);
    gl_thread_flush();
    pthread_t t;
    if (pthread_create(&t, NULL, free_again, p) != 0)
        return setup_failed("pthread_create");
    pthread_join(t, NULL);
    return survived();
}
