/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the core entity schemas: defaults, Kong's messages and key rules of services (url
 * shorthand), routes (protocol subschemas), consumers, upstreams (healthchecks), targets, plugins
 * (plugin schema hook), snis and tags; the registry order and the /schemas rendering. */
#include "helpers.h"
#include "schema/entities/entities.h"
#include "schema/typedefs.h"

#define SVC (&sl_schema_services)
#define ROUTE (&sl_schema_routes)
#define UUID1 "4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b"

static const char *
field_err(const struct sl_schema *s, const char *input, const char *field)
{
    static char buf[8192];
    json_t *e = bad_insert(s, input);
    const json_t *v = json_object_get(e, field);
    snprintf(buf, sizeof(buf), "%s", json_is_string(v) ? json_string_value(v) : jtext(v));
    json_decref(e);
    return buf;
}

static const char *
message(const struct sl_schema *s, const char *input)
{
    static char buf[8192];
    json_t *e = bad_insert(s, input);
    json_t *b = sl_err_schema_violation(e);
    snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(b, "message")));
    json_decref(b);
    json_decref(e);
    return buf;
}

/* ---- registry ------------------------------------------------------------------------------- */

Test(registry, core_order_and_lookup)
{
    const char *want[] = {"consumers", "certificates", "services", "routes", "snis",
                          "upstreams", "targets",      "plugins",  "tags",   "ca_certificates"};
    size_t n = 0;
    for (; sl_schema_core[n] != NULL; n++) {
        cr_assert_str_eq(sl_schema_core[n]->name, want[n]);
        cr_assert_eq(sl_schema_find(want[n]), sl_schema_core[n]);
    }
    cr_assert_eq(n, 10);
    cr_assert_null(sl_schema_find("apis"));
    cr_assert_null(sl_schema_find(NULL));
    cr_assert_str_eq(sl_schema_find("services")->endpoint_key, "name");
    cr_assert_str_eq(sl_schema_find("consumers")->endpoint_key, "username");
    cr_assert_str_eq(sl_schema_find("targets")->cache_key[1], "target");
    cr_assert(sl_schema_has_tags(sl_schema_find("services")));
    cr_assert_not(sl_schema_has_tags(sl_schema_find("tags")));
}

/* ---- services ------------------------------------------------------------------------------- */

Test(services, defaults)
{
    json_t *o = ok_insert(SVC, "{\"host\":\"example.com\"}");
    cr_assert_str_eq(err_at(o, "protocol"), "http");
    cr_assert_eq(json_integer_value(json_object_get(o, "port")), 80);
    cr_assert_eq(json_integer_value(json_object_get(o, "retries")), 5);
    cr_assert_eq(json_integer_value(json_object_get(o, "connect_timeout")), 60000);
    cr_assert_eq(json_integer_value(json_object_get(o, "write_timeout")), 60000);
    cr_assert_eq(json_integer_value(json_object_get(o, "read_timeout")), 60000);
    cr_assert(json_is_true(json_object_get(o, "enabled")));
    cr_assert(json_is_null(json_object_get(o, "tls_verify")));
    cr_assert(json_is_null(json_object_get(o, "path")));
    cr_assert(json_is_null(json_object_get(o, "tags")));
    json_decref(o);
}

static void
url_case(const char *url, const char *protocol, const char *host, int port, const char *path)
{
    char in[512];
    snprintf(in, sizeof(in), "{\"url\":\"%s\"}", url);
    json_t *o = ok_insert(SVC, in);
    cr_assert_str_eq(err_at(o, "protocol"), protocol, "%s", url);
    cr_assert_str_eq(err_at(o, "host"), host, "%s", url);
    cr_assert_eq(json_integer_value(json_object_get(o, "port")), port, "%s", url);
    if (path == NULL) {
        cr_assert(json_is_null(json_object_get(o, "path")), "%s", url);
    } else {
        cr_assert_str_eq(err_at(o, "path"), path, "%s", url);
    }
    cr_assert_null(json_object_get(o, "url"));
    json_decref(o);
}

Test(services, url_shorthand_table)
{
    url_case("https://example.com", "https", "example.com", 443, NULL);
    url_case("http://x:8080/p", "http", "x", 8080, "/p");
    url_case("http://example.com", "http", "example.com", 80, NULL);
    url_case("https://example.com:8443/a/b?q=1#frag", "https", "example.com", 8443, "/a/b");
    url_case("grpc://g.example:9000", "grpc", "g.example", 9000, NULL);
    url_case("tcp://10.0.0.1:5432", "tcp", "10.0.0.1", 5432, NULL);
    url_case("http://user:pw@h.com:81/", "http", "h.com", 81, "/");
    url_case("http://[::1]:8080/x", "http", "::1", 8080, "/x");
    url_case("//h.com:443", "https", "h.com", 443, NULL);
    url_case("grpcs://g", "grpcs", "g", 80, NULL);
}

