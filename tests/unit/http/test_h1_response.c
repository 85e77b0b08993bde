/* SPDX-License-Identifier: Apache-2.0 */
/* Response-head parser: status-line syntax, header strictness, body framing per RFC 9112 §6.3 and
 * the response-splitting guards of hardening.md §1 (TE+CL, duplicate CL, chunked not last), each
 * error being 502, every case also replayed prefix by prefix. */
#include <criterion/criterion.h>
#include <string.h>

#include "h1_util.h"
#include "http/h1.h"

static const struct h1_case cases[] = {
    C("ok cl", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0),
    C("ok chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", 0),
    C("until close", "HTTP/1.1 200 OK\r\n\r\n", 0),
    C("empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", 0),
    C("no reason no sp", "HTTP/1.1 204\r\n\r\n", 0),
    C("reason obs-text tab", "HTTP/1.1 200 \xc3\x89t\tat ok\r\n\r\n", 0),
    C("http/1.0", "HTTP/1.0 200 OK\r\n\r\n", 0),
    C("te in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0),
    C("status 999", "HTTP/1.1 999 Odd\r\n\r\n", 0),
    C("101",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0),
    /* a bare LF ends a line in a response (as nginx reads them); a bare CR never does */
    C("bare lf everywhere", "HTTP/1.1 200 OK\nContent-Length: 5\nX: y\n\n", 0),
    C("bare lf status", "HTTP/1.1 200 OK\n\r\n", 0),
    C("bare lf header", "HTTP/1.1 200 OK\r\nContent-Length: 1\n\r\n", 0),
    C("bare lf end of head", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\n", 0),
    C("bare lf cgi style", "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Type: text/html\n\n", 0),
    C("bare lf no reason", "HTTP/1.1 204\n\n", 0),
    C("bare lf interim", "HTTP/1.1 100 Continue\n\n", 0),
    C("bare lf empty value", "HTTP/1.1 200 OK\nX:\n\n", 0),

    C("te and cl", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
      -502),
    C("cl and te", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      -502),
    C("dup cl same", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", -502),
    C("dup cl differs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -502),
    C("cl list same", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", -502),
    C("cl list differs", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", -502),
    C("cl sign", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", -502),
    C("cl overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", -502),
    C("chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", -502),
    C("gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -502),
    C("te identity", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n", -502),
    C("dup te",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", -502),
    C("te and cl in 1.0",
      "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", -502),
    C("te gzip in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", -502),
    C("te on 204 with cl",
      "HTTP/1.1 204 No\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", -502),
    C("101 without upgrade", "HTTP/1.1 101 Switching\r\n\r\n", -502),
    C("status two digits", "HTTP/1.1 99 X\r\n\r\n", -502),
    C("status 0xx", "HTTP/1.1 099 X\r\n\r\n", -502),
    C("status four digits", "HTTP/1.1 2000 X\r\n\r\n", -502),
    C("status letters", "HTTP/1.1 abc X\r\n\r\n", -502),
    C("no status", "HTTP/1.1\r\n\r\n", -502),
    C("double sp", "HTTP/1.1  200 OK\r\n\r\n", -502),
    C("http/2", "HTTP/2.0 200 OK\r\n\r\n", -502),
    C("lowercase", "http/1.1 200 OK\r\n\r\n", -502),
    C("garbage", "<html>\r\n\r\n", -502),
    C("bare cr status", "HTTP/1.1 200 OK\rX\r\n\r\n", -502),
    C("cr cr lf status", "HTTP/1.1 200 OK\r\r\n\r\n", -502),
    C("bare cr header", "HTTP/1.1 200 OK\nX: a\rY: b\n\n", -502),
    C("cr cr lf header", "HTTP/1.1 200 OK\nX: a\r\r\n\n", -502),
    C("bare cr end of head", "HTTP/1.1 200 OK\nX: a\n\r\r", -502),
    C("ctl in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", -502),
    C("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", -502),
    C("obs-fold bare lf", "HTTP/1.1 200 OK\nX: a\n b\n\n", -502),
    C("te and cl bare lf", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 5\n\n",
      -502),
    C("sp before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", -502),
    C("nul in value", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", -502),
};

Test(h1_response, table)
{
    static struct sl_header hdrs[MAXH];
    struct sl_h1_response res;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct h1_case *c = &cases[i];
        int want = c->status ? c->status : (int)c->len;
        int rc = res_parse_copy(c->raw, c->len, NULL, false, &res, hdrs, MAXH);
        cr_expect_eq(rc, want, "%s: got %d, want %d", c->name, rc, want);
    }
}

Test(h1_response, table_prefix_by_prefix)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct h1_case *c = &cases[i];
        int want = c->status ? c->status : (int)c->len;
        replay_prefixes(c->name, c->raw, c->len, want, true, NULL, MAXH);
    }
}

static int
rparse(const char *s, bool head, struct sl_h1_response *res)
{
    static struct sl_header hdrs[MAXH];
    return sl_h1_parse_response(s, strlen(s), NULL, head, res, hdrs, MAXH);
}

Test(h1_response, fields_and_body_kinds)
{
    struct sl_h1_response res;
    cr_assert_gt(
        rparse("HTTP/1.1 201 Created Now\r\nContent-Length: 12\r\nX: y\r\n\r\nbody", false, &res),
        0);
    cr_assert_eq(res.status, 201);
    cr_assert_eq(res.reason.len, strlen("Created Now"));
    cr_assert(memcmp(res.reason.p, "Created Now", res.reason.len) == 0);
    cr_assert_eq(res.minor, 1);
    cr_assert_eq(res.nheaders, 2);
    cr_assert_eq(res.body, SL_H1_BODY_LENGTH);
    cr_assert_eq(res.content_length, 12);
    cr_assert(res.keep_alive);
    cr_assert_eq(res.head_len,
                 strlen("HTTP/1.1 201 Created Now\r\nContent-Length: 12\r\nX: y\r\n\r\n"));

    cr_assert_gt(rparse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_CHUNKED);
    cr_assert(res.keep_alive);

    cr_assert_gt(rparse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert(res.has_content_length); /* an empty body, declared: the proxy must say so too */
    cr_assert_eq(res.content_length, 0);
    cr_assert(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 200 OK\r\nContent-Length: 010\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.content_length, 10); /* decimal, never octal */

    cr_assert_gt(rparse("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_UNTIL_CLOSE);
    cr_assert_not(res.keep_alive); /* the end of the body is the end of the connection */
}

Test(h1_response, bodyless_responses)
{
    struct sl_h1_response res;
    const char *with_cl = "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n";
    /* A body announced where none may follow: no body is read. To HEAD and as a 304 the framing
     * is the GET's and allowed: the connection may be kept (the proxy rests it first, as stray
     * bytes would become the next request's response); a 204 announcing one breaks the protocol
     * and is not reused, nor is one that asked to close. */
    cr_assert_gt(rparse(with_cl, true, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert(res.body_announced);
    cr_assert(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert(res.body_announced);
    cr_assert(res.keep_alive);
    cr_assert_gt(
        rparse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", true, &res), 0);
    cr_assert_not(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert(res.body_announced);
    cr_assert_not(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", true, &res), 0);
    cr_assert_not(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", false, &res),
                 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert(res.body_announced);
    cr_assert(res.keep_alive);
    /* the entity's length is still reported, for the head Sluice forwards */
    cr_assert(res.has_content_length);
    cr_assert_eq(res.content_length, 100);
    cr_assert_gt(rparse(with_cl, true, &res), 0);
    cr_assert(res.has_content_length);
    cr_assert_eq(res.content_length, 42);
    /* Nothing announced, or a length of 0: reused as usual. */
    cr_assert_gt(rparse("HTTP/1.1 200 OK\r\n\r\n", true, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert_not(res.body_announced);
    cr_assert_not(res.has_content_length);
    cr_assert(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true, &res), 0);
    cr_assert(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 204 No Content\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n", false, &res), 0);
    cr_assert(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.1 100 Continue\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.status, 100);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert_gt(rparse("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert_not(res.upgrade);
}

/* A head whose lines end in bare LF reads exactly as the same head with CRLF: the same status,
 * reason, fields, framing and keep-alive, and a head length that ends after the LF. */
Test(h1_response, bare_lf_reads_as_crlf)
{
    static struct sl_header a[MAXH], b[MAXH];
    struct sl_h1_response ra, rb;
    const char *crlf = "HTTP/1.1 203 Non Auth\r\nX-A:  v w \r\nContent-Length: 7\r\nConnection: "
                       "keep-alive\r\n\r\nbody!!!";
    const char *lf = "HTTP/1.1 203 Non Auth\nX-A:  v w \nContent-Length: 7\nConnection: "
                     "keep-alive\n\nbody!!!";
    cr_assert_eq(sl_h1_parse_response(crlf, strlen(crlf), NULL, false, &ra, a, MAXH),
                 (int)(strlen(crlf) - 7));
    cr_assert_eq(sl_h1_parse_response(lf, strlen(lf), NULL, false, &rb, b, MAXH),
                 (int)(strlen(lf) - 7));
    cr_assert_eq(ra.status, rb.status);
    cr_assert(ra.reason.len == rb.reason.len &&
              memcmp(ra.reason.p, rb.reason.p, ra.reason.len) == 0);
    cr_assert_eq(ra.nheaders, 3);
    cr_assert_eq(rb.nheaders, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert(a[i].name.len == b[i].name.len &&
                  memcmp(a[i].name.p, b[i].name.p, a[i].name.len) == 0);
        cr_assert(a[i].value.len == b[i].value.len &&
                      memcmp(a[i].value.p, b[i].value.p, a[i].value.len) == 0,
                  "field %zu", i);
    }
    cr_assert_eq(rb.body, SL_H1_BODY_LENGTH);
    cr_assert_eq(rb.content_length, 7);
    cr_assert(rb.keep_alive);
}

/* The requests' parser is not loosened with it: a bare LF there is still 400. */
Test(h1_response, bare_lf_stays_refused_in_requests)
{
    static struct sl_header hdrs[MAXH];
    struct sl_h1_request req;
    const char *r = "GET / HTTP/1.1\nHost: a\n\n";
    cr_assert_eq(sl_h1_parse_request(r, strlen(r), NULL, &req, hdrs, MAXH), -400);
}

/* The line limit counts the same bytes whichever line end follows: N pass, N+1 do not. */
Test(h1_response, bare_lf_line_limit)
{
    struct sl_h1_limits lim = {64, 32, 128, 4};
    struct sl_header hdrs[8];
    struct sl_h1_response res;
    const char *sl32 = "HTTP/1.1 200 aaaaaaaaaaaaaaaaaaa\n\n";
    const char *sl33 = "HTTP/1.1 200 aaaaaaaaaaaaaaaaaaaa\n\n";
    const char *h32 = "HTTP/1.1 200 OK\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n";
    const char *h33 = "HTTP/1.1 200 OK\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n";
    cr_assert_eq(strchr(sl32, '\n') - sl32, 32);
    cr_assert_eq(strchr(h32 + 16, '\n') - (h32 + 16), 32);
    cr_assert_eq(sl_h1_parse_response(sl32, strlen(sl32), &lim, false, &res, hdrs, 8),
                 (int)strlen(sl32));
    cr_assert_eq(sl_h1_parse_response(h32, strlen(h32), &lim, false, &res, hdrs, 8),
                 (int)strlen(h32));
    replay_prefixes("sl33 lf", sl33, strlen(sl33), -502, true, &lim, 8);
    replay_prefixes("h33 lf", h33, strlen(h33), -502, true, &lim, 8);
}

Test(h1_response, keep_alive_rules)
{
    struct sl_h1_response res;
    cr_assert_gt(
        rparse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", false, &res),
        0);
    cr_assert_not(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, &res), 0);
    cr_assert_not(res.keep_alive);
    cr_assert_gt(rparse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n",
                        false, &res),
                 0);
    cr_assert(res.keep_alive);
    cr_assert_eq(res.minor, 0);
    cr_assert_gt(rparse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_UNTIL_CLOSE);
    cr_assert_not(res.keep_alive);
    /* RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing: read as chunked, then the
     * connection is closed, even when it asked to be kept */
    cr_assert_gt(rparse("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: "
                        "keep-alive\r\n\r\n",
                        false, &res),
                 0);
    cr_assert_eq(res.body, SL_H1_BODY_CHUNKED);
    cr_assert_not(res.keep_alive);
    cr_assert_gt(
        rparse("HTTP/1.0 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert_not(res.keep_alive);
}

/* RFC 9112 §2.3: a later HTTP/1 minor version is read as 1.1 (keep-alive by default), as nginx
 * does and as Sluice reads requests; another major version stays refused. */
Test(h1_response, later_minor_version_reads_as_1_1)
{
    struct sl_h1_response res;
    cr_assert_gt(rparse("HTTP/1.2 200 OK\r\nContent-Length: 1\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.minor, 1);
    cr_assert(res.keep_alive);
    cr_assert_eq(res.body, SL_H1_BODY_LENGTH);
    cr_assert_gt(rparse("HTTP/1.9 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, &res), 0);
    cr_assert_eq(res.body, SL_H1_BODY_CHUNKED);
    cr_assert_eq(rparse("HTTP/2.0 200 OK\r\n\r\n", false, &res), -502);
}

Test(h1_response, switching_protocols)
{
    struct sl_h1_response res;
    cr_assert_gt(rparse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\n\r\n",
                        false, &res),
                 0);
    cr_assert(res.upgrade);
    cr_assert_eq(res.body, SL_H1_BODY_NONE);
    cr_assert_not(res.keep_alive);
    cr_assert_eq(rparse("HTTP/1.1 101 Switching Protocols\r\n\r\n", false, &res), -502);
}

Test(h1_response, limits_are_502)
{
    struct sl_h1_limits lim = {64, 32, 128, 2};
    struct sl_header hdrs[8];
    struct sl_h1_response res;
    const char *three = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    const char *two = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n";
    cr_assert_eq(sl_h1_parse_response(two, strlen(two), &lim, false, &res, hdrs, 8),
                 (int)strlen(two));
    cr_assert_eq(sl_h1_parse_response(three, strlen(three), &lim, false, &res, hdrs, 8), -502);
    cr_assert_eq(sl_h1_parse_response(two, strlen(two), &lim, false, &res, hdrs, 1), -502);
    /* the status line is bounded by max_header_line: 32 bytes pass, 33 do not */
    const char *sl32 = "HTTP/1.1 200 aaaaaaaaaaaaaaaaaaa\r\n\r\n";
    const char *sl33 = "HTTP/1.1 200 aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    cr_assert_eq(strchr(sl32, '\r') - sl32, 32);
    cr_assert_eq(sl_h1_parse_response(sl32, strlen(sl32), &lim, false, &res, hdrs, 8),
                 (int)strlen(sl32));
    cr_assert_eq(sl_h1_parse_response(sl33, strlen(sl33), &lim, false, &res, hdrs, 8), -502);
    replay_prefixes("sl33", sl33, strlen(sl33), -502, true, &lim, 8);
}

Test(h1_response, incremental_byte_by_byte)
{
    const char *s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi";
    size_t head = strlen(s) - 2;
    struct sl_header hdrs[8];
    struct sl_h1_response res;
    for (size_t k = 0; k < head; k++) {
        cr_assert_eq(res_parse_copy(s, k, NULL, false, &res, hdrs, 8), 0, "prefix %zu", k);
    }
    for (size_t k = head; k <= strlen(s); k++) {
        cr_assert_eq(res_parse_copy(s, k, NULL, false, &res, hdrs, 8), (int)head);
        cr_assert_eq(res.content_length, 2);
    }
}

Test(h1_response, head_pending_guard)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        guarded_replay(&cases[i], true, NULL);
    }
}
