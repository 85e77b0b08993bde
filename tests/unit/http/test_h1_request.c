/* SPDX-License-Identifier: Apache-2.0 */
/* Request-head parser: every rejection of hardening.md §1-3 and §7 with its exact status, the valid
 * edge cases, each limit at N and N+1, and every case replayed prefix by prefix (byte-at-a-time).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1_util.h"
#include "http/h1.h"

#define H "Host: a\r\n"
#define END "\r\n"
#define REQ(hdrs) "GET / HTTP/1.1\r\n" hdrs END

static const struct h1_case cases[] = {
    /* valid */
    C("simple", REQ(H), 0),
    C("http/1.0 without host", "GET / HTTP/1.0\r\n\r\n", 0),
    C("options star", "OPTIONS * HTTP/1.1\r\n" H END, 0),
    C("absolute-form", "GET http://example.com:8080/a?b HTTP/1.1\r\n" H END, 0),
    C("absolute-form https upper", "GET HTTPS://example.com/ HTTP/1.1\r\n" H END, 0),
    C("absolute-form no path", "GET http://example.com HTTP/1.1\r\n" H END, 0),
    C("leading empty line", "\r\n\r\nGET / HTTP/1.1\r\n" H END, 0),
    C("empty value", REQ(H "X-Empty:\r\n"), 0),
    C("empty value with ows", REQ(H "X-Empty: \t \r\n"), 0),
    C("obs-text in value", REQ(H "X-Utf: caf\xc3\xa9\r\n"), 0),
    C("tab in value", REQ(H "X-Tab: a\tb\r\n"), 0),
    C("value without ows", REQ(H "X-A:b\r\n"), 0),
    C("underscore name kept", REQ(H "Transfer_Encoding: chunked\r\n"), 0),
    C("te chunked", REQ(H "Transfer-Encoding: chunked\r\n"), 0),
    C("te chunked any case", REQ(H "Transfer-Encoding: ChUnKeD\r\n"), 0),
    C("cl leading zeros", REQ(H "Content-Length: 007\r\n"), 0),
    C("cl max", REQ(H "Content-Length: 9223372036854775807\r\n"), 0),
    C("host ipv6", REQ("Host: [::1]:8000\r\n"), 0),
    C("host ipv4 port", REQ("Host: 127.0.0.1:65535\r\n"), 0),
    C("host trailing dot", REQ("Host: example.com.\r\n"), 0),
    C("host punycode", REQ("Host: xn--bcher-kva.example\r\n"), 0),
    C("dup user-agent accepted", REQ(H "User-Agent: a\r\nUser-Agent: b\r\n"), 0),
    C("dup cookie accepted", REQ(H "Cookie: a=1\r\nCookie: b=2\r\n"), 0),
    C("dup proxy-authorization accepted",
      REQ(H "Proxy-Authorization: a\r\nProxy-Authorization: b\r\n"), 0),
    C("dup range accepted", REQ(H "Range: bytes=0-1\r\nRange: bytes=2-3\r\n"), 0),
    C("method with dash", "M-SEARCH /x HTTP/1.1\r\n" H END, 0),
    C("method with underscore", "X_Y /x HTTP/1.1\r\n" H END, 0),
    C("target sub-delims", "GET /a;b=c,d!$&'()*+:@/?x=%20&y HTTP/1.1\r\n" H END, 0),

    /* request line */
    C("origin-form required", "GET admin HTTP/1.1\r\n" H END, -400),
    C("double sp", "GET  / HTTP/1.1\r\n" H END, -400),
    C("sp before version twice", "GET /  HTTP/1.1\r\n" H END, -400),
    C("trailing sp", "GET / HTTP/1.1 \r\n" H END, -400),
    C("leading sp", " GET / HTTP/1.1\r\n" H END, -400),
    C("tab separator", "GET\t/ HTTP/1.1\r\n" H END, -400),
    C("bad method byte", "G(T / HTTP/1.1\r\n" H END, -400),
    C("empty method", " / HTTP/1.1\r\n", -400),
    C("lowercase method", "get / HTTP/1.1\r\n" H END, -400),
    C("mixed-case method", "Get / HTTP/1.1\r\n" H END, -400),
    C("method digit", "GET1 / HTTP/1.1\r\n" H END, -400),
    C("method tchar not in nginx's set", "GET.X / HTTP/1.1\r\n" H END, -400),
    C("space in target", "GET /a b HTTP/1.1\r\n" H END, -400),
    C("fragment", "GET /a#x HTTP/1.1\r\n" H END, -400),
    C("ctl in target", "GET /\x01 HTTP/1.1\r\n" H END, -400),
    C("nul in target", "GET /\0 HTTP/1.1\r\n" H END, -400),
    C("del in target", "GET /\x7f HTTP/1.1\r\n" H END, -400),
    C("raw utf-8 in target (nginx, so Kong)", "GET /caf\xc3\xa9?q=\xff HTTP/1.1\r\n" H END, 0),
    C("http/0.9", "GET /\r\n", -400),
    C("lowercase version", "GET / http/1.1\r\n" H END, -400),
    C("version three digits", "GET / HTTP/1.10\r\n" H END, -400),
    C("version no minor", "GET / HTTP/1\r\n" H END, -400),
    C("version two-digit major", "GET / HTTP/11.1\r\n" H END, -400),
    C("bare lf request line", "GET / HTTP/1.1\n" H END, -400),
    C("bare cr request line", "GET / HTTP/1.1\rX", -400),
    C("bare lf leading", "\nGET / HTTP/1.1\r\n" H END, -400),
    C("http/2.0", "GET / HTTP/2.0\r\n" H END, -505),
    C("http/1.2 handled as 1.1", "GET / HTTP/1.2\r\n" H END, 0),
    C("http/0.9 form", "GET / HTTP/0.9\r\n" H END, -505),
    C("http/3.0", "GET / HTTP/3.0\r\n", -505),
    C("star needs options", "GET * HTTP/1.1\r\n" H END, -400),
    C("star only alone", "OPTIONS *x HTTP/1.1\r\n" H END, -400),
    C("ftp scheme", "GET ftp://h/x HTTP/1.1\r\n" H END, -400),
    C("scheme without slashes", "GET http:/x HTTP/1.1\r\n" H END, -400),
    C("absolute-form userinfo", "GET http://a@b/x HTTP/1.1\r\n" H END, -400),
    C("absolute-form empty host", "GET http:///x HTTP/1.1\r\n" H END, -400),
    C("absolute-form bad port", "GET http://h:99999/ HTTP/1.1\r\n" H END, -400),
    C("absolute-form scheme only", "GET http:// HTTP/1.1\r\n" H END, -400),
    C("connect refused", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", -405),
    C("connect without port", "CONNECT example.com HTTP/1.1\r\n" H END, -400),
    C("connect origin-form", "CONNECT / HTTP/1.1\r\n" H END, -400),
    C("trace refused", "TRACE / HTTP/1.1\r\n" H END, -405),

    /* header lines */
    C("sp before colon", REQ("Host : a\r\n"), -400),
    C("te sp before colon", REQ(H "Transfer-Encoding : chunked\r\n"), -400),
    C("tab before colon", REQ("Host\t: a\r\n"), -400),
    C("empty name", REQ(H ": a\r\n"), -400),
    C("obs-fold", REQ(H "X-A: b\r\n c\r\n"), -400),
    C("obs-fold tab", REQ(H "X-A: b\r\n\tc\r\n"), -400),
    C("first line folded", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", -400),
    C("vt in name",
      REQ(H "X\x0b"
            "A: b\r\n"),
      -400),
    C("name trailing vt", REQ(H "Transfer-Encoding\x0b: chunked\r\n"), -400),
    C("no colon", REQ(H "X-A b\r\n"), -400),
    C("nul in value", REQ(H "X-A: a\0b\r\n"), -400),
    C("cr in value", REQ(H "X-A: a\rb\r\n"), -400),
    C("lf in value", REQ(H "X-A: a\nb\r\n"), -400),
    C("del in value", REQ(H "X-A: a\x7f\r\n"), -400),
    C("ctl in value", REQ(H "X-A: a\x01\r\n"), -400),
    C("vt around te value",
      REQ(H "Transfer-Encoding:\x0b"
            "chunked\r\n"),
      -400),
    C("bare lf header", "GET / HTTP/1.1\r\nHost: a\n\r\n", -400),
    C("bare lf end of head", "GET / HTTP/1.1\r\nHost: a\r\n\n", -400),
    C("bare cr end of head", "GET / HTTP/1.1\r\nHost: a\r\n\r\r", -400),
    C("non-ascii in name", REQ(H "X-\xc3\xa9: a\r\n"), -400),

    /* Host */
    C("missing host", REQ(""), -400),
    C("missing host absolute-form", "GET http://h/ HTTP/1.1\r\n\r\n", -400),
    C("duplicate host", REQ(H H), -400),
    /* nginx's unique header lines (ngx_http_process_unique_header_line): a second one is a 400 */
    C("dup expect", REQ(H "Expect: 100-continue\r\nExpect: 100-continue\r\n"), -400),
    C("dup authorization", REQ(H "Authorization: a\r\nAuthorization: b\r\n"), -400),
    C("dup authorization any case", REQ(H "authorization: a\r\nAUTHORIZATION: a\r\n"), -400),
    C("dup if-match", REQ(H "If-Match: \"a\"\r\nIf-Match: \"b\"\r\n"), -400),
    C("dup if-none-match", REQ(H "If-None-Match: \"a\"\r\nIf-None-Match: \"a\"\r\n"), -400),
    C("dup if-modified-since", REQ(H "If-Modified-Since: a\r\nIf-Modified-Since: b\r\n"), -400),
    C("dup if-unmodified-since", REQ(H "If-Unmodified-Since: a\r\nIf-Unmodified-Since: b\r\n"),
      -400),
    C("dup if-range", REQ(H "If-Range: a\r\nIf-Range: b\r\n"), -400),
    C("dup content-range", REQ(H "Content-Range: a\r\nContent-Range: b\r\n"), -400),
    C("duplicate host differs", REQ(H "host: b\r\n"), -400),
    C("empty host", REQ("Host:\r\n"), -400),
    C("host userinfo", REQ("Host: a@b\r\n"), -400),
    C("host two ports", REQ("Host: h:1:2\r\n"), -400),
    C("host port too big", REQ("Host: h:65536\r\n"), -400),
    C("host port six digits", REQ("Host: h:000080\r\n"), -400),
    C("host port non-digit", REQ("Host: h:8x\r\n"), -400),
    C("host empty port", REQ("Host: h:\r\n"), -400),
    C("host only port", REQ("Host: :80\r\n"), -400),
    C("host ipv6 unclosed", REQ("Host: [::1\r\n"), -400),
    C("host ipv6 bad char", REQ("Host: [::g]\r\n"), -400),
    C("host ipv6 no colon", REQ("Host: [1234]\r\n"), -400),
    C("host ipv6 junk after", REQ("Host: [::1]x\r\n"), -400),
    C("host empty label", REQ("Host: a..b\r\n"), -400),
    C("host leading dot", REQ("Host: .a\r\n"), -400),
    C("host space", REQ("Host: a b\r\n"), -400),
    C("host slash", REQ("Host: a/b\r\n"), -400),
    C("host backslash", REQ("Host: a\\b\r\n"), -400),
    C("host percent", REQ("Host: a%41\r\n"), -400),
    C("host 1.0 invalid", "GET / HTTP/1.0\r\nHost: a@b\r\n\r\n", -400),

    /* framing */
    C("te chunked identity", REQ(H "Transfer-Encoding: chunked, identity\r\n"), -501),
    C("te identity", REQ(H "Transfer-Encoding: identity\r\n"), -501),
    C("te gzip chunked", REQ(H "Transfer-Encoding: gzip, chunked\r\n"), -501),
    C("te xchunked", REQ(H "Transfer-Encoding: xchunked\r\n"), -501),
    C("te chunked twice", REQ(H "Transfer-Encoding: chunked,chunked\r\n"), -400),
    C("te leading comma", REQ(H "Transfer-Encoding: ,chunked\r\n"), -400),
    C("te trailing comma", REQ(H "Transfer-Encoding: chunked,\r\n"), -400),
    C("te empty", REQ(H "Transfer-Encoding:\r\n"), -400),
    C("te parameter", REQ(H "Transfer-Encoding: chunked;q=1\r\n"), -400),
    C("te quoted", REQ(H "Transfer-Encoding: \"chunked\"\r\n"), -400),
    C("te nbsp",
      REQ(H "Transfer-Encoding: \xa0"
            "chunked\r\n"),
      -400),
    C("two te headers", REQ(H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
      -400),
    C("te in 1.0", "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400),
    C("te and cl", REQ(H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), -400),
    C("cl and te", REQ(H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), -400),
    C("cl plus", REQ(H "Content-Length: +5\r\n"), -400),
    C("cl minus", REQ(H "Content-Length: -1\r\n"), -400),
    C("cl hex", REQ(H "Content-Length: 0x5\r\n"), -400),
    C("cl underscore", REQ(H "Content-Length: 5_0\r\n"), -400),
    C("cl inner space", REQ(H "Content-Length: 5 5\r\n"), -400),
    C("cl empty", REQ(H "Content-Length:\r\n"), -400),
    C("cl overflow 2^64", REQ(H "Content-Length: 18446744073709551616\r\n"), -400),
    C("cl overflow 2^63", REQ(H "Content-Length: 9223372036854775808\r\n"), -400),
    C("cl list same", REQ(H "Content-Length: 5, 5\r\n"), -400),
    C("cl list differs", REQ(H "Content-Length: 5, 6\r\n"), -400),
    C("cl twice same", REQ(H "Content-Length: 5\r\nContent-Length: 5\r\n"), -400),
    C("cl twice differs", REQ(H "Content-Length: 5\r\ncontent-length: 6\r\n"), -400),
    /* HTAB as OWS of a framing or routing value: nginx keeps it in the value (h1_differential) */
    C("te htab before", REQ(H "Transfer-Encoding:\tchunked\r\n"), -400),
    C("te htab after", REQ(H "Transfer-Encoding: chunked\t\r\n"), -400),
    C("te sp htab sp before", REQ(H "Transfer-Encoding: \t chunked\r\n"), -400),
    C("te sp around", REQ(H "Transfer-Encoding:  chunked  \r\n"), 0),
    C("cl htab before", REQ(H "Content-Length:\t5\r\n"), -400),
    C("cl htab after", REQ(H "Content-Length: 5 \t\r\n"), -400),
    C("cl sp around", REQ(H "Content-Length:  5  \r\n"), 0),
    C("host htab before", REQ("Host:\ta\r\n"), -400),
    C("host htab after", REQ("Host: a\t\r\n"), -400),
    C("host htab 1.0", "GET / HTTP/1.0\r\nHost: a\t\r\n\r\n", -400),
    C("htab ows kept elsewhere", REQ(H "Connection:\tclose\t\r\nX-A:\tb\r\n"), 0),
};

Test(h1_request, table)
{
    static struct sl_header hdrs[MAXH];
    struct sl_h1_request req;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct h1_case *c = &cases[i];
        int want = c->status ? c->status : (int)c->len;
        int rc = req_parse_copy(c->raw, c->len, NULL, &req, hdrs, MAXH);
        cr_expect_eq(rc, want, "%s: got %d, want %d", c->name, rc, want);
    }
}

Test(h1_request, table_prefix_by_prefix)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct h1_case *c = &cases[i];
        int want = c->status ? c->status : (int)c->len;
        replay_prefixes(c->name, c->raw, c->len, want, false, NULL, MAXH);
    }
}

