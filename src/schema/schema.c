/* SPDX-License-Identifier: Apache-2.0 */
/* The schema engine: fills defaults and auto fields, merges updates, validates fields and entity
 * checks with Kong's messages (kong/db/schema/init.lua), and coerces form input. It knows no
 * entity; entity tables live in entities/. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/rand.h>
#include <pcre2.h>

#include "core/json_alloc.h"
#include "core/utf8.h"
#include "core/uuid.h"
#include "schema/schema.h"

const struct sl_schema *(*sl_plugin_schema_lookup)(const char *name);

#define ERRLEN 2048

/* ---- small helpers ------------------------------------------------------------------------- */

int
sl_schema_uuid_v4(char out[37])
{
    return sl_uuid_v4(out);
}

bool
sl_schema_is_uuid(const char *s)
{
    return sl_uuid_valid(s);
}

const struct sl_field *
sl_schema_fields_find(const struct sl_field *fields, const char *name)
{
    for (const struct sl_field *f = fields; f != NULL && f->name != NULL; f++) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

const struct sl_field *
sl_schema_field(const struct sl_schema *s, const char *name)
{
    return sl_schema_fields_find(s->fields, name);
}

/* Kong's is_nonempty(): null, "", {} and [] are empty. */
static bool
is_nonempty(const json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        return false;
    }
    if (json_is_string(v)) {
        return json_string_length(v) > 0;
    }
    if (json_is_array(v)) {
        return json_array_size(v) > 0;
    }
    if (json_is_object(v)) {
        return json_object_size(v) > 0;
    }
    return true;
}

/* Kong's get_field(): dotted names reach into records. Returns NULL when absent. */
static const json_t *
get_path(const json_t *obj, const char *name)
{
    const char *dot = strchr(name, '.');
    if (!json_is_object(obj)) {
        return NULL;
    }
    if (dot == NULL) {
        return json_object_get(obj, name);
    }
    char head[128];
    size_t n = (size_t)(dot - name);
    if (n >= sizeof(head)) {
        return NULL;
    }
    memcpy(head, name, n);
    head[n] = 0;
    return get_path(json_object_get(obj, head), dot + 1);
}

/* Kong's set_field() into the errors table: creates intermediate objects. */
static void
set_path_err(json_t *errors, const char *name, json_t *err)
{
    const char *dot = strchr(name, '.');
    if (dot == NULL) {
        json_object_set_new(errors, name, err);
        return;
    }
    char head[128];
    size_t n = (size_t)(dot - name);
    if (n >= sizeof(head)) {
        json_decref(err);
        return;
    }
    memcpy(head, name, n);
    head[n] = 0;
    json_t *sub = json_object_get(errors, head);
    if (!json_is_object(sub)) {
        sub = json_object();
        json_object_set_new(errors, head, sub);
    }
    set_path_err(sub, dot + 1, err);
}

static const struct sl_field *
get_schema_path(const struct sl_field *fields, const char *name)
{
    const char *dot = strchr(name, '.');
    if (dot == NULL) {
        return sl_schema_fields_find(fields, name);
    }
    char head[128];
    size_t n = (size_t)(dot - name);
    if (n >= sizeof(head)) {
        return NULL;
    }
    memcpy(head, name, n);
    head[n] = 0;
    const struct sl_field *f = sl_schema_fields_find(fields, head);
    return f != NULL && f->type == SL_FT_RECORD ? get_schema_path(f->fields, dot + 1) : NULL;
}

/* An error message as a JSON string. A message may quote bytes that are not UTF-8 (a route path's
 * normalised form decodes "%AA" to the byte 0xAA) and jansson refuses such a string: json_string()
 * would return NULL, which callers read as "no error", so the invalid value was accepted. Those
 * bytes are spelled "\xAA" instead; the message, and the rejection, stay. */
json_t *
sl_schema_err_string(const char *msg)
{
    json_t *j = json_string(msg);
    if (j != NULL) {
        return j;
    }
    size_t len = strlen(msg);
    char *out = malloc(len * 4 + 1);
    if (out == NULL) {
        return json_string("invalid value");
    }
    const unsigned char *p = (const unsigned char *)msg, *end = p + len;
    size_t w = 0;
    while (p < end) {
        size_t n = *p < 0x80 ? 1 : sl_utf8_seq_len(p, (size_t)(end - p));
        if (n == 0) {
            w += (size_t)snprintf(out + w, 5, "\\x%02X", *p);
            p++;
        } else {
            memcpy(out + w, p, n);
            w += n;
            p += n;
        }
    }
    out[w] = 0;
    j = json_string(out);
    free(out);
    return j != NULL ? j : json_string("invalid value");
}

static void
entity_err(json_t *errors, const char *msg)
{
    json_t *arr = json_object_get(errors, "@entity");
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(errors, "@entity", arr);
    }
    json_array_append_new(arr, sl_schema_err_string(msg));
}

/* "'a', 'b'" (Kong's quoted_list). */
static void
quoted_list(const char *const *names, char *out, size_t outlen)
{
    size_t w = 0;
    out[0] = 0;
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        int n = snprintf(out + w, outlen - w, "%s'%s'", i ? ", " : "", names[i]);
        if (n < 0 || (size_t)n >= outlen - w) {
            break;
        }
        w += (size_t)n;
    }
}

/* Lua's string.format(<tmpl>, <arg>) for templates with one "%s" (schema-supplied messages). */
static void
fmt1(char *out, size_t outlen, const char *tmpl, const char *arg)
{
    const char *at = strstr(tmpl, "%s");
    if (at == NULL) {
        snprintf(out, outlen, "%s", tmpl);
        return;
    }
    snprintf(out, outlen, "%.*s%s%s", (int)(at - tmpl), tmpl, arg, at + 2);
}

/* Lua's tostring() of a number as Kong's messages print it: integers without a fraction. */
static void
fmt_num(double d, char *out, size_t outlen)
{
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(out, outlen, "%lld", (long long)d);
    } else {
        snprintf(out, outlen, "%.14g", d);
    }
}

/* ---- PCRE2 with a small compiled-pattern cache (patterns are static strings) ---------------- */

#define RE_CACHE 128
static struct {
    const char *pat;
    pcre2_code *code;
    pcre2_match_data *md; /* one ovector pair: only whether it matches is asked */
} re_cache[RE_CACHE];
static pthread_mutex_t re_lock = PTHREAD_MUTEX_INITIALIZER;

/* 1 when <subject> matches static pattern <pat>, 0 when not, -1 when the pattern is broken
 * (treated as no match; patterns are part of the schema tables, so a unit test catches that).
 * Compiled patterns and their match data are cached by the pattern's address, open-addressed,
 * and matched under the lock (validation runs on the control thread and the CLI, never on a
 * worker): a match then costs no allocation. */
