/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP cases of Kong's router specs for the traditional_compatible flavour that test_router.c
 * does not already cover: spec/01-unit/08-router_spec.lua (select(), exec(), edge cases, the
 * "[both regex and prefix]" blocks) and the route choices of
 * spec/02-integration/05-proxy/02-router_spec.lua. Each test is named after the Kong case it
 * ports; the routes and requests are Kong's, the code is ours. Kong's select() is handed the path
 * as is, its exec() normalises it first: the "exec" tests run the path through Sluice's normaliser
 * and Kong-decoding, as the proxy does. */
#include <criterion/criterion.h>
#include <stdarg.h>

#include "http/path.h"
#include "router/upstream_uri.h"
#include "rt_helpers.h"

TestSuite(router_kong, .init = rt_setup, .fini = rt_teardown);

#define KMAX_HEADERS 8

/* Matches <method> <path> with Host <host> (port <port>) and the NULL-terminated header
 * name/value pairs that follow; the path is used as given (Kong's select()). */
static const char *
kselect(const struct sl_router *r, const char *method, const char *host, uint16_t port,
        const char *path, ...)
{
    struct sl_header *hs = sl_arena_calloc(rt_arena, KMAX_HEADERS, sizeof(*hs));
    cr_assert_not_null(hs);
    size_t n = 0;
    va_list ap;
    va_start(ap, path);
    for (const char *name = va_arg(ap, const char *); name != NULL && n < KMAX_HEADERS;
         name = va_arg(ap, const char *)) {
        hs[n].name = sl_str_from_cstr(name);
        hs[n].value = sl_str_from_cstr(va_arg(ap, const char *));
        n++;
    }
    va_end(ap);
    struct sl_router_request q = rt_req(method, host, path);
    q.port = port;
    q.headers = hs;
    q.nheaders = n;
    return rt_match(r, &q);
}

/* Kong's exec(): the raw request path is normalised (sl_http_path_normalize) and regexes see its
 * Kong-decoded form, as src/proxy/request.c prepares them. Fills <m>; returns the route id. */
static const char *
kexec(const struct sl_router *r, const char *method, const char *host, const char *raw,
      struct sl_router_match *m)
{
    size_t len = strlen(raw);
    char *norm = sl_arena_alloc(rt_arena, SL_HTTP_PATH_NORM_MAX(len) + 1);
    char *dec = sl_arena_alloc(rt_arena, SL_HTTP_PATH_NORM_MAX(len) + 1);
    cr_assert(norm != NULL && dec != NULL);
    long nlen = sl_http_path_normalize(raw, len, norm);
    cr_assert_geq(nlen, 0, "%s does not normalise", raw);
    struct sl_router_request q = rt_req(method, host, "");
    q.path = (struct sl_str){norm, (size_t)nlen};
    q.path_decoded = (struct sl_str){dec, sl_http_path_kong_decode(norm, (size_t)nlen, dec)};
    return rt_match_full(r, &q, m);
}

/* The upstream URI for a match of <raw> (service without a path), as the proxy builds it. */
static const char *
kupstream(const struct sl_router *r, const char *method, const char *raw, const char *want_route)
{
    struct sl_router_match m;
    assert_route(kexec(r, method, "domain.org", raw, &m), want_route);
    size_t len = strlen(raw);
    char *norm = sl_arena_alloc(rt_arena, SL_HTTP_PATH_NORM_MAX(len) + 1);
    cr_assert_not_null(norm);
    long nlen = sl_http_path_normalize(raw, len, norm);
    struct sl_str path = {norm, (size_t)nlen};
    size_t cap = (size_t)nlen + 16;
    char *out = sl_arena_alloc(rt_arena, cap);
    cr_assert_not_null(out);
    cr_assert_geq(
        sl_upstream_uri_build(m.route, NULL, path, m.strip_len, SL_STR_NULL, false, out, cap), 0);
    return out;
}

/* ---- select(): the fifteen use-case routes --------------------------------------------------- */

static struct sl_route *uc[16];

static struct sl_router *
use_cases(void)
{
    static const char *const ids[] = {NULL, "01", "02", "03", "04", "05", "06", "07",
                                      "08", "09", "10", "11", "12", "13", "14", "15"};
    for (int i = 1; i <= 15; i++) {
        char id[SL_UUID_LEN + 1];
        snprintf(id, sizeof(id), ID("%s"), ids[i]);
        uc[i] = rt_route(id);
    }
    HOSTS(uc[1], "domain-1.org", "domain-2.org");
    METHODS(uc[2], "TRACE");
    PATHS(uc[3], "/my-route");
    PATHS(uc[4], "/route-4");
    HOSTS(uc[4], "domain-1.org", "domain-2.org");
    HOSTS(uc[5], "domain-1.org", "domain-2.org");
    METHODS(uc[5], "POST", "PUT", "PATCH");
    METHODS(uc[6], "POST", "PUT", "PATCH");
    PATHS(uc[6], "/route-6");
    HOSTS(uc[7], "domain-with-uri-1.org", "domain-with-uri-2.org");
    METHODS(uc[7], "POST", "PUT", "PATCH");
    PATHS(uc[7], "/my-route-uri");
    PATHS(uc[8], "/serviceless");
    rt_header(uc[9], "location", "my-location-1", "my-location-2", NULL);
    rt_header(uc[10], "location", "my-location-1", NULL);
    rt_header(uc[10], "version", "v1", "v2", NULL);
    rt_header(uc[11], "location", "my-location-1", "my-location-2", NULL);
    PATHS(uc[11], "/headers-uri");
    HOSTS(uc[12], "domain-with-headers-1.org", "domain-with-headers-2.org");
    rt_header(uc[12], "location", "my-location-1", "my-location-2", NULL);
    METHODS(uc[12], "POST", "PUT", "PATCH");
    PATHS(uc[12], "/headers-host-uri-method");
    HOSTS(uc[13], "domain-1.org:321", "domain-2.org");
    HOSTS(uc[14], "domain-3.org:321");
    rt_header(uc[15], "user_agent", "~*windows|linux|os\\s+x\\s*[\\d\\._]+|solaris|bsd", NULL);
    return rt_build(&uc[1], 15);
}

