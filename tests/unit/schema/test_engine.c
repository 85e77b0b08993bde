/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the schema engine: every validator and its message, defaults, nested errors, entity
 * checks, PATCH merge vs PUT replace, form coercion and /schemas rendering, over a test schema. */
#include "helpers.h"

static int
no_foo(const json_t *v, char *err, size_t errlen)
{
    if (strcmp(json_string_value(v), "foo") == 0) {
        snprintf(err, errlen, "foo is not allowed");
        return -1;
    }
    return 0;
}

static const struct sl_field int_elem = {
    .type = SL_FT_INTEGER, .has_between = true, .between_min = 1, .between_max = 9};
static const struct sl_field str_elem = {.type = SL_FT_STRING};
static const struct sl_match no_x[] = {{.pattern = "x", .err = "must not contain x"}, {0}};
static const struct sl_match needs_a[] = {{.pattern = "a", .err = "must contain a"}, {0}};
static const char *const colors[] = {"red", "green", NULL};
static const long long codes[] = {301, 302};

static const struct sl_field inner_fields[] = {
    {.name = "minute", .type = SL_FT_NUMBER, .default_json = "5"},
    {.name = "hour", .type = SL_FT_NUMBER},
    {.name = "policy",
     .type = SL_FT_STRING,
     .default_json = "\"local\"",
     .one_of = (const char *const[]){"local", "redis", NULL}},
    {.name = "redis_host", .type = SL_FT_STRING},
    {0},
};
static const struct sl_field is_redis = {.match = "^redis$"};
static const struct sl_field needed = {.required = true};
static const struct sl_entity_check inner_checks[] = {
    {.kind = SL_CHECK_AT_LEAST_ONE_OF, .fields = (const char *const[]){"minute", "hour", NULL}},
    {.kind = SL_CHECK_CONDITIONAL,
     .if_field = "policy",
     .if_match = &is_redis,
     .then_field = "redis_host",
     .then_match = &needed},
    {0},
};

static const struct sl_field fields[] = {
    {.name = "id", .type = SL_FT_STRING, .uuid = true, .auto_kind = SL_AUTO_UUID},
    {.name = "created_at", .type = SL_FT_INTEGER, .timestamp = true, .auto_kind = SL_AUTO_TS_S},
    {.name = "updated_at", .type = SL_FT_INTEGER, .timestamp = true, .auto_kind = SL_AUTO_TS_S},
    {.name = "s", .type = SL_FT_STRING},
    {.name = "req", .type = SL_FT_STRING, .required = true, .default_json = "\"dflt\""},
    {.name = "i", .type = SL_FT_INTEGER, .has_between = true, .between_min = 0, .between_max = 10},
    {.name = "n", .type = SL_FT_NUMBER, .has_gt = true, .gt = 1.5},
    {.name = "b", .type = SL_FT_BOOLEAN},
    {.name = "color", .type = SL_FT_STRING, .one_of = colors},
    {.name = "code", .type = SL_FT_INTEGER, .one_of_int = codes, .one_of_int_n = 2},
    {.name = "short", .type = SL_FT_STRING, .len_min = 2, .len_max = 4},
    {.name = "exact", .type = SL_FT_STRING, .len_eq = 3},
    {.name = "empty_ok", .type = SL_FT_STRING, .no_len_min = true},
    {.name = "slash", .type = SL_FT_STRING, .starts_with = "/"},
    {.name = "digits", .type = SL_FT_STRING, .match = "^[0-9]+$"},
    {.name = "nox", .type = SL_FT_STRING, .match_none = no_x, .match_all = needs_a},
    {.name = "anyof",
     .type = SL_FT_STRING,
     .match_any = (const char *const[]){"^a", "^b", NULL},
     .match_any_err = "a or b first"},
    {.name = "custom", .type = SL_FT_STRING, .custom = no_foo},
    {.name = "uuid", .type = SL_FT_STRING, .uuid = true},
    {.name = "with_err", .type = SL_FT_STRING, .one_of = colors, .err = "pick a color"},
    {.name = "none", .type = SL_FT_STRING, .eq_null = true},
    {.name = "frozen", .type = SL_FT_STRING, .immutable = true},
    {.name = "arr", .type = SL_FT_ARRAY, .elements = &int_elem},
    {.name = "set", .type = SL_FT_SET, .elements = &str_elem, .contains = "must"},
    {.name = "map", .type = SL_FT_MAP, .keys = &str_elem, .elements = &int_elem},
    {.name = "rec",
     .type = SL_FT_RECORD,
     .required = true,
     .fields = inner_fields,
     .checks = inner_checks},
    {.name = "opt_rec", .type = SL_FT_RECORD, .fields = inner_fields},
    {.name = "ref", .type = SL_FT_FOREIGN, .reference = "things"},
    {.name = "alpha", .type = SL_FT_STRING},
    {.name = "beta", .type = SL_FT_STRING},
    {.name = "gamma", .type = SL_FT_STRING},
    {0},
};

