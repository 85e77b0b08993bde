/* SPDX-License-Identifier: Apache-2.0 */
/* core/strmap: string → index map (the declarative loader's uniqueness checks, snapshot hosts). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "core/strmap.h"
#include "sluice/arena.h"

Test(strmap, put_get_and_duplicates)
{
    struct sl_arena *a = sl_arena_create(4096);
    struct sl_strmap m;
    cr_assert(sl_strmap_init(&m, 3, a));
    size_t v = 0;
    cr_assert_not(sl_strmap_get(&m, "a", &v));
    cr_assert(sl_strmap_put(&m, "a", 1));
    cr_assert(sl_strmap_put(&m, "b", 2));
    cr_assert_not(sl_strmap_put(&m, "a", 9), "a duplicate key is refused");
    cr_assert(sl_strmap_get(&m, "a", &v));
    cr_assert_eq(v, 1, "the first value stays");
    cr_assert(sl_strmap_get(&m, "b", &v));
    cr_assert_eq(v, 2);
    cr_assert_not(sl_strmap_get(&m, "c", &v));
    cr_assert_eq(m.n, 2);
    sl_arena_destroy(a);
}

Test(strmap, many_keys_with_collisions)
{
    enum { N = 5000 };
    static char keys[N][16];
    struct sl_arena *a = sl_arena_create(4096);
    struct sl_strmap m;
    cr_assert(sl_strmap_init(&m, N, a));
    for (size_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "host-%zu", i);
        cr_assert(sl_strmap_put(&m, keys[i], i));
    }
    for (size_t i = 0; i < N; i++) {
        size_t v = N;
        cr_assert(sl_strmap_get(&m, keys[i], &v));
        cr_assert_eq(v, i);
    }
    cr_assert_not(sl_strmap_get(&m, "host-5000", &(size_t){0}));
    sl_arena_destroy(a);
}

Test(strmap, empty_map_answers_absent)
{
    struct sl_strmap m = {0};
    size_t v;
    cr_assert_not(sl_strmap_get(&m, "x", &v));
}
