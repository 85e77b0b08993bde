/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's host, path and URL validators in C (src/config/kong_check.h). Each mirrors the Lua
 * function named in its comment, quirks included, because the messages and the accepted inputs are
 * the compatibility contract; none of them allocates. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/kong_check.h"

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_xdigit(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
hexval(char c)
{
    if (is_digit(c)) {
        return c - '0';
    }
    return (c | 0x20) - 'a' + 10;
}

/* tonumber() of a run of digits, saturated well above 65535 so that "port > 65535" still holds. */
static long
digits_value(const char *s, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > 10000000) {
            return 10000000;
        }
    }
    return v;
}

/* hostname_type(): by exclusion, not validation. */
static enum sl_host_type
hostname_type(const char *s)
{
    size_t colons = 0;
    bool only_digits_dots = true;
    bool any = false;
    for (const char *p = s; *p; p++) {
        if (*p == ':') {
            colons++;
            continue;
        }
        any = true;
        if (!is_digit(*p) && *p != '.') {
            only_digits_dots = false;
        }
    }
    if (colons > 1) {
        return SL_HOST_IPV6;
    }
    if (any && only_digits_dots) {
        return SL_HOST_IPV4;
    }
    return SL_HOST_NAME;
}

/* normalize_ipv4(): "^(%d%d?%d?)%.(...)%.(...)%.(...)(:(%d+))?$" with octets up to 255. */
static int
normalize_ipv4(const char *s, long *port, char *err, size_t errlen)
{
    const char *p = s;
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
            if (*p != '.') {
                goto bad;
            }
            p++;
        }
    }
    *port = -1;
    if (*p == ':' && strchr(s, ':') != NULL) {
        p++;
        size_t n = strlen(p);
        if (n == 0) {
            goto bad;
        }
        for (size_t i = 0; i < n; i++) {
            if (!is_digit(p[i])) {
                goto bad;
            }
        }
        long v = digits_value(p, n);
        if (v > 65535) {
            snprintf(err, errlen, "invalid port number");
            return -1;
        }
        *port = v;
        return 0;
    }
    if (*p != '\0') {
        goto bad;
    }
    return 0;
bad:
    snprintf(err, errlen, "invalid ipv4 address: %s", s);
    return -1;
}

/* normalize_ipv6(): optional [brackets] with a port, "::" expansion, then exactly eight groups of
 * one to four hex digits. */
