/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for Admin API input: form-urlencoded and multipart bodies into JSON, then the
 * schema engine's insert and merge processing of the result for every core entity. Invariants: no
 * crash, no leak; an accepted entity always carries an id. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
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
    return 0;
}