Test(router_kong, select_host)
{
    struct sl_router *r = use_cases();
    assert_route(kselect(r, "GET", "domain-1.org", 80, "/", NULL), ID("01"));
}

Test(router_kong, select_host_and_uri_and_method_combinations)
{
    struct sl_router *r = use_cases();
    /* [uri], [method], [host + uri], [host + method], [uri + method], [host + uri + method] */
    assert_route(kselect(r, "GET", "domain.org", 80, "/my-route", NULL), ID("03"));
    assert_route(kselect(r, "TRACE", "domain.org", 80, "/", NULL), ID("02"));
    assert_route(kselect(r, "GET", "domain-1.org", 80, "/route-4", NULL), ID("04"));
    assert_route(kselect(r, "POST", "domain-1.org", 80, "/", NULL), ID("05"));
    assert_route(kselect(r, "PUT", "domain.org", 80, "/route-6", NULL), ID("06"));
    assert_route(kselect(r, "PUT", "domain-with-uri-2.org", 80, "/my-route-uri", NULL), ID("07"));
    /* [uri prefix] matches when given [uri] is in request URI prefix */
    assert_route(kselect(r, "GET", "domain.org", 80, "/my-route/some/path", NULL), ID("03"));
}

Test(router_kong, select_single_headers_value_with_the_regex_route)
{
    struct sl_router *r = use_cases();
    assert_route(kselect(r, "GET", "", 80, "/", "location", "my-location-1", NULL), ID("09"));
    assert_route(kselect(r, "GET", "", 80, "/", "location", "my-location-2", NULL), ID("09"));
    assert_route(kselect(r, "GET", "", 80, "/", "location", "my-location-3", "location",
                         "my-location-2", NULL),
                 ID("09"));
    assert_route(kselect(r, "GET", "", 80, "/", "location", "my-location-3", NULL), NULL);
    assert_route(
        kselect(r, "GET", "", 80, "/", "location", "my-location-3", "location", "foo", NULL), NULL);
    assert_route(kselect(r, "GET", "", 80, "/", "user-agent",
                         "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/83.0.4103.116 Safari/537.36",
                         NULL),
                 ID("15"));
}

Test(router_kong, select_headers_plus_uri_and_host_headers_uri_method)
{
    struct sl_router *r = use_cases();
    assert_route(kselect(r, "GET", "", 80, "/headers-uri", "location", "my-location-2", NULL),
                 ID("11"));
    assert_route(kselect(r, "PUT", "domain-with-headers-1.org", 80, "/headers-host-uri-method",
                         "location", "my-location-2", NULL),
                 ID("12"));
}

Test(router_kong, select_misses)
{
    struct sl_router *r = use_cases();
    /* invalid [host], invalid host in [host + uri] and [host + method] */
    assert_route(kselect(r, "GET", "domain-3.org", 80, "/", NULL), NULL);
    assert_route(kselect(r, "GET", "domain-3.org", 80, "/route-4", NULL), NULL);
    /* invalid method / uri in [host + uri + method] */
    assert_route(kselect(r, "GET", "domain-with-uri-2.org", 80, "/some-uri", NULL), NULL);
    assert_route(kselect(r, "PUT", "domain-with-uri-2.org", 80, "/some-uri-foo", NULL), NULL);
    /* does not match when given [uri] is in URI but not in prefix */
    assert_route(kselect(r, "GET", "domain.org", 80, "/some-other-prefix/my-route", NULL), NULL);
    /* invalid [headers], in [headers + uri], [headers + uri + method] */
    assert_route(kselect(r, "GET", "", 80, "/", "location", "invalid-location", NULL), NULL);
    assert_route(kselect(r, "GET", "", 80, "/headers-uri", "location", "invalid-location", NULL),
                 NULL);
    assert_route(
        kselect(r, "PUT", "", 80, "/headers-uri-method", "location", "invalid-location", NULL),
        NULL);
    /* [headers + host + uri + method]: a "host" header is not the Host */
    assert_route(kselect(r, "PUT", "", 80, "/headers-host-uri-method", "location",
                         "invalid-location", "host", "domain-with-headers-1.org", NULL),
                 NULL);
}

Test(router_kong, edge_root_uri_request_with_method_and_catch_all)
{
    struct sl_route *root = rt_route(ID("0f"));
    PATHS(root, "/");
    (void)use_cases();
    struct sl_route *routes[16] = {root};
    memcpy(&routes[1], &uc[1], 15 * sizeof(*routes));
    struct sl_router *r = rt_build(routes, 16);
    /* request with [method] */
    assert_route(kselect(r, "GET", "domain.org", 80, "/", NULL), ID("0f"));
    /* does not supersede another route */
    assert_route(kselect(r, "GET", "domain.org", 80, "/my-route", NULL), ID("03"));
    assert_route(kselect(r, "GET", "domain.org", 80, "/my-route/hello/world", NULL), ID("03"));
    /* acts as a catch-all route */
    assert_route(kselect(r, "GET", "domain.org", 80, "/foobar/baz", NULL), ID("0f"));
}

