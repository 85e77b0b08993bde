/* SPDX-License-Identifier: Apache-2.0 */
/* Router semantics and priorities (kong.md §3.1-3.2), mostly the cases of Kong's
 * spec/01-unit/08-router_spec.lua for the traditional_compatible flavour. */
#include <criterion/criterion.h>

#include "rt_helpers.h"

TestSuite(router, .init = rt_setup, .fini = rt_teardown);

/* ---- priority encoding ---------------------------------------------------------------------- */

Test(router, priority_bits_match_kong_layout)
{
    struct sl_route *a = rt_route(ID("01"));
    METHODS(a, "GET");
    HOSTS(a, "example.com");
    rt_header(a, "x-a", "1", NULL);
    rt_header(a, "x-b", "2", NULL);
    PATHS(a, "/abc");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/x");
    b->regex_priority = 5;
    struct sl_route *c = rt_route(ID("03"));
    HOSTS(c, "a.com", "b.com:8080");
    PATHS(c, "~/y");
    c->regex_priority = -3;
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    cr_assert_eq(r->nsubs, 3);
    /* weight 4 | plain hosts | 2 headers | prefix length 4 */
    cr_assert_eq(r->subs[0].priority, 0x9020000000000004ull);
    cr_assert_eq(r->subs[0].route, a);
    /* weight 2 | plain hosts (a port does not make a host a wildcard) | regex | priority -3 */
    cr_assert_eq(r->subs[1].priority, 0x500bffffffe80000ull);
    /* weight 1 | regex | regex_priority 5 (stored biased by 2^31, same order as Kong's) */
    cr_assert_eq(r->subs[2].priority, 0x200c000000280000ull);
}

Test(router, wildcard_host_does_not_get_plain_hosts_bit)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "plain.com", "*.wild.com");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    cr_assert_eq(r->subs[0].priority, 1ull << 61);
}

/* ---- the priority table ------------------------------------------------------------------- */

Test(router, host_and_path_beat_path_only)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/my-route");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "/my");
    HOSTS(b, "example.com");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "example.com", "/my-route"), ID("02"));
    assert_route(rt_match3(r, "GET", "other.com", "/my-route"), ID("01"));
}

Test(router, longer_prefix_beats_shorter)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/my-route/hello");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "/my-route");
    struct sl_route *routes[] = {b, a};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/hello"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/hello/world"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/world"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-routes"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-rout"), NULL);
}

Test(router, prefix_is_anchored)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/something/my-route");
    struct sl_route *b = rt_route(ID("02"));
    HOSTS(b, "example.com");
    PATHS(b, "/my-route");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "example.com", "/something/my-route"), ID("01"));
    assert_route(rt_match3(r, "GET", "x.com", "/some-other-prefix/my-route"), NULL);
}

Test(router, higher_regex_priority_wins)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/users/\\d+");
    a->regex_priority = 1;
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/users/.*");
    b->regex_priority = 10;
    struct sl_route *c = rt_route(ID("03"));
    PATHS(c, "~/");
    c->regex_priority = -1;
    struct sl_route *d = rt_route(ID("04"));
    PATHS(d, "~/.*");
    struct sl_route *routes[] = {a, b, c, d};
    struct sl_router *r = rt_build(routes, 4);
    assert_route(rt_match3(r, "GET", "", "/users/12"), ID("02"));
    /* a negative regex_priority ranks below 0, so the catch-all with 0 wins */
    assert_route(rt_match3(r, "GET", "", "/other"), ID("04"));
}

Test(router, plain_host_beats_wildcard_host)
{
    struct sl_route *a = rt_route(ID("09"));
    HOSTS(a, "*.route.com");
    struct sl_route *b = rt_route(ID("01"));
    HOSTS(b, "plain.route.com");
    struct sl_route *c = rt_route(ID("05"));
    HOSTS(c, "route.*");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(rt_match3(r, "GET", "plain.route.com", "/"), ID("01"));
    assert_route(rt_match3(r, "GET", "foo.route.com", "/"), ID("09"));
    assert_route(rt_match3(r, "GET", "route.org", "/"), ID("05"));
}

