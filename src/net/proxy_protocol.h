/* SPDX-License-Identifier: Apache-2.0 */
/* The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load balancer
 * sends first on a connection to a listener with the `proxy_protocol` flag: the original client's
 * address, which `real_ip_header = proxy_protocol` then makes the client address (kong.md §3.4,
 * nginx's realip module). A pure parser: no I/O, no allocation. */
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

#endif
