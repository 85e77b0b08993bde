/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/net/proxy_protocol.c: v1 lines and v2 headers, valid and refused, at every
 * split point, and the limits at N and N+1; and of proxy_protocol_recv.c over a socket pair. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/proxy_protocol.h"

static const char V2SIG[] = "\r\n\r\n\0\r\nQUIT\n";

/* Parses <buf,len>, and checks that every shorter prefix of a complete header asks for more. */
static ssize_t
parse(const char *buf, size_t len, struct sl_proxy_protocol *pp)
{
    ssize_t n = sl_proxy_protocol_parse(buf, len, pp);
    if (n > 0) {
        for (size_t k = 0; k < (size_t)n; k++) {
            struct sl_proxy_protocol tmp;
            cr_assert_eq(sl_proxy_protocol_parse(buf, k, &tmp), 0, "prefix of %zu bytes", k);
        }
    }
    return n;
}

static ssize_t
parse_str(const char *s, struct sl_proxy_protocol *pp)
{
    return parse(s, strlen(s), pp);
}

Test(proxy_protocol, v1_tcp4)
{
    struct sl_proxy_protocol pp;
    const char *s = "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n";
    ssize_t n = parse_str(s, &pp);
    cr_assert_eq(n, (ssize_t)strlen("PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n"));
    cr_assert_eq(pp.version, 1);
    cr_assert(pp.has_addr);
    cr_assert_eq(pp.family, AF_INET);
    cr_assert_str_eq(pp.src_ip, "192.0.2.10");
    cr_assert_str_eq(pp.dst_ip, "198.51.100.1");
    cr_assert_eq(pp.src_port, 56324);
    cr_assert_eq(pp.dst_port, 443);
}

Test(proxy_protocol, v1_tcp6_and_ports_at_the_bounds)
{
    struct sl_proxy_protocol pp;
    cr_assert_gt(parse_str("PROXY TCP6 2001:db8::1 ::1 0 65535\r\n", &pp), 0);
    cr_assert_eq(pp.family, AF_INET6);
    cr_assert_str_eq(pp.src_ip, "2001:db8::1");
    cr_assert_eq(pp.src_port, 0);
    cr_assert_eq(pp.dst_port, 65535);
}

Test(proxy_protocol, v1_unknown_keeps_the_peer)
{
    struct sl_proxy_protocol pp;
    cr_assert_eq(parse_str("PROXY UNKNOWN\r\n", &pp), 15);
    cr_assert_not(pp.has_addr);
    cr_assert_gt(parse_str("PROXY UNKNOWN ffff::1 ::1 1 2\r\n", &pp), 0);
    cr_assert_not(pp.has_addr);
}

Test(proxy_protocol, v1_refused)
{
    static const char *const bad[] = {
        "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\n",    /* LF alone */
        "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\rX",   /* CR without LF */
        "PROXY TCP4  192.0.2.10 198.51.100.1 56324 443\r\n", /* two spaces */
        "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443 \r\n", /* trailing space */
        "PROXY TCP4 192.0.2.10 198.51.100.1 56324\r\n",      /* a field short */
        "PROXY TCP4 192.0.2.10 198.51.100.1 1 2 3\r\n",      /* a field more */
        "PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n",       /* family mismatch */
        "PROXY TCP6 192.0.2.10 ::1 1 2\r\n",
        "PROXY TCP4 192.0.2.256 198.51.100.1 1 2\r\n",
        "PROXY TCP4 192.0.2.10 198.51.100.1 65536 2\r\n",
        "PROXY TCP4 192.0.2.10 198.51.100.1 01 2\r\n", /* leading zero */
        "PROXY TCP4 192.0.2.10 198.51.100.1 +1 2\r\n",
        "PROXY TCP5 192.0.2.10 198.51.100.1 1 2\r\n",
        "PROXY tcp4 192.0.2.10 198.51.100.1 1 2\r\n",
        "PROXY UNKNOWNX\r\n",
        "PROXY \r\n",
        "PROXYTCP4 192.0.2.10 198.51.100.1 1 2\r\n",
        "proxy TCP4 192.0.2.10 198.51.100.1 1 2\r\n",
        "GET / HTTP/1.1\r\n",
        "PROXY TCP4 192.0.2.10\t198.51.100.1 1 2\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sl_proxy_protocol pp;
        cr_assert_eq(sl_proxy_protocol_parse(bad[i], strlen(bad[i]), &pp), -1, "%s", bad[i]);
    }
    struct sl_proxy_protocol pp;
    const char nul[] = "PROXY TCP4 1.2.3.4\0";
    cr_assert_eq(sl_proxy_protocol_parse(nul, sizeof(nul) - 1, &pp), -1);
}

