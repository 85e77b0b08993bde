/* SPDX-License-Identifier: Apache-2.0 */
/* Complete, validated entities → struct sl_service / struct sl_route (entity_build.h). No
 * validation happens here: the schema engine did it. Every reader is defensive anyway (a wrong
 * shape falls back to the default) because store rows come from disk. */
#include <ctype.h>
#include <string.h>

#include "config/entity_build.h"

static const char *const protocol_names[SL_PROTO_MAX] = {
    [SL_PROTO_HTTP] = "http",
    [SL_PROTO_HTTPS] = "https",
    [SL_PROTO_GRPC] = "grpc",
    [SL_PROTO_GRPCS] = "grpcs",
    [SL_PROTO_TCP] = "tcp",
    [SL_PROTO_TLS] = "tls",
    [SL_PROTO_TLS_PASSTHROUGH] = "tls_passthrough",
    [SL_PROTO_UDP] = "udp",
};

static int
protocol_of(const char *s)
{
    for (int i = 0; s != NULL && i < SL_PROTO_MAX; i++) {
        if (strcmp(s, protocol_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *
str_field(struct sl_arena *a, const json_t *o, const char *k, bool *oom)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (s == NULL) {
        return NULL;
    }
    char *d = sl_arena_strndup(a, s, strlen(s));
    *oom = *oom || d == NULL;
    return d;
}

static json_int_t
int_field(const json_t *o, const char *k, json_int_t def)
{
    const json_t *v = json_object_get(o, k);
    /* an integer as it is: through a double, values past 2^53 would change */
    return json_is_integer(v)  ? json_integer_value(v)
           : json_is_number(v) ? (json_int_t)json_number_value(v)
                               : def;
}

static bool
bool_field(const json_t *o, const char *k, bool def)
{
    const json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

/* -1 when null or absent (Kong's "unset"), else 0/1 */
static int
tri_bool_field(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? (int)json_is_true(v) : -1;
}

static bool
seen_before(const struct sl_strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* Copies the strings of array <arr> into <arena>. <set>: a repeated value is kept once (sets in
 * configurations are small — methods, snis, tags — so the quadratic check is cheaper than a hash).
 * <lower>: lowercased. A null/absent field gives {NULL, 0}. */
static struct sl_strv
strv_field(struct sl_arena *a, const json_t *arr, bool set, bool lower, bool *oom)
{
    struct sl_strv out = {NULL, 0};
    if (!json_is_array(arr)) {
        return out;
    }
    size_t n = json_array_size(arr);
    out.v = sl_arena_calloc(a, n + 1, sizeof(*out.v));
    if (out.v == NULL) {
        *oom = true;
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s == NULL || (set && seen_before(&out, s))) {
            continue;
        }
        char *d = sl_arena_strndup(a, s, strlen(s));
        if (d == NULL) {
            *oom = true;
            return out;
        }
        for (char *p = d; lower && *p; p++) {
            *p = (char)tolower((unsigned char)*p);
        }
        out.v[out.n++] = d;
    }
    return out;
}

static bool
copy_id(const json_t *o, char out[SL_UUID_LEN + 1])
{
    const char *id = json_string_value(json_object_get(o, "id"));
    if (id == NULL || strlen(id) != SL_UUID_LEN) {
        return false;
    }
    for (size_t i = 0; i <= SL_UUID_LEN; i++) {
        out[i] = (char)tolower((unsigned char)id[i]);
    }
    return true;
}

struct sl_service *
sl_config_build_service(struct sl_arena *a, const json_t *e)
{
    struct sl_service *s = sl_arena_calloc(a, 1, sizeof(*s));
    bool oom = s == NULL;
    if (oom || !copy_id(e, s->id)) {
        return NULL;
    }
    s->name = str_field(a, e, "name", &oom);
    /* A complete service always has a protocol (the schema's default is http): a row without one
     * is not compiled as http, which would send a service meant for TLS in clear. */
    int proto = protocol_of(json_string_value(json_object_get(e, "protocol")));
    if (proto < 0) {
        return NULL;
    }
    s->protocol = (enum sl_protocol)proto;
    s->host = str_field(a, e, "host", &oom);
    s->port = (uint16_t)int_field(e, "port", 80);
    s->path = str_field(a, e, "path", &oom);
    s->retries = (int)int_field(e, "retries", 5);
    s->connect_timeout_ms = (int)int_field(e, "connect_timeout", 60000);
    s->write_timeout_ms = (int)int_field(e, "write_timeout", 60000);
    s->read_timeout_ms = (int)int_field(e, "read_timeout", 60000);
    s->enabled = bool_field(e, "enabled", true);
    s->tls_verify = tri_bool_field(e, "tls_verify");
    s->tls_verify_depth = (int)int_field(e, "tls_verify_depth", -1);
    s->tags = strv_field(a, json_object_get(e, "tags"), true, false, &oom);
    s->created_at = (int64_t)int_field(e, "created_at", 0);
    s->updated_at = (int64_t)int_field(e, "updated_at", s->created_at);
    const json_t *cc = json_object_get(e, "client_certificate");
    const char *cc_id = json_string_value(json_object_get(cc, "id"));
    s->client_certificate_id = cc_id != NULL ? sl_arena_strdup(a, cc_id) : NULL;
    oom = oom || (cc_id != NULL && s->client_certificate_id == NULL);
    s->ca_certificate_ids = strv_field(a, json_object_get(e, "ca_certificates"), true, false, &oom);
    return oom || s->host == NULL ? NULL : s;
}

static bool
build_headers(struct sl_arena *a, const json_t *map, struct sl_route *r)
{
    size_t n = json_object_size(map);
    if (n == 0) {
        return true;
    }
    r->headers = sl_arena_calloc(a, n, sizeof(*r->headers));
    if (r->headers == NULL) {
        return false;
    }
    bool oom = false;
    const char *k;
    json_t *vals;
    json_object_foreach((json_t *)map, k, vals)
    {
        struct sl_route_header *h = &r->headers[r->nheaders++];
        char *name = sl_arena_strndup(a, k, strlen(k));
        if (name == NULL) {
            return false;
        }
        for (char *p = name; *p; p++) {
            *p = (char)tolower((unsigned char)*p);
        }
        h->name = name;
        /* a single "~*" value is a case-insensitive regex: its case is the pattern's */
        const char *first = json_string_value(json_array_get(vals, 0));
        bool regex = json_array_size(vals) == 1 && first != NULL && strncmp(first, "~*", 2) == 0;
        h->values = strv_field(a, vals, false, !regex, &oom);
    }
    return !oom;
}

struct sl_route *
sl_config_build_route(struct sl_arena *a, const json_t *e)
{
    struct sl_route *r = sl_arena_calloc(a, 1, sizeof(*r));
    bool oom = r == NULL;
    if (oom || !copy_id(e, r->id)) {
        return NULL;
    }
    r->name = str_field(a, e, "name", &oom);
    const json_t *protos = json_object_get(e, "protocols");
    size_t i;
    json_t *p;
    json_array_foreach(protos, i, p)
    {
        int pi = protocol_of(json_string_value(p));
        if (pi >= 0) {
            r->protocols |= SL_PROTO_BIT(pi);
        }
    }
    if (r->protocols == 0) {
        r->protocols = SL_PROTO_BIT(SL_PROTO_HTTP) | SL_PROTO_BIT(SL_PROTO_HTTPS);
    }
    r->methods = strv_field(a, json_object_get(e, "methods"), true, false, &oom);
    r->hosts = strv_field(a, json_object_get(e, "hosts"), false, false, &oom);
    r->paths = strv_field(a, json_object_get(e, "paths"), false, false, &oom);
    r->snis = strv_field(a, json_object_get(e, "snis"), true, false, &oom);
    r->tags = strv_field(a, json_object_get(e, "tags"), true, false, &oom);
    if (!build_headers(a, json_object_get(e, "headers"), r)) {
        oom = true;
    }
    r->https_redirect_status_code = (int)int_field(e, "https_redirect_status_code", 426);
    r->regex_priority = int_field(e, "regex_priority", 0);
    r->strip_path = bool_field(e, "strip_path", true);
    const char *ph = json_string_value(json_object_get(e, "path_handling"));
    r->path_handling =
        ph != NULL && strcmp(ph, "v1") == 0 ? SL_PATH_HANDLING_V1 : SL_PATH_HANDLING_V0;
    r->preserve_host = bool_field(e, "preserve_host", false);
    r->request_buffering = bool_field(e, "request_buffering", true);
    r->response_buffering = bool_field(e, "response_buffering", true);
    r->created_at = (int64_t)int_field(e, "created_at", 0);
    r->updated_at = (int64_t)int_field(e, "updated_at", r->created_at);
    return oom ? NULL : r;
}

const char *
sl_config_route_service_id(const json_t *e)
{
    return json_string_value(json_object_get(json_object_get(e, "service"), "id"));
}

/* Adds the name of upstream entity <u> to <names>; -1 on allocation failure, or when <u> has no
 * name (a complete upstream always has one: without it, a service naming the upstream would go
 * where DNS says). */
static int
add_upstream_name(json_t *names, const json_t *u)
{
    const char *name = json_string_value(json_object_get(u, "name"));
    return name != NULL && json_object_set_new(names, name, json_true()) == 0 ? 0 : -1;
}

long
sl_config_mark_upstream_hosts(struct sl_config *cfg, const json_t *upstreams)
{
    if (json_object_size(upstreams) == 0) {
        return 0; /* the common case: no upstream, nothing to build */
    }
    json_t *names = json_object(); /* a hash set: name → true */
    if (names == NULL) {
        return -1;
    }
    const char *k;
    json_t *u;
    int rc = 0;
    json_object_foreach((json_t *)upstreams, k, u)
    {
        rc |= add_upstream_name(names, u);
    }
    long marked = 0;
    for (size_t i = 0; rc == 0 && i < cfg->nservices; i++) {
        struct sl_service *s = cfg->services[i];
        s->names_upstream = s->host != NULL && json_object_get(names, s->host) != NULL;
        marked += s->names_upstream;
    }
    json_decref(names);
    return rc == 0 ? marked : -1;
}

/* The PEM text of field <field> of the row of <table> with id <id>, copied into <a>; NULL with
 * *missing set when there is no such row (or it has no such text). -1 in *oom on ENOMEM. */
static const char *
pem_of(struct sl_arena *a, const json_t *table, const char *id, const char *field, bool *missing,
       bool *oom)
{
    const char *pem = json_string_value(json_object_get(json_object_get(table, id), field));
    if (pem == NULL) {
        *missing = true;
        return NULL;
    }
    char *copy = sl_arena_strdup(a, pem);
    *oom = *oom || copy == NULL;
    return copy;
}

int
sl_config_attach_tls_material(struct sl_config *cfg, const json_t *certificates,
                              const json_t *ca_certificates)
{
    struct sl_arena *a = cfg->arena;
    bool oom = false;
    for (size_t i = 0; i < cfg->nservices && !oom; i++) {
        struct sl_service *s = cfg->services[i];
        s->client_cert_pem = s->client_key_pem = NULL;
        s->ca_pems = (struct sl_strv){NULL, 0};
        s->tls_missing = NULL;
        if (s->protocol != SL_PROTO_HTTPS) {
            continue; /* only https is spoken over TLS; the others are refused whatever they name */
        }
        bool missing = false;
        if (s->client_certificate_id != NULL) {
            s->client_cert_pem =
                pem_of(a, certificates, s->client_certificate_id, "cert", &missing, &oom);
            s->client_key_pem =
                pem_of(a, certificates, s->client_certificate_id, "key", &missing, &oom);
            if (missing) {
                s->tls_missing =
                    sl_arena_sprintf(a, "client_certificate %s", s->client_certificate_id);
                oom = oom || s->tls_missing == NULL;
                continue;
            }
        }
        if (s->ca_certificate_ids.n == 0) {
            continue;
        }
        s->ca_pems.v = sl_arena_calloc(a, s->ca_certificate_ids.n + 1, sizeof(*s->ca_pems.v));
        oom = oom || s->ca_pems.v == NULL;
        for (size_t k = 0; !oom && k < s->ca_certificate_ids.n; k++) {
            const char *id = s->ca_certificate_ids.v[k];
            const char *pem = pem_of(a, ca_certificates, id, "cert", &missing, &oom);
            if (missing) {
                s->tls_missing = sl_arena_sprintf(a, "ca_certificates %s", id);
                oom = oom || s->tls_missing == NULL;
                break;
            }
            s->ca_pems.v[s->ca_pems.n++] = pem;
        }
    }
    return oom ? -1 : 0;
}