Test(router, more_headers_beat_fewer)
{
    struct sl_route *a = rt_route(ID("01"));
    rt_header(a, "version", "v1", "v2", NULL);
    rt_header(a, "user_agent", "foo", "bar", NULL);
    struct sl_route *b = rt_route(ID("02"));
    rt_header(b, "version", "v1", "v2", NULL);
    rt_header(b, "user_agent", "foo", "bar", NULL);
    rt_header(b, "location", "east", "west", NULL);
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_header hs[] = {
        {SL_STR("Version"), SL_STR("v1")},
        {SL_STR("User-Agent"), SL_STR("foo")},
        {SL_STR("Location"), SL_STR("north")},
        {SL_STR("Location"), SL_STR("west")},
    };
    struct sl_router_request q = rt_req("GET", "", "/");
    q.headers = hs;
    q.nheaders = 4;
    assert_route(rt_match(r, &q), ID("02"));
    q.nheaders = 3; /* no "west": only the two-header route is left */
    assert_route(rt_match(r, &q), ID("01"));
}

Test(router, more_headers_beat_longer_paths)
{
    struct sl_route *a = rt_route(ID("01"));
    rt_header(a, "version", "v1", NULL);
    PATHS(a, "/my-route/hello");
    struct sl_route *b = rt_route(ID("02"));
    rt_header(b, "version", "v1", NULL);
    rt_header(b, "location", "us-east", NULL);
    PATHS(b, "/my-route");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_header hs[] = {{SL_STR("version"), SL_STR("v1")},
                             {SL_STR("location"), SL_STR("us-east")}};
    struct sl_router_request q = rt_req("GET", "domain.org", "/my-route/hello");
    q.headers = hs;
    q.nheaders = 2;
    assert_route(rt_match(r, &q), ID("02"));
}

Test(router, regex_beats_prefix_of_same_weight)
{
    /* bit 51 (regex) is above every prefix length */
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/route/fixture");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/route/(fixture)");
    struct sl_route *c = rt_route(ID("03"));
    HOSTS(c, "route.com");
    PATHS(c, "/route");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(rt_match3(r, "GET", "domain.org", "/route/fixture"), ID("02"));
    /* ... but never above a route with more fields */
    assert_route(rt_match3(r, "GET", "route.com", "/route/fixture"), ID("03"));
}

Test(router, regex_host_route_beats_prefix_host_route)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "route.com");
    PATHS(a, "/pat");
    struct sl_route *b = rt_route(ID("02"));
    HOSTS(b, "route.com");
    PATHS(b, "/path");
    METHODS(b, "POST");
    struct sl_route *c = rt_route(ID("03"));
    HOSTS(c, "route.com");
    PATHS(c, "~/(path)");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(rt_match3(r, "GET", "route.com", "/path"), ID("03"));
    assert_route(rt_match3(r, "POST", "route.com", "/path"), ID("02"));
}

Test(router, equal_priority_goes_to_the_greater_uuid)
{
    struct sl_route *a = rt_route("00000000-0000-4000-8000-00000000000a");
    PATHS(a, "/same");
    struct sl_route *b = rt_route("ffffffff-0000-4000-8000-000000000001");
    PATHS(b, "/same");
    struct sl_route *c = rt_route("7fffffff-0000-4000-8000-000000000001");
    PATHS(c, "/same");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(rt_match3(r, "GET", "", "/same"), "ffffffff-0000-4000-8000-000000000001");
    struct sl_route *routes2[] = {a, c};
    r = rt_build(routes2, 2);
    assert_route(rt_match3(r, "GET", "", "/same"), "7fffffff-0000-4000-8000-000000000001");
}

Test(router, method_does_not_supersede_path_or_host)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "domain-1.org", "domain-2.org");
    struct sl_route *b = rt_route(ID("02"));
    METHODS(b, "TRACE");
    struct sl_route *c = rt_route(ID("03"));
    PATHS(c, "/my-route");
    struct sl_route *d = rt_route(ID("04"));
    HOSTS(d, "domain.*");
    struct sl_route *routes[] = {a, b, c, d};
    struct sl_router *r = rt_build(routes, 4);
    assert_route(rt_match3(r, "TRACE", "domain-2.org", "/"), ID("01"));
    assert_route(rt_match3(r, "TRACE", "x.org", "/my-route"), ID("03"));
    assert_route(rt_match3(r, "TRACE", "nothing.com", "/"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.com", "/"), ID("04"));
    assert_route(rt_match3(r, "GET", "nothing.com", "/"), NULL);
}

/* ---- hosts ----------------------------------------------------------------------------------- */

Test(router, wildcards_leading_and_trailing)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "*.example.com");
    struct sl_route *b = rt_route(ID("02"));
    HOSTS(b, "example.*");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "foo.example.com", "/"), ID("01"));
    assert_route(rt_match3(r, "GET", "a.b.c.example.com", "/"), ID("01"));
    assert_route(rt_match3(r, "GET", "FOO.Example.COM", "/"), ID("01"));
    assert_route(rt_match3(r, "GET", "example.org", "/"), ID("02"));
    assert_route(rt_match3(r, "GET", "example.co.uk", "/"), ID("02"));
    /* "*.example.com" needs a label in front; "example.com" is only caught by "example.*" */
    assert_route(rt_match3(r, "GET", "example.com", "/"), ID("02"));
    assert_route(rt_match3(r, "GET", "notexample.com", "/"), NULL);
    assert_route(rt_match3(r, "GET", "fooexample.com", "/"), NULL);
}

