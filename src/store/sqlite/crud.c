/* SPDX-License-Identifier: Apache-2.0 */
/* Row operations of the SQLite back end: documents in, Kong's unique, foreign-key and on_delete
 * semantics enforced here (with the derived columns as indexes), pagination and tag filters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"

#define MAX_CASCADE_DEPTH 8 /* core chains are at most 3 deep (upstream → target) */

/* Derived column values of one document: malloc'd strings or NULL (SQL NULL). */
struct derived {
    char *u[SL_STORE_MAX_UNIQUE];
    char *g[SL_STORE_MAX_GROUPS];
    char *f[SL_STORE_MAX_FOREIGN];
};

static void
derived_free(struct derived *d)
{
    for (size_t i = 0; i < SL_STORE_MAX_UNIQUE; i++) {
        free(d->u[i]);
    }
    for (size_t i = 0; i < SL_STORE_MAX_GROUPS; i++) {
        free(d->g[i]);
    }
    for (size_t i = 0; i < SL_STORE_MAX_FOREIGN; i++) {
        free(d->f[i]);
    }
    memset(d, 0, sizeof(*d));
}

static const struct sl_store_foreign *
foreign_of(const struct sl_store_entity *e, const char *field)
{
    for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && e->foreign[i].field != NULL; i++) {
        if (strcmp(e->foreign[i].field, field) == 0) {
            return &e->foreign[i];
        }
    }
    return NULL;
}

/* The id inside a foreign value: {"id": "..."} → the id; null or absent → NULL with 0; any other
 * shape → -1. */
static int
foreign_id(const json_t *v, const char **id)
{
    *id = NULL;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    *id = json_string_value(json_object_get(v, "id"));
    return *id != NULL ? 0 : -1;
}

/* The comparable text of a unique value: strings as they are, other scalars JSON-encoded, a
 * foreign reference by its id. NULL for null/absent (and on ENOMEM, reported via <*oom>). */
static char *
unique_text(const json_t *v, bool *oom)
{
    char *out = NULL;
    const char *id;

    if (v == NULL || json_is_null(v)) {
        return NULL;
    }
    if (json_is_string(v)) {
        out = strdup(json_string_value(v));
    } else if (json_is_object(v) && foreign_id(v, &id) == 0 && id != NULL) {
        out = strdup(id);
    } else {
        out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    }
    if (out == NULL) {
        *oom = true;
    }
    return out;
}

/* A group's key: the JSON array of its components (foreign ones by id), nulls included. */
static char *
group_text(const struct sl_store_entity *e, size_t g, const json_t *doc, bool *oom)
{
    json_t *arr = json_array();
    char *out;

    for (size_t i = 0; arr != NULL && i < SL_STORE_MAX_GROUP_FIELDS && e->groups[g].fields[i];
         i++) {
        const char *name = e->groups[g].fields[i];
        const json_t *v = json_object_get(doc, name);
        const char *id;
        if (foreign_of(e, name) != NULL && foreign_id(v, &id) == 0) {
            json_array_append_new(arr, id != NULL ? json_string(id) : json_null());
        } else {
            json_array_append_new(arr, v != NULL ? json_deep_copy(v) : json_null());
        }
    }
    out = arr != NULL ? json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(arr);
    if (out == NULL) {
        *oom = true;
    }
    return out;
}

static enum sl_store_rc
derive(const struct sl_store_entity *e, const json_t *doc, struct derived *d,
       struct sl_store_err *err)
{
    bool oom = false;

    memset(d, 0, sizeof(*d));
    for (size_t i = 0; i < SL_STORE_MAX_UNIQUE && e->unique[i] != NULL; i++) {
        d->u[i] = unique_text(json_object_get(doc, e->unique[i]), &oom);
    }
    for (size_t g = 0; g < SL_STORE_MAX_GROUPS && e->groups[g].fields[0] != NULL; g++) {
        d->g[g] = group_text(e, g, doc, &oom);
    }
    for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && e->foreign[i].field != NULL; i++) {
        const char *id;
        if (foreign_id(json_object_get(doc, e->foreign[i].field), &id) != 0) {
            derived_free(d);
            return sl_store_err_set(err, SL_STORE_DB_ERROR,
                                    "invalid reference in field '%s' of a '%s' entity",
                                    e->foreign[i].field, e->name);
        }
        if (id != NULL && (d->f[i] = strdup(id)) == NULL) {
            oom = true;
        }
    }
    if (oom) {
        derived_free(d);
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    return SL_STORE_OK;
}

