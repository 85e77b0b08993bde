/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's error bodies and HTTP statuses: the messages are built the way kong/db/errors.lua builds
 * them, including Penlight's compact pretty-printing of keys, so clients see identical text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/errors.h"
#include "schema/schema.h"

static const char *const names[SL_ERR_MAX] = {
    [SL_ERR_INVALID_PRIMARY_KEY] = "invalid primary key",
    [SL_ERR_SCHEMA_VIOLATION] = "schema violation",
    [SL_ERR_PRIMARY_KEY_VIOLATION] = "primary key violation",
    [SL_ERR_FOREIGN_KEY_VIOLATION] = "foreign key violation",
    [SL_ERR_UNIQUE_VIOLATION] = "unique constraint violation",
    [SL_ERR_NOT_FOUND] = "not found",
    [SL_ERR_INVALID_OFFSET] = "invalid offset",
    [SL_ERR_DATABASE_ERROR] = "database error",
    [SL_ERR_INVALID_SIZE] = "invalid size",
    [SL_ERR_INVALID_UNIQUE] = "invalid unique %s",
    [SL_ERR_INVALID_OPTIONS] = "invalid options",
    [SL_ERR_OPERATION_UNSUPPORTED] = "operation unsupported",
    [SL_ERR_FOREIGN_KEYS_UNRESOLVED] = "foreign keys unresolved",
    [SL_ERR_DECLARATIVE_CONFIG] = "invalid declarative configuration",
    [SL_ERR_TRANSFORMATION_ERROR] = "transformation error",
    [SL_ERR_INVALID_FOREIGN_KEY] = "invalid foreign key",
    [SL_ERR_INVALID_WORKSPACE] = "invalid workspace",
    [SL_ERR_INVALID_UNIQUE_GLOBAL] = "invalid global query",
    [SL_ERR_REFERENCED_BY_OTHERS] = "referenced by others",
};

const char *
sl_err_name(enum sl_err_code code)
{
    return code > 0 && code < SL_ERR_MAX ? names[code] : NULL;
}

int
sl_err_http_status(enum sl_err_code code)
{
    switch (code) {
    case SL_ERR_INVALID_PRIMARY_KEY:
    case SL_ERR_SCHEMA_VIOLATION:
    case SL_ERR_PRIMARY_KEY_VIOLATION:
    case SL_ERR_FOREIGN_KEY_VIOLATION:
    case SL_ERR_INVALID_OFFSET:
    case SL_ERR_INVALID_SIZE:
    case SL_ERR_INVALID_UNIQUE:
    case SL_ERR_INVALID_OPTIONS:
    case SL_ERR_FOREIGN_KEYS_UNRESOLVED:
    case SL_ERR_DECLARATIVE_CONFIG:
    case SL_ERR_REFERENCED_BY_OTHERS:
        return 400;
    case SL_ERR_UNIQUE_VIOLATION:
        return 409;
    case SL_ERR_NOT_FOUND:
        return 404;
    case SL_ERR_OPERATION_UNSUPPORTED:
        return 405;
    default:
        return 500;
    }
}

/* ---- a growable string ------------------------------------------------------------------------
 */

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void
sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static char *
sb_done(struct sbuf *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (b->p == NULL) {
        sb_add(b, "", 0);
    }
    return b->p;
}

/* ---- Penlight pretty.write(v, "") ---------------------------------------------------------------
 */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted keys of <obj> (malloc'd array of borrowed strings). */
static const char **
sorted_keys(const json_t *obj, size_t *n)
{
    *n = json_object_size(obj);
    const char **keys = calloc(*n + 1, sizeof(*keys));
    if (keys == NULL) {
        *n = 0;
        return NULL;
    }
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        keys[i++] = k;
    }
    qsort(keys, *n, sizeof(*keys), cmp_str);
    return keys;
}

static void
pretty_quote(struct sbuf *b, const char *s)
{
    sb_str(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            sb_add(b, "\\", 1);
        }
        sb_add(b, s, 1);
    }
    sb_str(b, "\"");
}

