/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's typedef validators (hosts, SNIs, paths, names, tags, header names, IPs, PEM) with Kong's
 * messages, and the shared field definitions built on them. Pure functions; any thread. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pcre2.h>

#include "core/hex.h"
#include "schema/typedefs.h"

/* Kong's constants.PROTOCOLS (sorted as /schemas shows them). OSS Kong has no "ws"/"wss": those
 * are Enterprise-only, and a kong.yml naming them is rejected by Kong OSS (kong.md §3.8). */
const char *const sl_typedef_protocols[] = {"grpc", "grpcs",           "http", "https", "tcp",
                                            "tls",  "tls_passthrough", "udp",  NULL};
const char *const sl_typedef_http_protocols[] = {"grpc", "grpcs", "http", "https", NULL};

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A run of digits as a number, saturated far above 65535. */
static long
digits_value(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > 1000000) {
            return 1000000;
        }
    }
    return v;
}

static int
all_digits(const char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int
parse_ipv4(const char *s, long *port, char *err, size_t errlen)
{
    const char *p = s;
    *port = -1;
    for (int octet = 0; octet < 4; octet++) {
        size_t n = 0;
        while (n < 4 && is_digit(p[n])) {
            n++;
        }
        if (n == 0 || n > 3 || digits_value(p, n) > 255) {
            goto bad;
        }
        p += n;
        if (octet < 3) {
            if (*p++ != '.') {
                goto bad;
            }
        }
    }
    if (*p == ':') {
        size_t n = strlen(p + 1);
        if (!all_digits(p + 1, n)) {
            goto bad;
        }
        if (digits_value(p + 1, n) > 65535) {
            snprintf(err, errlen, "invalid port number");
            return -1;
        }
        *port = digits_value(p + 1, n);
        return 0;
    }
    if (*p == 0) {
        return 0;
    }
bad:
    snprintf(err, errlen, "invalid ipv4 address: %s", s);
    return -1;
}

/* True when <a,len> is an IPv6 address as Kong's normalize_ipv6 accepts it: after a leading ':'
 * gets a '0' before it and a trailing one a '0' after it, the first "::" is replaced by enough
 * ":0" groups to make eight, and then exactly eight groups of 1-4 hex digits must remain (so an
 * address with an IPv4 tail, "::ffff:1.2.3.4", is refused, unlike inet_pton). */
static bool
ipv6_groups_ok(const char *a, size_t len)
{
    char buf[96];
    if (len > 45) {
        return false; /* eight groups of four digits and seven colons is 39 */
    }
    size_t n = 0;
    if (len > 0 && a[0] == ':') {
        buf[n++] = '0';
    }
    memcpy(buf + n, a, len);
    n += len;
    if (len > 0 && a[len - 1] == ':') {
        buf[n++] = '0';
    }
    buf[n] = 0;
    char *dc = strstr(buf, "::");
    if (dc != NULL) {
        size_t colons = 0;
        for (size_t i = 0; i < n; i++) {
            colons += buf[i] == ':';
        }
        char tmp[96];
        size_t w = (size_t)(dc - buf);
        memcpy(tmp, buf, w);
        tmp[w++] = ':';
        for (size_t i = colons; i < 8; i++) {
            tmp[w++] = '0';
            tmp[w++] = ':';
        }
        size_t rest = n - (size_t)(dc + 2 - buf);
        memcpy(tmp + w, dc + 2, rest + 1);
        memcpy(buf, tmp, w + rest + 1);
    }
    const char *p = buf;
    for (int g = 0; g < 8; g++) {
        size_t d = 0;
        while (d < 5 && isxdigit((unsigned char)p[d])) {
            d++;
        }
        if (d == 0 || d > 4) {
            return false;
        }
        p += d;
        if (g < 7 && *p++ != ':') {
            return false;
        }
    }
    return *p == 0;
}

/* Kong's normalize_ipv6: "[address]" (balanced brackets) with an optional ":port" after it, or a
 * bare address without a port. */
static int
parse_ipv6(const char *s, long *port, char *err, size_t errlen)
{
    const char *a = s;
    size_t alen = strlen(s);
    *port = -1;
    if (s[0] == '[') {
        const char *close = NULL;
        int depth = 0;
        for (const char *p = s; *p != 0 && close == NULL; p++) {
            depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
            if (depth == 0) {
                close = p;
            }
        }
        if (close != NULL) {
            a = s + 1;
            alen = (size_t)(close - s - 1);
            const char *rest = close + 1;
            size_t n = strlen(rest + (*rest == ':'));
            /* Kong's "^:(%d-)$" also takes an empty port, on which it then fails with a 500 */
            if (*rest != 0 && (*rest != ':' || !all_digits(rest + 1, n))) {
                snprintf(err, errlen, "invalid ipv6 address");
                return -1;
            }
            if (*rest != 0) {
                if (digits_value(rest + 1, n) > 65535) {
                    snprintf(err, errlen, "invalid port number");
                    return -1;
                }
                *port = digits_value(rest + 1, n);
            }
        }
    }
    if (ipv6_groups_ok(a, alen)) {
        return 0;
    }
    snprintf(err, errlen, "invalid ipv6 address: %s", s);
    return -1;
}

static int
parse_name(const char *s, long *port, char *err, size_t errlen)
{
    size_t len = strlen(s), name_len = len;
    const char *colon = strrchr(s, ':');
    *port = -1;
    if (colon != NULL) {
        size_t n = strlen(colon + 1);
        if (!all_digits(colon + 1, n)) {
            goto bad;
        }
        if (digits_value(colon + 1, n) > 65535) {
            snprintf(err, errlen, "invalid port number");
            return -1;
        }
        *port = digits_value(colon + 1, n);
        name_len = (size_t)(colon - s);
    }
    if (name_len == 0) {
        goto bad;
    }
    size_t start = 0;
    for (size_t i = 0; i <= name_len; i++) {
        if (i < name_len && !(is_alnum(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_')) {
            goto bad;
        }
        if (i == name_len || s[i] == '.') {
            /* an empty label only as an FQDN's trailing dot; no label ends with '-' */
            if ((i == start && i != name_len) || (i > start && s[i - 1] == '-')) {
                goto bad;
            }
            start = i + 1;
        }
    }
    return 0;
bad:
    snprintf(err, errlen, "invalid hostname: %s", s);
    return -1;
}

int
sl_typedef_normalize_ip(const char *s, enum sl_host_kind *kind, long *port, char *err,
                        size_t errlen)
{
    size_t colons = 0;
    int digits_dots = 1, any = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ':') {
            colons++;
        } else {
            any = 1;
            if (!is_digit(*p) && *p != '.') {
                digits_dots = 0;
            }
        }
    }
    /* Kong's hostname_type: the kind is decided by the colons and the characters alone ("[v]:80"
     * is a name, and an invalid one) */
    if (colons > 1) {
        *kind = SL_HOST_KIND_IPV6;
        return parse_ipv6(s, port, err, errlen);
    }
    if (any && digits_dots) {
        *kind = SL_HOST_KIND_IPV4;
        return parse_ipv4(s, port, err, errlen);
    }
    *kind = SL_HOST_KIND_NAME;
    return parse_name(s, port, err, errlen);
}

bool
sl_typedef_is_ip_or_cidr(const char *s)
{
    char buf[64];
    unsigned char a[16];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    int max;
    if (inet_pton(AF_INET, buf, a) == 1) {
        max = 32;
    } else if (inet_pton(AF_INET6, buf, a) == 1) {
        max = 128;
    } else {
        return false;
    }
    if (slash == NULL) {
        return true;
    }
    /* Kong looks the prefix up among the strings "0".."32" (or "128"): no leading zero */
    size_t m = strlen(slash + 1);
    return all_digits(slash + 1, m) && m <= 3 && (m == 1 || slash[1] != '0') &&
           digits_value(slash + 1, m) <= max;
}

/* ---- validators ----------------------------------------------------------------------------- */

int
sl_typedef_host(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    enum sl_host_kind kind;
    long port;
    /* read below even when the address is valid: an uninitialised buffer kept the previous
     * call's "invalid port number" and failed the next valid host with "must not have a port" */
    char why[256] = "";
    if (sl_typedef_normalize_ip(s, &kind, &port, why, sizeof(why)) != 0 &&
        strcmp(why, "invalid port number") != 0) {
        snprintf(err, errlen, "invalid value: %s", s);
        return -1;
    }
    if (port >= 0 || strcmp(why, "invalid port number") == 0) {
        snprintf(err, errlen, "must not have a port");
        return -1;
    }
    return 0;
}

int
sl_typedef_host_with_optional_port(const json_t *v, char *err, size_t errlen)
{
    enum sl_host_kind kind;
    long port;
    return sl_typedef_normalize_ip(json_string_value(v), &kind, &port, err, errlen);
}

static int
sni_check(const char *s, const char *shown, char *err, size_t errlen)
{
    enum sl_host_kind kind;
    long port = -1;
    char why[256] = "";
    int rc = sl_typedef_normalize_ip(s, &kind, &port, why, sizeof(why));
    if (rc != 0 && strcmp(why, "invalid port number") != 0) {
        snprintf(err, errlen, "invalid value: %s", shown);
        return -1;
    }
    if (kind != SL_HOST_KIND_NAME) {
        snprintf(err, errlen, "must not be an IP");
        return -1;
    }
    if (port >= 0 || rc != 0) {
        snprintf(err, errlen, "must not have a port");
        return -1;
    }
    return 0;
}

int
sl_typedef_sni(const json_t *v, char *err, size_t errlen)
{
    return sni_check(json_string_value(v), json_string_value(v), err, errlen);
}

int
sl_typedef_wildcard_host(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    size_t len = strlen(s);
    const char *star = strchr(s, '*');
    if (star == NULL) {
        return sni_check(s, s, err, errlen);
    }
    if (star != s && star != s + len - 1) {
        snprintf(err, errlen, "wildcard must be leftmost or rightmost character");
        return -1;
    }
    if (strchr(star + 1, '*') != NULL) {
        snprintf(err, errlen, "only one wildcard must be specified");
        return -1;
    }
    /* Kong substitutes "wildcard" for the star and shows the substituted host */
    char *mock = malloc(len + 8 + 1);
    if (mock == NULL) {
        return -1;
    }
    size_t pre = (size_t)(star - s);
    memcpy(mock, s, pre);
    memcpy(mock + pre, "wildcard", 8);
    memcpy(mock + pre + 8, star + 1, len - pre);
    int rc = sni_check(mock, mock, err, errlen);
    free(mock);
    return rc;
}

int
sl_typedef_route_host(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    size_t len = strlen(s), w = 0;
    char *tmp = malloc(len * 3 + 1);
    if (tmp == NULL) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '*') {
            memcpy(tmp + w, "abc", 3);
            w += 3;
        } else {
            tmp[w++] = s[i];
        }
    }
    tmp[w] = 0;
    enum sl_host_kind kind;
    long port;
    int rc = sl_typedef_normalize_ip(tmp, &kind, &port, err, errlen);
    free(tmp);
    return rc;
}

