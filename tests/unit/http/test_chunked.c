/* SPDX-License-Identifier: Apache-2.0 */
/* Chunked decoder: valid bodies with extensions and trailers, every syntax error of hardening.md
 * §1, the size and trailer bounds at N and N+1, and each case fed whole, split at every byte offset
 * and one byte at a time, which must all give the same body and the same verdict. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"

struct chunk_case {
    const char *name;
    const char *raw;
    size_t len;
    const char *body; /* decoded body; NULL when the input must be rejected */
    size_t body_len;
    size_t consumed; /* bytes the message takes (valid cases); 0 means all of <raw> */
};

#define OK(name, lit, body)                                                                        \
    {                                                                                              \
        name, lit, sizeof(lit) - 1, body, sizeof(body) - 1, 0                                      \
    }
#define OKN(name, lit, body, n)                                                                    \
    {                                                                                              \
        name, lit, sizeof(lit) - 1, body, sizeof(body) - 1, n                                      \
    }
#define BAD(name, lit)                                                                             \
    {                                                                                              \
        name, lit, sizeof(lit) - 1, NULL, 0, 0                                                     \
    }

static const struct chunk_case cases[] = {
    OK("empty body", "0\r\n\r\n", ""),
    OK("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
    OK("two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"),
    OK("upper hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    OK("lower hex", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    OK("sixteen digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello"),
    OK("last chunk zeros", "1\r\nx\r\n000\r\n\r\n", "x"),
    OK("binary data", "3\r\n\r\n\0\r\n0\r\n\r\n", "\r\n\0"),
    OK("ext name", "5;a\r\nhello\r\n0\r\n\r\n", "hello"),
    OK("ext name value", "5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello"),
    OK("ext several", "5;a=1;b;c=\"x y\"\r\nhello\r\n0\r\n\r\n", "hello"),
    OK("ext quoted pair", "5;a=\"q\\\"x\"\r\nhello\r\n0\r\n\r\n", "hello"),
    OK("ext bws", "5 ;a = b ; c\r\nhello\r\n0\r\n\r\n", "hello"),
    OK("ext quoted then ws then ext", "5;a=\"b\" ;c\r\nhello\r\n0\r\n\r\n", "hello"),
    OK("trailers", "2\r\nhi\r\n0\r\nX-T: v\r\nY:z\r\n\r\n", "hi"),
    OK("trailer empty value", "0\r\nX:\r\n\r\n", ""),
    OK("trailer obs-text", "0\r\nX: \xff\t\r\n\r\n", ""),
    OKN("next message follows", "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "a", 11),

    BAD("non-hex", "x\r\n"),
    BAD("leading space", " 5\r\nhello\r\n0\r\n\r\n"),
    BAD("plus", "+5\r\nhello\r\n"),
    BAD("minus", "-5\r\nhello\r\n"),
    BAD("0x prefix", "0x5\r\nhello\r\n"),
    BAD("empty size", "\r\nhello\r\n"),
    BAD("seventeen digits", "00000000000000005\r\nhello\r\n0\r\n\r\n"),
    BAD("seventeen f", "fffffffffffffffff\r\n"),
    BAD("bare lf size", "5\nhello\r\n0\r\n\r\n"),
    BAD("bare cr size", "5\rhello\r\n0\r\n\r\n"),
    BAD("trailing ws", "5 \r\nhello\r\n0\r\n\r\n"),
    BAD("empty ext name", "5;\r\nhello\r\n"),
    BAD("ext empty value", "5;a=\r\nhello\r\n"),
    BAD("ext nul", "5;a\0\r\nhello\r\n"),
    BAD("ext ctl", "5;a=\x01\r\nhello\r\n"),
    BAD("ext bare lf", "5;a=b\nhello\r\n"),
    BAD("ext trailing ws", "5;a=b \r\nhello\r\n"),
    BAD("ext name trailing ws", "5;a \r\nhello\r\n"),
    BAD("ext unterminated quote", "5;a=\"x\r\nhello\r\n"),
    BAD("ext quoted ctl", "5;a=\"x\x01\"\r\nhello\r\n"),
    BAD("ext bad char", "5;a@b\r\nhello\r\n"),
    BAD("runaway chunk", "5\r\nhelloX\r\n0\r\n\r\n"),
    BAD("data bare lf", "5\r\nhello\n0\r\n\r\n"),
    BAD("data bare cr", "5\r\nhello\r0\r\n\r\n"),
    BAD("trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n"),
    BAD("trailer empty name", "0\r\n: x\r\n\r\n"),
    BAD("trailer no colon", "0\r\nAb\r\n\r\n"),
    BAD("trailer sp before colon", "0\r\nA : b\r\n\r\n"),
    BAD("trailer bare lf", "0\r\nA: b\n\r\n"),
    BAD("trailer ctl", "0\r\nA: \x01\r\n\r\n"),
    BAD("trailer nul", "0\r\nA: \0\r\n\r\n"),
    BAD("final bare cr", "0\r\n\r\r"),
    BAD("final bare lf", "0\r\n\n"),
};

/* An upstream response's framing (sl_h1_chunked.response): bare LF ends a line, whitespace may
 * end a size line. Each is rejected in a request (checked below). */
static const struct chunk_case response_cases[] = {
    OK("bare lf size", "5\nhello\r\n0\r\n\r\n", "hello"),
    OK("bare lf everywhere", "5\nhello\n4\n abc\n0\n\n", "hello abc"),
    OK("bare lf after data", "5\r\nhello\n0\r\n\r\n", "hello"),
    OK("bare lf final", "5\r\nhello\r\n0\r\n\n", "hello"),
    OK("bare lf last chunk", "0\n\r\n", ""),
    OK("bare lf ext", "5;a=b\nhello\r\n0;c\n\r\n", "hello"),
    OK("bare lf quoted ext", "5;a=\"b\"\nhello\r\n0\r\n\r\n", "hello"),
    OK("bare lf trailer", "0\r\nA: b\n\r\n", ""),
    OK("bare lf trailers", "2\nhi\n0\nA: b\nC:d\n\n", "hi"),
    OK("trailing sp", "5 \r\nhello\r\n0\r\n\r\n", "hello"),
    OK("trailing tab then lf", "5\t\nhello\n0 \n\n", "hello"),
    OK("ext trailing ws", "5;a=b \r\nhello\r\n0\r\n\r\n", "hello"),
    OK("ext name trailing ws", "5;a \t\r\nhello\r\n0\r\n\r\n", "hello"),
    OKN("next message follows lf", "1\na\n0\n\nHTTP/1.1 200 OK\r\n", "a", 7),

    BAD("bare cr size", "5\rhello\r\n0\r\n\r\n"),
    BAD("cr cr lf size", "5\r\r\nhello\r\n0\r\n\r\n"),
    BAD("data bare cr", "5\r\nhello\r0\r\n\r\n"),
    BAD("final bare cr", "0\r\n\r\r"),
    BAD("trailer bare cr", "0\r\nA: b\rC: d\r\n\r\n"),
    BAD("lf only line", "\nhello\r\n"),
    BAD("ws only line", " \r\nhello\r\n"),
    BAD("ws inside size", "5 5\r\nhello\r\n"),
    BAD("ws then equals", "5 =a\r\nhello\r\n"),
    BAD("empty ext name", "5;\nhello\r\n"),
    BAD("ext empty value", "5;a=\nhello\r\n"),
    BAD("lf in quoted ext", "5;a=\"x\ny\"\r\nhello\r\n"),
    BAD("runaway chunk", "5\nhelloX\n0\n\n"),
    BAD("trailer obs-fold lf", "0\nA: b\n c\n\n"),
    BAD("trailer sp before colon lf", "0\nA : b\n\n"),
    BAD("trailer nul", "0\nA: \0\n\n"),
};

/* The cases of the request table a response reads differently: all of them now valid. */
static const char *const loosened_for_responses[] = {
    "bare lf size",         "trailing ws",  "ext bare lf",     "ext trailing ws",
    "ext name trailing ws", "data bare lf", "trailer bare lf", "final bare lf",
};

/* Feeds <raw> in pieces: cut at every offset listed in <cuts> (ascending). Each piece is an exact
 * heap copy so a read past it is caught. Returns the verdict: bytes consumed when done, -400, or 0
 * when the input ran out first; the decoded data is appended to <out>. <response> selects an
 * upstream response's framing. */
static long
feed_mode(const char *raw, size_t len, const size_t *cuts, size_t ncuts, char *out, size_t *outlen,
          bool response)
{
    struct sl_h1_chunked st;
    memset(&st, 0, sizeof(st));
    st.response = response;
    size_t start = 0, total = 0;
    *outlen = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t stop = c < ncuts ? cuts[c] : len;
        size_t n = stop - start;
        char *piece = malloc(n ? n : 1);
        cr_assert_not_null(piece);
        memcpy(piece, raw + start, n);
        size_t off = 0;
        while (off < n && !st.done) {
            struct sl_str data;
            ssize_t r = sl_h1_chunked_decode(&st, piece + off, n - off, &data);
            if (r < 0) {
                cr_assert_eq(r, -400);
                /* an error is final */
                cr_assert_eq(sl_h1_chunked_decode(&st, piece, n, &data), -400);
                free(piece);
                return -400;
            }
            cr_assert_gt(r, 0, "no progress at %zu", start + off);
            cr_assert_leq((size_t)r, n - off);
            if (data.len) {
                cr_assert(data.p >= piece + off && data.p + data.len <= piece + off + (size_t)r);
                memcpy(out + *outlen, data.p, data.len);
                *outlen += data.len;
            }
            off += (size_t)r;
            total += (size_t)r;
        }
        free(piece);
        if (st.done) {
            struct sl_str data;
            cr_assert_eq(sl_h1_chunked_decode(&st, "x", 1, &data), 0);
            return (long)total;
        }
        start = stop;
    }
    return 0;
}

static long
feed(const char *raw, size_t len, const size_t *cuts, size_t ncuts, char *out, size_t *outlen)
{
    return feed_mode(raw, len, cuts, ncuts, out, outlen, false);
}

static void
check_case_mode(const struct chunk_case *c, const size_t *cuts, size_t ncuts, const char *how,
                bool response)
{
    char out[256];
    size_t outlen;
    long r = feed_mode(c->raw, c->len, cuts, ncuts, out, &outlen, response);
    if (c->body) {
        size_t want = c->consumed ? c->consumed : c->len;
        cr_assert_eq(r, (long)want, "%s (%s): verdict %ld, want %zu", c->name, how, r, want);
        cr_assert_eq(outlen, c->body_len, "%s (%s)", c->name, how);
        cr_assert(memcmp(out, c->body, outlen) == 0, "%s (%s)", c->name, how);
    } else {
        cr_assert_eq(r, -400, "%s (%s): verdict %ld, want -400", c->name, how, r);
    }
}

static void
check_case(const struct chunk_case *c, const size_t *cuts, size_t ncuts, const char *how)
{
    check_case_mode(c, cuts, ncuts, how, false);
}

Test(chunked, response_table_whole_split_and_bytewise)
{
    size_t cuts[256];
    for (size_t i = 0; i < sizeof(response_cases) / sizeof(response_cases[0]); i++) {
        const struct chunk_case *c = &response_cases[i];
        check_case_mode(c, NULL, 0, "response whole", true);
        for (size_t k = 1; k < c->len; k++) {
            check_case_mode(c, &k, 1, "response split", true);
            cuts[k - 1] = k;
        }
        cr_assert_lt(c->len, 256);
        check_case_mode(c, cuts, c->len ? c->len - 1 : 0, "response bytewise", true);
    }
}

/* What a response accepts beyond a request is exactly the cases above: every one of them is still
 * refused in a request body, and every request case gives a response the same verdict unless it is
 * one of the loosened ones. */
Test(chunked, request_strictness_is_kept)
{
    char out[256];
    size_t outlen;
    for (size_t i = 0; i < sizeof(response_cases) / sizeof(response_cases[0]); i++) {
        const struct chunk_case *c = &response_cases[i];
        cr_assert_eq(feed(c->raw, c->len, NULL, 0, out, &outlen), -400, "%s in a request", c->name);
    }
    size_t nloose = sizeof(loosened_for_responses) / sizeof(loosened_for_responses[0]);
    size_t seen = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct chunk_case *c = &cases[i];
        bool loose = false;
        for (size_t j = 0; j < nloose; j++) {
            loose = loose || strcmp(c->name, loosened_for_responses[j]) == 0;
        }
        long req = feed_mode(c->raw, c->len, NULL, 0, out, &outlen, false);
        long res = feed_mode(c->raw, c->len, NULL, 0, out, &outlen, true);
        if (loose) {
            seen++;
            cr_assert_eq(req, -400, "%s", c->name);
            cr_assert_geq(res, 0, "%s: a response reads it", c->name);
        } else {
            cr_assert_eq(res, req, "%s: response %ld, request %ld", c->name, res, req);
        }
    }
    cr_assert_eq(seen, nloose);
}

Test(chunked, table_whole)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i], NULL, 0, "whole");
    }
}