Test(router, wildcard_with_port)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "*.route.com");
    struct sl_route *b = rt_route(ID("02"));
    HOSTS(b, "route.*");
    struct sl_route *c = rt_route(ID("03"));
    HOSTS(c, "*.route.net:123");
    struct sl_route *d = rt_route(ID("04"));
    HOSTS(d, "route.*:123");
    struct sl_route *routes[] = {a, b, c, d};
    struct sl_router *r = rt_build(routes, 4);
    struct sl_router_request q = rt_req("GET", "route.org", "/");
    q.port = 123;
    assert_route(rt_match(r, &q), ID("04")); /* port-specific first: uuid 04 > 02 at equal weight */
    q.port = 8000;
    assert_route(rt_match(r, &q), ID("02"));
    q.host = SL_STR("foo.route.net");
    q.port = 123;
    assert_route(rt_match(r, &q), ID("03"));
    q.port = 456;
    assert_route(rt_match(r, &q), NULL);
    q.host = SL_STR("foo.route.com");
    assert_route(rt_match(r, &q), ID("01"));
}

Test(router, host_port_must_match_when_the_route_names_one)
{
    struct sl_route *r1 = rt_route(ID("01"));
    HOSTS(r1, "domain-1.org", "domain-2.org");
    struct sl_route *r13 = rt_route(ID("13"));
    HOSTS(r13, "domain-1.org:321", "domain-2.org");
    struct sl_route *r14 = rt_route(ID("14"));
    HOSTS(r14, "domain-3.org:321");
    struct sl_route *routes[] = {r1, r13, r14};
    struct sl_router *r = rt_build(routes, 3);
    struct sl_router_request q = rt_req("GET", "domain-1.org", "/");
    q.port = 321;
    assert_route(rt_match(r, &q), ID("13"));
    q.port = 80; /* "ignores default port": only the no-port route takes it */
    assert_route(rt_match(r, &q), ID("01"));
    q.host = SL_STR("domain-2.org"); /* both match, same priority: uuid ...13 > ...01 */
    assert_route(rt_match(r, &q), ID("13"));
    q.host = SL_STR("domain-3.org");
    q.port = 321;
    assert_route(rt_match(r, &q), ID("14"));
    q.port = 123;
    assert_route(rt_match(r, &q), NULL);
}

Test(router, host_port_only_route_is_not_any_port)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "domain-1.org:321");
    struct sl_route *b = rt_route(ID("00"));
    HOSTS(b, "domain-1.org");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_router_request q = rt_req("GET", "domain-1.org", "/");
    q.port = 321;
    assert_route(rt_match(r, &q), ID("01"));
    q.port = 8000;
    assert_route(rt_match(r, &q), ID("00"));
}

Test(router, host_is_case_insensitive_and_ignores_a_trailing_dot)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "Example.COM");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    assert_route(rt_match3(r, "GET", "example.com", "/"), ID("01"));
    assert_route(rt_match3(r, "GET", "EXAMPLE.com.", "/"), ID("01"));
    assert_route(rt_match3(r, "GET", "example.com..", "/"), NULL);
    assert_route(rt_match3(r, "GET", "example.co", "/"), NULL);
}

Test(router, request_without_host_matches_only_hostless_routes)
{
    struct sl_route *a = rt_route(ID("09"));
    HOSTS(a, "*");
    PATHS(a, "/my-route-uri");
    struct sl_route *b = rt_route(ID("03"));
    PATHS(b, "/my-route");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "", "/my-route-uri"), ID("03"));
    assert_route(rt_match3(r, "GET", "any.thing", "/my-route-uri"), ID("09"));
}