static int
parse(const char *s, struct sl_h1_request *req, struct sl_header *hdrs)
{
    return sl_h1_parse_request(s, strlen(s), NULL, req, hdrs, MAXH);
}

static void
assert_view(struct sl_str v, const char *want)
{
    cr_assert_eq(v.len, strlen(want), "'%.*s' vs '%s'", (int)v.len, v.p ? v.p : "", want);
    if (v.len) {
        cr_assert(memcmp(v.p, want, v.len) == 0, "'%.*s' vs '%s'", (int)v.len, v.p, want);
    }
}

Test(h1_request, fields_of_a_simple_request)
{
    struct sl_header hdrs[8];
    struct sl_h1_request req;
    const char *s = "POST /a/b?x=1&y HTTP/1.1\r\nHost: Example.com:8000\r\nX-Trim: \t v a \t\r\n"
                    "X-Empty:\r\nContent-Length: 12\r\n\r\nbody";
    int rc = parse(s, &req, hdrs);
    cr_assert_eq(rc, (int)(strlen(s) - 4));
    cr_assert_eq(req.head_len, (size_t)rc);
    assert_view(req.method, "POST");
    assert_view(req.target, "/a/b?x=1&y");
    assert_view(req.path, "/a/b");
    assert_view(req.query, "x=1&y");
    cr_assert(req.has_query);
    cr_assert_eq(req.minor, 1);
    assert_view(req.host, "Example.com:8000");
    cr_assert_eq(req.nheaders, 4);
    cr_assert_eq(req.headers, hdrs);
    assert_view(hdrs[0].name, "Host");
    assert_view(hdrs[1].value, "v a");
    assert_view(hdrs[2].name, "X-Empty");
    assert_view(hdrs[2].value, "");
    cr_assert_eq(req.body, SL_H1_BODY_LENGTH);
    cr_assert_eq(req.content_length, 12);
    cr_assert(req.keep_alive);
    cr_assert_not(req.expect_continue);
    cr_assert_not(req.upgrade);
}

