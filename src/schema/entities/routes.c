/* SPDX-License-Identifier: Apache-2.0 */
/* routes (kong.md §1.2) for the traditional router: the fields of routes.lua and the protocol
 * subschemas of routes_subschemas.lua, expressed as conditional entity checks on `protocols`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/entities/entities.h"
#include "schema/typedefs.h"

static const char *const pk[] = {"id", NULL};

static const struct sl_field protocols_elem = {.type = SL_FT_STRING,
                                               .one_of = sl_typedef_protocols};
static const struct sl_field method_elem = {.type = SL_FT_STRING, .match = "^[A-Z]+$"};
static const struct sl_match one_wildcard[] = {
    {.pattern = "^[^*]*\\*?[^*]*$", .err = "invalid wildcard: must have at most one wildcard"},
    {0},
};
static const char *const wildcard_places[] = {"^\\*\\.", "\\.\\*$", "^[^*]*$", NULL};
static const struct sl_field host_elem = {
    .type = SL_FT_STRING,
    .match_all = one_wildcard,
    .match_any = wildcard_places,
    .match_any_err = "invalid wildcard: must be placed at leftmost or rightmost label",
    .custom = sl_typedef_route_host,
};
static const char *const path_starts[] = {"^/", "^~/", NULL};
static const struct sl_match no_empty_segments[] = {
    {.pattern = "//", .err = "must not have empty segments"},
    {0},
};
static const struct sl_field path_elem = {
    .type = SL_FT_STRING,
    .match_any = path_starts,
    .match_any_err = "should start with: / (fixed path) or ~/ (regex path)",
    .match_none = no_empty_segments,
    .custom = sl_typedef_router_path,
};
static const struct sl_match no_host_header[] = {
    {.pattern = "^[Hh][Oo][Ss][Tt]$",
     .err = "cannot contain 'host' header, which must be specified in the 'hosts' attribute"},
    {0},
};
static const struct sl_field header_key = {
    .type = SL_FT_STRING, .match_none = no_host_header, .custom = sl_typedef_header_name};
static const struct sl_field sni_elem = {.type = SL_FT_STRING, .custom = sl_typedef_wildcard_host};
static const long long redirect_codes[] = {426, 301, 302, 307, 308};

/* Kong's mutually_exclusive_subsets on protocols */
static const char *const *const subsets[] = {
    (const char *const[]){"http", "https", NULL},
    (const char *const[]){"tcp", "tls", "udp", NULL},
    (const char *const[]){"tls_passthrough", NULL},
    (const char *const[]){"grpc", "grpcs", NULL},
    NULL,
};

/* Kong's mutually_exclusive_subsets validator: the subsets are listed in the order their first
 * member appears in the value ("('tcp', 'tls', 'udp'), ('http', 'https')" for [tcp, http]). */
static int
protocols_subsets(const json_t *v, char *err, size_t errlen)
{
    size_t order[8], nseen = 0, i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        for (size_t s = 0; subsets[s] != NULL && json_is_string(e); s++) {
            bool member = false, seen = false;
            for (size_t k = 0; subsets[s][k] != NULL; k++) {
                member = member || strcmp(json_string_value(e), subsets[s][k]) == 0;
            }
            for (size_t j = 0; j < nseen; j++) {
                seen = seen || order[j] == s;
            }
            if (member && !seen && nseen < sizeof(order) / sizeof(order[0])) {
                order[nseen++] = s;
            }
        }
    }
    if (nseen <= 1) {
        return 0;
    }
    size_t w = (size_t)snprintf(err, errlen, "these sets are mutually exclusive: ");
    for (size_t j = 0; j < nseen && w < errlen; j++) {
        const char *const *set = subsets[order[j]];
        w += (size_t)snprintf(err + w, errlen - w, "%s(", j ? ", " : "");
        for (size_t k = 0; set[k] != NULL && w < errlen; k++) {
            w += (size_t)snprintf(err + w, errlen - w, "%s'%s'", k ? ", " : "", set[k]);
        }
        if (w < errlen) {
            w += (size_t)snprintf(err + w, errlen - w, ")");
        }
    }
    return -1;
}