static int
re_match(const char *pat, const char *subject, size_t len)
{
    int ec, rc = -1;
    PCRE2_SIZE eo;
    size_t h = (size_t)(((uintptr_t)pat >> 3) * 2654435761u) % RE_CACHE;
    pthread_mutex_lock(&re_lock);
    for (size_t probe = 0; probe < RE_CACHE; probe++, h = (h + 1) % RE_CACHE) {
        if (re_cache[h].pat == NULL) {
            pcre2_code *code =
                pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
            pcre2_match_data *md = code != NULL ? pcre2_match_data_create(1, NULL) : NULL;
            if (md == NULL) {
                pcre2_code_free(code);
                goto out;
            }
            re_cache[h].pat = pat;
            re_cache[h].code = code;
            re_cache[h].md = md;
        }
        if (re_cache[h].pat == pat) {
            /* 0 (ovector too small) is a match too */
            rc = pcre2_match(re_cache[h].code, (PCRE2_SPTR)subject, len, 0, 0, re_cache[h].md,
                             NULL) >= 0
                     ? 1
                     : 0;
            goto out;
        }
    }
    /* cache full: correct, only slower */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
    pcre2_match_data *md = code != NULL ? pcre2_match_data_create(1, NULL) : NULL;
    if (md != NULL) {
        rc = pcre2_match(code, (PCRE2_SPTR)subject, len, 0, 0, md, NULL) >= 0 ? 1 : 0;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(code);
out:
    pthread_mutex_unlock(&re_lock);
    return rc;
}

/* ---- field validation ---------------------------------------------------------------------- */

static json_t *validate_record(const struct sl_field *fields, const struct sl_entity_check *checks,
                               const json_t *value);
static void run_checks(const struct sl_field *fields, const struct sl_entity_check *checks,
                       const json_t *entity, json_t *errors);

static bool
is_integral(const json_t *v)
{
    if (json_is_integer(v)) {
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* beyond 2^53 a double is not an exact integer, and the store keeps int64 */
        return isfinite(d) && d == floor(d) && fabs(d) <= 9007199254740992.0;
    }
    return false;
}

static double
num_value(const json_t *v)
{
    return json_number_value(v);
}

static size_t
agg_len(const struct sl_field *f, const json_t *v)
{
    if (json_is_string(v)) {
        return json_string_length(v);
    }
    if (json_is_array(v)) {
        return json_array_size(v);
    }
    if (json_is_object(v)) {
        return json_object_size(v);
    }
    return 0;
}

static bool
value_in_list(const json_t *v, const char *const *list)
{
    char buf[64];
    const char *s = NULL;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_number(v)) {
        fmt_num(num_value(v), buf, sizeof(buf));
        s = buf;
    } else {
        return false;
    }
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static void
join_list(const char *const *list, char *out, size_t outlen)
{
    size_t w = 0;
    out[0] = 0;
    for (size_t i = 0; list[i] != NULL; i++) {
        int n = snprintf(out + w, outlen - w, "%s%s", i ? ", " : "", list[i]);
        if (n < 0 || (size_t)n >= outlen - w) {
            break;
        }
        w += (size_t)n;
    }
}

/* The declarative validators in Kong's validators_order. Returns 0 or -1 with <err>. */
static int
run_validators(const struct sl_field *f, const json_t *v, char *err, size_t errlen)
{
    char a[64], b[64], list[1024];
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t slen = s ? json_string_length(v) : 0;

    if (f->ne_true && json_is_true(v)) {
        snprintf(err, errlen, "value must not be true");
        return -1;
    }
    if (f->one_of != NULL && !value_in_list(v, f->one_of)) {
        join_list(f->one_of, list, sizeof(list));
        snprintf(err, errlen, "expected one of: %s", list);
        return -1;
    }
    if (f->one_of_int != NULL) {
        bool ok = false;
        for (size_t i = 0; i < f->one_of_int_n && !ok; i++) {
            ok = json_is_number(v) && num_value(v) == (double)f->one_of_int[i];
        }
        if (!ok) {
            size_t w = 0;
            list[0] = 0;
            for (size_t i = 0; i < f->one_of_int_n; i++) {
                int n =
                    snprintf(list + w, sizeof(list) - w, "%s%lld", i ? ", " : "", f->one_of_int[i]);
                if (n > 0 && (size_t)n < sizeof(list) - w) {
                    w += (size_t)n;
                }
            }
            snprintf(err, errlen, "expected one of: %s", list);
            return -1;
        }
    }
    if (f->not_one_of != NULL && value_in_list(v, f->not_one_of)) {
        join_list(f->not_one_of, list, sizeof(list));
        snprintf(err, errlen, "expected none of: %s", list);
        return -1;
    }
    if (f->has_gt && json_is_number(v) && !(num_value(v) > f->gt)) {
        fmt_num(f->gt, a, sizeof(a));
        snprintf(err, errlen, "value must be greater than %s", a);
        return -1;
    }
    /* Schema.validators.timestamp: a point in time after the epoch */
    if (f->timestamp && json_is_number(v) && !(num_value(v) > 0)) {
        snprintf(err, errlen, "expected a valid timestamp");
        return -1;
    }
    if (f->uuid && s != NULL && !sl_schema_is_uuid(s)) {
        snprintf(err, errlen, "expected a valid UUID");
        return -1;
    }
    if (f->has_between && json_is_number(v) &&
        (num_value(v) < f->between_min || num_value(v) > f->between_max)) {
        fmt_num(f->between_min, a, sizeof(a));
        fmt_num(f->between_max, b, sizeof(b));
        snprintf(err, errlen, "value should be between %s and %s", a, b);
        return -1;
    }
    if (f->type == SL_FT_STRING || f->type == SL_FT_ARRAY || f->type == SL_FT_SET ||
        f->type == SL_FT_MAP) {
        size_t len = agg_len(f, v);
        int len_min = f->len_min;
        if (f->type == SL_FT_STRING && len_min == 0 && !f->no_len_min) {
            len_min = 1; /* Kong: empty strings are not accepted by default */
        }
        if (f->len_eq > 0 && len != (size_t)f->len_eq) {
            snprintf(err, errlen, "length must be %d", f->len_eq);
            return -1;
        }
        if (len_min > 0 && len < (size_t)len_min) {
            snprintf(err, errlen, "length must be at least %d", len_min);
            return -1;
        }
        if (f->len_max > 0 && len > (size_t)f->len_max) {
            snprintf(err, errlen, "length must be at most %d", f->len_max);
            return -1;
        }
    }
    if (s != NULL) {
        if (f->starts_with != NULL && strncmp(s, f->starts_with, strlen(f->starts_with)) != 0) {
            snprintf(err, errlen, "should start with: %s", f->starts_with);
            return -1;
        }
        for (const struct sl_match *m = f->match_none; m != NULL && m->pattern != NULL; m++) {
            if (re_match(m->pattern, s, slen) == 1) {
                snprintf(err, errlen, "%s", m->err);
                return -1;
            }
        }
        if (f->match != NULL && re_match(f->match, s, slen) != 1) {
            snprintf(err, errlen, "invalid value: %s", s);
            return -1;
        }
        for (const struct sl_match *m = f->match_all; m != NULL && m->pattern != NULL; m++) {
            if (re_match(m->pattern, s, slen) != 1) {
                snprintf(err, errlen, "%s", m->err);
                return -1;
            }
        }
        if (f->match_any != NULL) {
            bool any = false;
            for (size_t i = 0; f->match_any[i] != NULL && !any; i++) {
                any = re_match(f->match_any[i], s, slen) == 1;
            }
            if (!any) {
                snprintf(err, errlen, "%s", f->match_any_err ? f->match_any_err : "invalid value");
                return -1;
            }
        }
    }
    if (f->contains != NULL && json_is_array(v)) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (json_is_string(e) && strcmp(json_string_value(e), f->contains) == 0) {
                found = true;
            }
        }
        if (!found) {
            snprintf(err, errlen, "expected to contain: %s", f->contains);
            return -1;
        }
    }
    if (f->custom != NULL) {
        err[0] = 0;
        if (f->custom(v, err, errlen) != 0) {
            if (err[0] == 0) {
                snprintf(err, errlen, "failed validating");
            }
            return -1;
        }
    }
    return 0;
}