Test(h1_request, query_forms)
{
    struct sl_header hdrs[4];
    struct sl_h1_request req;
    cr_assert_gt(parse("GET /p? HTTP/1.1\r\nHost: a\r\n\r\n", &req, hdrs), 0);
    assert_view(req.path, "/p");
    cr_assert(req.has_query);
    assert_view(req.query, "");
    cr_assert_gt(parse("GET /p HTTP/1.1\r\nHost: a\r\n\r\n", &req, hdrs), 0);
    cr_assert_not(req.has_query);
    assert_view(req.query, "");
    cr_assert_gt(parse("GET /p?a?b HTTP/1.1\r\nHost: a\r\n\r\n", &req, hdrs), 0);
    assert_view(req.path, "/p");
    assert_view(req.query, "a?b");
}

Test(h1_request, absolute_form_takes_host_from_authority)
{
    struct sl_header hdrs[4];
    struct sl_h1_request req;
    cr_assert_gt(
        parse("GET http://up.example:81/x/y?q HTTP/1.1\r\nHost: other\r\n\r\n", &req, hdrs), 0);
    assert_view(req.host, "up.example:81");
    assert_view(req.path, "/x/y");
    assert_view(req.query, "q");
    cr_assert_gt(parse("GET http://up.example HTTP/1.1\r\nHost: x\r\n\r\n", &req, hdrs), 0);
    assert_view(req.path, "/");
    cr_assert_not(req.has_query);
    cr_assert_gt(parse("GET https://up.example?z HTTP/1.1\r\nHost: x\r\n\r\n", &req, hdrs), 0);
    assert_view(req.path, "/");
    assert_view(req.query, "z");
    cr_assert_gt(parse("GET http://[::1]:8000/a HTTP/1.0\r\n\r\n", &req, hdrs), 0);
    assert_view(req.host, "[::1]:8000");
}

