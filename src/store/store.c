/* SPDX-License-Identifier: Apache-2.0 */
/* Back-end independent parts of the store: choosing a back end, error values in Kong's terms, and
 * the opaque pagination token. No database access happens here. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

void
sl_store_err_clear(struct sl_store_err *err)
{
    if (err == NULL) {
        return;
    }
    free(err->message);
    json_decref(err->fields);
    memset(err, 0, sizeof(*err));
}

enum sl_store_rc
sl_store_err_set(struct sl_store_err *err, enum sl_store_rc rc, const char *fmt, ...)
{
    va_list ap;

    sl_store_err_clear(err);
    err->rc = rc;
    if (fmt != NULL) {
        va_start(ap, fmt);
        if (vasprintf(&err->message, fmt, ap) < 0) {
            err->message = NULL;
        }
        va_end(ap);
    }
    return rc;
}

int
sl_store_rc_kong_code(enum sl_store_rc rc)
{
    switch (rc) {
    case SL_STORE_PRIMARY_KEY_VIOLATION:
        return 3;
    case SL_STORE_FOREIGN_KEY_VIOLATION:
        return 4;
    case SL_STORE_UNIQUE_VIOLATION:
        return 5;
    case SL_STORE_NOT_FOUND:
        return 6;
    case SL_STORE_INVALID_OFFSET:
        return 7;
    case SL_STORE_DB_ERROR:
        return 8;
    default:
        return 0;
    }
}

const char *
sl_store_rc_name(enum sl_store_rc rc)
{
    switch (rc) {
    case SL_STORE_PRIMARY_KEY_VIOLATION:
        return "primary key violation";
    case SL_STORE_FOREIGN_KEY_VIOLATION:
        return "foreign key violation";
    case SL_STORE_UNIQUE_VIOLATION:
        return "unique constraint violation";
    case SL_STORE_NOT_FOUND:
        return "not found";
    case SL_STORE_INVALID_OFFSET:
        return "invalid offset";
    case SL_STORE_DB_ERROR:
        return "database error";
    default:
        return "";
    }
}

void
sl_store_page_free(struct sl_store_page *page)
{
    if (page == NULL) {
        return;
    }
    json_decref(page->rows);
    free(page->next_offset);
    page->rows = NULL;
    page->next_offset = NULL;
}

enum sl_store_rc
sl_store_open(const struct sl_store_opts *opts, struct sl_store **out, struct sl_store_err *err)
{
    *out = NULL;
    if (opts == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "no store options");
    }
    if (opts->backend == NULL || strcmp(opts->backend, "sqlite") == 0) {
        return sl_store_sqlite_ops.open(opts, out, err);
    }
    return sl_store_err_set(err, SL_STORE_DB_ERROR, "unknown database back end '%s'",
                            opts->backend);
}

/* Standard base64 with padding, the alphabet Kong's ngx.encode_base64 produces. */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
b64_encode(const unsigned char *in, size_t len)
{
    size_t olen = 4 * ((len + 2) / 3);
    char *out = malloc(olen + 1);
    size_t i, o = 0;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len) {
            v |= (unsigned)in[i + 1] << 8;
        }
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* Strict decoder: alphabet characters, then at most two '=' that complete the last quantum.
 * Missing padding is tolerated (as nginx's decoder does). Returns a malloc'd buffer with a NUL
 * after <*olen> bytes, or NULL if <in> is not base64 (or on ENOMEM). */
static unsigned char *
b64_decode(const char *in, size_t len, size_t *olen)
{
    size_t n = len, i, o = 0;
    unsigned acc = 0;
    int bits = 0;
    unsigned char *out;

    while (n > 0 && in[n - 1] == '=') {
        n--;
    }
    if (len - n > 2 || n % 4 == 1 || (len != n && len % 4 != 0)) {
        return NULL;
    }
    out = malloc(n * 3 / 4 + 1);
    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *olen = o;
    return out;
}

char *
sl_store_offset_encode(const char *last_id)
{
    json_t *tok = json_pack("[s]", last_id);
    char *js, *b64;

    if (tok == NULL) {
        return NULL;
    }
    js = json_dumps(tok, JSON_COMPACT);
    json_decref(tok);
    if (js == NULL) {
        return NULL;
    }
    b64 = b64_encode((const unsigned char *)js, strlen(js));
    free(js);
    return b64;
}

enum sl_store_rc
sl_store_offset_decode(const char *token, char **last_id, struct sl_store_err *err)
{
    size_t len = 0;
    unsigned char *raw;
    json_t *tok;
    const char *id;

    *last_id = NULL;
    raw = b64_decode(token, strlen(token), &len);
    if (raw == NULL) {
        return sl_store_err_set(err, SL_STORE_INVALID_OFFSET,
                                "'%s' is not a valid offset: bad base64 encoding", token);
    }
    tok = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    id = json_string_value(json_array_get(tok, 0));
    if (tok == NULL || !json_is_array(tok) || json_array_size(tok) != 1 || id == NULL) {
        json_decref(tok);
        return sl_store_err_set(err, SL_STORE_INVALID_OFFSET,
                                "'%s' is not a valid offset: bad json encoding", token);
    }
    *last_id = strdup(id);
    json_decref(tok);
    if (*last_id == NULL) {
        return sl_store_err_set(err, SL_STORE_DB_ERROR, "out of memory");
    }
    return SL_STORE_OK;
}
