/* dropin_module.c -- a small shared module for tests/test_dropin.c, loaded
 * with dlopen (several copies at once) or with LD_PRELOAD.  It has dynamic
 * TLS, so each thread's first touch of it goes through __tls_get_addr,
 * which allocates the thread's block (and may grow its DTV) with the
 * preloaded malloc.  Preloaded with GLWEAVE_TEST_KEYS=n in the environment,
 * its constructor creates n pthread keys, so that keys created later (the
 * allocator's own) have numbers above 32, whose pthread_setspecific calls
 * calloc.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int dropin_module_touch(unsigned value);
int dropin_module_keys_created(void);

/* Over-aligned, so that glibc allocates the TLS block with slack and frees
 * it through a pointer it kept. */
static __thread char module_buffer[3000] __attribute__((aligned(64)));
static __thread unsigned module_sum;

/* Adds value to this thread's sum in this copy of the module; returns 0 if
 * the TLS block was misaligned or did not start zeroed. */
int dropin_module_touch(unsigned value)
{
    if (((uintptr_t)module_buffer & 63) != 0)
        return 0;
    if (module_sum == 0) {
        for (size_t i = 0; i < sizeof module_buffer; i++)
            if (module_buffer[i] != 0)
                return 0;
    }
    memset(module_buffer, (int)(value & 0x7f), sizeof module_buffer);
    module_sum += value;
    return (int)module_sum;
}

static pthread_key_t early_keys[100];
static int early_key_count;

int dropin_module_keys_created(void)
{
    return early_key_count;
}

__attribute__((constructor)) static void dropin_module_load(void)
{
    const char *wanted = getenv("GLWEAVE_TEST_KEYS");
    if (wanted == NULL)
        return;
    int n = atoi(wanted);
    if (n > (int)(sizeof early_keys / sizeof early_keys[0]))
        n = (int)(sizeof early_keys / sizeof early_keys[0]);
    for (int i = 0; i < n; i++)
        if (pthread_key_create(&early_keys[i], NULL) == 0)
            early_key_count++;
}