/* An element/key/value schema: Kong forces `required = true` on it. */
static json_t *
validate_elem(const struct sl_field *ef, const json_t *v)
{
    struct sl_field tmp = *ef;
    tmp.required = true;
    return sl_schema_validate_field(&tmp, v);
}

json_t *
sl_schema_validate_field(const struct sl_field *f, const json_t *value)
{
    char err[ERRLEN];

    if (value == NULL || json_is_null(value)) {
        if (f->required && !f->eq_null) {
            return json_string("required field missing");
        }
        return NULL;
    }
    if (f->eq_null) {
        return json_string(f->err ? f->err : "value must be null");
    }
    switch (f->type) {
    case SL_FT_STRING:
        if (!json_is_string(value)) {
            return json_string("expected a string");
        }
        /* Sluice: C strings end at NUL, so a value with one would be checked shorter than it is
         * stored (Lua strings carry NULs; Kong's validators then reject them as invalid values) */
        if (strlen(json_string_value(value)) != json_string_length(value)) {
            return json_string("invalid value: contains a NUL byte");
        }
        break;
    case SL_FT_INTEGER:
        if (!is_integral(value)) {
            return json_string("expected an integer");
        }
        break;
    case SL_FT_NUMBER:
        if (!json_is_number(value)) {
            return json_string("expected a number");
        }
        break;
    case SL_FT_BOOLEAN:
        if (!json_is_boolean(value)) {
            return json_string("expected a boolean");
        }
        break;
    case SL_FT_ARRAY:
    case SL_FT_SET: {
        const char *msg = f->type == SL_FT_ARRAY ? "expected an array" : "expected a set";
        if (json_is_object(value) && json_object_size(value) == 0) {
            break; /* an empty Lua table is a sequence */
        }
        if (!json_is_array(value)) {
            return json_string(msg);
        }
        if (f->elements == NULL) {
            break;
        }
        /* Kong's element errors are a Lua table indexed by position, which cjson writes as an
         * array up to its last member: nulls fill the gaps before a failing element, and
         * nothing follows the last one (["expected one of: ..."] for the first of two). */
        json_t *errs = NULL;
        size_t i;
        json_t *e;
        json_array_foreach(value, i, e)
        {
            json_t *ee = validate_elem(f->elements, e);
            if (ee != NULL) {
                if (errs == NULL) {
                    errs = json_array();
                }
                while (json_array_size(errs) < i) {
                    json_array_append_new(errs, json_null());
                }
                json_array_append_new(errs, ee);
            }
        }
        if (errs != NULL) {
            return errs;
        }
        break;
    }
    case SL_FT_MAP: {
        if (json_is_array(value)) {
            /* A JSON or YAML list is a Lua table too, so Kong does not say "expected a map": it
             * validates the list's keys, the integers 1..n, against the key schema (a string
             * for every map here: "expected a string"), then its values. [] has no keys. */
            size_t i;
            json_t *e;
            json_array_foreach(value, i, e)
            {
                if (f->keys != NULL) {
                    json_t *kv = json_integer((json_int_t)i + 1);
                    json_t *ke = validate_elem(f->keys, kv);
                    json_decref(kv);
                    if (ke != NULL) {
                        return ke;
                    }
                }
                if (f->elements != NULL) {
                    json_t *ve = validate_elem(f->elements, e);
                    if (ve != NULL) {
                        return ve;
                    }
                }
            }
            break;
        }
        if (!json_is_object(value)) {
            return json_string("expected a map");
        }
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)value, k, e)
        {
            if (f->keys != NULL) {
                json_t *kv = json_string(k);
                json_t *ke = validate_elem(f->keys, kv);
                json_decref(kv);
                if (ke != NULL) {
                    return ke;
                }
            }
            if (f->elements != NULL) {
                json_t *ve = validate_elem(f->elements, e);
                if (ve != NULL) {
                    return ve;
                }
            }
        }
        break;
    }
    case SL_FT_RECORD: {
        if (json_is_array(value) && json_array_size(value) == 0) {
            break;
        }
        if (!json_is_object(value)) {
            return json_string("expected a record");
        }
        json_t *errs = validate_record(f->fields, f->checks, value);
        if (errs != NULL) {
            return errs;
        }
        break;
    }
    case SL_FT_FOREIGN: {
        /* Kong's validate_primary_key reads value.id: a string or an empty table has none (any
         * other scalar makes Kong fail with a 500; "expected a record" here) */
        if (json_is_string(value) || (json_is_array(value) && json_array_size(value) == 0)) {
            return json_pack("{s:s}", "id", "missing primary key");
        }
        if (!json_is_object(value)) {
            return json_string("expected a record");
        }
        const json_t *id = json_object_get(value, "id");
        const char *msg = NULL;
        if (id == NULL) {
            msg = "missing primary key";
        } else if (json_is_null(id)) {
            msg = "required field missing"; /* an auto field given as null */
        } else if (!json_is_string(id)) {
            msg = "expected a string";
        } else if (!sl_schema_is_uuid(json_string_value(id))) {
            msg = "expected a valid UUID";
        }
        if (msg != NULL) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_string(msg));
            return o;
        }
        break;
    }
    default:
        return json_string("invalid type");
    }
    if (run_validators(f, value, err, sizeof(err)) != 0) {
        return sl_schema_err_string(f->err ? f->err : err);
    }
    return NULL;
}

