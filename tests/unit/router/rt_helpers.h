/* SPDX-License-Identifier: Apache-2.0 */
/* Builders shared by the router tests: routes are made directly as struct sl_route in an arena, the
 * way the declarative loader will, and every match is checked against the index-free reference. */
#ifndef SL_TEST_RT_HELPERS_H
#define SL_TEST_RT_HELPERS_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "router/router.h"
#include "router/router_int.h"

static struct sl_arena *rt_arena;

static inline void
rt_setup(void)
{
    rt_arena = sl_arena_create(0);
    cr_assert_not_null(rt_arena);
}

static inline void
rt_teardown(void)
{
    sl_arena_destroy(rt_arena);
    rt_arena = NULL;
}

/* A route with Kong's defaults: protocols http+https, strip_path true, path_handling v0. */
static inline struct sl_route *
rt_route(const char *id)
{
    struct sl_route *r = sl_arena_calloc(rt_arena, 1, sizeof(*r));
    cr_assert_not_null(r);
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->protocols = SL_PROTO_BIT(SL_PROTO_HTTP) | SL_PROTO_BIT(SL_PROTO_HTTPS);
    r->strip_path = true;
    r->https_redirect_status_code = 426;
    return r;
}

static inline struct sl_strv
rt_strv_va(const char *first, va_list ap)
{
    const char *tmp[256];
    size_t n = 0;
    for (const char *s = first; s != NULL && n < 256; s = va_arg(ap, const char *)) {
        tmp[n++] = s;
    }
    const char **v = sl_arena_calloc(rt_arena, n ? n : 1, sizeof(*v));
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = sl_arena_strdup(rt_arena, tmp[i]);
    }
    return (struct sl_strv){v, n};
}

static inline struct sl_strv
rt_strv(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    struct sl_strv v = rt_strv_va(first, ap);
    va_end(ap);
    return v;
}

#define HOSTS(r, ...) ((r)->hosts = rt_strv(__VA_ARGS__, NULL))
#define PATHS(r, ...) ((r)->paths = rt_strv(__VA_ARGS__, NULL))
#define METHODS(r, ...) ((r)->methods = rt_strv(__VA_ARGS__, NULL))
#define SNIS(r, ...) ((r)->snis = rt_strv(__VA_ARGS__, NULL))

/* Adds header <name> with the NULL-terminated values to <r>. */
static inline void
rt_header(struct sl_route *r, const char *name, ...)
{
    struct sl_route_header *h = sl_arena_calloc(rt_arena, r->nheaders + 1, sizeof(*h));
    cr_assert_not_null(h);
    if (r->nheaders > 0) {
        memcpy(h, r->headers, r->nheaders * sizeof(*h));
    }
    va_list ap;
    va_start(ap, name);
    const char *first = va_arg(ap, const char *);
    h[r->nheaders].name = sl_arena_strdup(rt_arena, name);
    h[r->nheaders].values = rt_strv_va(first, ap);
    va_end(ap);
    r->headers = h;
    r->nheaders++;
}

static inline struct sl_router *
rt_build(struct sl_route **routes, size_t n)
{
    char err[512];
    struct sl_router *r = sl_router_build(routes, n, rt_arena, err, sizeof(err));
    cr_assert_not_null(r, "build failed: %s", err);
    return r;
}

static inline struct sl_router_request
rt_req(const char *method, const char *host, const char *path)
{
    return (struct sl_router_request){
        .method = sl_str_from_cstr(method),
        .host = sl_str_from_cstr(host),
        .port = 80,
        .path = sl_str_from_cstr(path),
        .scheme = SL_PROTO_HTTP,
    };
}

/* Matches through the index and through the linear reference; they must agree. Returns the id of
 * the matching route, or NULL. */
static inline const char *
rt_match_full(const struct sl_router *r, const struct sl_router_request *q,
              struct sl_router_match *m)
{
    struct sl_router_match lm;
    bool ok = sl_router_match(r, q, m);
    bool lok = sl_router_match_linear(r, q, &lm);
    cr_assert_eq(ok, lok, "index and linear scan disagree on whether %.*s %.*s matches",
                 (int)q->host.len, q->host.p, (int)q->path.len, q->path.p);
    if (!ok) {
        return NULL;
    }
    cr_assert_eq(m->route, lm.route, "index chose %s, linear scan %s", m->route->id, lm.route->id);
    cr_assert_eq(m->strip_len, lm.strip_len);
    return m->route->id;
}

static inline const char *
rt_match(const struct sl_router *r, const struct sl_router_request *q)
{
    struct sl_router_match m;
    return rt_match_full(r, q, &m);
}

static inline const char *
rt_match3(const struct sl_router *r, const char *method, const char *host, const char *path)
{
    struct sl_router_request q = rt_req(method, host, path);
    return rt_match(r, &q);
}

#define ID(n) "e8fb37f1-102d-461e-9c51-6608a6bb81" n

#define assert_route(got, want)                                                                    \
    do {                                                                                           \
        const char *g_ = (got);                                                                    \
        const char *w_ = (want);                                                                   \
        if (w_ == NULL) {                                                                          \
            cr_assert_null(g_, "expected no match, got %s", g_);                                   \
        } else {                                                                                   \
            cr_assert_not_null(g_, "expected %s, got no match", w_);                               \
            cr_assert_str_eq(g_, w_);                                                              \
        }                                                                                          \
    } while (0)

#endif
