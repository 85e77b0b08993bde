/* SPDX-License-Identifier: Apache-2.0 */
/* The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load balancer
 * sends first on a connection to a listener with the `proxy_protocol` flag: the original client's
 * address, which `real_ip_header = proxy_protocol` then makes the client address (kong.md §3.4,
 * nginx's realip module). sl_proxy_protocol_parse is a pure parser (no I/O, no allocation);
 * sl_proxy_protocol_recv (proxy_protocol_recv.c) reads a header from a socket with it. */
#ifndef SL_NET_PROXY_PROTOCOL_H
#define SL_NET_PROXY_PROTOCOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest header accepted: version 1 is at most 107 bytes by its specification; version 2 is
 * 16 bytes plus its TLVs, which load balancers keep small (AWS: a VPC endpoint id). nginx reads the
 * header into a 1k buffer; 4k leaves room without letting a peer hold more. */
#define SL_PROXY_PROTOCOL_MAX 4096
#define SL_PROXY_PROTOCOL_V1_MAX 107

struct sl_proxy_protocol {
    int version;   /* 1 or 2 */
    bool has_addr; /* false for v1 UNKNOWN, v2 LOCAL and v2 UNSPEC/UNIX: the peer stands */
    int family;    /* AF_INET or AF_INET6 when has_addr */
    char src_ip[INET6_ADDRSTRLEN];
    uint16_t src_port;
    char dst_ip[INET6_ADDRSTRLEN];
    uint16_t dst_port;
};

/* Parses the header at the start of <buf,len>. Returns the header's length (the first byte after
 * it is the application's), 0 when <len> bytes are a valid beginning that needs more, or -1 when
 * they cannot begin a valid header (not a signature, malformed, or longer than the limits). A
 * prefix of a valid header is never -1, and the answer does not depend on how bytes were split. */
ssize_t sl_proxy_protocol_parse(const char *buf, size_t len, struct sl_proxy_protocol *out);

/* The first bytes of a broken header as the error log shows them ("broken header: \"...\""):
 * at most <outlen> - 1 of <buf,len>, every byte outside 0x20-0x7e as '.'. */
void sl_proxy_protocol_shown(const char *buf, size_t len, char *out, size_t outlen);

/* A header being read from a socket: the bytes taken so far (all of them header bytes). */
struct sl_proxy_protocol_reader {
    char buf[SL_PROXY_PROTOCOL_MAX];
    size_t have;
};

/* Reads the PROXY protocol header at the start of the non-blocking socket <fd> without taking a
 * byte past it, so what follows (a TLS ClientHello, a request) is still the socket's to read: it
 * peeks, parses, and takes from the socket only bytes that belong to the header (when the header
 * is incomplete, every byte peeked does, so a level-triggered watcher is not woken again for
 * them). Returns 1 when the header is complete (<out> filled), 0 when more bytes are needed, -1
 * when the bytes cannot begin a header (errno EPROTO; <r> holds them for the log), or the peer
 * closed (errno 0) or the socket failed (its errno). */
int sl_proxy_protocol_recv(int fd, struct sl_proxy_protocol_reader *r,
                           struct sl_proxy_protocol *out);

#endif