/* Kong renders keys in messages as Lua tables: {name="svc"}, {id="..."}; keys sorted. */
static void
lua_repr(struct sqlbuf *b, const json_t *v)
{
    if (json_is_string(v)) {
        sl_sqlite_buf_printf(b, "\"%s\"", json_string_value(v));
    } else if (json_is_object(v)) {
        const char *keys[16];
        size_t n = 0;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            if (n < 16) {
                keys[n++] = k;
            }
        }
        for (size_t i = 1; i < n; i++) { /* insertion sort: a handful of keys */
            for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
                const char *t = keys[j];
                keys[j] = keys[j - 1];
                keys[j - 1] = t;
            }
        }
        sl_sqlite_buf_printf(b, "{");
        for (size_t i = 0; i < n; i++) {
            sl_sqlite_buf_printf(b, "%s%s=", i > 0 ? "," : "", keys[i]);
            lua_repr(b, json_object_get(v, keys[i]));
        }
        sl_sqlite_buf_printf(b, "}");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        sl_sqlite_buf_printf(b, "%s", s != NULL ? s : "null");
        free(s);
    }
}

/* Sets <err> to a UNIQUE_VIOLATION over <fields> (taken). */
static enum sl_store_rc
unique_error(json_t *fields, struct sl_store_err *err)
{
    struct sqlbuf b = {0};

    lua_repr(&b, fields);
    sl_store_err_set(err, SL_STORE_UNIQUE_VIOLATION, "UNIQUE violation detected on '%s'",
                     b.oom ? "?" : b.p);
    sl_sqlite_buf_free(&b);
    err->fields = fields;
    return SL_STORE_UNIQUE_VIOLATION;
}

static json_t *
group_fields(const struct sl_store_entity *e, size_t g, const json_t *doc)
{
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && i < SL_STORE_MAX_GROUP_FIELDS && e->groups[g].fields[i]; i++) {
        const json_t *v = json_object_get(doc, e->groups[g].fields[i]);
        json_object_set_new(o, e->groups[g].fields[i], v != NULL ? json_deep_copy(v) : json_null());
    }
    return o;
}

/* Whether a row other than <self> has <col> = <val>. */
static bool
taken(struct sqlite_store *s, const struct sl_store_entity *e, const char *col, const char *val,
      const char *self, enum sl_store_rc *rc, struct sl_store_err *err)
{
    sqlite3_stmt *st;

    *rc = sl_sqlite_preparef(
        s, &st, err, "SELECT 1 FROM \"%s\" WHERE \"%s\" = ? AND id <> ? LIMIT 1", e->name, col);
    if (*rc != SL_STORE_OK) {
        return false;
    }
    sqlite3_bind_text(st, 1, val, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, self, -1, SQLITE_STATIC);
    return sl_sqlite_row_found(s, st, "unique check failed", rc, err);
}

static bool
row_exists(struct sqlite_store *s, const char *table, const char *id, enum sl_store_rc *rc,
           struct sl_store_err *err)
{
    return taken(s, &(struct sl_store_entity){.name = table}, "id", id, "", rc, err);
}

