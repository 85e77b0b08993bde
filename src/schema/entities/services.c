/* SPDX-License-Identifier: Apache-2.0 */
/* services (kong.md §1.1) and the `url` shorthand, parsed the way Lua's socket.url does, then
 * expanded to protocol/host/port/path as kong/db/schema/entities/services.lua does. */
#include <stdlib.h>
#include <string.h>

#include "schema/entities/entities.h"
#include "schema/typedefs.h"

static const char *const pk[] = {"id", NULL};

static const struct sl_match no_empty_segments[] = {
    {.pattern = "//", .err = "must not have empty segments"},
    {0},
};

#define TIMEOUT(n)                                                                                 \
    {                                                                                              \
        .name = (n), .type = SL_FT_INTEGER, .default_json = "60000", .has_between = true,          \
        .between_min = 1, .between_max = 2147483646                                                \
    }

static const struct sl_field fields[] = {
    SL_TD_ID,
    SL_TD_CREATED_AT,
    SL_TD_UPDATED_AT,
    SL_TD_UTF8_NAME("name"),
    {.name = "retries",
     .type = SL_FT_INTEGER,
     .default_json = "5",
     .has_between = true,
     .between_min = 0,
     .between_max = 32767},
    {.name = "protocol",
     .type = SL_FT_STRING,
     .required = true,
     .default_json = "\"http\"",
     .one_of = sl_typedef_protocols},
    {.name = "host", .type = SL_FT_STRING, .required = true, .custom = sl_typedef_host},
    {.name = "port",
     .type = SL_FT_INTEGER,
     .required = true,
     .default_json = "80",
     .has_between = true,
     .between_min = 0,
     .between_max = 65535},
    {.name = "path",
     .type = SL_FT_STRING,
     .starts_with = "/",
     .match_none = no_empty_segments,
     .custom = sl_typedef_path},
    TIMEOUT("connect_timeout"),
    TIMEOUT("write_timeout"),
    TIMEOUT("read_timeout"),
    SL_TD_TAGS,
    {.name = "client_certificate", .type = SL_FT_FOREIGN, .reference = "certificates"},
    {.name = "tls_verify", .type = SL_FT_BOOLEAN},
    {.name = "tls_verify_depth",
     .type = SL_FT_INTEGER,
     .has_between = true,
     .between_min = 0,
     .between_max = 64},
    {.name = "ca_certificates", .type = SL_FT_ARRAY, .elements = &sl_typedef_uuid_elem},
    {.name = "enabled", .type = SL_FT_BOOLEAN, .required = true, .default_json = "true"},
    {0},
};

static const char *const no_path_protocols[] = {"tcp", "tls", "udp", "grpc", "grpcs", NULL};
static const char *const tls_protocols[] = {"https", "tls", NULL};
static const struct sl_field if_no_path = {.one_of = no_path_protocols};
static const struct sl_field if_not_tls = {.not_one_of = tls_protocols};
static const struct sl_field must_be_null = {.eq_null = true};

#define ONLY_TLS(f)                                                                                \
    {                                                                                              \
        .kind = SL_CHECK_CONDITIONAL, .if_field = "protocol", .if_match = &if_not_tls,             \
        .then_field = (f), .then_match = &must_be_null                                             \
    }

static const struct sl_entity_check checks[] = {
    {.kind = SL_CHECK_CONDITIONAL,
     .if_field = "protocol",
     .if_match = &if_no_path,
     .then_field = "path",
     .then_match = &must_be_null},
    ONLY_TLS("client_certificate"),
    ONLY_TLS("tls_verify"),
    ONLY_TLS("tls_verify_depth"),
    ONLY_TLS("ca_certificates"),
    {0},
};

static char *
dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

void
sl_schema_url_free(struct sl_url_parts *p)
{
    free(p->scheme);
    free(p->host);
    free(p->path);
    free(p->port_str);
    memset(p, 0, sizeof(*p));
}