/* "PROXY UNKNOWN " padded with 'x' to a line of exactly <n> bytes, CRLF included. */
static char *
v1_line_of(size_t n)
{
    static char buf[256];
    memset(buf, 'x', sizeof(buf));
    memcpy(buf, "PROXY UNKNOWN ", 14);
    buf[n - 2] = '\r';
    buf[n - 1] = '\n';
    buf[n] = 'G';
    return buf;
}

Test(proxy_protocol, v1_line_limit_107_and_108)
{
    struct sl_proxy_protocol pp;
    cr_assert_eq(parse(v1_line_of(107), 108, &pp), 107);
    cr_assert_eq(sl_proxy_protocol_parse(v1_line_of(108), 109, &pp), -1);
    /* a line with no CR yet: more is needed up to 105 bytes, and 106 without a CR is too long */
    char *s = v1_line_of(200);
    cr_assert_eq(sl_proxy_protocol_parse(s, 105, &pp), 0);
    cr_assert_eq(sl_proxy_protocol_parse(s, 106, &pp), -1);
}

/* A v2 header: command <cmd>, family byte <fam>, <body> bytes of addresses and TLVs. */
static size_t
v2(char *out, int cmd, int fam, const unsigned char *body, size_t blen)
{
    memcpy(out, V2SIG, 12);
    out[12] = (char)(0x20 | cmd);
    out[13] = (char)fam;
    out[14] = (char)(blen >> 8);
    out[15] = (char)(blen & 0xFF);
    if (blen > 0) {
        memcpy(out + 16, body, blen); /* body may be NULL when empty (memcpy's contract) */
    }
    return 16 + blen;
}

Test(proxy_protocol, v2_inet_with_a_tlv)
{
    unsigned char body[12 + 7] = {
        192,  0,    2,    10,   198,  51,  100, 1,   0xDC, 0x04,
        0x01, 0xBB, 0x04, 0x00, 0x04, 't', 'e', 's', 't'}; /* PP2_TYPE_NOOP */
    char buf[64];
    size_t n = v2(buf, 1, 0x11, body, sizeof(body));
    struct sl_proxy_protocol pp;
    cr_assert_eq(parse(buf, n, &pp), (ssize_t)n);
    cr_assert_eq(pp.version, 2);
    cr_assert(pp.has_addr);
    cr_assert_str_eq(pp.src_ip, "192.0.2.10");
    cr_assert_str_eq(pp.dst_ip, "198.51.100.1");
    cr_assert_eq(pp.src_port, 56324);
    cr_assert_eq(pp.dst_port, 443);
}

Test(proxy_protocol, v2_inet6)
{
    unsigned char body[36] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1, [31] = 1, 0x00, 0x50, 0x1F, 0x90};
    char buf[64];
    size_t n = v2(buf, 1, 0x21, body, sizeof(body));
    struct sl_proxy_protocol pp;
    cr_assert_eq(parse(buf, n, &pp), (ssize_t)n);
    cr_assert_eq(pp.family, AF_INET6);
    cr_assert_str_eq(pp.src_ip, "2001:db8::1");
    cr_assert_str_eq(pp.dst_ip, "::1");
    cr_assert_eq(pp.src_port, 80);
    cr_assert_eq(pp.dst_port, 8080);
}