/* Validates every key of a record object. Returns NULL or a new errors object. */
static json_t *
validate_record(const struct sl_field *fields, const struct sl_entity_check *checks,
                const json_t *value)
{
    json_t *errors = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)value, k, v)
    {
        const struct sl_field *f = sl_schema_fields_find(fields, k);
        if (f == NULL) {
            json_object_set_new(errors, k, json_string("unknown field"));
            continue;
        }
        json_t *e = sl_schema_validate_field(f, v);
        if (e != NULL) {
            json_object_set_new(errors, k, e);
        }
    }
    /* Missing required fields (the record was not filled, e.g. inside an array) */
    for (const struct sl_field *f = fields; f != NULL && f->name != NULL; f++) {
        if (json_object_get(value, f->name) == NULL && f->required && f->default_json == NULL &&
            f->auto_kind == SL_AUTO_NONE) {
            json_object_set_new(errors, f->name, json_string("required field missing"));
        }
    }
    run_checks(fields, checks, value, errors);
    if (json_object_size(errors) == 0) {
        json_decref(errors);
        return NULL;
    }
    return errors;
}

/* ---- entity checks ------------------------------------------------------------------------- */

/* <base> with the non-zero validators of <over> laid on top (Kong's if_match/then_match, whose
 * metatable falls back on the schema field). */
static struct sl_field
overlay(const struct sl_field *base, const struct sl_field *over)
{
    struct sl_field r;
    if (base != NULL) {
        r = *base;
        r.required = false;
        r.eq_null = false;
        r.custom = NULL;
        r.err = NULL;
    } else {
        memset(&r, 0, sizeof(r));
        r.type = SL_FT_STRING;
    }
    r.required = over->required;
    if (over->eq_null) {
        r.eq_null = true;
    }
    if (over->ne_true) {
        r.ne_true = true;
    }
    if (over->one_of) {
        r.one_of = over->one_of;
    }
    if (over->one_of_int) {
        r.one_of_int = over->one_of_int;
        r.one_of_int_n = over->one_of_int_n;
    }
    if (over->not_one_of) {
        r.not_one_of = over->not_one_of;
    }
    if (over->has_between) {
        r.has_between = true;
        r.between_min = over->between_min;
        r.between_max = over->between_max;
    }
    if (over->len_min) {
        r.len_min = over->len_min;
    }
    if (over->match) {
        r.match = over->match;
    }
    if (over->match_any) {
        r.match_any = over->match_any;
        r.match_any_err = over->match_any_err;
    }
    if (over->contains) {
        r.contains = over->contains;
    }
    if (over->elements) {
        r.elements = over->elements;
    }
    if (over->custom) {
        r.custom = over->custom;
    }
    if (over->err) {
        r.err = over->err;
    }
    return r;
}

static bool
check_touches_errors(const struct sl_entity_check *c, const json_t *errors)
{
    if (c->fields == NULL) {
        return json_object_size(errors) > 0;
    }
    for (size_t i = 0; c->fields[i] != NULL; i++) {
        if (get_path(errors, c->fields[i]) != NULL) {
            return true;
        }
    }
    return false;
}

static bool
match_ok(const struct sl_field *fields, const char *fname, const struct sl_field *m,
         const json_t *v)
{
    struct sl_field tmp = overlay(get_schema_path(fields, fname), m);
    json_t *e = sl_schema_validate_field(&tmp, v);
    if (e != NULL) {
        json_decref(e);
        return false;
    }
    return true;
}

static bool
any_nonempty(const json_t *entity, const char *const *names)
{
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        if (is_nonempty(get_path(entity, names[i]))) {
            return true;
        }
    }
    return false;
}

/* An entity-level error "<what>: 'a', 'b'" naming <fields> (only formatted when a check fails). */
static void
fields_err(json_t *errors, const char *what, const char *const *fields)
{
    char list[1024], msg[1200];
    quoted_list(fields, list, sizeof(list));
    snprintf(msg, sizeof(msg), "%s: %s", what, list);
    entity_err(errors, msg);
}

