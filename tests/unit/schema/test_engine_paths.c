/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the schema engine's cheap paths (docs/internals/schema.md "Cost"): the input's keys
 * walked once in any order, the fallbacks for wide tables and a full pattern cache, and defaults
 * whose containers each entity owns while their scalars are shared. */
#include <stdio.h>

#include "helpers.h"

static const struct sl_field small_fields[] = {
    {.name = "a", .type = SL_FT_STRING},
    {.name = "b", .type = SL_FT_INTEGER, .default_json = "7"},
    {.name = "list",
     .type = SL_FT_ARRAY,
     .elements = &(const struct sl_field){.type = SL_FT_STRING},
     .default_json = "[\"x\",\"y\"]"},
    {.name = "obj",
     .type = SL_FT_MAP,
     .keys = &(const struct sl_field){.type = SL_FT_STRING},
     .elements =
         &(const struct sl_field){.type = SL_FT_ARRAY,
                                  .elements = &(const struct sl_field){.type = SL_FT_STRING}},
     .default_json = "{\"k\":[\"v\"]}"},
    {.name = "c", .type = SL_FT_STRING},
    {.name = "d", .type = SL_FT_BOOLEAN},
    {0},
};
static const struct sl_schema small = {.name = "smalls", .fields = small_fields};

/* Keys in reverse schema order, one unknown among them: each value lands in its field, the
 * entity comes out in schema order, and the unknown key is reported. */
Test(engine_paths, keys_in_any_order)
{
    json_t *o = ok_insert(&small, "{\"d\":true,\"c\":\"C\",\"b\":3,\"a\":\"A\"}");
    cr_assert_str_eq(jtext(o),
                     "{\"a\":\"A\",\"b\":3,\"list\":[\"x\",\"y\"],\"obj\":{\"k\":[\"v\"]},"
                     "\"c\":\"C\",\"d\":true}");
    json_decref(o);

    json_t *e = bad_insert(&small, "{\"d\":1,\"zz\":2,\"a\":\"A\",\"q\":{}}");
    cr_assert_str_eq(jtext(e), "{\"d\":\"expected a boolean\",\"zz\":\"unknown field\","
                               "\"q\":\"unknown field\"}");
    json_decref(e);
}

/* A key repeated through the wrap-around search, and a key that only differs from a field by its
 * tail, are told apart. */
Test(engine_paths, near_names)
{
    json_t *e = bad_insert(&small, "{\"c\":\"C\",\"a\":\"A\",\"ab\":1,\"b\":2}");
    cr_assert_str_eq(jtext(e), "{\"ab\":\"unknown field\"}");
    json_decref(e);
}

/* Aggregate defaults are the entity's own: changing one entity's filled default leaves the
 * next entity's, and the cached literal, untouched. */
Test(engine_paths, default_containers_are_private)
{
    json_t *first = ok_insert(&small, "{}");
    json_t *list = json_object_get(first, "list");
    json_array_append_new(list, json_string("z"));
    json_array_set_new(list, 0, json_string("changed"));
    json_object_set_new(json_object_get(first, "obj"), "k2", json_string("w"));
    json_array_append_new(json_object_get(json_object_get(first, "obj"), "k"), json_string("v2"));

    json_t *second = ok_insert(&small, "{}");
    cr_assert_str_eq(jtext(json_object_get(second, "list")), "[\"x\",\"y\"]");
    cr_assert_str_eq(jtext(json_object_get(second, "obj")), "{\"k\":[\"v\"]}");
    cr_assert(json_object_get(first, "list") != json_object_get(second, "list"));
    json_decref(first);
    json_decref(second);
}

/* A table wider than the walked path allows (64 fields) is filled by lookups instead, with the
 * same result. */
Test(engine_paths, wide_table)
{
    enum { N = 70 };
    static char names[N][8];
    static struct sl_field wide[N + 1];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "f%d", i);
        wide[i] = (struct sl_field){.name = names[i], .type = SL_FT_INTEGER};
    }
    wide[N - 1].default_json = "5";
    const struct sl_schema s = {.name = "wides", .fields = wide};

    json_t *o = ok_insert(&s, "{\"f68\":1,\"f0\":2}");
    cr_assert_eq(json_object_size(o), N);
    cr_assert_eq(json_integer_value(json_object_get(o, "f0")), 2);
    cr_assert_eq(json_integer_value(json_object_get(o, "f68")), 1);
    cr_assert_eq(json_integer_value(json_object_get(o, "f69")), 5);
    cr_assert(json_is_null(json_object_get(o, "f1")));
    cr_assert_str_eq(json_object_iter_key(json_object_iter(o)), "f0");
    json_decref(o);

    json_t *e = bad_insert(&s, "{\"f3\":\"x\",\"nope\":1}");
    cr_assert_str_eq(jtext(e), "{\"f3\":\"expected an integer\",\"nope\":\"unknown field\"}");
    json_decref(e);
}

/* More distinct patterns than the compiled-pattern cache holds (128): every one still matches
 * and refuses correctly once the cache is full, first use or not. */
Test(engine_paths, pattern_cache_full)
{
    enum { N = 200 };
    static char pats[N][24];
    for (int i = 0; i < N; i++) {
        snprintf(pats[i], sizeof(pats[i]), "^p%d$", i);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            const struct sl_field f = {.name = "v", .type = SL_FT_STRING, .match = pats[i]};
            char good[16], bad[16], msg[48];
            snprintf(good, sizeof(good), "p%d", i);
            snprintf(bad, sizeof(bad), "p%dx", i);
            snprintf(msg, sizeof(msg), "invalid value: %s", bad);
            json_t *g = json_string(good), *b = json_string(bad);
            json_t *eg = sl_schema_validate_field(&f, g);
            json_t *eb = sl_schema_validate_field(&f, b);
            cr_assert_null(eg, "%s against %s", good, pats[i]);
            cr_assert_not_null(eb, "%s against %s", bad, pats[i]);
            cr_assert_str_eq(json_string_value(eb), msg);
            json_decref(eb);
            json_decref(g);
            json_decref(b);
        }
    }
}
