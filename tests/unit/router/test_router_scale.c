/* SPDX-License-Identifier: Apache-2.0 */
/* A 10k-route configuration: a sample of requests must reach the route built for them, and the
 * indexed match must agree with the linear reference on mixed and random requests. Correctness
 * only; speed is measured by the benchmarks, never asserted here. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "rt_helpers.h"

TestSuite(router_scale, .init = rt_setup, .fini = rt_teardown, .timeout = 120);

#define N 10000

static void
id_of(size_t i, char out[SL_UUID_LEN + 1])
{
    snprintf(out, SL_UUID_LEN + 1, "%08zx-0000-4000-8000-%012zx", i + 1, i + 1);
}

static struct sl_route **
make_routes(size_t *n)
{
    struct sl_route **routes = sl_arena_calloc(rt_arena, N + 1, sizeof(*routes));
    cr_assert_not_null(routes);
    char id[SL_UUID_LEN + 1], a[96], b[96];
    for (size_t i = 0; i < N; i++) {
        id_of(i, id);
        struct sl_route *r = rt_route(id);
        switch (i % 5) {
        case 0: /* plain host + prefix */
            snprintf(a, sizeof(a), "h%zu.example.com", i);
            snprintf(b, sizeof(b), "/svc%zu", i);
            HOSTS(r, a);
            PATHS(r, b);
            break;
        case 1: /* hostless prefix */
            snprintf(a, sizeof(a), "/api/v%zu/items", i);
            PATHS(r, a);
            break;
        case 2: /* hostless regex */
            snprintf(a, sizeof(a), "~/re%zu/(\\d+)$", i);
            PATHS(r, a);
            break;
        case 3: /* wildcard host + short prefix */
            snprintf(a, sizeof(a), "*.w%zu.example.org", i);
            HOSTS(r, a);
            PATHS(r, "/w");
            break;
        default: /* plain host + methods + header */
            snprintf(a, sizeof(a), "h%zu.example.net", i);
            snprintf(b, sizeof(b), "t%zu", i);
            HOSTS(r, a);
            METHODS(r, "GET", "POST");
            rt_header(r, "x-tenant", b, NULL);
            break;
        }
        routes[i] = r;
    }
    routes[N] = rt_route("00000000-0000-4000-8000-000000000000");
    PATHS(routes[N], "/");
    *n = N + 1;
    return routes;
}

struct bufs {
    char host[128];
    char path[128];
    char tenant[32];
    struct sl_header hdr;
};

/* The request made for route <i>, whose views point into <b>. */
static struct sl_router_request
request_for(size_t i, struct bufs *b)
{
    char *host = b->host, *path = b->path;
    struct sl_router_request q = rt_req("GET", "", "/");
    switch (i % 5) {
    case 0:
        snprintf(host, sizeof(b->host), "H%zu.Example.com", i);
        snprintf(path, sizeof(b->path), "/svc%zu/more", i);
        break;
    case 1:
        host[0] = '\0';
        snprintf(path, sizeof(b->path), "/api/v%zu/items/7", i);
        break;
    case 2:
        snprintf(host, sizeof(b->host), "anything.test");
        snprintf(path, sizeof(b->path), "/re%zu/4242", i);
        break;
    case 3:
        snprintf(host, sizeof(b->host), "a.b.w%zu.example.org", i);
        snprintf(path, sizeof(b->path), "/wx");
        break;
    default:
        snprintf(host, sizeof(b->host), "h%zu.example.net", i);
        snprintf(path, sizeof(b->path), "/whatever");
        snprintf(b->tenant, sizeof(b->tenant), "T%zu", i);
        b->hdr.name = SL_STR("X-Tenant");
        b->hdr.value = sl_str_from_cstr(b->tenant);
        q.headers = &b->hdr;
        q.nheaders = 1;
        break;
    }
    q.host = sl_str_from_cstr(host);
    q.path = sl_str_from_cstr(path);
    return q;
}

