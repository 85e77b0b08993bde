/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's HTTP router (kong.md §3.1-3.2, traditional_compatible priorities): compiled once per
 * config snapshot from the routes, then matched per request without locks or allocation. A compiled
 * router is immutable and may be matched from any number of threads at once. */
#ifndef SL_ROUTER_H
#define SL_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/arena.h"
#include "sluice/entity-t.h"
#include "sluice/str.h"

struct sl_router;

#define SL_ROUTER_MAX_CAPTURES 16

/* What the router looks at. Every view must stay valid for the duration of sl_router_match. */
struct sl_router_request {
    struct sl_str method;
    struct sl_str host; /* Host header without the port, as sent (matching lowercases it) */
    uint16_t port;      /* the port the connection arrived on (Kong: net.dst.port) */
    struct sl_str path; /* normalised path, no query (sl_http_path_normalize) */
    /* <path> in Kong's decoded form (sl_http_path_kong_decode), which regex paths are matched
     * against as Kong matches them; a NULL view means <path> itself (it has no such escape). Only
     * read when sl_router_has_regex_paths. */
    struct sl_str path_decoded;
    const struct sl_header *headers;
    size_t nheaders;
    bool tls;                /* the client connection is TLS: route snis are considered */
    struct sl_str sni;       /* TLS SNI, empty if none */
    enum sl_protocol scheme; /* SL_PROTO_HTTP or SL_PROTO_HTTPS */
};

struct sl_router_match {
    const struct sl_route *route;
    const struct sl_service *service; /* route->service; NULL → 503 no Service found */
    struct sl_str matched_path;       /* the route path (prefix) that matched, or the regex source
                                         without its '~'; empty when the route has no paths */
    size_t strip_len;                 /* bytes of the request path consumed by the matching path
                                         (prefix length, or the end of the regex match mapped
                                         back from path_decoded to path) */
    bool regex;                       /* the matching path was a regex */
    size_t ncaptures;                 /* regex capture groups (index 0 = whole match) */
    struct sl_str captures[SL_ROUTER_MAX_CAPTURES];    /* views into req->path_decoded (or path) */
    const char *capture_names[SL_ROUTER_MAX_CAPTURES]; /* NULL for unnamed groups */
    bool needs_https_redirect; /* the route's protocols are https only and req->scheme is http:
                                  Kong matches it and answers https_redirect_status_code (the caller
                                  decides, as it may trust X-Forwarded-Proto) */
};

/* Compiles <routes> (routes whose service is disabled must already be left out by the caller).
 * Everything is allocated in <arena>, which also owns the compiled PCRE2 codes (freed by a
 * cleanup). Returns NULL on an invalid regex or ENOMEM with a message in <err>. */
struct sl_router *sl_router_build(struct sl_route *const *routes, size_t nroutes,
                                  struct sl_arena *arena, char *err, size_t errlen);

/* Finds the highest-priority route matching <req>. Returns true and fills <m>, or false (404).
 * Routes whose protocols are only grpc/grpcs or stream protocols never match here; an https
 * request matches http-only routes, as in Kong. The views in <m> point into <req> and the router.
 * Never allocates, except the calling thread's PCRE2 match data on its first regex match. */
bool sl_router_match(const struct sl_router *r, const struct sl_router_request *req,
                     struct sl_router_match *m);

/* Whether some route path of <r> is a regex: only then does a match read req->path_decoded. */
bool sl_router_has_regex_paths(const struct sl_router *r);

#endif