Test(router_kong, edge_multiple_routes_of_same_category_with_conflicting_values)
{
    (void)use_cases();
    struct sl_route *routes[21];
    memcpy(routes, &uc[1], 15 * sizeof(*routes));
    static const char *const ids[] = {ID("a1"), ID("a2"), ID("a3"), ID("a4"), ID("a5")};
    for (int i = 0; i < 5; i++) {
        routes[15 + i] = rt_route(ids[i]);
        HOSTS(routes[15 + i], "domain.org");
        PATHS(routes[15 + i], "/my-uri");
    }
    routes[20] = rt_route(ID("21"));
    HOSTS(routes[20], "domain.org");
    PATHS(routes[20], "/my-target-uri");
    struct sl_router *r = rt_build(routes, 21);
    assert_route(kselect(r, "GET", "domain.org", 80, "/my-target-uri", NULL), ID("21"));
}

/* ---- [uri prefix] -----------------------------------------------------------------------------
 */

Test(router_kong, uri_prefix_longer_uri_while_methods_are_also_defined)
{
    struct sl_route *a = rt_route(ID("01"));
    METHODS(a, "POST", "PUT", "GET");
    PATHS(a, "/my-route");
    struct sl_route *b = rt_route(ID("02"));
    METHODS(b, "POST", "PUT", "GET");
    PATHS(b, "/my-route/hello");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/hello"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/hello/world"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/world"), ID("01"));
}

Test(router_kong, uri_prefix_longer_uri_while_hosts_are_also_defined)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "domain.org");
    PATHS(a, "/my-route");
    struct sl_route *b = rt_route(ID("02"));
    HOSTS(b, "domain.org");
    PATHS(b, "/my-route/hello");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/hello"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/hello/world"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain.org", "/my-route/world"), ID("01"));
}

Test(router_kong, uri_prefix_better_uri_match_for_another_host)
{
    struct sl_route *a = rt_route(ID("01"));
    HOSTS(a, "example.com");
    PATHS(a, "/my-route");
    struct sl_route *b = rt_route(ID("02"));
    HOSTS(b, "example.com");
    PATHS(b, "/my-route/hello");
    struct sl_route *c = rt_route(ID("03"));
    HOSTS(c, "example.net");
    PATHS(c, "/my-route/hello/world");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(rt_match3(r, "GET", "example.com", "/my-route/hello/world"), ID("02"));
    assert_route(rt_match3(r, "GET", "example.com", "/my-route/hello/world/and/goodnight"),
                 ID("02"));
}

/* ---- [uri regex] ------------------------------------------------------------------------------
 */

Test(router_kong, uri_regex_right_route_when_several_have_a_regex)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/route/persons/\\d{3}");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/route/persons/\\d{3}/following");
    struct sl_route *c = rt_route(ID("03"));
    PATHS(c, "~/route/persons/\\d{3}/[a-z]+");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(rt_match3(r, "GET", "domain.org", "/route/persons/456"), ID("01"));
}

Test(router_kong, uri_regex_even_if_a_prefix_uri_got_a_match)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/route/persons");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/route/persons/\\d+/profile");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "domain.org", "/route/persons/123/profile"), ID("02"));
}

/* ---- [wildcard host] --------------------------------------------------------------------------
 */

static struct sl_route *
wild(const char *id, const char *host)
{
    struct sl_route *r = rt_route(id);
    HOSTS(r, host);
    return r;
}

Test(router_kong, wildcard_prefers_port_specific_even_for_http_default_port)
{
    struct sl_route *routes[] = {wild(ID("01"), "*.route.com"), wild(ID("02"), "route.*"),
                                 wild(ID("03"), "route.*:80")};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(kselect(r, "GET", "route.org", 123, "/", NULL), ID("02"));
    assert_route(kselect(r, "GET", "route.org", 80, "/", NULL), ID("03"));
}

Test(router_kong, wildcard_prefers_port_specific_even_for_https_default_port)
{
    struct sl_route *routes[] = {wild(ID("01"), "*.route.com"), wild(ID("02"), "route.*"),
                                 wild(ID("03"), "route.*:443")};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(kselect(r, "GET", "route.org", 123, "/", NULL), ID("02"));
    assert_route(kselect(r, "GET", "route.org", 443, "/", NULL), ID("03"));
}

Test(router_kong, wildcard_does_not_take_precedence_over_a_plain_host)
{
    struct sl_route *routes[] = {wild(ID("03"), "plain.route.com"), wild(ID("01"), "*.route.com"),
                                 wild(ID("02"), "route.*"), wild(ID("04"), "route.com")};
    struct sl_router *r = rt_build(routes, 4);
    assert_route(rt_match3(r, "GET", "route.com", "/"), ID("04"));
    assert_route(rt_match3(r, "GET", "route.org", "/"), ID("02"));
    assert_route(rt_match3(r, "GET", "plain.route.com", "/"), ID("03"));
    assert_route(rt_match3(r, "GET", "foo.route.com", "/"), ID("01"));
}

Test(router_kong, wildcard_host_plus_path_even_if_a_similar_plain_host_exists)
{
    struct sl_route *a = wild(ID("01"), "*.route.com");
    PATHS(a, "/path1");
    struct sl_route *b = wild(ID("02"), "plain.route.com");
    PATHS(b, "/path2");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    /* and: matches [plain host + path] even if a matching [wildcard host] exists */
    assert_route(rt_match3(r, "GET", "plain.route.com", "/path1"), ID("01"));
    assert_route(rt_match3(r, "GET", "plain.route.com", "/path2"), ID("02"));
}