static const struct sl_field fields[] = {
    SL_TD_ID,
    SL_TD_CREATED_AT,
    SL_TD_UPDATED_AT,
    SL_TD_UTF8_NAME("name"),
    {.name = "protocols",
     .type = SL_FT_SET,
     .required = true,
     .len_min = 1,
     .default_json = "[\"http\",\"https\"]",
     .elements = &protocols_elem,
     .custom = protocols_subsets},
    {.name = "methods", .type = SL_FT_SET, .elements = &method_elem},
    {.name = "hosts", .type = SL_FT_ARRAY, .elements = &host_elem},
    {.name = "paths", .type = SL_FT_ARRAY, .elements = &path_elem},
    {.name = "headers",
     .type = SL_FT_MAP,
     .keys = &header_key,
     .elements = &sl_typedef_route_header_values},
    {.name = "https_redirect_status_code",
     .type = SL_FT_INTEGER,
     .required = true,
     .default_json = "426",
     .one_of_int = redirect_codes,
     .one_of_int_n = 5},
    {.name = "regex_priority", .type = SL_FT_INTEGER, .default_json = "0"},
    {.name = "strip_path", .type = SL_FT_BOOLEAN, .required = true, .default_json = "true"},
    {.name = "path_handling",
     .type = SL_FT_STRING,
     .default_json = "\"v0\"",
     .one_of = (const char *const[]){"v0", "v1", NULL}},
    {.name = "preserve_host", .type = SL_FT_BOOLEAN, .required = true, .default_json = "false"},
    {.name = "request_buffering", .type = SL_FT_BOOLEAN, .required = true, .default_json = "true"},
    {.name = "response_buffering", .type = SL_FT_BOOLEAN, .required = true, .default_json = "true"},
    {.name = "snis", .type = SL_FT_SET, .elements = &sni_elem},
    {.name = "sources", .type = SL_FT_SET, .elements = &sl_typedef_src_dst_elem},
    {.name = "destinations", .type = SL_FT_SET, .elements = &sl_typedef_src_dst_elem},
    SL_TD_TAGS,
    {.name = "service", .type = SL_FT_FOREIGN, .reference = "services"},
    {0},
};

/* The subschema is picked by the first protocol (routes_subschemas.lua); each check below applies
 * only when that protocol belongs to its family. */
static const char *const http_family[] = {"http", "https", NULL};
static const char *const stream_family[] = {"tcp", "tls", "udp", "tls_passthrough", NULL};
static const char *const grpc_family[] = {"grpc", "grpcs", NULL};

static const char *
first_protocol(const json_t *entity)
{
    const json_t *p = json_array_get(json_object_get(entity, "protocols"), 0);
    return json_is_string(p) ? json_string_value(p) : NULL;
}

static bool
in_list(const char *s, const char *const *l)
{
    for (size_t i = 0; s != NULL && l[i] != NULL; i++) {
        if (strcmp(s, l[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool
has_protocol(const json_t *entity, const char *p)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(entity, "protocols"), i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), p) == 0) {
            return true;
        }
    }
    return false;
}

static bool
set(const json_t *entity, const char *f)
{
    const json_t *v = json_object_get(entity, f);
    if (v == NULL || json_is_null(v)) {
        return false;
    }
    if (json_is_array(v)) {
        return json_array_size(v) > 0;
    }
    if (json_is_object(v)) {
        return json_object_size(v) > 0;
    }
    return true;
}

/* The subschema's `eq = null` field (typedefs.no_methods and the like) replaces the base field,
 * and Kong checks `eq = null` before the type or the elements: any non-null value gets this one
 * message, whatever the base field said about it ("methods: GET" on a grpc route is "cannot set
 * 'methods' ...", not "expected a set"). */