static void
run_checks(const struct sl_field *fields, const struct sl_entity_check *checks,
           const json_t *entity, json_t *errors)
{
    char list[1024], msg[ERRLEN + 1100];
    for (const struct sl_entity_check *c = checks; c != NULL && c->kind != SL_CHECK_NONE; c++) {
        switch (c->kind) {
        case SL_CHECK_AT_LEAST_ONE_OF:
            if (!any_nonempty(entity, c->fields)) {
                fields_err(errors, "at least one of these fields must be non-empty", c->fields);
            }
            break;
        case SL_CHECK_ONLY_ONE_OF:
        case SL_CHECK_MUTUALLY_EXCLUSIVE:
        case SL_CHECK_MUTUALLY_REQUIRED: {
            size_t n = 0, set = 0;
            for (; c->fields[n] != NULL; n++) {
                set += is_nonempty(get_path(entity, c->fields[n])) ? 1 : 0;
            }
            if (c->kind == SL_CHECK_ONLY_ONE_OF && set != 1) {
                fields_err(errors, "only one of these fields must be non-empty", c->fields);
            } else if (c->kind == SL_CHECK_MUTUALLY_EXCLUSIVE && set > 1) {
                fields_err(errors, "only one or none of these fields must be set", c->fields);
            } else if (c->kind == SL_CHECK_MUTUALLY_REQUIRED && set != 0 && set != n) {
                fields_err(errors, "all or none of these fields must be set", c->fields);
            }
            break;
        }
        case SL_CHECK_DISTINCT:
            for (size_t i = 0; c->fields[i] != NULL; i++) {
                const json_t *a = get_path(entity, c->fields[i]);
                for (size_t j = 0; j < i && is_nonempty(a); j++) {
                    const json_t *b = get_path(entity, c->fields[j]);
                    if (is_nonempty(b) && json_equal((json_t *)a, (json_t *)b)) {
                        fields_err(errors, "values of these fields must be distinct", c->fields);
                        goto next;
                    }
                }
            }
            break;
        case SL_CHECK_CONDITIONAL: {
            const json_t *iv = get_path(entity, c->if_field);
            const json_t *tv = get_path(entity, c->then_field);
            if (!match_ok(fields, c->if_field, c->if_match, iv)) {
                break;
            }
            if (c->then_match->required && (tv == NULL || json_is_null(tv))) {
                set_path_err(errors, c->then_field, json_string("required field missing"));
            } else {
                struct sl_field tmp =
                    overlay(get_schema_path(fields, c->then_field), c->then_match);
                json_t *e = sl_schema_validate_field(&tmp, tv);
                if (e == NULL) {
                    break;
                }
                set_path_err(errors, c->then_field, e);
            }
            if (c->then_err != NULL) {
                fmt1(msg, sizeof(msg), c->then_err, c->if_field);
            } else {
                snprintf(msg, sizeof(msg),
                         "failed conditional validation given value of field '%s'", c->if_field);
            }
            entity_err(errors, msg);
            break;
        }
        case SL_CHECK_CONDITIONAL_AT_LEAST_ONE_OF: {
            const json_t *iv = get_path(entity, c->if_field);
            if (iv == NULL) {
                break;
            }
            const char *const *want = c->fields;
            const char *efmt = c->then_err;
            if (!match_ok(fields, c->if_field, c->if_match, iv)) {
                if (c->else_match == NULL || !match_ok(fields, c->if_field, c->else_match, iv)) {
                    break;
                }
                want = c->else_fields;
                efmt = c->else_err;
            }
            if (any_nonempty(entity, want)) {
                break;
            }
            quoted_list(want, list, sizeof(list));
            if (efmt != NULL) {
                fmt1(msg, sizeof(msg), efmt, list);
            } else {
                snprintf(msg, sizeof(msg), "at least one of these fields must be non-empty: %s",
                         list);
            }
            entity_err(errors, msg);
            break;
        }
        case SL_CHECK_CUSTOM: {
            if (check_touches_errors(c, errors)) {
                break; /* Kong: custom checks do not run over invalid fields */
            }
            char err[ERRLEN];
            err[0] = 0;
            if (c->fn(entity, errors, err, sizeof(err)) != 0 && err[0] != 0) {
                entity_err(errors, err);
            }
            break;
        }
        default:
            break;
        }
    next:;
    }
}

/* ---- filling, merging, normalising ---------------------------------------------------------- */

static json_t *fill_record(const struct sl_field *fields, const json_t *in);

/* Parsed defaults, cached by the address of their (static) literal: every entity fills a dozen of
 * them, and a copy of a parsed value is far cheaper than parsing the text again. The table is
 * open-addressed by that address, so a lookup is one probe in the usual case. */
#define DEFAULT_CACHE 256
static struct {
    const char *lit;
    json_t *value;
} default_cache[DEFAULT_CACHE];
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;

/* <v> with its arrays and objects copied and its scalars shared. Scalars are never modified in
 * place (the engine and its callers replace values), so one cached default scalar serves every
 * entity; aggregates are copied, since a caller may edit them. json_deep_copy would also copy
 * every string (4% of a 10k-route load went to it). */
static json_t *
copy_containers(json_t *v)
{
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            json_array_append_new(out, copy_containers(e));
        }
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            json_object_set_new(out, k, copy_containers(e));
        }
        return out;
    }
    return json_incref(v);
}

/* A new reference to the value of default literal <lit>, or NULL when it does not parse. */
static json_t *
parse_default(const char *lit)
{
    json_t *v = NULL;
    size_t h = (size_t)(((uintptr_t)lit >> 3) * 2654435761u) % DEFAULT_CACHE;
    pthread_mutex_lock(&default_lock);
    for (size_t probe = 0; probe < DEFAULT_CACHE; probe++, h = (h + 1) % DEFAULT_CACHE) {
        if (default_cache[h].lit == lit) {
            v = copy_containers(default_cache[h].value);
            goto out;
        }
        if (default_cache[h].lit == NULL) {
            json_t *parsed = json_loads(lit, JSON_DECODE_ANY, NULL);
            if (parsed != NULL) {
                default_cache[h].lit = lit;
                default_cache[h].value = parsed;
                v = copy_containers(parsed);
            }
            goto out;
        }
    }
    v = json_loads(lit, JSON_DECODE_ANY, NULL); /* cache full: correct, only slower */
out:
    pthread_mutex_unlock(&default_lock);
    return v;
}

/* Kong's handle_missing_field(). */
static json_t *
missing_value(const struct sl_field *f)
{
    if (f->default_json != NULL) {
        json_t *d = parse_default(f->default_json);
        if (d != NULL) {
            if (f->type == SL_FT_RECORD && json_is_object(d)) {
                json_t *r = fill_record(f->fields, d);
                json_decref(d);
                return r;
            }
            return d;
        }
    }
    if (f->required && f->type == SL_FT_RECORD) {
        json_t *empty = json_object();
        json_t *r = fill_record(f->fields, empty);
        json_decref(empty);
        return r;
    }
    return json_null();
}

/* The index in <fields> (<n> of them) of the field named <key>, or -1. The search starts at
 * <*hint> and wraps, and leaves *hint after the match: input in schema order (an entity Sluice or
 * Kong wrote) costs one compare per key, any other order at most <n>. */
static long
field_index(const struct sl_field *fields, size_t n, const char *key, size_t *hint)
{
    for (size_t k = 0, i = *hint; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
        if (fields[i].name[0] == key[0] && strcmp(fields[i].name, key) == 0) {
            *hint = i + 1 == n ? 0 : i + 1;
            return (long)i;
        }
    }
    return -1;
}

/* The field table's length. */
static size_t
fields_count(const struct sl_field *fields)
{
    size_t n = 0;
    while (fields != NULL && fields[n].name != NULL) {
        n++;
    }
    return n;
}

/* Lua's == on the values a set may hold: strings by content, numbers by value (1 == 1.0),
 * booleans, and ngx.null (one value); tables (objects, arrays) are equal only to themselves, so
 * two of them in a set never are. */
static bool
lua_equal(const json_t *a, const json_t *b)
{
    if (json_is_string(a) && json_is_string(b)) {
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    }
    if (json_is_number(a) && json_is_number(b)) {
        return json_number_value(a) == json_number_value(b);
    }
    if (json_is_boolean(a) && json_is_boolean(b)) {
        return json_is_true(a) == json_is_true(b);
    }
    return json_is_null(a) && json_is_null(b);
}

/* Kong's make_set (process_auto_fields): a set keeps the first of equal elements, in order. Returns
 * a new array without the repeats, or NULL when <v> has none (the common case costs no copy). */