Test(router_kong, wildcard_submatch_weight_wildcard_host_port_over_wildcard_host)
{
    struct sl_route *a = wild(ID("01"), "route.*");
    struct sl_route *b = rt_route(ID("02"));
    HOSTS(b, "route.*:80", "route.com.*");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(kselect(r, "GET", "route.org", 80, "/", NULL), ID("02"));
}

Test(router_kong, wildcard_host_plus_port_even_if_a_wildcard_host_matched)
{
    struct sl_route *routes[] = {wild(ID("01"), "route.*"), wild(ID("02"), "route.*:123"),
                                 wild(ID("03"), "route.*:80")};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(kselect(r, "GET", "route.org", 123, "/", NULL), ID("02"));
    /* no port in the Host header: the connection's port 80 */
    assert_route(kselect(r, "GET", "route.org", 80, "/", NULL), ID("03"));
    assert_route(kselect(r, "GET", "route.org", 8000, "/", NULL), ID("01"));
}

Test(router_kong, wildcard_or_plain_host_plus_uri_plus_method)
{
    struct sl_route *a = wild(ID("01"), "*.route.com");
    struct sl_route *b = wild(ID("02"), "route.*");
    struct sl_route *c = rt_route(ID("0c"));
    HOSTS(c, "*.domain.com", "example.com");
    PATHS(c, "/path");
    METHODS(c, "GET", "TRACE");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(rt_match3(r, "POST", "foo.domain.com", "/path"), NULL);
    assert_route(rt_match3(r, "GET", "foo.domain.com", "/path"), ID("0c"));
    assert_route(rt_match3(r, "TRACE", "example.com", "/path"), ID("0c"));
}

Test(router_kong, wildcard_host_plus_uri_regex)
{
    struct sl_route *a = wild(ID("01"), "*.example.com");
    PATHS(a, "~/users/\\d+/profile");
    struct sl_route *b = wild(ID("02"), "*.example.com");
    PATHS(b, "/users");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "test.example.com", "/users/123/profile"), ID("01"));
    assert_route(rt_match3(r, "GET", "test.example.com", "/users"), ID("02"));
}

/* ---- [headers] --------------------------------------------------------------------------------
 */

Test(router_kong, headers_names_are_case_insensitive)
{
    struct sl_route *a = rt_route(ID("01"));
    rt_header(a, "USER_AGENT", "foo", "bar", NULL);
    struct sl_route *b = rt_route(ID("02"));
    rt_header(b, "user_agent", "baz", NULL);
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(kselect(r, "GET", "", 80, "/", "user-agent", "foo", NULL), ID("01"));
    assert_route(kselect(r, "GET", "", 80, "/", "USER-AGENT", "baz", NULL), ID("02"));
}

Test(router_kong, headers_values_match_in_a_case_insensitive_way)
{
    struct sl_route *a = rt_route(ID("01"));
    rt_header(a, "user_agent", "foo", "bar", NULL);
    struct sl_route *b = rt_route(ID("02"));
    rt_header(b, "user_agent", "BAZ", NULL);
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(kselect(r, "GET", "", 80, "/", "User-Agent", "FOO", NULL), ID("01"));
    assert_route(kselect(r, "GET", "", 80, "/", "User-Agent", "baz", NULL), ID("02"));
}

/* ---- normalization stopgap measurements, as exec() sees the paths -----------------------------
 */

Test(router_kong, normalization_stopgap_measurements_after_normalising)
{
    struct sl_route *plain = rt_route(ID("00"));
    PATHS(plain, "/plain/a.b.c");
    struct sl_route *rx = rt_route(ID("02"));
    PATHS(rx, "~/reg%65x/\\d+");
    struct sl_route *meta = rt_route(ID("03"));
    PATHS(meta, "~/regex-meta/%5Cd\\+%2E");
    struct sl_route *res = rt_route(ID("04"));
    PATHS(res, "~/regex-reserved%2Fabc");
    struct sl_route *routes[] = {plain, rx, meta, res};
    struct sl_router *r = rt_build(routes, 4);
    struct sl_router_match m;
    /* matches against plain text paths ('.' is not a wildcard) */
    assert_route(kexec(r, "GET", "example.com", "/plain/a.b.c", &m), ID("00"));
    assert_route(kexec(r, "GET", "example.com", "/plain/a.bXc", &m), NULL);
    assert_route(kexec(r, "GET", "example.com", "/plain/aab.c", &m), NULL);
    /* Regex paths are not normalised; a request is, so "/reg%65x/123" arrives as "/regex/123",
     * which the regex (literally "%65") does not match: Kong's select() of the raw path matched,
     * its exec() does not. */
    assert_route(kexec(r, "GET", "example.com", "/regex/123", &m), NULL);
    assert_route(kexec(r, "GET", "example.com", "/reg%65x/123", &m), NULL);
    /* escapes meta character after percent decoding from regex paths */
    assert_route(kexec(r, "GET", "example.com", "/regex-meta/123a", &m), NULL);
    assert_route(kexec(r, "GET", "example.com", "/regex-meta/%5Cd+%2E", &m), NULL);
    /* leave reserved characters alone in regex paths */
    assert_route(kexec(r, "GET", "example.com", "/regex-reserved/abc", &m), NULL);
    assert_route(kexec(r, "GET", "example.com", "/regex-reserved%2Fabc", &m), ID("04"));
    assert_route(kexec(r, "GET", "example.com", "/regex-reserved%2fabc", &m), ID("04"));
}