static void
forbid(const json_t *entity, json_t *errors, const char *f, const char *why)
{
    const json_t *v = json_object_get(entity, f);
    if (v != NULL && !json_is_null(v)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "cannot set '%s' when 'protocols' is %s", f, why);
        json_object_set_new(errors, f, json_string(msg));
    }
}

static int
at_least(const json_t *entity, const char *const *fl, const char *who, char *err, size_t errlen)
{
    for (size_t i = 0; fl[i] != NULL; i++) {
        if (set(entity, fl[i])) {
            return 0;
        }
    }
    char list[256]; /* only a failing entity pays for its message */
    size_t w = 0;
    for (size_t i = 0; fl[i] != NULL && w < sizeof(list); i++) {
        w += (size_t)snprintf(list + w, sizeof(list) - w, "%s'%s'", i ? ", " : "", fl[i]);
    }
    snprintf(err, errlen, "must set one of %s when 'protocols' is %s", list, who);
    return -1;
}

static int
subschema_check(const json_t *entity, json_t *errors, char *err, size_t errlen)
{
    const char *first = first_protocol(entity);
    if (in_list(first, http_family)) {
        const char *why = "'http' or 'https'";
        forbid(entity, errors, "sources", why);
        forbid(entity, errors, "destinations", why);
        if (has_protocol(entity, "https")) {
            return at_least(
                entity, (const char *const[]){"methods", "hosts", "headers", "paths", "snis", NULL},
                "'https'", err, errlen);
        }
        if (has_protocol(entity, "http")) {
            return at_least(entity,
                            (const char *const[]){"methods", "hosts", "headers", "paths", NULL},
                            "'http'", err, errlen);
        }
    } else if (in_list(first, stream_family)) {
        const char *why = "'tcp', 'tls', 'tls_passthrough' or 'udp'";
        forbid(entity, errors, "methods", why);
        forbid(entity, errors, "hosts", why);
        forbid(entity, errors, "paths", why);
        forbid(entity, errors, "headers", why);
        bool plain = false;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(entity, "protocols"), i, e)
        {
            plain = plain ||
                    in_list(json_string_value(e), (const char *const[]){"tcp", "tls", "udp", NULL});
        }
        if (plain &&
            at_least(entity, (const char *const[]){"sources", "destinations", "snis", NULL},
                     "'tcp', 'tls' or 'udp'", err, errlen) != 0) {
            return -1;
        }
        if (has_protocol(entity, "tls_passthrough") && !set(entity, "snis")) {
            snprintf(err, errlen, "must set snis when 'protocols' is 'tls_passthrough'");
            return -1;
        }
    } else if (in_list(first, grpc_family)) {
        const char *why = "'grpc' or 'grpcs'";
        const json_t *sp = json_object_get(entity, "strip_path");
        if (json_is_true(sp) && json_object_get(errors, "strip_path") == NULL) {
            json_object_set_new(errors, "strip_path",
                                json_string("cannot set 'strip_path' when 'protocols' is 'grpc' or "
                                            "'grpcs'"));
        }
        forbid(entity, errors, "methods", why);
        forbid(entity, errors, "sources", why);
        forbid(entity, errors, "destinations", why);
        if (has_protocol(entity, "grpcs")) {
            return at_least(entity,
                            (const char *const[]){"hosts", "headers", "paths", "snis", NULL},
                            "'grpcs'", err, errlen);
        }
        return at_least(entity, (const char *const[]){"hosts", "headers", "paths", NULL}, "'grpc'",
                        err, errlen);
    }
    return 0;
}

/* snis only where TLS is terminated or passed through */
static int
snis_check(const json_t *entity, json_t *errors, char *err, size_t errlen)
{
    if (!set(entity, "snis")) {
        return 0;
    }
    static const char *const tls_like[] = {"https", "grpcs", "tls", "tls_passthrough", NULL};
    for (size_t i = 0; tls_like[i] != NULL; i++) {
        if (has_protocol(entity, tls_like[i])) {
            return 0;
        }
    }
    /* Kong's conditional: then_match len_eq 0 on the field, then_err on the entity */
    json_object_set_new(errors, "snis", json_string("length must be 0"));
    snprintf(err, errlen,
             "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or "
             "'tls_passthrough'");
    return -1;
}

