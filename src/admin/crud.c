/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's generic entity endpoints (kong.md §2.1) over the store, validated by the schema engine:
 * list/create, get/put/patch/delete by id or endpoint key, nested parent paths and parent-through-
 * child paths. Every write runs in one store transaction together with the compilation of the new
 * snapshot, which is published only after the commit: a write the data plane cannot run is refused
 * and changes nothing, and the response is sent after the new snapshot serves (read-your-writes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/admin.h"
#include "admin/internal.h"
#include "core/clock.h"
#include "config/snapshot.h"
#include "config/store_bridge.h"
#include "schema/errors.h"
#include "schema/schema.h"
#include "sluice/log.h"
#include "store/store.h"

struct entity {
    const struct sl_schema *schema;
    const struct sl_store_entity *store;
    const struct sl_admin_hooks *hooks; /* entity specifics (hooks.c), or NULL */
    const char *url_key;                /* the non-UUID URL key its id was resolved from */
};

static bool
find_entity(const char *name, struct entity *out)
{
    out->schema = sl_schema_find(name);
    out->store = sl_store_core_entity(name, strlen(name));
    out->hooks = sl_admin_hooks_find(name);
    out->url_key = NULL;
    return out->schema != NULL && out->store != NULL;
}

/* The entity's computed members (a certificate's snis) on a row about to be returned. */
static bool
decorate(struct sl_store *st, const struct entity *e, json_t *row, struct sl_admin_response *res)
{
    if (e->hooks != NULL && e->hooks->decorate != NULL && !e->hooks->decorate(st, row)) {
        sl_admin_message(res, 500, "An unexpected error occurred");
        return false;
    }
    return true;
}

/* The foreign field of <child> that references <parent>, or NULL. */
static const char *
foreign_to(const struct entity *child, const char *parent)
{
    for (const struct sl_store_foreign *f = child->store->foreign; f->field != NULL; f++) {
        if (strcmp(f->entity, parent) == 0) {
            return f->field;
        }
    }
    return NULL;
}

static void
store_error(struct sl_admin_response *res, enum sl_store_rc rc, struct sl_store_err *err)
{
    if (rc == SL_STORE_NOT_FOUND) {
        sl_admin_message(res, 404, "Not found");
    } else if (rc == SL_STORE_DB_ERROR) {
        sl_log(SL_LOG_ERR, "admin: store error: %s", err->message ? err->message : "?");
        sl_admin_message(res, 500, "An unexpected error occurred");
    } else {
        int code = sl_store_rc_kong_code(rc);
        res->status = sl_err_http_status((enum sl_err_code)code);
        res->body = json_pack("{s:i,s:s,s:s}", "code", code, "name", sl_store_rc_name(rc),
                              "message", err->message ? err->message : sl_store_rc_name(rc));
        if (err->fields != NULL) {
            json_object_set(res->body, "fields", err->fields);
        }
    }
    sl_store_err_clear(err);
}

/* Looks an entity up by id or by its endpoint key. New reference or NULL. */
static json_t *
lookup(struct sl_store *st, const struct entity *e, const char *key)
{
    json_t *row = NULL;
    struct sl_store_err err = {0};
    if (sl_schema_is_uuid(key)) {
        sl_store_select(st, e->store, key, &row, &err);
    } else if (e->store->endpoint_key != NULL) {
        sl_store_select_by(st, e->store, e->store->endpoint_key, key, &row, &err);
    }
    sl_store_err_clear(&err);
    return row;
}

bool
sl_admin_check_unique_value(const struct sl_schema *schema, const char *field, const char *value,
                            struct sl_admin_response *res)
{
    const struct sl_field *f = sl_schema_field(schema, field);
    json_t *v = json_string(value);
    json_t *e = f != NULL && v != NULL ? sl_schema_validate_field(f, v) : NULL;
    json_decref(v);
    if (v != NULL && e == NULL) {
        return true;
    }
    char *text = e != NULL && !json_is_string(e) ? json_dumps(e, JSON_COMPACT) : NULL;
    const char *msg = json_is_string(e) ? json_string_value(e) : text ? text : "invalid value";
    res->status = sl_err_http_status(SL_ERR_INVALID_UNIQUE);
    res->body = json_pack("{s:i,s:s+,s:s}", "code", SL_ERR_INVALID_UNIQUE, "name",
                          "invalid unique ", field, "message", msg);
    free(text);
    json_decref(e);
    return false;
}

/* A URL key that is not a UUID names the entity by its endpoint key, which Kong's select_entity
 * looks up with select_by_<key>: validated first, so an invalid name is 400 code 10 rather than a
 * missing entity. False after filling <res>. */
static bool
check_url_key(const struct entity *e, const char *key, struct sl_admin_response *res)
{
    if (e->store->endpoint_key == NULL || sl_schema_is_uuid(key)) {
        return true;
    }
    return sl_admin_check_unique_value(e->schema, e->store->endpoint_key, key, res);
}

/* The methods /E/{e}, /E/{e}/f and /F/{f}/E/{e} serve; others answer 405 before any lookup. */
static bool
serves_one(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
           strcmp(m, "PATCH") == 0 || strcmp(m, "DELETE") == 0;
}

json_t *
sl_admin_read_body(const struct sl_admin_request *req, struct sl_admin_response *res,
                   const struct sl_schema *schema)
{
    const char *ct = req->content_type ? req->content_type : "";
    if (req->body_len == 0 && ct[0] == '\0') {
        return json_object();
    }
    if (strncasecmp(ct, "application/json", 16) == 0) {
        json_t *v = json_loadb(req->body, req->body_len, 0, NULL);
        if (!json_is_object(v)) {
            json_decref(v);
            sl_admin_message(res, 400, "Cannot parse JSON body");
            return NULL;
        }
        return v;
    }
    if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        if (sl_admin_count_args(req->body, req->body_len) > SL_ADMIN_MAX_ARGS) {
            sl_admin_message(res, 400, "Too many arguments");
            return NULL;
        }
        json_t *v = sl_admin_form_to_json(req->body, req->body_len);
        if (v == NULL) {
            sl_admin_message(res, 400, "Bad request");
            return NULL;
        }
        sl_schema_coerce_form(schema, v);
        return v;
    }
    if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        json_t *v = sl_admin_multipart_to_json(req->body, req->body_len, ct);
        if (v == NULL) {
            sl_admin_message(res, 400, "Bad request");
            return NULL;
        }
        sl_schema_coerce_form(schema, v);
        return v;
    }
    res->status = 415; /* Kong: empty body */
    return NULL;
}

