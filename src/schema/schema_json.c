/* SPDX-License-Identifier: Apache-2.0 */
/* Renders schemas as Kong's GET /schemas/{entity} JSON (fields as one-key objects in schema order,
 * entity_checks); functions such as custom validators are left out, as Kong strips them. */
#include <stdio.h>
#include <string.h>

#include "schema/schema.h"

static const char *const type_names[SL_FT_MAX] = {
    [SL_FT_STRING] = "string",   [SL_FT_INTEGER] = "integer", [SL_FT_NUMBER] = "number",
    [SL_FT_BOOLEAN] = "boolean", [SL_FT_ARRAY] = "array",     [SL_FT_SET] = "set",
    [SL_FT_MAP] = "map",         [SL_FT_RECORD] = "record",   [SL_FT_FOREIGN] = "foreign",
};

static json_t *fields_json(const struct sl_field *fields);
static json_t *checks_json(const struct sl_entity_check *checks);

static json_t *
str_list(const char *const *l)
{
    json_t *a = json_array();
    for (size_t i = 0; l != NULL && l[i] != NULL; i++) {
        json_array_append_new(a, json_string(l[i]));
    }
    return a;
}

static json_t *
num(double d)
{
    if (d == (double)(json_int_t)d) {
        return json_integer((json_int_t)d);
    }
    return json_real(d);
}

static json_t *
field_json(const struct sl_field *f, bool typed)
{
    json_t *o = json_object();
    if (typed) {
        json_object_set_new(o, "type", json_string(type_names[f->type]));
    }
    if (f->required) {
        json_object_set_new(o, "required", json_true());
    }
    if (f->unique) {
        json_object_set_new(o, "unique", json_true());
    }
    if (f->immutable) {
        json_object_set_new(o, "immutable", json_true());
    }
    if (f->uuid) {
        json_object_set_new(o, "uuid", json_true());
    }
    if (f->timestamp) {
        json_object_set_new(o, "timestamp", json_true());
    }
    if (f->auto_kind != SL_AUTO_NONE) {
        json_object_set_new(o, "auto", json_true());
    }
    if (f->referenceable) {
        json_object_set_new(o, "referenceable", json_true());
    }
    if (f->encrypted) {
        json_object_set_new(o, "encrypted", json_true());
    }
    if (f->eq_null) {
        json_object_set_new(o, "eq", json_null());
    }
    if (f->ne_true) {
        json_object_set_new(o, "ne", json_true());
    }
    if (f->err != NULL) {
        json_object_set_new(o, "err", json_string(f->err));
    }
    if (f->default_json != NULL) {
        json_t *d = json_loads(f->default_json, JSON_DECODE_ANY, NULL);
        if (d != NULL) {
            json_object_set_new(o, "default", d);
        }
    }
    if (f->one_of != NULL) {
        json_object_set_new(o, "one_of", str_list(f->one_of));
    }
    if (f->one_of_int != NULL) {
        json_t *a = json_array();
        for (size_t i = 0; i < f->one_of_int_n; i++) {
            json_array_append_new(a, json_integer(f->one_of_int[i]));
        }
        json_object_set_new(o, "one_of", a);
    }
    if (f->not_one_of != NULL) {
        json_object_set_new(o, "not_one_of", str_list(f->not_one_of));
    }
    if (f->has_between) {
        json_t *a = json_array();
        json_array_append_new(a, num(f->between_min));
        json_array_append_new(a, num(f->between_max));
        json_object_set_new(o, "between", a);
    }
    if (f->has_gt) {
        json_object_set_new(o, "gt", num(f->gt));
    }
    if (f->len_eq) {
        json_object_set_new(o, "len_eq", json_integer(f->len_eq));
    }
    if (f->len_min) {
        json_object_set_new(o, "len_min", json_integer(f->len_min));
    }
    if (f->len_max) {
        json_object_set_new(o, "len_max", json_integer(f->len_max));
    }
    if (f->starts_with != NULL) {
        json_object_set_new(o, "starts_with", json_string(f->starts_with));
    }
    if (f->match != NULL) {
        json_object_set_new(o, "match", json_string(f->match));
    }
    const struct sl_match *lists[2] = {f->match_none, f->match_all};
    const char *lnames[2] = {"match_none", "match_all"};
    for (int l = 0; l < 2; l++) {
        if (lists[l] == NULL) {
            continue;
        }
        json_t *a = json_array();
        for (const struct sl_match *m = lists[l]; m->pattern != NULL; m++) {
            json_array_append_new(a, json_pack("{s:s,s:s}", "pattern", m->pattern, "err", m->err));
        }
        json_object_set_new(o, lnames[l], a);
    }
    if (f->match_any != NULL) {
        json_object_set_new(
            o, "match_any",
            json_pack("{s:o,s:s?}", "patterns", str_list(f->match_any), "err", f->match_any_err));
    }
    if (f->contains != NULL) {
        json_object_set_new(o, "contains", json_string(f->contains));
    }
    if (f->elements != NULL) {
        json_object_set_new(o, f->type == SL_FT_MAP ? "values" : "elements",
                            field_json(f->elements, true));
    }
    if (f->keys != NULL) {
        json_object_set_new(o, "keys", field_json(f->keys, true));
    }
    if (f->type == SL_FT_RECORD && f->fields != NULL) {
        json_object_set_new(o, "fields", fields_json(f->fields));
        if (f->checks != NULL) {
            json_object_set_new(o, "entity_checks", checks_json(f->checks));
        }
    }
    if (f->type == SL_FT_FOREIGN) {
        static const char *const od[SL_ON_DELETE_MAX] = {"restrict", "cascade", "null"};
        json_object_set_new(o, "reference", json_string(f->reference));
        if (f->on_delete != SL_ON_DELETE_RESTRICT) {
            json_object_set_new(o, "on_delete", json_string(od[f->on_delete]));
        }
    }
    return o;
}

