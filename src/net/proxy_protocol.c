/* SPDX-License-Identifier: Apache-2.0 */
/* PROXY protocol v1 and v2 headers (proxy_protocol.h). Strict where the specification is: a v1
 * line is one CRLF-terminated line of at most 107 bytes with single spaces between its fields,
 * addresses of the announced family and decimal ports without leading zeros; a v2 header has the
 * 12-byte signature, version 2, command LOCAL or PROXY, a known family and a length that holds its
 * addresses. TLVs are skipped, as the specification allows. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "net/proxy_protocol.h"

static const char v2_signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                      '\n', 'Q',  'U',  'I',  'T',  '\n'};
static const char v1_signature[6] = {'P', 'R', 'O', 'X', 'Y', ' '};

/* True when the <len> bytes at <p> equal the start of <sig> (as much of it as there is). */
static bool
begins(const char *p, size_t len, const char *sig, size_t siglen)
{
    return memcmp(p, sig, len < siglen ? len : siglen) == 0;
}

/* A field of a v1 line: <p,len> with no NUL. */
struct field {
    const char *p;
    size_t len;
};

/* Splits <line> (no CRLF) at single spaces into at most <max> fields. Returns the count, or -1 for
 * an empty field (two spaces, a leading or trailing one) or more than <max> fields. */
static int
split_fields(const char *line, size_t len, struct field *f, int max)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ' ') {
            continue;
        }
        if (i == start || n == max) {
            return -1;
        }
        f[n++] = (struct field){line + start, i - start};
        start = i + 1;
    }
    return n;
}

/* An address of <family> in text form into <out> (INET6_ADDRSTRLEN bytes). */
static bool
parse_ip(struct field f, int family, char *out)
{
    unsigned char bin[sizeof(struct in6_addr)];
    if (f.len == 0 || f.len >= INET6_ADDRSTRLEN) {
        return false;
    }
    memcpy(out, f.p, f.len);
    out[f.len] = '\0';
    return inet_pton(family, out, bin) == 1;
}

/* A port: 0..65535 in decimal, no sign, no leading zero. */
static bool
parse_port(struct field f, uint16_t *out)
{
    if (f.len == 0 || f.len > 5 || (f.len > 1 && f.p[0] == '0')) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < f.len; i++) {
        if (f.p[i] < '0' || f.p[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(f.p[i] - '0');
    }
    if (v > 65535) {
        return false;
    }
    *out = (uint16_t)v;
    return true;
}

static ssize_t
parse_v1(const char *buf, size_t len, struct sl_proxy_protocol *out)
{
    /* 107 bytes with the CRLF: the CR is at index 105 at the latest. */
    const size_t cr_max = SL_PROXY_PROTOCOL_V1_MAX - 2;
    size_t limit = len <= cr_max ? len : cr_max + 1;
    size_t cr = 0;
    for (size_t i = sizeof(v1_signature); i < limit; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r') {
            cr = i;
            break;
        }
        if (c < 0x20 || c > 0x7e) {
            return -1; /* LF alone, NUL, controls, high bytes */
        }
    }
    if (cr == 0) {
        return len <= cr_max ? 0 : -1;
    }
    if (cr + 1 == len) {
        return 0; /* the LF is still to come */
    }
    if (buf[cr + 1] != '\n') {
        return -1;
    }
    const char *line = buf + sizeof(v1_signature);
    size_t line_len = cr - sizeof(v1_signature);
    memset(out, 0, sizeof(*out));
    out->version = 1;
    if (line_len >= 7 && memcmp(line, "UNKNOWN", 7) == 0 && (line_len == 7 || line[7] == ' ')) {
        return (ssize_t)(cr + 2); /* the rest of an UNKNOWN line is to be ignored */
    }
    struct field f[5];
    if (split_fields(line, line_len, f, 5) != 5 || f[0].len != 4 ||
        (memcmp(f[0].p, "TCP4", 4) != 0 && memcmp(f[0].p, "TCP6", 4) != 0)) {
        return -1;
    }
    out->family = f[0].p[3] == '4' ? AF_INET : AF_INET6;
    if (!parse_ip(f[1], out->family, out->src_ip) || !parse_ip(f[2], out->family, out->dst_ip) ||
        !parse_port(f[3], &out->src_port) || !parse_port(f[4], &out->dst_port)) {
        return -1;
    }
    out->has_addr = true;
    return (ssize_t)(cr + 2);
}

