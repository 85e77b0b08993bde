/* SPDX-License-Identifier: Apache-2.0 */
/* YAML to jansson (src/config/yaml_json.h), driven by libyaml's event parser. It builds values
 * only: what the document means is decided by the declarative validator. Anchors are registered
 * when their node is complete, so an alias can never point into its own ancestors: the result has
 * no cycles. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/yaml_json.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

/* A container under construction. */
struct frame {
    json_t *node;        /* object or array (owned reference) */
    char *key;           /* objects: the key waiting for its value (malloc'd), or NULL */
    bool key_is_merge;   /* that key is the `<<` merge key */
    char *anchor;        /* anchor to register when the container ends (malloc'd), or NULL */
    size_t weight_start; /* nodes counted before this container began */
};

struct anchor {
    char *name;
    json_t *value; /* owned reference */
    size_t weight; /* nodes the value stands for, aliases expanded */
};

struct state {
    struct frame stack[SL_YAML_MAX_DEPTH];
    size_t depth;
    struct anchor *anchors;
    size_t nanchors;
    size_t anchors_cap;
    size_t weight;
    json_t *root;
    char *err;
    size_t errlen;
    bool failed;
};

static void fail(struct state *st, const yaml_mark_t *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct state *st, const yaml_mark_t *mark, const char *fmt, ...)
{
    if (st->failed) {
        return;
    }
    st->failed = true;
    if (st->err == NULL || st->errlen == 0) {
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(st->err, st->errlen, "%zu:%zu: %s", mark ? (size_t)mark->line + 1 : 0,
             mark ? (size_t)mark->column + 1 : 0, msg);
}

static bool
count_nodes(struct state *st, size_t n, const yaml_mark_t *mark)
{
    if (n > SL_YAML_MAX_NODES - st->weight) {
        fail(st, mark, "document too large (more than %u nodes once aliases are expanded)",
             SL_YAML_MAX_NODES);
        return false;
    }
    st->weight += n;
    return true;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Scalars: lyaml's implicit typing (lib/lyaml/implicit.lua), re-expressed in C */

/* Copies <s,len> without underscores into <out> (cap bytes). False if it does not fit. */
static bool
strip_underscores(const char *s, size_t len, char *out, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '_') {
            continue;
        }
        if (w + 1 >= cap) {
            return false;
        }
        out[w++] = s[i];
    }
    out[w] = '\0';
    return true;
}

/* An integer from digits in <base> (underscores already removed), exact when it fits int64, else a
 * real like Lua's number would be. */
static json_t *
make_int(const char *digits, int base, bool neg)
{
    uint64_t v = 0;
    bool overflow = false;
    double d = 0;
    for (const char *p = digits; *p; p++) {
        int dv = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (v > (UINT64_MAX - (uint64_t)dv) / (uint64_t)base) {
            overflow = true;
        } else {
            v = v * (uint64_t)base + (uint64_t)dv;
        }
        d = d * base + dv;
    }
    if (!overflow && v <= (uint64_t)INT64_MAX) {
        return json_integer(neg ? -(json_int_t)v : (json_int_t)v);
    }
    if (!overflow && neg && v == (uint64_t)INT64_MAX + 1) {
        return json_integer(INT64_MIN);
    }
    return json_real(neg ? -d : d);
}

static bool
all_in(const char *s, size_t len, const char *set)
{
    for (size_t i = 0; i < len; i++) {
        if (strchr(set, s[i]) == NULL || s[i] == '\0') {
            return false;
        }
    }
    return true;
}

/* ^[+-]?0_*([0-7][0-7_]*)$ */
static json_t *
implicit_octal(const char *s, size_t len)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i >= len || s[i] != '0') {
        return NULL;
    }
    i++;
    while (i < len && s[i] == '_') {
        i++;
    }
    if (i >= len || s[i] < '0' || s[i] > '7' || !all_in(s + i, len - i, "01234567_")) {
        return NULL;
    }
    char digits[96];
    if (!strip_underscores(s + i, len - i, digits, sizeof(digits))) {
        return NULL;
    }
    return make_int(digits, 8, neg);
}

/* ^[+-]?_*([0-9][0-9_]*)$ where the digits are "0", several, or do not start with 0 */
static json_t *
implicit_decimal(const char *s, size_t len)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    while (i < len && s[i] == '_') {
        i++;
    }
    if (i >= len || !isdigit((unsigned char)s[i]) || !all_in(s + i, len - i, "0123456789_")) {
        return NULL;
    }
    char digits[96];
    if (!strip_underscores(s + i, len - i, digits, sizeof(digits))) {
        /* too many digits for an int64 anyway: a real, as Lua's tonumber would give */
        char big[512];
        if (!strip_underscores(s + i, len - i, big, sizeof(big))) {
            return NULL;
        }
        double d = strtod(big, NULL);
        return json_real(neg ? -d : d);
    }
    return make_int(digits, 10, neg);
}

