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
#include <openssl/evp.h>
#include <pcre2.h>

#include "config/declarative.h"
#include "config/entity_build.h"
#include "config/path_migrate.h"
#include "config/yaml_json.h"
#include "core/file_read.h"
#include "core/json_alloc.h"
#include "core/strmap.h"
#include "core/uuid.h"
#include "schema/entities/entities.h"
#include "schema/schema.h"
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
/* The loader */

struct svc_rec {
    struct sl_service *svc;
    const char *prefix; /* "in 'services': in entry 1 of 'services'" */
    bool ok;
    long cert;       /* nested in a certificate: its index in the certificates' rows; else -1 */
    size_t cert_pos; /* nested: its position in that certificate's `services`, from 1 */
    /* the `client_certificate` given, or NULL; nested in a certificate, the parent named again */
    const json_t *cc_ref;
    size_t route_first; /* its nested routes are L->routes[route_first .. + nroutes] */
    size_t nroutes;
    json_t *row; /* the schema engine's entity, kept when rows are wanted (owned) */
};

struct route_rec {
    struct sl_route *route;
    const char *prefix;
    bool ok;
    long parent; /* index of the enclosing service, or -1 for a top-level route */
    /* the `service` given, or NULL: a top-level route's reference, or the parent a nested route
     * names again (nested_reference) */
    const json_t *ref;
    json_t *row; /* as svc_rec.row */
};

/* The core tables besides services and routes. The data plane compiles none of them yet, so the
 * loader only validates them (with the schema engine, as the Admin API does) and keeps the complete
 * rows for `db_import`. In Kong's topological order: a referenced table comes before its children,
 * so ids are assigned and references resolved in this order. */
enum rtab {
    RT_CA_CERTIFICATES = 0,
    RT_CERTIFICATES,
    RT_CONSUMERS,
    RT_SNIS,
    RT_UPSTREAMS,
    RT_TARGETS,
    RT_MAX
};

struct rtab_def {
    const char *name;
    const struct sl_schema *schema;
    const char *fk; /* the foreign field to another of these tables, or NULL */
    int fk_table;
    /* The tables Kong's declarative format nests in each entry, ended by -1: every table with a
     * foreign key to this one (declarative_config.lua nest_foreign_relationships), so a
     * certificate nests its snis and upstreams (and services, which are not one of these tables:
     * load_nested), an upstream its targets, also inside a certificate. */
    int children[3];
};

static const struct rtab_def rtabs[RT_MAX] = {
    [RT_CA_CERTIFICATES] = {"ca_certificates", &sl_schema_ca_certificates, NULL, -1, {-1}},
    [RT_CERTIFICATES] =
        {"certificates", &sl_schema_certificates, NULL, -1, {RT_SNIS, RT_UPSTREAMS, -1}},
    [RT_CONSUMERS] = {"consumers", &sl_schema_consumers, NULL, -1, {-1}},
    [RT_SNIS] = {"snis", &sl_schema_snis, "certificate", RT_CERTIFICATES, {-1}},
    [RT_UPSTREAMS] = {"upstreams",
                      &sl_schema_upstreams,
                      "client_certificate",
                      RT_CERTIFICATES,
                      {RT_TARGETS, -1}},
    [RT_TARGETS] = {"targets", &sl_schema_targets, "upstream", RT_UPSTREAMS, {-1}},
};

struct row_rec {
    json_t *row;        /* the complete entity once valid (owned), else NULL */
    const char *prefix; /* "in 'certificates': in entry 1 of 'certificates'" */
    long parent;        /* nested: index of the enclosing entry in the parent table; else -1 */
    /* the value given for the table's foreign field, or NULL: top-level, the reference; nested,
     * the parent named again (nested_reference) */
    const json_t *ref;
    bool id_given;
};

struct row_list {
    struct row_rec *v;
    size_t n;
    size_t cap;
};