/* Unique fields, groups and foreign references of <doc> (about to be stored as <id>). */
static enum sl_store_rc
check_row(struct sqlite_store *s, const struct sl_store_entity *e, const char *id,
          const json_t *doc, const struct derived *d, struct sl_store_err *err)
{
    enum sl_store_rc rc = SL_STORE_OK;
    char col[64];

    for (size_t i = 0; i < SL_STORE_MAX_UNIQUE && e->unique[i] != NULL; i++) {
        if (d->u[i] == NULL) {
            continue;
        }
        snprintf(col, sizeof(col), "u_%s", e->unique[i]);
        if (taken(s, e, col, d->u[i], id, &rc, err)) {
            json_t *f = json_object();
            json_object_set(f, e->unique[i], json_object_get(doc, e->unique[i]));
            return unique_error(f, err);
        }
        if (rc != SL_STORE_OK) {
            return rc;
        }
    }
    for (size_t g = 0; g < SL_STORE_MAX_GROUPS && e->groups[g].fields[0] != NULL; g++) {
        snprintf(col, sizeof(col), "g%zu", g);
        if (taken(s, e, col, d->g[g], id, &rc, err)) {
            return unique_error(group_fields(e, g, doc), err);
        }
        if (rc != SL_STORE_OK) {
            return rc;
        }
    }
    for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && e->foreign[i].field != NULL; i++) {
        if (d->f[i] == NULL) {
            continue;
        }
        if (!row_exists(s, e->foreign[i].entity, d->f[i], &rc, err)) {
            if (rc != SL_STORE_OK) {
                return rc;
            }
            sl_store_err_set(err, SL_STORE_FOREIGN_KEY_VIOLATION,
                             "the foreign key '{id=\"%s\"}' does not reference an existing '%s' "
                             "entity.",
                             d->f[i], e->foreign[i].entity);
            err->fields = json_pack("{s{ss}}", e->foreign[i].field, "id", d->f[i]);
            err->entity = e->foreign[i].entity;
            return SL_STORE_FOREIGN_KEY_VIOLATION;
        }
    }
    return SL_STORE_OK;
}

/* Binds the derived columns in declaration order starting at parameter <first>. */
static int
bind_derived(sqlite3_stmt *st, int first, const struct sl_store_entity *e, const struct derived *d)
{
    int p = first;

    for (size_t i = 0; i < SL_STORE_MAX_UNIQUE && e->unique[i] != NULL; i++) {
        sqlite3_bind_text(st, p++, d->u[i], -1, SQLITE_STATIC);
    }
    for (size_t g = 0; g < SL_STORE_MAX_GROUPS && e->groups[g].fields[0] != NULL; g++) {
        sqlite3_bind_text(st, p++, d->g[g], -1, SQLITE_STATIC);
    }
    for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && e->foreign[i].field != NULL; i++) {
        sqlite3_bind_text(st, p++, d->f[i], -1, SQLITE_STATIC);
    }
    return p;
}

/* ", "u_name" = ?, ..." or ", "u_name", ..." for every derived column. */
static void
derived_cols(struct sqlbuf *b, const struct sl_store_entity *e, const char *suffix)
{
    for (size_t i = 0; i < SL_STORE_MAX_UNIQUE && e->unique[i] != NULL; i++) {
        sl_sqlite_buf_printf(b, ", \"u_%s\"%s", e->unique[i], suffix);
    }
    for (size_t g = 0; g < SL_STORE_MAX_GROUPS && e->groups[g].fields[0] != NULL; g++) {
        sl_sqlite_buf_printf(b, ", \"g%zu\"%s", g, suffix);
    }
    for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && e->foreign[i].field != NULL; i++) {
        sl_sqlite_buf_printf(b, ", \"f_%s\"%s", e->foreign[i].field, suffix);
    }
}

static size_t
derived_count(const struct sl_store_entity *e)
{
    size_t n = 0;

    for (size_t i = 0; i < SL_STORE_MAX_UNIQUE && e->unique[i] != NULL; i++) {
        n++;
    }
    for (size_t g = 0; g < SL_STORE_MAX_GROUPS && e->groups[g].fields[0] != NULL; g++) {
        n++;
    }
    for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && e->foreign[i].field != NULL; i++) {
        n++;
    }
    return n;
}

