/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the HTTP/1 unit tests: parse a byte string through an exact-size heap copy (so
 * ASan sees any read past <len>), and replay every prefix of it, as a client that sends one byte
 * per packet would, checking that the answer only ever goes from "need more" to the final one. */
#ifndef SL_TEST_H1_UTIL_H
#define SL_TEST_H1_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"

#define MAXH 128

struct h1_case {
    const char *name;
    const char *raw;
    size_t len;
    int status; /* 0: a complete head of exactly <len> bytes; < 0: the error */
};

/* A case from a string literal that may hold NUL bytes. */
#define C(name, lit, st)                                                                           \
    {                                                                                              \
        name, lit, sizeof(lit) - 1, st                                                             \
    }

static inline int
req_parse_copy(const char *raw, size_t len, const struct sl_h1_limits *lim,
               struct sl_h1_request *req, struct sl_header *hdrs, size_t max_hdrs)
{
    char *copy = malloc(len ? len : 1);
    cr_assert_not_null(copy);
    memcpy(copy, raw, len);
    int rc = sl_h1_parse_request(copy, len, lim, req, hdrs, max_hdrs);
    if (rc > 0) {
        /* every view must lie inside the buffer */
        const struct sl_str *v[] = {&req->method, &req->target, &req->path,
                                    &req->query,  &req->host,   &req->upgrade_proto};
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
            if (v[i]->len) {
                cr_assert(v[i]->p >= copy && v[i]->p + v[i]->len <= copy + rc, "%s: view %zu", raw,
                          i);
            }
        }
        for (size_t i = 0; i < req->nheaders; i++) {
            cr_assert(hdrs[i].name.p >= copy && hdrs[i].name.p + hdrs[i].name.len <= copy + rc);
            cr_assert(hdrs[i].value.p >= copy && hdrs[i].value.p + hdrs[i].value.len <= copy + rc);
        }
    }
    free(copy);
    return rc;
}

static inline int
res_parse_copy(const char *raw, size_t len, const struct sl_h1_limits *lim, bool head,
               struct sl_h1_response *res, struct sl_header *hdrs, size_t max_hdrs)
{
    char *copy = malloc(len ? len : 1);
    cr_assert_not_null(copy);
    memcpy(copy, raw, len);
    int rc = sl_h1_parse_response(copy, len, lim, head, res, hdrs, max_hdrs);
    if (rc > 0) {
        cr_assert(res->reason.len == 0 ||
                  (res->reason.p >= copy && res->reason.p + res->reason.len <= copy + rc));
    }
    free(copy);
    return rc;
}

/* Checks every prefix of <raw>: 0 until the answer is known, then exactly <final> for every longer
 * prefix; returns the answer for the whole of <raw>. */
static inline int
replay_prefixes(const char *what, const char *raw, size_t len, int final, bool response,
                const struct sl_h1_limits *lim, size_t max_hdrs)
{
    static struct sl_header hdrs[MAXH];
    struct sl_h1_request req;
    struct sl_h1_response res;
    bool decided = false;
    int rc = 0;
    for (size_t k = 0; k <= len; k++) {
        rc = response ? res_parse_copy(raw, k, lim, false, &res, hdrs, max_hdrs)
                      : req_parse_copy(raw, k, lim, &req, hdrs, max_hdrs);
        if (decided) {
            cr_assert_eq(rc, final, "%s: prefix %zu/%zu gave %d after the answer %d", what, k, len,
                         rc, final);
        } else if (rc != 0) {
            cr_assert_eq(rc, final, "%s: prefix %zu/%zu gave %d, whole gives %d", what, k, len, rc,
                         final);
            decided = true;
        }
    }
    return rc;
}

/* A caller that parses only when sl_h1_head_pending says it must: it reaches the same answer as
 * one that parses after every byte, and the guard never hides a complete head. */
static inline void
guarded_replay(const struct h1_case *c, bool response, const struct sl_h1_limits *lim)
{
    static struct sl_header hdrs[MAXH];
    struct sl_h1_request req;
    struct sl_h1_response res;
    int want = c->status ? (response ? -502 : c->status) : (int)c->len;
    size_t prev = 0;
    int got = 0;
    bool pending = false;
    for (size_t k = 1; k <= c->len && got == 0; k++) {
        pending = sl_h1_head_pending(c->raw, k, prev, lim, response);
        int now = response ? res_parse_copy(c->raw, k, lim, false, &res, hdrs, MAXH)
                           : req_parse_copy(c->raw, k, lim, &req, hdrs, MAXH);
        if (pending) {
            cr_assert(now == 0 || (now < 0 && now == want), "%s: pending hid %d at %zu", c->name,
                      now, k);
            cr_assert(now != -414 && (now != -431 || want == -431));
        } else {
            got = now;
        }
        prev = k;
    }
    if (got == 0) {
        /* only an error whose bytes hold no LF may still be waiting */
        cr_assert(pending && want < 0, "%s: undecided", c->name);
    } else {
        cr_assert_eq(got, want, "%s: guarded %d, want %d", c->name, got, want);
    }
}

#endif
