/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the Admin API files: one parsed request and the response being built. */
#ifndef SL_ADMIN_INTERNAL_H
#define SL_ADMIN_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "config/conf.h"
#include "core/buf.h"
#include "sluice/str.h"

/* A request as the endpoint handlers see it; every pointer is valid until the handler returns. */
struct sl_admin_request {
    const char *method;       /* NUL-terminated copy */
    const char *path;         /* percent-decoded path, no query */
    const char *query;        /* raw query string without '?', "" when none */
    const char *content_type; /* NULL when absent */
    const char *body;         /* NUL-terminated (the body may hold NULs; use body_len) */
    size_t body_len;
    const struct sl_conf *conf;
};

struct sl_admin_response {
    int status;
    json_t *body;              /* owned; NULL: empty body */
    const char *extra_headers; /* static text, "Name: value\r\n" lines */
};

/* A form-urlencoded body as JSON with Kong's nesting conventions; NULL when malformed. form.c */
json_t *sl_admin_form_to_json(const char *body, size_t len);
/* A multipart/form-data body (<ctype> carries the boundary) as JSON, with the same key conventions;
 * a part with Content-Type application/json is decoded as JSON. NULL when malformed. */
json_t *sl_admin_multipart_to_json(const char *body, size_t len, const char *ctype);

/* Entity endpoints backed by the store (crud.c). Returns false when <seg> is not an entity path it
 * serves (the caller answers 404). */
struct sl_store;
bool sl_admin_crud(const struct sl_admin_request *req, struct sl_admin_response *res,
                   struct sl_store *st, char **seg, size_t nseg);
/* Recompiles the snapshot from the store and publishes it; -1 with a message on failure. */
int sl_admin_republish(struct sl_store *st, char *err, size_t errlen);

#define SL_ADMIN_MAX_TAGS 5 /* Kong's limit on tag filter terms */

/* The parameters of a paginated list (query.c). */
struct sl_admin_list_query {
    size_t size; /* 1..1000, default 100 */
    bool has_offset;
    char offset[512];                    /* opaque token when has_offset */
    char tagbuf[512];                    /* storage for <tags> */
    char tags_raw[512];                  /* the filter as given, for `next` links; "" if none */
    const char *tags[SL_ADMIN_MAX_TAGS]; /* filter terms; 0 terms: no filter */
    size_t ntags;
    bool tags_any; /* a/b (any) rather than a,b (all) */
};
/* Parses size, offset and tags; on a bad value fills <res> with Kong's 400 and returns false. */
bool sl_admin_parse_list_query(const struct sl_admin_request *req, struct sl_admin_list_query *q,
                               struct sl_admin_response *res);

/* Fills <res> for <req>. endpoints.c */
void sl_admin_dispatch(const struct sl_admin_request *req, struct sl_admin_response *res);

/* Helpers for handlers. */
void sl_admin_message(struct sl_admin_response *res, int status, const char *message);
/* The value of query parameter <name> (decoded) into <out>; false when absent. */
bool sl_admin_query_param(const char *query, const char *name, char *out, size_t outlen);
/* Percent-decodes <in> into <out> ('+' kept unless <form>); returns the length or -1. */
long sl_admin_url_decode(const char *in, size_t len, char *out, size_t outlen, bool form);

#endif