static enum sl_store_rc
step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what, struct sl_store_err *err)
{
    int r = sqlite3_step(st);

    if (r == SQLITE_DONE) {
        return SL_STORE_OK;
    }
    if ((sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_CONSTRAINT) {
        /* The indexes are a safety net behind check_row; keep Kong's code if they fire. */
        return sl_store_err_set(err, SL_STORE_UNIQUE_VIOLATION, "UNIQUE violation detected: %s",
                                sqlite3_errmsg(s->db));
    }
    return sl_sqlite_db_error(s, what, err);
}

static enum sl_store_rc
write_tags(struct sqlite_store *s, const struct sl_store_entity *e, const char *id,
           const json_t *doc, struct sl_store_err *err)
{
    sqlite3_stmt *st;
    enum sl_store_rc rc;
    const json_t *tags = json_object_get(doc, "tags");
    size_t i;
    json_t *t;

    rc = sl_sqlite_prepare(s, "DELETE FROM tags WHERE entity = ? AND id = ?", &st, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    rc = step_done(s, st, "cannot write tags", err);
    sqlite3_finalize(st);
    if (rc != SL_STORE_OK || !e->tags || !json_is_array(tags) || json_array_size(tags) == 0) {
        return rc;
    }
    rc = sl_sqlite_prepare(s, "INSERT OR IGNORE INTO tags (entity, id, tag) VALUES (?, ?, ?)", &st,
                           err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    json_array_foreach(tags, i, t)
    {
        if (!json_is_string(t)) {
            continue;
        }
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, json_string_value(t), -1, SQLITE_STATIC);
        rc = step_done(s, st, "cannot write tags", err);
        if (rc != SL_STORE_OK) {
            break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Writes <doc> as row <id> of <e> with its derived columns <d>, then its tags: an INSERT for a new
 * row, an UPDATE of the existing one. Both statements bind the same parameters in the same order
 * (doc, created_at, the derived columns, id). */
static enum sl_store_rc
put_row(struct sqlite_store *s, const struct sl_store_entity *e, const char *id, json_t *doc,
        const struct derived *d, bool insert, struct sl_store_err *err)
{
    struct sqlbuf b = {0};
    sqlite3_stmt *st;
    enum sl_store_rc rc;
    char *text = json_dumps(doc, JSON_COMPACT);
    const json_t *ca = json_object_get(doc, "created_at");

    if (insert) {
        sl_sqlite_buf_printf(&b, "INSERT INTO \"%s\" (doc, created_at", e->name);
        derived_cols(&b, e, "");
        sl_sqlite_buf_printf(&b, ", id) VALUES (?, ?");
        for (size_t i = 0; i < derived_count(e); i++) {
            sl_sqlite_buf_printf(&b, ", ?");
        }
        sl_sqlite_buf_printf(&b, ", ?)");
    } else {
        sl_sqlite_buf_printf(&b, "UPDATE \"%s\" SET doc = ?, created_at = ?", e->name);
        derived_cols(&b, e, " = ?");
        sl_sqlite_buf_printf(&b, " WHERE id = ?");
    }
    if (b.oom || text == NULL) {
        rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
        goto out;
    }
    rc = sl_sqlite_prepare(s, b.p, &st, err);
    if (rc != SL_STORE_OK) {
        goto out;
    }
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    if (json_is_number(ca)) {
        sqlite3_bind_double(st, 2, json_number_value(ca));
    }
    int p = bind_derived(st, 3, e, d);
    sqlite3_bind_text(st, p, id, -1, SQLITE_STATIC);
    rc = step_done(s, st, insert ? "cannot insert row" : "cannot update row", err);
    sqlite3_finalize(st);
    if (rc == SL_STORE_OK) {
        rc = write_tags(s, e, id, doc, err);
    }
out:
    free(text);
    sl_sqlite_buf_free(&b);
    return rc;
}

enum sl_store_rc
sl_sqlite_write_columns(struct sqlite_store *s, const struct sl_store_entity *e, const char *id,
                        json_t *doc, struct sl_store_err *err)
{
    struct derived d;
    enum sl_store_rc rc = derive(e, doc, &d, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    rc = put_row(s, e, id, doc, &d, false, err);
    derived_free(&d);
    return rc;
}

/* Every public call checks its entity is one a migration created. */
static enum sl_store_rc
known(struct sqlite_store *s, const struct sl_store_entity *e, struct sl_store_err *err)
{
    if (e == NULL || e->name == NULL || sl_sqlite_entity(s, e->name) == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "unknown entity '%s'",
                                e != NULL && e->name != NULL ? e->name : "(null)");
    }
    return SL_STORE_OK;
}

static enum sl_store_rc
do_insert(struct sqlite_store *s, const struct sl_store_entity *e, json_t *row,
          struct sl_store_err *err)
{
    const char *id = json_string_value(json_object_get(row, "id"));
    struct derived d;
    enum sl_store_rc rc = SL_STORE_OK;

    if (id == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "a '%s' entity has no id", e->name);
    }
    if (row_exists(s, e->name, id, &rc, err)) {
        sl_store_err_set(err, SL_STORE_PRIMARY_KEY_VIOLATION,
                         "primary key violation on key '{id=\"%s\"}'", id);
        err->fields = json_pack("{ss}", "id", id);
        return SL_STORE_PRIMARY_KEY_VIOLATION;
    }
    if (rc != SL_STORE_OK || (rc = derive(e, row, &d, err)) != SL_STORE_OK) {
        return rc;
    }
    rc = check_row(s, e, id, row, &d, err);
    if (rc == SL_STORE_OK) {
        rc = put_row(s, e, id, row, &d, true, err);
    }
    derived_free(&d);
    return rc;
}

enum sl_store_rc
sl_sqlite_insert(struct sl_store *base, const struct sl_store_entity *e, json_t *row,
                 struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc = known(s, e, err);

    if (rc != SL_STORE_OK) {
        return rc;
    }
    if (!json_is_object(row)) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "a '%s' row must be an object", e->name);
    }
    rc = sl_sqlite_write_begin(s, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    return sl_sqlite_write_end(s, do_insert(s, e, row, err), err);
}

/* Runs <sql> with one bound text parameter and returns the first row's document. */
static enum sl_store_rc
select_one(struct sqlite_store *s, const char *sql, const char *param, json_t **out,
           struct sl_store_err *err)
{
    sqlite3_stmt *st;
    enum sl_store_rc rc;

    *out = NULL;
    rc = sl_sqlite_prepare(s, sql, &st, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        json_error_t je;
        *out = json_loads((const char *)sqlite3_column_text(st, 0), 0, &je);
        if (*out == NULL) {
            rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "corrupt document in database '%s'",
                                  s->path);
        }
    } else if (r == SQLITE_DONE) {
        rc = sl_store_err_set(err, SL_STORE_NOT_FOUND, NULL);
    } else {
        rc = sl_sqlite_db_error(s, "select failed", err);
    }
    sqlite3_finalize(st);
    return rc;
}

static enum sl_store_rc
select_col(struct sqlite_store *s, const struct sl_store_entity *e, const char *col,
           const char *val, json_t **out, struct sl_store_err *err)
{
    struct sqlbuf b = {0};
    enum sl_store_rc rc;

    *out = NULL;
    rc = known(s, e, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    if (val == NULL) {
        return sl_store_err_set(err, SL_STORE_NOT_FOUND, NULL);
    }
    sl_sqlite_buf_printf(&b, "SELECT doc FROM \"%s\" WHERE \"%s\" = ?", e->name, col);
    rc = b.oom ? sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory")
               : select_one(s, b.p, val, out, err);
    sl_sqlite_buf_free(&b);
    return rc;
}

enum sl_store_rc
sl_sqlite_select(struct sl_store *base, const struct sl_store_entity *e, const char *id,
                 json_t **out, struct sl_store_err *err)
{
    return select_col((struct sqlite_store *)base, e, "id", id, out, err);
}

enum sl_store_rc
sl_sqlite_select_by(struct sl_store *base, const struct sl_store_entity *e, const char *field,
                    const char *value, json_t **out, struct sl_store_err *err)
{
    char col[64];

    *out = NULL;
    for (size_t i = 0; field != NULL && i < SL_STORE_MAX_UNIQUE && e->unique[i] != NULL; i++) {
        if (strcmp(e->unique[i], field) == 0) {
            snprintf(col, sizeof(col), "u_%s", field);
            return select_col((struct sqlite_store *)base, e, col, value, out, err);
        }
    }
    return sl_store_err_set(err, SL_STORE_DB_ERROR, "'%s' is not a unique field of '%s'",
                            field != NULL ? field : "(null)", e->name);
}

enum sl_store_rc
sl_sqlite_select_group(struct sl_store *base, const struct sl_store_entity *e, size_t group,
                       const json_t *probe, json_t **out, struct sl_store_err *err)
{
    char col[32];
    bool oom = false;
    char *key;
    enum sl_store_rc rc;

    *out = NULL;
    if (group >= SL_STORE_MAX_GROUPS || e->groups[group].fields[0] == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "'%s' has no unique group %zu", e->name,
                                group);
    }
    key = group_text(e, group, probe, &oom);
    if (key == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    snprintf(col, sizeof(col), "g%zu", group);
    rc = select_col((struct sqlite_store *)base, e, col, key, out, err);
    free(key);
    return rc;
}

static enum sl_store_rc
do_update(struct sqlite_store *s, const struct sl_store_entity *e, const char *id, json_t *row,
          struct sl_store_err *err)
{
    struct derived d;
    enum sl_store_rc rc = SL_STORE_OK;

    if (!row_exists(s, e->name, id, &rc, err)) {
        return rc != SL_STORE_OK ? rc : sl_store_err_set(err, SL_STORE_NOT_FOUND, NULL);
    }
    rc = derive(e, row, &d, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    rc = check_row(s, e, id, row, &d, err);
    derived_free(&d);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    return sl_sqlite_write_columns(s, e, id, row, err);
}

enum sl_store_rc
sl_sqlite_update(struct sl_store *base, const struct sl_store_entity *e, const char *id,
                 json_t *row, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc = known(s, e, err);

    if (rc != SL_STORE_OK) {
        return rc;
    }
    if (!json_is_object(row) || id == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "a '%s' row must be an object with an id",
                                e->name);
    }
    if (json_object_set_new(row, "id", json_string(id)) != 0) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    /* <id> may have been the row's own "id" string, which the line above just freed: from here
     * on the row's copy is used. */
    id = json_string_value(json_object_get(row, "id"));
    rc = sl_sqlite_write_begin(s, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    return sl_sqlite_write_end(s, do_update(s, e, id, row, err), err);
}

/* The ids of <child>'s rows whose foreign column <col> is <parent_id>, as a JSON array. */
static enum sl_store_rc
children(struct sqlite_store *s, const struct sl_store_entity *child, const char *field,
         const char *parent_id, size_t limit, json_t **ids, struct sl_store_err *err)
{
    struct sqlbuf b = {0};
    sqlite3_stmt *st;
    enum sl_store_rc rc;
    int r;

    *ids = json_array();
    sl_sqlite_buf_printf(&b, "SELECT id FROM \"%s\" WHERE \"f_%s\" = ? ORDER BY id LIMIT %zu",
                         child->name, field, limit);
    if (b.oom || *ids == NULL) {
        sl_sqlite_buf_free(&b);
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    rc = sl_sqlite_prepare(s, b.p, &st, err);
    sl_sqlite_buf_free(&b);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, parent_id, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(*ids, json_string((const char *)sqlite3_column_text(st, 0)));
    }
    if (r != SQLITE_DONE) {
        rc = sl_sqlite_db_error(s, "cannot read references", err);
    }
    sqlite3_finalize(st);
    return rc;
}

static enum sl_store_rc
delete_rec(struct sqlite_store *s, const struct sl_store_entity *e, const char *id, int depth,
           struct sl_store_err *err)
{
    enum sl_store_rc rc = SL_STORE_OK;
    sqlite3_stmt *st;

    if (depth > MAX_CASCADE_DEPTH) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "cascade too deep deleting '%s'", e->name);
    }
    /* Restrictions first, so nothing is touched when the delete is refused. */
    for (size_t n = 0; n < s->nents; n++) {
        const struct sl_store_entity *c = s->ents[n];
        for (size_t i = 0; i < SL_STORE_MAX_FOREIGN && c->foreign[i].field != NULL; i++) {
            json_t *ids;
            if (strcmp(c->foreign[i].entity, e->name) != 0 ||
                c->foreign[i].on_delete != SL_STORE_ON_DELETE_RESTRICT) {
                continue;
            }
            rc = children(s, c, c->foreign[i].field, id, 1, &ids, err);
            size_t found = json_array_size(ids);
            json_decref(ids);
            if (rc != SL_STORE_OK) {
                return rc;
            }
            if (found > 0) {
                sl_store_err_set(err, SL_STORE_FOREIGN_KEY_VIOLATION,
                                 "an existing '%s' entity references this '%s' entity", c->name,
                                 e->name);
                err->fields = json_pack("{ss}", "@referenced_by", c->name);
                err->entity = c->name;
                return SL_STORE_FOREIGN_KEY_VIOLATION;
            }
        }
    }
    for (size_t n = 0; rc == SL_STORE_OK && n < s->nents; n++) {
        const struct sl_store_entity *c = s->ents[n];
        for (size_t i = 0; rc == SL_STORE_OK && i < SL_STORE_MAX_FOREIGN && c->foreign[i].field;
             i++) {
            const struct sl_store_foreign *f = &c->foreign[i];
            json_t *ids, *v;
            size_t k;
            if (strcmp(f->entity, e->name) != 0 || f->on_delete == SL_STORE_ON_DELETE_RESTRICT) {
                continue;
            }
            rc = children(s, c, f->field, id, (size_t)-1 >> 1, &ids, err);
            json_array_foreach(ids, k, v)
            {
                const char *cid = json_string_value(v);
                if (rc != SL_STORE_OK || cid == NULL) {
                    break;
                }
                if (f->on_delete == SL_STORE_ON_DELETE_CASCADE) {
                    rc = delete_rec(s, c, cid, depth + 1, err);
                } else {
                    json_t *doc;
                    rc = sl_sqlite_select(&s->base, c, cid, &doc, err);
                    if (rc == SL_STORE_OK) {
                        json_object_set_new(doc, f->field, json_null());
                        rc = sl_sqlite_write_columns(s, c, cid, doc, err);
                        json_decref(doc);
                    }
                }
            }
            json_decref(ids);
        }
    }
    if (rc != SL_STORE_OK) {
        return rc;
    }
    rc = sl_sqlite_preparef(s, &st, err, "DELETE FROM \"%s\" WHERE id = ?", e->name);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = step_done(s, st, "cannot delete row", err);
    sqlite3_finalize(st);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    rc = sl_sqlite_prepare(s, "DELETE FROM tags WHERE entity = ? AND id = ?", &st, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    rc = step_done(s, st, "cannot delete tags", err);
    sqlite3_finalize(st);
    return rc;
}

enum sl_store_rc
sl_sqlite_delete(struct sl_store *base, const struct sl_store_entity *e, const char *id,
                 struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    enum sl_store_rc rc = known(s, e, err);

    if (rc != SL_STORE_OK) {
        return rc;
    }
    if (id == NULL) {
        return sl_store_err_set(err, SL_STORE_NOT_FOUND, NULL);
    }
    rc = sl_sqlite_write_begin(s, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    if (!row_exists(s, e->name, id, &rc, err)) {
        if (rc == SL_STORE_OK) {
            rc = sl_store_err_set(err, SL_STORE_NOT_FOUND, NULL);
        }
        return sl_sqlite_write_end(s, rc, err);
    }
    return sl_sqlite_write_end(s, rc != SL_STORE_OK ? rc : delete_rec(s, e, id, 0, err), err);
}

enum sl_store_rc
sl_sqlite_page(struct sl_store *base, const struct sl_store_entity *e,
               const struct sl_store_page_query *q, struct sl_store_page *out,
               struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct sqlbuf b = {0};
    sqlite3_stmt *st = NULL;
    char *after = NULL;
    size_t size, n = 0;
    int p = 1, r;
    enum sl_store_rc rc;
    char *last = NULL; /* id of the last row returned: the next token's key */

    out->rows = NULL;
    out->next_offset = NULL;
    rc = known(s, e, err);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    size = q->size == 0 ? SL_STORE_PAGE_DEFAULT : q->size;
    size = size > SL_STORE_PAGE_MAX ? SL_STORE_PAGE_MAX : size;
    if (q->ntags > SL_STORE_MAX_TAGS || (q->ntags > 0 && (!e->tags || q->tags == NULL))) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "invalid tag filter on '%s'", e->name);
    }
    if (q->foreign_field != NULL &&
        (foreign_of(e, q->foreign_field) == NULL || q->foreign_id == NULL)) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "'%s' is not a foreign field of '%s'",
                                q->foreign_field, e->name);
    }
    if (q->offset != NULL) {
        rc = sl_store_offset_decode(q->offset, &after, err);
        if (rc != SL_STORE_OK) {
            return rc;
        }
    }
    sl_sqlite_buf_printf(&b, "SELECT id, doc FROM \"%s\" WHERE 1", e->name);
    if (after != NULL) {
        sl_sqlite_buf_printf(&b, " AND id > ?");
    }
    if (q->foreign_field != NULL) {
        sl_sqlite_buf_printf(&b, " AND \"f_%s\" = ?", q->foreign_field);
    }
    if (q->ntags > 0) {
        sl_sqlite_buf_printf(&b, " AND id IN (SELECT id FROM tags WHERE entity = ? AND tag IN (?");
        for (size_t i = 1; i < q->ntags; i++) {
            sl_sqlite_buf_printf(&b, ", ?");
        }
        sl_sqlite_buf_printf(&b, ")");
        if (q->tags_op == SL_STORE_TAGS_AND) {
            sl_sqlite_buf_printf(&b, " GROUP BY id HAVING count(DISTINCT tag) = %zu", q->ntags);
        }
        sl_sqlite_buf_printf(&b, ")");
    }
    /* One row more than asked tells whether a next page exists (Kong: next is null on the
     * last page). */
    sl_sqlite_buf_printf(&b, " ORDER BY id LIMIT %zu", size + 1);
    out->rows = json_array();
    if (b.oom || out->rows == NULL) {
        rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
        goto out;
    }
    rc = sl_sqlite_prepare(s, b.p, &st, err);
    if (rc != SL_STORE_OK) {
        goto out;
    }
    if (after != NULL) {
        sqlite3_bind_text(st, p++, after, -1, SQLITE_STATIC);
    }
    if (q->foreign_field != NULL) {
        sqlite3_bind_text(st, p++, q->foreign_id, -1, SQLITE_STATIC);
    }
    if (q->ntags > 0) {
        sqlite3_bind_text(st, p++, e->name, -1, SQLITE_STATIC);
        for (size_t i = 0; i < q->ntags; i++) {
            sqlite3_bind_text(st, p++, q->tags[i], -1, SQLITE_STATIC);
        }
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == size) {
            out->next_offset = sl_store_offset_encode(last);
            if (out->next_offset == NULL) {
                rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
            }
            break;
        }
        json_t *doc = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        if (doc == NULL) {
            rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "corrupt document in database '%s'",
                                  s->path);
            break;
        }
        json_array_append_new(out->rows, doc);
        free(last);
        last = strdup((const char *)sqlite3_column_text(st, 0));
        if (last == NULL) {
            rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
            break;
        }
        n++;
    }
    if (rc == SL_STORE_OK && r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = sl_sqlite_db_error(s, "page failed", err);
    }