/* ---- paths ----------------------------------------------------------------------------------- */

Test(router, regex_captures_named_and_numbered)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/users/(?P<user_id>\\d+)/profile/?(?P<scope>[a-z]*)");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "domain.org", "/users/1984/profile");
    assert_route(rt_match_full(r, &q, &m), ID("01"));
    cr_assert(m.regex);
    cr_assert_eq(m.ncaptures, 3);
    cr_assert(sl_str_eq(m.captures[0], SL_STR("/users/1984/profile")));
    cr_assert(sl_str_eq(m.captures[1], SL_STR("1984")));
    cr_assert_str_eq(m.capture_names[1], "user_id");
    cr_assert_eq(m.captures[2].len, 0);
    cr_assert_not_null(m.captures[2].p, "an empty match is not an unset group");
    cr_assert_str_eq(m.capture_names[2], "scope");
    cr_assert_null(m.capture_names[0]);
    cr_assert_eq(m.strip_len, strlen("/users/1984/profile"));
    cr_assert(
        sl_str_eq(m.matched_path, SL_STR("/users/(?P<user_id>\\d+)/profile/?(?P<scope>[a-z]*)")));

    q = rt_req("GET", "domain.org", "/users/1984/profile/email/more");
    assert_route(rt_match_full(r, &q, &m), ID("01"));
    cr_assert(sl_str_eq(m.captures[2], SL_STR("email")));
    cr_assert_eq(m.strip_len, strlen("/users/1984/profile/email"));

    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/a(?<pcre_style>b)?(c)?");
    struct sl_route *routes2[] = {b};
    r = rt_build(routes2, 1);
    q = rt_req("GET", "", "/ac");
    assert_route(rt_match_full(r, &q, &m), ID("02"));
    cr_assert_eq(m.ncaptures, 3);
    cr_assert_null(m.captures[1].p, "group 1 did not take part");
    cr_assert_str_eq(m.capture_names[1], "pcre_style");
    cr_assert(sl_str_eq(m.captures[2], SL_STR("c")));
    cr_assert_null(m.capture_names[2]);
}

Test(router, regex_is_anchored_at_the_start_only)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/prefix/[0-9]+");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    assert_route(rt_match3(r, "GET", "domain.org", "/prefix/123"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain.org", "/prefix/123/more/x"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain.org", "/extra/prefix/123"), NULL);
}

Test(router, regex_without_groups_and_prefix_match_details)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/users/\\d+/profile");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "/hello");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "", "/users/123/profile/hello/world");
    assert_route(rt_match_full(r, &q, &m), ID("01"));
    cr_assert_eq(m.ncaptures, 1);
    cr_assert_eq(m.strip_len, strlen("/users/123/profile"));
    q = rt_req("GET", "", "/hello/world");
    assert_route(rt_match_full(r, &q, &m), ID("02"));
    cr_assert_not(m.regex);
    cr_assert_eq(m.ncaptures, 0);
    cr_assert_eq(m.strip_len, 6);
    cr_assert(sl_str_eq(m.matched_path, SL_STR("/hello")));
}

Test(router, paths_are_matched_as_sent_after_normalisation)
{
    /* Kong no longer normalises the configured path; "%2F" stays an encoded slash. */
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/endel%2Fst");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/regex-reserved%2Fabc");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "", "/endel%2Fst"), ID("01"));
    assert_route(rt_match3(r, "GET", "", "/endel/st"), NULL);
    assert_route(rt_match3(r, "GET", "", "/regex-reserved%2Fabc"), ID("02"));
    assert_route(rt_match3(r, "GET", "", "/regex-reserved/abc"), NULL);
}

