/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of Kong's error bodies (kong/db/errors.lua): exact JSON and messages, the ordering and
 * flattening rules of schema violations, Penlight-style pretty printing and the HTTP statuses. */
#include "helpers.h"

static void
assert_body(json_t *body, const char *want)
{
    cr_assert_not_null(body);
    json_t *w = jparse(want);
    cr_assert(json_equal(body, w), "got %s", jtext(body));
    json_decref(w);
    json_decref(body);
}

Test(errors, schema_violation_one)
{
    json_t *f = jparse("{\"host\":\"required field missing\"}");
    assert_body(sl_err_schema_violation(f),
                "{\"code\":2,\"name\":\"schema violation\",\"message\":\"schema violation (host: "
                "required field missing)\",\"fields\":{\"host\":\"required field missing\"}}");
    json_decref(f);
}

Test(errors, schema_violation_many_sorted_entity_first)
{
    json_t *f = jparse("{\"port\":\"expected an integer\",\"@entity\":[\"e1\",\"e2\"],"
                       "\"config\":{\"second\":\"expected a number\",\"minute\":\"expected a "
                       "number\"},\"host\":\"x\"}");
    json_t *b = sl_err_schema_violation(f);
    cr_assert_str_eq(json_string_value(json_object_get(b, "message")),
                     "6 schema violations (e1; e2; config.minute: expected a number; "
                     "config.second: expected a number; host: x; port: expected an integer)");
    cr_assert(json_equal(json_object_get(b, "fields"), f));
    json_decref(b);
    json_decref(f);
}

Test(errors, schema_violation_deep_tables_pretty_printed)
{
    json_t *f = jparse("{\"healthchecks\":{\"active\":{\"timeout\":\"bad\",\"healthy\":"
                       "{\"interval\":\"worse\"}}}}");
    json_t *b = sl_err_schema_violation(f);
    cr_assert_str_eq(json_string_value(json_object_get(b, "message")),
                     "schema violation (healthchecks.active: {healthy={interval=\"worse\"},"
                     "timeout=\"bad\"})");
    json_decref(b);
    json_decref(f);
}

Test(errors, pretty)
{
    json_t *v = jparse(
        "{\"name\":\"svc\",\"a-b\":1,\"n\":null,\"l\":[\"x\",2,true],\"q\":\"say \\\"hi\\\"\"}");
    char *p = sl_err_pretty(v);
    cr_assert_str_eq(p, "{[\"a-b\"]=1,l={\"x\",2,true},n=null,name=\"svc\",q=\"say \\\"hi\\\"\"}");
    free(p);
    json_decref(v);
}

Test(errors, unique_violation)
{
    json_t *k = jparse("{\"name\":\"svc\"}");
    assert_body(sl_err_unique_violation(k),
                "{\"code\":5,\"name\":\"unique constraint violation\",\"message\":\"UNIQUE "
                "violation detected on '{name=\\\"svc\\\"}'\",\"fields\":{\"name\":\"svc\"}}");
    json_decref(k);
}

Test(errors, foreign_key_invalid)
{
    json_t *k = jparse("{\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\"}");
    assert_body(sl_err_foreign_key_invalid(k, "service", "services"),
                "{\"code\":4,\"name\":\"foreign key violation\",\"message\":\"the foreign key "
                "'{id=\\\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\\\"}' does not reference an "
                "existing 'services' entity.\",\"fields\":{\"service\":{\"id\":"
                "\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\"}}}");
    json_decref(k);
}

Test(errors, foreign_key_restricted)
{
    assert_body(sl_err_foreign_key_restricted("services", "routes"),
                "{\"code\":4,\"name\":\"foreign key violation\",\"message\":\"an existing "
                "'routes' entity references this 'services' entity\",\"fields\":"
                "{\"@referenced_by\":\"routes\"}}");
}

Test(errors, not_found_offset_size_pk)
{
    json_t *k = jparse("{\"id\":\"x\"}");
    assert_body(sl_err_not_found(k),
                "{\"code\":6,\"name\":\"not found\",\"message\":\"could not find the entity with "
                "primary key '{id=\\\"x\\\"}'\",\"fields\":{\"id\":\"x\"}}");
    assert_body(sl_err_invalid_primary_key(k),
                "{\"code\":1,\"name\":\"invalid primary key\",\"message\":\"invalid primary key: "
                "'{id=\\\"x\\\"}'\",\"fields\":{\"id\":\"x\"}}");
    assert_body(sl_err_primary_key_violation(k),
                "{\"code\":3,\"name\":\"primary key violation\",\"message\":\"primary key "
                "violation on key '{id=\\\"x\\\"}'\",\"fields\":{\"id\":\"x\"}}");
    json_decref(k);
    assert_body(sl_err_invalid_offset("abc", "bad base64 encoding"),
                "{\"code\":7,\"name\":\"invalid offset\",\"message\":\"'abc' is not a valid "
                "offset: bad base64 encoding\"}");
    assert_body(sl_err_invalid_size("size must be an integer between 1 and 1000"),
                "{\"code\":9,\"name\":\"invalid size\",\"message\":\"size must be an integer "
                "between 1 and 1000\"}");
}

