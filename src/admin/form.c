/* SPDX-License-Identifier: Apache-2.0 */
/* application/x-www-form-urlencoded bodies into JSON, with Kong's conventions (kong.md §2.4):
 * dotted keys nest (`config.minute=5`), `k[]=` and `k[n]=` build arrays, a repeated key becomes an
 * array, an empty value is null. Values stay strings: the schema layer infers numbers and booleans
 * (sl_schema_coerce_form). */
#include <stdlib.h>
#include <string.h>

#include "admin/internal.h"

#define FORM_MAX_DEPTH 8

static void
put_value(json_t *obj, const char *key, json_t *value, bool force_array)
{
    json_t *old = json_object_get(obj, key);
    if (force_array) {
        if (!json_is_array(old)) {
            old = json_array();
            json_object_set_new(obj, key, old);
        }
        json_array_append_new(old, value);
    } else if (old == NULL) {
        json_object_set_new(obj, key, value);
    } else if (json_is_array(old)) {
        json_array_append_new(old, value);
    } else {
        json_t *arr = json_array();
        json_array_append(arr, old);
        json_array_append_new(arr, value);
        json_object_set_new(obj, key, arr);
    }
}

/* One decoded "key=value" pair into <root>. Returns -1 on a key that cannot be nested. */
static int
add_pair(json_t *root, char *key, const char *value)
{
    json_t *obj = root;
    char *part = key;
    for (int depth = 0;; depth++) {
        if (depth > FORM_MAX_DEPTH) {
            return -1;
        }
        char *dot = strchr(part, '.');
        char *br = strchr(part, '[');
        if (br != NULL && (dot == NULL || br < dot)) {
            /* k[] or k[n] (an array element), or k[name] (a map key) */
            char *close = strchr(br, ']');
            if (close == NULL) {
                return -1;
            }
            *br = '\0';
            *close = '\0';
            const char *inner = br + 1;
            bool numeric = inner[0] != '\0' && strspn(inner, "0123456789") == strlen(inner);
            json_t *v = value[0] ? json_string(value) : json_null();
            if (inner[0] == '\0' || numeric) {
                put_value(obj, part, v, true);
            } else {
                json_t *child = json_object_get(obj, part);
                if (!json_is_object(child)) {
                    child = json_object();
                    json_object_set_new(obj, part, child);
                }
                put_value(child, inner, v, false);
            }
            return 0;
        }
        if (dot == NULL) {
            put_value(obj, part, value[0] ? json_string(value) : json_null(), false);
            return 0;
        }
        *dot = '\0';
        json_t *child = json_object_get(obj, part);
        if (!json_is_object(child)) {
            child = json_object();
            json_object_set_new(obj, part, child);
        }
        obj = child;
        part = dot + 1;
    }
}

json_t *
sl_admin_form_to_json(const char *body, size_t len)
{
    json_t *root = json_object();
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&') {
            end++;
        }
        size_t eq = i;
        while (eq < end && body[eq] != '=') {
            eq++;
        }
        size_t klen = eq - i, vlen = eq < end ? end - eq - 1 : 0;
        char *key = malloc(klen + 1), *val = malloc(vlen + 1);
        bool ok = key && val && sl_admin_url_decode(body + i, klen, key, klen + 1, true) >= 0 &&
                  sl_admin_url_decode(body + eq + 1, vlen, val, vlen + 1, true) >= 0;
        if (ok && key[0] != '\0') {
            ok = add_pair(root, key, val) == 0;
        }
        free(key);
        free(val);
        if (!ok) {
            json_decref(root);
            return NULL;
        }
        i = end + 1;
    }
    return root;
}