static json_t *
read_body(const struct sl_admin_request *req, struct sl_admin_response *res, const struct entity *e)
{
    return sl_admin_read_body(req, res, e->schema);
}

static void
schema_error(struct sl_admin_response *res, json_t *fields)
{
    if (fields == NULL) {
        /* sl_schema_process gives no errors only when out of memory */
        sl_admin_message(res, 500, "An unexpected error occurred");
        return;
    }
    res->status = 400;
    res->body = sl_err_schema_violation(fields);
    json_decref(fields);
}

/* A message line of foreign_keys_unresolved, for sorting. */
static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Kong's resolve_foreign (kong/db/dao/init.lua), run before validation on insert, update and
 * upsert: a foreign value that carries no valid id but another unique key of the parent
 * (`"service": {"name": "svc"}`) is looked up and replaced by {"id": ...}; a key that names no
 * entity is Kong's 400 "foreign keys unresolved" (code 13). Members that fail the parent's own
 * field validation are not looked up: Kong reports them instead of "missing primary key", so they
 * go into <*bad> (field -> errors) for the caller to put in the schema violation. False after
 * filling <res>. */
static bool
resolve_foreign(struct sl_store *st, const struct entity *e, json_t *body, json_t **bad,
                struct sl_admin_response *res)
{
    json_t *unresolved = NULL;
    for (const struct sl_store_foreign *f = e->store->foreign; f->field != NULL; f++) {
        json_t *v = json_object_get(body, f->field);
        const char *id = json_string_value(json_object_get(v, "id"));
        struct entity pe;
        if (!json_is_object(v) || (id != NULL && sl_schema_is_uuid(id)) ||
            !find_entity(f->entity, &pe)) {
            continue;
        }
        json_t *ferrs = NULL;
        const char *k;
        json_t *kv;
        json_object_foreach(v, k, kv)
        {
            const struct sl_field *pf = sl_schema_field(pe.schema, k);
            json_t *fe = pf == NULL         ? json_string("unknown field")
                         : json_is_null(kv) ? NULL
                                            : sl_schema_validate_field(pf, kv);
            if (fe != NULL) {
                if (ferrs == NULL) {
                    ferrs = json_object();
                }
                json_object_set_new(ferrs, k, fe);
            }
        }
        if (ferrs != NULL) {
            if (*bad == NULL) {
                *bad = json_object();
            }
            json_object_set_new(*bad, f->field, ferrs);
            continue;
        }
        json_t *uerrs = NULL;
        for (const struct sl_field *pf = pe.schema->fields; pf->name != NULL; pf++) {
            bool key = pf->unique ||
                       (pe.schema->endpoint_key && strcmp(pe.schema->endpoint_key, pf->name) == 0);
            const char *val = json_string_value(json_object_get(v, pf->name));
            if (!key || val == NULL || strcmp(pf->name, "id") == 0) {
                continue;
            }
            json_t *row = NULL;
            struct sl_store_err err = {0};
            enum sl_store_rc rc = sl_store_select_by(st, pe.store, pf->name, val, &row, &err);
            if (rc != SL_STORE_OK && rc != SL_STORE_NOT_FOUND) {
                json_decref(uerrs);
                json_decref(unresolved);
                store_error(res, rc, &err);
                return false;
            }
            sl_store_err_clear(&err);
            if (row != NULL) {
                json_object_set_new(body, f->field,
                                    json_pack("{s:O}", "id", json_object_get(row, "id")));
                json_decref(row);
                break;
            }
            /* like Kong, an earlier miss stays an error even when a later key resolves */
            json_t *probe = json_pack("{s:s}", pf->name, val);
            char *pretty = sl_err_pretty(probe);
            json_decref(probe);
            if (uerrs == NULL) {
                uerrs = json_object();
            }
            json_object_set_new(uerrs, pf->name,
                                json_sprintf("the foreign key cannot be resolved with '%s' for an "
                                             "existing '%s' entity",
                                             pretty ? pretty : "", pe.schema->name));
            free(pretty);
        }
        if (uerrs != NULL) {
            if (unresolved == NULL) {
                unresolved = json_object();
            }
            json_object_set_new(unresolved, f->field, uerrs);
        }
    }
    if (unresolved == NULL) {
        return true;
    }
    /* "foreign key unresolved (service.name: ...)", or "N foreign keys unresolved (a; b)" */
    char *lines[64] = {0};
    size_t n = 0, total = 0;
    const char *fk, *sk;
    json_t *fv, *sv;
    json_object_foreach(unresolved, fk, fv)
    {
        json_object_foreach(fv, sk, sv)
        {
            if (n < sizeof(lines) / sizeof(lines[0])) {
                char *line = NULL;
                if (asprintf(&line, "%s.%s: %s", fk, sk, json_string_value(sv)) >= 0) {
                    lines[n++] = line;
                    total += strlen(line) + 2;
                }
            }
        }
    }
    qsort(lines, n, sizeof(lines[0]), cmp_str);
    char *joined = calloc(1, total + 1);
    for (size_t i = 0; joined != NULL && i < n; i++) {
        if (i > 0) {
            strcat(joined, "; ");
        }
        strcat(joined, lines[i]);
    }
    for (size_t i = 0; i < n; i++) {
        free(lines[i]);
    }
    res->status = 400;
    res->body = json_pack(
        "{s:i,s:s,s:o,s:o}", "code", 13, "name", "foreign keys unresolved", "message",
        n == 1 ? json_sprintf("foreign key unresolved (%s)", joined ? joined : "")
               : json_sprintf("%zu foreign keys unresolved (%s)", n, joined ? joined : ""),
        "fields", unresolved);
    free(joined);
    return false;
}

