/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the Admin API files: one parsed request and the response being built. */
#ifndef SL_ADMIN_INTERNAL_H
#define SL_ADMIN_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "config/conf.h"
#include "core/buf.h"
#include "sluice/str.h"
#include "store/store.h"

/* A request as the endpoint handlers see it; every pointer is valid until the handler returns. */
struct sl_admin_request {
    const char *method;       /* NUL-terminated copy */
    const char *path;         /* percent-decoded path, no query */
    const char *query;        /* raw query string without '?', "" when none */
    const char *content_type; /* NULL when absent */
    const char *acrh;         /* Access-Control-Request-Headers, NULL when absent */
    const char *body;         /* NUL-terminated (the body may hold NULs; use body_len) */
    size_t body_len;
    const struct sl_conf *conf;
};

/* How every Admin and Status body is written: 16 significant digits, so that a millisecond
 * timestamp (targets' created_at) reads as Kong prints it, 1712345678.123, not as its binary
 * expansion 1712345678.1229999. */
#define SL_ADMIN_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16))

struct sl_admin_response {
    int status;
    json_t *body; /* owned; NULL: empty body */
    /* A body already written as JSON text, sent instead of <body>: for bodies too large to hold
     * as a tree (POST /config's entities). Owned; empty (len 0) when unused. It starts with
     * sl_admin_text_begin's headroom, where the server writes the response head, so that it
     * sends the text without copying it. */
    struct sl_buf text;
    const char *extra_headers; /* static text, "Name: value\r\n" lines */
    const char *allow_headers; /* Access-Control-Allow-Headers value (preflights), or NULL */
};

/* Room for the response head at the start of a text body (struct sl_admin_response.text): far
 * more than the head needs; a longer head falls back to a copy. */
#define SL_ADMIN_TEXT_HEADROOM 1024
/* Starts a text body: appends the headroom to the empty <b>. -1 when out of memory. server.c */
int sl_admin_text_begin(struct sl_buf *b);

/* A form-urlencoded body as JSON with Kong's nesting conventions; NULL when malformed. form.c */
json_t *sl_admin_form_to_json(const char *body, size_t len);
/* A multipart/form-data body (<ctype> carries the boundary) as JSON, with the same key conventions;
 * a part with Content-Type application/json is decoded as JSON. NULL when malformed. */
json_t *sl_admin_multipart_to_json(const char *body, size_t len, const char *ctype);

/* The body of a POST/PUT/PATCH as a JSON object, by its Content-Type (kong.md §2.4): JSON, form or
 * multipart (strings coerced to <schema>'s numbers and booleans), {} when there is neither body nor
 * type. NULL after filling <res>: 400 for a malformed body, 415 (empty) for another type. crud.c */
struct sl_schema;
json_t *sl_admin_read_body(const struct sl_admin_request *req, struct sl_admin_response *res,
                           const struct sl_schema *schema);

/* Entity endpoints backed by the store (crud.c). Returns false when <seg> is not an entity path it
 * serves (the caller answers 404). */
bool sl_admin_crud(const struct sl_admin_request *req, struct sl_admin_response *res,
                   struct sl_store *st, char **seg, size_t nseg);
/* Recompiles the snapshot from the store and publishes it; -1 with a message on failure. */
int sl_admin_republish(struct sl_store *st, char *err, size_t errlen);

/* Entity specifics layered on the generic endpoints of crud.c: Kong's custom routes and DAO
 * overrides (kong/api/routes/{certificates,snis,upstreams}.lua, kong/db/dao/certificates.lua).
 * Every member is optional; an entity without hooks is served by the generic code alone. */