/* ---- edge-cases -------------------------------------------------------------------------------
 */

Test(router_kong, edge_half_uri_and_host_match_does_not_supersede_another_route)
{
    struct sl_route *a = wild(ID("01"), "host1.com");
    PATHS(a, "/v1/path");
    struct sl_route *b = wild(ID("02"), "host2.com");
    PATHS(b, "/");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "host1.com", "/v1/path"), ID("01"));
    assert_route(rt_match3(r, "GET", "host2.com", "/v1/path"), ID("02"));
}

Test(router_kong, edge_half_wildcard_host_and_method_match_does_not_supersede_another_route)
{
    struct sl_route *a = wild(ID("01"), "host.*");
    METHODS(a, "GET");
    struct sl_route *b = wild(ID("02"), "host.*");
    METHODS(b, "POST");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "host.com", "/"), ID("01"));
    assert_route(rt_match3(r, "POST", "host.com", "/"), ID("02"));
}

Test(router_kong, edge_half_uri_regex_and_method_match_does_not_supersede_another_route)
{
    struct sl_route *a = rt_route(ID("01"));
    METHODS(a, "GET");
    PATHS(a, "~/users/\\d+/profile");
    struct sl_route *b = rt_route(ID("02"));
    METHODS(b, "POST");
    PATHS(b, "~/users/\\d*/profile");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "domain.org", "/users/123/profile"), ID("01"));
    assert_route(rt_match3(r, "POST", "domain.org", "/users/123/profile"), ID("02"));
}

Test(router_kong, edge_method_does_not_supersede_uri_prefix)
{
    struct sl_route *a = rt_route(ID("01"));
    METHODS(a, "GET");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "/example");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "domain.org", "/example"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain.org", "/example/status/200"), ID("02"));
}

Test(router_kong, edge_method_does_not_supersede_wildcard_host)
{
    struct sl_route *a = rt_route(ID("01"));
    METHODS(a, "GET");
    struct sl_route *routes[] = {a, wild(ID("02"), "domain.*")};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "nothing.com", "/"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain.com", "/"), ID("02"));
}

/* ---- exec() -----------------------------------------------------------------------------------
 */

Test(router_kong, exec_returns_matched_host_uri_method_headers)
{
    struct sl_route *a = wild(ID("01"), "host.com");
    METHODS(a, "GET");
    PATHS(a, "/my-route");
    struct sl_route *b = wild(ID("02"), "host.com");
    PATHS(b, "/my-route");
    struct sl_route *c = wild(ID("03"), "*.host.com");
    rt_header(c, "location", "my-location-1", "my-location-2", NULL);
    struct sl_route *d = rt_route(ID("04"));
    PATHS(d, "~/users/\\d+/profile");
    struct sl_route *routes[] = {a, b, c, d};
    struct sl_router *r = rt_build(routes, 4);
    assert_route(kselect(r, "GET", "host.com", 80, "/my-route", NULL), ID("01"));
    assert_route(kselect(r, "GET", "host.com", 80, "/my-route/prefix/match", NULL), ID("01"));
    assert_route(kselect(r, "POST", "host.com", 80, "/my-route", NULL), ID("02"));
    assert_route(kselect(r, "GET", "test.host.com", 80, "/", "location", "my-location-1", NULL),
                 ID("03"));
    assert_route(kselect(r, "GET", "domain.org", 80, "/users/123/profile", NULL), ID("04"));
}

Test(router_kong, exec_returns_uri_captures_normalized_fix_7913)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "~/users/(?P<fullname>[a-zA-Z\\s\\d%]+)/profile/?(?P<scope>[a-z]*)");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    struct sl_router_match m;
    assert_route(kexec(r, "GET", "domain.org", "/users/%6aohn%20doe/profile", &m), ID("01"));
    cr_assert_eq(m.ncaptures, 3);
    cr_assert(sl_str_eq(m.captures[0], SL_STR("/users/john doe/profile")));
    cr_assert(sl_str_eq(m.captures[1], SL_STR("john doe")));
    cr_assert_str_eq(m.capture_names[1], "fullname");
    cr_assert(m.captures[2].p != NULL && m.captures[2].len == 0);
    cr_assert_str_eq(m.capture_names[2], "scope");
    /* strip_path cuts the forwarded (escaped) path where the decoded match ended */
    cr_assert_eq(m.strip_len, strlen("/users/john%20doe/profile"));
}

Test(router_kong, exec_stripped_paths)
{
    struct sl_route *a = rt_route("a0f3c3a2-5e5b-4c8e-9a40-3d8a2f7b1c01");
    PATHS(a, "/my-route", "/xx-route");
    struct sl_route *b = rt_route("a0f3c3a2-5e5b-4c8e-9a40-3d8a2f7b1c02");
    METHODS(b, "POST");
    PATHS(b, "/my-route", "/xx-route");
    b->strip_path = false;
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    /* strips the specified paths from the given uri if matching */
    cr_assert_str_eq(kupstream(r, "GET", "/my-route/hello/world", a->id), "/hello/world");
    /* strips if matched URI is plain (not a prefix) */
    cr_assert_str_eq(kupstream(r, "GET", "/my-route", a->id), "/");
    /* doesn't strip if 'strip_uri' is not enabled */
    cr_assert_str_eq(kupstream(r, "POST", "/my-route/hello/world", b->id), "/my-route/hello/world");
    /* can proxy a route with stripped URI with different URIs in a row */
    struct sl_router_match m;
    for (int i = 0; i < 2; i++) {
        assert_route(kexec(r, "GET", "domain.org", "/my-route", &m), a->id);
        cr_assert(sl_str_eq(m.matched_path, SL_STR("/my-route")));
        cr_assert_str_eq(kupstream(r, "GET", "/my-route", a->id), "/");
        assert_route(kexec(r, "GET", "domain.org", "/xx-route", &m), a->id);
        cr_assert(sl_str_eq(m.matched_path, SL_STR("/xx-route")));
        cr_assert_str_eq(kupstream(r, "GET", "/xx-route", a->id), "/");
    }
}