/* tonumber(value without underscores) succeeds and the value has one of . e E */
static json_t *
implicit_float(const char *s, size_t len)
{
    if (memchr(s, '.', len) == NULL && memchr(s, 'e', len) == NULL && memchr(s, 'E', len) == NULL) {
        return NULL;
    }
    char buf[128];
    if (!strip_underscores(s, len, buf, sizeof(buf)) || buf[0] == '\0' ||
        isspace((unsigned char)buf[0])) {
        return NULL;
    }
    /* Lua's tonumber: decimal or 0x-hex; strtod would also take "infinity" and "nan" */
    for (const char *p = buf; *p; p++) {
        if (!(isxdigit((unsigned char)*p) || strchr("+-.xXpP", *p) != NULL)) {
            return NULL;
        }
    }
    char *end;
    double d = strtod(buf, &end);
    if (*end != '\0' || !isfinite(d)) {
        return NULL;
    }
    return json_real(d);
}

static int
implicit_bool(const char *s, size_t len)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strlen(yes[i]) == len && memcmp(s, yes[i], len) == 0) {
            return 1;
        }
        if (strlen(no[i]) == len && memcmp(s, no[i], len) == 0) {
            return 0;
        }
    }
    return -1;
}

static bool
str_in(const char *s, size_t len, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(set[i]) == len && memcmp(s, set[i], len) == 0) {
            return true;
        }
    }
    return false;
}

static bool
implicit_null(const char *s, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    return str_in(s, len, nulls, sizeof(nulls) / sizeof(nulls[0]));
}

/* Non-finite numbers cannot live in jansson; 0.5 is rejected by every field type Kong would reject
 * an infinity or a NaN in (integer, string, boolean, set, record). */
static json_t *
implicit_nonfinite(const char *s, size_t len)
{
    static const char *const inf[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                      "+.INF", "-.inf", "-.Inf", "-.INF"};
    static const char *const nan[] = {".nan", ".NaN", ".NAN"};
    if (str_in(s, len, inf, sizeof(inf) / sizeof(inf[0])) ||
        str_in(s, len, nan, sizeof(nan) / sizeof(nan[0]))) {
        return json_real(0.5);
    }
    return NULL;
}

/* ^[+-]?(0x_*[0-9a-fA-F][0-9a-fA-F_]*)$ */
static json_t *
implicit_hex(const char *s, size_t len)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (len - i < 3 || s[i] != '0' || s[i + 1] != 'x') {
        return NULL;
    }
    i += 2;
    while (i < len && s[i] == '_') {
        i++;
    }
    if (i >= len || !isxdigit((unsigned char)s[i]) ||
        !all_in(s + i, len - i, "0123456789abcdefABCDEF_")) {
        return NULL;
    }
    char digits[96];
    if (!strip_underscores(s + i, len - i, digits, sizeof(digits))) {
        return NULL;
    }
    return make_int(digits, 16, neg);
}

/* ^[+-]?0b_*([01][01_]+)$ */
static json_t *
implicit_binary(const char *s, size_t len)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (len - i < 3 || s[i] != '0' || s[i + 1] != 'b') {
        return NULL;
    }
    i += 2;
    while (i < len && s[i] == '_') {
        i++;
    }
    if (len - i < 2 || (s[i] != '0' && s[i] != '1') || !all_in(s + i, len - i, "01_")) {
        return NULL;
    }
    char digits[96];
    if (!strip_underscores(s + i, len - i, digits, sizeof(digits))) {
        return NULL;
    }
    return make_int(digits, 2, neg);
}

/* ^[+-]?([0-9]+:[0-5]?[0-9][:0-9]*)(%.[0-9]+)?$ : base 60, the fraction making it a float. As a
 * Lua pattern "[0-5]?[0-9]" accepts any digit, so the shape is digits ':' digit then [:0-9]*. */