Test(h1_request, options_star_and_http10)
{
    struct sl_header hdrs[4];
    struct sl_h1_request req;
    cr_assert_gt(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &req, hdrs), 0);
    assert_view(req.path, "*");
    cr_assert_gt(parse("GET / HTTP/1.0\r\n\r\n", &req, hdrs), 0);
    cr_assert_eq(req.minor, 0);
    cr_assert_eq(req.host.len, 0);
    cr_assert_not(req.keep_alive);
    cr_assert_eq(req.body, SL_H1_BODY_NONE);
}

Test(h1_request, header_values_keep_obs_text_and_tabs)
{
    struct sl_header hdrs[4];
    struct sl_h1_request req;
    cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nX: \xff\xfe\tq  r\r\n\r\n", &req, hdrs), 0);
    assert_view(hdrs[1].value, "\xff\xfe\tq  r");
}

Test(h1_request, body_kinds)
{
    struct sl_header hdrs[4];
    struct sl_h1_request req;
    cr_assert_gt(
        parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &req, hdrs), 0);
    cr_assert_eq(req.body, SL_H1_BODY_CHUNKED);
    cr_assert_gt(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &req, hdrs), 0);
    cr_assert_eq(req.body, SL_H1_BODY_NONE);
    cr_assert_eq(req.content_length, 0);
    cr_assert_gt(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", &req, hdrs), 0);
    cr_assert_eq(req.body, SL_H1_BODY_LENGTH);
    cr_assert_eq(req.content_length, 7); /* decimal, never octal */
    cr_assert_gt(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
                       &req, hdrs),
                 0);
    cr_assert_eq(req.content_length, 9223372036854775807ULL);
    cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &req, hdrs), 0);
    cr_assert_eq(req.body, SL_H1_BODY_NONE);
}

