/* SPDX-License-Identifier: Apache-2.0 */
/* The declarative loader (src/config/declarative.h): parses a Kong declarative file, validates the
 * services and routes in it with Kong's schemas (kong/db/schema/entities/services.lua, routes.lua,
 * routes_subschemas.lua, typedefs.lua) and Kong's messages, gives every entity its stable id,
 * checks uniqueness and references (kong/db/schema/others/declarative_config.lua), and builds the
 * immutable struct sl_config. It only reads the document; the JSON tree may share subtrees (YAML
 * aliases). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include "config/declarative.h"
#include "config/kong_check.h"
#include "config/uuid.h"
#include "config/yaml_json.h"
#include "net/cidr.h"
#include "sluice/arena.h"

/* ------------------------------------------------------------------------------------------------
 */
/* Line lists (errors, warnings) */

struct lines {
    char *buf; /* lines separated by '\n' (malloc'd) */
    size_t len;
    size_t cap;
    unsigned n;       /* lines kept */
    unsigned dropped; /* lines over the limit, counted only */
    unsigned max;
    bool oom;
};

static void
lines_add(struct lines *l, const char *s)
{
    if (l->n >= l->max) {
        l->dropped++;
        return;
    }
    size_t sl = strlen(s);
    size_t need = l->len + sl + 2;
    if (need > l->cap) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap < need) {
            cap *= 2;
        }
        char *nb = realloc(l->buf, cap);
        if (nb == NULL) {
            l->oom = true;
            l->dropped++;
            return;
        }
        l->buf = nb;
        l->cap = cap;
    }
    if (l->len > 0) {
        l->buf[l->len++] = '\n';
    }
    memcpy(l->buf + l->len, s, sl + 1);
    l->len += sl;
    l->n++;
}

static void lines_addf(struct lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
lines_addf(struct lines *l, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    lines_add(l, buf);
}

/* Copies the lines into a caller buffer, with a last line counting what did not fit the limit. */
static void
lines_export(const struct lines *l, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0) {
        return;
    }
    int w = snprintf(out, outlen, "%s", l->buf ? l->buf : "");
    if (l->dropped > 0 && w >= 0 && (size_t)w < outlen) {
        snprintf(out + w, outlen - (size_t)w, "%s... and %u more", w > 0 ? "\n" : "", l->dropped);
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* A small string → index hash map for uniqueness and references */

struct strmap {
    const char **keys;
    size_t *vals;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static bool
strmap_init(struct strmap *m, size_t n, struct sl_arena *a)
{
    size_t cap = 16;
    while (cap < n * 2 + 1) {
        cap *= 2;
    }
    m->keys = sl_arena_calloc(a, cap, sizeof(*m->keys));
    m->vals = sl_arena_calloc(a, cap, sizeof(*m->vals));
    m->cap = cap;
    m->n = 0;
    return m->keys != NULL && m->vals != NULL;
}

static bool
strmap_get(const struct strmap *m, const char *k, size_t *out)
{
    if (m->cap == 0) {
        return false;
    }
    for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == NULL) {
            return false;
        }
        if (strcmp(m->keys[i], k) == 0) {
            *out = m->vals[i];
            return true;
        }
    }
}

/* Inserts <k> unless present; false when it already was (the map never fills: cap > 2n). */
static bool
strmap_put(struct strmap *m, const char *k, size_t v)
{
    for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == NULL) {
            m->keys[i] = k;
            m->vals[i] = v;
            m->n++;
            return true;
        }
        if (strcmp(m->keys[i], k) == 0) {
            return false;
        }
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* The loader */

struct svc_rec {
    struct sl_service *svc;
    const char *prefix; /* "in 'services': in entry 1 of 'services'" */
    bool ok;
};

struct route_rec {
    struct sl_route *route;
    const char *prefix;
    bool ok;
    long parent;       /* index of the enclosing service, or -1 for a top-level route */
    const json_t *ref; /* a top-level route's `service` value, or NULL */
};

struct loader {
    struct sl_arena *arena; /* the config's: everything the result points to */
    struct sl_arena *tmp;   /* scratch, destroyed at the end */
    struct lines errs;
    struct lines warns;
    int64_t now;
    bool old_format; /* _format_version 1.1 or 2.1: route paths are migrated first */
    struct svc_rec *svcs;
    size_t nsvcs;
    struct route_rec *routes;
    size_t nroutes;
    uint8_t ns_services[16];
    uint8_t ns_routes[16];
};

/* Errors of one entity, kept until it is validated so that a conditional check can replace a
 * field's error as Kong's set_field() does. field NULL is an entity-level ("@entity") error. */
struct fe {
    const char *field;
    const char *msg;
};

struct ent {
    struct loader *L;
    const char *prefix; /* "" at the top level */
    struct fe *v;
    size_t n;
    size_t cap;
    size_t dropped; /* errors past the output limit: counted, never stored */
};

static void
ent_add(struct ent *e, const char *field, const char *msg)
{
    /* a list of a million bad entries must not cost a million stored messages */
    if (e->n + e->L->errs.n >= e->L->errs.max) {
        e->dropped++;
        return;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        struct fe *nv = realloc(e->v, cap * sizeof(*nv));
        if (nv == NULL) {
            e->L->errs.oom = true;
            return;
        }
        e->v = nv;
        e->cap = cap;
    }
    const char *m = sl_arena_strdup(e->L->tmp, msg);
    if (m == NULL) {
        e->L->errs.oom = true;
        return;
    }
    e->v[e->n++] = (struct fe){field, m};
}

static void ent_addf(struct ent *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ent_addf(struct ent *e, const char *field, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ent_add(e, field, buf);
}

/* Replaces every error of <field> with <msg>, at the place of the first one. */
static void
ent_set(struct ent *e, const char *field, const char *msg)
{
    size_t w = 0;
    bool placed = false;
    for (size_t i = 0; i < e->n; i++) {
        if (e->v[i].field != NULL && strcmp(e->v[i].field, field) == 0) {
            if (!placed) {
                e->v[w].field = field;
                e->v[w].msg = sl_arena_strdup(e->L->tmp, msg);
                w++;
                placed = true;
            }
            continue;
        }
        e->v[w++] = e->v[i];
    }
    e->n = w;
    if (!placed) {
        ent_add(e, field, msg);
    }
}

static bool
ent_has(const struct ent *e, const char *field)
{
    for (size_t i = 0; i < e->n; i++) {
        if (e->v[i].field != NULL && strcmp(e->v[i].field, field) == 0) {
            return true;
        }
    }
    return false;
}

/* Moves the entity's errors to the loader's list; returns true when there were none. */
static bool
ent_flush(struct ent *e)
{
    bool ok = e->n == 0 && e->dropped == 0;
    e->L->errs.dropped += (unsigned)e->dropped;
    const char *sep = e->prefix[0] ? ": " : "";
    for (size_t i = 0; i < e->n; i++) {
        if (e->v[i].field != NULL) {
            lines_addf(&e->L->errs, "%s%sin '%s': %s", e->prefix, sep, e->v[i].field, e->v[i].msg);
        } else {
            lines_addf(&e->L->errs, "%s%s%s", e->prefix, sep, e->v[i].msg);
        }
    }
    free(e->v);
    e->v = NULL;
    e->n = e->cap = e->dropped = 0;
    return ok;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Value checks (kong/db/schema/init.lua validate_field and its validators) */

enum presence {
    ABSENT = 0,
    ISNULL,
    PRESENT,
};

static enum presence
member(const json_t *obj, const char *key, const json_t **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = v;
    if (v == NULL) {
        return ABSENT;
    }
    return json_is_null(v) ? ISNULL : PRESENT;
}

/* Kong's is_sequence() accepts an empty table, so an empty object is an empty list. */
static bool
is_list(const json_t *v)
{
    return json_is_array(v) || (json_is_object(v) && json_object_size(v) == 0);
}

static size_t
list_size(const json_t *v)
{
    return json_is_array(v) ? json_array_size(v) : 0;
}

static const json_t *
list_get(const json_t *v, size_t i)
{
    return json_is_array(v) ? json_array_get(v, i) : NULL;
}

/* A string value: NULL when fine, else Kong's message. Strings are at least one byte long. */
static const char *
check_string(const json_t *v)
{
    if (!json_is_string(v)) {
        return "expected a string";
    }
    if (json_string_length(v) == 0) {
        return "length must be at least 1";
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        return "invalid value: contains a NUL byte";
    }
    return NULL;
}

/* Integers: numbers equal to their floor (a YAML 5.0 is an integer to Kong). */
static bool
as_integer(const json_t *v, json_int_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(json_int_t)d) {
            *out = (json_int_t)d;
            return true;
        }
    }
    return false;
}

static const char *
check_integer(const json_t *v, long long lo, long long hi, json_int_t *out, char *buf, size_t n)
{
    if (!as_integer(v, out)) {
        return "expected an integer";
    }
    if (*out < lo || *out > hi) {
        snprintf(buf, n, "value should be between %lld and %lld", lo, hi);
        return buf;
    }
    return NULL;
}

static bool
str_one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, set[i]) == 0) {
            return true;
        }
    }
    return false;
}