int
sl_typedef_ip(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    unsigned char a[16];
    if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1) {
        return 0;
    }
    snprintf(err, errlen, "not an ip address: %s", s);
    return -1;
}

int
sl_typedef_ip_or_cidr(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (sl_typedef_is_ip_or_cidr(s)) {
        return 0;
    }
    snprintf(err, errlen, "invalid ip or cidr range: '%s'", s);
    return -1;
}

/* 1: characters outside RFC 3986; 2: bad percent-encoding; 0: fine */
static int
path_check(const char *s, char *err, size_t errlen)
{
    if (s[0] != '/') {
        goto rfc;
    }
    for (const char *p = s; *p; p++) {
        if (!(is_alnum(*p) || strchr(".-_~/%:@!$&'()*+,;=", *p) != NULL)) {
            goto rfc;
        }
    }
    for (const char *p = s; *p; p++) {
        if (*p != '%') {
            continue;
        }
        if (isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            p += 2;
            continue;
        }
        /* Kong shows '%' and up to two following characters (after "%XX" became "___") */
        char bad[4] = {'%', 0, 0, 0};
        for (int i = 1; i <= 2 && p[i] != 0; i++) {
            bad[i] = p[i];
        }
        snprintf(err, errlen, "invalid url-encoded value: '%s'", bad);
        return 2;
    }
    return 0;
rfc:
    snprintf(err, errlen,
             "invalid path: '%s' (characters outside of the reserved list of RFC 3986 found)", s);
    return 1;
}