Test(h1_request, connection_tokens)
{
    struct sl_header hdrs[8];
    struct sl_h1_request req;
    cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &req, hdrs), 0);
    cr_assert(req.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &req, hdrs), 0);
    cr_assert_not(req.keep_alive);
    cr_assert_gt(
        parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive , CLOSE\r\n\r\n", &req, hdrs),
        0);
    cr_assert_not(req.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: close\r\n\r\n",
                       &req, hdrs),
                 0);
    cr_assert_not(req.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req, hdrs), 0);
    cr_assert(req.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &req, hdrs), 0);
    cr_assert_not(req.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.0\r\nConnection: closed\r\n\r\n", &req, hdrs), 0);
    cr_assert_not(req.keep_alive);
}

Test(h1_request, upgrade_and_expect)
{
    struct sl_header hdrs[8];
    struct sl_h1_request req;
    cr_assert_gt(parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
                       "Upgrade: websocket\r\n\r\n",
                       &req, hdrs),
                 0);
    cr_assert(req.upgrade);
    assert_view(req.upgrade_proto, "websocket");
    cr_assert_gt(parse("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", &req, hdrs), 0);
    cr_assert_not(req.upgrade);
    cr_assert_gt(parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", &req, hdrs),
                 0);
    cr_assert_not(req.upgrade);
    cr_assert_gt(
        parse("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", &req, hdrs),
        0);
    cr_assert_not(req.upgrade);
    cr_assert_gt(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n", &req, hdrs), 0);
    cr_assert(req.expect_continue);
    cr_assert_gt(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", &req, hdrs), 0);
    cr_assert_not(req.expect_continue);
    cr_assert_gt(parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &req, hdrs), 0);
    cr_assert_not(req.expect_continue);
}

Test(h1_request, pipelined_requests_are_parsed_one_at_a_time)
{
    struct sl_header hdrs[8];
    struct sl_h1_request req;
    const char *s = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n";
    int rc = parse(s, &req, hdrs);
    cr_assert_eq(rc, 28);
    assert_view(req.path, "/1");
    rc = parse(s + rc, &req, hdrs);
    cr_assert_eq(rc, 28);
    assert_view(req.path, "/2");
    assert_view(req.host, "b");
}

Test(h1_request, incremental_valid_request_byte_by_byte)
{
    struct sl_header hdrs[8], hdrs2[8];
    struct sl_h1_request req, whole;
    const char *s = "PUT /up?x HTTP/1.1\r\nHost: a:1\r\nContent-Length: 3\r\nX: y\r\n\r\n";
    size_t len = strlen(s);
    int want = sl_h1_parse_request(s, len, NULL, &whole, hdrs2, 8);
    cr_assert_eq(want, (int)len);
    for (size_t k = 0; k < len; k++) {
        cr_assert_eq(req_parse_copy(s, k, NULL, &req, hdrs, 8), 0, "prefix %zu", k);
    }
    /* the full buffer gives the same result as the one-shot parse */
    cr_assert_eq(sl_h1_parse_request(s, len, NULL, &req, hdrs, 8), want);
    cr_assert_eq(req.nheaders, whole.nheaders);
    cr_assert_eq(req.content_length, 3);
    assert_view(req.path, "/up");
    assert_view(hdrs[2].value, "y");
}

