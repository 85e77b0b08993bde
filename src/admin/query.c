/* SPDX-License-Identifier: Apache-2.0 */
/* The list parameters every paginated endpoint takes (kong.md §2.3), parsed once: `size`, `offset`
 * and the `tags` filter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "admin/internal.h"

bool
sl_admin_parse_list_query(const struct sl_admin_request *req, struct sl_admin_list_query *q,
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
    }
    q->has_offset = sl_admin_query_param(req->query, "offset", q->offset, sizeof(q->offset));
    if (!sl_admin_query_param(req->query, "tags", q->tagbuf, sizeof(q->tagbuf))) {
        return true;
    }
    memcpy(q->tags_raw, q->tagbuf, sizeof(q->tags_raw));
    /* a,b means every tag, a/b any of them; no mixing, no empty term, at most 5 terms. */
    bool any = strchr(q->tagbuf, '/') != NULL, all = strchr(q->tagbuf, ',') != NULL;
    char sep = any ? '/' : ',';
    bool ok = !(any && all);
    for (char *p = q->tagbuf; ok;) {
        char *e = strchr(p, sep);
        if (e != NULL) {
            *e = '\0';
        }
        ok = p[0] != '\0' && q->ntags < SL_ADMIN_MAX_TAGS;
        if (ok) {
            q->tags[q->ntags++] = p;
        }
        if (e == NULL) {
            break;
        }
        p = e + 1;
    }
    if (!ok) {
        res->status = 400;
        res->body = json_pack("{s:i,s:s,s:s}", "code", 11, "name", "invalid options", "message",
                              "invalid option (tags: invalid filter syntax)");
        return false;
    }
    q->tags_any = any;
    return true;
}