static json_t *
set_unique(const json_t *v)
{
    size_t n = json_array_size(v);
    json_t *out = NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        bool repeat = false;
        for (size_t j = 0; j < i && !repeat; j++) {
            repeat = lua_equal(json_array_get(v, j), e);
        }
        if (!repeat) {
            if (out != NULL) {
                json_array_append(out, (json_t *)e);
            }
            continue;
        }
        if (out == NULL) {
            out = json_array();
            if (out == NULL) {
                return NULL; /* out of memory: validated as given */
            }
            for (size_t j = 0; j < i; j++) {
                json_array_append(out, json_array_get(v, j));
            }
        }
    }
    return out;
}

/* Above this many fields fill_record looks each one up by name instead (no table is near it). */
#define FILL_MAX_FIELDS 64

/* Record <in> with every field present (defaults, nulls) and nested records filled. Unknown keys
 * are kept so that validation reports them. The values of <in> are shared, not copied: callers
 * pass their own private tree (sl_schema_process deep-copies its input once).
 *
 * <in>'s keys are walked once, each matched to its field (an input names few of an entity's
 * fields, so this is far cheaper than a hashed lookup per field: most of a 10k-route load went
 * to those lookups). */
static json_t *
fill_record(const struct sl_field *fields, const json_t *in)
{
    json_t *given[FILL_MAX_FIELDS];
    size_t n = fields_count(fields);
    bool walked = n <= FILL_MAX_FIELDS;
    bool unknown = false;
    if (walked) {
        memset(given, 0, n * sizeof(given[0]));
        size_t hint = 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)in, k, v)
        {
            long i = field_index(fields, n, k, &hint);
            if (i < 0) {
                unknown = true;
            } else {
                given[i] = v;
            }
        }
    }
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++) {
        const struct sl_field *f = &fields[i];
        json_t *v = walked ? given[i] : json_object_get(in, f->name);
        if (v == NULL) {
            json_object_set_new_nocheck(out, f->name, missing_value(f)); /* ASCII names */
        } else if (f->type == SL_FT_RECORD && json_is_object(v)) {
            json_object_set_new_nocheck(out, f->name, fill_record(f->fields, v));
        } else if ((f->type == SL_FT_ARRAY || f->type == SL_FT_SET) && json_is_array(v) &&
                   f->elements != NULL && f->elements->type == SL_FT_RECORD) {
            /* Kong's adjust_field_for_context fills each record element too: a route's
             * sources [{ip=...}] come back as [{ip=..., port=null}] */
            json_t *arr = json_array();
            size_t j;
            json_t *e;
            json_array_foreach(v, j, e)
            {
                json_array_append_new(arr, json_is_object(e) ? fill_record(f->elements->fields, e)
                                                             : json_incref(e));
            }
            json_object_set_new_nocheck(out, f->name, arr);
        } else {
            json_t *unique = f->type == SL_FT_SET && json_is_array(v) ? set_unique(v) : NULL;
            if (unique != NULL) {
                json_object_set_new_nocheck(out, f->name, unique);
            } else {
                json_object_set_nocheck(out, f->name, v);
            }
        }
    }
    if (unknown || !walked) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)in, k, v)
        {
            if (sl_schema_fields_find(fields, k) == NULL) {
                json_object_set(out, k, v);
            }
        }
    }
    return out;
}

/* Kong's merge_values(): records merged field by field, everything else replaced. */
static json_t *
merge(const struct sl_field *fields, const json_t *bottom, const json_t *top)
{
    json_t *out = json_deep_copy(bottom);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)top, k, v)
    {
        const struct sl_field *f = sl_schema_fields_find(fields, k);
        json_t *b = json_object_get(out, k);
        if (f != NULL && f->type == SL_FT_RECORD && json_is_object(v) && json_is_object(b)) {
            json_object_set_new(out, k, merge(f->fields, b, v));
        } else {
            json_object_set_new(out, k, json_deep_copy(v));
        }
    }
    return out;
}

static void normalise(const struct sl_field *fields, json_t *obj);

/* After validation, field <f> of <obj> (value <v>): integral reals become integers, empty {}
 * aggregates become [], foreign references keep only their id. */
static void
normalise_field(const struct sl_field *f, json_t *obj, json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        return;
    }
    if (f->type == SL_FT_INTEGER && json_is_real(v)) {
        json_object_set_new(obj, f->name, json_integer((json_int_t)json_real_value(v)));
    } else if ((f->type == SL_FT_ARRAY || f->type == SL_FT_SET) && json_is_object(v)) {
        json_object_set_new(obj, f->name, json_array());
    } else if ((f->type == SL_FT_MAP || f->type == SL_FT_RECORD) && json_is_array(v)) {
        json_object_set_new(obj, f->name, json_object());
    } else if (f->type == SL_FT_RECORD) {
        normalise(f->fields, v);
    } else if (f->type == SL_FT_FOREIGN && json_is_object(v)) {
        json_t *ref = json_object();
        json_object_set(ref, "id", json_object_get(v, "id"));
        json_object_set_new(obj, f->name, ref);
    } else if ((f->type == SL_FT_ARRAY || f->type == SL_FT_SET) && f->elements != NULL &&
               f->elements->type == SL_FT_INTEGER) {
        size_t i;
        json_t *e;
        bool copied = false; /* <v> may be the caller's array: copy before the first change */
        json_array_foreach(v, i, e)
        {
            if (json_is_real(e)) {
                if (!copied) {
                    v = json_copy(v);
                    json_object_set_new(obj, f->name, v);
                    copied = true;
                }
                json_array_set_new(v, i, json_integer((json_int_t)json_real_value(e)));
            }
        }
    }
}

/* normalise_field() over every field of a record. */
static void
normalise(const struct sl_field *fields, json_t *obj)
{
    for (const struct sl_field *f = fields; f != NULL && f->name != NULL; f++) {
        normalise_field(f, obj, json_object_get(obj, f->name));
    }
}

static double
now_seconds(bool ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!ms) {
        return (double)ts.tv_sec;
    }
    long long msec = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return (double)msec / 1000.0;
}