/* ---- limits --------------------------------------------------------------------------------- */

static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Builds "GET /aaa... HTTP/1.1" with a request line of exactly <n> bytes, then <rest>. */
static char *
request_line_of(size_t n, const char *rest)
{
    size_t path = n - strlen("GET / HTTP/1.1");
    char *p = repeat('a', path);
    char *s;
    cr_assert_neq(asprintf(&s, "GET /%s HTTP/1.1\r\n%s", p, rest), -1);
    free(p);
    cr_assert_eq(strchr(s, '\r') - s, (long)n);
    return s;
}

static int
parse_lim(const char *s, const struct sl_h1_limits *lim)
{
    static struct sl_header hdrs[MAXH];
    struct sl_h1_request req;
    return req_parse_copy(s, strlen(s), lim, &req, hdrs, MAXH);
}

Test(h1_limits, request_line_n_and_n_plus_1)
{
    struct sl_h1_limits lim = {64, 64, 1024, 10};
    char *ok = request_line_of(64, "Host: a\r\n\r\n");
    char *over = request_line_of(65, "Host: a\r\n\r\n");
    cr_assert_eq(parse_lim(ok, &lim), (int)strlen(ok));
    cr_assert_eq(parse_lim(over, &lim), -414);
    replay_prefixes("rl ok", ok, strlen(ok), (int)strlen(ok), false, &lim, MAXH);
    replay_prefixes("rl over", over, strlen(over), -414, false, &lim, MAXH);
    free(ok);
    free(over);

    /* an endless line is refused as soon as byte N+1 arrives, without any CR in sight */
    char *stream = repeat('a', 200);
    memcpy(stream, "GET /", 5);
    struct sl_header hdrs[2];
    struct sl_h1_request req;
    cr_assert_eq(sl_h1_parse_request(stream, 64, &lim, &req, hdrs, 2), 0);
    cr_assert_eq(sl_h1_parse_request(stream, 65, &lim, &req, hdrs, 2), -414);
    free(stream);
}

/* The request-line limit falls inside the version, so the version cannot be whole: the bytes before
 * the limit are checked (a wrong one is a 400), then the byte at the limit decides: the line's CR
 * (the version is cut short) is a 400, any other byte is past the limit (414). */
Test(h1_limits, request_line_limit_inside_the_version)
{
    const char *req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    const size_t vstart = strlen("GET / ");
    for (size_t n = vstart; n < vstart + 8; n++) {
        struct sl_h1_limits lim = {n, 64, 1024, 10};
        cr_assert_eq(parse_lim(req, &lim), -414, "limit %zu", n);
        replay_prefixes("limit inside the version", req, strlen(req), -414, false, &lim, MAXH);

        char cut[64];
        snprintf(cut, sizeof(cut), "%.*s\r\nHost: a\r\n\r\n", (int)n, req);
        cr_assert_eq(parse_lim(cut, &lim), -400, "%s", cut);
        replay_prefixes("version cut at the limit", cut, strlen(cut), -400, false, &lim, MAXH);

        if (n > vstart) {
            char wrong[64];
            snprintf(wrong, sizeof(wrong), "%s", req);
            wrong[n - 1] = 'x';
            cr_assert_eq(parse_lim(wrong, &lim), -400, "%s", wrong);
            replay_prefixes("wrong version byte before the limit", wrong, strlen(wrong), -400,
                            false, &lim, MAXH);
        }
    }
}

Test(h1_limits, request_line_default_8192)
{
    char *ok = request_line_of(SL_H1_DEFAULT_MAX_REQUEST_LINE, "Host: a\r\n\r\n");
    char *over = request_line_of(SL_H1_DEFAULT_MAX_REQUEST_LINE + 1, "Host: a\r\n\r\n");
    cr_assert_eq(parse_lim(ok, NULL), (int)strlen(ok));
    cr_assert_eq(parse_lim(over, NULL), -414);
    free(ok);
    free(over);
}