Test(services, url_errors)
{
    cr_assert_str_eq(field_err(SVC, "{\"url\":\"http://\"}", "host"), "required field missing");
    cr_assert_str_eq(field_err(SVC, "{\"url\":\"http://h:abc\"}", "port"), "expected an integer");
    cr_assert_str_eq(field_err(SVC, "{\"url\":5}", "url"), "expected a string");
    cr_assert_str_eq(field_err(SVC, "{\"url\":\"http://h/a b\"}", "path"),
                     "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 "
                     "found)");
}

Test(services, host_and_path_messages)
{
    cr_assert_str_eq(field_err(SVC, "{}", "host"), "required field missing");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"a.com:80\"}", "host"), "must not have a port");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"[::1]:80\"}", "host"), "must not have a port");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"a b\"}", "host"), "invalid value: a b");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"1.2.3.999\"}", "host"),
                     "invalid value: 1.2.3.999");
    json_decref(ok_insert(SVC, "{\"host\":\"::1\"}"));
    json_decref(ok_insert(SVC, "{\"host\":\"10.1.2.3\"}"));
    json_decref(ok_insert(SVC, "{\"host\":\"my_host.internal\"}"));
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"path\":\"a\"}", "path"),
                     "should start with: /");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"path\":\"/a//b\"}", "path"),
                     "must not have empty segments");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"path\":\"/a%2\"}", "path"),
                     "invalid url-encoded value: '%2'");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"path\":\"/a%zz1\"}", "path"),
                     "invalid url-encoded value: '%zz'");
    json_decref(ok_insert(SVC, "{\"host\":\"h\",\"path\":\"/a%2Fb/c:d@e!$&'()*+,;=\"}"));
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"port\":65536}", "port"),
                     "value should be between 0 and 65535");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"connect_timeout\":0}", "connect_timeout"),
                     "value should be between 1 and 2147483646");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"retries\":32768}", "retries"),
                     "value should be between 0 and 32767");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"protocol\":\"ftp\"}", "protocol"),
                     "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp");
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"name\":\"a/b\"}", "name"),
                     "invalid value 'a/b': the only accepted ascii characters are alphanumerics or "
                     "., -, _, and ~");
    json_decref(ok_insert(SVC, "{\"host\":\"h\",\"name\":\"caf\xc3\xa9-1.x~_\"}"));
    cr_assert_str_eq(field_err(SVC, "{\"host\":\"h\",\"tags\":[\"a,b\"]}", "tags"),
                     "[\"invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid "
                     "utf-8 sequences\"]");
    json_decref(ok_insert(SVC, "{\"host\":\"h\",\"tags\":[\"with space\",\"x:y\"]}"));
}

Test(services, protocol_entity_checks)
{
    cr_assert_str_eq(message(SVC, "{\"host\":\"h\",\"protocol\":\"tcp\",\"path\":\"/a\"}"),
                     "2 schema violations (failed conditional validation given value of field "
                     "'protocol'; path: value must be null)");
    cr_assert_str_eq(message(SVC, "{\"host\":\"h\",\"protocol\":\"http\",\"tls_verify\":true}"),
                     "2 schema violations (failed conditional validation given value of field "
                     "'protocol'; tls_verify: value must be null)");
    cr_assert_str_eq(field_err(SVC,
                               "{\"host\":\"h\",\"client_certificate\":{\"id\":\"" UUID1 "\"}}",
                               "client_certificate"),
                     "value must be null");
    json_decref(ok_insert(SVC, "{\"host\":\"h\",\"protocol\":\"https\",\"tls_verify\":true,"
                               "\"tls_verify_depth\":3,\"ca_certificates\":[\"" UUID1 "\"],"
                               "\"client_certificate\":{\"id\":\"" UUID1 "\"}}"));
    json_decref(ok_insert(SVC, "{\"host\":\"h\",\"protocol\":\"tls\",\"tls_verify\":false}"));
    cr_assert_str_eq(field_err(SVC,
                               "{\"host\":\"h\",\"protocol\":\"https\",\"tls_verify_depth\":65}",
                               "tls_verify_depth"),
                     "value should be between 0 and 64");
    cr_assert_str_eq(field_err(SVC,
                               "{\"host\":\"h\",\"protocol\":\"https\",\"ca_certificates\":"
                               "[\"x\"]}",
                               "ca_certificates"),
                     "[\"expected a valid UUID\"]");
}

