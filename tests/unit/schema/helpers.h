/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the schema unit tests: run a schema over a JSON literal and read the results.
 */
#ifndef SL_TEST_SCHEMA_HELPERS_H
#define SL_TEST_SCHEMA_HELPERS_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "schema/errors.h"
#include "schema/schema.h"

static inline json_t *
jparse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    cr_assert_not_null(j, "bad test JSON: %s (%s)", text, je.text);
    return j;
}

/* Processes <text> with <op>; returns the entity or NULL with *errs set. */
static inline json_t *
run_op(const struct sl_schema *s, const char *text, enum sl_schema_op op, const json_t *existing,
       json_t **errs)
{
    json_t *in = jparse(text);
    json_t *out = sl_schema_process(s, in, op, existing, errs);
    json_decref(in);
    return out;
}

/* Expects success; returns the entity. */
static inline json_t *
ok_insert(const struct sl_schema *s, const char *text)
{
    json_t *errs = NULL;
    json_t *out = run_op(s, text, SL_SCHEMA_INSERT, NULL, &errs);
    if (out == NULL) {
        char *d = json_dumps(errs, JSON_COMPACT);
        cr_assert_fail("unexpected errors for %s: %s", text, d);
    }
    cr_assert_null(errs);
    return out;
}

/* Expects failure; returns the errors object. */
static inline json_t *
bad_insert(const struct sl_schema *s, const char *text)
{
    json_t *errs = NULL;
    json_t *out = run_op(s, text, SL_SCHEMA_INSERT, NULL, &errs);
    cr_assert_null(out, "expected errors for %s", text);
    cr_assert_not_null(errs);
    return errs;
}

/* The compact JSON text of <j> (static buffer, valid until the next call). */
static inline const char *
jtext(const json_t *j)
{
    static char buf[8192];
    char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, sizeof(buf), "%s", d ? d : "(null)");
    free(d);
    return buf;
}

/* Asserts that the JSON text of <j> equals <want>. */
#define assert_json(j, want) cr_assert_str_eq(jtext(j), (want))

/* The string error at key <k> of errors <e> */
static inline const char *
err_at(const json_t *e, const char *k)
{
    return json_string_value(json_object_get(e, k));
}

#endif