/* "GET / HTTP/1.1\r\nHost: a\r\nX: vvv...\r\n\r\n" with the X line exactly <n> bytes. */
static char *
header_line_of(size_t n)
{
    char *v = repeat('v', n - 3);
    char *s;
    cr_assert_neq(asprintf(&s, "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v), -1);
    free(v);
    return s;
}

Test(h1_limits, header_line_n_and_n_plus_1)
{
    struct sl_h1_limits lim = {64, 40, 1024, 10};
    char *ok = header_line_of(40);
    char *over = header_line_of(41);
    cr_assert_eq(parse_lim(ok, &lim), (int)strlen(ok));
    cr_assert_eq(parse_lim(over, &lim), -431);
    replay_prefixes("hl ok", ok, strlen(ok), (int)strlen(ok), false, &lim, MAXH);
    replay_prefixes("hl over", over, strlen(over), -431, false, &lim, MAXH);
    /* detected while incomplete: 41 bytes of the line and no CR yet */
    size_t at = strlen("GET / HTTP/1.1\r\nHost: a\r\n") + 41;
    struct sl_header hdrs[4];
    struct sl_h1_request req;
    cr_assert_eq(sl_h1_parse_request(over, at - 1, &lim, &req, hdrs, 4), 0);
    cr_assert_eq(sl_h1_parse_request(over, at, &lim, &req, hdrs, 4), -431);
    free(ok);
    free(over);

    char *dok = header_line_of(SL_H1_DEFAULT_MAX_HEADER_LINE);
    char *dover = header_line_of(SL_H1_DEFAULT_MAX_HEADER_LINE + 1);
    cr_assert_eq(parse_lim(dok, NULL), (int)strlen(dok));
    cr_assert_eq(parse_lim(dover, NULL), -431);
    free(dok);
    free(dover);
}

/* A head of exactly <n> bytes: the request line, Host, then one padding header. */
static char *
head_of(size_t n)
{
    const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    size_t fixed = strlen(pre) + 4;
    char *v = repeat('v', n - fixed);
    char *s;
    cr_assert_neq(asprintf(&s, "%s%s\r\n\r\n", pre, v), -1);
    free(v);
    cr_assert_eq(strlen(s), n);
    return s;
}

Test(h1_limits, head_bytes_n_and_n_plus_1)
{
    struct sl_h1_limits lim = {64, 1024, 200, 10};
    char *ok = head_of(200);
    char *over = head_of(201);
    cr_assert_eq(parse_lim(ok, &lim), 200);
    cr_assert_eq(parse_lim(over, &lim), -431);
    replay_prefixes("hb ok", ok, strlen(ok), 200, false, &lim, MAXH);
    replay_prefixes("hb over", over, strlen(over), -431, false, &lim, MAXH);
    /* 200 bytes that do not end the head cannot become a head of at most 200 bytes */
    struct sl_header hdrs[4];
    struct sl_h1_request req;
    cr_assert_eq(sl_h1_parse_request(over, 199, &lim, &req, hdrs, 4), 0);
    cr_assert_eq(sl_h1_parse_request(over, 200, &lim, &req, hdrs, 4), -431);
    free(ok);
    free(over);

    char *dok = head_of(SL_H1_DEFAULT_MAX_HEADER_BYTES);
    char *dover = head_of(SL_H1_DEFAULT_MAX_HEADER_BYTES + 1);
    struct sl_h1_limits big = {8192, 1 << 20, SL_H1_DEFAULT_MAX_HEADER_BYTES, 100};
    cr_assert_eq(parse_lim(dok, &big), SL_H1_DEFAULT_MAX_HEADER_BYTES);
    cr_assert_eq(parse_lim(dover, &big), -431);
    free(dok);
    free(dover);
}

/* A request with Host plus <extra> more header fields. */
static char *
with_headers(size_t extra)
{
    size_t cap = 64 + extra * 16;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    size_t n = (size_t)sprintf(s, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (size_t i = 0; i < extra; i++) {
        n += (size_t)sprintf(s + n, "X-%zu: v\r\n", i);
    }
    strcpy(s + n, "\r\n");
    return s;
}

Test(h1_limits, header_count_n_and_n_plus_1)
{
    struct sl_h1_limits lim = {64, 64, 4096, 5};
    char *ok = with_headers(4);   /* 5 fields */
    char *over = with_headers(5); /* 6 fields */
    cr_assert_eq(parse_lim(ok, &lim), (int)strlen(ok));
    cr_assert_eq(parse_lim(over, &lim), -431);
    replay_prefixes("hc ok", ok, strlen(ok), (int)strlen(ok), false, &lim, MAXH);
    replay_prefixes("hc over", over, strlen(over), -431, false, &lim, MAXH);
    free(ok);
    free(over);

    /* the caller's array bounds the count too */
    char *six = with_headers(5);
    struct sl_header hdrs[6];
    struct sl_h1_request req;
    cr_assert_eq(sl_h1_parse_request(six, strlen(six), NULL, &req, hdrs, 6), (int)strlen(six));
    cr_assert_eq(req.nheaders, 6);
    cr_assert_eq(sl_h1_parse_request(six, strlen(six), NULL, &req, hdrs, 5), -431);
    cr_assert_eq(sl_h1_parse_request(six, strlen(six), NULL, &req, NULL, 0), -431);
    free(six);

    /* the defaults: 100 fields pass, 101 do not */
    char *d100 = with_headers(99);
    char *d101 = with_headers(100);
    cr_assert_eq(parse_lim(d100, NULL), (int)strlen(d100));
    cr_assert_eq(parse_lim(d101, NULL), -431);
    free(d100);
    free(d101);
}

Test(h1_limits, limits_struct_default_initialiser)
{
    struct sl_h1_limits lim = SL_H1_LIMITS_DEFAULT;
    cr_assert_eq(lim.max_request_line, 8192);
    cr_assert_eq(lim.max_header_line, 8192);
    cr_assert_eq(lim.max_header_bytes, 65536);
    cr_assert_eq(lim.max_headers, 100);
}

/* ---- lookups -------------------------------------------------------------------------------- */

Test(h1_lookup, find_header_and_token_list)
{
    struct sl_header hdrs[8];
    struct sl_h1_request req;
    cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nx-one: 1\r\nX-ONE: 2\r\n\r\n", &req, hdrs), 0);
    const struct sl_header *h = sl_h1_find_header(hdrs, req.nheaders, "X-One");
    cr_assert_not_null(h);
    assert_view(h->value, "1");
    cr_assert_null(sl_h1_find_header(hdrs, req.nheaders, "X-On"));
    cr_assert_null(sl_h1_find_header(hdrs, 0, "Host"));

    cr_assert(sl_http_token_list_has(SL_STR("keep-alive, Upgrade"), "upgrade"));
    cr_assert(sl_http_token_list_has(SL_STR(" \tclose\t "), "close"));
    cr_assert(sl_http_token_list_has(SL_STR("a,,b"), "b"));
    cr_assert_not(sl_http_token_list_has(SL_STR("upgrades"), "upgrade"));
    cr_assert_not(sl_http_token_list_has(SL_STR("x-upgrade"), "upgrade"));
    cr_assert_not(sl_http_token_list_has(SL_STR(""), "close"));
    cr_assert_not(sl_http_token_list_has(SL_STR_NULL, "close"));
    cr_assert(sl_http_token_list_has(SL_STR("a, "), ""));
}

/* ---- byte classes through the word-at-a-time scanners ------------------------------------- */

/* Every byte value at every offset of a target and of a header value, so each lane of the 8-byte
 * fast path is exercised: accepted exactly when the byte class allows it. */
Test(h1_request, every_byte_at_every_offset)
{
    struct sl_header hdrs[4];
    struct sl_h1_request req;
    char buf[128];
    for (int c = 0; c < 256; c++) {
        for (int pos = 0; pos < 20; pos++) {
            int n = snprintf(buf, sizeof(buf), "GET /%.*s", pos, "aaaaaaaaaaaaaaaaaaaaaaaa");
            buf[n++] = (char)c;
            n += snprintf(buf + n, sizeof(buf) - (size_t)n,
                          "bbbbbbbbbbbbbbbbbbb HTTP/1.1\r\n"
                          "Host: a\r\n\r\n");
            int rc = req_parse_copy(buf, (size_t)n, NULL, &req, hdrs, 4);
            bool ok = (c > 0x20 && c < 0x7f && c != '#') || c >= 0x80; /* obs-text, as nginx */
            cr_assert_eq(rc, ok ? n : -400, "target byte 0x%02x at %d: %d", c, pos, rc);

            n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %.*s", pos,
                         "vvvvvvvvvvvvvvvvvvvvvvvv");
            buf[n++] = (char)c;
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "wwwwwwwwwwwwwwwwwww\r\n\r\n");
            rc = req_parse_copy(buf, (size_t)n, NULL, &req, hdrs, 4);
            ok = c == '\t' || (c >= 0x20 && c != 0x7f);
            cr_assert_eq(rc, ok ? n : -400, "value byte 0x%02x at %d: %d", c, pos, rc);
        }
    }
}

/* ---- the re-parse guard --------------------------------------------------------------------- */

Test(h1_request, head_pending_guard)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        guarded_replay(&cases[i], false, NULL);
    }
    struct sl_h1_limits lim = {20, 16, 120, 3};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct h1_case c = cases[i];
        struct sl_header hdrs[MAXH];
        struct sl_h1_request req;
        c.status = req_parse_copy(c.raw, c.len, &lim, &req, hdrs, MAXH);
        if (c.status > 0) {
            c.status = 0;
        }
        guarded_replay(&c, false, &lim);
    }
    /* a long line arriving a byte at a time needs no parse until its limit */
    struct sl_h1_limits small = {64, 64, 1024, 10};
    char *line = repeat('a', 100);
    memcpy(line, "GET /", 5);
    cr_assert(sl_h1_head_pending(line, 64, 63, &small, false));
    cr_assert_not(sl_h1_head_pending(line, 65, 64, &small, false));
    cr_assert_not(sl_h1_head_pending("GET / HTTP/1.1\r\n", 16, 10, &small, false));
    cr_assert(sl_h1_head_pending("GET / HTTP/1.1\r\nHost: a", 23, 16, &small, false));
    cr_assert_not(sl_h1_head_pending("abc", 3, 4, &small, false)); /* misuse: must parse */
    free(line);
}