/* The schema violation of a write, with the foreign values resolve_foreign found invalid reported
 * by their own members (Kong validates them against the parent's schema). Takes <fields>. */
static void
write_schema_error(struct sl_admin_response *res, json_t *fields, const json_t *bad)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)bad, k, v)
    {
        if (json_object_get(fields, k) != NULL) {
            json_object_set(fields, k, v);
        }
    }
    schema_error(res, fields);
}

/* The copy of the store's data-plane rows snapshots are compiled from (store_bridge.h); owned by
 * the process (src/cli/process.c). NULL: every compilation reads the whole store. */
static struct sl_config_mirror *mirror;

void
sl_admin_set_mirror(struct sl_config_mirror *m)
{
    mirror = m;
}

/* Compiles the store (inside the open transaction) into a snapshot; NULL with <err>. */
static struct sl_snapshot *
compile(struct sl_store *st, char *err, size_t errlen)
{
    struct sl_config *cfg = mirror ? sl_config_mirror_build(mirror, st, err, errlen)
                                   : sl_config_from_store(st, err, errlen);
    return cfg ? sl_snapshot_build(cfg, err, errlen) : NULL;
}

int
sl_admin_republish(struct sl_store *st, char *err, size_t errlen)
{
    struct sl_snapshot *snap = compile(st, err, errlen);
    if (snap == NULL) {
        return -1;
    }
    sl_snapshot_publish(snap);
    return 0;
}