Test(errors, unsupported_declarative_referenced)
{
    assert_body(
        sl_err_operation_unsupported("cannot create 'services' entities when not using a database"),
        "{\"code\":12,\"name\":\"operation unsupported\",\"message\":\"cannot create "
        "'services' entities when not using a database\"}");
    json_t *f = jparse("{\"services\":[{\"host\":\"required field missing\"}]}");
    assert_body(sl_err_declarative(f),
                "{\"code\":14,\"name\":\"invalid declarative configuration\",\"message\":"
                "\"declarative config is invalid: {services={{host=\\\"required field "
                "missing\\\"}}}\",\"fields\":{\"services\":[{\"host\":\"required field "
                "missing\"}]}}");
    json_decref(f);
    assert_body(sl_err_referenced_by_others("referenced by others"),
                "{\"code\":19,\"name\":\"referenced by others\",\"message\":\"referenced by "
                "others\"}");
}

Test(errors, http_status_and_names)
{
    cr_assert_eq(sl_err_http_status(SL_ERR_SCHEMA_VIOLATION), 400);
    cr_assert_eq(sl_err_http_status(SL_ERR_UNIQUE_VIOLATION), 409);
    cr_assert_eq(sl_err_http_status(SL_ERR_FOREIGN_KEY_VIOLATION), 400);
    cr_assert_eq(sl_err_http_status(SL_ERR_NOT_FOUND), 404);
    cr_assert_eq(sl_err_http_status(SL_ERR_INVALID_OFFSET), 400);
    cr_assert_eq(sl_err_http_status(SL_ERR_INVALID_SIZE), 400);
    cr_assert_eq(sl_err_http_status(SL_ERR_OPERATION_UNSUPPORTED), 405);
    cr_assert_eq(sl_err_http_status(SL_ERR_DECLARATIVE_CONFIG), 400);
    cr_assert_eq(sl_err_http_status(SL_ERR_DATABASE_ERROR), 500);
    cr_assert_eq(sl_err_http_status(SL_ERR_INVALID_PRIMARY_KEY), 400);
    cr_assert_eq(sl_err_http_status(SL_ERR_REFERENCED_BY_OTHERS), 400);
    cr_assert_str_eq(sl_err_name(SL_ERR_INVALID_UNIQUE), "invalid unique %s");
    cr_assert_null(sl_err_name(SL_ERR_MAX));
}

Test(errors, declarative_flattened)
{
    json_t *input = jparse(
        "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"ok\",\"host\":\"h\"},"
        "{\"name\":\"bad\",\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\",\"tags\":[\"t\"],"
        "\"protocol\":\"tcp\",\"path\":\"/p\",\"routes\":[{\"name\":\"r1\",\"paths\":[\"/\"]},"
        "{\"name\":\"r2\",\"paths\":[\"/\",\"x\"]}]}],\"consumers\":[{}]}");
    json_t *err_t = jparse(
        "{\"services\":[null,{\"path\":\"value must be null\",\"@entity\":[\"failed conditional "
        "validation given value of field 'protocol'\"],\"routes\":[null,{\"paths\":[null,\"should "
        "start with: / (fixed path) or ~/ (regex path)\"]}]}],\"consumers\":{\"1\":{\"@entity\":"
        "[\"at least one of these fields must be non-empty: 'custom_id', 'username'\"]}},"
        "\"_format_version\":\"unsupported\"}");
    json_t *b = sl_err_declarative_flattened(err_t, input);
    cr_assert_not_null(b);
    cr_assert_eq(json_integer_value(json_object_get(b, "code")), 14);
    cr_assert_str_eq(json_string_value(json_object_get(b, "message")),
                     "declarative config is invalid: {_format_version=\"unsupported\"}");
    assert_json(json_object_get(b, "fields"), "{\"_format_version\":\"unsupported\"}");
    json_t *fl = json_object_get(b, "flattened_errors");
    cr_assert_eq(json_array_size(fl), 3, "%s", jtext(fl));
    /* sections in sorted order: consumers, then services (the route is hoisted first) */
    assert_json(json_array_get(fl, 0),
                "{\"entity_type\":\"consumer\",\"entity\":{},\"errors\":[{\"type\":\"entity\","
                "\"message\":\"at least one of these fields must be non-empty: 'custom_id', "
                "'username'\"}]}");
    json_t *route = json_array_get(fl, 1);
    cr_assert_str_eq(json_string_value(json_object_get(route, "entity_type")), "route");
    cr_assert_str_eq(json_string_value(json_object_get(route, "entity_name")), "r2");
    assert_json(json_object_get(json_object_get(route, "entity"), "service"),
                "{\"id\":\"4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b\"}");
    assert_json(json_object_get(route, "errors"),
                "[{\"type\":\"field\",\"field\":\"paths.2\",\"message\":\"should start with: / "
                "(fixed path) or ~/ (regex path)\"}]");
    json_t *svc = json_array_get(fl, 2);
    cr_assert_str_eq(json_string_value(json_object_get(svc, "entity_type")), "service");
    cr_assert_str_eq(json_string_value(json_object_get(svc, "entity_id")),
                     "4a5c5c1e-8f4a-4b7e-9b1a-0c1d2e3f4a5b");
    assert_json(json_object_get(svc, "entity_tags"), "[\"t\"]");
    cr_assert_null(json_object_get(json_object_get(svc, "entity"), "routes"));
    assert_json(json_object_get(svc, "errors"),
                "[{\"type\":\"entity\",\"message\":\"failed conditional validation given value of "
                "field 'protocol'\"},{\"type\":\"field\",\"field\":\"path\",\"message\":\"value "
                "must be null\"}]");
    json_decref(b);
    json_decref(err_t);
    json_decref(input);
}