int
sl_schema_url_parse(const char *url, struct sl_url_parts *out)
{
    memset(out, 0, sizeof(*out));
    out->port = -1;
    size_t len = strcspn(url, "#"); /* the fragment goes first */
    const char *p = url, *end = url + len;

    /* scheme: ^([%w][%w%+%-%.]*)%: */
    const char *q = p;
    if (q < end &&
        ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9'))) {
        q++;
        while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                           (*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.')) {
            q++;
        }
        if (q < end && *q == ':') {
            out->scheme = dup_n(p, (size_t)(q - p));
            p = q + 1;
        }
    }
    /* authority: ^//([^/]*) */
    if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
        const char *a = p + 2, *ae = a;
        while (ae < end && *ae != '/') {
            ae++;
        }
        /* the query and params of the rest are cut below; an authority keeps everything */
        const char *at = NULL;
        for (const char *c = a; c < ae; c++) {
            if (*c == '@') {
                at = c;
                break;
            }
        }
        const char *h = at ? at + 1 : a, *he = ae;
        /* port: :([^:%]]*)$ */
        for (const char *c = he; c > h; c--) {
            if (c[-1] == ']') {
                break;
            }
            if (c[-1] == ':') {
                out->port_str = dup_n(c, (size_t)(he - c));
                he = c - 1;
                break;
            }
        }
        if (he > h) {
            if (*h == '[' && he[-1] == ']' && he - h > 2) {
                out->host = dup_n(h + 1, (size_t)(he - h - 2));
            } else {
                out->host = dup_n(h, (size_t)(he - h));
            }
        }
        p = ae;
    }
    /* query and params are not part of the path */
    const char *pe = p;
    while (pe < end && *pe != '?' && *pe != ';') {
        pe++;
    }
    if (pe > p) {
        out->path = dup_n(p, (size_t)(pe - p));
    }
    if (out->port_str != NULL) {
        char *e;
        long v = strtol(out->port_str, &e, 10);
        /* "h:" has an empty port: not a number (tonumber("") is nil), so it stays a string */
        if (out->port_str[0] == 0) {
            out->port = -2;
        } else if (*e != 0 || v < 0 || v > 1000000) {
            out->port = -2;
        } else {
            out->port = v;
        }
    }
    return 0;
}

static int
url_shorthand(json_t *in, enum sl_schema_op op, json_t *errors)
{
    json_t *url = json_object_get(in, "url");
    if (url == NULL) {
        return 0;
    }
    /* Kong validates the shorthand as a string field (so "" is too short) and stops there. A
     * null passes that check and reaches the expansion, which parses tostring(ngx.null): the
     * text "userdata: NULL", whose scheme "userdata" and path " NULL" then fail validation. */
    const char *text = "userdata: NULL";
    if (!json_is_null(url)) {
        json_t *e = sl_schema_validate_field(&(const struct sl_field){.type = SL_FT_STRING}, url);
        if (e != NULL) {
            json_object_set_new(errors, "url", e);
            return -1;
        }
        text = json_string_value(url);
    }
    struct sl_url_parts u;
    sl_schema_url_parse(text, &u);
    const char *prot = u.port == 80 ? "http" : u.port == 443 ? "https" : NULL;
    const char *protocol = u.scheme ? u.scheme : prot ? prot : "http";
    json_object_set_new(in, "protocol", json_string(protocol));
    json_object_set_new(in, "host", u.host ? json_string(u.host) : json_null());
    if (u.port >= 0) {
        json_object_set_new(in, "port", json_integer(u.port));
    } else if (u.port == -2) {
        json_object_set_new(in, "port", json_string(u.port_str)); /* fails as a non-integer */
    } else {
        int port = strcmp(protocol, "http") == 0 ? 80 : strcmp(protocol, "https") == 0 ? 443 : 80;
        json_object_set_new(in, "port", json_integer(port));
    }
    json_object_set_new(in, "path", u.path ? json_string(u.path) : json_null());
    json_object_del(in, "url");
    sl_schema_url_free(&u);
    return 0;
}

const struct sl_schema sl_schema_services = {
    .name = "services",
    .primary_key = pk,
    .endpoint_key = "name",
    .workspaceable = true,
    .fields = fields,
    .checks = checks,
    .shorthand = url_shorthand,
};