static const char *const protocol_names[] = {"grpc", "grpcs",           "http", "https", "tcp",
                                             "tls",  "tls_passthrough", "udp"};
#define NPROTOCOLS (sizeof(protocol_names) / sizeof(protocol_names[0]))

static const enum sl_protocol protocol_values[] = {
    SL_PROTO_GRPC, SL_PROTO_GRPCS,           SL_PROTO_HTTP, SL_PROTO_HTTPS, SL_PROTO_TCP,
    SL_PROTO_TLS,  SL_PROTO_TLS_PASSTHROUGH, SL_PROTO_UDP,
};

static int
protocol_index(const char *s)
{
    for (size_t i = 0; i < NPROTOCOLS; i++) {
        if (strcmp(s, protocol_names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* typedefs.utf8_name */
static const char *
check_name(const char *s, char *buf, size_t n)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!(isalnum(*p) || *p == '.' || *p == '-' || *p == '_' || *p == '~' ||
              (*p >= 128 && *p <= 244))) {
            snprintf(buf, n,
                     "invalid value '%s': the only accepted ascii characters are alphanumerics or "
                     "., -, _, and ~",
                     s);
            return buf;
        }
    }
    return NULL;
}

/* typedefs.tag */
static const char *
check_tag(const char *s, char *buf, size_t n)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if (!((c >= 32 && c <= 43) || c == 45 || c == 46 || (c >= 48 && c <= 126) ||
              (c >= 128 && c <= 244))) {
            snprintf(buf, n,
                     "invalid tag '%s': expected printable ascii (except `,` and `/`) or valid "
                     "utf-8 sequences",
                     s);
            return buf;
        }
    }
    return NULL;
}

typedef const char *(*elem_check_fn)(struct loader *L, const char *s, char *buf, size_t n);

/* An array (or set) of strings: type, then every element (null, type, length, <fn>). Element errors
 * are reported as "in entry N of '<field>': ..." under <field>. Returns true when all is valid. */
static bool
check_string_list(struct ent *e, const char *field, const json_t *v, bool set, elem_check_fn fn)
{
    if (!is_list(v)) {
        ent_add(e, field, set ? "expected a set" : "expected an array");
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < list_size(v); i++) {
        const json_t *el = list_get(v, i);
        const char *m;
        char buf[1200];
        if (json_is_null(el)) {
            m = "required field missing";
        } else if ((m = check_string(el)) == NULL && fn != NULL) {
            m = fn(e->L, json_string_value(el), buf, sizeof(buf));
        }
        if (m != NULL) {
            ent_addf(e, field, "in entry %zu of '%s': %s", i + 1, field, m);
            ok = false;
        }
    }
    return ok;
}

static const char *
elem_tag(struct loader *L, const char *s, char *buf, size_t n)
{
    return check_tag(s, buf, n);
}

static const char *
elem_uuid(struct loader *L, const char *s, char *buf, size_t n)
{
    return sl_uuid_valid(s, strlen(s)) ? NULL : "expected a valid UUID";
}

static const char *
elem_method(struct loader *L, const char *s, char *buf, size_t n)
{
    for (const char *p = s; *p; p++) {
        if (*p < 'A' || *p > 'Z') {
            snprintf(buf, n, "invalid value: %s", s);
            return buf;
        }
    }
    return NULL;
}

static const char *
elem_route_host(struct loader *L, const char *s, char *buf, size_t n)
{
    return sl_kong_check_route_host(s, buf, n);
}

static const char *
elem_sni(struct loader *L, const char *s, char *buf, size_t n)
{
    return sl_kong_check_sni(s, buf, n);
}

static const char *
elem_protocol(struct loader *L, const char *s, char *buf, size_t n)
{
    if (protocol_index(s) < 0) {
        return "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp";
    }
    return NULL;
}

/* PCRE2 compile check with OpenResty's error text ("pcre2_compile() failed: ... in \"...\""). */
static const char *
check_regex(const char *re, uint32_t options, char *buf, size_t n)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *c =
        pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, options, &code, &off, NULL);
    if (c != NULL) {
        pcre2_code_free(c);
        return NULL;
    }
    char msg[256];
    pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof(msg));
    size_t len = strlen(re);
    if (off >= len) {
        snprintf(buf, n,
                 "invalid regex: '%s' (PCRE returned: pcre2_compile() failed: %s in \"%s\")", re,
                 msg, re);
    } else {
        snprintf(buf, n,
                 "invalid regex: '%s' (PCRE returned: pcre2_compile() failed: %s in \"%s\" at "
                 "\"%s\")",
                 re, msg, re, re + off);
    }
    return buf;
}

/* typedefs.router_path: "//", the "/" or "~/" start, percent-encoding, then normalization of prefix
 * paths or compilation of regex paths. <s> is already migrated for old format versions. */
static const char *
elem_router_path(struct loader *L, const char *s, char *buf, size_t n)
{
    if (strstr(s, "//") != NULL) {
        return "must not have empty segments";
    }
    if (!(s[0] == '/' || (s[0] == '~' && s[1] == '/'))) {
        return "should start with: / (fixed path) or ~/ (regex path)";
    }
    bool rfc3986;
    const char *m = sl_kong_check_path_chars(s, &rfc3986, buf, n);
    if (m != NULL && !rfc3986) {
        return m; /* bad percent-encoding; the character set itself is not a route's concern */
    }
    if (s[0] != '~') {
        size_t len = strlen(s);
        char *norm = sl_arena_alloc(L->tmp, len + 1);
        if (norm == NULL) {
            return "out of memory";
        }
        sl_kong_normalize_path(s, true, norm, len + 1);
        if (strcmp(norm, s) != 0) {
            snprintf(buf, n, "non-normalized path, consider use '%s' instead", norm);
            return buf;
        }
        return NULL;
    }
    return check_regex(s + 1, 0, buf, n);
}