Test(chunked, table_split_at_every_offset)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t k = 1; k < cases[i].len; k++) {
            char how[32];
            snprintf(how, sizeof(how), "split %zu", k);
            check_case(&cases[i], &k, 1, how);
        }
    }
}

Test(chunked, table_byte_by_byte)
{
    size_t cuts[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_lt(cases[i].len, 256);
        for (size_t k = 1; k < cases[i].len; k++) {
            cuts[k - 1] = k;
        }
        check_case(&cases[i], cuts, cases[i].len ? cases[i].len - 1 : 0, "bytewise");
    }
}

Test(chunked, binary_body_exact)
{
    const char raw[] = "3\r\n\r\n\0\r\n0\r\n\r\n";
    char out[8];
    size_t outlen;
    cr_assert_eq(feed(raw, sizeof(raw) - 1, NULL, 0, out, &outlen), (long)sizeof(raw) - 1);
    cr_assert_eq(outlen, 3);
    cr_assert(memcmp(out, "\r\n\0", 3) == 0);
}

Test(chunked, one_data_run_per_call)
{
    struct sl_h1_chunked st = {0};
    struct sl_str data;
    const char *s = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    size_t len = strlen(s);
    ssize_t r = sl_h1_chunked_decode(&st, s, len, &data);
    cr_assert_eq(r, 6);
    cr_assert_eq(data.len, 3);
    cr_assert(memcmp(data.p, "abc", 3) == 0);
    ssize_t r2 = sl_h1_chunked_decode(&st, s + r, len - (size_t)r, &data);
    cr_assert_eq(r2, 7);
    cr_assert(memcmp(data.p, "de", 2) == 0);
    ssize_t r3 = sl_h1_chunked_decode(&st, s + r + r2, len - (size_t)(r + r2), &data);
    cr_assert_eq((size_t)(r + r2 + r3), len);
    cr_assert_eq(data.len, 0);
    cr_assert(st.done);
    cr_assert_eq(sl_h1_chunked_decode(&st, s, len, &data), 0);
    cr_assert_eq(sl_h1_chunked_decode(&st, s, 0, &data), 0);
}