static int
normalize_ipv6(const char *s, long *port, char *err, size_t errlen)
{
    char check[128];
    size_t clen;
    *port = -1;
    if (s[0] == '[') {
        /* %b[] : balanced brackets */
        int depth = 0;
        size_t i = 0;
        for (; s[i]; i++) {
            if (s[i] == '[') {
                depth++;
            } else if (s[i] == ']' && --depth == 0) {
                break;
            }
        }
        if (s[i] != ']') {
            goto plain;
        }
        clen = i - 1;
        const char *rest = s + i + 1;
        if (*rest != '\0') {
            if (rest[0] != ':') {
                snprintf(err, errlen, "invalid ipv6 address");
                return -1;
            }
            size_t n = strlen(rest + 1);
            for (size_t k = 0; k < n; k++) {
                if (!is_digit(rest[1 + k])) {
                    snprintf(err, errlen, "invalid ipv6 address");
                    return -1;
                }
            }
            if (n == 0) {
                snprintf(err, errlen, "invalid ipv6 address");
                return -1;
            }
            long v = digits_value(rest + 1, n);
            if (v > 65535) {
                snprintf(err, errlen, "invalid port number");
                return -1;
            }
            *port = v;
        }
        if (clen + 3 > sizeof(check)) {
            goto bad;
        }
        memcpy(check, s + 1, clen);
        check[clen] = '\0';
    } else {
    plain:
        clen = strlen(s);
        if (clen + 3 > sizeof(check)) {
            goto bad;
        }
        memcpy(check, s, clen + 1);
    }
    /* leading/trailing ':' get a 0 so that "::" expansion has two sides */
    char work[256];
    size_t w = 0;
    if (check[0] == ':') {
        work[w++] = '0';
    }
    memcpy(work + w, check, clen);
    w += clen;
    if (clen > 0 && check[clen - 1] == ':') {
        work[w++] = '0';
    }
    work[w] = '\0';
    char *dbl = strstr(work, "::");
    if (dbl != NULL) {
        size_t colons = 0;
        for (size_t i = 0; i < w; i++) {
            colons += work[i] == ':';
        }
        char expanded[256];
        size_t e = 0;
        size_t head = (size_t)(dbl - work);
        memcpy(expanded, work, head);
        e = head;
        expanded[e++] = ':';
        for (size_t k = colons; k < 8; k++) {
            expanded[e++] = '0';
            expanded[e++] = ':';
        }
        size_t tail = w - head - 2;
        if (e + tail + 1 > sizeof(expanded)) {
            goto bad;
        }
        memcpy(expanded + e, dbl + 2, tail);
        e += tail;
        expanded[e] = '\0';
        memcpy(work, expanded, e + 1);
    }
    /* eight groups of 1-4 hex digits */
    const char *p = work;
    for (int g = 0; g < 8; g++) {
        size_t n = 0;
        while (is_xdigit(p[n])) {
            n++;
        }
        if (n == 0 || n > 4) {
            goto bad;
        }
        p += n;
        if (g < 7) {
            if (*p != ':') {
                goto bad;
            }
            p++;
        }
    }
    if (*p != '\0') {
        goto bad;
    }
    return 0;
bad:
    snprintf(err, errlen, "invalid ipv6 address: %s", s);
    return -1;
}

/* check_hostname(): [alnum . - _] with an optional ":port"; no label ends with '-', no empty label
 * except a final one (an FQDN's trailing dot). */