enum write_op { OP_INSERT = 0, OP_UPDATE, OP_DELETE, OP_MAX };

static const char *
req_method_name(enum write_op op)
{
    return op == OP_INSERT ? "insert" : op == OP_UPDATE ? "update" : "delete";
}

/* Runs one write (with the entity's own extra writes, e.g. a certificate's SNIs, from <extra>) and
 * the snapshot compilation in a transaction, commits, publishes. On failure fills <res> and
 * returns false; nothing is changed. */
static bool
write_and_publish(struct sl_store *st, const struct entity *e, enum write_op op, const char *id,
                  json_t *row, const json_t *extra, struct sl_admin_response *res)
{
    struct sl_store_err err = {0};
    enum sl_store_rc rc = sl_store_begin(st, &err);
    bool hook = e->hooks != NULL && e->hooks->write != NULL;
    if (rc == SL_STORE_OK && hook && op == OP_DELETE) {
        rc = e->hooks->write(st, true, id, NULL, &err);
    }
    if (rc == SL_STORE_OK) {
        rc = op == OP_INSERT   ? sl_store_insert(st, e->store, row, &err)
             : op == OP_UPDATE ? sl_store_update(st, e->store, id, row, &err)
                               : sl_store_delete(st, e->store, id, &err);
    }
    if (rc == SL_STORE_OK && hook && op != OP_DELETE) {
        rc = e->hooks->write(st, false, json_string_value(json_object_get(row, "id")), extra, &err);
    }
    if (rc != SL_STORE_OK) {
        struct sl_store_err rb = {0};
        sl_store_rollback(st, &rb);
        sl_store_err_clear(&rb);
        store_error(res, rc, &err);
        return false;
    }
    char msg[8192];
    uint64_t t0 = sl_clock_mono_us();
    const char *written = op == OP_DELETE ? id : json_string_value(json_object_get(row, "id"));
    /* A write the data plane does not read (a consumer, a certificate...) keeps the running
     * snapshot: nothing to compile, nothing to publish. */
    bool unaffected = mirror != NULL && sl_config_mirror_unaffected(mirror, st, e->schema->name);
    struct sl_snapshot *snap = NULL;
    if (!unaffected &&
        (mirror == NULL || written == NULL ||
         sl_config_mirror_refresh(mirror, st, e->schema->name, written, msg, sizeof(msg)) == 0)) {
        snap = compile(st, msg, sizeof(msg));
    }
    if (snap == NULL && !unaffected) {
        /* A write the data plane cannot compile is never stored. The mirror may hold the
         * rolled-back row: it reloads at the next compilation. */
        if (mirror != NULL) {
            sl_config_mirror_reset(mirror);
        }
        sl_store_rollback(st, &err);
        sl_store_err_clear(&err);
        res->status = 400;
        res->body =
            json_pack("{s:i,s:s,s:s}", "code", 2, "name", "schema violation", "message", msg);
        return false;
    }
    rc = sl_store_commit(st, &err);
    if (rc != SL_STORE_OK) {
        if (mirror != NULL) {
            sl_config_mirror_reset(mirror);
        }
        if (snap != NULL) {
            sl_snapshot_unref(snap);
        }
        store_error(res, rc, &err);
        return false;
    }
    if (mirror != NULL) {
        sl_config_mirror_committed(mirror, st);
    }
    if (snap != NULL) {
        size_t nroutes = snap->config->nroutes;
        sl_snapshot_publish(snap);
        sl_log(SL_LOG_INFO, "admin: %s %s: configuration with %zu routes recompiled in %.1f ms",
               req_method_name(op), e->schema->name, nroutes,
               (double)(sl_clock_mono_us() - t0) / 1000.0);
    }
    return true;
}