static json_t *
implicit_sexagesimal(const char *s, size_t len)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    size_t end = len;
    const char *dot = memchr(s + i, '.', len - i);
    if (dot != NULL) {
        end = (size_t)(dot - s);
        if (end + 1 >= len || !all_in(dot + 1, len - end - 1, "0123456789")) {
            return NULL;
        }
    }
    size_t j = i;
    while (j < end && isdigit((unsigned char)s[j])) {
        j++;
    }
    if (j == i || j + 1 >= end || s[j] != ':' || !isdigit((unsigned char)s[j + 1]) ||
        !all_in(s + j, end - j, "0123456789:")) {
        return NULL;
    }
    double r = 0;
    for (size_t p = i; p < end;) {
        if (s[p] == ':') {
            p++;
            continue;
        }
        double part = 0;
        while (p < end && isdigit((unsigned char)s[p])) {
            part = part * 10 + (s[p] - '0');
            p++;
        }
        r = r * 60 + part;
    }
    if (dot != NULL) {
        char frac[80];
        size_t fl = len - end;
        if (fl >= sizeof(frac)) {
            fl = sizeof(frac) - 1;
        }
        memcpy(frac, dot, fl);
        frac[fl] = '\0';
        r += strtod(frac, NULL);
        return json_real(neg ? -r : r);
    }
    if (r <= 9007199254740992.0) {
        return json_integer((json_int_t)(neg ? -r : r));
    }
    return json_real(neg ? -r : r);
}

static json_t *
implicit_scalar(const char *s, size_t len)
{
    json_t *v;
    if (implicit_null(s, len)) {
        return json_null();
    }
    if ((v = implicit_octal(s, len)) != NULL || (v = implicit_decimal(s, len)) != NULL ||
        (v = implicit_float(s, len)) != NULL) {
        return v;
    }
    int b = implicit_bool(s, len);
    if (b >= 0) {
        return json_boolean(b);
    }
    if ((v = implicit_nonfinite(s, len)) != NULL || (v = implicit_hex(s, len)) != NULL ||
        (v = implicit_binary(s, len)) != NULL || (v = implicit_sexagesimal(s, len)) != NULL) {
        return v;
    }
    return json_stringn(s, len);
}

/* Converts a scalar event. NULL with a message in <why> for a value its explicit tag refuses. */
static json_t *
convert_scalar(const yaml_event_t *ev, char *why, size_t whylen)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag != NULL && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
        const char *t = tag + strlen(TAG_PREFIX);
        json_t *v = NULL;
        if (strcmp(t, "str") == 0) {
            v = json_stringn(s, len);
        } else if (strcmp(t, "null") == 0) {
            v = implicit_null(s, len) ? json_null() : NULL;
        } else if (strcmp(t, "bool") == 0) {
            int b = implicit_bool(s, len);
            v = b >= 0 ? json_boolean(b) : NULL;
        } else if (strcmp(t, "int") == 0) {
            if ((v = implicit_octal(s, len)) == NULL && (v = implicit_decimal(s, len)) == NULL &&
                (v = implicit_hex(s, len)) == NULL && (v = implicit_binary(s, len)) == NULL) {
                v = implicit_sexagesimal(s, len);
                if (v != NULL && !json_is_integer(v)) {
                    json_decref(v);
                    v = NULL;
                }
            }
        } else if (strcmp(t, "float") == 0) {
            if ((v = implicit_float(s, len)) == NULL && (v = implicit_nonfinite(s, len)) == NULL &&
                (v = implicit_decimal(s, len)) == NULL) {
                v = implicit_sexagesimal(s, len);
            }
            if (v != NULL && json_is_integer(v)) {
                json_t *r = json_real((double)json_integer_value(v));
                json_decref(v);
                v = r;
            }
        } else {
            goto untagged;
        }
        if (v == NULL) {
            snprintf(why, whylen, "invalid '%s' value: '%.*s'", tag, (int)(len > 64 ? 64 : len), s);
        }
        return v;
    }
untagged:
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && tag == NULL) {
        json_t *v = implicit_scalar(s, len);
        if (v == NULL) {
            snprintf(why, whylen, "invalid UTF-8 in scalar");
        }
        return v;
    }
    json_t *v = json_stringn(s, len);
    if (v == NULL) {
        snprintf(why, whylen, "invalid UTF-8 in scalar");
    }
    return v;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Tree building */

static struct anchor *
find_anchor(struct state *st, const char *name)
{
    for (size_t i = st->nanchors; i > 0; i--) {
        if (strcmp(st->anchors[i - 1].name, name) == 0) {
            return &st->anchors[i - 1];
        }
    }
    return NULL;
}