Test(chunked, huge_size_has_no_overflow)
{
    struct sl_h1_chunked st = {0};
    struct sl_str data;
    const char *s = "ffffffffffffffff\r\nabcdef";
    ssize_t r = sl_h1_chunked_decode(&st, s, strlen(s), &data);
    cr_assert_eq(r, (ssize_t)strlen(s));
    cr_assert_eq(data.len, 6);
    cr_assert_eq(st.remaining, UINT64_MAX - 6);
    cr_assert_not(st.done);
}

/* Feeds <s> one byte at a time and returns what sl_h1_chunked_announced says after each. */
static void
announced_after_each_byte(const char *s, const uint64_t *want)
{
    struct sl_h1_chunked st = {0};
    struct sl_str data;
    for (size_t i = 0; s[i] != '\0'; i++) {
        cr_assert_eq(sl_h1_chunked_decode(&st, s + i, 1, &data), 1, "byte %zu", i);
        cr_assert_eq(sl_h1_chunked_announced(&st), want[i], "after byte %zu: %llu, want %llu", i,
                     (unsigned long long)sl_h1_chunked_announced(&st), (unsigned long long)want[i]);
    }
}

Test(chunked, announced_follows_the_size_line_and_the_data)
{
    /* the digits so far (a lower bound), the size through the extension, the data left, then 0 */
    const char *s = "1a;x=y\r\n0123456789abcdefghijklmnop\r\n0\r\n\r\n";
    uint64_t want[64];
    size_t n = 0;
    want[n++] = 0x1;
    for (int i = 0; i < 6; i++) {
        want[n++] = 0x1a; /* 'a' ; x = y CR */
    }
    want[n++] = 0x1a; /* LF: now in the data */
    for (uint64_t left = 0x1a; left-- > 0;) {
        want[n++] = left;
    }
    for (int i = 0; i < 7; i++) {
        want[n++] = 0; /* CRLF after the data, "0", CRLF, CRLF */
    }
    cr_assert_eq(n, strlen(s));
    announced_after_each_byte(s, want);
}