Test(router, multi_path_route_is_ranked_per_path)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/a", "/abc/def");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "/abc");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    cr_assert_eq(r->nsubs, 3);
    assert_route(rt_match3(r, "GET", "", "/abc/def/x"), ID("01")); /* "/abc/def" (8) > "/abc" (4) */
    assert_route(rt_match3(r, "GET", "", "/abc/x"), ID("02"));     /* "/abc" (4) > "/a" (2) */
    assert_route(rt_match3(r, "GET", "", "/a/x"), ID("01"));
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "", "/abc/def");
    rt_match_full(r, &q, &m);
    cr_assert(sl_str_eq(m.matched_path, SL_STR("/abc/def")));
    cr_assert_eq(m.strip_len, 8);

    /* Kong's "does not supersede another route with a longer [uri prefix]" */
    struct sl_route *c = rt_route(ID("03"));
    PATHS(c, "/a", "/bbbbbbb");
    struct sl_route *d = rt_route(ID("04"));
    PATHS(d, "/a/bb");
    struct sl_route *routes2[] = {c, d};
    r = rt_build(routes2, 2);
    assert_route(rt_match3(r, "GET", "", "/a/bb/foobar"), ID("04"));
    assert_route(rt_match3(r, "GET", "", "/bbbbbbb/x"), ID("03"));
}

Test(router, split_routes_take_kong_v5_ids)
{
    char id[SL_UUID_LEN + 1];
    sl_router_split_id("e8fb37f1-102d-461e-9c51-6608a6bb8101", 1, id);
    cr_assert_str_eq(id, "086b6591-cafa-58be-b2dd-7640f294421f"); /* uuid5(ns, "<id>#1") */

    struct sl_route *a = rt_route("e8fb37f1-102d-461e-9c51-6608a6bb8101");
    PATHS(a, "/aa", "~/r1", "/bb", "/c", "~/r2");
    struct sl_route *single = rt_route(ID("02"));
    PATHS(single, "/xx", "/yy"); /* one group: the route keeps its own id */
    struct sl_route *routes[] = {a, single};
    struct sl_router *r = rt_build(routes, 2);
    cr_assert_eq(r->nsubs, 4);
    int seen = 0;
    for (size_t i = 0; i < r->nsubs; i++) {
        const struct rt_sub *s = &r->subs[i];
        if (s->route == single) {
            cr_assert_str_eq(s->id, ID("02"));
            cr_assert_eq(s->npaths, 2);
            continue;
        }
        char want[SL_UUID_LEN + 1];
        unsigned group = s->regex ? 2 : (s->paths[0].src.len == 3 ? 1 : 3);
        sl_router_split_id(a->id, group, want);
        cr_assert_str_eq(s->id, want);
        cr_assert_eq(s->npaths, group == 3 ? 1 : 2);
        seen |= 1 << group;
    }
    cr_assert_eq(seen, (1 << 1) | (1 << 2) | (1 << 3));
}

Test(router, regex_group_reports_the_first_matching_regex)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/x/(\\d+)", "~/x/(.*)");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "", "/x/12");
    rt_match_full(r, &q, &m);
    cr_assert(sl_str_eq(m.matched_path, SL_STR("/x/(\\d+)")));
    q = rt_req("GET", "", "/x/ab");
    rt_match_full(r, &q, &m);
    cr_assert(sl_str_eq(m.matched_path, SL_STR("/x/(.*)")));
    cr_assert(sl_str_eq(m.captures[1], SL_STR("ab")));
}

