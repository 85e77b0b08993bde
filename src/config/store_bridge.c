/* SPDX-License-Identifier: Apache-2.0 */
/* Store ↔ configuration (store_bridge.h). Snapshots are compiled from the mirror of the store's
 * rows; the declarative loader is only used for files and POST /config, where input is untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/declarative.h"
#include "config/entity_build.h"
#include "config/store_bridge.h"
#include "sluice/log.h"

/* ---- the mirror ------------------------------------------------------------------------------ */

/* The tables compiled into snapshots. Upstreams: only their names (services naming one are
 * names_upstream); certificates and CA certificates: the PEM texts https services name. */
enum mirrored { M_SERVICES = 0, M_ROUTES, M_UPSTREAMS, M_CERTIFICATES, M_CA_CERTIFICATES, M_MAX };
static const char *const mirrored_names[M_MAX] = {"services", "routes", "upstreams", "certificates",
                                                  "ca_certificates"};

struct sl_config_mirror {
    json_t *tables[M_MAX]; /* id → stored row (complete entity) */
    bool loaded;
    uint64_t generation; /* the store's generation the rows match */
};

struct sl_config_mirror *
sl_config_mirror_new(void)
{
    struct sl_config_mirror *m = calloc(1, sizeof(*m));
    for (int t = 0; m != NULL && t < M_MAX; t++) {
        if ((m->tables[t] = json_object()) == NULL) {
            sl_config_mirror_free(m);
            return NULL;
        }
    }
    return m;
}

void
sl_config_mirror_free(struct sl_config_mirror *m)
{
    if (m != NULL) {
        for (int t = 0; t < M_MAX; t++) {
            json_decref(m->tables[t]);
        }
        free(m);
    }
}

void
sl_config_mirror_reset(struct sl_config_mirror *m)
{
    for (int t = 0; t < M_MAX; t++) {
        json_object_clear(m->tables[t]);
    }
    m->loaded = false;
}

static json_t *
table_of(struct sl_config_mirror *m, const char *entity)
{
    for (int t = 0; t < M_MAX; t++) {
        if (strcmp(entity, mirrored_names[t]) == 0) {
            return m->tables[t];
        }
    }
    return NULL;
}

static void
store_err(char *err, size_t errlen, const char *what, struct sl_store_err *serr)
{
    snprintf(err, errlen, "%s: %s", what, serr->message ? serr->message : "unknown error");
    sl_store_err_clear(serr);
}

static int
mirror_row(void *ud, json_t *row)
{
    const char *id = json_string_value(json_object_get(row, "id"));
    /* the store hands over a fresh document per row: keep it */
    return id == NULL || json_object_set(ud, id, row) != 0 ? -1 : 0;
}

static int
load_table(struct sl_config_mirror *m, struct sl_store *st, const char *entity, char *err,
           size_t errlen)
{
    const struct sl_store_entity *e = sl_store_core_entity(entity, strlen(entity));
    struct sl_store_err serr = {0};
    json_t *table = table_of(m, entity);
    json_object_clear(table);
    if (e == NULL) {
        snprintf(err, errlen, "reading %s from the store: unknown entity", entity);
        return -1;
    }
    if (sl_store_for_each(st, e, mirror_row, table, &serr) != SL_STORE_OK) {
        store_err(err, errlen, "reading the store", &serr);
        return -1;
    }
    return 0;
}

int
sl_config_mirror_load(struct sl_config_mirror *m, struct sl_store *st, char *err, size_t errlen)
{
    m->loaded = false;
    for (int t = 0; t < M_MAX; t++) {
        if (load_table(m, st, mirrored_names[t], err, errlen) < 0) {
            sl_config_mirror_reset(m);
            return -1;
        }
    }
    m->loaded = true;
    m->generation = st->generation;
    return 0;
}