/* The migrated form of a route path (old format versions), in the scratch arena. */
static const char *
route_path_value(struct loader *L, const char *s)
{
    if (!L->old_format) {
        return s;
    }
    size_t cap = strlen(s) + 2;
    char *out = sl_arena_alloc(L->tmp, cap);
    if (out == NULL || !sl_kong_migrate_path(s, out, cap)) {
        return s;
    }
    return out;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Field helpers that report into an entity */

static const char *
field_string(struct ent *e, const json_t *obj, const char *field, bool *bad)
{
    const json_t *v;
    if (member(obj, field, &v) != PRESENT) {
        return NULL;
    }
    const char *m = check_string(v);
    if (m != NULL) {
        ent_add(e, field, m);
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

/* An optional integer in [lo, hi]; returns true and sets *out only when present and valid. */
static bool
field_integer(struct ent *e, const json_t *obj, const char *field, long long lo, long long hi,
              json_int_t *out)
{
    const json_t *v;
    if (member(obj, field, &v) != PRESENT) {
        return false;
    }
    char buf[128];
    const char *m = check_integer(v, lo, hi, out, buf, sizeof(buf));
    if (m != NULL) {
        ent_add(e, field, m);
        return false;
    }
    return true;
}

/* A boolean with a default; <required> fields refuse null. */
static bool
field_bool(struct ent *e, const json_t *obj, const char *field, bool def, bool required)
{
    const json_t *v;
    switch (member(obj, field, &v)) {
    case ABSENT:
        return def;
    case ISNULL:
        if (required) {
            ent_add(e, field, "required field missing");
        }
        return def;
    default:
        if (!json_is_boolean(v)) {
            ent_add(e, field, "expected a boolean");
            return def;
        }
        return json_is_true(v);
    }
}

static void
field_id(struct ent *e, const json_t *obj, char out[SL_UUID_LEN + 1])
{
    const json_t *v;
    out[0] = '\0';
    if (member(obj, "id", &v) != PRESENT) {
        return;
    }
    if (!json_is_string(v)) {
        ent_add(e, "id", "expected a string");
        return;
    }
    const char *s = json_string_value(v);
    if (!sl_uuid_valid(s, json_string_length(v))) {
        ent_add(e, "id", "expected a valid UUID");
        return;
    }
    for (size_t i = 0; i < SL_UUID_LEN; i++) {
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[SL_UUID_LEN] = '\0';
}

static void
field_timestamps(struct ent *e, const json_t *obj, int64_t now, int64_t *created, int64_t *updated)
{
    json_int_t t;
    *created = now;
    *updated = now;
    const json_t *v;
    if (member(obj, "created_at", &v) == PRESENT) {
        if (!as_integer(v, &t)) {
            ent_add(e, "created_at", "expected an integer");
        } else if (t <= 0) {
            ent_add(e, "created_at", "expected a valid timestamp");
        } else {
            *created = t;
        }
    }
    /* Kong never validates updated_at; a usable value is kept, anything else ignored */
    if (member(obj, "updated_at", &v) == PRESENT && as_integer(v, &t) && t > 0) {
        *updated = t;
    }
}

static const char *
field_name(struct ent *e, const json_t *obj)
{
    bool bad = false;
    const char *s = field_string(e, obj, "name", &bad);
    if (s == NULL) {
        return NULL;
    }
    char buf[1200];
    const char *m = check_name(s, buf, sizeof(buf));
    if (m != NULL) {
        ent_add(e, "name", m);
        return NULL;
    }
    return sl_arena_strdup(e->L->arena, s);
}

/* Copies a validated list of strings into the config arena (sets drop duplicates, as Kong's
 * make_set does). <xform> may rewrite each element first. */
static struct sl_strv
to_strv(struct loader *L, const json_t *v, bool set,
        const char *(*xform)(struct loader *, const char *))
{
    struct sl_strv out = {NULL, 0};
    size_t n = list_size(v);
    if (n == 0) {
        out.v = sl_arena_calloc(L->arena, 1, sizeof(*out.v));
        return out;
    }
    out.v = sl_arena_calloc(L->arena, n + 1, sizeof(*out.v));
    struct strmap seen = {0};
    if (out.v == NULL || (set && !strmap_init(&seen, n, L->tmp))) {
        L->errs.oom = true;
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(list_get(v, i));
        if (s == NULL) {
            continue;
        }
        if (xform != NULL) {
            s = xform(L, s);
        }
        const char *copy = sl_arena_strdup(L->arena, s);
        if (copy == NULL) {
            L->errs.oom = true;
            return out;
        }
        /* a hash set keeps huge sets linear */
        if (!set || strmap_put(&seen, copy, i)) {
            out.v[out.n++] = copy;
        }
    }
    return out;
}

/* tags: an optional set of tags. */
static struct sl_strv
field_tags(struct ent *e, const json_t *obj)
{
    struct sl_strv none = {NULL, 0};
    const json_t *v;
    if (member(obj, "tags", &v) != PRESENT) {
        return none;
    }
    if (!check_string_list(e, "tags", v, true, elem_tag)) {
        return none;
    }
    return to_strv(e->L, v, true, NULL);
}

/* Nested entities Sluice does not implement yet: accepted, reported as warnings. */
static void
field_ignored_list(struct ent *e, const json_t *obj, const char *field)
{
    const json_t *v;
    if (member(obj, field, &v) != PRESENT) {
        return;
    }
    if (!is_list(v)) {
        ent_add(e, field, "expected an array");
        return;
    }
    if (list_size(v) > 0) {
        lines_addf(&e->L->warns, "%s%signoring '%s' (%zu entries): not supported by Sluice yet",
                   e->prefix, e->prefix[0] ? ": " : "", field, list_size(v));
    }
}

static void
field_comment_ignore(struct ent *e, const json_t *obj)
{
    const json_t *v;
    if (member(obj, "_comment", &v) == PRESENT && !json_is_string(v)) {
        ent_add(e, "_comment", "expected a string");
    }
    if (member(obj, "_ignore", &v) == PRESENT && !is_list(v)) {
        ent_add(e, "_ignore", "expected an array");
    }
}

static void
unknown_fields(struct ent *e, const json_t *obj, const char *const *known, size_t nknown)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (!str_one_of(k, known, nknown)) {
            ent_add(e, k, "unknown field");
        }
    }
}

static bool
nonempty(const json_t *obj, const char *field)
{
    const json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v)) {
        return false;
    }
    if (json_is_array(v)) {
        return json_array_size(v) > 0;
    }
    if (json_is_object(v)) {
        return json_object_size(v) > 0;
    }
    if (json_is_string(v)) {
        return json_string_length(v) > 0;
    }
    return true;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Services */

static const char *const service_fields[] = {
    "id",
    "created_at",
    "updated_at",
    "name",
    "retries",
    "protocol",
    "host",
    "port",
    "path",
    "connect_timeout",
    "write_timeout",
    "read_timeout",
    "tags",
    "client_certificate",
    "tls_verify",
    "tls_verify_depth",
    "ca_certificates",
    "enabled",
    "routes",
    "plugins",
    "filter_chains",
    "_comment",
    "_ignore",
    "url",
};

/* The `url` shorthand (services.lua shorthand_fields): its parts replace protocol, host, port and
 * path — a shorthand that is not deprecated wins over the fields it expands to. */
static json_t *
expand_url(const json_t *obj, const char *url)
{
    size_t len = strlen(url);
    char *buf = malloc(len + 16);
    if (buf == NULL) {
        return NULL;
    }
    struct sl_kong_url u;
    json_t *work = json_copy((json_t *)obj);
    if (work == NULL) {
        free(buf);
        return NULL;
    }
    json_object_del(work, "url");
    if (sl_kong_url_parse(url, buf, len + 16, &u) != 0) {
        free(buf);
        return work;
    }
    long port = -1;
    if (u.port != NULL && u.port[0] != '\0') {
        char *end;
        long p = strtol(u.port, &end, 10);
        if (*end == '\0' && isdigit((unsigned char)u.port[0]) && strlen(u.port) < 10) {
            port = p;
        }
    }
    const char *prot = port == 80 ? "http" : port == 443 ? "https" : NULL;
    const char *protocol = u.scheme ? u.scheme : prot ? prot : "http";
    json_object_set_new(work, "protocol", json_string(protocol));
    json_object_set_new(work, "host", u.host ? json_string(u.host) : json_null());
    if (port >= 0) {
        json_object_set_new(work, "port", json_integer(port));
    } else if (u.port != NULL) {
        json_object_set_new(work, "port", json_string(u.port)); /* fails as "expected an integer" */
    } else {
        json_object_set_new(work, "port", json_integer(strcmp(protocol, "https") == 0 ? 443 : 80));
    }
    json_object_set_new(work, "path", u.path ? json_string(u.path) : json_null());
    free(buf);
    return work;
}

static void
validate_service(struct loader *L, const json_t *in, struct svc_rec *rec)
{
    struct ent e = {.L = L, .prefix = rec->prefix};
    struct sl_service *s = sl_arena_calloc(L->arena, 1, sizeof(*s));
    if (s == NULL) {
        L->errs.oom = true;
        return;
    }
    rec->svc = s;
    s->protocol = SL_PROTO_HTTP;
    s->port = 80;
    s->retries = 5;
    s->connect_timeout_ms = s->write_timeout_ms = s->read_timeout_ms = 60000;
    s->enabled = true;
    s->tls_verify = -1;
    s->tls_verify_depth = -1;

    json_t *work = NULL;
    const json_t *obj = in;
    const json_t *v;
    if (member(in, "url", &v) == PRESENT) {
        const char *m = check_string(v);
        if (m != NULL) {
            ent_add(&e, "url", m);
        } else if ((work = expand_url(in, json_string_value(v))) != NULL) {
            obj = work;
        } else {
            L->errs.oom = true;
        }
    }

    field_id(&e, obj, s->id);
    field_timestamps(&e, obj, L->now, &s->created_at, &s->updated_at);
    s->name = field_name(&e, obj);
    json_int_t n;
    if (field_integer(&e, obj, "retries", 0, 32767, &n)) {
        s->retries = (int)n;
    }

    /* protocol: required, default http */
    int proto = 2; /* index of "http" */
    bool proto_ok = true;
    switch (member(obj, "protocol", &v)) {
    case ISNULL:
        ent_add(&e, "protocol", "required field missing");
        proto_ok = false;
        break;
    case PRESENT:
        if (!json_is_string(v)) {
            ent_add(&e, "protocol", "expected a string");
            proto_ok = false;
        } else if ((proto = protocol_index(json_string_value(v))) < 0) {
            ent_add(&e, "protocol",
                    "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp");
            proto_ok = false;
        }
        break;
    default:
        break;
    }
    if (proto_ok) {
        s->protocol = protocol_values[proto];
    }

    /* host: required */
    if (member(obj, "host", &v) != PRESENT) {
        ent_add(&e, "host", "required field missing");
    } else {
        const char *m = check_string(v);
        char buf[1200];
        if (m == NULL) {
            m = sl_kong_check_host(json_string_value(v), buf, sizeof(buf));
        }
        if (m != NULL) {
            ent_add(&e, "host", m);
        } else {
            s->host = sl_arena_strdup(L->arena, json_string_value(v));
        }
    }

    /* port: required, default 80 */
    switch (member(obj, "port", &v)) {
    case ISNULL:
        ent_add(&e, "port", "required field missing");
        break;
    case PRESENT: {
        char buf[128];
        const char *m = check_integer(v, 0, 65535, &n, buf, sizeof(buf));
        if (m != NULL) {
            ent_add(&e, "port", m);
        } else {
            s->port = (uint16_t)n;
        }
        break;
    }
    default:
        break;
    }

    /* path: typedefs.path */
    if (member(obj, "path", &v) == PRESENT) {
        const char *m = check_string(v);
        char buf[1200];
        const char *p = json_string_value(v);
        if (m == NULL && p[0] != '/') {
            m = "should start with: /";
        }
        if (m == NULL && strstr(p, "//") != NULL) {
            m = "must not have empty segments";
        }
        bool rfc3986;
        if (m == NULL) {
            m = sl_kong_check_path_chars(p, &rfc3986, buf, sizeof(buf));
        }
        if (m != NULL) {
            ent_add(&e, "path", m);
        } else {
            s->path = sl_arena_strdup(L->arena, p);
        }
    }

    if (field_integer(&e, obj, "connect_timeout", 1, 2147483646, &n)) {
        s->connect_timeout_ms = (int)n;
    }
    if (field_integer(&e, obj, "write_timeout", 1, 2147483646, &n)) {
        s->write_timeout_ms = (int)n;
    }
    if (field_integer(&e, obj, "read_timeout", 1, 2147483646, &n)) {
        s->read_timeout_ms = (int)n;
    }
    s->tags = field_tags(&e, obj);

    /* client_certificate: a foreign key; certificates are not implemented, so only its shape */
    if (member(obj, "client_certificate", &v) == PRESENT) {
        const json_t *id = json_is_object(v) ? json_object_get(v, "id") : NULL;
        if (id == NULL || json_is_null(id)) {
            ent_add(&e, "client_certificate", "in 'id': missing primary key");
        } else if (!json_is_string(id)) {
            ent_add(&e, "client_certificate", "in 'id': expected a string");
        } else if (!sl_uuid_valid(json_string_value(id), json_string_length(id))) {
            ent_add(&e, "client_certificate", "in 'id': expected a valid UUID");
        } else {
            lines_addf(&L->warns, "%s: ignoring 'client_certificate': not supported by Sluice yet",
                       rec->prefix);
        }
    }
    if (member(obj, "tls_verify", &v) == PRESENT) {
        if (!json_is_boolean(v)) {
            ent_add(&e, "tls_verify", "expected a boolean");
        } else {
            s->tls_verify = json_is_true(v);
        }
    }
    if (field_integer(&e, obj, "tls_verify_depth", 0, 64, &n)) {
        s->tls_verify_depth = (int)n;
    }
    if (member(obj, "ca_certificates", &v) == PRESENT &&
        check_string_list(&e, "ca_certificates", v, false, elem_uuid) && list_size(v) > 0) {
        lines_addf(&L->warns, "%s: ignoring 'ca_certificates': not supported by Sluice yet",
                   rec->prefix);
    }
    s->enabled = field_bool(&e, obj, "enabled", true, true);
    if (member(obj, "routes", &v) == PRESENT && !is_list(v)) {
        ent_add(&e, "routes", "expected an array");
    }
    field_ignored_list(&e, obj, "plugins");
    field_ignored_list(&e, obj, "filter_chains");
    field_comment_ignore(&e, obj);
    unknown_fields(&e, obj, service_fields, sizeof(service_fields) / sizeof(service_fields[0]));

    /* entity checks (services.lua): conditional on the protocol */
    if (proto_ok) {
        const char *p = protocol_names[proto];
        static const char *const no_path[] = {"tcp", "tls", "udp", "grpc", "grpcs"};
        if (str_one_of(p, no_path, 5) && member(obj, "path", &v) == PRESENT) {
            ent_set(&e, "path", "value must be null");
            ent_add(&e, NULL, "failed conditional validation given value of field 'protocol'");
        }
        if (strcmp(p, "https") != 0 && strcmp(p, "tls") != 0) {
            static const char *const tls_only[] = {"client_certificate", "tls_verify",
                                                   "tls_verify_depth", "ca_certificates"};
            for (size_t i = 0; i < 4; i++) {
                if (member(obj, tls_only[i], &v) == PRESENT) {
                    ent_set(&e, tls_only[i], "value must be null");
                    ent_add(&e, NULL,
                            "failed conditional validation given value of field 'protocol'");
                }
            }
        }
    }
    rec->ok = ent_flush(&e);
    json_decref(work);
}

/* ------------------------------------------------------------------------------------------------
 */
/* Routes */

enum subschema { SUB_HTTP = 0, SUB_STREAM, SUB_GRPC, SUB_MAX };

static const char *const route_fields[] = {
    "id",
    "created_at",
    "updated_at",
    "name",
    "protocols",
    "methods",
    "hosts",
    "paths",
    "headers",
    "https_redirect_status_code",
    "regex_priority",
    "strip_path",
    "path_handling",
    "preserve_host",
    "request_buffering",
    "response_buffering",
    "snis",
    "sources",
    "destinations",
    "tags",
    "service",
    "plugins",
    "filter_chains",
    "_comment",
    "_ignore",
};

static int
subschema_of(const char *protocol)
{
    int i = protocol_index(protocol);
    if (i < 0) {
        return -1;
    }
    switch (protocol_values[i]) {
    case SL_PROTO_HTTP:
    case SL_PROTO_HTTPS:
        return SUB_HTTP;
    case SL_PROTO_GRPC:
    case SL_PROTO_GRPCS:
        return SUB_GRPC;
    default:
        return SUB_STREAM;
    }
}

/* A field the subschema forbids (typedefs.no_*: eq = null with a custom message). */
static bool
forbidden(struct ent *e, const json_t *obj, const char *field, const char *msg)
{
    const json_t *v;
    if (member(obj, field, &v) == PRESENT) {
        ent_add(e, field, msg);
        return true;
    }
    return false;
}

/* Validates `headers` (typedefs.headers with the routes.lua host rule). Kong stops at the first bad
 * entry of a map. Returns true when valid. */
static bool
check_headers(struct ent *e, const json_t *v)
{
    if (!json_is_object(v)) {
        ent_add(e, "headers", "expected a map");
        return false;
    }
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        char buf[1400];
        if (k[0] == '\0') {
            ent_add(e, "headers", "length must be at least 1");
            return false;
        }
        if (strcasecmp(k, "host") == 0) {
            ent_add(e, "headers",
                    "cannot contain 'host' header, which must be specified in the 'hosts' "
                    "attribute");
            return false;
        }
        for (const char *p = k; *p; p++) {
            if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_')) {
                snprintf(buf, sizeof(buf),
                         "bad header name '%s', allowed characters are A-Z, a-z, 0-9, '_', and "
                         "'-'",
                         k);
                ent_add(e, "headers", buf);
                return false;
            }
        }
        if (json_is_null(val)) {
            ent_add(e, "headers", "required field missing");
            return false;
        }
        if (!check_string_list(e, "headers", val, false, NULL)) {
            return false;
        }
        /* Sluice extension: a "~*" regex value must compile, or the router could not be built */
        if (json_array_size(val) == 1) {
            const char *s = json_string_value(json_array_get(val, 0));
            if (strncmp(s, "~*", 2) == 0) {
                const char *m = check_regex(s + 2, PCRE2_CASELESS, buf, sizeof(buf));
                if (m != NULL) {
                    ent_addf(e, "headers", "in entry 1 of 'headers': %s", m);
                    return false;
                }
            }
        }
    }
    return true;
}