static int
is_ident(const char *k)
{
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_')) {
        return 0;
    }
    for (; *k; k++) {
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_')) {
            return 0;
        }
    }
    return 1;
}

static void
pretty(struct sbuf *b, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n;
        const char **keys = sorted_keys(v, &n);
        sb_str(b, "{");
        for (size_t i = 0; i < n; i++) {
            if (i) {
                sb_str(b, ",");
            }
            if (is_ident(keys[i])) {
                sb_str(b, keys[i]);
            } else {
                sb_str(b, "[");
                pretty_quote(b, keys[i]);
                sb_str(b, "]");
            }
            sb_str(b, "=");
            pretty(b, json_object_get(v, keys[i]));
        }
        sb_str(b, "}");
        free(keys);
        break;
    }
    case JSON_ARRAY: {
        /* a Lua sequence; holes (JSON nulls) turn the rest into [i]= keys */
        size_t i;
        json_t *e;
        int first = 1, hole = 0;
        sb_str(b, "{");
        json_array_foreach(v, i, e)
        {
            if (json_is_null(e)) {
                hole = 1;
                continue;
            }
            if (!first) {
                sb_str(b, ",");
            }
            first = 0;
            if (hole) {
                snprintf(num, sizeof(num), "[%zu]=", i + 1);
                sb_str(b, num);
            }
            pretty(b, e);
        }
        sb_str(b, "}");
        break;
    }
    case JSON_STRING:
        pretty_quote(b, json_string_value(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        sb_str(b, num);
        break;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.14g", json_real_value(v));
        sb_str(b, num);
        break;
    case JSON_TRUE:
        sb_str(b, "true");
        break;
    case JSON_FALSE:
        sb_str(b, "false");
        break;
    default:
        sb_str(b, "null");
        break;
    }
}

char *
sl_err_pretty(const json_t *v)
{
    struct sbuf b = {0};
    pretty(&b, v);
    return sb_done(&b);
}

/* ---- bodies ------------------------------------------------------------------------------------
 */

static json_t *
body(enum sl_err_code code, const char *message, const char *detail_key, const json_t *detail)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "code", json_integer(code));
    json_object_set_new(o, "name", json_string(names[code]));
    json_object_set_new(o, "message", message ? json_string(message) : json_null());
    if (detail != NULL) {
        json_object_set_new(o, detail_key, json_deep_copy(detail));
    }
    return o;
}

/* A message "<prefix><pretty(arg)><suffix>". */
static json_t *
body_pretty(enum sl_err_code code, const char *prefix, const json_t *arg, const char *suffix,
            const json_t *fields)
{
    char *p = sl_err_pretty(arg);
    if (p == NULL) {
        return NULL;
    }
    struct sbuf m = {0};
    sb_str(&m, prefix);
    sb_str(&m, p);
    sb_str(&m, suffix);
    free(p);
    char *msg = sb_done(&m);
    if (msg == NULL) {
        return NULL;
    }
    json_t *o = body(code, msg, "fields", fields);
    free(msg);
    return o;
}

static void
add_item(struct sbuf *b, size_t *count, const char *a, const char *bkey, const json_t *v)
{
    if (*count > 0) {
        sb_str(b, "; ");
    }
    (*count)++;
    sb_str(b, a);
    if (bkey != NULL) {
        sb_str(b, ".");
        sb_str(b, bkey);
    }
    if (a[0] != 0) {
        sb_str(b, ": ");
    }
    if (json_is_string(v)) {
        sb_str(b, json_string_value(v));
    } else {
        pretty(b, v);
    }
}

