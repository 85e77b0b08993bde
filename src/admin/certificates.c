/* SPDX-License-Identifier: Apache-2.0 */
/* Certificates with their SNIs (kong/api/routes/certificates.lua, kong/db/dao/certificates.lua and
 * snis.lua): the `snis` shorthand on writes, the sorted `snis` list on every certificate returned,
 * /certificates/{sni name} addressing, and deleting a certificate's SNIs with it. The SNI writes
 * run inside the certificate's own transaction (crud.c), so a failure leaves nothing behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/internal.h"
#include "schema/errors.h"
#include "schema/schema.h"
#include "sluice/log.h"

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The strings of <arr> (or the <member> string of each of its objects) as a malloc'd, sorted
 * array of borrowed pointers: Lua's table.sort on names compares bytes, as strcmp. NULL when
 * there are none or on ENOMEM (*n is then 0). */
static const char **
sorted_strings(const json_t *arr, const char *member, size_t *n)
{
    size_t len = json_array_size(arr), k = 0;
    const char **v = len ? malloc(len * sizeof(*v)) : NULL;
    for (size_t i = 0; v != NULL && i < len; i++) {
        const json_t *it = json_array_get(arr, i);
        const char *s = json_string_value(member ? json_object_get(it, member) : it);
        if (s != NULL) {
            v[k++] = s;
        }
    }
    if (k > 0) {
        qsort(v, k, sizeof(*v), cmp_str);
    }
    *n = v ? k : 0;
    return v;
}

