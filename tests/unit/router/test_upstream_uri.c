/* SPDX-License-Identifier: Apache-2.0 */
/* strip_path / path_handling (kong.md §3.3): Kong's spec/fixtures/router_path_handling_tests.lua
 * rows, run through the router (prefix and regex forms) and sl_upstream_uri_build; the query string
 * and X-Forwarded-Prefix (kong.md §3.4). */
#include <criterion/criterion.h>

#include "router/upstream_uri.h"
#include "rt_helpers.h"

TestSuite(upstream_uri, .init = rt_setup, .fini = rt_teardown);

enum { OFF = 1, ON = 2, BOTH = 3 };

struct row {
    const char *service_path;
    const char *route_path; /* NULL: the route matches on its host only */
    int strip;
    const char *request;
    const char *expected;
};

/* path_handling v0 (Kong's current fixture, which only has v0 left). */
static const struct row v0_rows[] = {
    {"/", "/", BOTH, "/", "/"},
    {"/", "/", BOTH, "/route", "/route"},
    {"/", "/", BOTH, "/route/", "/route/"},
    {"/", "/", BOTH, "/routereq", "/routereq"},
    {"/", "/", BOTH, "/route/req", "/route/req"},
    {"/", "/route", OFF, "/route", "/route"},
    {"/", "/route", OFF, "/route/", "/route/"},
    {"/", "/route", OFF, "/routereq", "/routereq"},
    {"/", "/route", ON, "/route", "/"},
    {"/", "/route", ON, "/route/", "/"},
    {"/", "/route", ON, "/routereq", "/req"},
    {"/", "/route/", OFF, "/route/", "/route/"},
    {"/", "/route/", OFF, "/route/req", "/route/req"},
    {"/", "/route/", ON, "/route/", "/"},
    {"/", "/route/", ON, "/route/req", "/req"},
    {"/srv", "/rou", OFF, "/roureq", "/srv/roureq"},
    {"/srv", "/rou", ON, "/roureq", "/srv/req"},
    {"/srv/", "/rou", OFF, "/rou", "/srv/rou"},
    {"/srv/", "/rou", ON, "/rou", "/srv"},
    {"/service", "/", BOTH, "/", "/service"},
    {"/service", "/", BOTH, "/route", "/service/route"},
    {"/service", "/", BOTH, "/route/", "/service/route/"},
    {"/service", "/", BOTH, "/routereq", "/service/routereq"},
    {"/service", "/", BOTH, "/route/req", "/service/route/req"},
    {"/service", "/route", OFF, "/route", "/service/route"},
    {"/service", "/route", OFF, "/route/", "/service/route/"},
    {"/service", "/route", OFF, "/routereq", "/service/routereq"},
    {"/service", "/route", ON, "/route", "/service"},
    {"/service", "/route", ON, "/route/", "/service/"},
    {"/service", "/route", ON, "/routereq", "/service/req"},
    {"/service", "/route/", OFF, "/route/", "/service/route/"},
    {"/service", "/route/", OFF, "/route/req", "/service/route/req"},
    {"/service", "/route/", ON, "/route/", "/service/"},
    {"/service", "/route/", ON, "/route/req", "/service/req"},
    {"/service/", "/", BOTH, "/route/", "/service/route/"},
    {"/service/", "/", BOTH, "/", "/service/"},
    {"/service/", "/", BOTH, "/route", "/service/route"},
    {"/service/", "/", BOTH, "/routereq", "/service/routereq"},
    {"/service/", "/", BOTH, "/route/req", "/service/route/req"},
    {"/service/", "/route", OFF, "/route", "/service/route"},
    {"/service/", "/route", OFF, "/route/", "/service/route/"},
    {"/service/", "/route", OFF, "/routereq", "/service/routereq"},
    {"/service/", "/route", ON, "/route", "/service"},
    {"/service/", "/route", ON, "/route/", "/service/"},
    {"/service/", "/route", ON, "/routereq", "/service/req"},
    {"/service/", "/route/", OFF, "/route/", "/service/route/"},
    {"/service/", "/route/", OFF, "/route/req", "/service/route/req"},
    {"/service/", "/route/", ON, "/route/", "/service/"},
    {"/service/", "/route/", ON, "/route/req", "/service/req"},
    {"/", NULL, BOTH, "/", "/"},
    {"/", NULL, BOTH, "/route", "/route"},
    {"/", NULL, BOTH, "/route/", "/route/"},
    {"/service", NULL, BOTH, "/", "/service"},
    {"/service", NULL, BOTH, "/route", "/service/route"},
    {"/service", NULL, BOTH, "/route/", "/service/route/"},
    {"/service/", NULL, BOTH, "/", "/service/"},
    {"/service/", NULL, BOTH, "/route", "/service/route"},
    {"/service/", NULL, BOTH, "/route/", "/service/route/"},
    /* kong.md §3.3; NULL service path = Kong's "/" */
    {"/s", "/fv0", ON, "/fv0/req", "/s/req"},
    {"/s", "/fv0", ON, "/fv0req", "/s/req"},
    {"/s/", "/fv0", ON, "/fv0/req", "/s/req"},
    {"/s", "/fv0", ON, "/fv0", "/s"},
    {"/s", "/fv0/", ON, "/fv0/", "/s/"},
    {"/s", "/fv0", OFF, "/fv0/req", "/s/fv0/req"},
    {"/s/", "/fv0", OFF, "/fv0/req", "/s/fv0/req"},
    {NULL, "/fv0", ON, "/fv0/req", "/req"},
    {NULL, "/fv0", OFF, "/fv0/req", "/fv0/req"},
};