static const char *const subschema_fields[] = {"protocols", NULL};

static const struct sl_entity_check checks[] = {
    {.kind = SL_CHECK_CUSTOM, .fields = subschema_fields, .fn = snis_check, .name = "snis"},
    {.kind = SL_CHECK_CUSTOM,
     .fields = subschema_fields,
     .fn = subschema_check,
     .name = "protocols subschema"},
    {0},
};

static bool
known_protocol(const json_t *p)
{
    return json_is_string(p) && (in_list(json_string_value(p), http_family) ||
                                 in_list(json_string_value(p), stream_family) ||
                                 in_list(json_string_value(p), grpc_family));
}

/* The value Kong's "unknown type: %s" shows for <first>, the first element of a protocols table
 * (NULL: the table has none). Lua formats nil as "nil" and ngx.null as "userdata: NULL". */
static void
unknown_repr(const json_t *first, char *out, size_t outlen)
{
    if (first == NULL) {
        snprintf(out, outlen, "nil");
    } else if (json_is_null(first)) {
        snprintf(out, outlen, "userdata: NULL");
    } else if (json_is_string(first)) {
        snprintf(out, outlen, "%s", json_string_value(first));
    } else {
        char *d = json_dumps(first, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(out, outlen, "%s", d != NULL ? d : "nil");
        free(d);
    }
}

/* Kong picks the subschema from `protocols` before anything else is validated (Schema:validate):
 * a null value stops validation with that one error; otherwise the first element naming a known
 * protocol picks it, and when none does validation stops with "unknown type: <first>" (nil for
 * an empty list or an object, whose first element Lua cannot find). The grpc subschema's
 * strip_path default is false (routes_subschemas.lua): it is applied when the input picks that
 * subschema and says nothing about strip_path, except on an update, where Kong fills no default
 * (the stored strip_path stays, and a true one is then refused). */
static int
pick_subschema(json_t *in, enum sl_schema_op op, json_t *errors)
{
    const json_t *protos = json_object_get(in, "protocols");
    const json_t *pick = NULL;
    if (protos == NULL) {
        return 0; /* the default, or the stored value of an update */
    }
    if (json_is_null(protos)) {
        json_object_set_new(errors, "protocols", json_string("required field missing"));
        return -1;
    }
    if (known_protocol(protos)) {
        pick = protos;
    }
    for (size_t i = 0; pick == NULL && json_is_array(protos) && i < json_array_size(protos); i++) {
        if (known_protocol(json_array_get(protos, i))) {
            pick = json_array_get(protos, i);
        }
    }
    if (pick == NULL) {
        const json_t *first = json_is_array(protos)    ? json_array_get(protos, 0)
                              : json_is_object(protos) ? NULL
                                                       : protos;
        char repr[160];
        unknown_repr(first, repr, sizeof(repr));
        char msg[200];
        snprintf(msg, sizeof(msg), "unknown type: %s", repr);
        /* the cut at sizeof(repr) may split a UTF-8 sequence */
        json_object_set_new(errors, "protocols", sl_schema_err_string(msg));
        return -1;
    }
    if (op != SL_SCHEMA_UPDATE && in_list(json_string_value(pick), grpc_family) &&
        json_object_get(in, "strip_path") == NULL) {
        json_object_set_new(in, "strip_path", json_false());
    }
    return 0;
}

const struct sl_schema sl_schema_routes = {
    .shorthand = pick_subschema,
    .name = "routes",
    .primary_key = pk,
    .endpoint_key = "name",
    .workspaceable = true,
    .fields = fields,
    .checks = checks,
};