static void
list(const struct sl_admin_request *req, struct sl_admin_response *res, struct sl_store *st,
     const struct entity *e, const char *ffield, const char *fid, const char *base)
{
    struct sl_admin_list_query lq;
    if (!sl_admin_parse_list_query(req, &lq, res)) {
        return;
    }
    struct sl_store_page_query q = {
        .size = lq.size,
        .offset = lq.has_offset ? lq.offset : NULL,
        .tags = lq.ntags ? lq.tags : NULL,
        .ntags = lq.ntags,
        .tags_op = lq.tags_any ? SL_STORE_TAGS_OR : SL_STORE_TAGS_AND,
        .foreign_field = ffield,
        .foreign_id = fid,
    };
    struct sl_store_page page = {0};
    struct sl_store_err err = {0};
    enum sl_store_rc rc = sl_store_page(st, e->store, &q, &page, &err);
    if (rc != SL_STORE_OK) {
        store_error(res, rc, &err);
        return;
    }
    size_t i;
    json_t *row;
    json_array_foreach(page.rows, i, row)
    {
        if (!decorate(st, e, row, res)) {
            sl_store_page_free(&page);
            return;
        }
    }
    res->status = 200;
    res->body = json_pack("{s:O}", "data", page.rows);
    if (page.next_offset != NULL) {
        char next[2560];
        sl_admin_next_link(next, sizeof(next), base, page.next_offset, &lq);
        json_object_set_new(res->body, "offset", json_string(page.next_offset));
        json_object_set_new(res->body, "next", json_string(next));
    } else {
        json_object_set_new(res->body, "next", json_null());
    }
    sl_store_page_free(&page);
}

static void
create(const struct sl_admin_request *req, struct sl_admin_response *res, struct sl_store *st,
       const struct entity *e, const char *ffield, const char *fid)
{
    json_t *body = read_body(req, res, e);
    if (body == NULL) {
        return;
    }
    if (ffield != NULL) {
        json_object_set_new(body, ffield, json_pack("{s:s}", "id", fid));
    }
    json_t *extra = NULL;
    if (e->hooks != NULL && e->hooks->take_input != NULL &&
        !e->hooks->take_input(st, req->method, body, NULL, NULL, &extra, res)) {
        json_decref(body);
        return;
    }
    json_t *bad = NULL;
    if (!resolve_foreign(st, e, body, &bad, res)) {
        json_decref(body);
        json_decref(extra);
        return;
    }
    json_t *errf = NULL;
    json_t *row = sl_schema_process(e->schema, body, SL_SCHEMA_INSERT, NULL, &errf);
    json_decref(body);
    if (row == NULL) {
        json_decref(extra);
        write_schema_error(res, errf, bad);
        json_decref(bad);
        return;
    }
    json_decref(bad);
    if (write_and_publish(st, e, OP_INSERT, NULL, row, extra, res) && decorate(st, e, row, res)) {
        res->status = 201;
        res->body = json_incref(row);
    }
    json_decref(extra);
    json_decref(row);
}