Test(services, patch_and_put)
{
    json_t *stored =
        ok_insert(SVC, "{\"name\":\"s\",\"url\":\"https://a.com:8443/p\",\"retries\":3}");
    json_t *errs = NULL;
    json_t *o = run_op(SVC, "{\"url\":\"http://b.com\"}", SL_SCHEMA_UPDATE, stored, &errs);
    cr_assert_not_null(o);
    cr_assert_str_eq(err_at(o, "host"), "b.com");
    cr_assert_eq(json_integer_value(json_object_get(o, "port")), 80);
    cr_assert(json_is_null(json_object_get(o, "path")));
    cr_assert_eq(json_integer_value(json_object_get(o, "retries")), 3);
    cr_assert_str_eq(err_at(o, "name"), "s");
    json_decref(o);
    o = run_op(SVC, "{\"host\":\"c.com\"}", SL_SCHEMA_UPSERT, stored, &errs);
    cr_assert_eq(json_integer_value(json_object_get(o, "retries")), 5);
    cr_assert(json_is_null(json_object_get(o, "name")));
    cr_assert_str_eq(err_at(o, "protocol"), "http");
    cr_assert_str_eq(err_at(o, "id"), err_at(stored, "id"));
    json_decref(o);
    json_decref(stored);
}

Test(services, form_input)
{
    json_t *in = jparse("{\"host\":\"h\",\"port\":\"8080\",\"enabled\":\"false\",\"tags\":\"t1\","
                        "\"path\":\"\"}");
    sl_schema_coerce_form(SVC, in);
    json_t *errs = NULL;
    json_t *o = sl_schema_process(SVC, in, SL_SCHEMA_INSERT, NULL, &errs);
    cr_assert_not_null(o, "%s", jtext(errs));
    cr_assert_eq(json_integer_value(json_object_get(o, "port")), 8080);
    cr_assert(json_is_false(json_object_get(o, "enabled")));
    assert_json(json_object_get(o, "tags"), "[\"t1\"]");
    cr_assert(json_is_null(json_object_get(o, "path")));
    json_decref(o);
    json_decref(in);
}

Test(services, schema_json)
{
    json_t *j = sl_schema_to_json(SVC);
    json_t *f = json_object_get(j, "fields");
    assert_json(json_array_get(f, 0), "{\"id\":{\"type\":\"string\",\"uuid\":true,\"auto\":true}}");
    assert_json(json_array_get(f, 3), "{\"name\":{\"type\":\"string\",\"unique\":true}}");
    assert_json(json_array_get(f, 5),
                "{\"protocol\":{\"type\":\"string\",\"required\":true,\"default\":\"http\","
                "\"one_of\":[\"grpc\",\"grpcs\",\"http\",\"https\",\"tcp\",\"tls\","
                "\"tls_passthrough\",\"udp\"]}}");
    assert_json(json_array_get(f, 8),
                "{\"path\":{\"type\":\"string\",\"starts_with\":\"/\",\"match_none\":[{\"pattern\":"
                "\"//\",\"err\":\"must not have empty segments\"}]}}");
    assert_json(json_array_get(f, 13),
                "{\"client_certificate\":{\"type\":\"foreign\",\"reference\":\"certificates\"}}");
    json_t *c = json_array_get(json_object_get(j, "entity_checks"), 0);
    assert_json(c, "{\"conditional\":{\"if_field\":\"protocol\",\"if_match\":{\"one_of\":[\"tcp\","
                   "\"tls\",\"udp\",\"grpc\",\"grpcs\"]},\"then_field\":\"path\",\"then_match\":"
                   "{\"eq\":null}}}");
    json_decref(j);
}

/* ---- routes --------------------------------------------------------------------------------- */

Test(routes, defaults)
{
    json_t *o = ok_insert(ROUTE, "{\"paths\":[\"/\"]}");
    assert_json(json_object_get(o, "protocols"), "[\"http\",\"https\"]");
    cr_assert_eq(json_integer_value(json_object_get(o, "https_redirect_status_code")), 426);
    cr_assert_eq(json_integer_value(json_object_get(o, "regex_priority")), 0);
    cr_assert(json_is_true(json_object_get(o, "strip_path")));
    cr_assert(json_is_false(json_object_get(o, "preserve_host")));
    cr_assert(json_is_true(json_object_get(o, "request_buffering")));
    cr_assert(json_is_true(json_object_get(o, "response_buffering")));
    cr_assert_str_eq(err_at(o, "path_handling"), "v0");
    cr_assert(json_is_null(json_object_get(o, "service")));
    json_decref(o);
}

