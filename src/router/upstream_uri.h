/* SPDX-License-Identifier: Apache-2.0 */
/* The upstream request-target (kong.md §3.3, kong/router/utils.lua get_upstream_uri_v0, used for
 * every route as in Kong's traditional_compatible flavour): service path + request path after
 * strip_path, with the query string appended unchanged (a trailing '?' is preserved). */
#ifndef SL_ROUTER_UPSTREAM_URI_H
#define SL_ROUTER_UPSTREAM_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice/entity-t.h"
#include "sluice/str.h"

/* Writes the upstream URI into <out> (<outlen> bytes, NUL-terminated). <path> is the normalised
 * request path; <strip_len> the bytes of it the matching route path consumed (sl_router_match);
 * <service_path> may be NULL (Kong: "/"). Returns the length written, or -1 if <outlen> is too
 * small. */
long sl_upstream_uri_build(const struct sl_route *route, const char *service_path,
                           struct sl_str path, size_t strip_len, struct sl_str query,
                           bool has_query, char *out, size_t outlen);

/* The X-Forwarded-Prefix value: the stripped part of the path, or empty when strip_path is false
 * or only "/" was stripped. A view into <path>. */
struct sl_str sl_upstream_forwarded_prefix(const struct sl_route *route, struct sl_str path,
                                           size_t strip_len);

#endif
