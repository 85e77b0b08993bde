/* SPDX-License-Identifier: Apache-2.0 */
/* Robustness of the schema engine over hostile input: every field of every core schema receives
 * values of every JSON type (and nested junk) through every operation; each call must either return
 * an entity or an errors object that renders as a Kong error body, never crash or leak. */
#include "../failing_alloc.h"
#include "core/json_alloc.h"
#include "helpers.h"
#include "schema/entities/entities.h"

static const char *const junk[] = {
    "null",
    "1",
    "-1",
    "1.5",
    "1e300",
    "\"\"",
    "\"x\"",
    "\"//\"",
    "\"\\u00ff\\u00e9\"",
    "\"\\\\xff\"",
    "true",
    "[]",
    "{}",
    "[1,\"a\",{},null,[]]",
    "{\"a\":{\"b\":[1]}}",
    "{\"id\":5}",
    "\"~/(\"",
    "\"*.*\"",
    "\"[::1]:99999\"",
    "\"%zz\"",
    "[{\"ip\":1},{\"port\":\"x\"}]",
    "{\"host\":[\"a\"],\"x\":[1]}",
    "\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\"",
};

static const char *cur_entity;
static json_t *cur_input;

static void
check_result(json_t *out, json_t *errs)
{
    cr_assert((out == NULL) != (errs == NULL));
    if (errs != NULL) {
        json_t *b = sl_err_schema_violation(errs);
        cr_assert_not_null(b);
        cr_assert_not_null(json_string_value(json_object_get(b, "message")));
        json_decref(b);
        json_t *d = sl_err_declarative(errs);
        cr_assert_not_null(d);
        json_decref(d);
        /* the same errors as one entity of a declarative file */
        json_t *et = json_pack("{s:[O]}", cur_entity, errs);
        json_t *doc = json_pack("{s:[O]}", cur_entity, cur_input);
        json_t *fl = sl_err_declarative_flattened(et, doc);
        cr_assert_not_null(fl);
        cr_assert(json_array_size(json_object_get(fl, "flattened_errors")) >= 1);
        json_decref(fl);
        json_decref(et);
        json_decref(doc);
    }
    json_decref(out);
    json_decref(errs);
}

Test(robust, every_field_every_type_every_op)
{
    json_t *base_existing = NULL;
    for (size_t si = 0; sl_schema_core[si] != NULL; si++) {
        const struct sl_schema *s = sl_schema_core[si];
        for (const struct sl_field *f = s->fields; f->name != NULL; f++) {
            for (size_t j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
                json_t *in = json_object();
                json_object_set_new(in, "name", json_stringn("a\0b", 3)); /* embedded NUL */
                json_object_set_new(in, "url", jparse(junk[j]));          /* services' shorthand */
                json_object_set_new(in, f->name, jparse(junk[j]));
                json_t *form = json_deep_copy(in);
                cur_entity = s->name;
                cur_input = in;
                sl_schema_coerce_form(s, form);
                for (int op = 0; op < SL_SCHEMA_OP_MAX; op++) {
                    json_t *errs = NULL;
                    base_existing = json_object();
                    json_t *out =
                        sl_schema_process(s, in, (enum sl_schema_op)op, base_existing, &errs);
                    check_result(out, errs);
                    errs = NULL;
                    out = sl_schema_process(s, form, (enum sl_schema_op)op, base_existing, &errs);
                    check_result(out, errs);
                    json_decref(base_existing);
                }
                json_decref(form);
                json_decref(in);
            }
        }
        json_t *sj = sl_schema_to_json(s);
        cr_assert_not_null(sj);
        json_decref(sj);
    }
}

/* ---- allocation failures ------------------------------------------------------------------- */

/* jansson drops a member it cannot allocate without saying so (json_copy, json_deep_copy): a
 * PATCH of an https service could come out with the schema's default protocol, http, and the
 * service would then be proxied in clear. With each allocation failing in turn, the engine must
 * either give the very entity it gives without a failure, or no entity and no errors (out of
 * memory): never a different one, and never errors that may be missing some. */
Test(robust, an_allocation_failure_never_yields_a_different_entity)
{
    sl_json_alloc_init(fa_malloc);
    json_t *stored = json_loads("{\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\",\"name\":\"s\","
                                "\"protocol\":\"https\",\"host\":\"api.test\",\"port\":443,"
                                "\"retries\":5,\"tags\":[\"a\",\"b\"],\"connect_timeout\":60000,"
                                "\"write_timeout\":60000,\"read_timeout\":60000,\"path\":null,"
                                "\"enabled\":true,\"created_at\":1,\"updated_at\":1,"
                                "\"client_certificate\":null,\"tls_verify\":null,"
                                "\"tls_verify_depth\":null,\"ca_certificates\":null}",
                                0, NULL);
    json_t *patch = json_loads("{\"retries\":3,\"tags\":[\"c\"]}", 0, NULL);
    cr_assert_not_null(stored);
    cr_assert_not_null(patch);
    json_t *errs = NULL;
    json_t *want = sl_schema_process(&sl_schema_services, patch, SL_SCHEMA_UPDATE, stored, &errs);
    cr_assert_not_null(want, "%s", errs ? json_dumps(errs, 0) : "?");
    json_object_del(want, "updated_at"); /* the clock's */
    long n;
    for (n = 0;; n++) {
        fa_arm(n);
        errs = NULL;
        json_t *got =
            sl_schema_process(&sl_schema_services, patch, SL_SCHEMA_UPDATE, stored, &errs);
        fa_disarm();
        if (got != NULL) {
            json_object_del(got, "updated_at");
            cr_assert(json_equal(got, want), "allocation %ld failing gave %s", n,
                      json_dumps(got, JSON_SORT_KEYS));
            json_decref(got);
        } else {
            cr_assert_null(errs, "allocation %ld failing gave errors %s", n,
                           json_dumps(errs, JSON_SORT_KEYS));
        }
        if (!fa_failed) {
            break; /* fewer than n + 1 allocations: each one has failed once */
        }
    }
    cr_assert_gt(n, 10, "the allocator was not used");
    json_decref(want);
    json_decref(patch);
    json_decref(stored);
    sl_json_alloc_init(NULL);
}