/* PUT (upsert) and PATCH (merge) on <existing> (NULL for a PUT that creates). */
static void
put_or_patch(const struct sl_admin_request *req, struct sl_admin_response *res, struct sl_store *st,
             const struct entity *e, const char *key, json_t *existing, const char *ffield,
             const char *fid)
{
    /* Targets: PUT is an update (Kong's update_entity), never a create. */
    bool put = strcmp(req->method, "PUT") == 0 && !(e->hooks && e->hooks->put_updates);
    if (!put && existing == NULL) {
        sl_admin_message(res, 404, "Not found");
        return;
    }
    json_t *body = read_body(req, res, e);
    if (body == NULL) {
        return;
    }
    /* Nested: PUT always takes the URL's parent; PATCH only when the body names none (Kong). */
    if (ffield != NULL && (put || json_object_get(body, ffield) == NULL)) {
        json_object_set_new(body, ffield, json_pack("{s:s}", "id", fid));
    }
    if (put) {
        /* The URL names the entity: a UUID is its id, anything else its endpoint key (kept on a
         * full replace, as Kong does). */
        if (sl_schema_is_uuid(key)) {
            json_object_set_new(body, "id", json_string(key));
        } else if (e->schema->endpoint_key != NULL) {
            json_object_set_new(body, e->schema->endpoint_key, json_string(key));
        }
    }
    const char *id = existing ? json_string_value(json_object_get(existing, "id")) : NULL;
    const char *known_id = id != NULL ? id : sl_schema_is_uuid(key) ? key : NULL;
    json_t *extra = NULL;
    if (e->hooks != NULL && e->hooks->take_input != NULL &&
        !e->hooks->take_input(st, req->method, body, known_id, e->url_key, &extra, res)) {
        json_decref(body);
        return;
    }
    json_t *bad = NULL;
    if (!resolve_foreign(st, e, body, &bad, res)) {
        json_decref(body);
        json_decref(extra);
        return;
    }
    json_t *errf = NULL;
    json_t *row = sl_schema_process(e->schema, body, put ? SL_SCHEMA_UPSERT : SL_SCHEMA_UPDATE,
                                    existing, &errf);
    json_decref(body);
    if (row == NULL) {
        json_decref(extra);
        write_schema_error(res, errf, bad);
        json_decref(bad);
        return;
    }
    json_decref(bad);
    if (write_and_publish(st, e, existing ? OP_UPDATE : OP_INSERT, id, row, extra, res) &&
        decorate(st, e, row, res)) {
        res->status = 200;
        res->body = json_incref(row);
    }
    json_decref(extra);
    json_decref(row);
}

static void
one(const struct sl_admin_request *req, struct sl_admin_response *res, struct sl_store *st,
    const struct entity *e, const char *key, const char *ffield, const char *fid)
{
    json_t *row = ffield != NULL && e->hooks != NULL && e->hooks->find_child != NULL &&
                          !sl_schema_is_uuid(key)
                      ? e->hooks->find_child(st, fid, key)
                      : lookup(st, e, key);
    bool put_moves = strcmp(req->method, "PUT") == 0 && !(e->hooks && e->hooks->put_updates);
    if (row != NULL && ffield != NULL) {
        /* Nested path: the child must belong to that parent; except for PUT, which upserts it
         * with the parent of the URL (Kong's put_entity_endpoint), moving it if need be. */
        const char *pid = json_string_value(json_object_get(json_object_get(row, ffield), "id"));
        if ((pid == NULL || strcmp(pid, fid) != 0) && !put_moves) {
            json_decref(row);
            row = NULL;
            if (strcmp(req->method, "PUT") != 0) {
                sl_admin_message(res, 404, "Not found");
                return;
            }
        }
    }
    const char *m = req->method;
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
        if (row == NULL) {
            sl_admin_message(res, 404, "Not found");
        } else if (decorate(st, e, row, res)) {
            res->status = 200;
            res->body = json_incref(row);
        }
    } else if (strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
        put_or_patch(req, res, st, e, key, row, ffield, fid);
    } else if (strcmp(m, "DELETE") == 0) {
        /* Nested, Kong looks the child up first: absent is 404 there, 204 only at /E/{e}. */
        const char *id = json_string_value(json_object_get(row, "id"));
        if (row == NULL && (ffield != NULL || (e->hooks != NULL && e->hooks->delete_absent_404))) {
            sl_admin_message(res, 404, "Not found");
        } else if (row != NULL && e->hooks != NULL && e->hooks->check_delete != NULL &&
                   !e->hooks->check_delete(st, id, res)) {
            /* refused: <res> says why */
        } else if (row == NULL || write_and_publish(st, e, OP_DELETE, id, NULL, NULL, res)) {
            res->status = 204; /* also when absent (Kong) */
        }
    } else {
        sl_admin_message(res, 405, "Method not allowed");
    }
    json_decref(row);
}