/* sources / destinations of stream routes: sets of {ip, port} records. Validated, not stored. */
static void
check_endpoints(struct ent *e, const char *field, const json_t *v)
{
    if (!is_list(v)) {
        ent_add(e, field, "expected a set");
        return;
    }
    for (size_t i = 0; i < list_size(v); i++) {
        const json_t *r = list_get(v, i);
        if (json_is_null(r)) {
            ent_addf(e, field, "in entry %zu of '%s': required field missing", i + 1, field);
            continue;
        }
        if (!json_is_object(r)) {
            ent_addf(e, field, "in entry %zu of '%s': expected a record", i + 1, field);
            continue;
        }
        const json_t *ip;
        const json_t *port;
        bool has_ip = member(r, "ip", &ip) == PRESENT;
        bool has_port = member(r, "port", &port) == PRESENT;
        if (has_ip) {
            struct sl_cidr c;
            if (!json_is_string(ip)) {
                ent_addf(e, field, "in entry %zu of '%s': in 'ip': expected a string", i + 1,
                         field);
            } else if (sl_cidr_parse(json_string_value(ip), json_string_length(ip), &c) != 0) {
                ent_addf(e, field, "in entry %zu of '%s': in 'ip': invalid ip or cidr range: '%s'",
                         i + 1, field, json_string_value(ip));
            }
        }
        if (has_port) {
            json_int_t n;
            char buf[128];
            const char *m = check_integer(port, 0, 65535, &n, buf, sizeof(buf));
            if (m != NULL) {
                ent_addf(e, field, "in entry %zu of '%s': in 'port': %s", i + 1, field, m);
            }
        }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)r, k, x)
        {
            if (strcmp(k, "ip") != 0 && strcmp(k, "port") != 0) {
                ent_addf(e, field, "in entry %zu of '%s': in '%s': unknown field", i + 1, field, k);
            }
        }
        if (!has_ip && !has_port) {
            ent_addf(e, field,
                     "in entry %zu of '%s': at least one of these fields must be non-empty: "
                     "'ip', 'port'",
                     i + 1, field);
        }
    }
}

