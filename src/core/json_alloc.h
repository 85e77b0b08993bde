/* SPDX-License-Identifier: Apache-2.0 */
/* jansson's allocator, counting its failures. jansson reports some allocation failures to no one:
 * json_copy and json_deep_copy leave out a member they cannot insert, and an entity missing one is
 * later completed with the schema's default (a service without its `protocol` becomes http, and
 * goes out in clear). The count lets a caller that builds an entity from JSON tell that something
 * was lost on the way and refuse the result (sl_schema_process does). */
#ifndef SL_JSON_ALLOC_H
#define SL_JSON_ALLOC_H

#include <stddef.h>

/* Installs the counting allocator over <base> (malloc when NULL; tests pass one that fails on
 * demand). Call before any JSON value exists, or with every value freed: free() stays jansson's
 * deallocator either way. */
void sl_json_alloc_init(void *(*base)(size_t));

/* How many of jansson's allocations have failed on this thread so far. Compare two readings: a
 * change means some JSON work between them may have silently lost a value. */
unsigned long sl_json_alloc_failures(void);

#endif