int
sl_config_mirror_refresh(struct sl_config_mirror *m, struct sl_store *st, const char *entity,
                         const char *id, char *err, size_t errlen)
{
    json_t *table = table_of(m, entity);
    if (table == NULL || !m->loaded) {
        return 0; /* not compiled into snapshots, or reloaded as a whole at the next build */
    }
    const struct sl_store_entity *e = sl_store_core_entity(entity, strlen(entity));
    struct sl_store_err serr = {0};
    json_t *row = NULL;
    enum sl_store_rc rc = sl_store_select(st, e, id, &row, &serr);
    if (rc == SL_STORE_NOT_FOUND) {
        sl_store_err_clear(&serr);
        json_object_del(table, id);
        return 0;
    }
    if (rc != SL_STORE_OK || json_object_set_new(table, id, row) != 0) {
        store_err(err, errlen, "reading the store", &serr);
        sl_config_mirror_reset(m);
        return -1;
    }
    return 0;
}

bool
sl_config_mirror_unaffected(const struct sl_config_mirror *m, const struct sl_store *st,
                            const char *entity)
{
    return m->loaded && m->generation == st->generation &&
           table_of((struct sl_config_mirror *)m, entity) == NULL;
}

void
sl_config_mirror_committed(struct sl_config_mirror *m, const struct sl_store *st)
{
    m->generation = st->generation;
}

/* ---- compiling the mirror -------------------------------------------------------------------- */

struct keyed {
    const char *id;
    const json_t *row;
};

static int
keyed_cmp(const void *a, const void *b)
{
    return strcmp(((const struct keyed *)a)->id, ((const struct keyed *)b)->id);
}

/* The rows of <table> ordered by id: the order the store's reads use, so a configuration compiled
 * from the mirror is the one a restart compiles. malloc'd; NULL on ENOMEM (or an empty table). */