static bool
has_string(const char **v, size_t n, const char *s)
{
    return n > 0 && bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/* Every SNI row of certificate <cert_id>, through the store's indexed foreign column. */
static enum sl_store_rc
sni_rows(struct sl_store *st, const char *cert_id, json_t **out, struct sl_store_err *err)
{
    enum sl_store_rc rc = SL_STORE_OK;
    char *offset = NULL;
    *out = json_array();
    do {
        struct sl_store_page_query q = {
            .size = SL_STORE_PAGE_MAX,
            .offset = offset,
            .foreign_field = "certificate",
            .foreign_id = cert_id,
        };
        struct sl_store_page page = {0};
        rc = sl_store_page(st, &sl_store_entity_snis, &q, &page, err);
        free(offset);
        offset = NULL;
        if (rc == SL_STORE_OK) {
            json_array_extend(*out, page.rows);
            offset = page.next_offset;
            page.next_offset = NULL;
        }
        sl_store_page_free(&page);
    } while (rc == SL_STORE_OK && offset != NULL);
    free(offset);
    if (rc != SL_STORE_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* Kong's select_by_name validates the key first: a bad name is an "invalid unique name" (code 10,
 * 400) whose message is the validator's. Returns false after filling <res>. */
static bool
check_name(const char *name, struct sl_admin_response *res)
{
    const struct sl_schema *s = sl_schema_find("snis");
    return s == NULL || sl_admin_check_unique_value(s, "name", name, res);
}

static void
snis_violation(struct sl_admin_response *res, json_t *err)
{
    json_t *fields = json_object();
    json_object_set_new(fields, "snis", err);
    res->status = 400;
    res->body = sl_err_schema_violation(fields);
    json_decref(fields);
}

static void
store_failed(struct sl_admin_response *res, struct sl_store_err *err)
{
    sl_log(SL_LOG_ERR, "admin: store error: %s", err->message ? err->message : "?");
    sl_store_err_clear(err);
    sl_admin_message(res, 500, "An unexpected error occurred");
}

/* /certificates/{key}: a key that is not a UUID names one of the certificate's SNIs. A PUT with an
 * unknown name creates a certificate under a new id (prepare_params in routes/certificates.lua). */
static bool
cert_resolve_key(struct sl_store *st, const char *method, const char *key, char id[37],
                 struct sl_admin_response *res)
{
    if (!check_name(key, res)) {
        return false;
    }
    json_t *row = NULL;
    struct sl_store_err err = {0};
    enum sl_store_rc rc = sl_store_select_by(st, &sl_store_entity_snis, "name", key, &row, &err);
    if (rc != SL_STORE_OK && rc != SL_STORE_NOT_FOUND) {
        store_failed(res, &err);
        return false;
    }
    sl_store_err_clear(&err);
    const char *cid = json_string_value(json_object_get(json_object_get(row, "certificate"), "id"));
    bool ok = true;
    if (cid != NULL && strlen(cid) == 36) {
        memcpy(id, cid, 37);
    } else if (strcmp(method, "PUT") == 0) {
        if (sl_schema_uuid_v4(id) != 0) {
            sl_admin_message(res, 500, "An unexpected error occurred");
            ok = false;
        }
    } else {
        sl_admin_message(res, 404, "SNI not found");
        ok = false;
    }
    json_decref(row);
    return ok;
}

struct ranked {
    const char *name;
    size_t pos;
};

static int
cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* The first name of <names> (in input order) that an earlier one repeats, or NULL: what Kong's
 * parse_name_list reports, found in O(n log n). */
static const char *
first_duplicate(const json_t *names)
{
    size_t n = json_array_size(names);
    struct ranked *r = n ? malloc(n * sizeof(*r)) : NULL;
    const char *dup = NULL;
    size_t best = n;
    for (size_t i = 0; r != NULL && i < n; i++) {
        r[i].name = json_string_value(json_array_get(names, i));
        r[i].pos = i;
    }
    if (r != NULL) {
        qsort(r, n, sizeof(*r), cmp_ranked);
        for (size_t i = 1; i < n; i++) {
            /* the second of a run of equal names (i starts at 1, so i - 2 needs i > 1) */
            bool first_repeat = i == 1 || strcmp(r[i - 1].name, r[i - 2].name) != 0;
            bool second = first_repeat && strcmp(r[i].name, r[i - 1].name) == 0;
            if (second && r[i].pos < best) {
                best = r[i].pos;
                dup = r[i].name;
            }
        }
    }
    free(r);
    return dup;
}

static const struct sl_field sni_string = {.type = SL_FT_STRING};
static const struct sl_field snis_field = {
    .name = "snis", .type = SL_FT_ARRAY, .elements = &sni_string};

/* The `snis` shorthand (prepare_args in routes/certificates.lua, then the DAO's parse_name_list
 * and check_list_is_new): absent on POST means none and on PATCH keeps the current set; a PUT
 * without it (or null anywhere) empties the set; a string is a one-name list. On a PUT to
 * /certificates/{sni} with a list, that name is added when missing. Duplicates and names owned by
 * another certificate are schema violations; invalid names Kong's "invalid unique name". */
static bool
cert_take_input(struct sl_store *st, const char *method, json_t *body, const char *id,
                const char *url_key, json_t **extra, struct sl_admin_response *res)
{
    bool put = strcmp(method, "PUT") == 0;
    json_t *v = json_incref(json_object_get(body, "snis"));
    json_t *list = NULL;
    *extra = NULL;
    json_object_del(body, "snis");
    if (v == NULL && !put) {
        return true;
    }
    if (v == NULL || json_is_null(v)) {
        list = json_array();
    } else if (json_is_string(v) || json_is_array(v)) {
        list = json_is_string(v) ? json_pack("[O]", v) : json_copy(v);
        json_t *e = list ? sl_schema_validate_field(&snis_field, list) : json_string("?");
        if (e != NULL) {
            json_decref(v);
            json_decref(list);
            snis_violation(res, e);
            return false;
        }
        bool found = false;
        for (size_t i = 0; url_key != NULL && i < json_array_size(list); i++) {
            found = found || strcmp(json_string_value(json_array_get(list, i)), url_key) == 0;
        }
        if (put && url_key != NULL && !found) {
            json_array_append_new(list, json_string(url_key));
        }
    } else {
        snis_violation(res, json_string("expected an array"));
        json_decref(v);
        return false;
    }
    json_decref(v);
    const char *dup = first_duplicate(list);
    if (dup != NULL) {
        json_t *msg = json_sprintf("%s is duplicated", dup);
        json_decref(list);
        snis_violation(res, msg);
        return false;
    }
    size_t n = 0;
    const char **names = sorted_strings(list, NULL, &n);
    json_t *sorted = json_array();
    bool ok = json_array_size(list) == n;
    if (!ok) {
        sl_admin_message(res, 500, "An unexpected error occurred");
    }
    for (size_t i = 0; ok && i < n; i++) {
        ok = check_name(names[i], res);
        json_t *row = NULL;
        struct sl_store_err err = {0};
        enum sl_store_rc rc =
            ok ? sl_store_select_by(st, &sl_store_entity_snis, "name", names[i], &row, &err)
               : SL_STORE_OK;
        const char *owner =
            json_string_value(json_object_get(json_object_get(row, "certificate"), "id"));
        if (rc != SL_STORE_OK && rc != SL_STORE_NOT_FOUND) {
            store_failed(res, &err);
            ok = false;
        } else if (owner != NULL && (id == NULL || strcmp(owner, id) != 0)) {
            snis_violation(res, json_sprintf("%s already associated with existing certificate '%s'",
                                             names[i], owner));
            ok = false;
        }
        sl_store_err_clear(&err);
        json_decref(row);
        json_array_append_new(sorted, json_string(names[i]));
    }
    free(names);
    json_decref(list);
    if (!ok) {
        json_decref(sorted);
        return false;
    }
    *extra = sorted;
    return true;
}

/* Replaces the certificate's SNI set by <extra> (snis.lua update_list: names kept stay as they
 * are), or deletes every SNI before the certificate goes (the DAO's cascading delete). */
static enum sl_store_rc
cert_write(struct sl_store *st, bool deleting, const char *id, const json_t *extra,
           struct sl_store_err *err)
{
    if (!deleting && extra == NULL) {
        return SL_STORE_OK;
    }
    json_t *rows = NULL;
    enum sl_store_rc rc = sni_rows(st, id, &rows, err);
    size_t nwant = 0, nhave = 0;
    const char **want = deleting ? NULL : sorted_strings(extra, NULL, &nwant);
    const char **have = sorted_strings(rows, "name", &nhave);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));
        if (rc == SL_STORE_OK && (deleting || name == NULL || !has_string(want, nwant, name))) {
            rc = sl_store_delete(st, &sl_store_entity_snis,
                                 json_string_value(json_object_get(row, "id")), err);
        }
    }
    const struct sl_schema *sni = sl_schema_find("snis");
    for (i = 0; rc == SL_STORE_OK && i < nwant; i++) {
        if (has_string(have, nhave, want[i])) {
            continue;
        }
        json_t *in = json_pack("{s:s,s:{s:s}}", "name", want[i], "certificate", "id", id);
        json_t *errf = NULL;
        json_t *doc = sni && in ? sl_schema_process(sni, in, SL_SCHEMA_INSERT, NULL, &errf) : NULL;
        if (doc == NULL) {
            /* the names were validated by take_input: only ENOMEM gets here */
            rc = sl_store_err_set(err, SL_STORE_DB_ERROR, "cannot build the SNI '%s'", want[i]);
        } else {
            rc = sl_store_insert(st, &sl_store_entity_snis, doc, err);
        }
        json_decref(errf);
        json_decref(doc);
        json_decref(in);
    }
    free(want);
    free(have);
    json_decref(rows);
    return rc;
}

/* select_with_name_list / page: every certificate returned carries its sorted SNI names. */
static bool
cert_decorate(struct sl_store *st, json_t *row)
{
    const char *id = json_string_value(json_object_get(row, "id"));
    json_t *rows = NULL;
    struct sl_store_err err = {0};
    if (id == NULL || sni_rows(st, id, &rows, &err) != SL_STORE_OK) {
        sl_log(SL_LOG_ERR, "admin: cannot list SNIs: %s", err.message ? err.message : "?");
        sl_store_err_clear(&err);
        return false;
    }
    size_t n = 0;
    const char **names = sorted_strings(rows, "name", &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_string(names[i]));
    }
    free(names);
    json_decref(rows);
    json_object_set_new(row, "snis", arr);
    return true;
}

const struct sl_admin_hooks sl_admin_certificate_hooks = {
    .entity = "certificates",
    .resolve_key = cert_resolve_key,
    .take_input = cert_take_input,
    .write = cert_write,
    .decorate = cert_decorate,
};