static const struct sl_entity_check checks[] = {
    {.kind = SL_CHECK_MUTUALLY_EXCLUSIVE, .fields = (const char *const[]){"alpha", "beta", NULL}},
    {.kind = SL_CHECK_MUTUALLY_REQUIRED, .fields = (const char *const[]){"beta", "gamma", NULL}},
    {0},
};

static const char *const pk[] = {"id", NULL};
static const struct sl_schema test_schema = {
    .name = "things", .primary_key = pk, .fields = fields, .checks = checks, .ttl = true};

static const char *
one_err(const char *input, const char *field)
{
    static char buf[8192];
    json_t *e = bad_insert(&test_schema, input);
    const json_t *v = json_object_get(e, field);
    snprintf(buf, sizeof(buf), "%s", json_is_string(v) ? json_string_value(v) : jtext(v));
    json_decref(e);
    return buf;
}

Test(engine, defaults_nulls_and_auto_fields)
{
    json_t *o = ok_insert(&test_schema, "{}");
    cr_assert(sl_schema_is_uuid(json_string_value(json_object_get(o, "id"))));
    cr_assert(json_integer_value(json_object_get(o, "created_at")) > 1600000000);
    cr_assert(json_equal(json_object_get(o, "created_at"), json_object_get(o, "updated_at")));
    cr_assert_str_eq(err_at(o, "req"), "dflt");
    cr_assert(json_is_null(json_object_get(o, "s")));
    cr_assert(json_is_null(json_object_get(o, "arr")));
    cr_assert(json_is_null(json_object_get(o, "opt_rec")));
    /* a required record expands to its defaults */
    assert_json(json_object_get(o, "rec"),
                "{\"minute\":5,\"hour\":null,\"policy\":\"local\",\"redis_host\":null}");
    /* every schema field is present, in schema order */
    cr_assert_eq(json_object_size(o), 31);
    void *it = json_object_iter(o);
    cr_assert_str_eq(json_object_iter_key(it), "id");
    json_decref(o);
}

Test(engine, ids_are_random_v4)
{
    json_t *a = ok_insert(&test_schema, "{}");
    json_t *b = ok_insert(&test_schema, "{}");
    const char *ia = err_at(a, "id");
    cr_assert_neq(strcmp(ia, err_at(b, "id")), 0);
    cr_assert_eq(ia[14], '4');
    cr_assert(strchr("89ab", ia[19]) != NULL);
    json_decref(a);
    json_decref(b);
}

Test(engine, given_id_kept)
{
    json_t *o = ok_insert(&test_schema, "{\"id\":\"4A5C5C1E-8F4A-4B7E-9B1A-0C1D2E3F4A5B\"}");
    cr_assert_str_eq(err_at(o, "id"), "4A5C5C1E-8F4A-4B7E-9B1A-0C1D2E3F4A5B");
    json_decref(o);
    cr_assert_str_eq(one_err("{\"id\":\"nope\"}", "id"), "expected a valid UUID");
}

Test(engine, type_messages)
{
    cr_assert_str_eq(one_err("{\"s\":1}", "s"), "expected a string");
    cr_assert_str_eq(one_err("{\"i\":\"1\"}", "i"), "expected an integer");
    cr_assert_str_eq(one_err("{\"i\":1.5}", "i"), "expected an integer");
    cr_assert_str_eq(one_err("{\"i\":1e300}", "i"), "expected an integer");
    cr_assert_str_eq(one_err("{\"n\":\"2\"}", "n"), "expected a number");
    cr_assert_str_eq(one_err("{\"b\":\"true\"}", "b"), "expected a boolean");
    cr_assert_str_eq(one_err("{\"arr\":\"x\"}", "arr"), "expected an array");
    cr_assert_str_eq(one_err("{\"set\":{\"a\":1}}", "set"), "expected a set");
    /* a list is a Lua table whose keys 1..n fail the string key schema (Kong's validate_field) */
    cr_assert_str_eq(one_err("{\"map\":[1]}", "map"), "expected a string");
    cr_assert_str_eq(one_err("{\"map\":\"x\"}", "map"), "expected a map");
    cr_assert_str_eq(one_err("{\"rec\":5}", "rec"), "expected a record");
    cr_assert_str_eq(one_err("{\"zzz\":5}", "zzz"), "unknown field");
}