static struct keyed *
sorted_rows(const json_t *table, size_t *n)
{
    *n = json_object_size(table);
    struct keyed *v = malloc((*n ? *n : 1) * sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    size_t i = 0;
    const char *k;
    json_t *row;
    json_object_foreach((json_t *)table, k, row)
    {
        v[i++] = (struct keyed){k, row};
    }
    qsort(v, *n, sizeof(*v), keyed_cmp);
    return v;
}

static int
service_id_cmp(const void *key, const void *elem)
{
    return strcmp(key, (*(struct sl_service *const *)elem)->id);
}

static struct sl_config *
compile_rows(json_t *const tables[M_MAX], char *err, size_t errlen)
{
    const json_t *services = tables[M_SERVICES], *routes = tables[M_ROUTES];
    size_t ns, nr;
    struct keyed *srows = sorted_rows(services, &ns);
    struct keyed *rrows = sorted_rows(routes, &nr);
    struct sl_arena *arena = sl_arena_create(64 * 1024);
    struct sl_config *cfg = arena ? sl_arena_calloc(arena, 1, sizeof(*cfg)) : NULL;
    const char *bad = NULL;
    if (cfg == NULL || srows == NULL || rrows == NULL) {
        goto oom;
    }
    cfg->arena = arena;
    cfg->services = sl_arena_calloc(arena, ns ? ns : 1, sizeof(*cfg->services));
    cfg->routes = sl_arena_calloc(arena, nr ? nr : 1, sizeof(*cfg->routes));
    if (cfg->services == NULL || cfg->routes == NULL) {
        goto oom;
    }
    for (size_t i = 0; i < ns; i++) {
        struct sl_service *s = sl_config_build_service(arena, srows[i].row);
        if (s == NULL) {
            bad = srows[i].id;
            goto corrupt;
        }
        cfg->services[cfg->nservices++] = s; /* sorted by id: routes find theirs by bsearch */
    }
    for (size_t i = 0; i < nr; i++) {
        struct sl_route *r = sl_config_build_route(arena, rrows[i].row);
        if (r == NULL) {
            bad = rrows[i].id;
            goto corrupt;
        }
        const char *sid = sl_config_route_service_id(rrows[i].row);
        struct sl_service **s = sid ? bsearch(sid, cfg->services, cfg->nservices,
                                              sizeof(*cfg->services), service_id_cmp)
                                    : NULL;
        r->service = s ? *s : NULL; /* a route without a service answers 503 (Kong) */
        cfg->routes[cfg->nroutes++] = r;
    }
    if (sl_config_mark_upstream_hosts(cfg, tables[M_UPSTREAMS]) < 0 ||
        sl_config_attach_tls_material(cfg, tables[M_CERTIFICATES], tables[M_CA_CERTIFICATES]) < 0) {
        goto oom;
    }
    free(srows);
    free(rrows);
    return cfg;

corrupt:
    snprintf(err, errlen, "the store holds an entity that cannot be compiled (id %s)", bad);
    goto fail;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(srows);
    free(rrows);
    sl_arena_destroy(arena);
    return NULL;
}

struct sl_config *
sl_config_mirror_build(struct sl_config_mirror *m, struct sl_store *st, char *err, size_t errlen)
{
    if (m->loaded && m->generation != st->generation) {
        sl_log(SL_LOG_INFO,
               "store mirror: the store changed outside this node's writes "
               "(generation %llu, mirror %llu): reloading every row",
               (unsigned long long)st->generation, (unsigned long long)m->generation);
    }
    if ((!m->loaded || m->generation != st->generation) &&
        sl_config_mirror_load(m, st, err, errlen) < 0) {
        return NULL;
    }
    return compile_rows(m->tables, err, errlen);
}

struct sl_config *
sl_config_from_store(struct sl_store *st, char *err, size_t errlen)
{
    struct sl_config_mirror *m = sl_config_mirror_new();
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct sl_config *cfg = sl_config_mirror_build(m, st, err, errlen);
    sl_config_mirror_free(m);
    return cfg;
}

/* ---- export and import ----------------------------------------------------------------------- */

/* The core tables in Kong's topological order (kong/db/schema/topological_sort.lua: a referenced
 * table first, alphabetical otherwise): the order of the export and of the import's inserts. */
static const char *const io_tables[] = {
    "ca_certificates", "certificates", "consumers", "services", "routes",
    "plugins",         "snis",         "upstreams", "targets",
};
#define NIO_TABLES (sizeof(io_tables) / sizeof(io_tables[0]))

struct collect {
    json_t *array;
    const struct sl_store_entity *e;
};

/* Kong's export (kong/db/declarative/export.lua): the row as the store holds it, nulls included,
 * with each foreign key written as the referenced id alone. */
static void
export_foreign_keys(const struct sl_store_entity *e, json_t *row)
{
    for (const struct sl_store_foreign *f = e->foreign; f->field != NULL; f++) {
        json_t *id = json_object_get(json_object_get(row, f->field), "id");
        if (json_is_string(id)) {
            json_object_set(row, f->field, id);
        }
    }
}

static int
collect_row(void *ud, json_t *row)
{
    struct collect *c = ud;
    export_foreign_keys(c->e, row);
    return json_array_append(c->array, row) == 0 ? 0 : -1;
}

static json_t *
export_header(void)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "_format_version", json_string("3.0"));
    /* the rows are complete entities: nothing to transform again when they are loaded back */
    json_object_set_new(doc, "_transform", json_false());
    return doc;
}

json_t *
sl_config_export_rows(json_t *rows)
{
    json_t *doc = export_header();
    for (size_t i = 0; doc != NULL && i < NIO_TABLES; i++) {
        json_t *table = json_object_get(rows, io_tables[i]);
        const struct sl_store_entity *e = sl_store_core_entity(io_tables[i], strlen(io_tables[i]));
        if (e == NULL || json_array_size(table) == 0) {
            continue; /* as Kong's emitter, a table without rows is left out */
        }
        /* in place: at 100k routes a copy of every row would double the export's memory */
        size_t j;
        json_t *row;
        json_array_foreach(table, j, row)
        {
            export_foreign_keys(e, row);
        }
        json_object_set(doc, io_tables[i], table);
    }
    return doc;
}