Test(router_kong, exec_does_not_strip_root_uri)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    cr_assert_str_eq(kupstream(r, "POST", "/my-route/hello/world", ID("01")),
                     "/my-route/hello/world");
    struct sl_router_match m;
    assert_route(kexec(r, "POST", "domain.org", "/my-route/hello/world", &m), ID("01"));
    cr_assert(sl_str_eq(m.matched_path, SL_STR("/")));
    /* handler.lua sends no X-Forwarded-Prefix for a "/" prefix */
    cr_assert_eq(
        sl_upstream_forwarded_prefix(m.route, SL_STR("/my-route/hello/world"), m.strip_len).len, 0);
}

Test(router_kong, exec_strips_url_encoded_paths_and_regexes)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/endel%2Fst");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/users/\\d+/profile");
    struct sl_route *c = rt_route(ID("03"));
    PATHS(c, "~/groups/(\\d+)/profile");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    struct sl_router_match m;
    assert_route(kexec(r, "GET", "domain.org", "/endel%2Fst", &m), ID("01"));
    cr_assert(sl_str_eq(m.matched_path, SL_STR("/endel%2Fst")));
    cr_assert_str_eq(kupstream(r, "GET", "/endel%2Fst", ID("01")), "/");
    /* strips a [uri regex], with and without a capture group: the prefix is the matched text */
    cr_assert_str_eq(kupstream(r, "GET", "/users/123/profile/hello/world", ID("02")),
                     "/hello/world");
    cr_assert_str_eq(kupstream(r, "GET", "/groups/123/profile/hello/world", ID("03")),
                     "/hello/world");
    assert_route(kexec(r, "GET", "domain.org", "/users/123/profile/hello/world", &m), ID("02"));
    struct sl_str p = SL_STR("/users/123/profile/hello/world");
    cr_assert(sl_str_eq(sl_upstream_forwarded_prefix(m.route, p, m.strip_len),
                        SL_STR("/users/123/profile")));
}

Test(router_kong, exec_works_with_special_characters)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/\\d");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "~/\\d+\"");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    /* A raw '\' is refused before routing (hardening); its escape reaches the prefix route, which
     * Kong writes decoded ("/\d") and forwards escaped. */
    cr_assert_str_eq(kupstream(r, "GET", "/%5Cd", ID("01")), "/");
    struct sl_router_match m;
    assert_route(kexec(r, "GET", "domain.org", "/%5cd", &m), ID("01"));
    /* the regex sees the decoded '"' whichever way it was sent */
    assert_route(kexec(r, "GET", "domain.org", "/123\"", &m), ID("02"));
    assert_route(kexec(r, "GET", "domain.org", "/123%22", &m), ID("02"));
    cr_assert_eq(m.strip_len, strlen("/123%22"));
}

/* ---- [both regex and prefix], [overlapping prefixes] ------------------------------------------
 */

Test(router_kong, prefix_matching_ignores_regex_priority)
{
    struct sl_route *a = wild(ID("01"), "domain-1.org");
    PATHS(a, "/.*"); /* a prefix: no '~' */
    struct sl_route *b = wild(ID("02"), "domain-2.org");
    PATHS(b, "/");
    b->regex_priority = 5;
    struct sl_route *c = wild(ID("03"), "domain-2.org");
    PATHS(c, "/v1");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(rt_match3(r, "GET", "domain-2.org", "/v1"), ID("03"));
    assert_route(rt_match3(r, "GET", "domain-1.org", "/v1"), NULL);
    assert_route(rt_match3(r, "GET", "domain-1.org", "/.*/v1"), ID("01"));
}

Test(router_kong, assigns_different_priorities_to_regex_and_non_regex_path)
{
    struct sl_route *a = wild(ID("01"), "domain-1.org");
    PATHS(a, "~/some/thing/else", "/foo");
    struct sl_route *b = wild(ID("02"), "domain-1.org");
    PATHS(b, "/foo/bar");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "domain-1.org", "/some/thing/else"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain-1.org", "/foo/bar"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain-1.org", "/foo/baz"), ID("01"));
}

Test(router_kong, overlapping_prefixes_assign_different_priorities_to_each_path)
{
    struct sl_route *a = wild(ID("01"), "domain-1.org");
    PATHS(a, "/foo", "/foo/bar/baz");
    struct sl_route *b = wild(ID("02"), "domain-1.org");
    PATHS(b, "/foo/bar");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "domain-1.org", "/foo"), ID("01"));
    assert_route(rt_match3(r, "GET", "domain-1.org", "/foo/bar"), ID("02"));
    assert_route(rt_match3(r, "GET", "domain-1.org", "/foo/bar/baz"), ID("01"));
}

Test(router_kong, can_create_route_with_multiple_paths_and_no_service)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/foo", "/foo/bar/baz");
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    struct sl_router_match m;
    struct sl_router_request q = rt_req("GET", "", "/foo/bar/baz");
    assert_route(rt_match_full(r, &q, &m), ID("01"));
    cr_assert_null(m.service);
    cr_assert(sl_str_eq(m.matched_path, SL_STR("/foo/bar/baz")));
}

