/* SPDX-License-Identifier: Apache-2.0 */
/* String → index map for one-shot builds (strmap.h). */
#include <stdint.h>
#include <string.h>

#include "core/strmap.h"

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

bool
sl_strmap_init(struct sl_strmap *m, size_t n, struct sl_arena *a)
{
    size_t cap = 16;
    while (cap < n * 2 + 1) {
        cap *= 2;
    }
    m->keys = sl_arena_calloc(a, cap, sizeof(*m->keys));
    m->vals = sl_arena_calloc(a, cap, sizeof(*m->vals));
    m->cap = cap;
    m->n = 0;
    return m->keys != NULL && m->vals != NULL;
}

bool
sl_strmap_get(const struct sl_strmap *m, const char *k, size_t *out)
{
    if (m->cap == 0) {
        return false;
    }
    for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == NULL) {
            return false;
        }
        if (strcmp(m->keys[i], k) == 0) {
            *out = m->vals[i];
            return true;
        }
    }
}

bool
sl_strmap_put(struct sl_strmap *m, const char *k, size_t v)
{
    for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == NULL) {
            m->keys[i] = k;
            m->vals[i] = v;
            m->n++;
            return true;
        }
        if (strcmp(m->keys[i], k) == 0) {
            return false;
        }
    }
}