int
sl_typedef_path(const json_t *v, char *err, size_t errlen)
{
    return path_check(json_string_value(v), err, errlen) == 0 ? 0 : -1;
}

int
sl_typedef_normalize_path(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in);
    char *dec = malloc(len + 1);
    if (dec == NULL) {
        return -1;
    }
    size_t d = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && isxdigit((unsigned char)in[i + 1]) &&
            isxdigit((unsigned char)in[i + 2])) {
            char c = (char)(sl_hex_value(in[i + 1]) * 16 + sl_hex_value(in[i + 2]));
            if (c != 0 && strchr("!*'();:@&=+$,/?%#[]", c) != NULL) {
                dec[d++] = '%';
                dec[d++] = (char)toupper((unsigned char)in[i + 1]);
                dec[d++] = (char)toupper((unsigned char)in[i + 2]);
            } else {
                dec[d++] = c;
            }
            i += 2;
        } else {
            dec[d++] = in[i];
        }
    }
    dec[d] = 0;
    /* merge slashes, then remove dot segments (RFC 3986 5.2.4) over the segment list */
    char *res = malloc(d + 2);
    if (res == NULL) {
        free(dec);
        return -1;
    }
    size_t r = 0;
    const char *p = dec;
    while (*p) {
        if (*p == '/') {
            while (p[1] == '/') {
                p++;
            }
            const char *seg = p + 1;
            size_t sl = strcspn(seg, "/");
            if (sl == 1 && seg[0] == '.') {
                p = seg + 1;
                if (*p == 0) {
                    res[r++] = '/';
                }
                continue;
            }
            if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
                while (r > 0 && res[r - 1] != '/') {
                    r--;
                }
                if (r > 0) {
                    r--;
                }
                p = seg + 2;
                if (*p == 0) {
                    res[r++] = '/';
                }
                continue;
            }
            res[r++] = '/';
            memcpy(res + r, seg, sl);
            r += sl;
            p = seg + sl;
        } else {
            res[r++] = *p++;
        }
    }
    res[r] = 0;
    int rc = 0;
    if (r + 1 > outlen) {
        rc = -1;
    } else {
        memcpy(out, res, r + 1);
    }
    free(res);
    free(dec);
    return rc;
}