Test(routes, http_needs_a_matcher)
{
    cr_assert_str_eq(message(ROUTE, "{\"protocols\":[\"http\"]}"),
                     "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths' "
                     "when 'protocols' is 'http')");
    cr_assert_str_eq(message(ROUTE, "{}"),
                     "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', "
                     "'snis' when 'protocols' is 'https')");
    json_decref(ok_insert(ROUTE, "{\"protocols\":[\"https\"],\"snis\":[\"a.com\"]}"));
    json_decref(ok_insert(ROUTE, "{\"methods\":[\"GET\"]}"));
    json_decref(ok_insert(ROUTE, "{\"headers\":{\"x-a\":[\"1\"]}}"));
    cr_assert_str_eq(
        field_err(ROUTE, "{\"paths\":[\"/\"],\"sources\":[{\"ip\":\"1.2.3.4\"}]}", "sources"),
        "cannot set 'sources' when 'protocols' is 'http' or 'https'");
    cr_assert_str_eq(field_err(ROUTE,
                               "{\"protocols\":[\"http\"],\"paths\":[\"/\"],\"snis\":"
                               "[\"a.com\"]}",
                               "snis"),
                     "length must be 0");
}

Test(routes, stream_rules)
{
    cr_assert_str_eq(message(ROUTE, "{\"protocols\":[\"tcp\"]}"),
                     "schema violation (must set one of 'sources', 'destinations', 'snis' when "
                     "'protocols' is 'tcp', 'tls' or 'udp')");
    cr_assert_str_eq(field_err(ROUTE,
                               "{\"protocols\":[\"tcp\"],\"methods\":[\"GET\"],"
                               "\"destinations\":[{\"port\":80}]}",
                               "methods"),
                     "cannot set 'methods' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or "
                     "'udp'");
    cr_assert_str_eq(message(ROUTE, "{\"protocols\":[\"tls_passthrough\"]}"),
                     "schema violation (must set snis when 'protocols' is 'tls_passthrough')");
    json_decref(ok_insert(ROUTE, "{\"protocols\":[\"tcp\",\"tls\"],\"sources\":[{\"ip\":"
                                 "\"10.0.0.0/8\",\"port\":1}]}"));
    cr_assert_str_eq(field_err(ROUTE, "{\"protocols\":[\"tcp\"],\"sources\":[{}]}", "sources"),
                     "[{\"@entity\":[\"at least one of these fields must be non-empty: 'ip', "
                     "'port'\"]}]");
    cr_assert_str_eq(
        field_err(ROUTE, "{\"protocols\":[\"tcp\"],\"sources\":[{\"ip\":\"1.2.3\"}]}", "sources"),
        "[{\"ip\":\"invalid ip or cidr range: '1.2.3'\"}]");
}

Test(routes, grpc_rules)
{
    json_t *o = ok_insert(ROUTE, "{\"protocols\":[\"grpc\"],\"paths\":[\"/a\"]}");
    cr_assert(json_is_false(json_object_get(o, "strip_path")));
    json_decref(o);
    cr_assert_str_eq(field_err(ROUTE,
                               "{\"protocols\":[\"grpcs\"],\"paths\":[\"/a\"],"
                               "\"strip_path\":true}",
                               "strip_path"),
                     "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'");
    cr_assert_str_eq(message(ROUTE, "{\"protocols\":[\"grpc\"]}"),
                     "schema violation (must set one of 'hosts', 'headers', 'paths' when "
                     "'protocols' is 'grpc')");
}

Test(routes, protocol_sets)
{
    cr_assert_str_eq(
        field_err(ROUTE, "{\"protocols\":[\"http\",\"tcp\"],\"paths\":[\"/\"]}", "protocols"),
        "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', "
        "'udp')");
    /* no element names a subschema: validation stops there (Schema:validate) */
    cr_assert_str_eq(field_err(ROUTE, "{\"protocols\":[],\"paths\":[\"/\"]}", "protocols"),
                     "unknown type: nil");
    cr_assert_str_eq(field_err(ROUTE, "{\"protocols\":[\"ftp\"],\"paths\":[\"/\"]}", "protocols"),
                     "unknown type: ftp");
    /* the first element that names one picks it; the others are validated */
    cr_assert_str_eq(
        field_err(ROUTE, "{\"protocols\":[\"ftp\",\"http\"],\"paths\":[\"/\"]}", "protocols"),
        "[\"expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp\"]");
}

