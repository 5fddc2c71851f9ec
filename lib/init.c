/* init.c -- brings the layers up on first use (or at load time), and keeps
 * them consistent across fork().  It must never call malloc before the
 * allocator is ready: a drop-in build would recurse into itself.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "init.h"
#include "fixed_tables.h"
#include "freelist.h"
#include "arena.h"
#include "base.h"
#include "error.h"
#include "large.h"
#include "options.h"
#include "os.h"
#include "registry.h"
#include "size_class.h"
#include "tcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "glweave.h"

int init_state;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool fork_handlers_registered;

static uint64_t process_secret(void)
{
    uint64_t secret = 0;
    if (getrandom(&secret, sizeof secret, GRND_NONBLOCK) != (ssize_t)sizeof secret) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        secret = (uint64_t)now.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&now;
    }
    return secret | 1;
}


/* fork: every allocator lock is taken before and released after, in both
 * processes.  liburcu's own fork hooks are deliberately not called: they
 * are not reentrant, so two copies of glweave in one process (the drop-in
 * library preloaded into a program linked with libglweave), or glweave and
 * any other urcu-bp user that calls them, deadlock in fork().  Instead the
 * child stops using liburcu altogether (registry_rcu_usable): a thread that
 * was inside liburcu when fork() ran may have left its locks taken or its
 * reader registered in the child, and the child must never wait on them.
 * Readers in the child take the registry's mutex, which glweave's own
 * handlers keep consistent. */
static void fork_prepare(void)
{
    tcache_fork_prepare();
    arena_fork_prepare();
    registry_fork_prepare();
    base_fork_prepare();
}

static void fork_parent(void)
{
    base_fork_parent();
    registry_fork_parent();
    arena_fork_parent();
    tcache_fork_parent();
}

static void fork_child(void)
{
    registry_rcu_usable = false;
    base_fork_child();
    registry_fork_child();
    arena_fork_child();
    tcache_fork_child();
}

bool init_slow(void)
{
    pthread_mutex_lock(&init_lock);
    if (init_state == 0) {
        init_state = 1;
        options_parse(getenv("GLWEAVE_OPTIONS"));
        error_abort_on_misuse = options.abort_on_error;
        fixed_tables_in_place(); /* before the tables are first written */
        size_class_init();
        fixed_tables_fill_slots(size_class_bin_of_size);
        large_set_secret(process_secret());
        freelist_set_key(process_secret());
        unsigned arenas = options.arenas ? options.arenas : os_cpu_count();
        if (arena_init_all(arenas) && tcache_init(options.tcache_bytes))
            __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
        else
            init_state = 0;
    }
    bool ready = init_state == 2;
    bool register_fork = ready && !fork_handlers_registered;
    fork_handlers_registered |= register_fork;
    pthread_mutex_unlock(&init_lock);
    /* Outside the lock and after init_state is 2: glibc may allocate while
     * registering, which must find the allocator ready. */
    if (register_fork)
        pthread_atfork(fork_prepare, fork_parent, fork_child);
    return ready;
}

__attribute__((constructor)) static void glweave_load(void)
{
    init_ensure();
}

/* At exit (or when the library is unloaded): the exiting thread's cache
 * goes home, which checks every block in it, so that a double free or a
 * free of an interior pointer still sitting in the cache is reported
 * rather than lost with the process; then the report of stats_on_exit=1. */
__attribute__((destructor)) static void glweave_unload(void)
{
    if (init_state != 2)
        return;
    tcache_flush_current();
    if (options.stats_on_exit)
        gl_stats_print(STDERR_FILENO);
}