int
sl_typedef_router_path(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    char why[512];
    /* Kong runs typedefs.path's validator on the value as given, "~" included: a regex path
     * fails its RFC 3986 pattern first, so the percent-encoding check never runs on it and only
     * the regex dry-run below can reject it ("~/a%zz" is accepted, as by Kong). */
    if (s[0] != '~' && path_check(s, why, sizeof(why)) == 2) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    if (s[0] != '~') {
        size_t n = strlen(s) + 2;
        char *norm = malloc(n);
        if (norm == NULL || sl_typedef_normalize_path(s, norm, n) != 0) {
            free(norm);
            return -1;
        }
        int rc = 0;
        if (strcmp(norm, s) != 0) {
            snprintf(err, errlen, "non-normalized path, consider use '%s' instead", norm);
            rc = -1;
        }
        free(norm);
        return rc;
    }
    /* Kong's dry-run (ngx.re.find with "aj": anchored, bytes, not UTF), whose message is the
     * field's error: "~/\x{263a}" asks for too large a code point there. Then the options the
     * router compiles with (router_build.c compile_path), so nothing the router would refuse is
     * stored; Kong's own second check there is atc-router's (Rust's regex crate), with its own
     * words. */
    if (sl_typedef_regex(s + 1, PCRE2_ANCHORED, err, errlen) != 0) {
        return -1;
    }
    return sl_typedef_regex(s + 1, PCRE2_ANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_UTF | PCRE2_UCP,
                            err, errlen);
}