static char *
lower_dup(struct sl_arena *a, const char *s)
{
    char *d = sl_arena_strdup(a, s);
    for (char *p = d; p && *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    return d;
}

static void
build_headers(struct loader *L, const json_t *v, struct sl_route *r)
{
    size_t n = json_object_size(v);
    r->headers = sl_arena_calloc(L->arena, n ? n : 1, sizeof(*r->headers));
    if (r->headers == NULL) {
        L->errs.oom = true;
        return;
    }
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        struct sl_route_header *h = &r->headers[r->nheaders++];
        h->name = lower_dup(L->arena, k);
        h->values = to_strv(L, val, false, NULL);
        bool regex = h->values.n == 1 && strncmp(h->values.v[0], "~*", 2) == 0;
        for (size_t i = 0; !regex && i < h->values.n; i++) {
            h->values.v[i] = lower_dup(L->arena, h->values.v[i]);
        }
    }
}

/* Kong's quoted_list of the protocol groups a route's protocols fall in. */
static const char *
exclusive_groups(const json_t *protos, char *buf, size_t n)
{
    static const char *const groups[][3] = {
        {"http", "https", NULL},
        {"tcp", "tls", "udp"},
        {"tls_passthrough", NULL, NULL},
        {"grpc", "grpcs", NULL},
    };
    int order[4];
    int norder = 0;
    for (size_t i = 0; i < json_array_size(protos); i++) {
        const char *p = json_string_value(json_array_get(protos, i));
        for (int g = 0; g < 4; g++) {
            bool in = false;
            for (int k = 0; k < 3 && groups[g][k]; k++) {
                in = in || strcmp(p, groups[g][k]) == 0;
            }
            bool seen = false;
            for (int o = 0; o < norder; o++) {
                seen = seen || order[o] == g;
            }
            if (in && !seen) {
                order[norder++] = g;
            }
        }
    }
    if (norder <= 1) {
        return NULL;
    }
    size_t w = (size_t)snprintf(buf, n, "these sets are mutually exclusive: ");
    for (int o = 0; o < norder && w < n; o++) {
        int g = order[o];
        w += (size_t)snprintf(buf + w, n - w, "%s(", o ? ", " : "");
        for (int k = 0; k < 3 && groups[g][k] && w < n; k++) {
            w += (size_t)snprintf(buf + w, n - w, "%s'%s'", k ? ", " : "", groups[g][k]);
        }
        if (w < n) {
            w += (size_t)snprintf(buf + w, n - w, ")");
        }
    }
    return buf;
}

static bool
protos_contain(const json_t *protos, const char *p)
{
    for (size_t i = 0; i < json_array_size(protos); i++) {
        if (strcmp(json_string_value(json_array_get(protos, i)), p) == 0) {
            return true;
        }
    }
    return false;
}

static bool
protos_all_in(const json_t *protos, const char *const *set, size_t n)
{
    for (size_t i = 0; i < json_array_size(protos); i++) {
        if (!str_one_of(json_string_value(json_array_get(protos, i)), set, n)) {
            return false;
        }
    }
    return true;
}

/* conditional_at_least_one_of: "must set one of 'a', 'b' when 'protocols' is 'x'" */
static void
at_least_one(struct ent *e, const json_t *obj, const char *const *fields, size_t n,
             const char *when)
{
    for (size_t i = 0; i < n; i++) {
        if (nonempty(obj, fields[i])) {
            return;
        }
    }
    char buf[512];
    size_t w = 0;
    for (size_t i = 0; i < n && w < sizeof(buf); i++) {
        w += (size_t)snprintf(buf + w, sizeof(buf) - w, "%s'%s'", i ? ", " : "", fields[i]);
    }
    ent_addf(e, NULL, "must set one of %s when 'protocols' is %s", buf, when);
}

