/* SPDX-License-Identifier: Apache-2.0 */
/* upstreams (kong.md §1.5) with the healthchecks record and Kong's defaults (§4.4), the hash_on
 * rules as conditional and distinct checks, and the algorithm/hash_on coupling on input. */
#include <stdio.h>
#include <string.h>

#include "schema/entities/entities.h"
#include "schema/typedefs.h"

static const char *const pk[] = {"id", NULL};

static int
validate_upstream_name(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    enum sl_host_kind kind;
    long port = -1;
    char why[256];
    if (sl_typedef_normalize_ip(s, &kind, &port, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "Invalid name ('%s'); must be a valid hostname", s);
        return -1;
    }
    if (kind != SL_HOST_KIND_NAME) {
        snprintf(err, errlen, "Invalid name ('%s'); no ip addresses allowed", s);
        return -1;
    }
    if (port >= 0) {
        snprintf(err, errlen, "Invalid name ('%s'); no port allowed", s);
        return -1;
    }
    return 0;
}

static const char *const hash_values[] = {"none", "consumer",  "ip",          "header", "cookie",
                                          "path", "query_arg", "uri_capture", NULL};
static const char *const check_types[] = {"tcp", "http", "https", "grpc", "grpcs", NULL};
static const struct sl_field status_elem = {
    .type = SL_FT_INTEGER, .has_between = true, .between_min = 100, .between_max = 999};
static const struct sl_match no_empty_segments[] = {
    {.pattern = "//", .err = "must not have empty segments"},
    {0},
};
static const struct sl_field any_string = {.type = SL_FT_STRING};

#define SECONDS(n, def)                                                                            \
    {                                                                                              \
        .name = (n), .type = SL_FT_NUMBER, .default_json = (def), .has_between = true,             \
        .between_min = 0, .between_max = 65535                                                     \
    }
#define COUNTER(n)                                                                                 \
    {                                                                                              \
        .name = (n), .type = SL_FT_INTEGER, .default_json = "0", .has_between = true,              \
        .between_min = 0, .between_max = 255                                                       \
    }
#define STATUSES(def)                                                                              \
    {                                                                                              \
        .name = "http_statuses", .type = SL_FT_ARRAY, .default_json = (def),                       \
        .elements = &status_elem                                                                   \
    }
#define CHECK_TYPE                                                                                 \
    {                                                                                              \
        .name = "type", .type = SL_FT_STRING, .default_json = "\"http\"", .one_of = check_types    \
    }

static const struct sl_field active_healthy[] = {
    STATUSES("[200,302]"),
    SECONDS("interval", "0"),
    COUNTER("successes"),
    {0},
};
static const struct sl_field active_unhealthy[] = {
    COUNTER("http_failures"), STATUSES("[429,404,500,501,502,503,504,505]"),
    SECONDS("interval", "0"), COUNTER("tcp_failures"),
    COUNTER("timeouts"),      {0},
};
static const struct sl_field passive_healthy[] = {
    STATUSES("[200,201,202,203,204,205,206,207,208,226,300,301,302,303,304,305,306,307,308]"),
    COUNTER("successes"),
    {0},
};
static const struct sl_field passive_unhealthy[] = {
    COUNTER("http_failures"),
    STATUSES("[429,500,503]"),
    COUNTER("tcp_failures"),
    COUNTER("timeouts"),
    {0},
};
static const struct sl_field active_fields[] = {
    {.name = "concurrency",
     .type = SL_FT_INTEGER,
     .default_json = "10",
     .has_between = true,
     .between_min = 1,
     .between_max = 2147483648.0},
    {.name = "headers",
     .type = SL_FT_MAP,
     .keys = &any_string,
     .elements = &sl_typedef_header_values},
    {.name = "healthy", .type = SL_FT_RECORD, .required = true, .fields = active_healthy},
    {.name = "http_path",
     .type = SL_FT_STRING,
     .default_json = "\"/\"",
     .starts_with = "/",
     .match_none = no_empty_segments,
     .custom = sl_typedef_path},
    {.name = "https_sni", .type = SL_FT_STRING, .custom = sl_typedef_sni},
    {.name = "https_verify_certificate",
     .type = SL_FT_BOOLEAN,
     .required = true,
     .default_json = "true"},
    SECONDS("timeout", "1"),
    CHECK_TYPE,
    {.name = "unhealthy", .type = SL_FT_RECORD, .required = true, .fields = active_unhealthy},
    {0},
};
static const struct sl_field passive_fields[] = {
    {.name = "healthy", .type = SL_FT_RECORD, .required = true, .fields = passive_healthy},
    CHECK_TYPE,
    {.name = "unhealthy", .type = SL_FT_RECORD, .required = true, .fields = passive_unhealthy},
    {0},
};
static const struct sl_field healthchecks_fields[] = {
    {.name = "active", .type = SL_FT_RECORD, .required = true, .fields = active_fields},
    {.name = "passive", .type = SL_FT_RECORD, .required = true, .fields = passive_fields},
    {.name = "threshold",
     .type = SL_FT_NUMBER,
     .default_json = "0",
     .has_between = true,
     .between_min = 0,
     .between_max = 100},
    {0},
};

