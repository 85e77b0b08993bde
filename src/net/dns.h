/* SPDX-License-Identifier: Apache-2.0 */
/* Name resolution for service hosts (hardening.md §13, Kong's dns_* settings). IP literals and
 * hosts-file names are answered at once and never change. Every other name referenced by the
 * configuration is an entry resolved with c-ares on the control loop and refreshed when its TTL
 * runs out; workers read an entry's current addresses under its lock and never block on a lookup.
 *
 * Threads: sl_dns_configure before threads start; sl_dns_start, sl_dns_acquire and sl_dns_stop on
 * the control thread; sl_dns_read and sl_dns_release from any thread. Design notes:
 * docs/internals/dns.md. */
#ifndef SL_NET_DNS_H
#define SL_NET_DNS_H

#include <ev.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_DNS_MAX_ADDRS 8
#define SL_DNS_MAX_ORDER 8
#define SL_DNS_MAX_SERVERS 16 /* dns_resolver entries */

/* Up to SL_DNS_MAX_ADDRS addresses; an IPv4 address sits in a sockaddr_in6-sized slot. Ports are
 * in the addresses (an SRV record's own port, or the service's). */
struct sl_addrs {
    size_t n;
    socklen_t len[SL_DNS_MAX_ADDRS];
    uint32_t weight[SL_DNS_MAX_ADDRS]; /* relative shares (SRV weights); 1 for A/AAAA */
    struct sockaddr_in6 addr[SL_DNS_MAX_ADDRS];
};

/* The address the <counter>-th request starts at: weighted round-robin over <a> (plain round-robin
 * when the weights are equal), as Kong's balancer spreads a name's records. Exact shares over each
 * cycle of sum(weights)/gcd(weights) requests. */
size_t sl_addrs_pick(const struct sl_addrs *a, size_t counter);
/* Gives <port_be> (network order) to the addresses of <a> without a port of their own (every one
 * but SRV answers'). */
void sl_addrs_default_port(struct sl_addrs *a, uint16_t port_be);
/* The port of address <i> of <a>, host order. */
static inline uint16_t
sl_addrs_port(const struct sl_addrs *a, size_t i)
{
    return ntohs(a->addr[i].sin6_port); /* sin_port sits at the same offset */
}

/* dns_order tokens (Kong): LAST is the type that last answered for the name. CNAME chains are
 * followed inside A/AAAA/SRV answers, so CNAME asks nothing of its own. */
enum sl_dns_type { SL_DNS_LAST = 1, SL_DNS_SRV, SL_DNS_A, SL_DNS_AAAA, SL_DNS_CNAME };

struct sl_dns_settings {
    char servers[1024];   /* c-ares form "ip:port,[ip6]:port"; empty: /etc/resolv.conf */
    char hostsfile[1024]; /* read once, at the first lookup */
    uint8_t order[SL_DNS_MAX_ORDER];
    size_t norder;
    int valid_ttl;     /* seconds replacing every record's TTL; -1: the records' own */
    int stale_ttl;     /* seconds an expired answer is served while refreshes fail */
    int not_found_ttl; /* seconds before NXDOMAIN / an empty answer is asked again */
    int error_ttl;     /* seconds before a failed query is asked again */
};

enum sl_dns_state {
    SL_DNS_PENDING = 0, /* the first answer has not arrived */
    SL_DNS_OK,          /* addresses to use (possibly stale) */
    SL_DNS_NOT_FOUND,   /* NXDOMAIN or no record: 503 "name resolution failed" (Kong) */
    SL_DNS_ERROR,       /* the name servers failed, nothing stale to serve: 500 (Kong) */
};

struct sl_dns_name;

/* Parses Kong's dns_order ("LAST,SRV,A,CNAME") into <out>. -1 with a message in <err>. */
int sl_dns_parse_order(const char *v, uint8_t *out, size_t *n, char *err, size_t errlen);
/* Parses Kong's dns_resolver ("8.8.8.8,1.1.1.1:53,[::1]:5353") into c-ares' server list form in
 * <csv> (cap bytes). "" stays "". -1 with a message in <err>. */
int sl_dns_parse_resolver(const char *v, char *csv, size_t cap, char *err, size_t errlen);

/* Takes the settings (copied). Without a call, the defaults are Kong's. */
void sl_dns_configure(const struct sl_dns_settings *st);
/* A reload's settings, while the resolver runs (control thread), in two steps around the new
 * snapshot's compilation: begin puts <st> in force and sets the hosts table aside, so the build's
 * lookups read the hosts file again; end(true) keeps all that (the TTLs and dns_order apply to the
 * next lookups; cached answers stay until their TTL), end(false) restores the previous settings
 * and hosts table. New name servers (dns_resolver) are taken at end(true): lookups in flight are
 * cancelled and asked again of them (dns.c, cancel_and_set_servers). */
void sl_dns_reconfigure_begin(const struct sl_dns_settings *st);
void sl_dns_reconfigure_end(bool commit);

/* Answers <name> without a query: an IP literal, or a name of the hosts file (A entries, and AAAA
 * entries when dns_order lists AAAA). Fills <out> with ports 0 and returns true; false otherwise.
 * Reads the hosts file at its first call. Control thread (or before threads start). */
bool sl_dns_static(const char *name, struct sl_addrs *out);

/* The entry of <name>, with one more reference; a new entry starts resolving (at sl_dns_start if
 * the resolver is not running yet). NULL when out of memory. Control thread. */
struct sl_dns_name *sl_dns_acquire(const char *name);
/* Drops a reference taken by sl_dns_acquire. Any thread; the entry is freed later by the control
 * thread once nothing references it. */
void sl_dns_release(struct sl_dns_name *e);
/* Copies the entry's current addresses into <out>, <port_be> (network order) applied to those
 * without a port of their own (all but SRV answers), and returns the entry's state (out->n is 0
 * unless SL_DNS_OK). Any thread holding a reference. */
enum sl_dns_state sl_dns_read(struct sl_dns_name *e, uint16_t port_be, struct sl_addrs *out);

/* Starts the resolver on <loop> (after any fork). <settled> is called on the control thread each
 * time some entry leaves SL_DNS_PENDING, so that requests waiting for it can go on. */
int sl_dns_start(struct ev_loop *loop, void (*settled)(void), char *err, size_t errlen);
/* Stops the resolver and frees every entry nothing references. Control thread. */
void sl_dns_stop(void);

#endif
