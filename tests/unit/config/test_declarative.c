/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the declarative loader: valid YAML and JSON documents, defaults, the url shorthand,
 * references, stable ids, Kong's error messages (several at once), warnings, parse failures.
 * Expected ids were computed independently with Python's uuid.uuid5 (Kong's scheme, kong.md §6.2).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../failing_alloc.h"
#include "config/declarative.h"
#include "core/json_alloc.h"

static char err[65536];
static char warn[4096];

static struct sl_config *
load(const char *doc)
{
    struct sl_declarative_opts o = {.warn = warn, .warnlen = sizeof(warn), .now = 1700000000};
    return sl_declarative_load_string_opts(doc, strlen(doc), "kong.yml", &o, err, sizeof(err));
}

static struct sl_config *
must_load(const char *doc)
{
    struct sl_config *c = load(doc);
    cr_assert_not_null(c, "load failed:\n%s", err);
    return c;
}

/* Loads <doc>, expects a failure whose error text is exactly <want>. */
static void
must_fail_exactly(const char *doc, const char *want)
{
    struct sl_config *c = load(doc);
    cr_assert_null(c, "should fail:\n%s", doc);
    cr_assert_str_eq(err, want);
}

static void
must_fail_with(const char *doc, const char *want)
{
    struct sl_config *c = load(doc);
    cr_assert_null(c, "should fail:\n%s", doc);
    cr_assert(strstr(err, want) != NULL, "error\n%s\ndoes not contain\n%s", err, want);
}

static const struct sl_service *
service_named(const struct sl_config *c, const char *name)
{
    for (size_t i = 0; i < c->nservices; i++) {
        if (c->services[i]->name && strcmp(c->services[i]->name, name) == 0) {
            return c->services[i];
        }
    }
    cr_assert_fail("no service %s", name);
    return NULL;
}

static const struct sl_route *
route_named(const struct sl_config *c, const char *name)
{
    for (size_t i = 0; i < c->nroutes; i++) {
        if (c->routes[i]->name && strcmp(c->routes[i]->name, name) == 0) {
            return c->routes[i];
        }
    }
    cr_assert_fail("no route %s", name);
    return NULL;
}

#define HTTP_HTTPS (SL_PROTO_BIT(SL_PROTO_HTTP) | SL_PROTO_BIT(SL_PROTO_HTTPS))

static const char example[] = "_format_version: \"3.0\"\n"
                              "services:\n"
                              "- name: echo\n"
                              "  url: http://127.0.0.1:9001\n"
                              "  routes:\n"
                              "  - name: echo-route\n"
                              "    paths: [/echo]\n"
                              "    strip_path: true\n"
                              "- name: httpbin-like\n"
                              "  host: httpbin.local\n"
                              "  routes:\n"
                              "  - name: by-host\n"
                              "    hosts: [example.local]\n"
                              "routes:\n"
                              "- name: top\n"
                              "  service: echo\n"
                              "  methods: [GET, POST]\n"
                              "  paths: [\"~/users/\\\\d+$\"]\n";

Test(declarative, valid_yaml_nested_and_top_level)
{
    struct sl_config *c = must_load(example);
    cr_assert_eq(c->nservices, 2);
    cr_assert_eq(c->nroutes, 3);

    const struct sl_service *echo = c->services[0];
    cr_assert_str_eq(echo->name, "echo");
    cr_assert_str_eq(echo->id, "adbd70b3-4224-5183-a52a-179d7b34ab5b");
    cr_assert_eq(echo->protocol, SL_PROTO_HTTP);
    cr_assert_str_eq(echo->host, "127.0.0.1");
    cr_assert_eq(echo->port, 9001);
    cr_assert_null(echo->path);
    cr_assert_eq(echo->retries, 5);
    cr_assert_eq(echo->connect_timeout_ms, 60000);
    cr_assert_eq(echo->write_timeout_ms, 60000);
    cr_assert_eq(echo->read_timeout_ms, 60000);
    cr_assert(echo->enabled);
    cr_assert_eq(echo->tls_verify, -1);
    cr_assert_eq(echo->tls_verify_depth, -1);
    cr_assert_eq(echo->created_at, 1700000000);
    cr_assert_eq(echo->updated_at, 1700000000);
    cr_assert_eq(echo->tags.n, 0);

    const struct sl_service *hb = c->services[1];
    cr_assert_str_eq(hb->id, "6e91c2af-c7a5-548c-992d-2603bb117c8a");
    cr_assert_eq(hb->port, 80);

    /* nested routes first (in service order), then top-level ones */
    const struct sl_route *r = c->routes[0];
    cr_assert_str_eq(r->name, "echo-route");
    cr_assert_str_eq(r->id, "a0233861-1b6e-5a5e-8d5e-781c92a81f03");
    cr_assert_eq(r->service, echo);
    cr_assert_eq(r->protocols, HTTP_HTTPS);
    cr_assert_eq(r->paths.n, 1);
    cr_assert_str_eq(r->paths.v[0], "/echo");
    cr_assert(r->strip_path);
    cr_assert_not(r->preserve_host);
    cr_assert(r->request_buffering);
    cr_assert(r->response_buffering);
    cr_assert_eq(r->https_redirect_status_code, 426);
    cr_assert_eq(r->regex_priority, 0);
    cr_assert_eq(r->path_handling, SL_PATH_HANDLING_V0);
    cr_assert_null(r->methods.v);
    cr_assert_null(r->hosts.v);
    cr_assert_eq(r->nheaders, 0);

    cr_assert_str_eq(c->routes[1]->name, "by-host");
    cr_assert_eq(c->routes[1]->service, hb);
    cr_assert_str_eq(c->routes[1]->hosts.v[0], "example.local");

    const struct sl_route *top = c->routes[2];
    cr_assert_str_eq(top->name, "top");
    cr_assert_eq(top->service, echo);
    cr_assert_eq(top->methods.n, 2);
    cr_assert_str_eq(top->methods.v[1], "POST");
    cr_assert_str_eq(top->paths.v[0], "~/users/\\d+$");
    cr_assert_str_eq(warn, "");
    sl_config_free(c);
}

