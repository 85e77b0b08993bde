/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for Admin API input: form-urlencoded and multipart bodies into JSON, then the
 * schema engine's insert and merge processing of the result for every core entity; and the same
 * bytes as a query string, through the argument lookup and the list query (size, offset, tags).
 * Invariants: no crash, no leak; an accepted entity always carries an id; a query argument decoded
 * into a buffer as long as the query is never too long for it. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/internal.h"
#include "schema/schema.h"

static const char *const entities[] = {"services", "routes", "consumers", "upstreams", "targets"};

static void
process_all(json_t *in)
{
    for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
        const struct sl_schema *s = sl_schema_find(entities[i]);
        json_t *copy = json_deep_copy(in);
        sl_schema_coerce_form(s, copy);
        json_t *errf = NULL;
        json_t *row = sl_schema_process(s, copy, SL_SCHEMA_INSERT, NULL, &errf);
        if (row != NULL) {
            if (!json_is_string(json_object_get(row, "id"))) {
                __builtin_trap();
            }
            json_t *errf2 = NULL;
            json_t *merged = sl_schema_process(s, copy, SL_SCHEMA_UPDATE, row, &errf2);
            json_decref(merged);
            json_decref(errf2);
        }
        json_decref(row);
        json_decref(errf);
        json_decref(copy);
    }
}

static void
query_args(const uint8_t *data, size_t size)
{
    char *query = malloc(size + 1);
    char *out = malloc(size + 1);
    if (query == NULL || out == NULL) {
        free(query);
        free(out);
        return;
    }
    memcpy(query, data, size);
    query[size] = '\0'; /* a request target holds no NUL: the lookup sees up to the first one */
    static const char *const names[] = {"tags", "size", "offset", "custom_id", "unit"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char small[8];
        enum sl_admin_arg a = sl_admin_query_arg(query, names[i], small, sizeof(small));
        if (a == SL_ADMIN_ARG_FOUND && strlen(small) >= sizeof(small)) {
            __builtin_trap();
        }
        if (sl_admin_query_arg(query, names[i], out, size + 1) == SL_ADMIN_ARG_TOO_LONG) {
            __builtin_trap();
        }
    }
    struct sl_admin_request req = {.method = "GET", .path = "/consumers", .query = query};
    struct sl_admin_list_query q;
    struct sl_admin_response res = {0};
    if (sl_admin_parse_list_query(&req, &q, &res)) {
        if (q.ntags > SL_ADMIN_MAX_TAGS || q.size < 1 || q.size > 1000) {
            __builtin_trap();
        }
        char next[2560];
        sl_admin_next_link(next, sizeof(next), "/consumers", "b2Zmc2V0", &q);
    } else if (res.status != 400 && res.status != 500) {
        __builtin_trap();
    }
    json_decref(res.body);
    free(query);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    json_t *form = sl_admin_form_to_json(body, size);
    if (form != NULL) {
        process_all(form);
        json_decref(form);
    }
    json_t *mp = sl_admin_multipart_to_json(body, size, "multipart/form-data; boundary=XyZ");
    if (mp != NULL) {
        process_all(mp);
        json_decref(mp);
    }
    json_t *js = json_loadb(body, size, 0, NULL);
    if (json_is_object(js)) {
        process_all(js);
    }
    json_decref(js);
    query_args(data, size);
    return 0;
}