struct sl_admin_hooks {
    const char *entity;     /* "certificates" */
    bool disabled;          /* /E, /E/{e} and /E/{e}/f answer 404 (Kong's endpoints.disable) */
    bool no_parent_path;    /* /E/{e}/f answers 404 */
    bool put_updates;       /* PUT /F/{f}/E/{e} merges like PATCH, 404 when absent (targets) */
    bool delete_absent_404; /* DELETE of an absent entity answers 404 instead of 204 */
    const char *raw_list;   /* "all": GET /F/{f}/E/all pages the children like /F/{f}/E */
    /* The child of <parent_id> named by <key> (not a UUID); new reference or NULL. */
    json_t *(*find_child)(struct sl_store *st, const char *parent_id, const char *key);
    /* A URL key that is not a UUID (/E/{key}...) as the entity's id into <id>; false after
     * filling <res> (e.g. 404 "SNI not found"). <method> is the request's. */
    bool (*resolve_key)(struct sl_store *st, const char *method, const char *key, char id[37],
                        struct sl_admin_response *res);
    /* Takes the entity's pseudo-fields out of <body> (POST, PUT, PATCH) before the schema sees it
     * and checks them. <id> is the entity's id when known (NULL on POST), <url_key> the non-UUID
     * key the id was resolved from (or NULL). Sets <*extra> to a new reference the write hook
     * receives (NULL: nothing to write). False after filling <res>. */
    bool (*take_input)(struct sl_store *st, const char *method, json_t *body, const char *id,
                       const char *url_key, json_t **extra, struct sl_admin_response *res);
    /* Inside the write's transaction: after the entity <id> was inserted or updated (with the
     * <extra> of take_input), or before it is deleted (<deleting>). */
    enum sl_store_rc (*write)(struct sl_store *st, bool deleting, const char *id,
                              const json_t *extra, struct sl_store_err *err);
    /* Before the entity <id> (present) is deleted, outside the write's transaction as in Kong's
     * DAO overrides: false after filling <res> when the delete is refused (a CA certificate a
     * service still uses). */
    bool (*check_delete)(struct sl_store *st, const char *id, struct sl_admin_response *res);
    /* Adds computed members to <row> before it is returned; false on a store failure. */
    bool (*decorate)(struct sl_store *st, json_t *row);
};

/* Kong's DAO validates a unique value before looking it up (select_by_<field>, upsert_by_...):
 * <value> refused by <schema>'s <field> fills <res> with 400 {"code":10,"name":"invalid unique
 * <field>","message":<the validator's message>} and returns false. crud.c */
bool sl_admin_check_unique_value(const struct sl_schema *schema, const char *field,
                                 const char *value, struct sl_admin_response *res);

/* The hooks of <entity>, or NULL (hooks.c). */
const struct sl_admin_hooks *sl_admin_hooks_find(const char *entity);
/* The certificates' hooks (certificates.c): the `snis` shorthand and /certificates/{sni}. */
extern const struct sl_admin_hooks sl_admin_certificate_hooks;

#define SL_ADMIN_MAX_TAGS 5 /* Kong's limit on tag filter terms */

/* The parameters of a paginated list (query.c). */
/* A `tags` filter is at most 511 bytes once decoded (five tags of 100 bytes fit). */
#define SL_ADMIN_TAGS_TOO_LONG "longer than 511 bytes"
struct sl_admin_list_query {
    size_t size;   /* 1..1000, default 100 */
    bool has_size; /* given in the query: kept in `next` */
    bool has_offset;
    char offset[512];                    /* opaque token when has_offset */
    char tagbuf[512];                    /* storage for <tags>; longer: SL_ADMIN_TAGS_TOO_LONG */
    char tags_raw[1536];                 /* the filter percent-encoded, for `next`; "" if none */
    const char *tags[SL_ADMIN_MAX_TAGS]; /* filter terms; 0 terms: no filter */
    size_t ntags;
    bool tags_any; /* a/b (any) rather than a,b (all) */
};
/* Parses size, offset and tags; on a bad value fills <res> with Kong's 400 and returns false. */
bool sl_admin_parse_list_query(const struct sl_admin_request *req, struct sl_admin_list_query *q,
                               struct sl_admin_response *res);
/* The same without the tags filter (size and offset only), for lists that have no tags. */
bool sl_admin_parse_page_query(const struct sl_admin_request *req, struct sl_admin_list_query *q,
                               struct sl_admin_response *res);
/* <in> percent-encoded as ngx.escape_uri encodes a URI component (all but ALPHA, DIGIT and
 * "-._~"), so that a link built from it is one valid request target whatever it holds; cut at a
 * whole escape when <outlen> is reached. */