json_t *
sl_err_schema_violation(const json_t *fields)
{
    struct sbuf items = {0};
    size_t count = 0;
    const json_t *ent = json_object_get(fields, "@entity");
    size_t i;
    json_t *e;

    json_array_foreach(ent, i, e)
    {
        add_item(&items, &count, "", NULL, e);
    }
    size_t n;
    const char **keys = sorted_keys(fields, &n);
    for (size_t k = 0; k < n; k++) {
        if (strcmp(keys[k], "@entity") == 0) {
            continue;
        }
        const json_t *fe = json_object_get(fields, keys[k]);
        if (json_is_object(fe)) {
            size_t m;
            const char **sub = sorted_keys(fe, &m);
            for (size_t j = 0; j < m; j++) {
                add_item(&items, &count, keys[k], sub[j], json_object_get(fe, sub[j]));
            }
            free(sub);
        } else if (json_is_array(fe)) {
            json_array_foreach(fe, i, e)
            {
                if (!json_is_null(e)) {
                    char idx[24];
                    snprintf(idx, sizeof(idx), "%zu", i + 1);
                    add_item(&items, &count, keys[k], idx, e);
                }
            }
        } else {
            add_item(&items, &count, keys[k], NULL, fe);
        }
    }
    free(keys);
    char *list = sb_done(&items);
    if (list == NULL) {
        return NULL;
    }
    struct sbuf msg = {0};
    if (count == 1) {
        sb_str(&msg, "schema violation (");
    } else {
        char head[48];
        snprintf(head, sizeof(head), "%zu schema violations (", count);
        sb_str(&msg, head);
    }
    sb_str(&msg, list);
    sb_str(&msg, ")");
    free(list);
    char *m = sb_done(&msg);
    if (m == NULL) {
        return NULL;
    }
    json_t *o = body(SL_ERR_SCHEMA_VIOLATION, m, "fields", fields);
    free(m);
    return o;
}

json_t *
sl_err_unique_violation(const json_t *key)
{
    return body_pretty(SL_ERR_UNIQUE_VIOLATION, "UNIQUE violation detected on '", key, "'", key);
}

json_t *
sl_err_foreign_key_invalid(const json_t *fk, const char *field_name, const char *parent)
{
    char *p = sl_err_pretty(fk);
    if (p == NULL) {
        return NULL;
    }
    size_t n = strlen(p) + strlen(parent) + 80;
    char *msg = malloc(n);
    json_t *fields = json_object();
    json_t *o = NULL;
    if (msg != NULL && fields != NULL) {
        snprintf(msg, n, "the foreign key '%s' does not reference an existing '%s' entity.", p,
                 parent);
        json_object_set_new(fields, field_name, json_deep_copy(fk));
        o = body(SL_ERR_FOREIGN_KEY_VIOLATION, msg, "fields", fields);
    }
    json_decref(fields);
    free(msg);
    free(p);
    return o;
}

json_t *
sl_err_foreign_key_restricted(const char *parent, const char *child)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "an existing '%s' entity references this '%s' entity", child,
             parent);
    json_t *fields = json_pack("{s:s}", "@referenced_by", child);
    json_t *o = body(SL_ERR_FOREIGN_KEY_VIOLATION, msg, "fields", fields);
    json_decref(fields);
    return o;
}

json_t *
sl_err_not_found(const json_t *pk)
{
    return body_pretty(SL_ERR_NOT_FOUND, "could not find the entity with primary key '", pk, "'",
                       pk);
}

json_t *
sl_err_invalid_offset(const char *offset, const char *why)
{
    size_t n = strlen(offset) + strlen(why) + 40;
    char *msg = malloc(n);
    if (msg == NULL) {
        return NULL;
    }
    snprintf(msg, n, "'%s' is not a valid offset: %s", offset, why);
    json_t *o = body(SL_ERR_INVALID_OFFSET, msg, NULL, NULL);
    free(msg);
    return o;
}

json_t *
sl_err_invalid_size(const char *msg)
{
    return body(SL_ERR_INVALID_SIZE, msg, NULL, NULL);
}

json_t *
sl_err_invalid_primary_key(const json_t *pk)
{
    return body_pretty(SL_ERR_INVALID_PRIMARY_KEY, "invalid primary key: '", pk, "'", pk);
}

json_t *
sl_err_primary_key_violation(const json_t *pk)
{
    return body_pretty(SL_ERR_PRIMARY_KEY_VIOLATION, "primary key violation on key '", pk, "'", pk);
}

