/* SPDX-License-Identifier: Apache-2.0 */
/* FNV-1a, 32 bits: the small hash tables of a worker (the upstream pool, TLS sessions) key on a few
 * dozen bytes, where a simple multiplicative hash is as good as any and costs a multiply per byte.
 * Start from SL_FNV1A_INIT and chain calls to hash several fields. Not for untrusted keys an
 * attacker could choose to collide at scale: the tables it serves are bounded. */
#ifndef SL_CORE_HASH_H
#define SL_CORE_HASH_H

#include <stddef.h>

#define SL_FNV1A_INIT 2166136261u

static inline unsigned
sl_fnv1a(unsigned h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

/* ... over the bytes of <s> (NULL: none), its NUL excluded */
static inline unsigned
sl_fnv1a_str(unsigned h, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

#endif