Test(engine, integral_real_is_an_integer)
{
    json_t *o = ok_insert(&test_schema, "{\"i\":7.0}");
    cr_assert(json_is_integer(json_object_get(o, "i")));
    cr_assert_eq(json_integer_value(json_object_get(o, "i")), 7);
    json_decref(o);
}

/* The engine shares the caller's values (no deep copy): nothing it normalises may change them. */
Test(engine, input_is_never_modified)
{
    const char *text = "{\"i\":7.0,\"arr\":[1.0,2],\"rec\":{},\"set\":[\"must\"],"
                       "\"map\":{\"k\":3.0},\"ref\":{\"id\":\"11111111-1111-4111-8111-"
                       "111111111111\",\"extra\":1}}";
    json_t *in = jparse(text);
    char *before = json_dumps(in, JSON_SORT_KEYS);
    json_t *errs = NULL;
    json_t *out = sl_schema_process(&test_schema, in, SL_SCHEMA_INSERT, NULL, &errs);
    cr_assert_not_null(out, "%s", errs ? jtext(errs) : "");
    cr_assert(json_is_integer(json_array_get(json_object_get(out, "arr"), 0)));
    cr_assert_null(json_object_get(json_object_get(out, "ref"), "extra"));
    char *after = json_dumps(in, JSON_SORT_KEYS);
    cr_assert_str_eq(after, before);
    cr_assert(json_is_real(json_array_get(json_object_get(in, "arr"), 0)));
    free(before);
    free(after);
    json_decref(out);
    json_decref(in);
}

Test(engine, validator_messages)
{
    cr_assert_str_eq(one_err("{\"i\":11}", "i"), "value should be between 0 and 10");
    cr_assert_str_eq(one_err("{\"i\":-1}", "i"), "value should be between 0 and 10");
    cr_assert_str_eq(one_err("{\"n\":1.5}", "n"), "value must be greater than 1.5");
    cr_assert_str_eq(one_err("{\"color\":\"blue\"}", "color"), "expected one of: red, green");
    cr_assert_str_eq(one_err("{\"code\":303}", "code"), "expected one of: 301, 302");
    cr_assert_str_eq(one_err("{\"short\":\"a\"}", "short"), "length must be at least 2");
    cr_assert_str_eq(one_err("{\"short\":\"abcde\"}", "short"), "length must be at most 4");
    cr_assert_str_eq(one_err("{\"exact\":\"ab\"}", "exact"), "length must be 3");
    cr_assert_str_eq(one_err("{\"s\":\"\"}", "s"), "length must be at least 1");
    cr_assert_str_eq(one_err("{\"slash\":\"a\"}", "slash"), "should start with: /");
    cr_assert_str_eq(one_err("{\"digits\":\"12a\"}", "digits"), "invalid value: 12a");
    cr_assert_str_eq(one_err("{\"nox\":\"xa\"}", "nox"), "must not contain x");
    cr_assert_str_eq(one_err("{\"nox\":\"bb\"}", "nox"), "must contain a");
    cr_assert_str_eq(one_err("{\"anyof\":\"c\"}", "anyof"), "a or b first");
    cr_assert_str_eq(one_err("{\"custom\":\"foo\"}", "custom"), "foo is not allowed");
    cr_assert_str_eq(one_err("{\"uuid\":\"x\"}", "uuid"), "expected a valid UUID");
    cr_assert_str_eq(one_err("{\"with_err\":\"blue\"}", "with_err"), "pick a color");
    cr_assert_str_eq(one_err("{\"none\":\"x\"}", "none"), "value must be null");
    cr_assert_str_eq(one_err("{\"req\":null}", "req"), "required field missing");
    cr_assert_str_eq(one_err("{\"set\":[\"a\"]}", "set"), "expected to contain: must");
    cr_assert_str_eq(one_err("{\"ref\":{\"id\":\"x\"}}", "ref"),
                     "{\"id\":\"expected a valid UUID\"}");
    cr_assert_str_eq(one_err("{\"ref\":{}}", "ref"), "{\"id\":\"missing primary key\"}");
    cr_assert_str_eq(one_err("{\"ttl\":-1}", "ttl"), "value should be between 0 and 100000000");
}