/* Builds a one-route router for <row>, matches <row->request> and joins. <regex>: the route path
 * is turned into "~/[0]?<rest>", a regex that consumes exactly what the prefix would. */
static void
run_row(const struct row *row, size_t i, bool strip, enum sl_path_handling ph, bool regex)
{
    char id[SL_UUID_LEN + 1];
    snprintf(id, sizeof(id), "e8fb37f1-102d-461e-9c51-6608a6%06zu", i);
    struct sl_route *rt = rt_route(id);
    rt->strip_path = strip;
    rt->path_handling = ph;
    HOSTS(rt, "localbin.com");
    if (row->route_path != NULL) {
        if (regex) {
            char re[64];
            snprintf(re, sizeof(re), "~/[0]?%s", row->route_path + 1);
            PATHS(rt, re);
        } else {
            PATHS(rt, row->route_path);
        }
    }
    struct sl_route *routes[] = {rt};
    struct sl_router *r = rt_build(routes, 1);
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "localbin.com", row->request);
    cr_assert_not_null(rt_match_full(r, &q, &m), "row %zu: no match", i);
    char out[256];
    long n = sl_upstream_uri_build(rt, row->service_path, q.path, m.strip_len, SL_STR_NULL, false,
                                   out, sizeof(out));
    cr_assert_geq(n, 0);
    cr_assert_str_eq(out, row->expected,
                     "row %zu (%s): service %s, route %s%s, strip %d, request %s: got %s", i,
                     ph == SL_PATH_HANDLING_V1 ? "v1" : "v0",
                     row->service_path ? row->service_path : "(none)", regex ? "regex of " : "",
                     row->route_path ? row->route_path : "(host)", strip, row->request, out);
    cr_assert_eq((size_t)n, strlen(out));
}

static void
run_table(const struct row *rows, size_t n, enum sl_path_handling ph)
{
    for (size_t i = 0; i < n; i++) {
        for (int s = 0; s < 2; s++) {
            if (!(rows[i].strip & (s ? ON : OFF))) {
                continue;
            }
            run_row(&rows[i], i, s, ph, false);
            if (rows[i].route_path != NULL) {
                run_row(&rows[i], i, s, ph, true);
            }
        }
    }
}

Test(upstream_uri, strip_path_table_v0)
{
    run_table(v0_rows, sizeof(v0_rows) / sizeof(v0_rows[0]), SL_PATH_HANDLING_V0);
}

Test(upstream_uri, v1_routes_are_joined_as_v0)
{
    /* Kong's traditional_compatible flavour (Sluice's router) joins v1 routes as v0: atc.lua
     * calls get_upstream_uri_v0 for every route, and the schema warns that v1 "will not work". */
    run_table(v0_rows, sizeof(v0_rows) / sizeof(v0_rows[0]), SL_PATH_HANDLING_V1);
}

static const char *
build(const struct sl_route *rt, const char *svc, const char *path, size_t strip_len,
      const char *query, bool has_query)
{
    static char out[256];
    long n = sl_upstream_uri_build(rt, svc, sl_str_from_cstr(path), strip_len,
                                   sl_str_from_cstr(query), has_query, out, sizeof(out));
    cr_assert_geq(n, 0);
    cr_assert_eq((size_t)n, strlen(out));
    return out;
}