Test(router_scale, ten_thousand_routes_sample)
{
    size_t n;
    struct sl_route **routes = make_routes(&n);
    struct sl_router *r = rt_build(routes, n);
    cr_assert_eq(r->nsubs, n);

    struct bufs b;
    char want[SL_UUID_LEN + 1];
    for (size_t i = 0; i < N; i += 7) {
        struct sl_router_request q = request_for(i, &b);
        id_of(i, want);
        assert_route(rt_match(r, &q), want);
        struct sl_router_match m;
        sl_router_match(r, &q, &m);
        if (i % 5 == 2) {
            cr_assert_eq(m.ncaptures, 2);
            cr_assert(sl_str_eq(m.captures[1], SL_STR("4242")));
        }
    }

    /* near misses fall through to the catch-all */
    const char *catch_all = "00000000-0000-4000-8000-000000000000";
    assert_route(rt_match3(r, "GET", "h5.example.com", "/svc6"), catch_all);
    assert_route(rt_match3(r, "GET", "h5.example.com", "/svc5x"), routes[5]->id);
    assert_route(rt_match3(r, "GET", "", "/api/v11/item"), catch_all);
    assert_route(rt_match3(r, "GET", "", "/re12/42x"), catch_all);
    assert_route(rt_match3(r, "GET", "w13.example.org", "/w"), catch_all);
    assert_route(rt_match3(r, "DELETE", "h14.example.net", "/"), catch_all);
    struct sl_router_request q = request_for(14, &b);
    q.method = SL_STR("PUT");
    assert_route(rt_match(r, &q), catch_all);
}

/* A tiny deterministic generator, so that a failure replays. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

Test(router_scale, index_agrees_with_linear_scan)
{
    size_t n;
    struct sl_route **routes = make_routes(&n);
    /* overlapping extras, so that several lists compete for one request */
    struct sl_route *x1 = rt_route("ffffffff-0000-4000-8000-000000000001");
    HOSTS(x1, "h0.example.com", "*.example.com");
    PATHS(x1, "/svc", "~/api/v\\d+");
    struct sl_route *x2 = rt_route("ffffffff-0000-4000-8000-000000000002");
    PATHS(x2, "~/(re|api)");
    x2->regex_priority = 3;
    struct sl_route *x3 = rt_route("ffffffff-0000-4000-8000-000000000003");
    HOSTS(x3, "h10.example.com:8080");
    struct sl_route *x4 = rt_route("ffffffff-0000-4000-8000-000000000004");
    HOSTS(x4, "h1.*", "other.*:8080", "h2.example.net");
    struct sl_route *x5 = rt_route("ffffffff-0000-4000-8000-000000000005");
    HOSTS(x5, "*");
    PATHS(x5, "/api/v1");
    struct sl_route **all = sl_arena_calloc(rt_arena, n + 5, sizeof(*all));
    memcpy(all, routes, n * sizeof(*all));
    all[n] = x1;
    all[n + 1] = x2;
    all[n + 2] = x3;
    all[n + 3] = x4;
    all[n + 4] = x5;
    struct sl_router *r = rt_build(all, n + 5);
    /* every wildcard host with a dot next to its '*' is indexed, "*" alone is not */
    cr_assert_not_null(r->hosts[RT_HOST_SUFFIX].slots);
    cr_assert_not_null(r->hosts[RT_HOST_PREFIX].slots);
    cr_assert_lt(r->ngeneric, 4);

    char host[128], path[128];
    for (int k = 0; k < 3000; k++) {
        size_t i = (size_t)(rng() % (N + 5));
        switch (rng() % 8) {
        case 0:
            snprintf(path, sizeof(path), "/svc%zu", i);
            break;
        case 1:
            snprintf(path, sizeof(path), "/svc%zu/x", i);
            break;
        case 2:
            snprintf(path, sizeof(path), "/api/v%zu/items", i);
            break;
        case 3:
            snprintf(path, sizeof(path), "/re%zu/1", i);
            break;
        case 4:
            snprintf(path, sizeof(path), "/w");
            break;
        case 5:
            snprintf(path, sizeof(path), "/");
            break;
        case 6:
            snprintf(path, sizeof(path), "/svc");
            break;
        default:
            snprintf(path, sizeof(path), "/api/v%zu", i);
            break;
        }
        switch (rng() % 6) {
        case 0:
            snprintf(host, sizeof(host), "h%zu.example.com", i);
            break;
        case 1:
            snprintf(host, sizeof(host), "h%zu.example.net", i);
            break;
        case 2:
            snprintf(host, sizeof(host), "x.w%zu.example.org", i);
            break;
        case 3:
            host[0] = '\0';
            break;
        case 4:
            snprintf(host, sizeof(host), "H%zu.EXAMPLE.COM.", i);
            break;
        default:
            if (rng() & 1) {
                snprintf(host, sizeof(host), "other.x%zu", i % 7);
            } else {
                snprintf(host, sizeof(host), "h%zu.x.y", i % 3);
            }
            break;
        }
        struct sl_router_request q = rt_req((rng() & 1) ? "GET" : "DELETE", host, path);
        q.port = (rng() & 1) ? 8080 : 80;
        struct sl_header h = {SL_STR("x-tenant"), SL_STR("t4")};
        if (rng() & 1) {
            q.headers = &h;
            q.nheaders = 1;
        }
        (void)rt_match(r, &q); /* asserts index == linear */
    }
}