static bool
add_anchor(struct state *st, const char *name, json_t *value, size_t weight,
           const yaml_mark_t *mark)
{
    struct anchor *a = find_anchor(st, name);
    if (a != NULL) {
        /* a redefinition replaces the earlier node for the aliases that follow */
        json_decref(a->value);
        a->value = json_incref(value);
        a->weight = weight;
        return true;
    }
    if (st->nanchors == st->anchors_cap) {
        size_t cap = st->anchors_cap ? st->anchors_cap * 2 : 16;
        struct anchor *n = realloc(st->anchors, cap * sizeof(*n));
        if (n == NULL) {
            fail(st, mark, "out of memory");
            return false;
        }
        st->anchors = n;
        st->anchors_cap = cap;
    }
    struct anchor *slot = &st->anchors[st->nanchors];
    slot->name = strdup(name);
    if (slot->name == NULL) {
        fail(st, mark, "out of memory");
        return false;
    }
    slot->value = json_incref(value);
    slot->weight = weight;
    st->nanchors++;
    return true;
}

static void
clear_anchors(struct state *st)
{
    for (size_t i = 0; i < st->nanchors; i++) {
        free(st->anchors[i].name);
        json_decref(st->anchors[i].value);
    }
    st->nanchors = 0;
}

/* lyaml's merge: keys of <src> (a mapping, or a sequence of mappings) that <dst> lacks. */
static bool
merge_into(struct state *st, json_t *dst, json_t *src, const yaml_mark_t *mark)
{
    if (json_is_object(src)) {
        const char *k;
        json_t *v;
        json_object_foreach(src, k, v)
        {
            if (json_object_get(dst, k) == NULL && json_object_set(dst, k, v) != 0) {
                fail(st, mark, "out of memory");
                return false;
            }
        }
        return true;
    }
    if (json_is_array(src)) {
        size_t i;
        json_t *el;
        json_array_foreach(src, i, el)
        {
            if (!json_is_object(el)) {
                fail(st, mark, "invalid '<<' sequence element %zu", i + 1);
                return false;
            }
            if (!merge_into(st, dst, el, mark)) {
                return false;
            }
        }
        return true;
    }
    fail(st, mark, "invalid '<<' merge event");
    return false;
}

/* Hands <v> (a new reference) to the current container, or makes it the root. */
static bool
add_value(struct state *st, json_t *v, const yaml_mark_t *mark)
{
    if (st->depth == 0) {
        if (st->root == NULL) {
            st->root = v;
        } else {
            json_decref(v);
        }
        return true;
    }
    struct frame *f = &st->stack[st->depth - 1];
    if (json_is_array(f->node)) {
        if (json_array_append_new(f->node, v) != 0) {
            fail(st, mark, "out of memory");
            return false;
        }
        return true;
    }
    if (f->key == NULL) {
        json_decref(v);
        fail(st, mark, "mapping keys must be scalars");
        return false;
    }
    bool ok;
    if (f->key_is_merge) {
        ok = merge_into(st, f->node, v, mark);
        json_decref(v);
    } else {
        ok = json_object_set_new(f->node, f->key, v) == 0;
        if (!ok) {
            fail(st, mark, "out of memory");
        }
    }
    free(f->key);
    f->key = NULL;
    f->key_is_merge = false;
    return ok;
}

static bool
expecting_key(const struct state *st)
{
    if (st->depth == 0) {
        return false;
    }
    const struct frame *f = &st->stack[st->depth - 1];
    return json_is_object(f->node) && f->key == NULL;
}

static bool
on_scalar(struct state *st, const yaml_event_t *ev)
{
    const yaml_mark_t *mark = &ev->start_mark;
    /* a scalar weighs its size too, so that an alias to a long string cannot be repeated into
     * gigabytes */
    size_t weight = 1 + ev->data.scalar.length / SL_YAML_BYTES_PER_NODE;
    if (!count_nodes(st, weight, mark)) {
        return false;
    }
    if (expecting_key(st)) {
        struct frame *f = &st->stack[st->depth - 1];
        const char *s = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (memchr(s, '\0', len) != NULL) {
            fail(st, mark, "mapping keys must not contain NUL bytes");
            return false;
        }
        f->key = strndup(s, len);
        if (f->key == NULL) {
            fail(st, mark, "out of memory");
            return false;
        }
        const char *tag = (const char *)ev->data.scalar.tag;
        f->key_is_merge = (len == 2 && memcmp(s, "<<", 2) == 0 &&
                           ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) ||
                          (tag != NULL && strcmp(tag, TAG_PREFIX "merge") == 0);
        return true;
    }
    char why[160] = "";
    json_t *v = convert_scalar(ev, why, sizeof(why));
    if (v == NULL) {
        fail(st, mark, "%s", why[0] ? why : "out of memory");
        return false;
    }
    if (ev->data.scalar.anchor != NULL &&
        !add_anchor(st, (const char *)ev->data.scalar.anchor, v, weight, mark)) {
        json_decref(v);
        return false;
    }
    return add_value(st, v, mark);
}