Test(upstream_uri, query_string_is_preserved)
{
    struct sl_route *rt = rt_route(ID("01"));
    cr_assert_str_eq(build(rt, "/s", "/fv0/req", 4, "a=1&b=%20x", true), "/s/req?a=1&b=%20x");
    cr_assert_str_eq(build(rt, "/s", "/fv0/req", 4, "", true), "/s/req?");
    cr_assert_str_eq(build(rt, "/s", "/fv0/req", 4, NULL, true), "/s/req?");
    cr_assert_str_eq(build(rt, "/s", "/fv0/req", 4, "ignored", false), "/s/req");
    cr_assert_str_eq(build(rt, NULL, "/", 1, "x", true), "/?x");
    rt->strip_path = false;
    cr_assert_str_eq(build(rt, NULL, "/fv0/req", 4, "q=??", true), "/fv0/req?q=??");
}

Test(upstream_uri, dot_segments_at_the_start_of_the_postfix_are_dropped)
{
    struct sl_route *rt = rt_route(ID("01"));
    cr_assert_str_eq(build(rt, "/s", "/fv0./x", 4, NULL, false), "/s/x");
    cr_assert_str_eq(build(rt, "/s", "/fv0../x", 4, NULL, false), "/s/x");
    cr_assert_str_eq(build(rt, "/s", "/fv0.", 4, NULL, false), "/s");
    cr_assert_str_eq(build(rt, "/s", "/fv0..", 4, NULL, false), "/s");
    cr_assert_str_eq(build(rt, "/s", "/fv0.../x", 4, NULL, false), "/s/.../x");
    cr_assert_str_eq(build(rt, "/s", "/fv0.x", 4, NULL, false), "/s/.x");
    rt->path_handling = SL_PATH_HANDLING_V1;
    cr_assert_str_eq(build(rt, "/s", "/fv0../x", 4, NULL, false), "/s/x"); /* v0's, not "/sx" */
}

Test(upstream_uri, output_is_bounded)
{
    struct sl_route *rt = rt_route(ID("01"));
    char out[8];
    memset(out, 'X', sizeof(out));
    long n = sl_upstream_uri_build(rt, "/service", SL_STR("/r/abc"), 2, SL_STR_NULL, false, out,
                                   sizeof(out));
    cr_assert_eq(n, -1);
    cr_assert_eq(out[0], '\0');
    /* "/service/abc" is 12 bytes: 13 fit exactly */
    char out2[13];
    n = sl_upstream_uri_build(rt, "/service", SL_STR("/r/abc"), 2, SL_STR_NULL, false, out2,
                              sizeof(out2));
    cr_assert_eq(n, 12);
    cr_assert_str_eq(out2, "/service/abc");
    char out3[16];
    n = sl_upstream_uri_build(rt, "/service", SL_STR("/r/abc"), 2, SL_STR("abcd"), true, out3,
                              sizeof(out3));
    cr_assert_eq(n, -1, "the query does not fit");
    cr_assert_eq(sl_upstream_uri_build(rt, "/", SL_STR("/"), 1, SL_STR_NULL, false, out, 0), -1);
    /* a strip_len past the path is clamped */
    cr_assert_str_eq(build(rt, "/s", "/ab", 99, NULL, false), "/s");
}

Test(upstream_uri, forwarded_prefix)
{
    struct sl_route *rt = rt_route(ID("01"));
    struct sl_str p = SL_STR("/foo/bar");
    struct sl_str fp = sl_upstream_forwarded_prefix(rt, p, 4);
    cr_assert(sl_str_eq(fp, SL_STR("/foo")));
    cr_assert_eq(sl_upstream_forwarded_prefix(rt, p, 1).len, 0, "only \"/\" stripped");
    cr_assert_eq(sl_upstream_forwarded_prefix(rt, p, 0).len, 0, "no path matched");
    fp = sl_upstream_forwarded_prefix(rt, p, 8);
    cr_assert(sl_str_eq(fp, SL_STR("/foo/bar")));
    rt->strip_path = false;
    cr_assert_eq(sl_upstream_forwarded_prefix(rt, p, 4).len, 0, "nothing stripped");
}

Test(upstream_uri, forwarded_prefix_of_a_regex_is_the_matched_text)
{
    struct sl_route *rt = rt_route(ID("01"));
    PATHS(rt, "~/users/\\d+/profile");
    struct sl_route *routes[] = {rt};
    struct sl_router *r = rt_build(routes, 1);
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "", "/users/123/profile/hello/world");
    rt_match_full(r, &q, &m);
    struct sl_str fp = sl_upstream_forwarded_prefix(rt, q.path, m.strip_len);
    cr_assert(sl_str_eq(fp, SL_STR("/users/123/profile")));
    cr_assert_str_eq(build(rt, NULL, "/users/123/profile/hello/world", m.strip_len, NULL, false),
                     "/hello/world");
}