out:
    sqlite3_finalize(st);
    sl_sqlite_buf_free(&b);
    free(after);
    free(last);
    if (rc != SL_STORE_OK) {
        sl_store_page_free(out);
    }
    return rc;
}

enum sl_store_rc
sl_sqlite_count(struct sl_store *base, const struct sl_store_entity *e, size_t *n,
                struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st;
    enum sl_store_rc rc = known(s, e, err);

    *n = 0;
    if (rc != SL_STORE_OK) {
        return rc;
    }
    rc = sl_sqlite_preparef(s, &st, err, "SELECT count(*) FROM \"%s\"", e->name);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n = (size_t)sqlite3_column_int64(st, 0);
    } else {
        rc = sl_sqlite_db_error(s, "count failed", err);
    }
    sqlite3_finalize(st);
    return rc;
}

enum sl_store_rc
sl_sqlite_for_each(struct sl_store *base, const struct sl_store_entity *e, sl_store_row_fn fn,
                   void *ud, struct sl_store_err *err)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st;
    enum sl_store_rc rc = known(s, e, err);
    int r;

    if (rc != SL_STORE_OK) {
        return rc;
    }
    rc = sl_sqlite_preparef(s, &st, err, "SELECT doc FROM \"%s\" ORDER BY id", e->name);
    if (rc != SL_STORE_OK) {
        return rc;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        if (doc == NULL) {
            rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "corrupt document in database '%s'",
                                  s->path);
            break;
        }
        int stop = fn(ud, doc);
        json_decref(doc);
        if (stop != 0) {
            break;
        }
    }
    if (rc == SL_STORE_OK && r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = sl_sqlite_db_error(s, "read failed", err);
    }
    sqlite3_finalize(st);
    return rc;
}