#define HASH(n)                                                                                    \
    {                                                                                              \
        .name = (n), .type = SL_FT_STRING, .default_json = "\"none\"", .one_of = hash_values       \
    }
#define PARAM(n)                                                                                   \
    {                                                                                              \
        .name = (n), .type = SL_FT_STRING, .len_min = 1                                            \
    }

static const struct sl_field fields[] = {
    SL_TD_ID,
    SL_TD_CREATED_AT,
    SL_TD_UPDATED_AT,
    {.name = "name",
     .type = SL_FT_STRING,
     .required = true,
     .unique = true,
     .custom = validate_upstream_name},
    {.name = "algorithm",
     .type = SL_FT_STRING,
     .default_json = "\"round-robin\"",
     .one_of = (const char *const[]){"consistent-hashing", "least-connections", "round-robin",
                                     "latency", NULL}},
    HASH("hash_on"),
    HASH("hash_fallback"),
    {.name = "hash_on_header", .type = SL_FT_STRING, .custom = sl_typedef_header_name},
    {.name = "hash_fallback_header", .type = SL_FT_STRING, .custom = sl_typedef_header_name},
    {.name = "hash_on_cookie", .type = SL_FT_STRING, .custom = sl_typedef_cookie_name},
    {.name = "hash_on_cookie_path",
     .type = SL_FT_STRING,
     .default_json = "\"/\"",
     .starts_with = "/",
     .match_none = no_empty_segments,
     .custom = sl_typedef_path},
    PARAM("hash_on_query_arg"),
    PARAM("hash_fallback_query_arg"),
    PARAM("hash_on_uri_capture"),
    PARAM("hash_fallback_uri_capture"),
    {.name = "slots",
     .type = SL_FT_INTEGER,
     .default_json = "10000",
     .has_between = true,
     .between_min = 10,
     .between_max = 65536},
    {.name = "healthchecks", .type = SL_FT_RECORD, .required = true, .fields = healthchecks_fields},
    SL_TD_TAGS,
    {.name = "host_header", .type = SL_FT_STRING, .custom = sl_typedef_host_with_optional_port},
    {.name = "client_certificate", .type = SL_FT_FOREIGN, .reference = "certificates"},
    {.name = "use_srv_name", .type = SL_FT_BOOLEAN, .default_json = "false"},
    {0},
};