Test(router, regex_literal_prefix)
{
    struct {
        const char *re;
        size_t want;
    } cases[] = {
        {"/users/\\d+", 7},  {"/users", 6},    {"/ab?", 2},        {"/ab*", 2},
        {"/ab+", 3},         {"/ab{0,1}", 2},  {"/a|/b", 0},       {"/api/(v1|v2)", 5},
        {"^/x", 0},          {"(?i)/x", 0},    {"/x(?x) | /y", 0}, {"/[|]", 1},
        {"/\\|", 1},         {"/a\\Q|\\E", 2}, {"/a(?#|)b", 2},    {"/a(*CR)b", 0},
        {"/(?P<n>\\d+)", 1}, {"", 0},          {"/a[b|c]", 2},     {"/a[]|]|b", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = sl_router_regex_literal_prefix(cases[i].re, strlen(cases[i].re));
        cr_assert_eq(got, cases[i].want, "%s: got %zu, want %zu", cases[i].re, got, cases[i].want);
    }
}

/* ---- methods, headers -------------------------------------------------------------------- */

Test(router, methods_are_exact)
{
    struct sl_route *a = rt_route(ID("01"));
    METHODS(a, "POST", "PUT");
    PATHS(a, "/m");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    assert_route(rt_match3(r, "PUT", "", "/m"), ID("01"));
    assert_route(rt_match3(r, "put", "", "/m"), NULL);
    assert_route(rt_match3(r, "GET", "", "/m"), NULL);
    assert_route(rt_match3(r, "POSTX", "", "/m"), NULL);
}

Test(router, header_values_any_of_and_multi_valued_requests)
{
    struct sl_route *a = rt_route(ID("09"));
    rt_header(a, "location", "my-location-1", "my-location-2", NULL);
    struct sl_route *b = rt_route(ID("10"));
    rt_header(b, "location", "my-location-1", NULL);
    rt_header(b, "version", "v1", "v2", NULL);
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_router_request q = rt_req("GET", "", "/");
    struct sl_header h1[] = {{SL_STR("location"), SL_STR("my-location-2")}};
    q.headers = h1;
    q.nheaders = 1;
    assert_route(rt_match(r, &q), ID("09"));
    struct sl_header h2[] = {{SL_STR("Location"), SL_STR("my-location-3")},
                             {SL_STR("Location"), SL_STR("MY-Location-2")}};
    q.headers = h2;
    q.nheaders = 2;
    assert_route(rt_match(r, &q), ID("09"));
    struct sl_header h3[] = {{SL_STR("location"), SL_STR("my-location-3")},
                             {SL_STR("location"), SL_STR("foo")}};
    q.headers = h3;
    assert_route(rt_match(r, &q), NULL);
    struct sl_header h4[] = {{SL_STR("location"), SL_STR("my-location-3")},
                             {SL_STR("location"), SL_STR("my-location-1")},
                             {SL_STR("version"), SL_STR("v2")}};
    q.headers = h4;
    q.nheaders = 3;
    assert_route(rt_match(r, &q), ID("10"));
    struct sl_header h5[] = {{SL_STR("location"), SL_STR("my-location-3")},
                             {SL_STR("location"), SL_STR("my-location-2")},
                             {SL_STR("version"), SL_STR("v2")}};
    q.headers = h5;
    assert_route(rt_match(r, &q), ID("09")); /* falls back to the one-header route */
    /* a header value list is not split on commas */
    struct sl_header h6[] = {{SL_STR("location"), SL_STR("my-location-1, my-location-2")}};
    q.headers = h6;
    q.nheaders = 1;
    assert_route(rt_match(r, &q), NULL);
}

Test(router, header_regex_is_unanchored_and_caseless)
{
    struct sl_route *a = rt_route(ID("15"));
    rt_header(a, "user_agent", "~*windows|linux|os\\s+x\\s*[\\d\\._]+|solaris|bsd", NULL);
    struct sl_route *b = rt_route(ID("16"));
    rt_header(b, "x-ver", "~*^V[0-9]$", NULL);
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_header h1[] = {
        {SL_STR("User-Agent"), SL_STR("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")}};
    struct sl_router_request q = rt_req("GET", "", "/");
    q.headers = h1;
    q.nheaders = 1;
    assert_route(rt_match(r, &q), ID("15"));
    struct sl_header h2[] = {{SL_STR("User-Agent"), SL_STR("curl/8.0")}};
    q.headers = h2;
    assert_route(rt_match(r, &q), NULL);
    struct sl_header h3[] = {{SL_STR("x-ver"), SL_STR("v1")}};
    q.headers = h3;
    assert_route(rt_match(r, &q), ID("16"));
    struct sl_header h4[] = {{SL_STR("x-ver"), SL_STR("xv1")}};
    q.headers = h4;
    assert_route(rt_match(r, &q), NULL);
    struct sl_header h5[] = {{SL_STR("x-ver"), SL_STR("nope")}, {SL_STR("X-VER"), SL_STR("V7")}};
    q.headers = h5;
    q.nheaders = 2;
    assert_route(rt_match(r, &q), ID("16"));
}

Test(router, header_names_case_insensitive_and_dashes)
{
    struct sl_route *a = rt_route(ID("01"));
    rt_header(a, "USER_AGENT", "foo", "bar", NULL);
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    struct sl_header h1[] = {{SL_STR("user-agent"), SL_STR("FOO")}};
    struct sl_router_request q = rt_req("GET", "", "/");
    q.headers = h1;
    q.nheaders = 1;
    assert_route(rt_match(r, &q), ID("01"));
    /* nginx drops a request header spelled with '_': it never stands for "user-agent" */
    struct sl_header h2[] = {{SL_STR("user_agent"), SL_STR("foo")}};
    q.headers = h2;
    assert_route(rt_match(r, &q), NULL);
}

Test(router, host_header_route_never_matches)
{
    struct sl_route *a = rt_route(ID("01"));
    rt_header(a, "Host", "example.com", NULL);
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    struct sl_header h[] = {{SL_STR("host"), SL_STR("example.com")}};
    struct sl_router_request q = rt_req("GET", "example.com", "/");
    q.headers = h;
    q.nheaders = 1;
    assert_route(rt_match(r, &q), NULL);
}

/* ---- snis, protocols ---------------------------------------------------------------------- */

Test(router, snis_only_bind_tls_requests)
{
    struct sl_route *a = rt_route(ID("01"));
    SNIS(a, "www.example.org.");
    PATHS(a, "/s");
    struct sl_route *b = rt_route(ID("00"));
    PATHS(b, "/s");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_router_request q = rt_req("GET", "", "/s");
    assert_route(rt_match(r, &q), ID("01")); /* plain http: snis ignored, more fields wins */
    q.tls = true;
    q.scheme = SL_PROTO_HTTPS;
    q.sni = SL_STR("www.example.org");
    assert_route(rt_match(r, &q), ID("01"));
    q.sni = SL_STR("WWW.example.org.");
    assert_route(rt_match(r, &q), ID("01"));
    q.sni = SL_STR("other.example.org");
    assert_route(rt_match(r, &q), ID("00"));
    q.sni = SL_STR_NULL;
    assert_route(rt_match(r, &q), ID("00"));
}

/* Regression: snis are wildcard hosts in Kong's schema (and in Sluice's), and transform.lua
 * compiles "*.x.org" to tls.sni =^ ".x.org" and "x.*" to tls.sni ^= "x."; they were compared
 * byte for byte, so a wildcard sni never matched. */
Test(router, wildcard_snis_match_as_suffix_and_prefix)
{
    struct sl_route *a = rt_route(ID("01"));
    a->protocols = SL_PROTO_BIT(SL_PROTO_HTTPS);
    SNIS(a, "*.example.org.");
    struct sl_route *b = rt_route(ID("02"));
    b->protocols = SL_PROTO_BIT(SL_PROTO_HTTPS);
    SNIS(b, "example.*");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_router_request q = rt_req("GET", "", "/");
    q.tls = true;
    q.scheme = SL_PROTO_HTTPS;
    q.sni = SL_STR("www.example.org");
    assert_route(rt_match(r, &q), ID("01"));
    q.sni = SL_STR("a.b.EXAMPLE.org.");
    assert_route(rt_match(r, &q), ID("01"));
    q.sni = SL_STR("example.net");
    assert_route(rt_match(r, &q), ID("02"));
    /* "*.example.org" needs a label in front of ".example.org"; "example.*" takes "example.org" */
    q.sni = SL_STR("example.org");
    assert_route(rt_match(r, &q), ID("02"));
    q.sni = SL_STR("wwwexample.org");
    assert_route(rt_match(r, &q), NULL);
    q.sni = SL_STR("notexample.com");
    assert_route(rt_match(r, &q), NULL);
    q.tls = false; /* plain http: snis are not considered; the greater uuid wins the tie */
    assert_route(rt_match(r, &q), ID("02"));
}

Test(router, https_only_route_matches_http_for_the_redirect)
{
    struct sl_route *a = rt_route(ID("01"));
    a->protocols = SL_PROTO_BIT(SL_PROTO_HTTPS);
    PATHS(a, "/secure");
    struct sl_route *b = rt_route(ID("02"));
    b->protocols = SL_PROTO_BIT(SL_PROTO_HTTP);
    PATHS(b, "/plain");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "", "/secure");
    assert_route(rt_match_full(r, &q, &m), ID("01"));
    cr_assert(m.needs_https_redirect);
    q.scheme = SL_PROTO_HTTPS;
    q.tls = true;
    assert_route(rt_match_full(r, &q, &m), ID("01"));
    cr_assert_not(m.needs_https_redirect);
    /* Kong accepts https on an http-only route (the protocols are not part of the match) */
    q.path = SL_STR("/plain");
    assert_route(rt_match_full(r, &q, &m), ID("02"));
    cr_assert_not(m.needs_https_redirect);
}

