/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4/IPv6 address and CIDR parsing and matching (src/net/cidr.h). Pure functions over caller
 * memory: no allocation, no locale, safe from every thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "net/cidr.h"

/* Longest text we accept for an address with a prefix: a full IPv6 with an embedded IPv4 and "/128"
 * fits in 50 bytes; anything longer is not an address. */
#define CIDR_TEXT_MAX 64

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool
is_v4mapped(const uint8_t a[16])
{
    return memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0;
}

/* Clears the bits after <prefix> in the first <bytes> bytes of <a>. */
static void
mask_addr(uint8_t *a, size_t bytes, unsigned prefix)
{
    for (size_t i = 0; i < bytes; i++) {
        unsigned bit = (unsigned)i * 8;
        if (bit >= prefix) {
            a[i] = 0;
        } else if (prefix - bit < 8) {
            a[i] &= (uint8_t)(0xffu << (8 - (prefix - bit)));
        }
    }
}

static bool
prefix_match(const uint8_t *net, const uint8_t *addr, unsigned prefix)
{
    unsigned full = prefix / 8;
    unsigned rest = prefix % 8;
    if (memcmp(net, addr, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t m = (uint8_t)(0xffu << (8 - rest));
    return (net[full] & m) == (addr[full] & m);
}

/* Parses a decimal prefix length: digits only, no leading zero except "0" itself, at most <max>. */
static int
parse_prefix(const char *s, size_t len, unsigned max, unsigned *out)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0')) {
        return -1;
    }
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses a bare address (no prefix) into <family> and <addr>. */
static int
parse_addr(const char *s, size_t len, int *family, uint8_t addr[16])
{
    char tmp[CIDR_TEXT_MAX];
    if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL) {
        return -1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(addr, 0, 16);
    if (memchr(s, ':', len) == NULL) {
        if (inet_pton(AF_INET, tmp, addr) != 1) {
            return -1;
        }
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, addr) != 1) {
        return -1;
    }
    *family = AF_INET6;
    return 0;
}

int
sl_cidr_parse(const char *s, size_t len, struct sl_cidr *out)
{
    if (s == NULL || out == NULL) {
        return -1;
    }
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    struct sl_cidr c;
    memset(&c, 0, sizeof(c));
    if (parse_addr(s, alen, &c.family, c.addr) != 0) {
        return -1;
    }
    unsigned max = c.family == AF_INET ? 32 : 128;
    unsigned prefix = max;
    if (slash != NULL && parse_prefix(slash + 1, len - alen - 1, max, &prefix) != 0) {
        return -1;
    }
    if (c.family == AF_INET6 && prefix >= 96 && is_v4mapped(c.addr)) {
        /* ::ffff:a.b.c.d/n denotes IPv4 addresses; store it as such so that it matches them */
        memmove(c.addr, c.addr + 12, 4);
        memset(c.addr + 4, 0, 12);
        c.family = AF_INET;
        prefix -= 96;
    }
    c.prefix_len = (uint8_t)prefix;
    mask_addr(c.addr, c.family == AF_INET ? 4 : 16, prefix);
    *out = c;
    return 0;
}

/* Matches a (family, address) pair, the address already unmapped to IPv4 when it was mapped. */
static bool
match_addr(const struct sl_cidr *c, int family, const uint8_t addr[16])
{
    if (c->family != family) {
        return false;
    }
    return prefix_match(c->addr, addr, c->prefix_len);
}

/* Extracts the address of <sa>, unmapping IPv4-mapped IPv6. Returns 0, or -1 for another family. */
static int
sockaddr_addr(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
    if (sa == NULL) {
        return -1;
    }
    memset(addr, 0, 16);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        memcpy(addr, &sin->sin_addr, 4);
        *family = AF_INET;
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        memcpy(addr, &sin6->sin6_addr, 16);
        *family = AF_INET6;
        if (is_v4mapped(addr)) {
            memmove(addr, addr + 12, 4);
            memset(addr + 4, 0, 12);
            *family = AF_INET;
        }
        return 0;
    }
    return -1;
}

bool
sl_cidr_match_sockaddr(const struct sl_cidr *c, const struct sockaddr *sa)
{
    int family;
    uint8_t addr[16];
    if (c == NULL || sockaddr_addr(sa, &family, addr) != 0) {
        return false;
    }
    return match_addr(c, family, addr);
}

bool
sl_cidr_list_match_sockaddr(const struct sl_cidr *list, size_t n, const struct sockaddr *sa)
{
    int family;
    uint8_t addr[16];
    if (list == NULL || sockaddr_addr(sa, &family, addr) != 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (match_addr(&list[i], family, addr)) {
            return true;
        }
    }
    return false;
}

bool
sl_cidr_list_match_text(const struct sl_cidr *list, size_t n, const char *ip, size_t len)
{
    if (list == NULL || ip == NULL) {
        return false;
    }
    if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']') {
        ip++;
        len -= 2;
    }
    int family;
    uint8_t addr[16];
    if (parse_addr(ip, len, &family, addr) != 0) {
        return false;
    }
    if (family == AF_INET6 && is_v4mapped(addr)) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        family = AF_INET;
    }
    for (size_t i = 0; i < n; i++) {
        if (match_addr(&list[i], family, addr)) {
            return true;
        }
    }
    return false;
}

int
sl_sockaddr_ip(const struct sockaddr *sa, char *buf, size_t len)
{
    if (sa == NULL || buf == NULL || len == 0) {
        return -1;
    }
    const char *r = NULL;
    if (sa->sa_family == AF_INET) {
        r = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
    } else if (sa->sa_family == AF_INET6) {
        r = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
    } else if (sa->sa_family == AF_UNIX) {
        if (len < sizeof("unix:")) {
            return -1;
        }
        memcpy(buf, "unix:", sizeof("unix:"));
        return (int)(sizeof("unix:") - 1);
    }
    if (r == NULL) {
        return -1;
    }
    return (int)strlen(buf);
}