/* PUT /E/{e}/f on a child without a parent (Kong's put_entity_endpoint "associate"): the parent is
 * created under a new id, then the child is updated to reference it. Two writes, as in Kong. */
static void
put_and_associate(const struct sl_admin_request *req, struct sl_admin_response *res,
                  struct sl_store *st, const struct entity *child_e, json_t *child,
                  const struct entity *pe, const char *field)
{
    char id[37];
    if (sl_schema_uuid_v4(id) != 0) {
        sl_admin_message(res, 500, "An unexpected error occurred");
        return;
    }
    put_or_patch(req, res, st, pe, id, NULL, NULL, NULL);
    if (res->status != 200) {
        return;
    }
    json_t *upd = json_pack("{s:{s:s}}", field, "id", id);
    json_t *errf = NULL;
    json_t *row = sl_schema_process(child_e->schema, upd, SL_SCHEMA_UPDATE, child, &errf);
    json_decref(upd);
    struct sl_admin_response ures = {0};
    if (row == NULL) {
        schema_error(&ures, errf);
    } else {
        write_and_publish(st, child_e, OP_UPDATE, json_string_value(json_object_get(child, "id")),
                          row, NULL, &ures);
        json_decref(row);
    }
    if (ures.status != 0) { /* the parent stays created; the error is the update's (Kong) */
        json_decref(res->body);
        *res = ures;
    }
}

/* /E/{e}/f: the parent an entity references (Kong's is_foreign_entity_endpoint): GET reads it,
 * PATCH updates it and PUT upserts it under the referenced id (404 when the child or its
 * reference is absent, except PUT: a child without one gets a new parent); DELETE is 405 while
 * the reference is set. */
static void
parent_through_child(const struct sl_admin_request *req, struct sl_admin_response *res,
                     struct sl_store *st, const struct entity *e, const struct sl_store_foreign *f,
                     const char *key)
{
    const char *m = req->method;
    bool read = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    bool put = strcmp(m, "PUT") == 0, patch = strcmp(m, "PATCH") == 0;
    if (!read && !put && !patch && strcmp(m, "DELETE") != 0) {
        sl_admin_message(res, 405, "Method not allowed");
        return;
    }
    struct entity pe;
    json_t *child = lookup(st, e, key);
    const char *pid = json_string_value(json_object_get(json_object_get(child, f->field), "id"));
    json_t *p = pid && find_entity(f->entity, &pe) ? lookup(st, &pe, pid) : NULL;
    if (child == NULL || (pid == NULL && !put)) {
        sl_admin_message(res, 404, "Not found");
    } else if (strcmp(m, "DELETE") == 0) {
        sl_admin_message(res, 405, "Method not allowed");
    } else if (put && pid == NULL) {
        if (find_entity(f->entity, &pe)) {
            put_and_associate(req, res, st, e, child, &pe, f->field);
        } else {
            sl_admin_message(res, 404, "Not found");
        }
    } else if (put) {
        put_or_patch(req, res, st, &pe, pid, p, NULL, NULL);
    } else if (p == NULL) {
        sl_admin_message(res, 404, "Not found");
    } else if (patch) {
        put_or_patch(req, res, st, &pe, pid, p, NULL, NULL);
    } else {
        res->status = 200;
        res->body = json_incref(p);
    }
    json_decref(p);
    json_decref(child);
}

