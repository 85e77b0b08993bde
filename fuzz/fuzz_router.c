/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for the router and the upstream URI builder: one fixed router (plain, wildcard
 * and port hosts, prefix and regex paths, headers, snis, https-only), requests derived from the
 * input. Checks that the indexed match agrees with the linear reference, that every view stays
 * inside the request, and that the upstream URI fits the buffer the proxy sizes for it.
 *
 * Input: byte 0 = flags (bit 0 tls, bit 1 https scheme, bits 2-7 port selector), then
 * '\n'-separated method, host, path, query (a leading '?' sets has_query) and "name:value" header
 * lines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"
#include "router/router_int.h"
#include "router/upstream_uri.h"

#define MAX_HEADERS 16

static struct sl_arena *router_arena; /* lives as long as the process */
static struct sl_router *router;

static const char *
dup(struct sl_arena *a, const char *s)
{
    return sl_arena_strdup(a, s);
}

static struct sl_strv
strv(struct sl_arena *a, const char *const *v)
{
    size_t n = 0;
    while (v[n] != NULL) {
        n++;
    }
    if (n == 0) {
        return (struct sl_strv){NULL, 0}; /* a null field, as Kong's */
    }
    const char **out = sl_arena_calloc(a, n + 1, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        out[i] = dup(a, v[i]);
    }
    return (struct sl_strv){out, n};
}

struct spec {
    const char *hosts[4];
    const char *paths[5];
    const char *methods[3];
    const char *header; /* "name=value" or NULL */
    const char *sni;
    const char *svc_path;
    uint32_t protocols;
    int regex_priority;
    bool strip;
    bool v1;
};

#define HTTP_HTTPS (SL_PROTO_BIT(SL_PROTO_HTTP) | SL_PROTO_BIT(SL_PROTO_HTTPS))

static const struct spec specs[] = {
    {{"example.com"}, {"/"}, {0}, 0, 0, NULL, HTTP_HTTPS, 0, true, false},
    {{"example.com"}, {"/api", "/api/v2"}, {0}, 0, 0, "/s", HTTP_HTTPS, 0, true, false},
    {{"*.example.com"}, {"/api"}, {"GET", "POST"}, 0, 0, "/s/", HTTP_HTTPS, 0, false, false},
    {{"example.*"}, {0}, {0}, 0, 0, "/", HTTP_HTTPS, 0, true, true},
    {{"example.com:8080", "a.test"}, {"/p"}, {0}, 0, 0, "/s", HTTP_HTTPS, 0, true, true},
    {{0}, {"~/users/(?<id>\\d+)/(\\w*)", "/users"}, {0}, 0, 0, "/u", HTTP_HTTPS, 3, true, false},
    {{0}, {"~/a(b|c)*d", "~/(x+x+)+y"}, {0}, 0, 0, NULL, HTTP_HTTPS, -2, true, false},
    {{0}, {"/", "/a", "/ab", "/abc"}, {0}, 0, 0, "/root/", HTTP_HTTPS, 0, true, false},
    {{0}, {"/h"}, {0}, "x-version=~*^v[0-9]+$", 0, "/h", HTTP_HTTPS, 0, true, false},
    {{0}, {"/h"}, {0}, "x-tenant=acme", 0, NULL, HTTP_HTTPS, 0, false, false},
    {{"secure.test"},
     {0},
     {0},
     0,
     "secure.test",
     "/sec",
     SL_PROTO_BIT(SL_PROTO_HTTPS),
     0,
     true,
     false},
    {{0}, {"/grpc"}, {0}, 0, 0, NULL, SL_PROTO_BIT(SL_PROTO_GRPC), 0, false, false},
    {{"*"}, {"~/"}, {"DELETE"}, 0, 0, "/any", HTTP_HTTPS, 0, true, true},
    {{0}, {"/%2F", "~/[.]{2}"}, {0}, 0, 0, "/enc", HTTP_HTTPS, 0, true, false},
    {{"*.a.b.c", "x.*:1"}, {"/deep/er/path"}, {"PUT"}, 0, 0, "/d", HTTP_HTTPS, 0, true, false},
    /* v0 without strip_path and a service path not ending in '/' (upstream_uri.c's !strip) */
    {{0}, {"/ns"}, {0}, 0, 0, "/nostrip", HTTP_HTTPS, 0, false, false},
    /* Unicode semantics of regex paths: '.' and \w over multi-byte characters */
    {{0}, {"~/uni/\\w+.$"}, {0}, 0, 0, "/u8", HTTP_HTTPS, 1, true, false},
};

static struct sl_service services[sizeof(specs) / sizeof(specs[0])];