static void
validate_route(struct loader *L, const json_t *obj, struct route_rec *rec, bool nested)
{
    struct ent e = {.L = L, .prefix = rec->prefix};
    struct sl_route *r = sl_arena_calloc(L->arena, 1, sizeof(*r));
    if (r == NULL) {
        L->errs.oom = true;
        return;
    }
    rec->route = r;
    r->protocols = SL_PROTO_BIT(SL_PROTO_HTTP) | SL_PROTO_BIT(SL_PROTO_HTTPS);
    r->https_redirect_status_code = 426;
    r->strip_path = true;
    r->request_buffering = true;
    r->response_buffering = true;
    r->path_handling = SL_PATH_HANDLING_V0;

    /* the subschema comes from the first protocol (Schema:validate stops here when it cannot) */
    const json_t *protos;
    json_t *default_protos = NULL;
    enum presence pp = member(obj, "protocols", &protos);
    if (pp == ABSENT) {
        default_protos = json_pack("[ss]", "http", "https");
        protos = default_protos;
    } else if (pp == ISNULL) {
        ent_add(&e, "protocols", "required field missing");
        rec->ok = ent_flush(&e);
        return;
    }
    int sub = -1;
    if (json_is_string(protos)) {
        sub = subschema_of(json_string_value(protos));
    } else if (json_is_array(protos)) {
        for (size_t i = 0; i < json_array_size(protos) && sub < 0; i++) {
            const json_t *p = json_array_get(protos, i);
            if (json_is_string(p)) {
                sub = subschema_of(json_string_value(p));
            }
        }
    }
    if (sub < 0) {
        char repr[128] = "nil";
        const json_t *first = json_is_array(protos) ? json_array_get(protos, 0) : protos;
        if (json_is_string(first)) {
            snprintf(repr, sizeof(repr), "%s", json_string_value(first));
        } else if (first != NULL) {
            char *d = json_dumps(first, JSON_ENCODE_ANY | JSON_COMPACT);
            if (d != NULL) {
                snprintf(repr, sizeof(repr), "%s", d);
                free(d);
            }
        }
        ent_addf(&e, "protocols", "unknown type: %s", repr);
        rec->ok = ent_flush(&e);
        json_decref(default_protos);
        return;
    }

    field_id(&e, obj, r->id);
    field_timestamps(&e, obj, L->now, &r->created_at, &r->updated_at);
    r->name = field_name(&e, obj);

    /* protocols: a set of protocols in one exclusive group */
    bool protos_ok = check_string_list(&e, "protocols", protos, true, elem_protocol);
    if (protos_ok) {
        char buf[256];
        const char *m = exclusive_groups(protos, buf, sizeof(buf));
        if (m != NULL) {
            ent_add(&e, "protocols", m);
            protos_ok = false;
        } else {
            r->protocols = 0;
            for (size_t i = 0; i < json_array_size(protos); i++) {
                int pi = protocol_index(json_string_value(json_array_get(protos, i)));
                r->protocols |= SL_PROTO_BIT(protocol_values[pi]);
            }
        }
    }

    const json_t *v;
    if (sub == SUB_STREAM) {
        const char *m = "when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'";
        char buf[160];
        static const char *const no_fields[] = {"methods", "hosts", "paths", "headers"};
        for (size_t i = 0; i < 4; i++) {
            snprintf(buf, sizeof(buf), "cannot set '%s' %s", no_fields[i], m);
            forbidden(&e, obj, no_fields[i], buf);
        }
    } else {
        if (sub == SUB_GRPC) {
            forbidden(&e, obj, "methods",
                      "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'");
        } else if (member(obj, "methods", &v) == PRESENT &&
                   check_string_list(&e, "methods", v, true, elem_method)) {
            r->methods = to_strv(L, v, true, NULL);
        }
        if (member(obj, "hosts", &v) == PRESENT &&
            check_string_list(&e, "hosts", v, false, elem_route_host)) {
            r->hosts = to_strv(L, v, false, NULL);
        }
        if (member(obj, "paths", &v) == PRESENT) {
            /* old format versions: each path is migrated before it is validated */
            bool ok = is_list(v);
            if (!ok) {
                ent_add(&e, "paths", "expected an array");
            }
            for (size_t i = 0; ok && i < list_size(v); i++) {
                const json_t *el = list_get(v, i);
                const char *m;
                char buf[1400];
                if (json_is_null(el)) {
                    m = "required field missing";
                } else if ((m = check_string(el)) == NULL) {
                    const char *p = route_path_value(L, json_string_value(el));
                    m = p[0] == '\0' ? "length must be at least 1"
                                     : elem_router_path(L, p, buf, sizeof(buf));
                }
                if (m != NULL) {
                    ent_addf(&e, "paths", "in entry %zu of 'paths': %s", i + 1, m);
                }
            }
            if (ok && !ent_has(&e, "paths")) {
                r->paths = to_strv(L, v, false, route_path_value);
            }
        }
        if (member(obj, "headers", &v) == PRESENT && check_headers(&e, v)) {
            build_headers(L, v, r);
        }
    }

    json_int_t n;
    switch (member(obj, "https_redirect_status_code", &v)) {
    case ISNULL:
        ent_add(&e, "https_redirect_status_code", "required field missing");
        break;
    case PRESENT:
        if (!as_integer(v, &n)) {
            ent_add(&e, "https_redirect_status_code", "expected an integer");
        } else if (n != 426 && n != 301 && n != 302 && n != 307 && n != 308) {
            ent_add(&e, "https_redirect_status_code", "expected one of: 426, 301, 302, 307, 308");
        } else {
            r->https_redirect_status_code = (int)n;
        }
        break;
    default:
        break;
    }
    if (field_integer(&e, obj, "regex_priority", -2147483647LL - 1, 2147483647LL, &n)) {
        r->regex_priority = (int)n;
    }
    if (sub == SUB_GRPC) {
        r->strip_path = field_bool(&e, obj, "strip_path", false, true);
        if (r->strip_path) {
            ent_set(&e, "strip_path",
                    "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'");
        }
    } else {
        r->strip_path = field_bool(&e, obj, "strip_path", true, true);
    }
    switch (member(obj, "path_handling", &v)) {
    case PRESENT:
        if (!json_is_string(v)) {
            ent_add(&e, "path_handling", "expected a string");
        } else if (strcmp(json_string_value(v), "v0") == 0) {
            r->path_handling = SL_PATH_HANDLING_V0;
        } else if (strcmp(json_string_value(v), "v1") == 0) {
            r->path_handling = SL_PATH_HANDLING_V1;
        } else {
            ent_add(&e, "path_handling", "expected one of: v0, v1");
        }
        break;
    default:
        break;
    }
    r->preserve_host = field_bool(&e, obj, "preserve_host", false, true);
    r->request_buffering = field_bool(&e, obj, "request_buffering", true, true);
    r->response_buffering = field_bool(&e, obj, "response_buffering", true, true);
    if (member(obj, "snis", &v) == PRESENT && check_string_list(&e, "snis", v, true, elem_sni)) {
        r->snis = to_strv(L, v, true, NULL);
    }
    if (sub == SUB_HTTP) {
        forbidden(&e, obj, "sources", "cannot set 'sources' when 'protocols' is 'http' or 'https'");
        forbidden(&e, obj, "destinations",
                  "cannot set 'destinations' when 'protocols' is 'http' or 'https'");
    } else if (sub == SUB_GRPC) {
        forbidden(&e, obj, "sources", "cannot set 'sources' when 'protocols' is 'grpc' or 'grpcs'");
        forbidden(&e, obj, "destinations",
                  "cannot set 'destinations' when 'protocols' is 'grpc' or 'grpcs'");
    } else {
        if (member(obj, "sources", &v) == PRESENT) {
            check_endpoints(&e, "sources", v);
        }
        if (member(obj, "destinations", &v) == PRESENT) {
            check_endpoints(&e, "destinations", v);
        }
    }
    r->tags = field_tags(&e, obj);

    /* service: nested routes get it from their parent; top-level ones name it */
    if (member(obj, "service", &v) == PRESENT) {
        if (nested) {
            ent_add(&e, "service", "value must be null");
        } else if (json_is_string(v)) {
            if (json_string_length(v) == 0) {
                ent_add(&e, "service", "length must be at least 1");
            } else {
                rec->ref = v;
            }
        } else if (json_is_object(v)) {
            const char *k;
            json_t *x;
            bool ok = true;
            json_object_foreach((json_t *)v, k, x)
            {
                if (strcmp(k, "id") == 0) {
                    if (!json_is_string(x)) {
                        ent_add(&e, "service", "in 'id': expected a string");
                        ok = false;
                    } else if (!sl_uuid_valid(json_string_value(x), json_string_length(x))) {
                        ent_add(&e, "service", "in 'id': expected a valid UUID");
                        ok = false;
                    }
                } else if (strcmp(k, "name") == 0) {
                    const char *m = check_string(x);
                    if (m != NULL) {
                        ent_addf(&e, "service", "in 'name': %s", m);
                        ok = false;
                    }
                } else {
                    ent_addf(&e, "service", "in '%s': unknown field", k);
                    ok = false;
                }
            }
            if (ok && json_object_get(v, "id") == NULL && json_object_get(v, "name") == NULL) {
                ent_add(&e, "service", "in 'id': missing primary key");
                ok = false;
            }
            if (ok) {
                rec->ref = v;
            }
        } else {
            ent_add(&e, "service", "expected a string");
        }
    }
    field_ignored_list(&e, obj, "plugins");
    field_ignored_list(&e, obj, "filter_chains");
    field_comment_ignore(&e, obj);
    unknown_fields(&e, obj, route_fields, sizeof(route_fields) / sizeof(route_fields[0]));

    /* entity checks (routes.lua, routes_subschemas.lua) */
    if (protos_ok) {
        static const char *const sni_protos[] = {"grpcs", "https", "tls", "tls_passthrough"};
        bool any_sni_proto = false;
        for (size_t i = 0; i < 4; i++) {
            any_sni_proto = any_sni_proto || protos_contain(protos, sni_protos[i]);
        }
        if (!any_sni_proto && member(obj, "snis", &v) == PRESENT && is_list(v) &&
            list_size(v) > 0) {
            ent_set(&e, "snis", "length must be 0");
            ent_add(&e, NULL,
                    "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or "
                    "'tls_passthrough'");
        }
        if (sub == SUB_HTTP) {
            if (protos_contain(protos, "https")) {
                static const char *const f[] = {"methods", "hosts", "headers", "paths", "snis"};
                at_least_one(&e, obj, f, 5, "'https'");
            } else if (protos_contain(protos, "http")) {
                static const char *const f[] = {"methods", "hosts", "headers", "paths"};
                at_least_one(&e, obj, f, 4, "'http'");
            }
        } else if (sub == SUB_GRPC) {
            if (protos_contain(protos, "grpcs")) {
                static const char *const f[] = {"hosts", "headers", "paths", "snis"};
                at_least_one(&e, obj, f, 4, "'grpcs'");
            } else if (protos_contain(protos, "grpc")) {
                static const char *const f[] = {"hosts", "headers", "paths"};
                at_least_one(&e, obj, f, 3, "'grpc'");
            }
        } else {
            static const char *const tcp_tls_udp[] = {"tcp", "tls", "udp"};
            static const char *const passthrough[] = {"tls_passthrough"};
            if (protos_all_in(protos, tcp_tls_udp, 3)) {
                static const char *const f[] = {"sources", "destinations", "snis"};
                at_least_one(&e, obj, f, 3, "'tcp', 'tls' or 'udp'");
            }
            if (protos_all_in(protos, passthrough, 1) && !nonempty(obj, "snis")) {
                ent_add(&e, NULL, "must set snis when 'protocols' is 'tls_passthrough'");
            }
        }
    }
    rec->ok = ent_flush(&e);
    json_decref(default_protos);
}

/* ------------------------------------------------------------------------------------------------
 */
/* Ids, uniqueness and references */

static void
generate_id(struct loader *L, const uint8_t ns[16], const char *key, char out[SL_UUID_LEN + 1])
{
    uint8_t u[16];
    if (sl_uuid_v5(ns, key, strlen(key), u) != 0) {
        L->errs.oom = true;
        return;
    }
    sl_uuid_format(u, out);
}

/* Kong derives an id from the endpoint key (the name). Kong gives a random id to an entity without
 * a name; Sluice derives one from its position so that reloading the same file keeps every id. */
static void
assign_ids(struct loader *L)
{
    size_t top_routes = 0;
    size_t nested_index = 0;
    long last_parent = -2;
    for (size_t i = 0; i < L->nsvcs; i++) {
        struct sl_service *s = L->svcs[i].svc;
        if (s != NULL && s->id[0] == '\0') {
            char key[64];
            if (s->name != NULL) {
                generate_id(L, L->ns_services, s->name, s->id);
            } else {
                snprintf(key, sizeof(key), "sluice:services/%zu", i + 1);
                generate_id(L, L->ns_services, key, s->id);
            }
        }
    }
    for (size_t i = 0; i < L->nroutes; i++) {
        struct route_rec *rr = &L->routes[i];
        if (rr->parent != last_parent) {
            nested_index = 0;
            last_parent = rr->parent;
        }
        nested_index++;
        if (rr->parent < 0) {
            top_routes++;
        }
        struct sl_route *r = rr->route;
        if (r == NULL || r->id[0] != '\0') {
            continue;
        }
        if (r->name != NULL) {
            generate_id(L, L->ns_routes, r->name, r->id);
            continue;
        }
        char key[128];
        const struct sl_service *parent = rr->parent >= 0 ? L->svcs[rr->parent].svc : NULL;
        if (parent != NULL) {
            snprintf(key, sizeof(key), "sluice:services/%s/routes/%zu", parent->id, nested_index);
        } else {
            snprintf(key, sizeof(key), "sluice:routes/%zu", top_routes);
        }
        generate_id(L, L->ns_routes, key, r->id);
    }
}