enum {
    V2_HEAD = 16,
    V2_CMD_LOCAL = 0x0,
    V2_CMD_PROXY = 0x1,
    V2_AF_UNSPEC = 0x0,
    V2_AF_INET = 0x1,
    V2_AF_INET6 = 0x2,
    V2_AF_UNIX = 0x3,
    V2_INET_LEN = 12,     /* two IPv4 addresses and two ports */
    V2_INET6_LEN = 36,    /* two IPv6 addresses and two ports */
    V2_UNIX_LEN = 216,    /* two 108-byte paths */
    V2_TRANSPORT_MAX = 2, /* UNSPEC, STREAM, DGRAM */
};

static ssize_t
parse_v2(const char *buf, size_t len, struct sl_proxy_protocol *out)
{
    const unsigned char *u = (const unsigned char *)buf;
    if (len > 12 &&
        (u[12] >> 4 != 2 || ((u[12] & 0xF) != V2_CMD_LOCAL && (u[12] & 0xF) != V2_CMD_PROXY))) {
        return -1;
    }
    if (len > 13 && ((u[13] >> 4) > V2_AF_UNIX || (u[13] & 0xF) > V2_TRANSPORT_MAX)) {
        return -1;
    }
    if (len < V2_HEAD) {
        return 0;
    }
    size_t body = (size_t)u[14] << 8 | u[15];
    size_t total = V2_HEAD + body;
    int af = u[13] >> 4;
    size_t need = af == V2_AF_INET    ? V2_INET_LEN
                  : af == V2_AF_INET6 ? V2_INET6_LEN
                  : af == V2_AF_UNIX  ? V2_UNIX_LEN
                                      : 0;
    bool proxy = (u[12] & 0xF) == V2_CMD_PROXY;
    if (total > SL_PROXY_PROTOCOL_MAX || (proxy && body < need)) {
        return -1;
    }
    if (len < total) {
        return 0;
    }
    memset(out, 0, sizeof(*out));
    out->version = 2;
    const unsigned char *a = u + V2_HEAD;
    if (proxy && af == V2_AF_INET) {
        out->family = AF_INET;
        inet_ntop(AF_INET, a, out->src_ip, sizeof(out->src_ip));
        inet_ntop(AF_INET, a + 4, out->dst_ip, sizeof(out->dst_ip));
        out->src_port = (uint16_t)(a[8] << 8 | a[9]);
        out->dst_port = (uint16_t)(a[10] << 8 | a[11]);
        out->has_addr = true;
    } else if (proxy && af == V2_AF_INET6) {
        out->family = AF_INET6;
        inet_ntop(AF_INET6, a, out->src_ip, sizeof(out->src_ip));
        inet_ntop(AF_INET6, a + 16, out->dst_ip, sizeof(out->dst_ip));
        out->src_port = (uint16_t)(a[32] << 8 | a[33]);
        out->dst_port = (uint16_t)(a[34] << 8 | a[35]);
        out->has_addr = true;
    }
    /* LOCAL (the balancer's own health check), UNSPEC and UNIX: no client address to take. */
    return (ssize_t)total;
}

ssize_t
sl_proxy_protocol_parse(const char *buf, size_t len, struct sl_proxy_protocol *out)
{
    if (len == 0) {
        return 0;
    }
    if (begins(buf, len, v2_signature, sizeof(v2_signature))) {
        return len < sizeof(v2_signature) ? 0 : parse_v2(buf, len, out);
    }
    if (begins(buf, len, v1_signature, sizeof(v1_signature))) {
        return len < sizeof(v1_signature) ? 0 : parse_v1(buf, len, out);
    }
    return -1;
}

void
sl_proxy_protocol_shown(const char *buf, size_t len, char *out, size_t outlen)
{
    size_t k = 0;
    for (; outlen > 0 && k < len && k < outlen - 1; k++) {
        out[k] = buf[k] >= 0x20 && buf[k] < 0x7f ? buf[k] : '.';
    }
    if (outlen > 0) {
        out[k] = '\0';
    }
}
