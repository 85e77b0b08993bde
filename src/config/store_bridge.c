/* SPDX-License-Identifier: Apache-2.0 */
/* Store ↔ configuration (store_bridge.h). The store's documents are Kong-shaped entities, so a
 * snapshot is compiled by handing them to the declarative loader: one validation path for files,
 * /config and the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/declarative.h"
#include "config/render.h"
#include "config/store_bridge.h"

struct collect {
    json_t *array;
};

static int
collect_row(void *ud, json_t *row)
{
    struct collect *c = ud;
    json_t *copy = json_incref(row); /* the store hands over a fresh document per row */
    const char *key;
    json_t *v;
    void *tmp;
    /* Nulls are "unset": the declarative format leaves them out. */
    json_object_foreach_safe(copy, tmp, key, v)
    {
        if (json_is_null(v)) {
            json_object_del(copy, key);
        }
    }
    json_array_append_new(c->array, copy);
    return 0;
}

static int
collect_entity(struct sl_store *st, const char *name, json_t *doc, char *err, size_t errlen)
{
    const struct sl_store_entity *e = sl_store_core_entity(name, strlen(name));
    struct collect c = {json_array()};
    struct sl_store_err serr = {0};
    if (e == NULL || sl_store_for_each(st, e, collect_row, &c, &serr) != SL_STORE_OK) {
        snprintf(err, errlen, "reading %s from the store: %s", name,
                 serr.message ? serr.message : "unknown entity");
        sl_store_err_clear(&serr);
        json_decref(c.array);
        return -1;
    }
    json_object_set_new(doc, name, c.array);
    return 0;
}

json_t *
sl_config_store_export(struct sl_store *st, char *err, size_t errlen)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "_format_version", json_string("3.0"));
    if (collect_entity(st, "services", doc, err, errlen) < 0 ||
        collect_entity(st, "routes", doc, err, errlen) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

struct sl_config *
sl_config_from_store(struct sl_store *st, char *err, size_t errlen)
{
    json_t *doc = sl_config_store_export(st, err, errlen);
    if (doc == NULL) {
        return NULL;
    }
    struct sl_config *cfg = sl_declarative_load_json(doc, NULL, err, errlen);
    json_decref(doc);
    return cfg;
}

static int
insert_all(struct sl_store *st, const char *entity, json_t *(*render)(const void *),
           void *const *items, size_t n, char *err, size_t errlen)
{
    const struct sl_store_entity *e = sl_store_core_entity(entity, strlen(entity));
    for (size_t i = 0; i < n; i++) {
        json_t *row = render(items[i]);
        struct sl_store_err serr = {0};
        enum sl_store_rc rc = sl_store_insert(st, e, row, &serr);
        json_decref(row);
        if (rc != SL_STORE_OK) {
            snprintf(err, errlen, "%s", serr.message ? serr.message : sl_store_rc_name(rc));
            sl_store_err_clear(&serr);
            return -1;
        }
    }
    return 0;
}

static json_t *
render_service(const void *p)
{
    return sl_config_render_service(p);
}

static json_t *
render_route(const void *p)
{
    return sl_config_render_route(p);
}

int
sl_config_store_import(struct sl_store *st, const struct sl_config *cfg, char *err, size_t errlen)
{
    struct sl_store_err serr = {0};
    if (sl_store_begin(st, &serr) != SL_STORE_OK) {
        snprintf(err, errlen, "%s", serr.message ? serr.message : "cannot begin a transaction");
        sl_store_err_clear(&serr);
        return -1;
    }
    if (insert_all(st, "services", render_service, (void *const *)cfg->services, cfg->nservices,
                   err, errlen) < 0 ||
        insert_all(st, "routes", render_route, (void *const *)cfg->routes, cfg->nroutes, err,
                   errlen) < 0) {
        sl_store_rollback(st, &serr);
        sl_store_err_clear(&serr);
        return -1;
    }
    if (sl_store_commit(st, &serr) != SL_STORE_OK) {
        snprintf(err, errlen, "%s", serr.message ? serr.message : "commit failed");
        sl_store_err_clear(&serr);
        return -1;
    }
    return 0;
}
