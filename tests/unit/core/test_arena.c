/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "sluice/arena.h"

static int cleaned;
static void
count_cleanup(void *data)
{
    cleaned += *(int *)data;
}

Test(arena, alignment_and_large_blocks)
{
    struct sl_arena *a = sl_arena_create(256);
    cr_assert_not_null(a);
    for (int i = 1; i < 100; i++) {
        void *p = sl_arena_alloc(a, (size_t)i);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)i);
    }
    char *big = sl_arena_alloc(a, 10000);
    cr_assert_not_null(big);
    memset(big, 1, 10000);
    cr_assert_str_eq(sl_arena_strndup(a, "hello world", 5), "hello");
    cr_assert_str_eq(sl_arena_sprintf(a, "%d-%s", 42, "x"), "42-x");
    sl_arena_destroy(a);
}

Test(arena, cleanups_run_on_reset_and_destroy)
{
    struct sl_arena *a = sl_arena_create(0);
    int one = 1, ten = 10;
    cleaned = 0;
    sl_arena_add_cleanup(a, count_cleanup, &one);
    sl_arena_reset(a);
    cr_assert_eq(cleaned, 1);
    cr_assert_eq(sl_arena_used(a), 0);
    sl_arena_add_cleanup(a, count_cleanup, &ten);
    sl_arena_destroy(a);
    cr_assert_eq(cleaned, 11);
}

Test(arena, overflowing_calloc_fails)
{
    struct sl_arena *a = sl_arena_create(0);
    cr_assert_null(sl_arena_calloc(a, SIZE_MAX / 2, 4));
    sl_arena_destroy(a);
}