/* Per table, once ids are known: ids and endpoint keys (when the schema has one) → index. */
struct row_index {
    struct sl_strmap ids;
    struct sl_strmap keys;
    bool ready;
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
    bool want_rows; /* db_import: keep every entity's complete row (opts->rows) */
    struct row_list rows[RT_MAX];
    struct row_index rindex[RT_MAX];
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
    /* both are copied: field names may come from an error object freed before the flush */
    const char *m = sl_arena_strdup(e->L->tmp, msg);
    const char *f = field ? sl_arena_strdup(e->L->tmp, field) : NULL;
    if (m == NULL || (field != NULL && f == NULL)) {
        e->L->errs.oom = true;
        return;
    }
    e->v[e->n++] = (struct fe){f, m};
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

/* Adds the schema engine's error value <v> for field <field> (kong.md §2.5 nesting) as flat
 * messages: a string as it is, a record's errors as "in 'sub': ...", element errors of an array or
 * set as "in entry N of '<name>': ...". <lead> is the text accumulated so far. */
static void
add_error_value(struct ent *e, const char *field, const char *lead, const char *name,
                const json_t *v)
{
    char buf[1024];
    if (json_is_string(v)) {
        ent_addf(e, field, "%s%s", lead, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el)
        {
            if (!json_is_null(el)) {
                snprintf(buf, sizeof(buf), "%sin entry %zu of '%s': ", lead, i + 1, name);
                add_error_value(e, field, buf, name, el);
            }
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            if (strcmp(k, "@entity") == 0) {
                size_t i;
                json_t *m;
                json_array_foreach(x, i, m)
                {
                    ent_addf(e, field, "%s%s", lead, json_string_value(m));
                }
                continue;
            }
            snprintf(buf, sizeof(buf), "%sin '%s': ", lead, k);
            add_error_value(e, field, buf, k, x);
        }
    }
}

/* All of an entity's errors from the schema engine ({"field": ..., "@entity": [...]}). */
static void
add_schema_errors(struct ent *e, const json_t *errs)
{
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)errs, k, x)
    {
        if (strcmp(k, "@entity") != 0) {
            add_error_value(e, k, "", k, x);
        }
    }
    json_t *entity = json_object_get(errs, "@entity");
    size_t i;
    json_t *m;
    json_array_foreach(entity, i, m)
    {
        ent_add(e, NULL, json_string_value(m));
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* Document helpers */

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

/* <obj>'s list <field>: NULL when absent or null, and when not a list (then reported to <e>). */
static const json_t *
list_member(struct ent *e, const json_t *obj, const char *field)
{
    const json_t *v;
    if (member(obj, field, &v) != PRESENT) {
        return NULL;
    }
    if (!is_list(v)) {
        ent_add(e, field, "expected an array");
        return NULL;
    }
    return v;
}

/* Nested entities Sluice does not implement yet: accepted, reported as warnings. */
static void
field_ignored_list(struct ent *e, const json_t *obj, const char *field)
{
    const json_t *v = list_member(e, obj, field);
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

/* The lists a service or route may nest besides its schema's fields (the comment keys are
 * entry_copy's). They are checked here, then removed before the schema engine sees the entity. */
static const char *const declarative_keys[] = {"routes", "plugins", "filter_chains", NULL};

#define ID_PLACEHOLDER "00000000-0000-0000-0000-000000000000"

static void validate_plugins(struct ent *parent, const json_t *obj, const char *fk);
static void refuse_filter_chains(struct ent *parent, const json_t *obj);

/* A shallow copy of entry <in> (its values stay shared and unmodified) without the comment keys,
 * for the schema engine; NULL when out of memory (recorded). */
static json_t *
entry_copy(struct loader *L, const json_t *in)
{
    json_t *work = json_copy((json_t *)in); /* a dropped member fails the load (json_alloc) */
    if (work == NULL) {
        L->errs.oom = true;
        return NULL;
    }
    json_object_del(work, "_comment");
    json_object_del(work, "_ignore");
    return work;
}

/* The input of the schema engine for a service or a route (<in>; <plugin_fk>: "service" or
 * "route", the foreign field of the plugins nested in it). */
static json_t *
schema_input(struct ent *e, const json_t *in, const char *plugin_fk)
{
    validate_plugins(e, in, plugin_fk);
    refuse_filter_chains(e, in);
    field_comment_ignore(e, in);
    json_t *work = entry_copy(e->L, in);
    if (work == NULL) {
        return NULL;
    }
    for (size_t i = 0; declarative_keys[i] != NULL; i++) {
        json_object_del(work, declarative_keys[i]);
    }
    /* The loader assigns missing ids itself (assign_ids, stable across loads): a placeholder keeps
     * the engine from drawing a random one for each entity, which is wasted work at 100k routes. */
    const json_t *id = json_object_get(in, "id");
    if (id == NULL || json_is_null(id)) {
        json_object_set_new(work, "id", json_string(ID_PLACEHOLDER));
    }
    return work;
}

/* Runs the schema engine over one entity (kong.md §1: the same rules as the Admin API). Returns the
 * complete entity, or NULL with its errors added to <e>. */
static json_t *
schema_validate(struct ent *e, const struct sl_schema *schema, json_t *work)
{
    json_t *errs = NULL;
    json_t *out = sl_schema_process(schema, work, SL_SCHEMA_INSERT, NULL, &errs);
    if (out == NULL) {
        /* no entity and no error: the error was lost to an allocation failure */
        if (json_object_size(errs) > 0) {
            add_schema_errors(e, errs);
        } else {
            e->L->errs.oom = true;
        }
        json_decref(errs);
    }
    return out;
}

/* The loader decides ids and timestamps, not the engine: an entity without an id gets a stable
 * one later (assign_ids), and timestamps not given are the load time. Kong never validates
 * updated_at; a usable one is kept. */
static void
loader_fields(struct loader *L, const json_t *in, char id[SL_UUID_LEN + 1], int64_t *created,
              int64_t *updated)
{
    const json_t *v = json_object_get(in, "id");
    if (v == NULL || json_is_null(v)) {
        id[0] = '\0';
    }
    v = json_object_get(in, "created_at");
    *created = json_is_number(v) ? (int64_t)json_number_value(v) : L->now;
    v = json_object_get(in, "updated_at");
    *updated =
        json_is_number(v) && json_number_value(v) >= 1 ? (int64_t)json_number_value(v) : L->now;
}

/* A top-level entity's foreign field names its parent in the declarative format (Kong's
 * declarative_config turns top-level foreign fields into strings): by endpoint key or id as a
 * string, or as {id = ...} / {<endpoint key> = ...}. Sets *ref to the value when its form is valid
 * (it is resolved once every id is known), else adds the error. <endpoint_key> may be NULL
 * (certificates are named by id only). */
static void
foreign_reference(struct ent *e, const char *field, const json_t *v, const char *endpoint_key,
                  const json_t **ref)
{
    if (json_is_string(v)) {
        if (json_string_length(v) == 0) {
            ent_add(e, field, "length must be at least 1");
        } else {
            *ref = v;
        }
        return;
    }
    if (!json_is_object(v)) {
        ent_add(e, field, "expected a string");
        return;
    }
    const char *k;
    json_t *x;
    bool ok = true;
    json_object_foreach((json_t *)v, k, x)
    {
        if (strcmp(k, "id") == 0) {
            if (!json_is_string(x)) {
                ent_add(e, field, "in 'id': expected a string");
                ok = false;
            } else if (!sl_schema_is_uuid(json_string_value(x))) {
                ent_add(e, field, "in 'id': expected a valid UUID");
                ok = false;
            }
        } else if (endpoint_key != NULL && strcmp(k, endpoint_key) == 0) {
            if (!json_is_string(x) || json_string_length(x) == 0) {
                ent_addf(e, field, "in '%s': %s", k,
                         json_is_string(x) ? "length must be at least 1" : "expected a string");
                ok = false;
            }
        } else {
            ent_addf(e, field, "in '%s': unknown field", k);
            ok = false;
        }
    }
    if (ok && json_object_get(v, "id") == NULL &&
        (endpoint_key == NULL || json_object_get(v, endpoint_key) == NULL)) {
        ent_add(e, field, "in 'id': missing primary key");
        ok = false;
    }
    if (ok) {
        *ref = v;
    }
}

/* The key a reference value names its parent by: the string, or the object's id, or its endpoint
 * key. */
static const char *
reference_key(const json_t *ref, const char *endpoint_key, bool *by_id_only)
{
    *by_id_only = false;
    if (json_is_string(ref)) {
        return json_string_value(ref);
    }
    const char *id = json_string_value(json_object_get(ref, "id"));
    if (id != NULL) {
        *by_id_only = true;
        return id;
    }
    return endpoint_key ? json_string_value(json_object_get(ref, endpoint_key)) : NULL;
}

/* Kong's validate_references() message for a reference <ref> in <field> of the entity <at> of
 * <table> that names no entry of <target>. */
static void
reference_error(struct loader *L, const char *table, const char *at, const char *field,
                const json_t *ref, const char *target)
{
    char *shown = json_is_string(ref) ? NULL : json_dumps(ref, JSON_COMPACT);
    lines_addf(&L->errs, "in '%s': in '%s': invalid reference '%s: %s' (no such entry in '%s')",
               table, at, field, shown ? shown : json_string_value(ref), target);
    free(shown);
}

/* A nested entry's foreign field <field> naming its parent again. Kong's declarative schema makes
 * every foreign field of a nested record `eq = null`, so the first validation fails with "value
 * must be null"; flatten() then validates again with the references resolved to the file's
 * entities, where any value naming one passes, and validate_references() gives the entry its
 * enclosing parent whatever the value named (declarative_config.lua populate_references). So a
 * string (a name or an id) or {id = <uuid>} is kept in <*ref> and resolved with the other
 * references (nested_reference_error); anything else fails both passes: "value must be null". */
static void
nested_reference(struct ent *e, const char *field, const json_t *v, const json_t **ref)
{
    const char *id = json_is_object(v) ? json_string_value(json_object_get(v, "id")) : NULL;
    if (json_is_string(v) || (id != NULL && sl_schema_is_uuid(id))) {
        *ref = v;
    } else {
        ent_add(e, field, "value must be null");
    }
}

/* The nested reference <ref> (nested_reference) names no entry of <target> in the file: a string
 * fails Kong's second pass too, which leaves the first pass's "value must be null" (at <prefix>);
 * {id = <uuid>} passes it and fails validate_references() instead. */
static void
nested_reference_error(struct loader *L, const char *prefix, const char *table, const char *at,
                       const char *field, const json_t *ref, const char *target)
{
    if (json_is_string(ref)) {
        lines_addf(&L->errs, "%s: in '%s': value must be null", prefix, field);
    } else {
        reference_error(L, table, at, field, ref, target);
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* Services */

static void
validate_service(struct loader *L, const json_t *in, struct svc_rec *rec)
{
    struct ent e = {.L = L, .prefix = rec->prefix};
    const json_t *v;
    if (member(in, "routes", &v) == PRESENT && !is_list(v)) {
        ent_add(&e, "routes", "expected an array");
    }
    /* a reference to a certificate of the file, resolved with the other references; nested in a
     * certificate, the service's is that one */
    if (member(in, "client_certificate", &v) == PRESENT && rec->cert >= 0) {
        nested_reference(&e, "client_certificate", v, &rec->cc_ref);
    } else if (member(in, "client_certificate", &v) == PRESENT) {
        foreign_reference(&e, "client_certificate", v, NULL, &rec->cc_ref);
    }
    json_t *work = schema_input(&e, in, "service");
    if (work != NULL) {
        json_object_del(work, "client_certificate");
    }
    /* Kong's entity check allows a client_certificate on https and tls services only: a
     * placeholder stands for the reference so that the schema engine applies it. Nested in a
     * certificate and not named, Kong's flatten() sets it after validating, unchecked, and only
     * db_import's DAO upsert refuses it on another protocol. */
    if (work != NULL && (rec->cc_ref != NULL || (rec->cert >= 0 && L->want_rows))) {
        json_object_set_new(work, "client_certificate", json_pack("{s:s}", "id", ID_PLACEHOLDER));
    }
    json_t *out = work ? schema_validate(&e, &sl_schema_services, work) : NULL;
    json_decref(work);
    if (out != NULL && e.n == 0) {
        rec->svc = sl_config_build_service(L->arena, out);
        if (rec->svc == NULL) {
            L->errs.oom = true;
        } else {
            loader_fields(L, in, rec->svc->id, &rec->svc->created_at, &rec->svc->updated_at);
            /* the placeholder stood for the reference: resolve_service_certificates sets it */
            rec->svc->client_certificate_id = NULL;
        }
        if (L->want_rows) {
            rec->row = json_incref(out);
        }
    }
    json_decref(out);
    rec->ok = ent_flush(&e);
}

/* ------------------------------------------------------------------------------------------------
 */
/* Routes */

/* The migrated form of a route path (old format versions), in the scratch arena. */
static const char *
route_path_value(struct loader *L, const char *s)
{
    size_t cap = strlen(s) + 2;
    char *out = sl_arena_alloc(L->tmp, cap);
    if (out == NULL || !sl_config_migrate_path(s, out, cap)) {
        return s;
    }
    return out;
}

/* _format_version 1.1 / 2.1: each path is migrated before it is validated (Kong's
 * migrate_path_280_300). */
static void
migrate_paths(struct loader *L, json_t *work)
{
    const json_t *paths = json_object_get(work, "paths");
    if (!L->old_format || !json_is_array(paths)) {
        return;
    }
    json_t *migrated = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p)
    {
        const char *s = json_string_value(p);
        json_array_append_new(migrated, s ? json_string(route_path_value(L, s)) : json_incref(p));
    }
    json_object_set_new(work, "paths", migrated);
}

/* A route's `service`: nested routes get it from their parent (naming it again is allowed:
 * nested_reference); top-level ones name it by name or id, or as {id=...} / {name=...}
 * (declarative_config.lua). The reference is resolved later. */
static void
service_reference(struct ent *e, const json_t *in, struct route_rec *rec)
{
    const json_t *v;
    if (member(in, "service", &v) != PRESENT) {
        return;
    }
    if (rec->parent >= 0) {
        nested_reference(e, "service", v, &rec->ref);
    } else {
        foreign_reference(e, "service", v, "name", &rec->ref);
    }
}

static void
validate_route(struct loader *L, const json_t *in, struct route_rec *rec)
{
    struct ent e = {.L = L, .prefix = rec->prefix};
    json_t *work = schema_input(&e, in, "route");
    json_t *out = NULL;
    if (work != NULL) {
        json_object_del(work, "service");
        migrate_paths(L, work);
        out = schema_validate(&e, &sl_schema_routes, work);
        json_decref(work);
    }
    service_reference(&e, in, rec);
    if (out != NULL && e.n == 0) {
        rec->route = sl_config_build_route(L->arena, out);
        if (rec->route == NULL) {
            L->errs.oom = true;
        } else {
            loader_fields(L, in, rec->route->id, &rec->route->created_at, &rec->route->updated_at);
        }
        if (L->want_rows) {
            rec->row = json_incref(out);
        }
    }
    json_decref(out);
    rec->ok = ent_flush(&e);
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

static const char *row_id(const struct row_rec *r);

/* Kong derives an id from the endpoint key (the name). Kong gives a random id to an entity without
 * a name; Sluice derives one from its position so that reloading the same file keeps every id: a
 * service nested in a certificate from its position there (the certificates' ids are assigned
 * first), so that a top-level service keeps the key of its position in `services`. */
static void
assign_ids(struct loader *L)
{
    size_t top_routes = 0;
    size_t nested_index = 0;
    long last_parent = -2;
    for (size_t i = 0; i < L->nsvcs; i++) {
        const struct svc_rec *sr = &L->svcs[i];
        struct sl_service *s = sr->svc;
        if (s != NULL && s->id[0] == '\0') {
            char key[128];
            const char *cert = sr->cert >= 0 ? row_id(&L->rows[RT_CERTIFICATES].v[sr->cert]) : NULL;
            if (s->name != NULL) {
                generate_id(L, L->ns_services, s->name, s->id);
                continue;
            }
            if (sr->cert >= 0) {
                /* a certificate that failed has no id: the load fails, any key does */
                snprintf(key, sizeof(key), "sluice:certificates/%s/services/%zu", cert ? cert : "-",
                         sr->cert_pos);
            } else {
                snprintf(key, sizeof(key), "sluice:services/%zu", i + 1);
            }
            generate_id(L, L->ns_services, key, s->id);
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
uniqueness_route(struct loader *L, struct sl_strmap *names, struct sl_strmap *ids, size_t i)
{
    struct route_rec *rr = &L->routes[i];
    if (rr->route == NULL) {
        return;
    }
    const char *name = rr->route->name;
    if (name != NULL && !sl_strmap_put(names, name, i)) {
        lines_addf(&L->errs,
                   "%s: uniqueness violation: 'routes' entity with name set to '%s' already "
                   "declared",
                   rr->prefix, name);
        rr->ok = false;
        return;
    }
    if (rr->route->id[0] != '\0' && !sl_strmap_put(ids, rr->route->id, i)) {
        lines_addf(&L->errs,
                   "%s: uniqueness violation: 'routes' entity with primary key set to '%s' "
                   "already declared",
                   rr->prefix, rr->route->id);
        rr->ok = false;
    }
}

/* The service a route's reference names: by name first, then by id (find_entity); the {name=...}
 * and {id=...} forms too. */
static bool
find_service(const struct sl_strmap *names, const struct sl_strmap *ids, const json_t *ref,
             size_t *idx)
{
    const char *name = NULL;
    const char *id = NULL;
    if (json_is_string(ref)) {
        name = id = json_string_value(ref);
    } else {
        name = json_string_value(json_object_get(ref, "name"));
        id = json_string_value(json_object_get(ref, "id"));
        if (id != NULL && name == NULL) {
            name = id;
        }
    }
    if (name != NULL && sl_strmap_get(names, name, idx)) {
        return true;
    }
    if (id != NULL && strlen(id) == SL_UUID_LEN) {
        char low[SL_UUID_LEN + 1];
        for (size_t k = 0; k <= SL_UUID_LEN; k++) {
            low[k] = (char)tolower((unsigned char)id[k]);
        }
        return sl_strmap_get(ids, low, idx);
    }
    return false;
}

/* declarative_config.lua populate_references/validate_references: nested entities are registered
 * before their parent, the certificates' nested services before the top-level ones (certificates
 * come first in Kong's topological order), services before top-level routes; the later duplicate
 * is the one reported. */
static void
check_uniqueness_and_references(struct loader *L)
{
    struct sl_strmap svc_names, svc_ids, route_names, route_ids;
    if (!sl_strmap_init(&svc_names, L->nsvcs, L->tmp) ||
        !sl_strmap_init(&svc_ids, L->nsvcs, L->tmp) ||
        !sl_strmap_init(&route_names, L->nroutes, L->tmp) ||
        !sl_strmap_init(&route_ids, L->nroutes, L->tmp)) {
        L->errs.oom = true;
        return;
    }
    /* the first round registers the services nested in certificates, the second the others */
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < L->nsvcs; i++) {
            struct svc_rec *sr = &L->svcs[i];
            if ((sr->cert >= 0) != (round == 0)) {
                continue;
            }
            for (size_t k = 0; k < sr->nroutes; k++) {
                uniqueness_route(L, &route_names, &route_ids, sr->route_first + k);
            }
            if (sr->svc == NULL) {
                continue;
            }
            if (sr->svc->name != NULL && !sl_strmap_put(&svc_names, sr->svc->name, i)) {
                lines_addf(&L->errs,
                           "%s: uniqueness violation: 'services' entity with name set to '%s' "
                           "already declared",
                           sr->prefix, sr->svc->name);
                sr->ok = false;
                continue;
            }
            if (sr->svc->id[0] != '\0' && !sl_strmap_put(&svc_ids, sr->svc->id, i)) {
                lines_addf(&L->errs,
                           "%s: uniqueness violation: 'services' entity with primary key set to "
                           "'%s' already declared",
                           sr->prefix, sr->svc->id);
                sr->ok = false;
            }
        }
    }
    for (size_t ri = 0; ri < L->nroutes; ri++) {
        if (L->routes[ri].parent < 0) {
            uniqueness_route(L, &route_names, &route_ids, ri);
        }
    }

    for (size_t i = 0; i < L->nroutes; i++) {
        struct route_rec *rr = &L->routes[i];
        if (rr->route == NULL) {
            continue;
        }
        const char *at = rr->route->name ? rr->route->name : rr->route->id;
        size_t idx;
        bool found = rr->ref != NULL && find_service(&svc_names, &svc_ids, rr->ref, &idx);
        if (rr->parent >= 0) {
            /* whatever service a nested route names again, its service is its parent */
            if (rr->ref != NULL && !found) {
                nested_reference_error(L, rr->prefix, "routes", at, "service", rr->ref, "services");
                rr->ok = false;
            }
            rr->route->service = L->svcs[rr->parent].svc;
        } else if (found) {
            rr->route->service = L->svcs[idx].svc;
        } else if (rr->ref != NULL) {
            reference_error(L, "routes", at, "service", rr->ref, "services");
            rr->ok = false;
        }
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* The document */

/* Kong's entity tables that a declarative file may hold and Sluice does not implement yet (the
 * tables of enum rtab are validated, see there). */
static const char *const ignored_tables[] = {
    "vaults",
    "keys",
    "key_sets",
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

/* One entry of a table Sluice refuses (refuse_entries): adds its errors to <e>. <fk>: the foreign
 * field naming the enclosing parent, NULL at the top level. */
typedef void (*refused_entry_fn)(struct ent *e, const json_t *in, const char *fk);

/* The entries of <obj>'s list <field>, top level (<parent> has the empty prefix) or nested: each
 * one is refused with the errors <check> gives it (Kong's own, as far as Sluice has them), and so
 * is the file. No entry is ever kept, so each must leave an error: one that left none lost it to an
 * allocation failure, and the file must not load without what it asked for. */
static void
refuse_entries(struct ent *parent, const json_t *obj, const char *field, refused_entry_fn check,
               const char *fk)
{
    struct loader *L = parent->L;
    const json_t *list = list_member(parent, obj, field);
    for (size_t i = 0; i < list_size(list) && !L->errs.oom; i++) {
        const json_t *in = list_get(list, i);
        char *prefix = prefix_dup(L, "%s%sin '%s': in entry %zu of '%s'", parent->prefix,
                                  parent->prefix[0] ? ": " : "", field, i + 1, field);
        if (prefix == NULL) {
            L->errs.oom = true;
            return;
        }
        if (!json_is_object(in)) {
            lines_addf(&L->errs, "%s: %s", prefix,
                       json_is_null(in) ? "required field missing" : "expected a record");
            continue;
        }
        struct ent e = {.L = L, .prefix = prefix};
        field_comment_ignore(&e, in);
        check(&e, in, fk);
        if (ent_flush(&e)) {
            L->errs.oom = true;
        }
    }
}

/* A plugin entry, validated with the plugin entity's schema, the Admin API's: no plugin is bundled
 * yet, so every name gets Kong's "plugin '<name>' not enabled; add it to the 'plugins'
 * configuration property" (and nothing else, as Kong's Schema:validate stops there). References
 * to the parent are not resolved (no entry is ever kept): placeholders stand for them. */
static void
check_plugin(struct ent *e, const json_t *in, const char *fk)
{
    static const char *const foreign[] = {"route", "service", "consumer"};
    json_t *work = entry_copy(e->L, in);
    if (work == NULL) {
        return;
    }
    for (size_t k = 0; k < sizeof(foreign) / sizeof(foreign[0]); k++) {
        const json_t *v = json_object_get(in, foreign[k]);
        if ((fk != NULL && strcmp(fk, foreign[k]) == 0) || json_is_string(v)) {
            json_object_set_new(work, foreign[k], json_pack("{s:s}", "id", ID_PLACEHOLDER));
        }
    }
    const json_t *id = json_object_get(in, "id");
    if (id == NULL || json_is_null(id)) {
        json_object_set_new(work, "id", json_string(ID_PLACEHOLDER));
    }
    json_t *out = schema_validate(e, &sl_schema_plugins, work);
    json_decref(work);
    if (out != NULL) {
        /* a plugin the schema layer knows, but this loader hands no plugin to the data plane */
        ent_addf(e, "name", "plugin '%s' cannot be loaded from a declarative configuration yet",
                 json_string_value(json_object_get(out, "name")));
        json_decref(out);
    }
}

/* Kong's plugins: top level (<fk> NULL) or nested in a service, route or consumer (<fk> is the
 * plugin's foreign field naming that parent), all refused (check_plugin). Ignoring them would
 * serve the routes that a file protects with an authentication, an ACL or a rate limit without
 * them (fail open); nginx and Envoy refuse a configuration naming a module or filter they lack for
 * the same reason. */
static void
validate_plugins(struct ent *parent, const json_t *obj, const char *fk)
{
    refuse_entries(parent, obj, "plugins", check_plugin, fk);
}

/* A filter chain entry (Kong's WASM filters, which change traffic as plugins do). Kong keeps the
 * entity in its declarative schema when wasm is off (its default) and refuses every entry with the
 * entity check's "wasm support is not enabled"; Sluice has no wasm. */
static void
check_filter_chain(struct ent *e, const json_t *in, const char *fk)
{
    ent_add(e, NULL, "wasm support is not enabled");
}

static void
refuse_filter_chains(struct ent *parent, const json_t *obj)
{
    refuse_entries(parent, obj, "filter_chains", check_filter_chain, NULL);
}

/* Records and validates route entry <r> of the service at index <parent> (-1: a top-level route),
 * its error prefix being <prefix> (owned by the loader; NULL when it could not be made, which ends
 * the load as out of memory: the callers' loops stop on errs.oom). */
static void
add_route(struct loader *L, const json_t *r, long parent, char *prefix)
{
    if (prefix == NULL) {
        L->errs.oom = true;
        return;
    }
    struct route_rec *rr = &L->routes[L->nroutes++];
    rr->parent = parent;
    rr->prefix = prefix;
    if (!json_is_object(r)) {
        lines_addf(&L->errs, "%s: %s", rr->prefix,
                   json_is_null(r) ? "required field missing" : "expected a record");
        return;
    }
    validate_route(L, r, rr);
}

/* Records and validates service entry <s>, with the routes nested in it: a top-level one (<cert>
 * -1) or entry <pos> (from 1) of the `services` nested in the certificate at index <cert>. <prefix>
 * as add_route's. */
static void
add_service(struct loader *L, const json_t *s, long cert, size_t pos, char *prefix)
{
    if (prefix == NULL) {
        L->errs.oom = true;
        return;
    }
    size_t i = L->nsvcs++;
    struct svc_rec *sr = &L->svcs[i];
    sr->prefix = prefix;
    sr->cert = cert;
    sr->cert_pos = pos;
    sr->route_first = L->nroutes;
    if (!json_is_object(s)) {
        lines_addf(&L->errs, "%s: %s", prefix,
                   json_is_null(s) ? "required field missing" : "expected a record");
        return;
    }
    validate_service(L, s, sr);
    const json_t *nr = json_object_get(s, "routes");
    for (size_t j = 0; is_list(nr) && j < list_size(nr) && !L->errs.oom; j++) {
        add_route(L, list_get(nr, j), (long)i,
                  prefix_dup(L, "%s: in 'routes': in entry %zu of 'routes'", prefix, j + 1));
    }
    sr->nroutes = L->nroutes - sr->route_first;
}

/* Counts the services of <list> and the routes nested in them: what add_service may record. */
static void
count_services(const json_t *list, size_t *nsvcs, size_t *nroutes)
{
    for (size_t i = 0; i < list_size(list); i++) {
        const json_t *s = list_get(list, i);
        const json_t *nr = json_is_object(s) ? json_object_get(s, "routes") : NULL;
        *nsvcs += 1;
        *nroutes += is_list(nr) ? list_size(nr) : 0;
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* The other core tables (enum rtab) */

/* Tables of plugins Sluice does not bundle that Kong nests in consumers: reported as ignored (a
 * credential does nothing without its plugin, and the plugins themselves are refused:
 * validate_plugins). */
static const char *const consumer_ignored[] = {
    "keyauth_credentials",
    "basicauth_credentials",
    "hmacauth_credentials",
    "jwt_secrets",
    "acls",
    "oauth2_credentials",
    NULL,
};

static struct row_rec *
row_push(struct loader *L, int t)
{
    struct row_list *l = &L->rows[t];
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct row_rec *nv = realloc(l->v, cap * sizeof(*nv));
        if (nv == NULL) {
            L->errs.oom = true;
            return NULL;
        }
        l->v = nv;
        l->cap = cap;
    }
    struct row_rec *r = &l->v[l->n++];
    memset(r, 0, sizeof(*r));
    r->parent = -1;
    return r;
}

/* Timestamps as loader_fields sets them for services and routes: given ones kept (Kong never
 * validates updated_at), the load time otherwise; targets count seconds with milliseconds. */
static void
row_times(struct loader *L, const struct sl_schema *s, const json_t *in, json_t *out)
{
    const struct sl_field *f = sl_schema_field(s, "created_at");
    if (f == NULL) {
        return;
    }
    bool ms = f->auto_kind == SL_AUTO_TS_MS;
    const json_t *c = json_object_get(in, "created_at");
    const json_t *u = json_object_get(in, "updated_at");
    double now = (double)L->now;
    if (!json_is_number(c)) {
        json_object_set_new(out, "created_at", ms ? json_real(now) : json_integer(L->now));
    }
    if (json_is_number(u) && json_number_value(u) >= 1) {
        now = json_number_value(u);
    }
    json_object_set_new(out, "updated_at", ms ? json_real(now) : json_integer((json_int_t)now));
}

/* The keys of an entry of table <t> that hold nested entries, ended by NULL. */
static void
nested_keys(int t, const char *keys[4])
{
    size_t n = 0;
    for (const int *c = rtabs[t].children; *c >= 0; c++) {
        keys[n++] = rtabs[*c].name;
    }
    if (t == RT_CERTIFICATES) {
        keys[n++] = "services";
    }
    keys[n] = NULL;
}

/* Validates entry <idx> of table <t> (input <in>), nested in an entry of its parent table or at
 * the top level, with the schema engine the Admin API uses. */
static void
validate_row(struct loader *L, int t, size_t idx, const json_t *in, bool nested)
{
    const struct rtab_def *d = &rtabs[t];
    struct row_rec *rec = &L->rows[t].v[idx];
    struct ent e = {.L = L, .prefix = rec->prefix};
    const json_t *v;
    const char *children[4];
    nested_keys(t, children);
    field_comment_ignore(&e, in);
    for (size_t i = 0; children[i] != NULL; i++) {
        if (member(in, children[i], &v) == PRESENT && !is_list(v)) {
            ent_add(&e, children[i], "expected an array");
        }
    }
    if (t == RT_CONSUMERS) {
        validate_plugins(&e, in, "consumer");
    }
    for (size_t i = 0; t == RT_CONSUMERS && consumer_ignored[i] != NULL; i++) {
        field_ignored_list(&e, in, consumer_ignored[i]);
    }
    json_t *work = entry_copy(L, in);
    if (work == NULL) {
        ent_flush(&e);
        return;
    }
    for (size_t i = 0; children[i] != NULL; i++) {
        json_object_del(work, children[i]);
    }
    if (t == RT_CONSUMERS) {
        json_object_del(work, "plugins");
    }
    for (size_t i = 0; t == RT_CONSUMERS && consumer_ignored[i] != NULL; i++) {
        json_object_del(work, consumer_ignored[i]);
    }
    /* The parent reference is resolved once every id is known: the engine validates the entity
     * with a placeholder in its place. A nested entry's parent is the enclosing one (naming it
     * again is allowed, as for nested routes: nested_reference). */
    if (d->fk != NULL) {
        bool present = member(in, d->fk, &v) == PRESENT;
        if (nested && present) {
            nested_reference(&e, d->fk, v, &rec->ref);
        } else if (present) {
            foreign_reference(&e, d->fk, v, rtabs[d->fk_table].schema->endpoint_key, &rec->ref);
        }
        if (nested || present) {
            json_object_set_new(work, d->fk, json_pack("{s:s}", "id", ID_PLACEHOLDER));
        }
    }
    v = json_object_get(in, "id");
    rec->id_given = v != NULL && !json_is_null(v);
    if (!rec->id_given) {
        json_object_set_new(work, "id", json_string(ID_PLACEHOLDER)); /* assign_row_ids */
    }
    json_t *out = schema_validate(&e, d->schema, work);
    json_decref(work);
    if (out != NULL && e.n == 0) {
        row_times(L, d->schema, in, out);
        const char *id = json_string_value(json_object_get(out, "id"));
        if (rec->id_given && id != NULL && strlen(id) == SL_UUID_LEN) {
            /* stored lowercase, as services' and routes' ids (and PostgreSQL's uuid type) */
            char low[SL_UUID_LEN + 1];
            for (size_t k = 0; k <= SL_UUID_LEN; k++) {
                low[k] = (char)tolower((unsigned char)id[k]);
            }
            json_object_set_new(out, "id", json_string(low));
        }
        rec->row = out;
        out = NULL;
    }
    json_decref(out);
    ent_flush(&e);
}

/* Records and validates entry <in> of table <t>, nested in entry <parent> of the parent table or
 * at the top level (-1). <prefix> is owned by the loader (NULL: out of memory). Returns the entry's
 * index, or -1. */
static long
add_row(struct loader *L, int t, const json_t *in, long parent, char *prefix)
{
    if (prefix == NULL) {
        L->errs.oom = true;
        return -1;
    }
    struct row_rec *rec = row_push(L, t);
    if (rec == NULL) {
        return -1;
    }
    rec->prefix = prefix;
    rec->parent = parent;
    size_t idx = L->rows[t].n - 1;
    json_t *named = NULL;
    /* a certificate's snis may be listed by name, as the Admin API's `snis` shorthand takes them */
    if (t == RT_SNIS && parent >= 0 && json_is_string(in)) {
        named = json_pack("{s:O}", "name", in);
        if (named == NULL) {
            L->errs.oom = true;
            return -1;
        }
        in = named;
    }
    if (!json_is_object(in)) {
        lines_addf(&L->errs, "%s: %s", prefix,
                   json_is_null(in) ? "required field missing" : "expected a record");
    } else {
        validate_row(L, t, idx, in, parent >= 0);
    }
    json_decref(named);
    return (long)idx;
}

/* The entries nested in entry <idx> of table <t> (input <in>, error prefix <prefix>; idx -1: it
 * could not be recorded), recursively: a certificate's snis, upstreams (with their targets) and
 * services (with their routes), an upstream's targets. */
static void
load_nested(struct loader *L, int t, long idx, const json_t *in, const char *prefix)
{
    if (idx < 0 || !json_is_object(in)) {
        return;
    }
    for (const int *c = rtabs[t].children; *c >= 0 && !L->errs.oom; c++) {
        const char *name = rtabs[*c].name;
        const json_t *list = json_object_get(in, name);
        for (size_t j = 0; is_list(list) && j < list_size(list) && !L->errs.oom; j++) {
            const json_t *it = list_get(list, j);
            char *p = prefix_dup(L, "%s: in '%s': in entry %zu of '%s'", prefix, name, j + 1, name);
            load_nested(L, *c, add_row(L, *c, it, idx, p), it, p);
        }
    }
    const json_t *services = t == RT_CERTIFICATES ? json_object_get(in, "services") : NULL;
    for (size_t j = 0; is_list(services) && j < list_size(services) && !L->errs.oom; j++) {
        add_service(L, list_get(services, j), idx, j + 1,
                    prefix_dup(L, "%s: in 'services': in entry %zu of 'services'", prefix, j + 1));
    }
}

/* The top-level list <list> of table <t>, with the entries nested in each. */
static void
load_row_table(struct loader *L, int t, const json_t *list)
{
    const char *name = rtabs[t].name;
    for (size_t i = 0; i < list_size(list) && !L->errs.oom; i++) {
        const json_t *it = list_get(list, i);
        char *prefix = prefix_dup(L, "in '%s': in entry %zu of '%s'", name, i + 1, name);
        load_nested(L, t, add_row(L, t, it, -1, prefix), it, prefix);
    }
}

static const char *
row_id(const struct row_rec *r)
{
    return r->row ? json_string_value(json_object_get(r->row, "id")) : NULL;
}

/* Ids for entries without one, stable across loads of the same file: Kong's uuid5 of the endpoint
 * key where there is one (a target's with its upstream's key, as targets are unique per upstream).
 * Where Kong draws a random id, a key made of the entry's content, so that the same file keeps its
 * ids and two files imported one after the other do not collide: a consumer's custom_id, a CA
 * certificate's digest, a certificate's PEM with its position (a file may list one twice). */
static void
assign_row_ids(struct loader *L)
{
    uint8_t root[16];
    sl_uuid_parse(SL_DECLARATIVE_UUID_NS, SL_UUID_LEN, root);
    for (int t = 0; t < RT_MAX && !L->errs.oom; t++) {
        const struct rtab_def *d = &rtabs[t];
        uint8_t ns[16];
        if (L->rows[t].n > 0 && sl_uuid_v5(root, d->name, strlen(d->name), ns) != 0) {
            L->errs.oom = true;
            return;
        }
        for (size_t i = 0; i < L->rows[t].n && !L->errs.oom; i++) {
            struct row_rec *r = &L->rows[t].v[i];
            if (r->row == NULL || r->id_given) {
                continue;
            }
            const char *ek = d->schema->endpoint_key;
            const char *kv = ek ? json_string_value(json_object_get(r->row, ek)) : NULL;
            const char *up = NULL;
            if (t == RT_TARGETS && r->parent >= 0) {
                up = row_id(&L->rows[RT_UPSTREAMS].v[r->parent]);
            } else if (t == RT_TARGETS && r->ref != NULL) {
                bool by_id;
                up = reference_key(r->ref, "name", &by_id);
            }
            const char *content = t == RT_CONSUMERS         ? "custom_id"
                                  : t == RT_CA_CERTIFICATES ? "cert_digest"
                                  : t == RT_CERTIFICATES    ? "cert"
                                                            : NULL;
            const char *cv = content ? json_string_value(json_object_get(r->row, content)) : NULL;
            char *key = NULL;
            int n;
            if (kv != NULL) {
                n = t == RT_TARGETS ? asprintf(&key, "%s:%s", kv, up ? up : "")
                                    : asprintf(&key, "%s", kv);
            } else if (cv != NULL && t == RT_CERTIFICATES) {
                n = asprintf(&key, "sluice:%s/%zu/%s", d->name, i + 1, cv);
            } else if (cv != NULL) {
                n = asprintf(&key, "sluice:%s/%s:%s", d->name, content, cv);
            } else {
                n = asprintf(&key, "sluice:%s/%zu", d->name, i + 1);
            }
            char id[SL_UUID_LEN + 1];
            if (n < 0) {
                L->errs.oom = true;
                return;
            }
            generate_id(L, ns, key, id);
            free(key);
            json_object_set_new(r->row, "id", json_string(id));
        }
    }
}

/* The entry of table <t> a reference names: by endpoint key first, then by id (Kong's
 * find_entity). */
static bool
find_row(const struct loader *L, int t, const json_t *ref, size_t *idx)
{
    const struct row_index *x = &L->rindex[t];
    bool by_id;
    const char *key = reference_key(ref, rtabs[t].schema->endpoint_key, &by_id);
    if (key == NULL || !x->ready) {
        return false;
    }
    if (sl_strmap_get(&x->keys, key, idx) || sl_strmap_get(&x->ids, key, idx)) {
        return true;
    }
    char low[SL_UUID_LEN + 1];
    if (strlen(key) != SL_UUID_LEN) {
        return false;
    }
    for (size_t k = 0; k <= SL_UUID_LEN; k++) {
        low[k] = (char)tolower((unsigned char)key[k]);
    }
    return sl_strmap_get(&x->ids, low, idx);
}

/* Uniqueness inside the file (the store would refuse the second entry), then the index the
 * references are resolved with. */
static void
index_rows(struct loader *L)
{
    for (int t = 0; t < RT_MAX && !L->errs.oom; t++) {
        const struct sl_schema *s = rtabs[t].schema;
        const struct row_list *l = &L->rows[t];
        struct row_index *x = &L->rindex[t];
        struct sl_strmap uniq[3];
        const char *uname[3];
        size_t nu = 0;
        if (!sl_strmap_init(&x->ids, l->n, L->tmp) || !sl_strmap_init(&x->keys, l->n, L->tmp)) {
            L->errs.oom = true;
            return;
        }
        x->ready = true;
        for (const struct sl_field *f = s->fields; f->name != NULL && nu < 3; f++) {
            if (f->unique) {
                if (!sl_strmap_init(&uniq[nu], l->n, L->tmp)) {
                    L->errs.oom = true;
                    return;
                }
                uname[nu++] = f->name;
            }
        }
        for (size_t i = 0; i < l->n; i++) {
            const struct row_rec *r = &l->v[i];
            const char *id = row_id(r);
            if (id == NULL) {
                continue;
            }
            /* the unique fields first, as for services and routes: an id derived from a
             * repeated name repeats too, and the name says more */
            bool dup = false;
            for (size_t u = 0; u < nu && !dup; u++) {
                const char *v = json_string_value(json_object_get(r->row, uname[u]));
                if (v != NULL && !sl_strmap_put(&uniq[u], v, i)) {
                    lines_addf(&L->errs,
                               "%s: uniqueness violation: '%s' entity with %s set to '%s' already "
                               "declared",
                               r->prefix, s->name, uname[u], v);
                    dup = true;
                } else if (v != NULL && s->endpoint_key && strcmp(uname[u], s->endpoint_key) == 0) {
                    sl_strmap_put(&x->keys, v, i);
                }
            }
            if (!dup && !sl_strmap_put(&x->ids, id, i)) {
                lines_addf(&L->errs,
                           "%s: uniqueness violation: '%s' entity with primary key set to '%s' "
                           "already declared",
                           r->prefix, s->name, id);
            }
        }
    }
}

/* Links every entry to its parent: the enclosing entry, or the one its reference names. */
static void
resolve_row_references(struct loader *L)
{
    for (int t = 0; t < RT_MAX && !L->errs.oom; t++) {
        const struct rtab_def *d = &rtabs[t];
        for (size_t i = 0; d->fk != NULL && i < L->rows[t].n; i++) {
            struct row_rec *r = &L->rows[t].v[i];
            const char *pid = NULL;
            size_t k;
            if (r->row == NULL) {
                continue;
            }
            const char *ek = d->schema->endpoint_key;
            const char *at = ek ? json_string_value(json_object_get(r->row, ek)) : NULL;
            bool found = r->ref != NULL && find_row(L, d->fk_table, r->ref, &k);
            if (r->parent >= 0) {
                /* whatever a nested entry names again, its parent is the enclosing entry */
                if (r->ref != NULL && !found) {
                    nested_reference_error(L, r->prefix, d->name, at ? at : row_id(r), d->fk,
                                           r->ref, rtabs[d->fk_table].name);
                }
                pid = row_id(&L->rows[d->fk_table].v[r->parent]); /* NULL: the parent failed */
            } else if (found) {
                pid = row_id(&L->rows[d->fk_table].v[k]);
            } else if (r->ref != NULL) {
                reference_error(L, d->name, at ? at : row_id(r), d->fk, r->ref,
                                rtabs[d->fk_table].name);
            }
            if (pid != NULL) {
                json_object_set_new(r->row, d->fk, json_pack("{s:s}", "id", pid));
            }
        }
    }
    /* targets: one per target within an upstream (their cache key) */
    struct sl_strmap seen;
    const struct row_list *tl = &L->rows[RT_TARGETS];
    if (!sl_strmap_init(&seen, tl->n, L->tmp)) {
        L->errs.oom = true;
        return;
    }
    for (size_t i = 0; i < tl->n; i++) {
        const struct row_rec *r = &tl->v[i];
        const char *up =
            r->row ? json_string_value(json_object_get(json_object_get(r->row, "upstream"), "id"))
                   : NULL;
        const char *target = r->row ? json_string_value(json_object_get(r->row, "target")) : NULL;
        char *key = up && target ? prefix_dup(L, "%s|%s", up, target) : NULL;
        if (key != NULL && strcmp(up, ID_PLACEHOLDER) != 0 && !sl_strmap_put(&seen, key, i)) {
            lines_addf(&L->errs,
                       "%s: uniqueness violation: 'targets' entity with target set to '%s' "
                       "already declared in upstream '%s'",
                       r->prefix, target, up);
        }
    }
}

/* services[].client_certificate names a certificate of the file; a service nested in a
 * certificate has that one. */
static void
resolve_service_certificates(struct loader *L)
{
    for (size_t i = 0; i < L->nsvcs; i++) {
        struct svc_rec *sr = &L->svcs[i];
        const char *at = sr->svc ? (sr->svc->name ? sr->svc->name : sr->svc->id) : NULL;
        size_t k;
        if (sr->svc == NULL || (sr->cc_ref == NULL && sr->cert < 0)) {
            continue;
        }
        bool found = sr->cc_ref != NULL && find_row(L, RT_CERTIFICATES, sr->cc_ref, &k);
        if (sr->cert >= 0) {
            if (sr->cc_ref != NULL && !found) {
                nested_reference_error(L, sr->prefix, "services", at, "client_certificate",
                                       sr->cc_ref, "certificates");
                sr->ok = false;
            }
            k = (size_t)sr->cert;
        } else if (!found) {
            reference_error(L, "services", at, "client_certificate", sr->cc_ref, "certificates");
            sr->ok = false;
            continue;
        }
        const char *cid = row_id(&L->rows[RT_CERTIFICATES].v[k]); /* NULL: the parent failed */
        if (sr->row != NULL && cid != NULL) {
            json_object_set_new(sr->row, "client_certificate", json_pack("{s:s}", "id", cid));
        }
        if (cid != NULL &&
            (sr->svc->client_certificate_id = sl_arena_strdup(L->arena, cid)) == NULL) {
            L->errs.oom = true;
        }
    }
}

/* The rows db_import stores, every table in an order where a parent comes before its children
 * (Kong's topological order): {"<table>": [<complete entity>, ...], ...}. NULL on ENOMEM. */
static json_t *
build_rows(struct loader *L)
{
    static const char *const order[] = {"ca_certificates", "certificates", "consumers", "services",
                                        "routes",          "snis",         "upstreams", "targets"};
    json_t *doc = json_object();
    for (size_t o = 0; doc != NULL && o < sizeof(order) / sizeof(order[0]); o++) {
        json_t *a = json_array();
        if (a == NULL || json_object_set_new(doc, order[o], a) != 0) {
            json_decref(doc);
            return NULL;
        }
        if (strcmp(order[o], "services") == 0) {
            for (size_t i = 0; i < L->nsvcs; i++) {
                const struct sl_service *s = L->svcs[i].svc;
                json_t *row = L->svcs[i].row;
                json_object_set_new(row, "id", json_string(s->id));
                json_object_set_new(row, "created_at", json_integer(s->created_at));
                json_object_set_new(row, "updated_at", json_integer(s->updated_at));
                json_array_append(a, row);
            }
        } else if (strcmp(order[o], "routes") == 0) {
            for (size_t i = 0; i < L->nroutes; i++) {
                const struct sl_route *r = L->routes[i].route;
                json_t *row = L->routes[i].row;
                json_object_set_new(row, "id", json_string(r->id));
                json_object_set_new(row, "created_at", json_integer(r->created_at));
                json_object_set_new(row, "updated_at", json_integer(r->updated_at));
                json_object_set_new(row, "service",
                                    r->service ? json_pack("{s:s}", "id", r->service->id)
                                               : json_null());
                json_array_append(a, row);
            }
        } else {
            for (int t = 0; t < RT_MAX; t++) {
                for (size_t i = 0; strcmp(rtabs[t].name, order[o]) == 0 && i < L->rows[t].n; i++) {
                    json_array_append(a, L->rows[t].v[i].row);
                }
            }
        }
    }
    return doc;
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
    const json_t *row_tables[RT_MAX] = {0};
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)root, k, x)
    {
        if (strcmp(k, "_format_version") == 0 || strcmp(k, "_transform") == 0 ||
            strcmp(k, "_comment") == 0 || strcmp(k, "_ignore") == 0 || strcmp(k, "services") == 0 ||
            strcmp(k, "routes") == 0) {
            continue;
        }
        int t = 0;
        while (t < RT_MAX && strcmp(k, rtabs[t].name) != 0) {
            t++;
        }
        if (t < RT_MAX) {
            if (json_is_null(x)) {
                continue;
            }
            if (!is_list(x)) {
                ent_add(&top, k, "expected an array");
                continue;
            }
            row_tables[t] = x;
            /* validated like db_import's, but the data plane does not use them yet (only the
             * services nested in certificates) */
            bool nests_services = false;
            for (size_t i = 0; t == RT_CERTIFICATES && i < list_size(x); i++) {
                const json_t *c = list_get(x, i);
                nests_services |=
                    list_size(json_is_object(c) ? json_object_get(c, "services") : NULL) > 0;
            }
            if (!L->want_rows && list_size(x) > 0) {
                lines_addf(&L->warns, "ignoring '%s' (%zu entries): not supported by Sluice yet%s",
                           k, list_size(x),
                           nests_services      ? " (the services nested in them are loaded)"
                           : t == RT_UPSTREAMS ? " (a service whose host names one answers 503)"
                                               : "");
            }
            continue;
        }
        if (strcmp(k, "plugins") == 0) {
            validate_plugins(&top, root, NULL);
            continue;
        }
        if (strcmp(k, "filter_chains") == 0) {
            refuse_filter_chains(&top, root);
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

    /* count, then validate: services with their nested routes, then top-level routes, then the
     * other tables (a certificate's nested services and their routes are recorded there) */
    size_t nsvcs = 0;
    size_t nroutes = list_size(routes);
    count_services(services, &nsvcs, &nroutes);
    const json_t *certs = row_tables[RT_CERTIFICATES];
    for (size_t i = 0; i < list_size(certs); i++) {
        const json_t *c = list_get(certs, i);
        count_services(json_is_object(c) ? json_object_get(c, "services") : NULL, &nsvcs, &nroutes);
    }
    L->svcs = sl_arena_calloc(L->tmp, nsvcs ? nsvcs : 1, sizeof(*L->svcs));
    L->routes = sl_arena_calloc(L->tmp, nroutes ? nroutes : 1, sizeof(*L->routes));
    if (L->svcs == NULL || L->routes == NULL) {
        L->errs.oom = true;
        return;
    }
    for (size_t i = 0; i < list_size(services) && !L->errs.oom; i++) {
        add_service(L, list_get(services, i), -1, 0,
                    prefix_dup(L, "in 'services': in entry %zu of 'services'", i + 1));
    }
    for (size_t i = 0; i < list_size(routes) && !L->errs.oom; i++) {
        add_route(L, list_get(routes, i), -1,
                  prefix_dup(L, "in 'routes': in entry %zu of 'routes'", i + 1));
    }
    for (int t = 0; t < RT_MAX && !L->errs.oom; t++) {
        load_row_table(L, t, row_tables[t]);
    }
    if (L->errs.oom) {
        return;
    }

    assign_row_ids(L); /* first: a service nested in a certificate takes its id from it */
    assign_ids(L);
    index_rows(L);
    resolve_row_references(L);
    resolve_service_certificates(L);
    check_uniqueness_and_references(L);
}

/* The complete rows of <list> in an object keyed by id (rows whose parent failed have none and
 * are left out). NULL on ENOMEM. */
static json_t *
rows_by_id(const struct row_list *list)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < list->n; i++) {
        const char *id = row_id(&list->v[i]);
        if (id != NULL && json_object_set(o, id, list->v[i].row) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
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
    /* the upstreams are not served, but a service that names one must not go where DNS says;
     * https services take their certificates from the file's */
    json_t *upstreams = rows_by_id(&L->rows[RT_UPSTREAMS]);
    json_t *certs = rows_by_id(&L->rows[RT_CERTIFICATES]);
    json_t *cas = rows_by_id(&L->rows[RT_CA_CERTIFICATES]);
    bool ok = upstreams != NULL && certs != NULL && cas != NULL &&
              sl_config_mark_upstream_hosts(cfg, upstreams) >= 0 &&
              sl_config_attach_tls_material(cfg, certs, cas) == 0;
    json_decref(upstreams);
    json_decref(certs);
    json_decref(cas);
    return ok ? cfg : NULL;
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
    json_t *root = opts != NULL && opts->parsed != NULL
                       ? json_incref((json_t *)opts->parsed)
                       : parse_document(buf ? buf : "", len, name, why, sizeof(why));
    if (root == NULL) {
        snprintf(err, errlen, "failed parsing declarative configuration: %s", why);
        return NULL;
    }
    /* the clock is fixed here so that GET /config, loading the text again, gives the entities
     * the same timestamps */
    struct sl_declarative_opts fixed = {0};
    if (opts != NULL) {
        fixed = *opts;
    }
    if (fixed.now <= 0) {
        fixed.now = (int64_t)time(NULL);
    }
    struct sl_config *cfg = sl_declarative_load_json(root, &fixed, err, errlen);
    json_decref(root);
    if (cfg != NULL) {
        sl_declarative_md5(buf, len, cfg->md5);
        char *copy = sl_arena_alloc(cfg->arena, len + 1);
        const char *nm = sl_arena_strndup(cfg->arena, name ? name : "", name ? strlen(name) : 0);
        if (copy != NULL && nm != NULL) { /* without them GET /config renders the compiled form */
            memcpy(copy, buf ? buf : "", len);
            copy[len] = '\0';
            cfg->source = copy;
            cfg->source_len = len;
            cfg->source_name = nm;
            cfg->loaded_at = fixed.now;
        }
    }
    return cfg;
}

void
sl_declarative_md5(const char *text, size_t len, char hex[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    memset(hex, '0', 32);
    hex[32] = '\0';
    if (len > 0 && EVP_Digest(text, len, md, &mdlen, EVP_md5(), NULL) == 1) {
        for (unsigned i = 0; i < mdlen && i < 16; i++) {
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        }
    }
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
    if (opts != NULL && opts->rows != NULL) {
        *opts->rows = NULL;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "failed parsing declarative configuration: expected an object");
        return NULL;
    }

    /* jansson drops what it cannot allocate without saying so (a copied entity's member, a
     * message): a load during which any of its allocations failed is out of memory, whatever it
     * seemed to produce (core/json_alloc.h) */
    unsigned long failures = sl_json_alloc_failures();
    struct loader L;
    memset(&L, 0, sizeof(L));
    L.errs.max = SL_DECLARATIVE_MAX_ERRORS;
    L.warns.max = SL_DECLARATIVE_MAX_ERRORS;
    L.now = opts != NULL && opts->now > 0 ? opts->now : (int64_t)time(NULL);
    L.want_rows = opts != NULL && opts->rows != NULL;
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
    L.errs.oom |= sl_json_alloc_failures() != failures;

    struct sl_config *cfg = NULL;
    if (L.errs.oom) {
        snprintf(err, errlen, "out of memory");
    } else if (L.errs.n > 0 || L.errs.dropped > 0) {
        lines_export(&L.errs, err, errlen);
    } else {
        cfg = build_config(&L);
        json_t *rows = cfg != NULL && L.want_rows ? build_rows(&L) : NULL;
        if (cfg == NULL || (L.want_rows && rows == NULL) || sl_json_alloc_failures() != failures) {
            snprintf(err, errlen, "out of memory");
            json_decref(rows);
            cfg = NULL;
        } else if (L.want_rows) {
            *opts->rows = rows;
        }
    }
    if (opts != NULL && opts->warn != NULL) {
        lines_export(&L.warns, opts->warn, opts->warnlen);
    }
    for (size_t i = 0; i < L.nsvcs; i++) {
        json_decref(L.svcs[i].row);
    }
    for (size_t i = 0; i < L.nroutes; i++) {
        json_decref(L.routes[i].row);
    }
    for (int t = 0; t < RT_MAX; t++) {
        for (size_t i = 0; i < L.rows[t].n; i++) {
            json_decref(L.rows[t].v[i].row);
        }
        free(L.rows[t].v);
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
    size_t len;
    char *buf = sl_file_read_all(path, SL_DECLARATIVE_MAX_BYTES, &len);
    if (buf == NULL) {
        if (errno == EFBIG) {
            snprintf(err, errlen, "failed parsing declarative configuration: larger than %u bytes",
                     SL_DECLARATIVE_MAX_BYTES);
        } else {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        }
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