void sl_admin_escape_component(const char *in, char *out, size_t outlen);
/* The `next` link of a page into <out>: <base>?offset=<offset>, then as Kong's
 * get_collection_endpoint `&tags=` (percent-encoded) and `&size=` when the request had them. */
void sl_admin_next_link(char *out, size_t outlen, const char *base, const char *offset,
                        const struct sl_admin_list_query *q);

/* Fills <res> for <req>. endpoints.c */
void sl_admin_dispatch(const struct sl_admin_request *req, struct sl_admin_response *res);
/* The extra headers of an OPTIONS answer for a route serving <methods> (a string literal, sorted
 * as Kong lists them). */
#define SL_ADMIN_OPTIONS_HEADERS(methods)                                                          \
    "Allow: " methods "\r\nAccess-Control-Allow-Methods: " methods "\r\n"

/* logs.c: the Admin and Status APIs' logs (admin.h: sl_admin_logs_open). The error log of
 * <status> (false: admin_error_log, true: status_error_log), to route the server's lines to
 * (sl_log_route_thread) while it serves a connection of that API. */
struct sl_log_file *sl_admin_error_log(bool status);
/* Writes <f> as one combined line to admin_access_log or, with <status>, status_access_log. */
struct sl_access_line;
void sl_admin_access_log(bool status, const struct sl_access_line *f);

/* Fills <res> for <req> on a status_listen connection: the Status API (status.c). */
void sl_status_dispatch(const struct sl_admin_request *req, struct sl_admin_response *res);

/* Shared by the Admin and Status APIs (endpoints.c). GET /status (kong/api/routes/health.lua). */
void sl_admin_get_status(const struct sl_admin_request *req, struct sl_admin_response *res);
/* The configuration_hash served (32 hex digits and a NUL; 32 zeros when the configuration came
 * from no declarative text). Control thread. */
void sl_admin_served_hash(char out[33]);
/* With a database: whether one round trip to it and a new connection to it succeed now (false
 * without a store). */
bool sl_admin_database_reachable(const struct sl_conf *conf);

/* Kong's Admin API reads at most 1000 query arguments and 1000 form arguments (kong/pdk/request.lua
 * MAX_QUERY_ARGS, MAX_POST_ARGS); a request with more answers 400 "Too many arguments". */
#define SL_ADMIN_MAX_ARGS 1000
/* The arguments of a query string or form body as nginx counts them: the non-empty pieces
 * between '&'. */
size_t sl_admin_count_args(const char *s, size_t len);

/* Helpers for handlers. */
void sl_admin_message(struct sl_admin_response *res, int status, const char *message);
/* What sl_admin_query_arg found. */
enum sl_admin_arg {
    SL_ADMIN_ARG_ABSENT = 0,
    SL_ADMIN_ARG_FOUND,
    /* present, but unreadable: never to be taken for absent, or a filter would silently not
     * apply */
    SL_ADMIN_ARG_INVALID,  /* a bad escape or %00 */
    SL_ADMIN_ARG_TOO_LONG, /* longer than the buffer once decoded */
};
/* The raw (still encoded) value of the first query parameter <name>: false when absent. */
bool sl_admin_query_raw(const char *query, const char *name, const char **val, size_t *vlen);
/* The raw value of <name> into <out> for an error message: cut to <outlen>, bytes other than
 * printable ASCII shown as '?'. */
void sl_admin_query_shown(const char *query, const char *name, char *out, size_t outlen);
/* The first query parameter <name> (form-decoded) into <out>; `?name` alone is found and empty.
 * <out> is "" unless FOUND. */
enum sl_admin_arg sl_admin_query_arg(const char *query, const char *name, char *out, size_t outlen);
/* The same into a new buffer the caller frees, sized so that it is never TOO_LONG; NULL (and
 * <*arg> untouched) when out of memory. */
char *sl_admin_query_arg_dup(const char *query, const char *name, enum sl_admin_arg *arg);
/* Percent-decodes <in> into <out> ('+' kept unless <form>); returns the length, -1 for a bad
 * escape or %00, -2 when <out> is too small. */
long sl_admin_url_decode(const char *in, size_t len, char *out, size_t outlen, bool form);

#endif
