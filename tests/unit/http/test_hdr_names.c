/* SPDX-License-Identifier: Apache-2.0 */
/* sl_http_hn_lookup against a reference that compares the name with every known name by
 * strncasecmp: the same answer for every known name in any case, for every one-byte change, every
 * shorter and longer variant, and many random names, each looked up in an exact-size heap copy so
 * that ASan sees any read outside the name. Also the version matching of both start lines, whose
 * fast path must give exactly what the byte-by-byte path gives. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/hdr_names.h"
#include "h1_util.h"

static enum sl_hn
reference(const char *p, size_t len)
{
    for (int id = SL_HN_OTHER + 1; id < SL_HN_MAX; id++) {
        const char *n = sl_http_hn_name((enum sl_hn)id);
        if (strlen(n) == len && strncasecmp(n, p, len) == 0) {
            return (enum sl_hn)id;
        }
    }
    return SL_HN_OTHER;
}

static enum sl_hn
lookup_copy(const char *p, size_t len)
{
    char *copy = malloc(len ? len : 1);
    cr_assert_not_null(copy);
    if (len) {
        memcpy(copy, p, len);
    }
    enum sl_hn id = sl_http_hn_lookup((struct sl_str){copy, len});
    free(copy);
    return id;
}

static void
check(const char *p, size_t len)
{
    enum sl_hn want = reference(p, len);
    enum sl_hn got = lookup_copy(p, len);
    cr_assert_eq(got, want, "\"%.*s\" (%zu bytes): got %d, want %d", (int)len, p, len, got, want);
}

Test(hdr_names, names_are_lowercase_letters_and_dashes)
{
    /* the lookup's word-at-a-time compare relies on this */
    for (int id = SL_HN_OTHER + 1; id < SL_HN_MAX; id++) {
        const char *n = sl_http_hn_name((enum sl_hn)id);
        cr_assert(strlen(n) >= 2 && strlen(n) <= 19, "%s", n);
        for (const char *c = n; *c; c++) {
            cr_assert((*c >= 'a' && *c <= 'z') || *c == '-', "%s", n);
        }
        for (int other = id + 1; other < SL_HN_MAX; other++) {
            cr_assert_str_neq(n, sl_http_hn_name((enum sl_hn)other));
        }
    }
    cr_assert_str_eq(sl_http_hn_name(SL_HN_OTHER), "");
    cr_assert_str_eq(sl_http_hn_name(SL_HN_MAX), "");
}

Test(hdr_names, every_name_in_every_case)
{
    for (int id = SL_HN_OTHER + 1; id < SL_HN_MAX; id++) {
        const char *n = sl_http_hn_name((enum sl_hn)id);
        size_t len = strlen(n);
        char buf[32];
        /* all 2^k case patterns of the first letters (k bounded), then alternating and upper */
        size_t k = len < 10 ? len : 10;
        for (unsigned mask = 0; mask < (1u << k); mask++) {
            memcpy(buf, n, len);
            for (size_t i = 0; i < k; i++) {
                if ((mask >> i) & 1u && buf[i] >= 'a' && buf[i] <= 'z') {
                    buf[i] = (char)(buf[i] - 32);
                }
            }
            cr_assert_eq(lookup_copy(buf, len), (enum sl_hn)id, "%.*s", (int)len, buf);
        }
        for (size_t i = 0; i < len; i++) {
            buf[i] = (char)((n[i] >= 'a' && n[i] <= 'z') ? n[i] - 32 : n[i]);
        }
        cr_assert_eq(lookup_copy(buf, len), (enum sl_hn)id, "%.*s", (int)len, buf);
    }
}

Test(hdr_names, every_one_byte_change)
{
    for (int id = SL_HN_OTHER + 1; id < SL_HN_MAX; id++) {
        const char *n = sl_http_hn_name((enum sl_hn)id);
        size_t len = strlen(n);
        char buf[32];
        for (size_t i = 0; i < len; i++) {
            for (int c = 0; c < 256; c++) {
                memcpy(buf, n, len);
                buf[i] = (char)c;
                check(buf, len);
            }
        }
    }
}

Test(hdr_names, shorter_and_longer_names_are_other)
{
    for (int id = SL_HN_OTHER + 1; id < SL_HN_MAX; id++) {
        const char *n = sl_http_hn_name((enum sl_hn)id);
        size_t len = strlen(n);
        char buf[40];
        for (size_t cut = 0; cut < len; cut++) {
            check(n, cut);             /* prefixes */
            check(n + cut, len - cut); /* suffixes */
        }
        memcpy(buf, n, len);
        buf[len] = 's';
        check(buf, len + 1);
        buf[0] = 'x';
        memcpy(buf + 1, n, len);
        check(buf, len + 1);
    }
    check("", 0);
    check("x", 1);
}

Test(hdr_names, random_names_agree_with_reference)
{
    /* an alphabet biased towards the known names so that many candidates get far into a compare */
    static const char alpha[] = "aceghiklnoprstuvwxyACEHNOPRSTX-_~.0";
    unsigned seed = 12345;
    char buf[24];
    for (int round = 0; round < 200000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = 2 + (seed >> 16) % 19;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
        }
        if (round % 7 == 0) {
            /* start from a known name of that length, if any, and break one byte */
            for (int id = SL_HN_OTHER + 1; id < SL_HN_MAX; id++) {
                const char *n = sl_http_hn_name((enum sl_hn)id);
                if (strlen(n) == len) {
                    memcpy(buf, n, len);
                    buf[(seed >> 8) % len] ^= (char)(1u << ((seed >> 4) % 8));
                    break;
                }
            }
        }
        check(buf, len);
    }
}