Test(proxy_protocol, v2_local_and_unspec_keep_the_peer)
{
    char buf[64];
    struct sl_proxy_protocol pp;
    size_t n = v2(buf, 0, 0x00, NULL, 0); /* LOCAL: the balancer's health check */
    cr_assert_eq(parse(buf, n, &pp), 16);
    cr_assert_not(pp.has_addr);
    unsigned char body[12] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
    n = v2(buf, 0, 0x11, body, sizeof(body)); /* LOCAL ignores any address */
    cr_assert_eq(parse(buf, n, &pp), 28);
    cr_assert_not(pp.has_addr);
    n = v2(buf, 1, 0x00, NULL, 0); /* PROXY, UNSPEC */
    cr_assert_eq(parse(buf, n, &pp), 16);
    cr_assert_not(pp.has_addr);
}

Test(proxy_protocol, v2_refused)
{
    unsigned char body[36] = {0};
    char buf[64];
    struct sl_proxy_protocol pp;
    size_t n = v2(buf, 1, 0x11, body, 11); /* too short for two IPv4 addresses */
    cr_assert_eq(sl_proxy_protocol_parse(buf, n, &pp), -1);
    n = v2(buf, 1, 0x21, body, 35);
    cr_assert_eq(sl_proxy_protocol_parse(buf, n, &pp), -1);
    n = v2(buf, 2, 0x11, body, 12); /* command 2 */
    cr_assert_eq(sl_proxy_protocol_parse(buf, n, &pp), -1);
    n = v2(buf, 1, 0x41, body, 12); /* family 4 */
    cr_assert_eq(sl_proxy_protocol_parse(buf, n, &pp), -1);
    n = v2(buf, 1, 0x13, body, 12); /* transport 3 */
    cr_assert_eq(sl_proxy_protocol_parse(buf, n, &pp), -1);
    n = v2(buf, 1, 0x11, body, 12);
    buf[12] = 0x11; /* version 1 in a v2 header */
    cr_assert_eq(sl_proxy_protocol_parse(buf, n, &pp), -1);
    cr_assert_eq(sl_proxy_protocol_parse(buf, 13, &pp), -1, "refused as soon as the byte is seen");
    memcpy(buf, V2SIG, 12);
    buf[11] = 'X'; /* signature */
    cr_assert_eq(sl_proxy_protocol_parse(buf, 12, &pp), -1);
}

Test(proxy_protocol, v2_length_limit)
{
    static char buf[SL_PROXY_PROTOCOL_MAX + 32];
    static unsigned char body[SL_PROXY_PROTOCOL_MAX];
    struct sl_proxy_protocol pp;
    size_t n = v2(buf, 1, 0x11, body, SL_PROXY_PROTOCOL_MAX - 16);
    cr_assert_eq(sl_proxy_protocol_parse(buf, n, &pp), (ssize_t)SL_PROXY_PROTOCOL_MAX);
    cr_assert_eq(sl_proxy_protocol_parse(buf, 16, &pp), 0, "the rest is still to come");
    n = v2(buf, 1, 0x11, body, SL_PROXY_PROTOCOL_MAX - 15);
    cr_assert_eq(sl_proxy_protocol_parse(buf, 16, &pp), -1, "refused from the length alone");
}

Test(proxy_protocol, empty_and_partial_signatures_ask_for_more)
{
    struct sl_proxy_protocol pp;
    cr_assert_eq(sl_proxy_protocol_parse("", 0, &pp), 0);
    cr_assert_eq(sl_proxy_protocol_parse("PRO", 3, &pp), 0);
    cr_assert_eq(sl_proxy_protocol_parse("\r\n\r\n\0", 5, &pp), 0);
    cr_assert_eq(sl_proxy_protocol_parse("PRX", 3, &pp), -1);
    cr_assert_eq(sl_proxy_protocol_parse("\r\n\r\r", 4, &pp), -1);
}

/* ---- reading from a socket ---------------------------------------------------------------- */