static void
uniqueness_route(struct loader *L, struct strmap *names, struct strmap *ids, size_t i)
{
    struct route_rec *rr = &L->routes[i];
    if (rr->route == NULL) {
        return;
    }
    const char *name = rr->route->name;
    if (name != NULL && !strmap_put(names, name, i)) {
        lines_addf(&L->errs,
                   "%s: uniqueness violation: 'routes' entity with name set to '%s' already "
                   "declared",
                   rr->prefix, name);
        rr->ok = false;
        return;
    }
    if (rr->route->id[0] != '\0' && !strmap_put(ids, rr->route->id, i)) {
        lines_addf(&L->errs,
                   "%s: uniqueness violation: 'routes' entity with primary key set to '%s' "
                   "already declared",
                   rr->prefix, rr->route->id);
        rr->ok = false;
    }
}

/* declarative_config.lua populate_references/validate_references: nested entities are registered
 * before their parent, services before top-level routes; the later duplicate is the one reported.
 */
static void
check_uniqueness_and_references(struct loader *L)
{
    struct strmap svc_names, svc_ids, route_names, route_ids;
    if (!strmap_init(&svc_names, L->nsvcs, L->tmp) || !strmap_init(&svc_ids, L->nsvcs, L->tmp) ||
        !strmap_init(&route_names, L->nroutes, L->tmp) ||
        !strmap_init(&route_ids, L->nroutes, L->tmp)) {
        L->errs.oom = true;
        return;
    }
    size_t ri = 0;
    for (size_t i = 0; i < L->nsvcs; i++) {
        for (; ri < L->nroutes && L->routes[ri].parent == (long)i; ri++) {
            uniqueness_route(L, &route_names, &route_ids, ri);
        }
        struct svc_rec *sr = &L->svcs[i];
        if (sr->svc == NULL) {
            continue;
        }
        if (sr->svc->name != NULL && !strmap_put(&svc_names, sr->svc->name, i)) {
            lines_addf(&L->errs,
                       "%s: uniqueness violation: 'services' entity with name set to '%s' "
                       "already declared",
                       sr->prefix, sr->svc->name);
            sr->ok = false;
            continue;
        }
        if (sr->svc->id[0] != '\0' && !strmap_put(&svc_ids, sr->svc->id, i)) {
            lines_addf(&L->errs,
                       "%s: uniqueness violation: 'services' entity with primary key set to '%s' "
                       "already declared",
                       sr->prefix, sr->svc->id);
            sr->ok = false;
        }
    }
    for (; ri < L->nroutes; ri++) {
        uniqueness_route(L, &route_names, &route_ids, ri);
    }

    for (size_t i = 0; i < L->nroutes; i++) {
        struct route_rec *rr = &L->routes[i];
        if (rr->route == NULL) {
            continue;
        }
        if (rr->parent >= 0) {
            rr->route->service = L->svcs[rr->parent].svc;
            continue;
        }
        if (rr->ref == NULL) {
            continue;
        }
        /* by name first, then by id (find_entity); {name=...} and {id=...} forms too */
        size_t idx;
        bool found = false;
        const char *name = NULL;
        const char *id = NULL;
        if (json_is_string(rr->ref)) {
            name = id = json_string_value(rr->ref);
        } else {
            name = json_string_value(json_object_get(rr->ref, "name"));
            id = json_string_value(json_object_get(rr->ref, "id"));
            if (id != NULL && name == NULL) {
                name = id;
            }
        }
        if (name != NULL && strmap_get(&svc_names, name, &idx)) {
            found = true;
        } else if (id != NULL && strlen(id) == SL_UUID_LEN) {
            char low[SL_UUID_LEN + 1];
            for (size_t k = 0; k <= SL_UUID_LEN; k++) {
                low[k] = (char)tolower((unsigned char)id[k]);
            }
            found = strmap_get(&svc_ids, low, &idx);
        }
        if (found) {
            rr->route->service = L->svcs[idx].svc;
            continue;
        }
        char *shown = json_is_string(rr->ref) ? NULL : json_dumps(rr->ref, JSON_COMPACT);
        lines_addf(&L->errs,
                   "in 'routes': in '%s': invalid reference 'service: %s' (no such entry "
                   "in 'services')",
                   rr->route->name ? rr->route->name : rr->route->id,
                   shown ? shown : json_string_value(rr->ref));
        free(shown);
        rr->ok = false;
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* The document */

/* Kong's entity tables that a declarative file may hold and Sluice does not implement yet. */
static const char *const ignored_tables[] = {
    "consumers",
    "plugins",
    "upstreams",
    "targets",
    "certificates",
    "ca_certificates",
    "snis",
    "vaults",
    "keys",
    "key_sets",
    "filter_chains",
    "workspaces",
    "parameters",
    "clustering_data_planes",
    "keyauth_credentials",
    "basicauth_credentials",
    "hmacauth_credentials",
    "jwt_secrets",
    "acls",
    "oauth2_credentials",
    "oauth2_authorization_codes",
    "oauth2_tokens",
    "sessions",
    "session_metadatas",
    "acme_storage",
};
#define NIGNORED (sizeof(ignored_tables) / sizeof(ignored_tables[0]))

static char *prefix_dup(struct loader *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *
prefix_dup(struct loader *L, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return sl_arena_strdup(L->tmp, buf);
}

static void
load_document(struct loader *L, const json_t *root)
{
    struct ent top = {.L = L, .prefix = ""};
    const json_t *v;

    /* _format_version: required, one of 1.1, 2.1, 3.0 */
    if (member(root, "_format_version", &v) != PRESENT) {
        ent_add(&top, "_format_version", "required field missing");
    } else if (!json_is_string(v)) {
        ent_add(&top, "_format_version", "expected a string");
    } else {
        const char *fv = json_string_value(v);
        if (strcmp(fv, "1.1") == 0 || strcmp(fv, "2.1") == 0) {
            L->old_format = true;
        } else if (strcmp(fv, "3.0") != 0) {
            ent_add(&top, "_format_version", "expected one of: 1.1, 2.1, 3.0");
        }
    }
    if (member(root, "_transform", &v) == PRESENT && !json_is_boolean(v)) {
        ent_add(&top, "_transform", "expected a boolean");
    }
    field_comment_ignore(&top, root);

    const json_t *services = NULL;
    const json_t *routes = NULL;
    if (member(root, "services", &v) == PRESENT) {
        if (!is_list(v)) {
            ent_add(&top, "services", "expected an array");
        } else {
            services = v;
        }
    }
    if (member(root, "routes", &v) == PRESENT) {
        if (!is_list(v)) {
            ent_add(&top, "routes", "expected an array");
        } else {
            routes = v;
        }
    }
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)root, k, x)
    {
        if (strcmp(k, "_format_version") == 0 || strcmp(k, "_transform") == 0 ||
            strcmp(k, "_comment") == 0 || strcmp(k, "_ignore") == 0 || strcmp(k, "services") == 0 ||
            strcmp(k, "routes") == 0) {
            continue;
        }
        if (str_one_of(k, ignored_tables, NIGNORED)) {
            if (json_is_null(x)) {
                continue;
            }
            if (!is_list(x)) {
                ent_add(&top, k, "expected an array");
            } else if (list_size(x) > 0) {
                lines_addf(&L->warns, "ignoring '%s' (%zu entries): not supported by Sluice yet", k,
                           list_size(x));
            }
            continue;
        }
        ent_add(&top, k, "unknown field");
    }
    ent_flush(&top);

    /* count, then validate: services with their nested routes, then top-level routes */
    size_t nsvcs = list_size(services);
    size_t nroutes = list_size(routes);
    for (size_t i = 0; i < nsvcs; i++) {
        const json_t *s = list_get(services, i);
        const json_t *nr = json_is_object(s) ? json_object_get(s, "routes") : NULL;
        if (is_list(nr)) {
            nroutes += list_size(nr);
        }
    }
    L->svcs = sl_arena_calloc(L->tmp, nsvcs ? nsvcs : 1, sizeof(*L->svcs));
    L->routes = sl_arena_calloc(L->tmp, nroutes ? nroutes : 1, sizeof(*L->routes));
    if (L->svcs == NULL || L->routes == NULL) {
        L->errs.oom = true;
        return;
    }
    for (size_t i = 0; i < nsvcs && !L->errs.oom; i++) {
        const json_t *s = list_get(services, i);
        struct svc_rec *sr = &L->svcs[L->nsvcs++];
        sr->prefix = prefix_dup(L, "in 'services': in entry %zu of 'services'", i + 1);
        if (sr->prefix == NULL) {
            L->errs.oom = true;
            break;
        }
        if (!json_is_object(s)) {
            lines_addf(&L->errs, "%s: %s", sr->prefix,
                       json_is_null(s) ? "required field missing" : "expected a record");
            continue;
        }
        validate_service(L, s, sr);
        const json_t *nr = json_object_get(s, "routes");
        for (size_t j = 0; is_list(nr) && j < list_size(nr) && !L->errs.oom; j++) {
            const json_t *r = list_get(nr, j);
            struct route_rec *rr = &L->routes[L->nroutes++];
            rr->parent = (long)i;
            rr->prefix =
                prefix_dup(L, "%s: in 'routes': in entry %zu of 'routes'", sr->prefix, j + 1);
            if (rr->prefix == NULL) {
                L->errs.oom = true;
                break;
            }
            if (!json_is_object(r)) {
                lines_addf(&L->errs, "%s: %s", rr->prefix,
                           json_is_null(r) ? "required field missing" : "expected a record");
                continue;
            }
            validate_route(L, r, rr, true);
        }
    }
    for (size_t i = 0; i < list_size(routes) && !L->errs.oom; i++) {
        const json_t *r = list_get(routes, i);
        struct route_rec *rr = &L->routes[L->nroutes++];
        rr->parent = -1;
        rr->prefix = prefix_dup(L, "in 'routes': in entry %zu of 'routes'", i + 1);
        if (rr->prefix == NULL) {
            L->errs.oom = true;
            break;
        }
        if (!json_is_object(r)) {
            lines_addf(&L->errs, "%s: %s", rr->prefix,
                       json_is_null(r) ? "required field missing" : "expected a record");
            continue;
        }
        validate_route(L, r, rr, false);
    }

    assign_ids(L);
    check_uniqueness_and_references(L);
}

static struct sl_config *
build_config(struct loader *L)
{
    struct sl_config *cfg = sl_arena_calloc(L->arena, 1, sizeof(*cfg));
    if (cfg == NULL) {
        return NULL;
    }
    cfg->arena = L->arena;
    cfg->services = sl_arena_calloc(L->arena, L->nsvcs ? L->nsvcs : 1, sizeof(*cfg->services));
    cfg->routes = sl_arena_calloc(L->arena, L->nroutes ? L->nroutes : 1, sizeof(*cfg->routes));
    if (cfg->services == NULL || cfg->routes == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < L->nsvcs; i++) {
        cfg->services[cfg->nservices++] = L->svcs[i].svc;
    }
    for (size_t i = 0; i < L->nroutes; i++) {
        cfg->routes[cfg->nroutes++] = L->routes[i].route;
    }
    return cfg;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s);
    size_t b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Parses the document: JSON for a ".json" name (cjson in Kong), else YAML, trying JSON first for a
 * document that looks like one so that JSON-only syntax gets jansson's precise errors. */
static json_t *
parse_document(const char *buf, size_t len, const char *name, char *why, size_t whylen)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)buf[i])) {
        i++;
    }
    bool json_name = name != NULL && ends_with(name, ".json");
    if (json_name || (i < len && buf[i] == '{')) {
        json_error_t je;
        json_t *root = json_loadb(buf, len, 0, &je);
        if (root != NULL || json_name) {
            if (root == NULL) {
                snprintf(why, whylen, "%s%s%d:%d: %s", name ? name : "", name ? ":" : "", je.line,
                         je.column, je.text);
            }
            return root;
        }
    }
    char yerr[600];
    json_t *root = sl_yaml_to_json(buf, len, yerr, sizeof(yerr));
    if (root == NULL) {
        snprintf(why, whylen, "%s%s%s", name ? name : "", name ? ":" : "", yerr);
    }
    return root;
}