static bool
on_alias(struct state *st, const yaml_event_t *ev)
{
    const yaml_mark_t *mark = &ev->start_mark;
    struct anchor *a = find_anchor(st, (const char *)ev->data.alias.anchor);
    if (a == NULL) {
        fail(st, mark, "invalid reference: %s", (const char *)ev->data.alias.anchor);
        return false;
    }
    if (expecting_key(st)) {
        if (!json_is_string(a->value)) {
            fail(st, mark, "mapping keys must be scalars");
            return false;
        }
        struct frame *f = &st->stack[st->depth - 1];
        f->key = strdup(json_string_value(a->value));
        if (f->key == NULL) {
            fail(st, mark, "out of memory");
            return false;
        }
        return count_nodes(st, a->weight, mark);
    }
    if (!count_nodes(st, a->weight, mark)) {
        return false;
    }
    return add_value(st, json_incref(a->value), mark);
}

static bool
on_start(struct state *st, const yaml_event_t *ev, bool mapping)
{
    const yaml_mark_t *mark = &ev->start_mark;
    if (expecting_key(st)) {
        fail(st, mark, "mapping keys must be scalars");
        return false;
    }
    if (st->depth >= SL_YAML_MAX_DEPTH) {
        fail(st, mark, "nesting too deep (more than %d levels)", SL_YAML_MAX_DEPTH);
        return false;
    }
    if (!count_nodes(st, 1, mark)) {
        return false;
    }
    const yaml_char_t *anchor =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    struct frame *f = &st->stack[st->depth];
    memset(f, 0, sizeof(*f));
    f->node = mapping ? json_object() : json_array();
    f->weight_start = st->weight - 1;
    if (f->node == NULL) {
        fail(st, mark, "out of memory");
        return false;
    }
    if (anchor != NULL && (f->anchor = strdup((const char *)anchor)) == NULL) {
        json_decref(f->node);
        fail(st, mark, "out of memory");
        return false;
    }
    st->depth++;
    return true;
}

static bool
on_end(struct state *st, const yaml_event_t *ev)
{
    const yaml_mark_t *mark = &ev->start_mark;
    if (st->depth == 0) {
        fail(st, mark, "unexpected end of collection");
        return false;
    }
    struct frame f = st->stack[--st->depth];
    free(f.key);
    bool ok = true;
    if (f.anchor != NULL) {
        ok = add_anchor(st, f.anchor, f.node, st->weight - f.weight_start, mark);
        free(f.anchor);
    }
    if (!ok) {
        json_decref(f.node);
        return false;
    }
    return add_value(st, f.node, mark);
}

static void
unwind(struct state *st)
{
    while (st->depth > 0) {
        struct frame *f = &st->stack[--st->depth];
        free(f->key);
        free(f->anchor);
        json_decref(f->node);
    }
}

json_t *
sl_yaml_to_json(const char *buf, size_t len, char *err, size_t errlen)
{
    struct state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "out of memory");
        }
        return NULL;
    }
    st->err = err;
    st->errlen = errlen;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fail(st, NULL, "out of memory");
        free(st);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

    int documents = 0;
    bool building = false;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            fail(st, &parser.problem_mark, "%s", parser.problem ? parser.problem : "invalid YAML");
            break;
        }
        bool ok = true;
        bool end = false;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            end = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            documents++;
            building = documents == 1; /* lyaml returns the first document */
            break;
        case YAML_DOCUMENT_END_EVENT:
            building = false;
            clear_anchors(st);
            break;
        case YAML_SCALAR_EVENT:
            ok = !building || on_scalar(st, &ev);
            break;
        case YAML_ALIAS_EVENT:
            ok = !building || on_alias(st, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            ok = !building || on_start(st, &ev, false);
            break;
        case YAML_MAPPING_START_EVENT:
            ok = !building || on_start(st, &ev, true);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            ok = !building || on_end(st, &ev);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (!ok || end) {
            break;
        }
    }
    yaml_parser_delete(&parser);
    unwind(st);
    clear_anchors(st);
    free(st->anchors);
    json_t *root = st->root;
    if (st->failed) {
        json_decref(root);
        root = NULL;
    } else if (root == NULL) {
        root = json_null(); /* an empty stream: lyaml returns nil */
    }
    free(st);
    return root;
}