bool
sl_admin_crud(const struct sl_admin_request *req, struct sl_admin_response *res,
              struct sl_store *st, char **seg, size_t n)
{
    struct entity e, parent;
    const char *m = req->method;
    bool read = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    if (n == 0 || n > 4 || !find_entity(seg[0], &e) || (e.hooks && e.hooks->disabled)) {
        return false;
    }
    /* /E/{key}...: a key that is not a UUID may name the entity another way (a certificate by
     * one of its SNIs); from here on <key> is the id. */
    char resolved[37];
    const char *raw_key = n >= 2 ? seg[1] : NULL;
    const char *key = raw_key; /* the path's second segment, or the id it was resolved to */
    if (n >= 2 && e.hooks && e.hooks->resolve_key && !sl_schema_is_uuid(seg[1])) {
        if (!e.hooks->resolve_key(st, m, seg[1], resolved, res)) {
            return true;
        }
        e.url_key = seg[1];
        key = resolved;
    }
    if (n == 1) {
        if (read) {
            char base[64];
            snprintf(base, sizeof(base), "/%s", seg[0]);
            list(req, res, st, &e, NULL, NULL, base);
        } else if (strcmp(m, "POST") == 0) {
            create(req, res, st, &e, NULL, NULL);
        } else {
            sl_admin_message(res, 405, "Method not allowed");
        }
        return true;
    }
    if (n == 2) {
        if (!serves_one(m) || check_url_key(&e, key, res)) {
            one(req, res, st, &e, key, NULL, NULL);
        }
        return true;
    }
    /* /E/{e}/field: the parent through the child */
    const struct sl_store_foreign *f = NULL;
    for (const struct sl_store_foreign *it = e.store->foreign; it->field != NULL; it++) {
        if (n == 3 && strcmp(it->field, seg[2]) == 0) {
            f = it;
        }
    }
    if (f != NULL && e.hooks && e.hooks->no_parent_path) {
        sl_admin_message(res, 404, "Not found");
        return true;
    }
    if (f != NULL) {
        if (!serves_one(m) || check_url_key(&e, key, res)) {
            parent_through_child(req, res, st, &e, f, key);
        }
        return true;
    }
    /* /F/{f}/E[/{e}] */
    parent = e;
    if (!find_entity(seg[2], &e)) {
        return false;
    }
    const char *ffield = foreign_to(&e, parent.schema->name);
    if (ffield == NULL) {
        return false;
    }
    /* Kong reads the parent first (a bad key of either is 400 code 10), unless the method is
     * not served there (405). */
    bool raw =
        n == 4 && read && e.hooks && e.hooks->raw_list && strcmp(seg[3], e.hooks->raw_list) == 0;
    bool served = n == 3 ? read || strcmp(m, "POST") == 0 : serves_one(m);
    bool child_by_key = n == 4 && !raw && !(e.hooks && e.hooks->find_child);
    if (served && !check_url_key(&parent, key, res)) {
        return true;
    }
    json_t *p = lookup(st, &parent, key);
    if (p == NULL) {
        sl_admin_message(res, 404, "Not found");
        return true;
    }
    if (served && child_by_key && !check_url_key(&e, seg[3], res)) {
        json_decref(p);
        return true;
    }
    const char *pid = json_string_value(json_object_get(p, "id"));
    if (n == 3) {
        if (read) {
            char base[128];
            snprintf(base, sizeof(base), "/%s/%s/%s", seg[0], pid, seg[2]);
            list(req, res, st, &e, ffield, pid, base);
        } else if (strcmp(m, "POST") == 0) {
            create(req, res, st, &e, ffield, pid);
        } else {
            sl_admin_message(res, 405, "Method not allowed");
        }
    } else if (raw) {
        /* /upstreams/{u}/targets/all: next links name the upstream as the URL did (Kong). */
        char base[1200];
        snprintf(base, sizeof(base), "/%s/%.512s/%s/%s", seg[0], raw_key, seg[2], seg[3]);
        list(req, res, st, &e, ffield, pid, base);
    } else {
        one(req, res, st, &e, seg[3], ffield, pid);
    }
    json_decref(p);
    return true;
}