static int
set_auto(const struct sl_field *f, json_t *out, const json_t *input, enum sl_schema_op op,
         const json_t *existing)
{
    const json_t *given = json_object_get(input, f->name);
    const json_t *old = existing ? json_object_get(existing, f->name) : NULL;
    bool has_given = given != NULL && !json_is_null(given);
    bool has_old = old != NULL && !json_is_null(old);
    char buf[40];

    switch (f->auto_kind) {
    case SL_AUTO_UUID:
    case SL_AUTO_STRING:
        if (op == SL_SCHEMA_UPDATE) {
            /* the primary key comes from the URL: a PATCH body cannot move the entity */
            if (has_old && (f->auto_kind == SL_AUTO_UUID || !has_given)) {
                json_object_set(out, f->name, (json_t *)old);
            }
            return 0;
        }
        if (has_given) {
            return 0;
        }
        if (op == SL_SCHEMA_UPSERT && has_old) {
            json_object_set(out, f->name, (json_t *)old);
            return 0;
        }
        if (sl_schema_uuid_v4(buf) != 0) {
            return -1;
        }
        if (f->auto_kind == SL_AUTO_STRING) {
            /* Kong's random_string(): a uuid without its dashes */
            char hex[33];
            size_t w = 0;
            for (size_t i = 0; buf[i] != 0 && w < 32; i++) {
                if (buf[i] != '-') {
                    hex[w++] = buf[i];
                }
            }
            hex[w] = 0;
            json_object_set_new(out, f->name, json_string(hex));
        } else {
            json_object_set_new(out, f->name, json_string(buf));
        }
        return 0;
    case SL_AUTO_TS_S:
    case SL_AUTO_TS_MS: {
        bool ms = f->auto_kind == SL_AUTO_TS_MS;
        json_t *now = ms ? json_real(now_seconds(true)) : json_integer((json_int_t)now_seconds(0));
        if (strcmp(f->name, "created_at") == 0) {
            if (has_old) {
                json_object_set(out, f->name, (json_t *)old);
                json_decref(now);
            } else if (!has_given) {
                json_object_set_new(out, f->name, now);
            } else {
                json_decref(now);
            }
        } else {
            json_object_set_new(out, f->name, now);
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* The effective field list of an entity: the parent's fields with the subschema's fields of the
 * same name put in their place. Returns a malloc'd array (NULL-name terminated) or NULL. */
static struct sl_field *
effective_fields(const struct sl_schema *s, const struct sl_schema *sub)
{
    size_t n = 0;
    while (s->fields[n].name != NULL) {
        n++;
    }
    struct sl_field *out = calloc(n + 1, sizeof(*out));
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct sl_field *o =
            sub ? sl_schema_fields_find(sub->fields, s->fields[i].name) : NULL;
        out[i] = o != NULL ? *o : s->fields[i];
    }
    return out;
}

json_t *
sl_schema_process(const struct sl_schema *s, const json_t *input, enum sl_schema_op op,
                  const json_t *existing, json_t **err_fields)
{
    json_t *errors = json_object();
    json_t *in = NULL, *merged = NULL, *out = NULL;
    struct sl_field *owned_fields = NULL; /* a subschema's merged list (malloc'd) */
    const struct sl_field *fields = NULL;
    char err[ERRLEN];
    /* jansson drops a member it cannot allocate without saying so (json_copy, merge): any failure
     * during this call and the entity, or its errors, may be missing something (json_alloc.h) */
    unsigned long failures = sl_json_alloc_failures();

    if (err_fields != NULL) {
        *err_fields = NULL;
    }
    if (errors == NULL) {
        return NULL;
    }
    if (!json_is_object(input) || (op == SL_SCHEMA_UPDATE && !json_is_object(existing))) {
        entity_err(errors, "expected a record");
        goto fail;
    }
    /* Shallow: shorthands and the ttl rewrite touch top-level keys only, and nothing below
     * mutates a nested value of the input (records are rebuilt by fill_record, integer arrays
     * copied by normalise), so the caller's tree is shared, never changed. */
    in = json_copy((json_t *)input);
    if (in == NULL) {
        goto fail; /* out of memory, as any member this copy left out (failures, below) */
    }
    if (s->ttl && json_object_get(in, "ttl") != NULL) {
        static const struct sl_field ttl_f = {
            .name = "ttl", .type = SL_FT_INTEGER, .has_between = true, .between_max = 100000000};
        json_t *e = sl_schema_validate_field(&ttl_f, json_object_get(in, "ttl"));
        if (e != NULL) {
            json_object_set_new(errors, "ttl", e);
        }
        json_object_del(in, "ttl");
    }
    if (s->shorthand != NULL && s->shorthand(in, op, errors) != 0) {
        goto fail;
    }

    /* immutable fields: an update may repeat the stored value, never change it */
    if (op == SL_SCHEMA_UPDATE) {
        for (const struct sl_field *f = s->fields; f->name != NULL; f++) {
            const json_t *nv = json_object_get(in, f->name);
            const json_t *ov = json_object_get(existing, f->name);
            if (f->immutable && nv != NULL && ov != NULL && !json_is_null(ov) &&
                !json_equal((json_t *)nv, (json_t *)ov)) {
                json_object_set_new(errors, f->name,
                                    json_string("immutable field cannot be updated"));
            }
        }
        merged = merge(s->fields, existing, in);
    } else {
        merged = json_incref(in);
    }

    const struct sl_schema *sub = NULL;
    if (s->subschema_key != NULL && s->subschema != NULL) {
        /* Kong's Schema:validate(): when the subschema cannot be determined, nothing else is
         * validated and its key's error is the only one (a plugin of an unknown name reports
         * neither its config's keys, unknown without the plugin's schema, nor its protocols) */
        const json_t *key = json_object_get(merged, s->subschema_key);
        err[0] = 0;
        if (key == NULL || json_is_null(key)) {
            snprintf(err, sizeof(err), "required field missing");
        } else if (!json_is_string(key)) {
            snprintf(err, sizeof(err), "expected a string");
        } else {
            sub = s->subschema(key, err, sizeof(err));
        }
        if (sub == NULL && err[0] != 0) {
            json_object_clear(errors);
            json_object_set_new(errors, s->subschema_key, sl_schema_err_string(err));
            goto fail;
        }
    }
    /* only a subschema needs its own field list; without one the static table serves as is */
    if (sub != NULL) {
        owned_fields = effective_fields(s, sub);
        if (owned_fields == NULL) {
            goto fail;
        }
    }
    fields = sub != NULL ? owned_fields : s->fields;

    out = fill_record(fields, merged);
    for (const struct sl_field *f = fields; f->name != NULL; f++) {
        if (f->auto_kind != SL_AUTO_NONE &&
            set_auto(f, out, op == SL_SCHEMA_UPDATE ? merged : in, op, existing) != 0) {
            entity_err(errors, "could not generate a random id");
        }
    }

    /* <out> holds every field (fill_record), in schema order, then any unknown keys; set_auto
     * and normalise_field replace values in place, which keeps a key's position. So the fields
     * are walked alongside <out>'s keys (jansson iterates in insertion order), with a lookup
     * only if a key is not where it should be; unknown keys are scanned for only when there
     * are some. */
    size_t nfields = 0;
    void *it = json_object_iter(out);
    for (const struct sl_field *f = fields; f->name != NULL; f++, nfields++) {
        json_t *v;
        if (it != NULL && strcmp(json_object_iter_key(it), f->name) == 0) {
            v = json_object_iter_value(it);
            it = json_object_iter_next(out, it);
        } else {
            v = json_object_get(out, f->name);
        }
        if (v == NULL ||
            (json_object_size(errors) > 0 && json_object_get(errors, f->name) != NULL)) {
            continue;
        }
        json_t *e = sl_schema_validate_field(f, v);
        if (e != NULL) {
            json_object_set_new(errors, f->name, e);
        } else {
            normalise_field(f, out, v); /* the checks below see the normalised entity */
        }
    }
    if (json_object_size(out) > nfields) {
        const char *k;
        json_t *v;
        json_object_foreach(out, k, v)
        {
            if (json_object_get(errors, k) == NULL && sl_schema_fields_find(fields, k) == NULL) {
                json_object_set_new(errors, k, json_string("unknown field"));
            }
        }
    }
    run_checks(fields, s->checks, out, errors);
    if (sub != NULL) {
        run_checks(fields, sub->checks, out, errors);
    }
    if (json_object_size(errors) > 0 || sl_json_alloc_failures() != failures) {
        goto fail;
    }
    free(owned_fields);
    json_decref(in);
    json_decref(merged);
    json_decref(errors);
    return out;

fail:
    free(owned_fields);
    json_decref(in);
    json_decref(merged);
    json_decref(out);
    if (sl_json_alloc_failures() != failures) {
        json_decref(errors); /* NULL and no errors: out of memory, for every caller */
        errors = NULL;
    }
    if (err_fields != NULL) {
        *err_fields = errors;
    } else {
        json_decref(errors);
    }
    return NULL;
}

/* ---- form coercion (kong/api/arguments.lua infer_value) ----------------------------------------
 */

static json_t *coerce_value(const struct sl_field *f, json_t *v);

static bool
all_digit_keys(json_t *obj, size_t *max)
{
    const char *k;
    json_t *v;
    *max = 0;
    json_object_foreach(obj, k, v)
    {
        char *end;
        if (*k == 0) {
            return false;
        }
        unsigned long n = strtoul(k, &end, 10);
        if (*end != 0 || n == 0 || n > 100000) {
            return false;
        }
        if (n > *max) {
            *max = n;
        }
    }
    return true;
}

static void
coerce_fields(const struct sl_field *fields, json_t *obj)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(obj, tmp, k, v)
    {
        const struct sl_field *f = sl_schema_fields_find(fields, k);
        if (f != NULL) {
            json_t *nv = coerce_value(f, v);
            if (nv != v) {
                json_object_set_new(obj, k, nv);
            }
        }
    }
}

/* Returns <v> itself (possibly changed in place) or a new value that replaces it. */
static json_t *
coerce_value(const struct sl_field *f, json_t *v)
{
    if (json_is_string(v) && json_string_length(v) == 0) {
        return json_null(); /* an empty form value means null, whatever the type */
    }
    switch (f->type) {
    case SL_FT_INTEGER:
    case SL_FT_NUMBER:
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            char *end;
            double d = strtod(s, &end);
            if (*end == 0 && end != s && isfinite(d)) {
                if (d == floor(d) && fabs(d) < 9e15) {
                    return json_integer((json_int_t)d);
                }
                return json_real(d);
            }
        }
        return v;
    case SL_FT_BOOLEAN:
        if (json_is_string(v)) {
            if (strcmp(json_string_value(v), "true") == 0) {
                return json_true();
            }
            if (strcmp(json_string_value(v), "false") == 0) {
                return json_false();
            }
        }
        return v;
    case SL_FT_ARRAY:
    case SL_FT_SET: {
        json_t *arr = NULL;
        size_t max;
        if (json_is_object(v) && json_object_size(v) > 0 && all_digit_keys(v, &max)) {
            arr = json_array();
            for (size_t i = 1; i <= max; i++) {
                char key[24];
                snprintf(key, sizeof(key), "%zu", i);
                json_t *e = json_object_get(v, key);
                if (e != NULL) {
                    json_array_append(arr, e);
                }
            }
        } else if (json_is_array(v)) {
            arr = json_incref(v);
        } else if (!json_is_object(v) && !json_is_null(v)) {
            arr = json_array();
            json_array_append(arr, v);
        } else {
            return v;
        }
        if (f->elements != NULL) {
            for (size_t i = 0; i < json_array_size(arr); i++) {
                json_t *e = json_array_get(arr, i);
                json_t *ne = coerce_value(f->elements, e);
                if (ne != e) {
                    json_array_set_new(arr, i, ne);
                }
            }
        }
        if (arr == v) {
            json_decref(arr);
            return v;
        }
        return arr;
    }
    case SL_FT_MAP:
        if (json_is_object(v) && f->elements != NULL) {
            const char *k;
            json_t *e;
            json_object_foreach(v, k, e)
            {
                json_t *ne = coerce_value(f->elements, e);
                if (ne != e) {
                    json_object_set_new(v, k, ne);
                }
            }
        }
        return v;
    case SL_FT_RECORD:
        if (json_is_object(v)) {
            coerce_fields(f->fields, v);
        }
        return v;
    case SL_FT_FOREIGN:
        if (json_is_string(v)) {
            /* `service=<uuid>` and `service.id=<uuid>` both name the reference */
            json_t *o = json_object();
            json_object_set(o, "id", v);
            return o;
        }
        return v;
    default:
        return v;
    }
}

void
sl_schema_coerce_form(const struct sl_schema *s, json_t *in)
{
    if (s == NULL || !json_is_object(in)) {
        return;
    }
    const struct sl_schema *sub = NULL;
    if (s->subschema_key != NULL && s->subschema != NULL) {
        char err[ERRLEN];
        sub = s->subschema(json_object_get(in, s->subschema_key), err, sizeof(err));
    }
    struct sl_field *fields = effective_fields(s, sub);
    if (fields != NULL) {
        coerce_fields(fields, in);
        free(fields);
    }
    if (s->ttl) {
        json_t *t = json_object_get(in, "ttl");
        if (json_is_string(t)) {
            static const struct sl_field ttl_f = {.name = "ttl", .type = SL_FT_INTEGER};
            json_object_set_new(in, "ttl", coerce_value(&ttl_f, t));
        }
    }
}
