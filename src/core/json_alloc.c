/* SPDX-License-Identifier: Apache-2.0 */
/* jansson's counting allocator (json_alloc.h). */
#include <jansson.h>
#include <stdlib.h>

#include "core/json_alloc.h"

static void *(*base_malloc)(size_t) = malloc;
/* per thread: the control thread's Admin API and loader work is not disturbed by another
 * thread's failure, and no atomic is needed */
static _Thread_local unsigned long failures;

static void *
counting_malloc(size_t n)
{
    void *p = base_malloc(n);
    if (p == NULL) {
        failures++;
    }
    return p;
}

void
sl_json_alloc_init(void *(*base)(size_t))
{
    base_malloc = base != NULL ? base : malloc;
    json_set_alloc_funcs(counting_malloc, free);
}

unsigned long
sl_json_alloc_failures(void)
{
    return failures;
}