Test(chunked, announced_holds_the_largest_size)
{
    struct sl_h1_chunked st = {0};
    struct sl_str data;
    const char *s = "ffffffffffffffff\r\n";
    cr_assert_eq(sl_h1_chunked_decode(&st, s, strlen(s), &data), (ssize_t)strlen(s));
    cr_assert_eq(sl_h1_chunked_announced(&st), UINT64_MAX);
}

/* A size line "1;" + extension name of <n - 2> bytes, then the chunk. */
static char *
size_line_of(size_t n)
{
    char *s = malloc(n + 16);
    cr_assert_not_null(s);
    s[0] = '1';
    s[1] = ';';
    memset(s + 2, 'e', n - 2);
    strcpy(s + n, "\r\nx\r\n0\r\n\r\n");
    return s;
}

Test(chunked, size_line_limit_n_and_n_plus_1)
{
    char out[8];
    size_t outlen;
    char *ok = size_line_of(SL_H1_CHUNK_LINE_MAX);
    char *over = size_line_of(SL_H1_CHUNK_LINE_MAX + 1);
    cr_assert_eq(feed(ok, strlen(ok), NULL, 0, out, &outlen), (long)strlen(ok));
    cr_assert_eq(outlen, 1);
    cr_assert_eq(feed(over, strlen(over), NULL, 0, out, &outlen), -400);
    /* an endless extension is refused once byte N+1 of the line arrives */
    struct sl_h1_chunked st = {0};
    struct sl_str data;
    cr_assert_eq(sl_h1_chunked_decode(&st, over, SL_H1_CHUNK_LINE_MAX, &data),
                 SL_H1_CHUNK_LINE_MAX);
    cr_assert_eq(sl_h1_chunked_decode(&st, over + SL_H1_CHUNK_LINE_MAX, 1, &data), -400);
    free(ok);
    free(over);
}