json_t *
sl_err_operation_unsupported(const char *msg)
{
    return body(SL_ERR_OPERATION_UNSUPPORTED, msg, NULL, NULL);
}

json_t *
sl_err_declarative(const json_t *fields)
{
    return body_pretty(SL_ERR_DECLARATIVE_CONFIG, "declarative config is invalid: ", fields, "",
                       fields);
}

json_t *
sl_err_referenced_by_others(const char *msg)
{
    return body(SL_ERR_REFERENCED_BY_OTHERS, msg, NULL, NULL);
}

/* ---- declarative config: Kong's flatten_errors (errors.lua declarative_config_flattened)
 * ---------- */

/* Errors of a section or a field list, as (1-based key, value) pairs: JSON arrays give their
 * non-null positions, objects their keys that are positive integers. Returns the count; <idx>/<val>
 * arrays of at most <cap> entries, in ascending order. */
static size_t
indexed_items(const json_t *t, size_t *idx, json_t **val, size_t cap)
{
    size_t n = 0;
    if (json_is_array(t)) {
        size_t i;
        json_t *e;
        json_array_foreach(t, i, e)
        {
            if (!json_is_null(e) && n < cap) {
                idx[n] = i + 1;
                val[n++] = e;
            }
        }
        return n;
    }
    if (!json_is_object(t)) {
        return 0;
    }
    size_t nk;
    const char **keys = sorted_keys(t, &nk);
    for (size_t k = 0; k < nk && n < cap; k++) {
        char *end;
        unsigned long v = strtoul(keys[k], &end, 10);
        if (*end == 0 && v > 0 && keys[k][0] != 0) {
            idx[n] = v;
            val[n++] = json_object_get(t, keys[k]);
        }
    }
    free(keys);
    /* numeric order, not string order */
    for (size_t a = 1; a < n; a++) {
        for (size_t b = a; b > 0 && idx[b - 1] > idx[b]; b--) {
            size_t ti = idx[b];
            json_t *tv = val[b];
            idx[b] = idx[b - 1];
            val[b] = val[b - 1];
            idx[b - 1] = ti;
            val[b - 1] = tv;
        }
    }
    return n;
}

static void
add_entity_msgs(const json_t *err, json_t *out)
{
    if (json_is_array(err)) {
        size_t i;
        json_t *e;
        json_array_foreach(err, i, e)
        {
            add_entity_msgs(e, out);
        }
    } else if (json_is_string(err)) {
        json_array_append_new(out, json_pack("{s:s,s:O}", "type", "entity", "message", err));
    }
}

static void
categorize(const json_t *errs, const char *ns, json_t *out)
{
    char path[512];
    if (json_is_array(errs)) {
        size_t i;
        json_t *e;
        json_array_foreach(errs, i, e)
        {
            if (json_is_null(e)) {
                continue;
            }
            snprintf(path, sizeof(path), "%s%s%zu", ns ? ns : "", ns ? "." : "", i + 1);
            if (json_is_string(e)) {
                json_array_append_new(
                    out, json_pack("{s:s,s:s,s:O}", "type", "field", "field", path, "message", e));
            } else {
                categorize(e, path, out);
            }
        }
        return;
    }
    size_t n;
    const char **keys = sorted_keys(errs, &n);
    for (size_t k = 0; k < n; k++) {
        const json_t *e = json_object_get(errs, keys[k]);
        if (strcmp(keys[k], "@entity") == 0) {
            add_entity_msgs(e, out);
            continue;
        }
        snprintf(path, sizeof(path), "%s%s%s", ns ? ns : "", ns ? "." : "", keys[k]);
        if (json_is_string(e)) {
            json_array_append_new(
                out, json_pack("{s:s,s:s,s:O}", "type", "field", "field", path, "message", e));
        } else if (json_is_object(e) || json_is_array(e)) {
            categorize(e, path, out);
        }
    }
    free(keys);
}