Test(router, grpc_and_stream_routes_never_match_http)
{
    struct sl_route *a = rt_route(ID("01"));
    a->protocols = SL_PROTO_BIT(SL_PROTO_GRPC) | SL_PROTO_BIT(SL_PROTO_GRPCS);
    PATHS(a, "/svc");
    struct sl_route *b = rt_route(ID("02"));
    b->protocols = SL_PROTO_BIT(SL_PROTO_TCP);
    SNIS(b, "x.com");
    struct sl_route *c = rt_route(ID("03"));
    c->protocols = 0; /* unset: Kong's default http, https */
    PATHS(c, "/");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    cr_assert_eq(r->nsubs, 1);
    assert_route(rt_match3(r, "GET", "", "/svc"), ID("03"));
}

/* ---- misc -------------------------------------------------------------------------------- */

Test(router, serviceless_route_matches_with_null_service)
{
    struct sl_service svc = {.host = "example.org", .port = 80};
    struct sl_route *a = rt_route(ID("08"));
    PATHS(a, "/serviceless");
    struct sl_route *b = rt_route(ID("01"));
    PATHS(b, "/svc");
    b->service = &svc;
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "", "/serviceless");
    assert_route(rt_match_full(r, &q, &m), ID("08"));
    cr_assert_null(m.service);
    q.path = SL_STR("/svc");
    assert_route(rt_match_full(r, &q, &m), ID("01"));
    cr_assert_eq(m.service, &svc);
}

