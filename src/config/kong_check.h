/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's field validators re-expressed in C (kong/tools/ip.lua, kong/tools/uri.lua,
 * kong/db/schema/typedefs.lua, LuaSocket's url.parse): the declarative loader and, later, the Admin
 * API validate entities with the same rules and messages. Pure functions; messages go to caller
 * buffers. */
#ifndef SL_CONFIG_KONG_CHECK_H
#define SL_CONFIG_KONG_CHECK_H

#include <stdbool.h>
#include <stddef.h>

enum sl_host_type { SL_HOST_NAME = 0, SL_HOST_IPV4, SL_HOST_IPV6, SL_HOST_MAX };

/* kong.tools.ip normalize_ip(): classifies <s> (NUL-terminated; "name", "name:port", "1.2.3.4",
 * "1.2.3.4:80", "::1", "[::1]:80") and validates it. Returns 0 with the type and *port (-1 when
 * none), or -1 with Kong's message in <err> ("invalid hostname: x", "invalid ipv4 address: x",
 * "invalid ipv6 address: x", "invalid ipv6 address", "invalid port number"). */
int sl_kong_normalize_ip(const char *s, enum sl_host_type *type, long *port, char *err,
                         size_t errlen);

/* typedefs.host (a service's host): NULL when valid, else "invalid value: <s>" or "must not have a
 * port" written to <err> (returned). */
const char *sl_kong_check_host(const char *s, char *err, size_t errlen);
/* typedefs.sni: adds "must not be an IP". */
const char *sl_kong_check_sni(const char *s, char *err, size_t errlen);
/* A route's hosts element: at most one '*', only as the leftmost or rightmost label, an optional
 * port. */
const char *sl_kong_check_route_host(const char *s, char *err, size_t errlen);

/* typedefs.path's custom validator (a service's path, after the starts_with and "//" checks):
 * RFC 3986 characters only and well-formed percent-encoding. Returns NULL when valid, else the
 * message; *<rfc3986> tells the character-set failure apart (routes ignore that one). */
const char *sl_kong_check_path_chars(const char *s, bool *rfc3986, char *err, size_t errlen);

/* kong.tools.uri normalize(): decodes %XX of unreserved and other non-reserved characters,
 * uppercases the kept escapes, removes dot segments and, with <merge_slashes>, doubled slashes.
 * Writes to <out> (at most the input length plus one byte is needed). */
void sl_kong_normalize_path(const char *in, bool merge_slashes, char *out, size_t outlen);

/* Kong's declarative 1.1/2.1 → 3.0 path migration (migrate_path_280_300): a path made only of
 * [A-Za-z0-9._~/%-] is normalized (slashes merged), anything else becomes a "~" regex whose
 * percent-escapes are decoded (regex metacharacters escaped). Writes to <out>; returns false when
 * it does not fit. */
bool sl_kong_migrate_path(const char *in, char *out, size_t outlen);

/* LuaSocket url.parse() for the service `url` shorthand. Absent parts are NULL; strings point into
 * <buf> (a modified copy of the URL). */
struct sl_kong_url {
    char *scheme;
    char *host;
    char *port; /* text; may be non-numeric */
    char *path;
};
/* Returns 0, or -1 for an empty URL (url.parse returns nil). <buf> must hold strlen(url)+16. */
int sl_kong_url_parse(const char *url, char *buf, size_t buflen, struct sl_kong_url *out);

#endif