static void
nonblocking_pair(int sv[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

/* What is left in the socket after the header is exactly <want>; closes the pair. */
static void
expect_rest_and_close(int sv[2], const char *want)
{
    char rest[64];
    ssize_t n = read(sv[1], rest, sizeof(rest));
    cr_assert_eq(n, (ssize_t)strlen(want));
    cr_assert(memcmp(rest, want, strlen(want)) == 0);
    close(sv[0]);
    close(sv[1]);
}

/* The header is taken from the socket and nothing after it: the next reader (a TLS handshake)
 * finds its first byte. */
Test(proxy_protocol, recv_takes_the_header_only)
{
    int sv[2];
    nonblocking_pair(sv);
    const char msg[] = "PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n\x16\x03\x01rest";
    cr_assert_eq(write(sv[0], msg, sizeof(msg) - 1), (ssize_t)sizeof(msg) - 1);
    struct sl_proxy_protocol_reader r = {.have = 0};
    struct sl_proxy_protocol pp;
    cr_assert_eq(sl_proxy_protocol_recv(sv[1], &r, &pp), 1);
    cr_assert_str_eq(pp.src_ip, "203.0.113.7");
    expect_rest_and_close(sv, "\x16\x03\x01rest");
}

/* A header that arrives in pieces: each piece is taken (so a level-triggered watcher is not woken
 * again for it), then the end completes it. */
Test(proxy_protocol, recv_takes_a_partial_header_and_completes_it)
{
    int sv[2];
    nonblocking_pair(sv);
    struct sl_proxy_protocol_reader r = {.have = 0};
    struct sl_proxy_protocol pp;
    cr_assert_eq(sl_proxy_protocol_recv(sv[1], &r, &pp), 0); /* nothing yet */
    cr_assert_eq(write(sv[0], "PROXY TCP6 2001:db8::7 ", 23), 23);
    cr_assert_eq(sl_proxy_protocol_recv(sv[1], &r, &pp), 0);
    cr_assert_eq(r.have, 23);
    char probe;
    cr_assert_eq(recv(sv[1], &probe, 1, MSG_PEEK), -1); /* all taken */
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(write(sv[0], "2001:db8::1 1 2\r\nGET", 20), 20);
    cr_assert_eq(sl_proxy_protocol_recv(sv[1], &r, &pp), 1);
    cr_assert_str_eq(pp.src_ip, "2001:db8::7");
    expect_rest_and_close(sv, "GET");
}

Test(proxy_protocol, recv_refuses_a_broken_header_and_reports_the_end)
{
    int sv[2];
    nonblocking_pair(sv);
    struct sl_proxy_protocol_reader r = {.have = 0};
    struct sl_proxy_protocol pp;
    cr_assert_eq(write(sv[0], "GET / HTTP/1.1\r\n", 16), 16);
    cr_assert_eq(sl_proxy_protocol_recv(sv[1], &r, &pp), -1);
    cr_assert_eq(errno, EPROTO);
    char shown[8];
    sl_proxy_protocol_shown(r.buf, r.have, shown, sizeof(shown));
    cr_assert_str_eq(shown, "GET / H");
    close(sv[0]);
    close(sv[1]);

    nonblocking_pair(sv);
    struct sl_proxy_protocol_reader r2 = {.have = 0};
    cr_assert_eq(write(sv[0], "PROXY ", 6), 6);
    cr_assert_eq(sl_proxy_protocol_recv(sv[1], &r2, &pp), 0);
    close(sv[0]); /* the peer goes before the header ends */
    cr_assert_eq(sl_proxy_protocol_recv(sv[1], &r2, &pp), -1);
    cr_assert_eq(errno, 0);
    close(sv[1]);
}

Test(proxy_protocol, shown_replaces_what_is_not_printable)
{
    char out[16];
    sl_proxy_protocol_shown("\r\n\r\n\x00\r\nQUIT\n", 12, out, sizeof(out));
    cr_assert_str_eq(out, ".......QUIT.");
    sl_proxy_protocol_shown("abc", 3, out, 1);
    cr_assert_str_eq(out, "");
}