static int
check_hostname(const char *s, long *port, char *err, size_t errlen)
{
    size_t len = strlen(s);
    size_t name_len = len;
    *port = -1;
    const char *colon = strrchr(s, ':');
    if (colon != NULL && colon[1] != '\0') {
        bool digits = true;
        for (const char *p = colon + 1; *p; p++) {
            digits = digits && is_digit(*p);
        }
        if (digits) {
            long v = digits_value(colon + 1, strlen(colon + 1));
            if (v > 65535) {
                snprintf(err, errlen, "invalid port number");
                return -1;
            }
            *port = v;
            name_len = (size_t)(colon - s);
        }
    }
    if (name_len == 0) {
        goto bad;
    }
    for (size_t i = 0; i < name_len; i++) {
        char c = s[i];
        if (!(is_digit(c) || is_alpha(c) || c == '-' || c == '.' || c == '_')) {
            goto bad;
        }
    }
    size_t start = 0;
    for (size_t i = 0; i <= name_len; i++) {
        if (i == name_len || s[i] == '.') {
            size_t seg = i - start;
            bool last = i == name_len;
            if ((seg == 0 && !last) || (seg > 0 && s[i - 1] == '-')) {
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
sl_kong_normalize_ip(const char *s, enum sl_host_type *type, long *port, char *err, size_t errlen)
{
    enum sl_host_type t = hostname_type(s);
    int rc;
    switch (t) {
    case SL_HOST_IPV4:
        rc = normalize_ipv4(s, port, err, errlen);
        break;
    case SL_HOST_IPV6:
        rc = normalize_ipv6(s, port, err, errlen);
        break;
    default:
        rc = check_hostname(s, port, err, errlen);
        break;
    }
    *type = t;
    return rc;
}

const char *
sl_kong_check_host(const char *s, char *err, size_t errlen)
{
    enum sl_host_type t;
    long port;
    char why[600];
    if (sl_kong_normalize_ip(s, &t, &port, why, sizeof(why)) != 0) {
        if (strcmp(why, "invalid port number") != 0) {
            snprintf(err, errlen, "invalid value: %s", s);
            return err;
        }
        snprintf(err, errlen, "must not have a port");
        return err;
    }
    if (port >= 0) {
        snprintf(err, errlen, "must not have a port");
        return err;
    }
    return NULL;
}

const char *
sl_kong_check_sni(const char *s, char *err, size_t errlen)
{
    enum sl_host_type t;
    long port;
    char why[600];
    int rc = sl_kong_normalize_ip(s, &t, &port, why, sizeof(why));
    if (rc != 0 && strcmp(why, "invalid port number") != 0) {
        snprintf(err, errlen, "invalid value: %s", s);
        return err;
    }
    if (rc == 0 && t != SL_HOST_NAME) {
        snprintf(err, errlen, "must not be an IP");
        return err;
    }
    if (rc != 0 || port >= 0) {
        snprintf(err, errlen, "must not have a port");
        return err;
    }
    return NULL;
}

const char *
sl_kong_check_route_host(const char *s, char *err, size_t errlen)
{
    size_t len = strlen(s);
    size_t stars = 0;
    for (size_t i = 0; i < len; i++) {
        stars += s[i] == '*';
    }
    if (stars > 1) {
        snprintf(err, errlen, "invalid wildcard: must have at most one wildcard");
        return err;
    }
    if (stars == 1 && !(len >= 2 && s[0] == '*' && s[1] == '.') &&
        !(len >= 2 && s[len - 2] == '.' && s[len - 1] == '*')) {
        snprintf(err, errlen, "invalid wildcard: must be placed at leftmost or rightmost label");
        return err;
    }
    /* the wildcard becomes "abc" for the host check */
    char tmp[600];
    size_t w = 0;
    for (size_t i = 0; i < len && w + 4 < sizeof(tmp); i++) {
        if (s[i] == '*') {
            memcpy(tmp + w, "abc", 3);
            w += 3;
        } else {
            tmp[w++] = s[i];
        }
    }
    tmp[w] = '\0';
    enum sl_host_type t;
    long port;
    if (sl_kong_normalize_ip(tmp, &t, &port, err, errlen) != 0) {
        return err;
    }
    return NULL;
}

const char *
sl_kong_check_path_chars(const char *s, bool *rfc3986, char *err, size_t errlen)
{
    *rfc3986 = false;
    bool ok = s[0] == '/';
    for (const char *p = s + 1; ok && *p; p++) {
        char c = *p;
        ok = is_digit(c) || is_alpha(c) || strchr(".-_~/%:@!$&'()*+,;=", c) != NULL;
    }
    if (!ok) {
        *rfc3986 = true;
        snprintf(err, errlen,
                 "invalid path: '%s' (characters outside of the reserved list of RFC 3986 found)",
                 s);
        return err;
    }
    /* gsub("%%%x%x", "___") then the first '%' left, with up to two characters after it */
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            continue;
        }
        if (i + 2 < len && is_xdigit(s[i + 1]) && is_xdigit(s[i + 2])) {
            i += 2;
            continue;
        }
        char bad[4] = {'%', 0, 0, 0};
        size_t n = 1;
        /* the following characters as they are in the substituted string: a valid escape there
         * reads "___" */
        for (size_t k = i + 1; k < len && n < 3;) {
            if (s[k] == '%' && k + 2 < len && is_xdigit(s[k + 1]) && is_xdigit(s[k + 2])) {
                for (int u = 0; u < 3 && n < 3; u++) {
                    bad[n++] = '_';
                }
                k += 3;
            } else {
                bad[n++] = s[k++];
            }
        }
        snprintf(err, errlen, "invalid url-encoded value: '%s'", bad);
        return err;
    }
    return NULL;
}

/* RFC 3986 reserved characters stay encoded (kong.tools.uri RESERVED_CHARS). */
static bool
is_reserved(int c)
{
    return c != 0 && strchr("!*'();:@&=+$,/?%#[]", c) != NULL;
}

void
sl_kong_normalize_path(const char *in, bool merge_slashes, char *out, size_t outlen)
{
    if (outlen == 0) {
        return;
    }
    size_t len = strlen(in);
    char *dec = malloc(len + 1);
    if (dec == NULL) {
        snprintf(out, outlen, "%s", in);
        return;
    }
    if (len == 0 || strcmp(in, "/") == 0) {
        snprintf(out, outlen, "%s", in);
        free(dec);
        return;
    }
    /* percent-decoding: everything but the reserved set, which is uppercased instead */
    size_t d = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && is_xdigit(in[i + 1]) && is_xdigit(in[i + 2])) {
            int c = hexval(in[i + 1]) * 16 + hexval(in[i + 2]);
            if (!is_reserved(c)) {
                dec[d++] = (char)c;
            } else {
                dec[d++] = '%';
                dec[d++] = (char)toupper((unsigned char)in[i + 1]);
                dec[d++] = (char)toupper((unsigned char)in[i + 2]);
            }
            i += 2;
        } else {
            dec[d++] = in[i];
        }
    }
    dec[d] = '\0';
    /* a decoded NUL ends the C string: such a path can never be the normalized form of itself */
    d = strlen(dec);
    if (memchr(dec, '.', d) == NULL && (!merge_slashes || strstr(dec, "//") == NULL)) {
        snprintf(out, outlen, "%s", dec);
        free(dec);
        return;
    }
    /* RFC 3986 §5.2.4 remove_dot_segments, as kong.tools.uri does it: segments are kept with their
     * leading slash so that "/.." can drop the last one */
    size_t *seg_start = malloc((d + 1) * sizeof(size_t));
    char *res = malloc(d + 2);
    if (seg_start == NULL || res == NULL) {
        snprintf(out, outlen, "%s", dec);
        free(seg_start);
        free(res);
        free(dec);
        return;
    }
    size_t nseg = 0;
    size_t rlen = 0;
    const char *u = dec;
    size_t ulen = d;
    char tmpbuf[4]; /* for the "/" replacements below */
    while (ulen > 0) {
        if (ulen == 2 && memcmp(u, "/.", 2) == 0) {
            memcpy(tmpbuf, "/", 2);
            u = tmpbuf;
            ulen = 1;
        } else if (ulen == 3 && memcmp(u, "/..", 3) == 0) {
            memcpy(tmpbuf, "/", 2);
            u = tmpbuf;
            ulen = 1;
            if (nseg > 0) {
                rlen = seg_start[--nseg];
            }
        } else if ((ulen == 1 && u[0] == '.') || (ulen == 2 && memcmp(u, "..", 2) == 0)) {
            ulen = 0;
        } else if (ulen >= 3 && memcmp(u, "../", 3) == 0) {
            u += 3;
            ulen -= 3;
        } else if (ulen >= 2 && memcmp(u, "./", 2) == 0) {
            u += 2;
            ulen -= 2;
        } else if (ulen >= 3 && memcmp(u, "/./", 3) == 0) {
            u += 2;
            ulen -= 2;
        } else if (ulen >= 4 && memcmp(u, "/../", 4) == 0) {
            u += 3;
            ulen -= 3;
            if (nseg > 0) {
                rlen = seg_start[--nseg];
            }
        } else if (merge_slashes && ulen >= 2 && u[0] == '/' && u[1] == '/') {
            u += 1;
            ulen -= 1;
        } else {
            const char *slash = ulen > 1 ? memchr(u + 1, '/', ulen - 1) : NULL;
            size_t n = slash ? (size_t)(slash - u) : ulen;
            seg_start[nseg++] = rlen;
            memcpy(res + rlen, u, n);
            rlen += n;
            u += n;
            ulen -= n;
        }
    }
    res[rlen] = '\0';
    snprintf(out, outlen, "%s", res);
    free(seg_start);
    free(res);
    free(dec);
}