Test(engine, valid_values_pass)
{
    json_t *o = ok_insert(
        &test_schema, "{\"s\":\"x\",\"i\":10,\"n\":2,\"b\":false,\"color\":\"red\",\"code\":302,"
                      "\"short\":\"abcd\",\"exact\":\"abc\",\"empty_ok\":\"\",\"slash\":\"/a\","
                      "\"digits\":\"123\",\"nox\":\"abc\",\"anyof\":\"bx\",\"custom\":\"bar\","
                      "\"uuid\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\",\"none\":null,"
                      "\"arr\":[1,9],\"set\":[\"must\"],\"map\":{\"k\":3},\"ttl\":10,"
                      "\"ref\":{\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\",\"x\":1}}");
    /* foreign references keep only their primary key; ttl is not an entity field */
    assert_json(json_object_get(o, "ref"), "{\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\"}");
    cr_assert_null(json_object_get(o, "ttl"));
    json_decref(o);
}

Test(engine, empty_aggregates)
{
    json_t *o = ok_insert(&test_schema, "{\"arr\":[],\"set\":{}}");
    assert_json(json_object_get(o, "arr"), "[]");
    /* an empty JSON object is an empty Lua table, which is a valid empty set */
    assert_json(json_object_get(o, "set"), "[]");
    json_decref(o);
}

Test(engine, array_errors_by_position)
{
    json_t *e = bad_insert(&test_schema, "{\"arr\":[1,0,\"x\",null]}");
    assert_json(json_object_get(e, "arr"),
                "[null,\"value should be between 1 and 9\",\"expected an integer\","
                "\"required field missing\"]");
    json_t *body = sl_err_schema_violation(e);
    cr_assert_str_eq(json_string_value(json_object_get(body, "message")),
                     "3 schema violations (arr.2: value should be between 1 and 9; arr.3: expected "
                     "an integer; arr.4: required field missing)");
    json_decref(body);
    json_decref(e);
}

Test(engine, map_errors)
{
    cr_assert_str_eq(one_err("{\"map\":{\"a\":10}}", "map"), "value should be between 1 and 9");
}

Test(engine, nested_record_errors)
{
    json_t *e = bad_insert(&test_schema, "{\"rec\":{\"minute\":\"x\",\"bogus\":1}}");
    assert_json(json_object_get(e, "rec"),
                "{\"minute\":\"expected a number\",\"bogus\":\"unknown field\"}");
    json_decref(e);
    /* record entity checks land in the record's own @entity */
    e = bad_insert(&test_schema, "{\"rec\":{\"minute\":null}}");
    assert_json(json_object_get(e, "rec"),
                "{\"@entity\":[\"at least one of these fields must be non-empty: 'minute', "
                "'hour'\"]}");
    json_decref(e);
}

Test(engine, conditional_check)
{
    json_t *e = bad_insert(&test_schema, "{\"rec\":{\"policy\":\"redis\"}}");
    assert_json(json_object_get(e, "rec"),
                "{\"redis_host\":\"required field missing\",\"@entity\":[\"failed conditional "
                "validation given value of field 'policy'\"]}");
    json_t *body = sl_err_schema_violation(e);
    cr_assert_str_eq(json_string_value(json_object_get(body, "message")),
                     "2 schema violations (rec.@entity: {\"failed conditional validation given "
                     "value of field 'policy'\"}; rec.redis_host: required field missing)");
    json_decref(body);
    json_decref(e);
    json_t *o = ok_insert(&test_schema, "{\"rec\":{\"policy\":\"redis\",\"redis_host\":\"h\"}}");
    json_decref(o);
}

Test(engine, entity_checks)
{
    json_t *e = bad_insert(&test_schema, "{\"alpha\":\"a\",\"beta\":\"b\",\"gamma\":\"c\"}");
    assert_json(json_object_get(e, "@entity"),
                "[\"only one or none of these fields must be set: 'alpha', 'beta'\"]");
    json_decref(e);
    e = bad_insert(&test_schema, "{\"beta\":\"b\"}");
    assert_json(json_object_get(e, "@entity"),
                "[\"all or none of these fields must be set: 'beta', 'gamma'\"]");
    json_decref(e);
    json_decref(ok_insert(&test_schema, "{\"alpha\":\"a\"}"));
    json_decref(ok_insert(&test_schema, "{\"beta\":\"b\",\"gamma\":\"c\"}"));
}

