/* SPDX-License-Identifier: Apache-2.0 */
/* A map from C strings to indexes for one-shot builds (the declarative loader's uniqueness checks,
 * the snapshot's host names): open addressing with FNV-1a, sized once for at most <n> keys, memory
 * in an arena. Keys are not copied: they must outlive the map. Not thread-safe. */
#ifndef SL_CORE_STRMAP_H
#define SL_CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice/arena.h"

struct sl_strmap {
    const char **keys;
    size_t *vals;
    size_t cap; /* power of two, > 2n: the map never fills */
    size_t n;
};

/* Sizes <m> for at most <n> keys, in <a>. False when out of memory. */
bool sl_strmap_init(struct sl_strmap *m, size_t n, struct sl_arena *a);
/* The value of <k> in *out; false when absent. */
bool sl_strmap_get(const struct sl_strmap *m, const char *k, size_t *out);
/* Inserts <k> → <v> unless <k> is present; false when it already was (its value unchanged). At
 * most the <n> keys given to sl_strmap_init. */
bool sl_strmap_put(struct sl_strmap *m, const char *k, size_t v);

#endif