bool
sl_kong_migrate_path(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in);
    bool plain = true;
    for (size_t i = 0; i < len && plain; i++) {
        char c = in[i];
        plain = is_digit(c) || is_alpha(c) || strchr(".-_~/%", c) != NULL;
    }
    if (plain) {
        if (outlen < len + 1) {
            return false;
        }
        sl_kong_normalize_path(in, true, out, outlen);
        return true;
    }
    if (outlen < len + 2) {
        return false;
    }
    size_t w = 0;
    out[w++] = '~';
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && is_xdigit(in[i + 1]) && is_xdigit(in[i + 2])) {
            int c = hexval(in[i + 1]) * 16 + hexval(in[i + 2]);
            if (is_reserved(c)) {
                out[w++] = '%';
                out[w++] = (char)toupper((unsigned char)in[i + 1]);
                out[w++] = (char)toupper((unsigned char)in[i + 2]);
            } else {
                if (c != 0 && strchr(".^-{}\\|", c) != NULL) {
                    out[w++] = '\\';
                }
                out[w++] = (char)c;
            }
            i += 2;
        } else {
            out[w++] = in[i];
        }
    }
    out[w] = '\0';
    return true;
}

int
sl_kong_url_parse(const char *url, char *buf, size_t buflen, struct sl_kong_url *out)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(url);
    if (len == 0 || buflen < len + 16) {
        return -1;
    }
    /* buf holds: the scheme, the authority and the path, each NUL-terminated */
    char *w = buf;
    const char *u = url;
    size_t ulen = len;

    /* scheme: ^([%w][%w%+%-%.]*)%: */
    if (ulen > 0 && (is_alpha(u[0]) || is_digit(u[0]))) {
        size_t i = 1;
        while (i < ulen &&
               (is_alpha(u[i]) || is_digit(u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.')) {
            i++;
        }
        if (i < ulen && u[i] == ':') {
            memcpy(w, u, i);
            w[i] = '\0';
            out->scheme = w;
            w += i + 1;
            u += i + 1;
            ulen -= i + 1;
        }
    }
    /* authority: ^//([^/]*) */
    char *authority = NULL;
    if (ulen >= 2 && u[0] == '/' && u[1] == '/') {
        size_t i = 2;
        while (i < ulen && u[i] != '/') {
            i++;
        }
        memcpy(w, u + 2, i - 2);
        w[i - 2] = '\0';
        authority = w;
        w += i - 1;
        u += i;
        ulen -= i;
    }
    /* the rest, minus #fragment, ?query and ;params, is the path */
    size_t plen = ulen;
    const char *hash = memchr(u, '#', plen);
    if (hash != NULL) {
        plen = (size_t)(hash - u);
    }
    const char *q = memchr(u, '?', plen);
    if (q != NULL) {
        plen = (size_t)(q - u);
    }
    const char *semi = memchr(u, ';', plen);
    if (semi != NULL) {
        plen = (size_t)(semi - u);
    }
    if (plen > 0) {
        memcpy(w, u, plen);
        w[plen] = '\0';
        out->path = w;
        w += plen + 1;
    }
    if (authority != NULL) {
        char *a = authority;
        char *at = strchr(a, '@');
        if (at != NULL) {
            a = at + 1; /* userinfo is dropped */
        }
        /* port: ":([^:%]]*)$" */
        char *colon = strrchr(a, ':');
        if (colon != NULL && strchr(colon, ']') == NULL) {
            *colon = '\0';
            out->port = colon + 1;
        }
        if (*a != '\0') {
            size_t alen = strlen(a);
            if (alen > 2 && a[0] == '[' && a[alen - 1] == ']') {
                a[alen - 1] = '\0';
                a++;
            }
            out->host = a;
        }
    }
    return 0;
}