static int
collect_entity(struct sl_store *st, const char *name, json_t *doc, char *err, size_t errlen)
{
    const struct sl_store_entity *e = sl_store_core_entity(name, strlen(name));
    struct collect c = {json_array(), e};
    struct sl_store_err serr = {0};
    if (e == NULL || c.array == NULL ||
        sl_store_for_each(st, e, collect_row, &c, &serr) != SL_STORE_OK) {
        snprintf(err, errlen, "reading %s from the store: %s", name,
                 serr.message ? serr.message : "unknown entity");
        sl_store_err_clear(&serr);
        json_decref(c.array);
        return -1;
    }
    /* as Kong's emitter, a table without rows is left out */
    if (json_array_size(c.array) == 0) {
        json_decref(c.array);
        return 0;
    }
    return json_object_set_new(doc, name, c.array);
}

json_t *
sl_config_store_export(struct sl_store *st, char *err, size_t errlen)
{
    json_t *doc = export_header();
    for (size_t i = 0; i < NIO_TABLES; i++) {
        if (collect_entity(st, io_tables[i], doc, err, errlen) < 0) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

/* Kong's load_into_db upserts every entity by its primary key (kong/db/declarative/import.lua):
 * a row whose id is stored replaces it whole, as Kong's `ON CONFLICT (id) DO UPDATE` sets every
 * column, so importing the same file twice leaves one copy and an edited field is updated. A
 * unique field held by another id is still a unique violation. The insert comes first: it is the
 * common case (a new database), and it refuses a stored id before writing anything. */
static enum sl_store_rc
upsert_row(struct sl_store *st, const struct sl_store_entity *e, json_t *row,
           struct sl_store_err *serr)
{
    enum sl_store_rc rc = sl_store_insert(st, e, row, serr);
    if (rc != SL_STORE_PRIMARY_KEY_VIOLATION) {
        return rc;
    }
    sl_store_err_clear(serr);
    /* held: update sets the row's "id" member again, which frees the string it was given */
    json_t *id = json_incref(json_object_get(row, "id"));
    rc = sl_store_update(st, e, json_string_value(id), row, serr);
    json_decref(id);
    return rc;
}

/* Upserts the rows of table <name>; -1 with the store's message for the first failure. */
static int
upsert_rows(struct sl_store *st, const char *name, const json_t *rows, char *err, size_t errlen)
{
    const struct sl_store_entity *e = sl_store_core_entity(name, strlen(name));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        struct sl_store_err serr = {0};
        enum sl_store_rc rc = e ? upsert_row(st, e, row, &serr) : SL_STORE_DB_ERROR;
        if (rc != SL_STORE_OK) {
            snprintf(err, errlen, "in '%s': %s", name,
                     serr.message ? serr.message : sl_store_rc_name(rc));
            sl_store_err_clear(&serr);
            return -1;
        }
    }
    return 0;
}

int
sl_config_store_import(struct sl_store *st, const json_t *rows, char *err, size_t errlen)
{
    struct sl_store_err serr = {0};
    if (sl_store_begin(st, &serr) != SL_STORE_OK) {
        snprintf(err, errlen, "%s", serr.message ? serr.message : "cannot begin a transaction");
        sl_store_err_clear(&serr);
        return -1;
    }
    for (size_t i = 0; i < NIO_TABLES; i++) {
        const json_t *t = json_object_get(rows, io_tables[i]);
        if (t != NULL && upsert_rows(st, io_tables[i], t, err, errlen) < 0) {
            sl_store_rollback(st, &serr);
            sl_store_err_clear(&serr);
            return -1;
        }
    }
    if (sl_store_commit(st, &serr) != SL_STORE_OK) {
        snprintf(err, errlen, "%s", serr.message ? serr.message : "commit failed");
        sl_store_err_clear(&serr);
        return -1;
    }
    return 0;
}
