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

/* The boundary parameter of a multipart Content-Type, into <out>. */
static bool
boundary_of(const char *ctype, char *out, size_t outlen)
{
    const char *b = strcasestr(ctype, "boundary=");
    if (b == NULL) {
        return false;
    }
    b += 9;
    bool quoted = *b == '"';
    b += quoted;
    size_t n = 0;
    while (b[n] && b[n] != (quoted ? '"' : ';') && !(!quoted && (b[n] == ' ' || b[n] == '\t'))) {
        n++;
    }
    if (n == 0 || n + 1 > outlen || n > 70) {
        return false;
    }
    memcpy(out, b, n);
    out[n] = '\0';
    return true;
}

static const char *
find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    return memmem(hay, hlen, needle, nlen);
}

json_t *
sl_admin_multipart_to_json(const char *body, size_t len, const char *ctype)
{
    char boundary[80], delim[96];
    /* No part at all is no field, whatever the boundary (or its absence), as in Kong
     * (lua-multipart parses "" to nothing): its spec client sends an empty table that way, e.g.
     * a PATCH that changes nothing, and POST /consumers then gets the schema violation. */
    if (len == 0) {
        return json_object();
    }
    if (!boundary_of(ctype, boundary, sizeof(boundary))) {
        return NULL;
    }
    int dlen = snprintf(delim, sizeof(delim), "--%s", boundary);
    json_t *root = json_object();
    const char *p = find_bytes(body, len, delim, (size_t)dlen);
    const char *end = body + len;
    while (p != NULL) {
        p += dlen;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            return root; /* closing delimiter */
        }
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            break;
        }
        p += 2;
        const char *hend = find_bytes(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (hend == NULL) {
            break;
        }
        const char *next = find_bytes(hend + 4, (size_t)(end - hend - 4), delim, (size_t)dlen);
        if (next == NULL || next - 2 < hend + 4 || next[-2] != '\r' || next[-1] != '\n') {
            break;
        }
        /* Part headers: the name from Content-Disposition, JSON when the part says so. */
        char *headers = strndup(p, (size_t)(hend - p));
        const char *value = hend + 4;
        size_t vlen = (size_t)(next - 2 - value);
        char *name = NULL;
        bool is_json = false;
        if (headers != NULL) {
            char *n = strcasestr(headers, "name=\"");
            if (n != NULL && (n == headers || n[-1] == ' ' || n[-1] == ';')) {
                n += 6;
                char *q = strchr(n, '"');
                name = q ? strndup(n, (size_t)(q - n)) : NULL;
            }
            is_json = strcasestr(headers, "content-type: application/json") != NULL;
        }
        bool ok = name != NULL;
        if (ok && is_json) {
            json_t *v = json_loadb(value, vlen, JSON_DECODE_ANY, NULL);
            ok = v != NULL;
            if (ok) {
                json_object_set_new(root, name, v);
            }
        } else if (ok) {
            char *v = strndup(value, vlen);
            ok = v != NULL && memchr(value, '\0', vlen) == NULL && add_pair(root, name, v) == 0;
            free(v);
        }
        free(name);
        free(headers);
        if (!ok) {
            break;
        }
        p = next;
    }
    json_decref(root);
    return NULL;
}