/* "0\r\n" then trailer lines totalling exactly <n> bytes with the final CRLF. */
static char *
trailers_of(size_t n)
{
    char *s = malloc(n + 8);
    cr_assert_not_null(s);
    strcpy(s, "0\r\n");
    size_t w = 3, left = n - 2;
    while (left > 0) {
        /* "X:" + value + CRLF, at most 100 bytes per line, at least 4 */
        size_t line = left > 100 ? 100 : left;
        if (left - line > 0 && left - line < 4) {
            line -= 4;
        }
        memcpy(s + w, "X:", 2);
        memset(s + w + 2, 'v', line - 4);
        memcpy(s + w + line - 2, "\r\n", 2);
        w += line;
        left -= line;
    }
    strcpy(s + w, "\r\n");
    cr_assert_eq(strlen(s), 3 + n);
    return s;
}

Test(chunked, trailer_limit_n_and_n_plus_1)
{
    char out[8];
    size_t outlen;
    char *ok = trailers_of(SL_H1_TRAILER_MAX);
    char *over = trailers_of(SL_H1_TRAILER_MAX + 1);
    cr_assert_eq(feed(ok, strlen(ok), NULL, 0, out, &outlen), (long)strlen(ok));
    cr_assert_eq(feed(over, strlen(over), NULL, 0, out, &outlen), -400);
    free(ok);
    free(over);
}

Test(chunked, error_is_sticky)
{
    struct sl_h1_chunked st = {0};
    struct sl_str data;
    cr_assert_eq(sl_h1_chunked_decode(&st, "z", 1, &data), -400);
    cr_assert_eq(sl_h1_chunked_decode(&st, "0\r\n\r\n", 5, &data), -400);
    cr_assert_not(st.done);
}