Test(router_kong, check_empty_route_fields)
{
    /* methods GET, paths /foo, and an empty hosts/snis array: the empty fields are left out of
     * the expression (hosts = [] still sets the plain-hosts bit, as type(hosts) == "table") */
    struct sl_route *a = rt_route(ID("01"));
    METHODS(a, "GET");
    PATHS(a, "/foo");
    a->hosts = rt_strv(NULL);
    a->snis = rt_strv(NULL);
    struct sl_route *routes[] = {a};
    struct sl_router *r = rt_build(routes, 1);
    cr_assert_eq(r->nsubs, 1);
    cr_assert_eq(r->subs[0].priority, (2ull << 61) | (1ull << 60) | 4);
    assert_route(rt_match3(r, "GET", "any.host", "/foo"), ID("01"));
    assert_route(rt_match3(r, "GET", "", "/foo/x"), ID("01"));
    assert_route(rt_match3(r, "POST", "", "/foo"), NULL);
}

/* ---- spec/02-integration/05-proxy/02-router_spec.lua: the route choices ---------------------- */

Test(router_kong, proxy_paths_plus_headers_prioritize_more_headers_then_longer_paths)
{
    struct sl_route *a = rt_route(ID("01"));
    rt_header(a, "version", "v1", "v2", NULL);
    PATHS(a, "/root");
    struct sl_route *b = rt_route(ID("02"));
    rt_header(b, "version", "v1", "v2", NULL);
    PATHS(b, "/root/fixture");
    struct sl_route *c = rt_route(ID("03"));
    rt_header(c, "version", "v1", "v2", NULL);
    rt_header(c, "location", "us-east", NULL);
    PATHS(c, "/root");
    struct sl_route *routes[] = {a, b, c};
    struct sl_router *r = rt_build(routes, 3);
    assert_route(kselect(r, "GET", "", 80, "/root/fixture/get", "version", "v2", "location",
                         "us-east", NULL),
                 ID("03"));
    assert_route(kselect(r, "GET", "", 80, "/root/fixture/get", "version", "v2", NULL), ID("02"));
}

Test(router_kong, proxy_headers_caching_do_not_ignore_headers)
{
    struct sl_route *a = wild(ID("01"), "example.test");
    PATHS(a, "/test");
    rt_header(a, "headertest", "itsatest", NULL);
    struct sl_route *b = wild(ID("02"), "example.test");
    PATHS(b, "/test");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(kselect(r, "GET", "example.test", 80, "/test", "headertest", "itsatest", NULL),
                 ID("01"));
    assert_route(kselect(r, "GET", "example.test", 80, "/test", NULL), ID("02"));
    assert_route(kselect(r, "GET", "example.test", 80, "/test", "headertest", "itsatest", NULL),
                 ID("01"));
}

Test(router_kong, proxy_root_uri_for_a_catch_all_rule)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/");
    struct sl_route *b = rt_route(ID("02"));
    PATHS(b, "/foobar");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "", "/get"), ID("01"));
    assert_route(rt_match3(r, "GET", "", "/foobar/get"), ID("02"));
}

/* "[paths] + [methods]": routes 1-4 and the #5438 routes 5-14 */
static struct sl_router *
paths_and_methods(struct sl_route **rs)
{
    static const struct {
        const char *id;
        bool get;
        const char *host;
        const char *p1, *p2;
    } t[] = {
        {ID("01"), true, "ahost.test", "/unrelated/longer/uri/that/should/not/match",
         "/root/fixture"},
        {ID("02"), true, "ahost.test", "/root/fixture/get", NULL},
        {ID("03"), true, "anotherhost.test", "/root/fixture/get", NULL},
        {ID("04"), true, "onemorehost.test", "/root/fixture/get", NULL},
        {ID("05"), false, "api.local", "/rest/devportal/api/v1", "/rest/devportal"},
        {ID("06"), false, "api.local", "/rest/devportal/aux", NULL},
        {ID("07"), false, "test-api.local", "/rest/devportal/aux", NULL},
        {ID("08"), false, "atest-api.local", "/rest/devportal/aux", NULL},
        {ID("09"), false, "atest-api.local", "/rest/devportal", NULL},
        {ID("10"), false, "api.local", "/concat_test/devportal/api/v1", "/concat_test/devportal"},
        {ID("11"), false, "api.local", "/concat_test/devportal/aux", NULL},
        {ID("12"), false, "test-api.local", "/concat_test/devportal/aux", NULL},
        {ID("13"), false, "atest-api.local", "/concat_test/devportal/aux", NULL},
        {ID("14"), false, "atest-api.local", "/concat_test/devportal", NULL},
    };
    for (size_t i = 0; i < 14; i++) {
        rs[i] = wild(t[i].id, t[i].host);
        if (t[i].get) {
            METHODS(rs[i], "GET");
        }
        if (t[i].p2 != NULL) {
            PATHS(rs[i], t[i].p1, t[i].p2);
        } else {
            PATHS(rs[i], t[i].p1);
        }
    }
    return rt_build(rs, 14);
}

Test(router_kong, proxy_paths_plus_methods_prioritizes_host_over_longer_uris)
{
    struct sl_route *rs[14];
    struct sl_router *r = paths_and_methods(rs);
    assert_route(rt_match3(r, "GET", "anotherhost.test", "/root/fixture/get"), ID("03"));
    /* do not match incomplete URIs */
    assert_route(rt_match3(r, "GET", "ahost.test", "/"), NULL);
    /* prioritizes longer URIs (traditional-only in Kong's spec; the path split gives the same) */
    assert_route(rt_match3(r, "GET", "ahost.test", "/root/fixture/get"), ID("02"));
}