static const struct sl_field one_of_fields[] = {
    {.name = "a", .type = SL_FT_STRING},
    {.name = "b", .type = SL_FT_STRING},
    {.name = "c", .type = SL_FT_STRING},
    {0},
};
static const struct sl_entity_check one_of_checks[] = {
    {.kind = SL_CHECK_ONLY_ONE_OF, .fields = (const char *const[]){"a", "b", NULL}},
    {.kind = SL_CHECK_DISTINCT, .fields = (const char *const[]){"b", "c", NULL}},
    {0},
};
static const struct sl_schema one_of_schema = {
    .name = "x", .fields = one_of_fields, .checks = one_of_checks};

Test(engine, only_one_of_and_distinct)
{
    json_t *e = bad_insert(&one_of_schema, "{}");
    assert_json(e, "{\"@entity\":[\"only one of these fields must be non-empty: 'a', 'b'\"]}");
    json_decref(e);
    e = bad_insert(&one_of_schema, "{\"b\":\"x\",\"c\":\"x\"}");
    assert_json(e, "{\"@entity\":[\"values of these fields must be distinct: 'b', 'c'\"]}");
    json_decref(e);
    json_decref(ok_insert(&one_of_schema, "{\"a\":\"x\",\"b\":null}"));
}

Test(engine, input_not_an_object)
{
    json_t *errs = NULL;
    json_t *in = jparse("[1]");
    cr_assert_null(sl_schema_process(&test_schema, in, SL_SCHEMA_INSERT, NULL, &errs));
    assert_json(errs, "{\"@entity\":[\"expected a record\"]}");
    json_decref(errs);
    json_decref(in);
}

Test(engine, patch_deep_merges_records)
{
    json_t *stored = ok_insert(&test_schema, "{\"s\":\"keep\",\"arr\":[1,2],\"frozen\":\"ice\","
                                             "\"rec\":{\"minute\":7,\"hour\":3}}");
    json_t *errs = NULL;
    json_t *o =
        run_op(&test_schema, "{\"rec\":{\"hour\":4},\"arr\":[5]}", SL_SCHEMA_UPDATE, stored, &errs);
    cr_assert_not_null(o, "%s", jtext(errs));
    cr_assert_str_eq(err_at(o, "s"), "keep");
    assert_json(json_object_get(o, "arr"), "[5]"); /* arrays are replaced whole */
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "rec"), "minute")), 7);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "rec"), "hour")), 4);
    cr_assert(json_equal(json_object_get(o, "id"), json_object_get(stored, "id")));
    cr_assert(json_equal(json_object_get(o, "created_at"), json_object_get(stored, "created_at")));
    json_decref(o);
    /* a PATCH body cannot change the id */
    o = run_op(&test_schema, "{\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\"}", SL_SCHEMA_UPDATE,
               stored, &errs);
    cr_assert(json_equal(json_object_get(o, "id"), json_object_get(stored, "id")));
    json_decref(o);
    /* an immutable field may be repeated but not changed */
    o = run_op(&test_schema, "{\"frozen\":\"ice\"}", SL_SCHEMA_UPDATE, stored, &errs);
    cr_assert_not_null(o);
    json_decref(o);
    cr_assert_null(run_op(&test_schema, "{\"frozen\":\"fire\"}", SL_SCHEMA_UPDATE, stored, &errs));
    cr_assert_str_eq(err_at(errs, "frozen"), "immutable field cannot be updated");
    json_decref(errs);
    /* the merged entity is validated as a whole */
    cr_assert_null(
        run_op(&test_schema, "{\"rec\":{\"minute\":\"x\"}}", SL_SCHEMA_UPDATE, stored, &errs));
    assert_json(errs, "{\"rec\":{\"minute\":\"expected a number\"}}");
    json_decref(errs);
    json_decref(stored);
}