Test(declarative, valid_json)
{
    const char *doc = "{\"_format_version\": \"3.0\", \"services\": [{\"name\": \"s\", \"host\": "
                      "\"10.0.0.1\", \"port\": 8080, \"protocol\": \"https\", \"path\": \"/api\", "
                      "\"retries\": 0, \"tls_verify\": true, \"tls_verify_depth\": 3, \"tags\": "
                      "[\"a\", \"b c\", \"a\"], \"routes\": [{\"name\": \"r\", \"paths\": "
                      "[\"/v1\"], \"headers\": {\"X-Version\": [\"V1\", \"v2\"], \"X-Re\": "
                      "[\"~*^A.B$\"]}, \"preserve_host\": true, \"regex_priority\": -3, "
                      "\"https_redirect_status_code\": 308, \"path_handling\": \"v1\", "
                      "\"protocols\": [\"https\"]}]}]}";
    struct sl_config *c =
        sl_declarative_load_string(doc, strlen(doc), "kong.json", err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    const struct sl_service *s = c->services[0];
    cr_assert_eq(s->protocol, SL_PROTO_HTTPS);
    cr_assert_eq(s->port, 8080);
    cr_assert_str_eq(s->path, "/api");
    cr_assert_eq(s->retries, 0);
    cr_assert_eq(s->tls_verify, 1);
    cr_assert_eq(s->tls_verify_depth, 3);
    cr_assert_eq(s->tags.n, 2); /* a set */
    cr_assert_str_eq(s->tags.v[1], "b c");
    const struct sl_route *r = c->routes[0];
    cr_assert_eq(r->protocols, SL_PROTO_BIT(SL_PROTO_HTTPS));
    cr_assert(r->preserve_host);
    cr_assert_eq(r->regex_priority, -3);
    cr_assert_eq(r->https_redirect_status_code, 308);
    cr_assert_eq(r->path_handling, SL_PATH_HANDLING_V1);
    cr_assert_eq(r->nheaders, 2);
    cr_assert_str_eq(r->headers[0].name, "x-version");
    cr_assert_eq(r->headers[0].values.n, 2);
    cr_assert_str_eq(r->headers[0].values.v[0], "v1");
    cr_assert_str_eq(r->headers[1].name, "x-re");
    cr_assert_str_eq(r->headers[1].values.v[0], "~*^A.B$"); /* a regex keeps its case */
    sl_config_free(c);
}

Test(declarative, json_and_yaml_give_the_same_config)
{
    const char *json = "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"a\",\"host\":\"a."
                       "test\",\"routes\":[{\"paths\":[\"/a\"]}]}]}";
    struct sl_config *cj =
        sl_declarative_load_string(json, strlen(json), "x.json", err, sizeof(err));
    cr_assert_not_null(cj, "%s", err);
    /* without a .json name, '{' is tried as JSON first too */
    struct sl_config *cy = sl_declarative_load_string(json, strlen(json), NULL, err, sizeof(err));
    cr_assert_not_null(cy, "%s", err);
    struct sl_config *y = must_load("_format_version: '3.0'\nservices:\n- name: a\n  host: a.test\n"
                                    "  routes:\n  - paths: [/a]\n");
    cr_assert_str_eq(cj->services[0]->id, y->services[0]->id);
    cr_assert_str_eq(cj->routes[0]->id, y->routes[0]->id);
    cr_assert_str_eq(cy->routes[0]->id, y->routes[0]->id);
    sl_config_free(cj);
    sl_config_free(cy);
    sl_config_free(y);
}

/* kong.md §1.1: url → protocol, host, port, path */
Test(declarative, url_shorthand_table)
{
    struct {
        const char *url;
        enum sl_protocol protocol;
        const char *host;
        unsigned port;
        const char *path;
    } cases[] = {
        {"https://example.com", SL_PROTO_HTTPS, "example.com", 443, NULL},
        {"http://x:8080/p", SL_PROTO_HTTP, "x", 8080, "/p"},
        {"http://example.com", SL_PROTO_HTTP, "example.com", 80, NULL},
        {"http://example.com/", SL_PROTO_HTTP, "example.com", 80, "/"},
        {"//example.com:443/x", SL_PROTO_HTTPS, "example.com", 443, "/x"},
        {"//example.com:80", SL_PROTO_HTTP, "example.com", 80, NULL},
        {"//example.com:8443", SL_PROTO_HTTP, "example.com", 8443, NULL},
        {"https://u:p@example.com:8443/a/b?q=1#frag", SL_PROTO_HTTPS, "example.com", 8443, "/a/b"},
        {"http://[::1]:9000/v6", SL_PROTO_HTTP, "::1", 9000, "/v6"},
        {"grpc://g.test:50051", SL_PROTO_GRPC, "g.test", 50051, NULL},
        {"tcp://t.test:5000", SL_PROTO_TCP, "t.test", 5000, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[512];
        snprintf(doc, sizeof(doc), "_format_version: '3.0'\nservices:\n- url: '%s'\n",
                 cases[i].url);
        struct sl_config *c = load(doc);
        cr_assert_not_null(c, "%s: %s", cases[i].url, err);
        const struct sl_service *s = c->services[0];
        cr_assert_eq(s->protocol, cases[i].protocol, "%s", cases[i].url);
        cr_assert_str_eq(s->host, cases[i].host, "%s", cases[i].url);
        cr_assert_eq(s->port, cases[i].port, "%s", cases[i].url);
        if (cases[i].path == NULL) {
            cr_assert_null(s->path, "%s", cases[i].url);
        } else {
            cr_assert_str_eq(s->path, cases[i].path, "%s", cases[i].url);
        }
        sl_config_free(c);
    }
}

Test(declarative, url_shorthand_wins_over_fields_and_is_validated)
{
    struct sl_config *c = must_load("_format_version: '3.0'\nservices:\n- url: http://u.test:81/x\n"
                                    "  host: other.test\n  port: 99\n  protocol: https\n"
                                    "  path: /y\n  retries: 2\n");
    cr_assert_str_eq(c->services[0]->host, "u.test");
    cr_assert_eq(c->services[0]->port, 81);
    cr_assert_eq(c->services[0]->protocol, SL_PROTO_HTTP);
    cr_assert_str_eq(c->services[0]->path, "/x");
    cr_assert_eq(c->services[0]->retries, 2);
    sl_config_free(c);

    must_fail_exactly("_format_version: '3.0'\nservices:\n- url: 5\n",
                      /* Kong's process_auto_fields stops at a bad shorthand */
                      "in 'services': in entry 1 of 'services': in 'url': expected a string");
    must_fail_exactly("_format_version: '3.0'\nservices:\n- url: 'http://h.test:/x'\n",
                      "in 'services': in entry 1 of 'services': in 'port': expected an integer");
    must_fail_exactly("_format_version: '3.0'\nservices:\n- url: 'foo://h.test:99'\n",
                      "in 'services': in entry 1 of 'services': in 'protocol': expected one of: "
                      "grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp");
    must_fail_exactly("_format_version: '3.0'\nservices:\n- url: 'example.com'\n",
                      "in 'services': in entry 1 of 'services': in 'host': required field missing\n"
                      "in 'services': in entry 1 of 'services': in 'path': should start with: /");
}

Test(declarative, references_by_name_and_id)
{
    struct sl_config *c =
        must_load("_format_version: '3.0'\n"
                  "services:\n"
                  "- name: a\n  host: a.test\n"
                  "- id: 11111111-2222-4333-8444-555555555555\n  host: b.test\n"
                  "- id: AAAAAAAA-2222-4333-8444-555555555555\n  name: c\n  host: c.test\n"
                  "routes:\n"
                  "- {name: r1, paths: [/1], service: a}\n"
                  "- {name: r2, paths: [/2], service: 11111111-2222-4333-8444-555555555555}\n"
                  "- {name: r3, paths: [/3], service: {id: aaaaaaaa-2222-4333-8444-555555555555}}\n"
                  "- {name: r4, paths: [/4], service: {name: c}}\n"
                  "- {name: r5, paths: [/5]}\n");
    cr_assert_eq(route_named(c, "r1")->service, service_named(c, "a"));
    cr_assert_str_eq(route_named(c, "r2")->service->host, "b.test");
    cr_assert_eq(route_named(c, "r3")->service, service_named(c, "c"));
    cr_assert_eq(route_named(c, "r4")->service, service_named(c, "c"));
    cr_assert_null(route_named(c, "r5")->service);
    /* given ids are kept, in canonical lowercase */
    cr_assert_str_eq(service_named(c, "c")->id, "aaaaaaaa-2222-4333-8444-555555555555");
    sl_config_free(c);

    must_fail_exactly("_format_version: '3.0'\nroutes:\n- name: r\n  paths: [/]\n  service: nope\n",
                      "in 'routes': in 'r': invalid reference 'service: nope' (no such entry in "
                      "'services')");
    must_fail_exactly("_format_version: '3.0'\nroutes:\n- name: r\n  paths: [/]\n"
                      "  service: {name: nope}\n",
                      "in 'routes': in 'r': invalid reference 'service: {\"name\":\"nope\"}' (no "
                      "such entry in 'services')");
    /* a nested route may repeat its parent (Kong's second validation pass resolves it), and
     * nothing else */
    struct sl_config *nested = must_load("_format_version: '3.0'\nservices:\n- name: s\n  host: h\n"
                                         "  routes:\n  - paths: [/]\n    service: s\n");
    cr_assert_eq(nested->routes[0]->service, nested->services[0]);
    sl_config_free(nested);
    must_fail_with("_format_version: '3.0'\nservices:\n- name: s\n  host: h\n  routes:\n"
                   "  - paths: [/]\n    service: other\n",
                   "in 'services': in entry 1 of 'services': in 'routes': in entry 1 of 'routes': "
                   "in 'service': value must be null");
}

Test(declarative, ids_are_stable_across_loads)
{
    const char *doc = "_format_version: '3.0'\n"
                      "services:\n"
                      "- host: anon.test\n"
                      "  routes:\n"
                      "  - paths: [/a]\n"
                      "  - paths: [/b]\n"
                      "- name: named\n  host: n.test\n"
                      "routes:\n"
                      "- paths: [/c]\n";
    struct sl_config *a = must_load(doc);
    struct sl_config *b = must_load(doc);
    for (size_t i = 0; i < a->nservices; i++) {
        cr_assert_str_eq(a->services[i]->id, b->services[i]->id);
    }
    for (size_t i = 0; i < a->nroutes; i++) {
        cr_assert_str_eq(a->routes[i]->id, b->routes[i]->id);
        for (size_t j = 0; j < i; j++) {
            cr_assert_str_neq(a->routes[i]->id, a->routes[j]->id);
        }
    }
    cr_assert_str_neq(a->services[0]->id, a->services[1]->id);
    /* the named one has Kong's id: uuid5(uuid5(ns, "services"), "named") */
    cr_assert_str_eq(a->services[1]->id, "ea188708-3aa0-5eba-8991-2cecf2a836b4");
    sl_config_free(a);
    sl_config_free(b);
}

Test(declarative, defaults_and_timestamps)
{
    struct sl_config *c = must_load("_format_version: '3.0'\nservices:\n"
                                    "- host: h.test\n  created_at: 1600000000\n"
                                    "  updated_at: 1650000000\n  enabled: false\n"
                                    "routes:\n- paths: [/]\n  updated_at: nonsense\n");
    const struct sl_service *s = c->services[0];
    cr_assert_eq(s->created_at, 1600000000);
    cr_assert_eq(s->updated_at, 1650000000);
    cr_assert_not(s->enabled); /* disabled services are kept */
    cr_assert_null(s->name);
    cr_assert_eq(c->routes[0]->created_at, 1700000000);
    cr_assert_eq(c->routes[0]->updated_at, 1700000000); /* Kong never validates updated_at */
    sl_config_free(c);
}

Test(declarative, format_version)
{
    must_fail_exactly("services: []\n", "in '_format_version': required field missing");
    must_fail_exactly("_format_version: 3.0\n", "in '_format_version': expected a string");
    must_fail_exactly("_format_version: '4.0'\n",
                      "in '_format_version': expected one of: 1.1, 2.1, 3.0");
    must_fail_exactly("_format_version: '3.0'\n_transform: 1\n",
                      "in '_transform': expected a boolean");
    struct sl_config *c = must_load("_format_version: \"1.1\"\n_transform: false\n"
                                    "_comment: hi\n");
    cr_assert_eq(c->nservices, 0);
    cr_assert_eq(c->nroutes, 0);
    sl_config_free(c);
}

Test(declarative, old_format_paths_are_migrated)
{
    struct sl_config *c = must_load("_format_version: '2.1'\nroutes:\n"
                                    "- name: r\n  paths: ['/users/\\d+', '/a//b/./c', '/x%2Ey']\n");
    const struct sl_route *r = c->routes[0];
    cr_assert_str_eq(r->paths.v[0], "~/users/\\d+");
    cr_assert_str_eq(r->paths.v[1], "/a/b/c");
    cr_assert_str_eq(r->paths.v[2], "/x.y");
    sl_config_free(c);
    /* in 3.0 the same paths are errors */
    must_fail_with("_format_version: '3.0'\nroutes:\n- name: r\n  paths: ['/a//b']\n",
                   "in 'routes': in entry 1 of 'routes': in 'paths': in entry 1 of 'paths': must "
                   "not have empty segments");
}

Test(declarative, service_errors_all_at_once)
{
    must_fail_exactly(
        "_format_version: '3.0'\n"
        "services:\n"
        "- name: 'bad name'\n"
        "  host: 'example.com:8080'\n"
        "  port: '80'\n"
        "  retries: 40000\n"
        "  connect_timeout: 0\n"
        "  protocol: tcp\n"
        "  path: /p\n"
        "  tags: ['ok', 'a,b']\n"
        "  extra: 1\n"
        "- protocol: http\n"
        "  host: 'in valid'\n"
        "  path: 'no-slash'\n"
        "  tls_verify: true\n"
        "  tls_verify_depth: 65\n"
        "- 42\n"
        "- host: h.test\n"
        "  path: '/a b'\n"
        "- host: h.test\n"
        "  path: '/a%zz'\n"
        "- host: h.test\n"
        "  id: not-a-uuid\n"
        "  created_at: 0\n"
        "  enabled: null\n",
        "in 'services': in entry 1 of 'services': in 'name': invalid value 'bad name': the only "
        "accepted ascii characters are alphanumerics or ., -, _, and ~\n"
        "in 'services': in entry 1 of 'services': in 'retries': value should be between 0 and "
        "32767\n"
        "in 'services': in entry 1 of 'services': in 'host': must not have a port\n"
        "in 'services': in entry 1 of 'services': in 'port': expected an integer\n"
        "in 'services': in entry 1 of 'services': in 'connect_timeout': value should be between 1 "
        "and 2147483646\n"
        "in 'services': in entry 1 of 'services': in 'tags': in entry 2 of 'tags': invalid tag "
        "'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences\n"
        "in 'services': in entry 1 of 'services': in 'extra': unknown field\n"
        "in 'services': in entry 1 of 'services': in 'path': value must be null\n"
        "in 'services': in entry 1 of 'services': failed conditional validation given value of "
        "field 'protocol'\n"
        "in 'services': in entry 2 of 'services': in 'host': invalid value: in valid\n"
        "in 'services': in entry 2 of 'services': in 'path': should start with: /\n"
        /* tls_verify_depth had its own error, replaced in place; tls_verify's is appended */
        "in 'services': in entry 2 of 'services': in 'tls_verify_depth': value must be null\n"
        "in 'services': in entry 2 of 'services': in 'tls_verify': value must be null\n"
        "in 'services': in entry 2 of 'services': failed conditional validation given value of "
        "field 'protocol'\n"
        "in 'services': in entry 2 of 'services': failed conditional validation given value of "
        "field 'protocol'\n"
        "in 'services': in entry 3 of 'services': expected a record\n"
        "in 'services': in entry 4 of 'services': in 'path': invalid path: '/a b' (characters "
        "outside of the reserved list of RFC 3986 found)\n"
        "in 'services': in entry 5 of 'services': in 'path': invalid url-encoded value: '%zz'\n"
        "in 'services': in entry 6 of 'services': in 'id': expected a valid UUID\n"
        "in 'services': in entry 6 of 'services': in 'created_at': expected a valid timestamp\n"
        "in 'services': in entry 6 of 'services': in 'enabled': required field missing");
}

/* A route entry that is not a record is reported at its place, nested or top-level, and the
 * entries after it are still validated. */
Test(declarative, route_entries_that_are_not_records)
{
    must_fail_exactly("_format_version: '3.0'\n"
                      "services:\n"
                      "- name: s\n"
                      "  url: http://u.test\n"
                      "  routes:\n"
                      "  - 7\n"
                      "  - paths: [nope]\n"
                      "routes:\n"
                      "- null\n"
                      "- [a]\n",
                      "in 'services': in entry 1 of 'services': in 'routes': in entry 1 of "
                      "'routes': expected a record\n"
                      "in 'services': in entry 1 of 'services': in 'routes': in entry 2 of "
                      "'routes': in 'paths': in entry 1 of 'paths': should start with: / (fixed "
                      "path) or ~/ (regex path)\n"
                      "in 'routes': in entry 1 of 'routes': required field missing\n"
                      "in 'routes': in entry 2 of 'routes': expected a record");
}

Test(declarative, host_rules)
{
    const char *ok[] = {"a.test",           "10.0.0.1",      "::1",      "[::1]",
                        "under_score.test", "trailing.dot.", "x-y.test", "-lead.test"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char doc[256];
        snprintf(doc, sizeof(doc), "_format_version: '3.0'\nservices:\n- host: '%s'\n", ok[i]);
        struct sl_config *c = load(doc);
        cr_assert_not_null(c, "%s: %s", ok[i], err);
        sl_config_free(c);
    }
    struct {
        const char *host;
        const char *msg;
    } bad[] = {
        {"a.test:80", "must not have a port"},     {"10.0.0.1:80", "must not have a port"},
        {"[::1]:80", "must not have a port"},      {"a.test:99999", "must not have a port"},
        {"300.1.1.1", "invalid value: 300.1.1.1"}, {"a..b", "invalid value: a..b"},
        {"bad-.test", "invalid value: bad-.test"}, {"ex ample", "invalid value: ex ample"},
        {"1:2:3", "invalid value: 1:2:3"},         {"1.2.3.4.5", "invalid value: 1.2.3.4.5"},
        {"", "length must be at least 1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char doc[256];
        char want[256];
        snprintf(doc, sizeof(doc), "_format_version: '3.0'\nservices:\n- host: '%s'\n",
                 bad[i].host);
        snprintf(want, sizeof(want), "in 'services': in entry 1 of 'services': in 'host': %s",
                 bad[i].msg);
        must_fail_exactly(doc, want);
    }
}

Test(declarative, route_errors_all_at_once)
{
    must_fail_exactly(
        "_format_version: '3.0'\n"
        "routes:\n"
        "- name: r1\n"
        "  paths: ['/a/../b', 'nope', '/x//y', '~/(open', '/%zz', '']\n"
        "  methods: [get, POST]\n"
        "  hosts: ['*.a.*', 'a.*.b', 'exa mple.com', 'ok.test:8080', '*.fine.test']\n"
        "  headers: {Host: [x]}\n"
        "  snis: [a.test]\n"
        "  https_redirect_status_code: 303\n"
        "  path_handling: v2\n"
        "- name: r2\n"
        "  protocols: [http, tcp]\n"
        "  paths: [/a]\n"
        "- name: r3\n"
        "  protocols: [http]\n"
        "- name: r4\n"
        "  protocols: [http]\n"
        "  snis: [s.test]\n"
        "- name: r5\n"
        "  protocols: [grpc]\n"
        "  strip_path: true\n"
        "  methods: [GET]\n"
        "- name: r6\n"
        "  protocols: [tcp]\n"
        "  paths: [/x]\n"
        "- name: r7\n"
        "  protocols: [tls_passthrough]\n"
        "  sources: [{ip: 1.2.3.4}]\n"
        "- name: r8\n"
        "  protocols: []\n"
        "- name: r9\n"
        "  protocols: null\n"
        "- name: r10\n"
        "  protocols: [foo]\n"
        "- name: r11\n"
        "  protocols: [https, bar]\n"
        "  paths: [/]\n"
        "  sources: [{ip: 1.1.1.1}]\n"
        "  expression: 'http.path == \"/\"'\n"
        "  headers: {x-a: 'single'}\n",
        "in 'routes': in entry 1 of 'routes': in 'methods': in entry 1 of 'methods': invalid "
        "value: "
        "get\n"
        "in 'routes': in entry 1 of 'routes': in 'hosts': in entry 1 of 'hosts': invalid wildcard: "
        "must have at most one wildcard\n"
        "in 'routes': in entry 1 of 'routes': in 'hosts': in entry 2 of 'hosts': invalid wildcard: "
        "must be placed at leftmost or rightmost label\n"
        "in 'routes': in entry 1 of 'routes': in 'hosts': in entry 3 of 'hosts': invalid hostname: "
        "exa mple.com\n"
        "in 'routes': in entry 1 of 'routes': in 'paths': in entry 1 of 'paths': non-normalized "
        "path, consider use '/b' instead\n"
        "in 'routes': in entry 1 of 'routes': in 'paths': in entry 2 of 'paths': should start "
        "with: / (fixed path) or ~/ (regex path)\n"
        "in 'routes': in entry 1 of 'routes': in 'paths': in entry 3 of 'paths': must not have "
        "empty segments\n"
        "in 'routes': in entry 1 of 'routes': in 'paths': in entry 4 of 'paths': invalid regex: "
        "'/(open' (PCRE returned: pcre2_compile() failed: missing closing parenthesis in "
        "\"/(open\")\n"
        "in 'routes': in entry 1 of 'routes': in 'paths': in entry 5 of 'paths': invalid "
        "url-encoded value: '%zz'\n"
        "in 'routes': in entry 1 of 'routes': in 'paths': in entry 6 of 'paths': length must be at "
        "least 1\n"
        "in 'routes': in entry 1 of 'routes': in 'headers': cannot contain 'host' header, which "
        "must be specified in the 'hosts' attribute\n"
        "in 'routes': in entry 1 of 'routes': in 'https_redirect_status_code': expected one of: "
        "426, 301, 302, 307, 308\n"
        "in 'routes': in entry 1 of 'routes': in 'path_handling': expected one of: v0, v1\n"
        "in 'routes': in entry 2 of 'routes': in 'protocols': these sets are mutually exclusive: "
        "('http', 'https'), ('tcp', 'tls', 'udp')\n"
        "in 'routes': in entry 3 of 'routes': must set one of 'methods', 'hosts', 'headers', "
        "'paths' when 'protocols' is 'http'\n"
        "in 'routes': in entry 4 of 'routes': in 'snis': length must be 0\n"
        "in 'routes': in entry 4 of 'routes': 'snis' can only be set when 'protocols' is 'grpcs', "
        "'https', 'tls' or 'tls_passthrough'\n"
        "in 'routes': in entry 4 of 'routes': must set one of 'methods', 'hosts', 'headers', "
        "'paths' when 'protocols' is 'http'\n"
        "in 'routes': in entry 5 of 'routes': in 'strip_path': cannot set 'strip_path' when "
        "'protocols' is 'grpc' or 'grpcs'\n"
        "in 'routes': in entry 5 of 'routes': in 'methods': cannot set 'methods' when 'protocols' "
        "is 'grpc' or 'grpcs'\n"
        "in 'routes': in entry 5 of 'routes': must set one of 'hosts', 'headers', 'paths' when "
        "'protocols' is 'grpc'\n"
        "in 'routes': in entry 6 of 'routes': in 'paths': cannot set 'paths' when 'protocols' is "
        "'tcp', 'tls', 'tls_passthrough' or 'udp'\n"
        "in 'routes': in entry 6 of 'routes': must set one of 'sources', 'destinations', 'snis' "
        "when 'protocols' is 'tcp', 'tls' or 'udp'\n"
        "in 'routes': in entry 7 of 'routes': must set snis when 'protocols' is 'tls_passthrough'\n"
        "in 'routes': in entry 8 of 'routes': in 'protocols': unknown type: nil\n"
        "in 'routes': in entry 9 of 'routes': in 'protocols': required field missing\n"
        "in 'routes': in entry 10 of 'routes': in 'protocols': unknown type: foo\n"
        "in 'routes': in entry 11 of 'routes': in 'protocols': in entry 2 of 'protocols': expected "
        "one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp\n"
        "in 'routes': in entry 11 of 'routes': in 'headers': expected an array\n"
        /* protocols is invalid, so the subschema's entity checks (sources) do not run */
        "in 'routes': in entry 11 of 'routes': in 'expression': unknown field");
}

Test(declarative, https_routes_need_a_matching_field)
{
    must_fail_exactly("_format_version: '3.0'\nroutes:\n- name: r\n",
                      "in 'routes': in entry 1 of 'routes': must set one of 'methods', 'hosts', "
                      "'headers', 'paths', 'snis' when 'protocols' is 'https'");
    /* snis alone is enough for https */
    struct sl_config *c = must_load("_format_version: '3.0'\nroutes:\n- snis: [x.test]\n");
    cr_assert_eq(c->routes[0]->snis.n, 1);
    sl_config_free(c);
}

Test(declarative, header_rules)
{
    must_fail_exactly("_format_version: '3.0'\nroutes:\n- headers: {'x y': [a]}\n",
                      "in 'routes': in entry 1 of 'routes': in 'headers': bad header name 'x y', "
                      "allowed characters are A-Z, a-z, 0-9, '_', and '-'");
    must_fail_exactly("_format_version: '3.0'\nroutes:\n- headers: {x-a: [a, 5]}\n",
                      "in 'routes': in entry 1 of 'routes': in 'headers': in entry 2 of 'headers': "
                      "expected a string");
    /* a list is a Lua table: Kong checks its keys (1..n) as header names */
    must_fail_exactly("_format_version: '3.0'\nroutes:\n- headers: [a]\n",
                      "in 'routes': in entry 1 of 'routes': in 'headers': expected a string");
    must_fail_exactly("_format_version: '3.0'\nroutes:\n- headers: a\n",
                      "in 'routes': in entry 1 of 'routes': in 'headers': expected a map");
    must_fail_with("_format_version: '3.0'\nroutes:\n- headers: {x-a: ['~*(']}\n",
                   "in 'headers': in entry 1 of 'headers': invalid regex: '('");
}

Test(declarative, uniqueness)
{
    must_fail_exactly("_format_version: '3.0'\nservices:\n- {name: foo, host: a}\n"
                      "- {name: foo, host: b}\n",
                      "in 'services': in entry 2 of 'services': uniqueness violation: 'services' "
                      "entity with name set to 'foo' already declared");
    must_fail_exactly(
        "_format_version: '3.0'\nservices:\n"
        "- {id: 0855b320-0dd2-547d-891d-601e9b38647f, host: a}\n"
        "- {id: 0855b320-0dd2-547d-891d-601e9b38647f, host: b}\n",
        "in 'services': in entry 2 of 'services': uniqueness violation: 'services' entity with "
        "primary key set to '0855b320-0dd2-547d-891d-601e9b38647f' already declared");
    must_fail_exactly("_format_version: '3.0'\n"
                      "services:\n- name: s\n  host: h\n  routes:\n  - {name: r, paths: [/a]}\n"
                      "routes:\n- {name: r, paths: [/b]}\n",
                      "in 'routes': in entry 1 of 'routes': uniqueness violation: 'routes' entity "
                      "with name set to 'r' already declared");
}

Test(declarative, yaml_typing_like_kong)
{
    /* quoted numbers stay strings; yes/no are booleans in YAML 1.1 */
    must_fail_exactly("_format_version: '3.0'\nservices:\n- host: h\n  port: \"8080\"\n",
                      "in 'services': in entry 1 of 'services': in 'port': expected an integer");
    struct sl_config *c = must_load("_format_version: '3.0'\nservices:\n- host: h\n  port: 8080.0\n"
                                    "  enabled: no\n  retries: 0x1f\n");
    cr_assert_eq(c->services[0]->port, 8080);
    cr_assert_not(c->services[0]->enabled);
    cr_assert_eq(c->services[0]->retries, 31);
    sl_config_free(c);
    must_fail_exactly("_format_version: '3.0'\nservices:\n- host: h\n  port: .inf\n",
                      "in 'services': in entry 1 of 'services': in 'port': expected an integer");
}

Test(declarative, yaml_anchors_and_merges)
{
    /* x-defaults is not a known table, so use _ignore to carry the anchor */
    struct sl_config *c = must_load("_format_version: '3.0'\n"
                                    "_ignore:\n- &d {host: shared.test, port: 81}\n"
                                    "services:\n- <<: *d\n  name: a\n- <<: *d\n  name: b\n"
                                    "  port: 82\n");
    cr_assert_str_eq(c->services[0]->host, "shared.test");
    cr_assert_eq(c->services[0]->port, 81);
    cr_assert_eq(c->services[1]->port, 82);
    sl_config_free(c);
}

Test(declarative, ignored_entities_warn)
{
    struct sl_config *c = must_load("_format_version: '3.0'\n"
                                    "consumers:\n- username: bob\n- username: alice\n"
                                    "  keyauth_credentials: [{key: k}]\n"
                                    "plugins: []\n"
                                    "vaults:\n- name: env\n  prefix: e\n"
                                    "upstreams: []\n"
                                    "services:\n- name: s\n  host: h\n  plugins: []\n"
                                    "  routes:\n  - paths: [/]\n    plugins: null\n");
    cr_assert_str_eq(warn, "ignoring 'consumers' (2 entries): not supported by Sluice yet\n"
                           "ignoring 'vaults' (1 entries): not supported by Sluice yet\n"
                           "in 'consumers': in entry 2 of 'consumers': ignoring "
                           "'keyauth_credentials' (1 entries): not supported by Sluice yet");
    sl_config_free(c);
    must_fail_exactly("_format_version: '3.0'\nconsumers: 5\nbogus: []\n",
                      "in 'consumers': expected an array\nin 'bogus': unknown field");
}

/* Plugins are never ignored (a file that protects a route with key-auth must not be served
 * without it): no plugin is bundled yet, so each entry, wherever it is, gets the plugin entity's
 * errors, as the Admin API gives them, and only the name's when the name is unknown (Kong's
 * Schema:validate stops there). */
Test(declarative, plugins_anywhere_are_refused_with_the_entity_errors)
{
    must_fail_exactly(
        "_format_version: '3.0'\n"
        "plugins:\n- name: cors\n  service: s\n  config: {origins: ['*']}\n- 5\n- null\n"
        "services:\n- name: s\n  host: h\n"
        "  plugins:\n  - name: rate-limiting\n    protocols: [ftp]\n"
        "  routes:\n  - paths: [/]\n    plugins: [{name: key-auth}]\n"
        "consumers:\n- username: bob\n  plugins: [{config: {}}, {name: 7}]\n"
        "routes:\n- paths: [/x]\n  plugins: {name: acl}\n",
        "in 'plugins': in entry 1 of 'plugins': in 'name': plugin 'cors' not enabled; add it to "
        "the 'plugins' configuration property\n"
        "in 'plugins': in entry 2 of 'plugins': expected a record\n"
        "in 'plugins': in entry 3 of 'plugins': required field missing\n"
        "in 'services': in entry 1 of 'services': in 'plugins': in entry 1 of 'plugins': in "
        "'name': plugin 'rate-limiting' not enabled; add it to the 'plugins' configuration "
        "property\n"
        "in 'services': in entry 1 of 'services': in 'routes': in entry 1 of 'routes': in "
        "'plugins': in entry 1 of 'plugins': in 'name': plugin 'key-auth' not enabled; add it to "
        "the 'plugins' configuration property\n"
        "in 'routes': in entry 1 of 'routes': in 'plugins': expected an array\n"
        "in 'consumers': in entry 1 of 'consumers': in 'plugins': in entry 1 of 'plugins': in "
        "'name': required field missing\n"
        "in 'consumers': in entry 1 of 'consumers': in 'plugins': in entry 2 of 'plugins': in "
        "'name': expected a string");
}

/* Loads <doc> once with each of jansson's allocations failing in turn, calling <check> on every
 * configuration that loads anyway (<n>: the allocation that failed). */
static void
load_failing_each_allocation(const char *doc, void (*check)(const struct sl_config *, long n))
{
    json_t *root = json_loads(doc, 0, NULL);
    cr_assert_not_null(root);
    long n;
    for (n = 0;; n++) {
        fa_arm(n);
        sl_json_alloc_init(fa_malloc); /* under the failure count, as main() installs it */
        struct sl_config *c = sl_declarative_load_json(root, NULL, err, sizeof(err));
        sl_json_alloc_init(NULL);
        fa_disarm();
        if (c != NULL) {
            check(c, n);
            sl_config_free(c);
        }
        if (!fa_failed) {
            break; /* the load made fewer than n + 1 allocations: every one has failed once */
        }
    }
    cr_assert_gt(n, 10, "the allocator was not used");
    json_decref(root);
}

static void
must_not_load(const struct sl_config *c, long n)
{
    cr_assert_fail("loaded without its plugin (%zu services) when allocation %ld failed",
                   c->nservices, n);
}

/* A plugin entry is never kept, so its error is what refuses the file: when an allocation fails
 * and the error is lost, the load fails as out of memory rather than serve without the plugin. */
Test(declarative, plugins_are_refused_when_an_allocation_fails)
{
    load_failing_each_allocation(
        "{\"_format_version\": \"3.0\", \"plugins\": [{\"name\": \"key-auth\"}]}", must_not_load);
    load_failing_each_allocation(
        "{\"_format_version\": \"3.0\", \"services\": [{\"host\": \"h\", \"routes\": "
        "[{\"paths\": [\"/\"], \"plugins\": [{\"name\": \"key-auth\"}]}]}]}",
        must_not_load);
    load_failing_each_allocation("{\"_format_version\": \"3.0\", \"consumers\": [{\"username\": "
                                 "\"u\", \"plugins\": [{\"name\": \"acl\"}]}]}",
                                 must_not_load);
}

static void
must_stay_tls(const struct sl_config *c, long n)
{
    cr_assert_eq(c->nservices, 1);
    enum sl_protocol p = c->services[0]->protocol;
    cr_assert(p == SL_PROTO_HTTPS || p == SL_PROTO_GRPCS || p == SL_PROTO_TLS ||
                  p == SL_PROTO_TLS_PASSTHROUGH,
              "allocation %ld failing made it protocol %d", n, (int)p);
}

static void
must_name_the_upstream(const struct sl_config *c, long n)
{
    cr_assert_eq(c->nservices, 1);
    cr_assert(c->services[0]->names_upstream, "allocation %ld failing unmarked the service", n);
}

/* What keeps a service from being sent in clear (its TLS protocol) or where DNS says (the
 * upstream its host names) survives any allocation failure: such a load either fails or keeps
 * them. jansson leaves out an object member it cannot insert, and the engine used to take the
 * default (http) or skip the nameless upstream. */
Test(declarative, tls_and_upstream_services_stay_so_when_an_allocation_fails)
{
    load_failing_each_allocation(
        "{\"_format_version\": \"3.0\", \"services\": [{\"protocol\": "
        "\"https\", \"host\": \"h\", \"routes\": [{\"paths\": [\"/\"]}]}]}",
        must_stay_tls);
    load_failing_each_allocation("{\"_format_version\": \"3.0\", \"services\": [{\"url\": "
                                 "\"grpcs://h:8443\", \"routes\": [{\"paths\": [\"/\"]}]}]}",
                                 must_stay_tls);
    load_failing_each_allocation(
        "{\"_format_version\": \"3.0\", \"upstreams\": [{\"name\": \"pool\"}], \"services\": "
        "[{\"host\": \"pool\", \"routes\": [{\"paths\": [\"/\"]}]}]}",
        must_name_the_upstream);
}

Test(declarative, parse_failures)
{
    must_fail_exactly("services: [a, b\n",
                      "failed parsing declarative configuration: kong.yml:2:1: did not find "
                      "expected ',' or ']'");
    must_fail_exactly("- a\n- b\n", "failed parsing declarative configuration: expected an object");
    must_fail_exactly("", "failed parsing declarative configuration: expected an object");
    must_fail_exactly("just a string", "failed parsing declarative configuration: expected an "
                                       "object");
    struct sl_config *c = sl_declarative_load_string("{\"a\": }", 7, "k.json", err, sizeof(err));
    cr_assert_null(c);
    cr_assert(strncmp(err, "failed parsing declarative configuration: k.json:1:", 51) == 0, "%s",
              err);
    c = sl_declarative_load_file("/nonexistent/kong.yml", err, sizeof(err));
    cr_assert_null(c);
    cr_assert_str_eq(err, "/nonexistent/kong.yml: No such file or directory");
}

Test(declarative, load_file)
{
    char path[] = "/tmp/sluice-decl-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, example, strlen(example)), (ssize_t)strlen(example));
    close(fd);
    struct sl_config *c = sl_declarative_load_file(path, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    cr_assert_eq(c->nservices, 2);
    sl_config_free(c);
    unlink(path);
}

Test(declarative, many_errors_are_capped)
{
    size_t n = SL_DECLARATIVE_MAX_ERRORS + 500;
    size_t cap = 64 + n * 16;
    char *doc = malloc(cap);
    size_t w = (size_t)snprintf(doc, cap, "_format_version: '3.0'\nroutes:\n");
    for (size_t i = 0; i < n; i++) {
        w += (size_t)snprintf(doc + w, cap - w, "- paths: [x]\n");
    }
    char *big = malloc(1 << 20);
    struct sl_config *c = sl_declarative_load_string(doc, w, NULL, big, 1 << 20);
    cr_assert_null(c);
    size_t lines = 1;
    for (const char *p = big; *p; p++) {
        lines += *p == '\n';
    }
    cr_assert_eq(lines, SL_DECLARATIVE_MAX_ERRORS + 1);
    cr_assert(strstr(big, "\n... and 500 more") != NULL);
    /* a small buffer is truncated, never overrun */
    char small[16];
    c = sl_declarative_load_string(doc, w, NULL, small, sizeof(small));
    cr_assert_null(c);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
    free(big);
    free(doc);
}

Test(declarative, empty_config)
{
    struct sl_config *c = sl_config_new_empty();
    cr_assert_not_null(c);
    cr_assert_eq(c->nservices, 0);
    cr_assert_eq(c->nroutes, 0);
    cr_assert_not_null(c->arena);
    sl_config_free(c);
    sl_config_free(NULL);
}

Test(declarative, example_file_loads)
{
    if (access("examples/kong.yml", R_OK) != 0) {
        cr_skip_test("run from the repository root");
    }
    struct sl_config *c = sl_declarative_load_file("examples/kong.yml", err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    cr_assert_eq(c->nservices, 2);
    const struct sl_service *echo = service_named(c, "echo");
    cr_assert_str_eq(echo->host, "127.0.0.1");
    cr_assert_eq(echo->port, 9001);
    const struct sl_route *r = route_named(c, "echo");
    cr_assert_str_eq(r->paths.v[0], "/echo");
    cr_assert(r->strip_path);
    cr_assert_eq(r->service, echo);
    const struct sl_route *h = route_named(c, "httpbin-like");
    cr_assert_str_eq(h->hosts.v[0], "example.local");
    cr_assert_eq(h->service, service_named(c, "httpbin-like"));
    sl_config_free(c);
}

/* The data plane does not serve upstreams, but takes their names: a service whose host is one is
 * marked (it answers 503 rather than go where DNS says), and the warning says so. */
Test(declarative, services_naming_an_upstream_are_marked)
{
    struct sl_config *c = must_load("_format_version: '3.0'\n"
                                    "upstreams:\n- name: pool.internal\n"
                                    "  targets: [{target: '10.0.0.1:80'}]\n"
                                    "services:\n- name: a\n  host: pool.internal\n"
                                    "- name: b\n  host: pool.internal.example\n");
    cr_assert(c->services[0]->names_upstream);
    cr_assert_not(c->services[1]->names_upstream);
    cr_assert_str_eq(warn, "ignoring 'upstreams' (1 entries): not supported by Sluice yet (a "
                           "service whose host names one answers 503)");
    sl_config_free(c);
}

/* Kong's WASM filter chains change traffic as plugins do; with wasm off (Kong's default, and
 * Sluice has none) Kong's entity check refuses each entry with "wasm support is not enabled". */
Test(declarative, filter_chains_are_refused)
{
    must_fail_exactly("_format_version: '3.0'\n"
                      "filter_chains:\n- name: fc\n  service: s\n  filters: [{name: f}]\n- 3\n"
                      "services:\n- name: s\n  host: h\n"
                      "  filter_chains: [{filters: [{name: f}]}]\n"
                      "  routes:\n  - paths: [/]\n    filter_chains: []\n",
                      "in 'filter_chains': in entry 1 of 'filter_chains': wasm support is not "
                      "enabled\n"
                      "in 'filter_chains': in entry 2 of 'filter_chains': expected a record\n"
                      "in 'services': in entry 1 of 'services': in 'filter_chains': in entry 1 of "
                      "'filter_chains': wasm support is not enabled");
    sl_config_free(must_load("_format_version: '3.0'\nfilter_chains: []\n"));
}