struct sl_config *
sl_declarative_load_string_opts(const char *buf, size_t len, const char *name,
                                const struct sl_declarative_opts *opts, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (opts != NULL && opts->warn != NULL && opts->warnlen > 0) {
        opts->warn[0] = '\0';
    }
    if (buf == NULL && len > 0) {
        snprintf(err, errlen, "failed parsing declarative configuration: no input");
        return NULL;
    }
    if (len > SL_DECLARATIVE_MAX_BYTES) {
        snprintf(err, errlen, "failed parsing declarative configuration: larger than %u bytes",
                 SL_DECLARATIVE_MAX_BYTES);
        return NULL;
    }
    char why[800] = "";
    json_t *root = parse_document(buf ? buf : "", len, name, why, sizeof(why));
    if (root == NULL) {
        snprintf(err, errlen, "failed parsing declarative configuration: %s", why);
        return NULL;
    }
    struct sl_config *cfg = sl_declarative_load_json(root, opts, err, errlen);
    json_decref(root);
    return cfg;
}

struct sl_config *
sl_declarative_load_json(const json_t *root, const struct sl_declarative_opts *opts, char *err,
                         size_t errlen)
{
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (opts != NULL && opts->warn != NULL && opts->warnlen > 0) {
        opts->warn[0] = '\0';
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "failed parsing declarative configuration: expected an object");
        return NULL;
    }

    struct loader L;
    memset(&L, 0, sizeof(L));
    L.errs.max = SL_DECLARATIVE_MAX_ERRORS;
    L.warns.max = SL_DECLARATIVE_MAX_ERRORS;
    L.now = opts != NULL && opts->now > 0 ? opts->now : (int64_t)time(NULL);
    L.arena = sl_arena_create(64 * 1024);
    L.tmp = sl_arena_create(64 * 1024);
    uint8_t ns[16];
    sl_uuid_parse(SL_DECLARATIVE_UUID_NS, SL_UUID_LEN, ns);
    if (L.arena == NULL || L.tmp == NULL || sl_uuid_v5(ns, "services", 8, L.ns_services) != 0 ||
        sl_uuid_v5(ns, "routes", 6, L.ns_routes) != 0) {
        L.errs.oom = true;
    } else {
        load_document(&L, root);
    }

    struct sl_config *cfg = NULL;
    if (L.errs.oom) {
        snprintf(err, errlen, "out of memory");
    } else if (L.errs.n > 0 || L.errs.dropped > 0) {
        lines_export(&L.errs, err, errlen);
    } else {
        cfg = build_config(&L);
        if (cfg == NULL) {
            snprintf(err, errlen, "out of memory");
        }
    }
    if (opts != NULL && opts->warn != NULL) {
        lines_export(&L.warns, opts->warn, opts->warnlen);
    }
    free(L.errs.buf);
    free(L.warns.buf);
    sl_arena_destroy(L.tmp);
    if (cfg == NULL) {
        sl_arena_destroy(L.arena);
    }
    return cfg;
}

struct sl_config *
sl_declarative_load_string(const char *buf, size_t len, const char *name, char *err, size_t errlen)
{
    return sl_declarative_load_string_opts(buf, len, name, NULL, err, errlen);
}

struct sl_config *
sl_declarative_load_file_opts(const char *path, const struct sl_declarative_opts *opts, char *err,
                              size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* read to the end (the file may be a pipe), at most one buffer past the limit */
    char *buf = NULL;
    size_t cap = 0;
    size_t len = 0;
    bool oom = false;
    for (;;) {
        if (len == cap) {
            if (cap > SL_DECLARATIVE_MAX_BYTES) {
                break;
            }
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                oom = true;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    bool rerr = ferror(f) != 0;
    fclose(f);
    if (oom) {
        free(buf);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (rerr) {
        snprintf(err, errlen, "%s: read error", path);
        free(buf);
        return NULL;
    }
    struct sl_config *cfg = sl_declarative_load_string_opts(buf, len, path, opts, err, errlen);
    free(buf);
    return cfg;
}

struct sl_config *
sl_declarative_load_file(const char *path, char *err, size_t errlen)
{
    return sl_declarative_load_file_opts(path, NULL, err, errlen);
}

struct sl_config *
sl_config_new_empty(void)
{
    struct sl_arena *a = sl_arena_create(0);
    if (a == NULL) {
        return NULL;
    }
    struct sl_config *cfg = sl_arena_calloc(a, 1, sizeof(*cfg));
    if (cfg == NULL) {
        sl_arena_destroy(a);
        return NULL;
    }
    cfg->arena = a;
    cfg->services = sl_arena_calloc(a, 1, sizeof(*cfg->services));
    cfg->routes = sl_arena_calloc(a, 1, sizeof(*cfg->routes));
    if (cfg->services == NULL || cfg->routes == NULL) {
        sl_arena_destroy(a);
        return NULL;
    }
    return cfg;
}

void
sl_config_free(struct sl_config *cfg)
{
    if (cfg != NULL) {
        sl_arena_destroy(cfg->arena);
    }
}