static json_t *
make_pk(const json_t *entity)
{
    const json_t *id = json_object_get(entity, "id");
    if (json_is_string(id) && sl_schema_is_uuid(json_string_value(id))) {
        return json_pack("{s:O}", "id", id);
    }
    return NULL;
}

/* The number of entries of an errors table (its capacity for indexed_items) */
static size_t
items_cap(const json_t *t)
{
    return (json_is_array(t) ? json_array_size(t) : json_object_size(t)) + 1;
}

static void add_entity_errors(const char *type, json_t *entity, json_t *err_t, json_t *flattened,
                              int depth);

/* Kong's each_foreign_field(<type>): the entity's own foreign fields, then the children that
 * reference it (which may be nested under it in the declarative format). */
static void
hoist_relations(const char *type, json_t *entity, json_t *err_t, json_t *flattened, int depth)
{
    const json_t *pk = make_pk(entity);
    json_t *entity_pk = (json_t *)pk;
    for (size_t si = 0; sl_schema_core[si] != NULL; si++) {
        const struct sl_schema *s = sl_schema_core[si];
        for (const struct sl_field *f = s->fields; f->name != NULL; f++) {
            if (f->type != SL_FT_FOREIGN) {
                continue;
            }
            if (strcmp(s->name, type) == 0) {
                /* owned one-to-one: certificates inside a service */
                json_t *fv = json_object_get(entity, f->name);
                if (json_is_object(fv)) {
                    json_incref(fv);
                    json_t *fe = json_incref(json_object_get(err_t, f->name));
                    json_t *ref = make_pk(fv);
                    if (ref != NULL) {
                        json_object_set_new(entity, f->name, ref);
                    } else {
                        json_object_del(entity, f->name);
                    }
                    json_object_del(err_t, f->name);
                    add_entity_errors(f->reference, fv, fe, flattened, depth + 1);
                    json_decref(fe);
                    json_decref(fv);
                }
            }
            if (strcmp(f->reference, type) == 0) {
                /* one-to-many: routes nested under a service */
                json_t *fv = json_object_get(entity, s->name);
                if (!json_is_array(fv)) {
                    continue;
                }
                json_incref(fv);
                json_t *fe = json_incref(json_object_get(err_t, s->name));
                json_object_del(entity, s->name);
                json_object_del(err_t, s->name);
                if (fe != NULL) {
                    size_t cap = items_cap(fe);
                    size_t *idx = calloc(cap, sizeof(*idx));
                    json_t **val = calloc(cap, sizeof(*val));
                    size_t n = idx && val ? indexed_items(fe, idx, val, cap) : 0;
                    for (size_t k = 0; k < n; k++) {
                        json_t *item = json_array_get(fv, idx[k] - 1);
                        if (!json_is_object(item)) {
                            continue;
                        }
                        if (json_object_get(item, f->name) == NULL && entity_pk != NULL) {
                            json_object_set(item, f->name, entity_pk);
                        }
                        add_entity_errors(s->name, item, val[k], flattened, depth + 1);
                    }
                    free(idx);
                    free(val);
                }
                json_decref(fe);
                json_decref(fv);
            }
        }
    }
    json_decref(entity_pk);
}