Test(router_kong, proxy_regression_test_for_5438)
{
    struct sl_route *rs[14];
    struct sl_router *r = paths_and_methods(rs);
    for (size_t i = 0; i < 14; i++) {
        for (size_t j = 0; j < rs[i]->paths.n; j++) {
            char path[128];
            /* routes 10-14: "concatenating paths" */
            snprintf(path, sizeof(path), "%s%s", rs[i]->paths.v[j], i >= 9 ? "/status/418" : "");
            assert_route(rt_match3(r, "GET", rs[i]->hosts.v[0], path), rs[i]->id);
        }
    }
    /* part 2 */
    assert_route(rt_match3(r, "GET", "atest-api.local", "/rest/devportal"), ID("09"));
}

Test(router_kong, proxy_paths_plus_hosts_prioritizes_longer_uris)
{
    struct sl_route *a = wild(ID("01"), "route.com");
    PATHS(a, "/root/fixture", "/root/fixture/non-matching-but-longer");
    struct sl_route *b = wild(ID("02"), "route.com");
    PATHS(b, "/root/fixture/get");
    struct sl_route *routes[] = {a, b};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(rt_match3(r, "GET", "route.com", "/root/fixture/get"), ID("02"));
}

/* ---- gracefully handles invalid utf-8 sequences -----------------------------------------------
 */

/* Regression: atc-router refuses an http.path that is not valid UTF-8 once decoded ("invalid utf-8
 * sequence of 1 bytes from index 0") and Kong answers 404, whatever route would have matched;
 * Sluice routed such paths. */
Test(router_kong, exec_gracefully_handles_invalid_utf8_sequences)
{
    struct sl_route *a = rt_route(ID("01"));
    PATHS(a, "/hello");
    struct sl_route *root = rt_route(ID("02"));
    PATHS(root, "/");
    struct sl_route *routes[] = {a, root};
    struct sl_router *r = rt_build(routes, 2);
    struct sl_router_match m;
    /* Kong's case, with a '/' in front: the raw bytes arrive escaped, decode to invalid UTF-8 */
    assert_route(kexec(r, "GET", "example.org", "/\xfc\x80\x80\x80\x80\xaf", &m), NULL);
    assert_route(kexec(r, "GET", "example.org", "/hello/\xfc\x80", &m), NULL);
    assert_route(kexec(r, "GET", "example.org", "/caf%E9", &m), NULL);       /* Latin-1 */
    assert_route(kexec(r, "GET", "example.org", "/%C0%AE", &m), NULL);       /* overlong '.' */
    assert_route(kexec(r, "GET", "example.org", "/%ED%A0%80", &m), NULL);    /* surrogate */
    assert_route(kexec(r, "GET", "example.org", "/%F4%90%80%80", &m), NULL); /* > U+10FFFF */
    assert_route(kexec(r, "GET", "example.org", "/%E2%82", &m), NULL);       /* truncated */
    assert_route(kexec(r, "GET", "example.org", "/%E2%82/x", &m), NULL);
    /* valid UTF-8, escaped or raw, and reserved escapes are routed */
    assert_route(kexec(r, "GET", "example.org", "/caf%C3%A9", &m), ID("02"));
    assert_route(kexec(r, "GET", "example.org", "/caf\xc3\xa9", &m), ID("02"));
    assert_route(kexec(r, "GET", "example.org", "/%F0%9F%98%80/%2F%25", &m), ID("02"));
    assert_route(kexec(r, "GET", "example.org", "/hello/%E2%82%AC", &m), ID("01"));

    /* no route reads http.path: Kong never looks at it */
    struct sl_route *h = wild(ID("03"), "example.org");
    struct sl_route *hosts_only[] = {h};
    r = rt_build(hosts_only, 1);
    assert_route(kexec(r, "GET", "example.org", "/caf%E9", &m), ID("03"));
}

/* atc-router takes only UTF-8 values for the header fields some route matches on: Kong's router
 * errors and answers 404 for the whole request, whichever route it would have picked. Headers no
 * route reads are never looked at. */
Test(router_kong, header_values_some_route_reads_must_be_utf8)
{
    struct sl_route *h = rt_route(ID("01"));
    rt_header(h, "X-Version", "v1", NULL);
    struct sl_route *root = rt_route(ID("02"));
    PATHS(root, "/");
    struct sl_route *routes[] = {h, root};
    struct sl_router *r = rt_build(routes, 2);
    assert_route(kselect(r, "GET", "example.org", 80, "/", "x-version", "v1", NULL), ID("01"));
    assert_route(kselect(r, "GET", "example.org", 80, "/", "X-Version", "v\xe9", NULL), NULL);
    assert_route(kselect(r, "GET", "example.org", 80, "/", "x-version", "\xc0\xae", NULL), NULL);
    /* valid UTF-8 is read (and here matches no header route: the path route serves it) */
    assert_route(kselect(r, "GET", "example.org", 80, "/", "x-version", "caf\xc3\xa9", NULL),
                 ID("02"));
    /* a header no route reads may hold any byte */
    assert_route(kselect(r, "GET", "example.org", 80, "/", "x-other", "v\xe9", NULL), ID("02"));

    /* without header routes nothing is checked */
    struct sl_route *only_root[] = {root};
    r = rt_build(only_root, 1);
    assert_route(kselect(r, "GET", "example.org", 80, "/", "x-version", "v\xe9", NULL), ID("02"));
}
