/* freelist.c -- the key and the limit of encoded free-list links (see
 * freelist.h).  It owns these two words and nothing else.
 *
 * SPDX-License-Identifier: MIT
 */
#include "freelist.h"

uintptr_t freelist_key;
uintptr_t freelist_limit;

void freelist_set_key(uint64_t random)
{
    uintptr_t key = (uintptr_t)random;
    key |= (uintptr_t)1 << 62;
    key &= ~((uintptr_t)1 << 61);
    freelist_key = key;
}

void freelist_raise_limit(uintptr_t end)
{
    uintptr_t seen = __atomic_load_n(&freelist_limit, __ATOMIC_RELAXED);
    while (seen < end
           && !__atomic_compare_exchange_n(&freelist_limit, &seen, end, true,
                                           __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
    }
}