/* ---- start-line versions: the eight-byte fast path equals the byte loop ---------------------- */

/* What the byte-by-byte rule gives for a version field <v> of <n> bytes: the first byte that
 * breaks "HTTP/" DIGIT "." DIGIT decides -400, else the digits decide. */
static int
version_verdict(const char *v, int *major, int *minor)
{
    static const char proto[] = "HTTP/";
    for (int i = 0; i < 8; i++) {
        unsigned char c = (unsigned char)v[i];
        bool ok =
            i < 5 ? c == (unsigned char)proto[i] : (i == 6 ? c == '.' : (c >= '0' && c <= '9'));
        if (!ok) {
            return -400;
        }
    }
    *major = v[5] - '0';
    *minor = v[7] - '0';
    return 1;
}

Test(h1_version, every_one_byte_change_of_the_request_version)
{
    struct sl_header hdrs[MAXH];
    struct sl_h1_request req;
    char raw[64];
    for (int pos = 0; pos < 8; pos++) {
        for (int c = 0; c < 256; c++) {
            char v[9] = "HTTP/1.1";
            v[pos] = (char)c;
            int n = snprintf(raw, sizeof(raw), "GET / ");
            memcpy(raw + n, v, 8);
            n += 8;
            static const char rest[] = "\r\nHost: h\r\n\r\n";
            memcpy(raw + n, rest, sizeof(rest) - 1);
            n += (int)sizeof(rest) - 1;
            int major = 0, minor = 0;
            int want = version_verdict(v, &major, &minor);
            if (want == 1 && major != 1) {
                want = -505;
            }
            int rc = req_parse_copy(raw, (size_t)n, NULL, &req, hdrs, MAXH);
            if (want == 1) {
                cr_assert_eq(rc, n, "pos %d byte %d", pos, c);
                cr_assert_eq(req.minor, minor > 1 ? 1 : minor);
            } else {
                cr_assert_eq(rc, want, "pos %d byte %d: %d", pos, c, rc);
            }
        }
    }
}

Test(h1_version, request_version_cut_by_the_line_limit)
{
    /* the line limit falling inside the version: the fast path must not apply, and every cut
     * gives what the byte loop gives (-414 at the limit unless a byte before it is wrong) */
    struct sl_header hdrs[MAXH];
    struct sl_h1_request req;
    const char *versions[] = {"HTTP/1.1", "HTTP/1.0", "HTTX/1.1", "HTTP/1,1", "HTTP/a.1"};
    for (size_t k = 0; k < sizeof(versions) / sizeof(versions[0]); k++) {
        char raw[64];
        int n = snprintf(raw, sizeof(raw), "GET / %s\r\nHost: h\r\n\r\n", versions[k]);
        for (size_t limit = 6; limit <= 14; limit++) {
            struct sl_h1_limits lim = SL_H1_LIMITS_DEFAULT;
            lim.max_request_line = limit;
            int major = 0, minor = 0;
            int verdict = version_verdict(versions[k], &major, &minor);
            /* bytes of the version inside the limit */
            size_t inside = limit > 6 ? limit - 6 : 0;
            int want;
            int first_bad = 8;
            for (int i = 0; i < 8; i++) {
                char one[9];
                memcpy(one, "HTTP/1.1", 9);
                one[i] = versions[k][i];
                int a, b;
                if (version_verdict(one, &a, &b) < 0) {
                    first_bad = i;
                    break;
                }
            }
            if ((size_t)first_bad < inside) {
                want = -400;
            } else if (inside < 8) {
                want = -414;
            } else {
                want = verdict == 1 ? n : -400;
            }
            int rc = req_parse_copy(raw, (size_t)n, &lim, &req, hdrs, MAXH);
            cr_assert_eq(rc, want, "%s limit %zu: %d, want %d", versions[k], limit, rc, want);
        }
    }
}

Test(h1_version, every_one_byte_change_of_the_response_version)
{
    struct sl_header hdrs[MAXH];
    struct sl_h1_response res;
    char raw[64];
    for (int pos = 0; pos < 8; pos++) {
        for (int c = 0; c < 256; c++) {
            char v[9] = "HTTP/1.1";
            v[pos] = (char)c;
            static const char rest[] = " 200 OK\r\nContent-Length: 0\r\n\r\n";
            memcpy(raw, v, 8);
            memcpy(raw + 8, rest, sizeof(rest) - 1);
            int n = 8 + (int)sizeof(rest) - 1;
            int major = 0, minor = 0;
            int want = version_verdict(v, &major, &minor);
            int rc = res_parse_copy(raw, (size_t)n, NULL, false, &res, hdrs, MAXH);
            if (want == 1 && major == 1) {
                /* a later minor reads as 1.1 (RFC 9112 §2.3) */
                cr_assert_eq(rc, n, "pos %d byte %d", pos, c);
                cr_assert_eq(res.minor, minor > 1 ? 1 : minor);
            } else {
                cr_assert_eq(rc, -502, "pos %d byte %d: %d", pos, c, rc);
            }
            /* every prefix of a valid start line is "need more" */
            if (want == 1) {
                for (int cut = 0; cut < 8; cut++) {
                    cr_assert_eq(res_parse_copy(raw, (size_t)cut, NULL, false, &res, hdrs, MAXH),
                                 0);
                }
            }
        }
    }
}
