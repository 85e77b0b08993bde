/* SPDX-License-Identifier: Apache-2.0 */
/* A malloc that fails once, on demand, for tests that make each allocation of an operation fail in
 * turn: install fa_malloc as jansson's allocator (json_set_alloc_funcs, or sl_json_alloc_init to
 * keep its failure count), fa_arm(n) before the operation, and stop once an operation ran with
 * fa_failed still false (it made fewer than n + 1 allocations). */
#ifndef SL_TESTS_FAILING_ALLOC_H
#define SL_TESTS_FAILING_ALLOC_H

#include <stdbool.h>
#include <stdlib.h>

static long fa_countdown = -1; /* the allocation that fails, counted from now; -1: none */
static bool fa_failed;         /* the armed allocation has failed */

static void *
fa_malloc(size_t n)
{
    if (fa_countdown == 0) {
        fa_countdown = -1;
        fa_failed = true;
        return NULL;
    }
    if (fa_countdown > 0) {
        fa_countdown--;
    }
    return malloc(n);
}

/* The allocation <n> from now (0: the next one) fails. */
static inline void
fa_arm(long n)
{
    fa_countdown = n;
    fa_failed = false;
}

/* No allocation fails from now on; fa_failed still says whether the armed one did. */
static inline void
fa_disarm(void)
{
    fa_countdown = -1;
}

#endif