static const struct sl_field is_header = {.match = "^header$"};
static const struct sl_field is_cookie = {.match = "^cookie$"};
static const struct sl_field is_none = {.match = "^none$"};
static const struct sl_field is_consumer = {.match = "^consumer$"};
static const struct sl_field is_ip = {.match = "^ip$"};
static const struct sl_field is_path = {.match = "^path$"};
static const struct sl_field is_query_arg = {.match = "^query_arg$"};
static const struct sl_field is_uri_capture = {.match = "^uri_capture$"};
static const struct sl_field required = {.required = true};
static const struct sl_field only_none = {.one_of = (const char *const[]){"none", NULL}};
static const struct sl_field not_consumer = {
    .one_of = (const char *const[]){"none", "ip", "header", "cookie", "path", "query_arg",
                                    "uri_capture", NULL}};
static const struct sl_field not_ip = {
    .one_of = (const char *const[]){"none", "consumer", "header", "cookie", "path", "query_arg",
                                    "uri_capture", NULL}};
static const struct sl_field not_path = {
    .one_of = (const char *const[]){"none", "consumer", "ip", "header", "cookie", "query_arg",
                                    "uri_capture", NULL}};

#define COND(iff, ifm, thenf, thenm)                                                               \
    {                                                                                              \
        .kind = SL_CHECK_CONDITIONAL, .if_field = (iff), .if_match = (ifm), .then_field = (thenf), \
        .then_match = (thenm)                                                                      \
    }

static const struct sl_entity_check checks[] = {
    COND("hash_on", &is_header, "hash_on_header", &required),
    COND("hash_fallback", &is_header, "hash_fallback_header", &required),
    COND("hash_on", &is_cookie, "hash_on_cookie", &required),
    COND("hash_fallback", &is_cookie, "hash_on_cookie", &required),
    COND("hash_on", &is_none, "hash_fallback", &only_none),
    COND("hash_on", &is_cookie, "hash_fallback", &only_none),
    COND("hash_on", &is_consumer, "hash_fallback", &not_consumer),
    COND("hash_on", &is_ip, "hash_fallback", &not_ip),
    COND("hash_on", &is_path, "hash_fallback", &not_path),
    {.kind = SL_CHECK_DISTINCT,
     .fields = (const char *const[]){"hash_on_header", "hash_fallback_header", NULL}},
    COND("hash_on", &is_query_arg, "hash_on_query_arg", &required),
    COND("hash_fallback", &is_query_arg, "hash_fallback_query_arg", &required),
    {.kind = SL_CHECK_DISTINCT,
     .fields = (const char *const[]){"hash_on_query_arg", "hash_fallback_query_arg", NULL}},
    COND("hash_on", &is_uri_capture, "hash_on_uri_capture", &required),
    COND("hash_fallback", &is_uri_capture, "hash_fallback_uri_capture", &required),
    {.kind = SL_CHECK_DISTINCT,
     .fields = (const char *const[]){"hash_on_uri_capture", "hash_fallback_uri_capture", NULL}},
    {0},
};

/* kong.md §1.5: hash_on given without an algorithm picks the balancer (consistent-hashing, or
 * round-robin for none); least-connections or latency without hash_on resets it to none. */
static int
algorithm_coupling(json_t *in, enum sl_schema_op op, json_t *errors)
{
    const json_t *hash_on = json_object_get(in, "hash_on");
    const json_t *alg = json_object_get(in, "algorithm");
    if (json_is_string(hash_on) && alg == NULL) {
        const char *h = json_string_value(hash_on);
        json_object_set_new(
            in, "algorithm",
            json_string(strcmp(h, "none") == 0 ? "round-robin" : "consistent-hashing"));
    } else if (json_is_string(alg) && hash_on == NULL &&
               (strcmp(json_string_value(alg), "least-connections") == 0 ||
                strcmp(json_string_value(alg), "latency") == 0)) {
        json_object_set_new(in, "hash_on", json_string("none"));
    }
    return 0;
}

const struct sl_schema sl_schema_upstreams = {
    .name = "upstreams",
    .primary_key = pk,
    .endpoint_key = "name",
    .workspaceable = true,
    .fields = fields,
    .checks = checks,
    .shorthand = algorithm_coupling,
};