static void
add_entity_errors(const char *type, json_t *entity, json_t *err_in, json_t *flattened, int depth)
{
    json_t *err_t;
    if (json_is_string(err_in)) {
        err_t = json_pack("{s:O}", "@entity", err_in);
    } else if (json_is_object(err_in) && json_object_size(err_in) > 0) {
        err_t = json_deep_copy(err_in);
    } else {
        return;
    }
    if (!json_is_object(entity) || depth > 8) {
        json_decref(err_t);
        return;
    }
    hoist_relations(type, entity, err_t, flattened, depth);
    if (json_object_size(err_t) == 0) {
        json_decref(err_t);
        return;
    }
    json_t *errors = json_array();
    categorize(err_t, NULL, errors);
    json_decref(err_t);
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return;
    }
    json_t *item = json_object();
    const json_t *name = json_object_get(entity, "name");
    if (json_is_string(name) && json_string_length(name) > 0) {
        json_object_set(item, "entity_name", (json_t *)name);
    }
    const json_t *id = json_object_get(entity, "id");
    if (json_is_string(id) && sl_schema_is_uuid(json_string_value(id))) {
        json_object_set(item, "entity_id", (json_t *)id);
    }
    const json_t *tags = json_object_get(entity, "tags");
    if (json_is_array(tags)) {
        bool all = true;
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t)
        {
            all = all && json_is_string(t);
        }
        if (all) {
            json_object_set(item, "entity_tags", (json_t *)tags);
        }
    }
    size_t tl = strlen(type);
    char singular[128];
    snprintf(singular, sizeof(singular), "%.*s", (int)(tl > 0 && type[tl - 1] == 's' ? tl - 1 : tl),
             type);
    json_object_set_new(item, "entity_type", json_string(singular));
    json_object_set(item, "entity", entity);
    json_object_set_new(item, "errors", errors);
    json_array_append_new(flattened, item);
}

/* The errors of <section> under keys that are not positive integers (an object section only), as
 * a new object; a new empty array for an array section. */
static json_t *
put_back_unindexed(const json_t *section)
{
    if (json_is_array(section)) {
        return json_array();
    }
    json_t *kept = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)section, key, v)
    {
        char *end;
        unsigned long n = strtoul(key, &end, 10);
        if (!(*end == 0 && n > 0 && key[0] != 0)) {
            json_object_set(kept, key, v);
        }
    }
    return kept;
}

/* Puts the error <v> of entry <index> (1-based) back into <kept>, at its position. */
static void
put_back_index(json_t *kept, size_t index, json_t *v)
{
    if (json_is_array(kept)) {
        while (json_array_size(kept) < index - 1) {
            json_array_append_new(kept, json_null());
        }
        json_array_append(kept, v);
    } else if (json_is_object(kept)) {
        char key[32];
        snprintf(key, sizeof(key), "%zu", index);
        json_object_set(kept, key, v);
    }
}

json_t *
sl_err_declarative_flattened(const json_t *err_t, const json_t *input)
{
    json_t *rest = json_object();
    json_t *flattened = json_array();
    json_t *in = json_deep_copy(input);
    size_t n;
    const char **keys = sorted_keys(err_t, &n);
    for (size_t k = 0; k < n; k++) {
        json_t *section = json_object_get(err_t, keys[k]);
        json_t *entities = json_object_get(in, keys[k]);
        if (!(json_is_object(section) || json_is_array(section)) || !json_is_array(entities)) {
            json_object_set(rest, keys[k], section); /* not flattened: kept as it is */
            continue;
        }
        size_t cap = items_cap(section);
        size_t *idx = calloc(cap, sizeof(*idx));
        json_t **val = calloc(cap, sizeof(*val));
        size_t m = idx && val ? indexed_items(section, idx, val, cap) : 0;
        /* errors that name no entity of the input (references keyed by name, an entry that is no
         * record) are put back into the fields, as Kong's flatten_errors() does */
        json_t *kept = put_back_unindexed(section);
        for (size_t i = 0; i < m; i++) {
            json_t *entity = json_array_get(entities, idx[i] - 1);
            if (json_is_object(entity)) {
                add_entity_errors(keys[k], entity, val[i], flattened, 0);
            } else {
                put_back_index(kept, idx[i], val[i]);
            }
        }
        if (kept != NULL &&
            (json_is_array(kept) ? json_array_size(kept) : json_object_size(kept))) {
            json_object_set(rest, keys[k], kept);
        }
        json_decref(kept);
        free(idx);
        free(val);
    }
    free(keys);
    json_t *body =
        body_pretty(SL_ERR_DECLARATIVE_CONFIG, "declarative config is invalid: ", rest, "", rest);
    if (body != NULL) {
        json_object_set_new(body, "flattened_errors", flattened);
    } else {
        json_decref(flattened);
    }
    json_decref(rest);
    json_decref(in);
    return body;
}