int
sl_typedef_regex(const char *re, uint32_t options, char *err, size_t errlen)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, options, &ec, &eo, NULL);
    if (code != NULL) {
        pcre2_code_free(code);
        return 0;
    }
    /* OpenResty's ngx.re wording, which Kong quotes after "PCRE returned:" */
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(ec, msg, sizeof(msg));
    if (eo >= strlen(re)) {
        snprintf(err, errlen,
                 "invalid regex: '%s' (PCRE returned: pcre2_compile() failed: %s in \"%s\")", re,
                 (char *)msg, re);
    } else {
        snprintf(err, errlen,
                 "invalid regex: '%s' (PCRE returned: pcre2_compile() failed: %s in \"%s\" at "
                 "\"%s\")",
                 re, (char *)msg, re, re + eo);
    }
    return -1;
}

/* A route header's values: one "~*" value is a case-insensitive regex, which must compile. */
static int
header_values_check(const json_t *v, char *err, size_t errlen)
{
    const char *first = json_string_value(json_array_get(v, 0));
    if (json_array_size(v) != 1 || first == NULL || strncmp(first, "~*", 2) != 0) {
        return 0;
    }
    char why[1024];
    if (sl_typedef_regex(first + 2, PCRE2_CASELESS, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "in entry 1 of 'headers': %s", why);
        return -1;
    }
    return 0;
}

/* Kong's utils.validate_utf8: 0 when valid, else the 1-based position of the first bad byte. */
static size_t
utf8_bad_pos(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
        } else {
            return i + 1;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80) {
                return i + 1;
            }
        }
        i += n + 1;
    }
    return 0;
}

static int
utf8_check(const json_t *v, char *err, size_t errlen)
{
    size_t pos = utf8_bad_pos((const unsigned char *)json_string_value(v), json_string_length(v));
    if (pos != 0) {
        snprintf(err, errlen, "invalid utf-8 character sequence detected at position %zu", pos);
        return -1;
    }
    return 0;
}

int
sl_typedef_name(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    for (const char *p = s; *p; p++) {
        if (!(is_alnum(*p) || strchr(".-_~", *p) != NULL)) {
            snprintf(err, errlen,
                     "invalid value '%s': it must only contain alphanumeric and '., -, _, ~' "
                     "characters",
                     s);
            return -1;
        }
    }
    return 0;
}

int
sl_typedef_utf8_name(const json_t *v, char *err, size_t errlen)
{
    if (utf8_check(v, err, errlen) != 0) {
        return -1;
    }
    const char *s = json_string_value(v);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!(is_alnum((char)*p) || strchr(".-_~", *p) != NULL || (*p >= 128 && *p <= 244))) {
            snprintf(err, errlen,
                     "invalid value '%s': the only accepted ascii characters are alphanumerics "
                     "or ., -, _, and ~",
                     s);
            return -1;
        }
    }
    return 0;
}