static json_t *
fields_json(const struct sl_field *fields)
{
    json_t *a = json_array();
    for (const struct sl_field *f = fields; f != NULL && f->name != NULL; f++) {
        json_t *one = json_object();
        json_object_set_new(one, f->name, field_json(f, true));
        json_array_append_new(a, one);
    }
    return a;
}

static json_t *
checks_json(const struct sl_entity_check *checks)
{
    static const char *const names[SL_CHECK_MAX] = {
        [SL_CHECK_AT_LEAST_ONE_OF] = "at_least_one_of",
        [SL_CHECK_ONLY_ONE_OF] = "only_one_of",
        [SL_CHECK_MUTUALLY_EXCLUSIVE] = "mutually_exclusive",
        [SL_CHECK_MUTUALLY_REQUIRED] = "mutually_required",
        [SL_CHECK_DISTINCT] = "distinct",
        [SL_CHECK_CONDITIONAL] = "conditional",
        [SL_CHECK_CONDITIONAL_AT_LEAST_ONE_OF] = "conditional_at_least_one_of",
        [SL_CHECK_CUSTOM] = "custom_entity_check",
    };
    json_t *a = json_array();
    for (const struct sl_entity_check *c = checks; c != NULL && c->kind != SL_CHECK_NONE; c++) {
        json_t *arg;
        switch (c->kind) {
        case SL_CHECK_CONDITIONAL:
            arg = json_object();
            json_object_set_new(arg, "if_field", json_string(c->if_field));
            json_object_set_new(arg, "if_match", field_json(c->if_match, false));
            json_object_set_new(arg, "then_field", json_string(c->then_field));
            json_object_set_new(arg, "then_match", field_json(c->then_match, false));
            if (c->then_err != NULL) {
                json_object_set_new(arg, "then_err", json_string(c->then_err));
            }
            break;
        case SL_CHECK_CONDITIONAL_AT_LEAST_ONE_OF:
            arg = json_object();
            json_object_set_new(arg, "if_field", json_string(c->if_field));
            json_object_set_new(arg, "if_match", field_json(c->if_match, false));
            json_object_set_new(arg, "then_at_least_one_of", str_list(c->fields));
            if (c->then_err != NULL) {
                json_object_set_new(arg, "then_err", json_string(c->then_err));
            }
            if (c->else_match != NULL) {
                json_object_set_new(arg, "else_match", field_json(c->else_match, false));
                json_object_set_new(arg, "else_then_at_least_one_of", str_list(c->else_fields));
                if (c->else_err != NULL) {
                    json_object_set_new(arg, "else_then_err", json_string(c->else_err));
                }
            }
            break;
        case SL_CHECK_CUSTOM:
            arg = json_object();
            json_object_set_new(arg, "field_sources", str_list(c->fields));
            break;
        default:
            arg = str_list(c->fields);
            break;
        }
        json_t *one = json_object();
        json_object_set_new(one, names[c->kind], arg);
        json_array_append_new(a, one);
    }
    return a;
}

json_t *
sl_schema_to_json(const struct sl_schema *s)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "fields", fields_json(s->fields));
    if (s->checks != NULL) {
        json_object_set_new(o, "entity_checks", checks_json(s->checks));
    }
    return o;
}
