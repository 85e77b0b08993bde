/* SPDX-License-Identifier: Apache-2.0 */
/* The list parameters every paginated endpoint takes (kong.md §2.3), parsed once: `size`, `offset`
 * and the `tags` filter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/internal.h"
#include "schema/errors.h"

/* A byte a tag filter term may hold (Kong's TAGS_AND_REGEX: 0x20-0x2B, 0x2D, 0x2E, 0x30-0x7E,
 * 0x80-0xF4). */
static bool
tag_byte(unsigned char c)
{
    return (c >= 0x20 && c <= 0x7e && c != ',' && c != '/') || (c >= 0x80 && c <= 0xf4);
}

void
sl_admin_escape_component(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;
        if (o + (plain ? 1 : 3) >= outlen) {
            break;
        }
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

bool
sl_admin_parse_page_query(const struct sl_admin_request *req, struct sl_admin_list_query *q,
                          struct sl_admin_response *res)
{
    memset(q, 0, sizeof(*q));
    q->size = 100;
    /* however long, a size padded with spaces is read as Lua's tonumber() reads it */
    enum sl_admin_arg size_arg;
    char *val = sl_admin_query_arg_dup(req->query, "size", &size_arg);
    if (val == NULL) {
        sl_admin_message(res, 500, "An unexpected error occurred");
        return false;
    }
    if (size_arg != SL_ADMIN_ARG_ABSENT) {
        /* Kong's get_page_size: what Lua's tonumber() refuses is "size must be a number" (with
         * surrounding spaces, hex and exponents accepted as tonumber does), then the DAO wants an
         * integer in range. */
        char *end;
        double size = strtod(val, &end);
        while (*end == ' ' || (*end >= '\t' && *end <= '\r')) {
            end++;
        }
        bool number = size_arg == SL_ADMIN_ARG_FOUND && end != val && *end == '\0' &&
                      strpbrk(val, "iInN") == NULL;
        if (!number || size != floor(size) || size < 1 || size > 1000) {
            free(val);
            res->status = 400;
            res->body = json_pack("{s:i,s:s,s:s}", "code", 9, "name", "invalid size", "message",
                                  number ? "size must be an integer between 1 and 1000"
                                         : "size must be a number");
            return false;
        }
        q->size = (size_t)size;
        q->has_size = true;
    }
    free(val);
    switch (sl_admin_query_arg(req->query, "offset", q->offset, sizeof(q->offset))) {
    case SL_ADMIN_ARG_ABSENT:
        break;
    case SL_ADMIN_ARG_FOUND:
        q->has_offset = true;
        break;
    case SL_ADMIN_ARG_INVALID:
    case SL_ADMIN_ARG_TOO_LONG: {
        /* No offset this API hands out is that long or holds a bad escape. Answering the first
         * page instead would send a client that follows it round in a loop. */
        char shown[201];
        sl_admin_query_shown(req->query, "offset", shown, sizeof(shown));
        res->status = 400;
        res->body = sl_err_invalid_offset(shown, "bad base64 encoding");
        return false;
    }
    }
    return true;
}

bool
sl_admin_parse_list_query(const struct sl_admin_request *req, struct sl_admin_list_query *q,
                          struct sl_admin_response *res)
{
    if (!sl_admin_parse_page_query(req, q, res)) {
        return false;
    }
    enum sl_admin_arg tags_arg =
        sl_admin_query_arg(req->query, "tags", q->tagbuf, sizeof(q->tagbuf));
    if (tags_arg == SL_ADMIN_ARG_ABSENT) {
        return true;
    }
    sl_admin_escape_component(q->tagbuf, q->tags_raw, sizeof(q->tags_raw));
    /* Kong's extract_options: `a,b` means every tag, `a/b` any of them, each term one or more of
     * the bytes a tag may hold (printable ASCII but `,` and `/`, or the bytes of UTF-8 sequences);
     * anything else, mixed separators included, is "invalid filter syntax". */
    bool any = strchr(q->tagbuf, '/') != NULL, all = strchr(q->tagbuf, ',') != NULL;
    char sep = any ? '/' : ',';
    /* A filter that cannot be read is refused rather than dropped: dropping it would answer
     * every entity. */
    const char *msg = tags_arg == SL_ADMIN_ARG_TOO_LONG                  ? SL_ADMIN_TAGS_TOO_LONG
                      : tags_arg == SL_ADMIN_ARG_INVALID || (any && all) ? "invalid filter syntax"
                                                                         : NULL;
    for (const unsigned char *b = (const unsigned char *)q->tagbuf; msg == NULL && *b; b++) {
        if (*b != (unsigned char)sep && !tag_byte(*b)) {
            msg = "invalid filter syntax";
        }
    }
    const char *terms[SL_ADMIN_MAX_TAGS + 1];
    size_t nterms = 0;
    for (char *p = q->tagbuf; msg == NULL;) {
        char *e = strchr(p, sep);
        if (e != NULL) {
            *e = '\0';
        }
        if (p[0] == '\0') {
            msg = "invalid filter syntax";
        } else if (nterms == SL_ADMIN_MAX_TAGS) {
            msg = "cannot query more than 5 tags"; /* the DAO's validate_options_value */
        } else {
            terms[nterms++] = p;
        }
        if (e == NULL) {
            break;
        }
        p = e + 1;
    }
    if (msg != NULL) {
        char text[96];
        snprintf(text, sizeof(text), "invalid option (tags: %s)", msg);
        res->status = 400;
        res->body = json_pack("{s:i,s:s,s:s,s:{s:s}}", "code", 11, "name", "invalid options",
                              "message", text, "options", "tags", msg);
        return false;
    }
    memcpy(q->tags, terms, nterms * sizeof(terms[0]));
    q->ntags = nterms;
    q->tags_any = any;
    return true;
}

void
sl_admin_next_link(char *out, size_t outlen, const char *base, const char *offset,
                   const struct sl_admin_list_query *q)
{
    char size[32] = "";
    if (q->has_size) {
        snprintf(size, sizeof(size), "&size=%zu", q->size);
    }
    snprintf(out, outlen, "%s?offset=%s%s%s%s", base, offset, q->ntags ? "&tags=" : "", q->tags_raw,
             size);
}
