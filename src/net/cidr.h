/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4/IPv6 addresses and CIDR ranges: trusted_ips, real-IP extraction, later ip-restriction. */
#ifndef SL_NET_CIDR_H
#define SL_NET_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sl_cidr {
    int family;         /* AF_INET or AF_INET6 */
    uint8_t addr[16];   /* network byte order; IPv4 in the first 4 bytes, the rest zero */
    uint8_t prefix_len; /* 0..32 or 0..128 */
};

/* Parses "1.2.3.4", "1.2.3.0/24", "::1", "2001:db8::/32" (<len> bytes at <s>, no NUL needed). An
 * address without a prefix is a /32 or /128. Host bits beyond the prefix are cleared. An
 * IPv4-mapped IPv6 range whose prefix is at least 96 ("::ffff:10.0.0.0/104") is stored as the IPv4
 * range it denotes (10.0.0.0/8), so it matches IPv4 clients. The prefix is decimal without leading
 * zeros. Returns 0, or -1 if invalid. */
int sl_cidr_parse(const char *s, size_t len, struct sl_cidr *out);

/* True when <sa> (AF_INET or AF_INET6; IPv4-mapped IPv6 is treated as IPv4) is inside <c>. Families
 * never cross otherwise: an IPv4 client does not match "::/0" (nginx's rule). */
bool sl_cidr_match_sockaddr(const struct sl_cidr *c, const struct sockaddr *sa);
/* True when the textual IP <ip,len> ("1.2.3.4", "::1", "[::1]", "::ffff:1.2.3.4") is inside any of
 * <list>. False for an invalid address. */
bool sl_cidr_list_match_text(const struct sl_cidr *list, size_t n, const char *ip, size_t len);
bool sl_cidr_list_match_sockaddr(const struct sl_cidr *list, size_t n, const struct sockaddr *sa);

/* Formats the address of <sa> (no port) into <buf>: dotted IPv4, RFC 5952 IPv6 (a mapped address
 * stays "::ffff:a.b.c.d"), "unix:" for AF_UNIX (as nginx's $remote_addr). Returns its length, or -1
 * for another family or a too small buffer. */
int sl_sockaddr_ip(const struct sockaddr *sa, char *buf, size_t len);

#endif