Test(routes, paths_hosts_headers_methods)
{
    cr_assert_str_eq(
        field_err(ROUTE,
                  "{\"paths\":[\"/a\",\"x\",\"/a//b\",\"/a/../b\",\"~/(a\","
                  "\"/%61\",\"\"]}",
                  "paths"),
        "[null,\"should start with: / (fixed path) or ~/ (regex path)\",\"must not "
        "have empty segments\",\"non-normalized path, consider use '/b' instead\","
        "\"invalid regex: '/(a' (PCRE returned: pcre2_compile() failed: missing closing "
        "parenthesis in \\\"/(a\\\")\","
        "\"non-normalized path, consider use '/a' instead\",\"length must be at least "
        "1\"]");
    json_decref(ok_insert(ROUTE, "{\"paths\":[\"~/users/(?<id>\\\\d+)$\",\"/a%2F\",\"/v1/\"]}"));
    cr_assert_str_eq(
        field_err(ROUTE, "{\"hosts\":[\"*.a.*\",\"a.*.b\",\"a b\",\"a.com:99999\"]}", "hosts"),
        "[\"invalid wildcard: must have at most one wildcard\",\"invalid wildcard: "
        "must be placed at leftmost or rightmost label\",\"invalid hostname: a b\","
        "\"invalid port number\"]");
    json_decref(ok_insert(ROUTE, "{\"hosts\":[\"*.a.com\",\"a.*\",\"a.com:8000\",\"[::1]:80\"]}"));
    cr_assert_str_eq(field_err(ROUTE, "{\"headers\":{\"Host\":[\"x\"]}}", "headers"),
                     "cannot contain 'host' header, which must be specified in the 'hosts' "
                     "attribute");
    cr_assert_str_eq(field_err(ROUTE, "{\"headers\":{\"a b\":[\"x\"]}}", "headers"),
                     "bad header name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
    cr_assert_str_eq(field_err(ROUTE, "{\"methods\":[\"get\"]}", "methods"),
                     "[\"invalid value: get\"]");
    cr_assert_str_eq(field_err(ROUTE, "{\"paths\":[\"/\"],\"https_redirect_status_code\":404}",
                               "https_redirect_status_code"),
                     "expected one of: 426, 301, 302, 307, 308");
    cr_assert_str_eq(field_err(ROUTE, "{\"protocols\":[\"https\"],\"snis\":[\"a.*.b\"]}", "snis"),
                     "[\"wildcard must be leftmost or rightmost character\"]");
    cr_assert_str_eq(field_err(ROUTE, "{\"protocols\":[\"https\"],\"snis\":[\"1.2.3.4\"]}", "snis"),
                     "[\"must not be an IP\"]");
}

/* ---- consumers ------------------------------------------------------------------------------ */

Test(consumers, at_least_one_of)
{
    json_t *e = bad_insert(&sl_schema_consumers, "{\"username\":\"\"}");
    json_t *b = sl_err_schema_violation(e);
    assert_json(b,
                "{\"code\":2,\"name\":\"schema violation\",\"message\":\"2 schema violations (at "
                "least one of these fields must be non-empty: 'custom_id', 'username'; "
                "username: length must be at least 1)\",\"fields\":{\"username\":\"length must "
                "be at least 1\",\"@entity\":[\"at least one of these fields must be "
                "non-empty: 'custom_id', 'username'\"]}}");
    json_decref(b);
    json_decref(e);
    json_t *o = ok_insert(&sl_schema_consumers, "{\"custom_id\":\"c1\"}");
    cr_assert(json_is_null(json_object_get(o, "username")));
    json_decref(o);
}

/* ---- upstreams ------------------------------------------------------------------------------ */

Test(upstreams, healthcheck_defaults)
{
    json_t *o = ok_insert(&sl_schema_upstreams, "{\"name\":\"up.local\"}");
    cr_assert_str_eq(err_at(o, "algorithm"), "round-robin");
    cr_assert_str_eq(err_at(o, "hash_on"), "none");
    cr_assert_str_eq(err_at(o, "hash_fallback"), "none");
    cr_assert_str_eq(err_at(o, "hash_on_cookie_path"), "/");
    cr_assert_eq(json_integer_value(json_object_get(o, "slots")), 10000);
    cr_assert(json_is_false(json_object_get(o, "use_srv_name")));
    assert_json(
        json_object_get(o, "healthchecks"),
        "{\"active\":{\"concurrency\":10,\"headers\":null,\"healthy\":{\"http_statuses\":[200,302],"
        "\"interval\":0,\"successes\":0},\"http_path\":\"/\",\"https_sni\":null,"
        "\"https_verify_certificate\":true,\"timeout\":1,\"type\":\"http\",\"unhealthy\":{"
        "\"http_failures\":0,\"http_statuses\":[429,404,500,501,502,503,504,505],\"interval\":0,"
        "\"tcp_failures\":0,\"timeouts\":0}},\"passive\":{\"healthy\":{\"http_statuses\":[200,201,"
        "202,203,204,205,206,207,208,226,300,301,302,303,304,305,306,307,308],\"successes\":0},"
        "\"type\":\"http\",\"unhealthy\":{\"http_failures\":0,\"http_statuses\":[429,500,503],"
        "\"tcp_failures\":0,\"timeouts\":0}},\"threshold\":0}");
    json_decref(o);
}

Test(upstreams, partial_healthchecks_keep_defaults)
{
    json_t *o = ok_insert(&sl_schema_upstreams,
                          "{\"name\":\"u\",\"healthchecks\":{\"active\":{\"healthy\":{\"interval\":"
                          "5}}}}");
    json_t *act = json_object_get(json_object_get(o, "healthchecks"), "active");
    assert_json(json_object_get(act, "healthy"),
                "{\"http_statuses\":[200,302],\"interval\":5,\"successes\":0}");
    cr_assert_eq(json_integer_value(json_object_get(act, "concurrency")), 10);
    json_decref(o);
    cr_assert_str_eq(message(&sl_schema_upstreams,
                             "{\"name\":\"u\",\"healthchecks\":{\"active\":{\"healthy\":"
                             "{\"successes\":256},\"http_path\":\"x\"}}}"),
                     "schema violation (healthchecks.active: {healthy={successes=\"value should be "
                     "between 0 and 255\"},http_path=\"should start with: /\"})");
}

Test(upstreams, names_and_hashing)
{
    cr_assert_str_eq(field_err(&sl_schema_upstreams, "{\"name\":\"1.2.3.4\"}", "name"),
                     "Invalid name ('1.2.3.4'); no ip addresses allowed");
    cr_assert_str_eq(field_err(&sl_schema_upstreams, "{\"name\":\"a.com:80\"}", "name"),
                     "Invalid name ('a.com:80'); no port allowed");
    cr_assert_str_eq(field_err(&sl_schema_upstreams, "{\"name\":\"a b\"}", "name"),
                     "Invalid name ('a b'); must be a valid hostname");
    cr_assert_str_eq(field_err(&sl_schema_upstreams, "{}", "name"), "required field missing");
    cr_assert_str_eq(message(&sl_schema_upstreams, "{\"name\":\"u\",\"hash_on\":\"header\"}"),
                     "2 schema violations (failed conditional validation given value of field "
                     "'hash_on'; hash_on_header: required field missing)");
    json_t *o = ok_insert(&sl_schema_upstreams,
                          "{\"name\":\"u\",\"hash_on\":\"header\",\"hash_on_header\":\"x-a\","
                          "\"hash_fallback\":\"header\",\"hash_fallback_header\":\"x-b\"}");
    cr_assert_str_eq(err_at(o, "algorithm"), "consistent-hashing");
    json_decref(o);
    cr_assert_str_eq(message(&sl_schema_upstreams,
                             "{\"name\":\"u\",\"hash_on\":\"header\",\"hash_on_header\":\"x-a\","
                             "\"hash_fallback\":\"header\",\"hash_fallback_header\":\"x-a\"}"),
                     "schema violation (values of these fields must be distinct: "
                     "'hash_on_header', 'hash_fallback_header')");
    cr_assert_str_eq(field_err(&sl_schema_upstreams, "{\"name\":\"u\",\"hash_fallback\":\"ip\"}",
                               "hash_fallback"),
                     "expected one of: none");
    cr_assert_str_eq(field_err(&sl_schema_upstreams,
                               "{\"name\":\"u\",\"hash_on\":\"ip\",\"hash_fallback\":\"ip\"}",
                               "hash_fallback"),
                     "expected one of: none, consumer, header, cookie, path, query_arg, "
                     "uri_capture");
    cr_assert_str_eq(field_err(&sl_schema_upstreams,
                               "{\"name\":\"u\",\"hash_on\":\"cookie\",\"hash_on_cookie\":\"a b\"}",
                               "hash_on_cookie"),
                     "bad cookie name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
    o = ok_insert(&sl_schema_upstreams, "{\"name\":\"u\",\"algorithm\":\"least-connections\"}");
    cr_assert_str_eq(err_at(o, "hash_on"), "none");
    json_decref(o);
    cr_assert_str_eq(field_err(&sl_schema_upstreams, "{\"name\":\"u\",\"slots\":9}", "slots"),
                     "value should be between 10 and 65536");
}

/* ---- targets -------------------------------------------------------------------------------- */

Test(targets, defaults_and_port)
{
    json_t *o =
        ok_insert(&sl_schema_targets, "{\"target\":\"a.com\",\"upstream\":{\"id\":\"" UUID1 "\"}}");
    cr_assert_str_eq(err_at(o, "target"), "a.com:8000");
    cr_assert_eq(json_integer_value(json_object_get(o, "weight")), 100);
    cr_assert(json_is_real(json_object_get(o, "created_at")));
    double ts = json_real_value(json_object_get(o, "created_at"));
    cr_assert(ts > 1600000000.0);
    cr_assert_float_eq(ts * 1000, (double)(long long)(ts * 1000 + 0.5), 0.01);
    json_decref(o);
    o = ok_insert(&sl_schema_targets, "{\"target\":\"::1\",\"upstream\":{\"id\":\"" UUID1 "\"}}");
    cr_assert_str_eq(err_at(o, "target"), "[::1]:8000");
    json_decref(o);
    o = ok_insert(&sl_schema_targets,
                  "{\"target\":\"10.0.0.1:81\",\"weight\":0,\"upstream\":{\"id\":\"" UUID1 "\"}}");
    cr_assert_str_eq(err_at(o, "target"), "10.0.0.1:81");
    json_decref(o);
    cr_assert_str_eq(field_err(&sl_schema_targets,
                               "{\"target\":\"a b\",\"upstream\":{\"id\":\"" UUID1 "\"}}",
                               "target"),
                     "Invalid target ('a b'); not a valid hostname or ip address");
    cr_assert_str_eq(field_err(&sl_schema_targets,
                               "{\"target\":\"a\",\"weight\":65536,\"upstream\":{\"id\":\"" UUID1
                               "\"}}",
                               "weight"),
                     "value should be between 0 and 65535");
    cr_assert_str_eq(field_err(&sl_schema_targets, "{\"target\":\"a\"}", "upstream"),
                     "required field missing");
}

/* ---- plugins -------------------------------------------------------------------------------- */

static const struct sl_field demo_config[] = {
    {.name = "minute", .type = SL_FT_NUMBER},
    {.name = "policy", .type = SL_FT_STRING, .default_json = "\"local\""},
    {0},
};
static const struct sl_field demo_fields[] = {
    {.name = "consumer", .type = SL_FT_FOREIGN, .reference = "consumers", .eq_null = true},
    {.name = "config", .type = SL_FT_RECORD, .required = true, .fields = demo_config},
    {0},
};
static const struct sl_schema demo_plugin = {.name = "demo", .fields = demo_fields};

static const struct sl_schema *
lookup(const char *name)
{
    return strcmp(name, "demo") == 0 ? &demo_plugin : NULL;
}

Test(plugins, config_through_hook)
{
    sl_plugin_schema_lookup = lookup;
    json_t *o = ok_insert(&sl_schema_plugins, "{\"name\":\"demo\",\"config\":{\"minute\":5}}");
    assert_json(json_object_get(o, "config"), "{\"minute\":5,\"policy\":\"local\"}");
    assert_json(json_object_get(o, "protocols"), "[\"grpc\",\"grpcs\",\"http\",\"https\"]");
    cr_assert(json_is_true(json_object_get(o, "enabled")));
    cr_assert(json_is_null(json_object_get(o, "route")));
    json_decref(o);
    o = ok_insert(&sl_schema_plugins, "{\"name\":\"demo\"}");
    assert_json(json_object_get(o, "config"), "{\"minute\":null,\"policy\":\"local\"}");
    json_decref(o);
    cr_assert_str_eq(
        message(&sl_schema_plugins, "{\"name\":\"demo\",\"config\":{\"minute\":\"x\"}}"),
        "schema violation (config.minute: expected a number)");
    cr_assert_str_eq(field_err(&sl_schema_plugins,
                               "{\"name\":\"demo\",\"consumer\":{\"id\":\"" UUID1 "\"}}",
                               "consumer"),
                     "value must be null");
    cr_assert_str_eq(field_err(&sl_schema_plugins, "{\"name\":\"nope\"}", "name"),
                     "plugin 'nope' not enabled; add it to the 'plugins' configuration property");
    cr_assert_str_eq(field_err(&sl_schema_plugins, "{}", "name"), "required field missing");
}

Test(plugins, patch_merges_config)
{
    sl_plugin_schema_lookup = lookup;
    json_t *stored = ok_insert(
        &sl_schema_plugins, "{\"name\":\"demo\",\"config\":{\"minute\":5,\"policy\":\"redis\"}}");
    json_t *errs = NULL;
    json_t *o =
        run_op(&sl_schema_plugins, "{\"config\":{\"minute\":9}}", SL_SCHEMA_UPDATE, stored, &errs);
    cr_assert_not_null(o, "%s", jtext(errs));
    assert_json(json_object_get(o, "config"), "{\"minute\":9,\"policy\":\"redis\"}");
    json_decref(o);
    json_decref(stored);
}

Test(plugins, without_registry)
{
    sl_plugin_schema_lookup = NULL;
    cr_assert_str_eq(field_err(&sl_schema_plugins, "{\"name\":\"key-auth\"}", "name"),
                     "plugin 'key-auth' not enabled; add it to the 'plugins' configuration "
                     "property");
    /* Kong's Schema:validate(): without a subschema nothing else is validated, so the config's
     * keys (unknown without the plugin's schema) and the other fields add no error */
    cr_assert_str_eq(message(&sl_schema_plugins, "{\"name\":\"key-auth\",\"config\":{\"key_names"
                                                 "\":[1]},\"protocols\":[\"ftp\"],\"x\":1}"),
                     "schema violation (name: plugin 'key-auth' not enabled; add it to the "
                     "'plugins' configuration property)");
    cr_assert_str_eq(message(&sl_schema_plugins, "{\"config\":{\"a\":1},\"enabled\":5}"),
                     "schema violation (name: required field missing)");
    cr_assert_str_eq(message(&sl_schema_plugins, "{\"name\":null,\"protocols\":7}"),
                     "schema violation (name: required field missing)");
    cr_assert_str_eq(message(&sl_schema_plugins, "{\"name\":[\"a\"],\"protocols\":7}"),
                     "schema violation (name: expected a string)");
}

/* ---- snis, tags ----------------------------------------------------------------------------- */

Test(snis, names)
{
    json_t *o =
        ok_insert(&sl_schema_snis, "{\"name\":\"*.a.com\",\"certificate\":{\"id\":\"" UUID1 "\"}}");
    json_decref(o);
    cr_assert_str_eq(field_err(&sl_schema_snis, "{\"name\":\"a.com\"}", "certificate"),
                     "required field missing");
    cr_assert_str_eq(field_err(&sl_schema_snis,
                               "{\"name\":\"a.com:80\",\"certificate\":{\"id\":\"" UUID1 "\"}}",
                               "name"),
                     "must not have a port");
    cr_assert_str_eq(field_err(&sl_schema_snis,
                               "{\"name\":\"a.*.com\",\"certificate\":{\"id\":\"" UUID1 "\"}}",
                               "name"),
                     "wildcard must be leftmost or rightmost character");
    /* Kong looks at the first star's place before counting stars */
    cr_assert_str_eq(field_err(&sl_schema_snis,
                               "{\"name\":\"*.*.com\",\"certificate\":{\"id\":\"" UUID1 "\"}}",
                               "name"),
                     "only one wildcard must be specified");
    cr_assert_str_eq(field_err(&sl_schema_snis,
                               "{\"name\":\"*a*\",\"certificate\":{\"id\":\"" UUID1 "\"}}", "name"),
                     "only one wildcard must be specified");
}

Test(tags, entity)
{
    json_t *o =
        ok_insert(&sl_schema_tags,
                  "{\"tag\":\"t\",\"entity_name\":\"services\",\"entity_id\":\"" UUID1 "\"}");
    cr_assert_eq(json_object_size(o), 3);
    json_decref(o);
}

/* ---- typedef helpers ------------------------------------------------------------------------ */

Test(typedefs, normalize_path)
{
    char out[64];
    cr_assert_eq(sl_typedef_normalize_path("/a/./b/../c", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "/a/c");
    sl_typedef_normalize_path("/%7e%41%2f%2F", out, sizeof(out));
    cr_assert_str_eq(out, "/~A%2F%2F");
    sl_typedef_normalize_path("/a/..", out, sizeof(out));
    cr_assert_str_eq(out, "/");
    cr_assert_eq(sl_typedef_normalize_path("/abcdef", out, 4), -1);
}

Test(typedefs, ip_or_cidr)
{
    cr_assert(sl_typedef_is_ip_or_cidr("10.0.0.0/8"));
    cr_assert(sl_typedef_is_ip_or_cidr("::1"));
    cr_assert(sl_typedef_is_ip_or_cidr("fe80::/10"));
    cr_assert_not(sl_typedef_is_ip_or_cidr("10.0.0.0/33"));
    cr_assert_not(sl_typedef_is_ip_or_cidr("host"));
    cr_assert_not(sl_typedef_is_ip_or_cidr("/8"));
}