Test(engine, put_replaces_everything)
{
    json_t *stored = ok_insert(&test_schema, "{\"s\":\"old\",\"rec\":{\"minute\":7,\"hour\":3}}");
    json_t *errs = NULL;
    json_t *o = run_op(&test_schema, "{\"rec\":{\"hour\":4}}", SL_SCHEMA_UPSERT, stored, &errs);
    cr_assert_not_null(o);
    cr_assert(json_is_null(json_object_get(o, "s")));
    /* unspecified record fields fall back to defaults, not to the stored values */
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "rec"), "minute")), 5);
    cr_assert(json_equal(json_object_get(o, "id"), json_object_get(stored, "id")));
    cr_assert(json_equal(json_object_get(o, "created_at"), json_object_get(stored, "created_at")));
    json_decref(o);
    /* an id in the input (PUT /things/{uuid}) wins; a PUT without existing creates */
    o = run_op(&test_schema, "{\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\"}", SL_SCHEMA_UPSERT,
               NULL, &errs);
    cr_assert_str_eq(err_at(o, "id"), "4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b");
    json_decref(o);
    json_decref(stored);
}

Test(engine, update_requires_existing)
{
    json_t *errs = NULL;
    cr_assert_null(run_op(&test_schema, "{}", SL_SCHEMA_UPDATE, NULL, &errs));
    cr_assert_not_null(errs);
    json_decref(errs);
}

Test(engine, coerce_form)
{
    json_t *in =
        jparse("{\"i\":\"5\",\"n\":\"2.5\",\"b\":\"true\",\"s\":\"\",\"arr\":\"3\","
               "\"set\":{\"2\":\"y\",\"1\":\"x\"},\"map\":{\"k\":\"4\"},"
               "\"rec\":{\"minute\":\"10\"},\"ref\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\","
               "\"digits\":\"12\",\"ttl\":\"30\",\"unknown\":\"7\",\"code\":\"abc\"}");
    sl_schema_coerce_form(&test_schema, in);
    assert_json(in, "{\"i\":5,\"n\":2.5,\"b\":true,\"s\":null,\"arr\":[3],\"set\":[\"x\",\"y\"],"
                    "\"map\":{\"k\":4},\"rec\":{\"minute\":10},"
                    "\"ref\":{\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\"},\"digits\":\"12\","
                    "\"ttl\":30,\"unknown\":\"7\",\"code\":\"abc\"}");
    json_decref(in);
}

Test(engine, validate_field_direct)
{
    static const struct sl_field f = {.name = "p",
                                      .type = SL_FT_INTEGER,
                                      .has_between = true,
                                      .between_min = 1,
                                      .between_max = 1000};
    json_t *v = json_integer(0);
    json_t *e = sl_schema_validate_field(&f, v);
    cr_assert_str_eq(json_string_value(e), "value should be between 1 and 1000");
    json_decref(e);
    json_decref(v);
    v = json_integer(10);
    cr_assert_null(sl_schema_validate_field(&f, v));
    json_decref(v);
}

Test(engine, to_json_shape)
{
    json_t *j = sl_schema_to_json(&test_schema);
    json_t *f = json_object_get(j, "fields");
    assert_json(json_array_get(f, 0), "{\"id\":{\"type\":\"string\",\"uuid\":true,\"auto\":true}}");
    assert_json(json_array_get(f, 1),
                "{\"created_at\":{\"type\":\"integer\",\"timestamp\":true,\"auto\":true}}");
    assert_json(json_array_get(f, 5), "{\"i\":{\"type\":\"integer\",\"between\":[0,10]}}");
    assert_json(
        json_array_get(f, 22),
        "{\"arr\":{\"type\":\"array\",\"elements\":{\"type\":\"integer\",\"between\":[1,9]}}}");
    assert_json(json_array_get(f, 24),
                "{\"map\":{\"type\":\"map\",\"values\":{\"type\":\"integer\","
                "\"between\":[1,9]},\"keys\":{\"type\":\"string\"}}}");
    assert_json(json_array_get(f, 27), "{\"ref\":{\"type\":\"foreign\",\"reference\":\"things\"}}");
    assert_json(json_object_get(j, "entity_checks"),
                "[{\"mutually_exclusive\":[\"alpha\",\"beta\"]},{\"mutually_required\":[\"beta\","
                "\"gamma\"]}]");
    json_t *rec = json_object_get(json_array_get(f, 25), "rec");
    assert_json(json_object_get(rec, "entity_checks"),
                "[{\"at_least_one_of\":[\"minute\",\"hour\"]},{\"conditional\":{\"if_field\":"
                "\"policy\",\"if_match\":{\"match\":\"^redis$\"},\"then_field\":\"redis_host\","
                "\"then_match\":{\"required\":true}}}]");
    json_decref(j);
}