Test(router, routes_without_matching_fields_are_dropped)
{
    struct sl_route *a = rt_route(ID("01"));
    struct sl_route *b = rt_route(ID("02"));
    rt_header(b, "x-empty", NULL);
    struct sl_route *routes[] = {a, b, NULL};
    struct sl_router *r = rt_build(routes, 3);
    cr_assert_eq(r->nsubs, 0);
    assert_route(rt_match3(r, "GET", "x", "/"), NULL);
    struct sl_router *empty = rt_build(NULL, 0);
    assert_route(rt_match3(empty, "GET", "x", "/"), NULL);
}

Test(router, invalid_regex_fails_the_build_with_kong_message)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/echo/**/broken");
    struct sl_route *routes[] = {a};
    char err[512];
    struct sl_router *r = sl_router_build(routes, 1, rt_arena, err, sizeof(err));
    cr_assert_null(r);
    const char *want = "invalid regex: '/echo/**/broken' (PCRE returned: pcre2_compile() failed: ";
    cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
    cr_assert(strstr(err, "at \"*/broken\")") != NULL, "%s", err);

    struct sl_route *b = rt_route(ID("02"));
    rt_header(b, "x", "~*(unclosed", NULL);
    struct sl_route *routes2[] = {b};
    r = sl_router_build(routes2, 1, rt_arena, err, sizeof(err));
    cr_assert_null(r);
    want = "invalid regex: '(unclosed' (PCRE returned: ";
    cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
}

Test(router, identical_regexes_share_one_code)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/same/\\d+");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/same/\\d+");
    b->regex_priority = 1;
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    cr_assert_eq(r->subs[0].paths[0].re, r->subs[1].paths[0].re);
    assert_route(rt_match3(r, "GET", "", "/same/1"), ID("02"));
}

Test(router, pathological_regex_is_bounded)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/(a+)+$");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    char path[4096];
    path[0] = '/';
    memset(path + 1, 'a', sizeof(path) - 3);
    path[sizeof(path) - 2] = '!';
    path[sizeof(path) - 1] = '\0';
    /* must return (no match: the limit stops the backtracking) rather than spin */
    assert_route(rt_match3(r, "GET", "", path), NULL);
}

/* Regression (found by fuzz_router): a request host longer than the old 256-byte lowercase buffer
 * skipped the host index, so wildcard routes were lost. */
Test(router, regression_long_host_still_reaches_wildcard_routes)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "example.*");
    struct sl_route *b = rt_route(ID("02"));
    HOSTS(b, "*.example.com");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    char host[1100];
    memcpy(host, "EXAMPLE.", 8);
    for (size_t i = 8; i < 1000; i++) {
        host[i] = (i % 3 == 0) ? '.' : 'x';
    }
    host[1000] = '\0';
    assert_route(rt_match3(r, "GET", host, "/"), ID("01"));
    memcpy(host + 1000, ".Example.Com", 13);
    assert_route(rt_match3(r, "GET", host + 8, "/"), ID("02"));
}