static void
build_router(void)
{
    struct sl_arena *a = sl_arena_create(0);
    router_arena = a;
    size_t n = sizeof(specs) / sizeof(specs[0]);
    /* each spec twice, under two ids, so that equal priorities meet the uuid tie-break */
    struct sl_route **routes = sl_arena_calloc(a, 2 * n, sizeof(*routes));
    for (size_t i = 0; i < 2 * n; i++) {
        const struct spec *s = &specs[i % n];
        struct sl_route *r = sl_arena_calloc(a, 1, sizeof(*r));
        snprintf(r->id, sizeof(r->id), "%08zx-0000-4000-8000-00000000%04zx", i * 2654435761u, i);
        r->protocols = s->protocols;
        r->hosts = strv(a, s->hosts);
        r->paths = strv(a, s->paths);
        r->methods = strv(a, s->methods);
        if (s->header != NULL) {
            const char *eq = strchr(s->header, '=');
            struct sl_route_header *h = sl_arena_calloc(a, 1, sizeof(*h));
            h->name = sl_arena_strndup(a, s->header, (size_t)(eq - s->header));
            const char *vals[] = {eq + 1, NULL};
            h->values = strv(a, vals);
            r->headers = h;
            r->nheaders = 1;
        }
        if (s->sni != NULL) {
            const char *snis[] = {s->sni, NULL};
            r->snis = strv(a, snis);
        }
        r->regex_priority = s->regex_priority;
        r->strip_path = s->strip;
        r->path_handling = s->v1 ? SL_PATH_HANDLING_V1 : SL_PATH_HANDLING_V0;
        services[i % n].path = s->svc_path;
        r->service = (i % 3 == 2) ? NULL : &services[i % n];
        routes[i] = r;
    }
    char err[256];
    router = sl_router_build(routes, 2 * n, a, err, sizeof(err));
    if (router == NULL) {
        abort();
    }
}

/* Next '\n'-terminated field of <*p,*len>. */
static struct sl_str
field(const uint8_t **p, size_t *len)
{
    const uint8_t *nl = memchr(*p, '\n', *len);
    size_t n = nl ? (size_t)(nl - *p) : *len;
    struct sl_str s = {(const char *)*p, n};
    *p += nl ? n + 1 : n;
    *len -= nl ? n + 1 : n;
    return s;
}

static void
check_view(struct sl_str v, struct sl_str in)
{
    if (v.len == 0) {
        return;
    }
    if (v.p < in.p || v.p + v.len > in.p + in.len) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (router == NULL) {
        build_router();
    }
    if (size == 0) {
        return 0;
    }
    uint8_t flags = data[0];
    const uint8_t *p = data + 1;
    size_t len = size - 1;

    static const uint16_t ports[] = {80, 443, 8080, 1, 8000, 65535};
    struct sl_router_request q = {0};
    q.tls = flags & 1;
    q.scheme = (flags & 2) ? SL_PROTO_HTTPS : SL_PROTO_HTTP;
    q.port = ports[(flags >> 2) % (sizeof(ports) / sizeof(ports[0]))];
    q.method = field(&p, &len);
    q.host = field(&p, &len);
    q.sni = q.host;
    q.path = field(&p, &len);
    struct sl_str query = field(&p, &len);
    bool has_query = query.len > 0 && query.p[0] == '?';
    if (has_query) {
        query.p++;
        query.len--;
    }
    struct sl_header headers[MAX_HEADERS];
    size_t nh = 0;
    while (len > 0 && nh < MAX_HEADERS) {
        struct sl_str line = field(&p, &len);
        const char *colon = memchr(line.p, ':', line.len);
        if (colon == NULL) {
            continue;
        }
        headers[nh].name = (struct sl_str){line.p, (size_t)(colon - line.p)};
        headers[nh].value = (struct sl_str){colon + 1, line.len - (size_t)(colon + 1 - line.p)};
        nh++;
    }
    q.headers = headers;
    q.nheaders = nh;

    struct sl_router_match m, lm;
    bool ok = sl_router_match(router, &q, &m);
    bool lok = sl_router_match_linear(router, &q, &lm);
    if (ok != lok || (ok && (m.route != lm.route || m.strip_len != lm.strip_len))) {
        __builtin_trap(); /* the index lost or invented a candidate */
    }
    (void)sl_router_regex_literal_prefix(q.path.p, q.path.len);
    if (!ok) {
        return 0;
    }
    if (m.strip_len > q.path.len || m.ncaptures > SL_ROUTER_MAX_CAPTURES) {
        __builtin_trap();
    }
    for (size_t i = 0; i < m.ncaptures; i++) {
        check_view(m.captures[i], q.path);
    }
    const char *svc_path = m.service ? m.service->path : NULL;
    /* the proxy's sizing (src/proxy/head.c) must always be enough */
    size_t cap = q.path.len + (svc_path ? strlen(svc_path) : 0) + query.len + 8;
    char *out = malloc(cap);
    if (out == NULL) {
        return 0;
    }
    long n =
        sl_upstream_uri_build(m.route, svc_path, q.path, m.strip_len, query, has_query, out, cap);
    if (n < 0 || (size_t)n >= cap || out[n] != '\0' || out[0] != '/') {
        __builtin_trap();
    }
    /* and a buffer too small must fail cleanly */
    size_t small = (size_t)n;
    if (small > 0) {
        char *tiny = malloc(small);
        if (tiny != NULL) {
            if (sl_upstream_uri_build(m.route, svc_path, q.path, m.strip_len, query, has_query,
                                      tiny, small) != -1 ||
                tiny[0] != '\0') {
                __builtin_trap();
            }
            free(tiny);
        }
    }
    free(out);
    struct sl_str fp = sl_upstream_forwarded_prefix(m.route, q.path, m.strip_len);
    check_view(fp, q.path);
    return 0;
}
