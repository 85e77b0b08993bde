/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the resolver's files (dns.c lookups, dns_settings.c, dns_hosts.c, dns_answer.c);
 * not for other subsystems, which use net/dns.h. */
#ifndef SL_NET_DNS_INTERNAL_H
#define SL_NET_DNS_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>

#include "net/dns.h"

/* The settings in force (sl_dns_configure; Kong's defaults until then). */
extern struct sl_dns_settings sl_dns_cfg;

/* Appends an address (at most SL_DNS_MAX_ADDRS; more are dropped) with <port_be> (network order;
 * 0: the service's port applies) and <weight> (0 counts as 1, as Kong's SRV weights). */
void sl_dns_addrs_add(struct sl_addrs *a, const void *sa, socklen_t len, uint16_t port_be,
                      uint32_t weight);
void sl_dns_addrs_add_v4(struct sl_addrs *a, const struct in_addr *ip, uint16_t port_be,
                         uint32_t weight);
void sl_dns_addrs_add_v6(struct sl_addrs *a, const struct in6_addr *ip, uint16_t port_be,
                         uint32_t weight);

/* dns.c: a reload committed sl_dns_cfg.servers; when they differ from the channel's, the channel
 * takes them at once (lookups in flight are cancelled and asked again of the new servers), or at
 * the next tick if c-ares still refuses. Control thread. */
void sl_dns_servers_changed(void);

/* dns_hosts.c: sets the hosts table aside so the next lookup reads the file again; unstage then
 * keeps the new table (dropping the old) or goes back to the old one. */
void sl_dns_hosts_stage(void);
void sl_dns_hosts_unstage(bool keep_new);

/* One SRV record kept from an answer. */
struct sl_dns_srv {
    char host[256];
    uint16_t port; /* host order; 0: the service's port */
    uint16_t weight;
};

/* The A (or AAAA with <v6>) records of an answer into <out> (ports 0, weights 1) and their
 * smallest TTL into *ttl. Returns ARES_SUCCESS, ARES_ENODATA (no such record), or c-ares' parse
 * error for a malformed answer. */
int sl_dns_answer_addrs(const unsigned char *abuf, int alen, bool v6, struct sl_addrs *out,
                        int *ttl);
/* The SRV records of the lowest priority value (at most <max>) into <out>, and the smallest SRV
 * TTL into *ttl (-1 when unknown). ARES_ENODATA when no usable record. */
int sl_dns_answer_srv(const unsigned char *abuf, int alen, struct sl_dns_srv *out, size_t max,
                      size_t *n, int *ttl);

#endif
