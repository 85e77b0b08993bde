/* SPDX-License-Identifier: Apache-2.0 */
/* The list parameters every paginated endpoint takes (kong.md §2.3), parsed once: `size`, `offset`
 * and the `tags` filter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/internal.h"

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
    char val[512];
    memset(q, 0, sizeof(*q));
    q->size = 100;
    if (sl_admin_query_param(req->query, "size", val, sizeof(val))) {
        /* Kong's get_page_size: what Lua's tonumber() refuses is "size must be a number" (with
         * surrounding spaces, hex and exponents accepted as tonumber does), then the DAO wants an
         * integer in range. */
        char *end;
        double size = strtod(val, &end);
        while (*end == ' ' || (*end >= '\t' && *end <= '\r')) {
            end++;
        }
        bool number = end != val && *end == '\0' && strpbrk(val, "iInN") == NULL;
        if (!number || size != floor(size) || size < 1 || size > 1000) {
            res->status = 400;
            res->body = json_pack("{s:i,s:s,s:s}", "code", 9, "name", "invalid size", "message",
                                  number ? "size must be an integer between 1 and 1000"
                                         : "size must be a number");
            return false;
        }
        q->size = (size_t)size;
        q->has_size = true;
    }
    q->has_offset = sl_admin_query_param(req->query, "offset", q->offset, sizeof(q->offset));
    return true;
}

bool
sl_admin_parse_list_query(const struct sl_admin_request *req, struct sl_admin_list_query *q,
                          struct sl_admin_response *res)
{
    if (!sl_admin_parse_page_query(req, q, res)) {
        return false;
    }
    if (!sl_admin_query_param(req->query, "tags", q->tagbuf, sizeof(q->tagbuf))) {
        return true;
    }
    sl_admin_escape_component(q->tagbuf, q->tags_raw, sizeof(q->tags_raw));
    /* Kong's extract_options: `a,b` means every tag, `a/b` any of them, each term one or more of
     * the bytes a tag may hold (printable ASCII but `,` and `/`, or the bytes of UTF-8 sequences);
     * anything else, mixed separators included, is "invalid filter syntax". */
    bool any = strchr(q->tagbuf, '/') != NULL, all = strchr(q->tagbuf, ',') != NULL;
    char sep = any ? '/' : ',';
    const char *msg = any && all ? "invalid filter syntax" : NULL;
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