int
sl_typedef_tag(const json_t *v, char *err, size_t errlen)
{
    if (utf8_check(v, err, errlen) != 0) {
        return -1;
    }
    const char *s = json_string_value(v);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int ok =
            c == ' ' || (c >= 33 && c <= 126 && c != ',' && c != '/') || (c >= 128 && c <= 244);
        if (!ok) {
            snprintf(err, errlen,
                     "invalid tag '%s': expected printable ascii (except `,` and `/`) or valid "
                     "utf-8 sequences",
                     s);
            return -1;
        }
    }
    return 0;
}

static int
token_check(const json_t *v, const char *what, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (*s == 0) {
        snprintf(err, errlen, "no %s name provided", what);
        return -1;
    }
    for (const char *p = s; *p; p++) {
        if (!(is_alnum(*p) || *p == '-' || *p == '_')) {
            snprintf(err, errlen,
                     "bad %s name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'", what,
                     s);
            return -1;
        }
    }
    return 0;
}

int
sl_typedef_header_name(const json_t *v, char *err, size_t errlen)
{
    return token_check(v, "header", err, errlen);
}

int
sl_typedef_cookie_name(const json_t *v, char *err, size_t errlen)
{
    return token_check(v, "cookie", err, errlen);
}

/* The first OpenSSL error's reason, as lua-resty-openssl reports it. */
static void
ssl_reason(char *out, size_t outlen)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(out, outlen, "%s", r ? r : "unknown error");
    ERR_clear_error();
}

int
sl_typedef_certificate(const json_t *v, char *err, size_t errlen)
{
    BIO *b = BIO_new_mem_buf(json_string_value(v), (int)json_string_length(v));
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (x == NULL) {
        char why[200];
        ssl_reason(why, sizeof(why));
        snprintf(err, errlen, "invalid certificate: %s", why);
        return -1;
    }
    X509_free(x);
    return 0;
}

int
sl_typedef_key(const json_t *v, char *err, size_t errlen)
{
    BIO *b = BIO_new_mem_buf(json_string_value(v), (int)json_string_length(v));
    /* an empty passphrase callback: an encrypted key fails instead of prompting on a tty */
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
    BIO_free(b);
    if (k == NULL) {
        char why[200];
        ssl_reason(why, sizeof(why));
        snprintf(err, errlen, "invalid key: %s", why);
        return -1;
    }
    EVP_PKEY_free(k);
    return 0;
}

/* ---- shared field definitions ---------------------------------------------------------------- */

const struct sl_field sl_typedef_tag_elem = {
    .type = SL_FT_STRING, .required = true, .custom = sl_typedef_tag};
const struct sl_field sl_typedef_protocol_elem = {.type = SL_FT_STRING,
                                                  .one_of = sl_typedef_protocols};
const struct sl_field sl_typedef_http_method_elem = {.type = SL_FT_STRING, .match = "^[A-Z]+$"};
const struct sl_field sl_typedef_string_elem = {.type = SL_FT_STRING};
const struct sl_field sl_typedef_header_name_elem = {.type = SL_FT_STRING,
                                                     .custom = sl_typedef_header_name};
const struct sl_field sl_typedef_header_values = {.type = SL_FT_ARRAY,
                                                  .elements = &sl_typedef_string_elem};
const struct sl_field sl_typedef_route_header_values = {
    .type = SL_FT_ARRAY, .elements = &sl_typedef_string_elem, .custom = header_values_check};
const struct sl_field sl_typedef_uuid_elem = {.type = SL_FT_STRING, .uuid = true};

static const struct sl_field src_dst_fields[] = {
    {.name = "ip", .type = SL_FT_STRING, .custom = sl_typedef_ip_or_cidr},
    SL_TD_PORT("port", NULL),
    {0},
};
static const char *const ip_or_port[] = {"ip", "port", NULL};
static const struct sl_entity_check src_dst_checks[] = {
    {.kind = SL_CHECK_AT_LEAST_ONE_OF, .fields = ip_or_port},
    {0},
};
const struct sl_field sl_typedef_src_dst_elem = {
    .type = SL_FT_RECORD, .fields = src_dst_fields, .checks = src_dst_checks};
