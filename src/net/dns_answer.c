/* SPDX-License-Identifier: Apache-2.0 */
/* DNS answers (untrusted bytes from the network) into address sets: A/AAAA through c-ares'
 * parsers, SRV records reduced to their lowest priority, and the TTLs c-ares 1.18 does not give
 * for SRV read by a bounded walk of the answer section. Also the address-set helpers. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "net/dns_internal.h"

void
sl_dns_addrs_add(struct sl_addrs *a, const void *sa, socklen_t len, uint16_t port_be,
                 uint32_t weight)
{
    if (a->n < SL_DNS_MAX_ADDRS && len <= sizeof(a->addr[0])) {
        memset(&a->addr[a->n], 0, sizeof(a->addr[a->n]));
        memcpy(&a->addr[a->n], sa, len);
        a->addr[a->n].sin6_port = port_be; /* sin_port sits at the same offset */
        a->len[a->n] = len;
        a->weight[a->n] = weight == 0 ? 1 : weight;
        a->n++;
    }
}

void
sl_dns_addrs_add_v4(struct sl_addrs *a, const struct in_addr *ip, uint16_t port_be, uint32_t weight)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = *ip, .sin_port = port_be};
    sl_dns_addrs_add(a, &sin, sizeof(sin), port_be, weight);
}

void
sl_dns_addrs_add_v6(struct sl_addrs *a, const struct in6_addr *ip, uint16_t port_be,
                    uint32_t weight)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = *ip, .sin6_port = port_be};
    sl_dns_addrs_add(a, &sin6, sizeof(sin6), port_be, weight);
}

void
sl_addrs_default_port(struct sl_addrs *a, uint16_t port_be)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->addr[i].sin6_port == 0) { /* sin_port sits at the same offset */
            a->addr[i].sin6_port = port_be;
        }
    }
}

static uint32_t
gcd(uint32_t a, uint32_t b)
{
    while (b != 0) {
        uint32_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* Picks made in rounds 0..r-1 of a cycle: round r visits every address whose weight is above r. */
static uint64_t
picks_before(const uint32_t *w, size_t n, uint64_t r)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += w[i] < r ? w[i] : r;
    }
    return sum;
}

size_t
sl_addrs_pick(const struct sl_addrs *a, size_t counter)
{
    if (a->n < 2) {
        return 0;
    }
    uint32_t w[SL_DNS_MAX_ADDRS], g = 0, max = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < a->n; i++) {
        w[i] = a->weight[i] ? a->weight[i] : 1;
        g = gcd(w[i], g);
    }
    for (size_t i = 0; i < a->n; i++) {
        w[i] /= g; /* equal weights become 1: plain round-robin */
        max = w[i] > max ? w[i] : max;
        total += w[i];
    }
    /* Interleaved weighted round-robin over one cycle of <total> picks: round r visits, in order,
     * every address whose weight is above r. Every address gets exactly its share per cycle, and
     * equal weights alternate; a weight far above the others still ends its cycle with a run of
     * its own (rounds the lighter addresses no longer take part in). The round of a pick is found
     * by binary search on the picks made before it, so a pick costs about log2(max) steps of at
     * most SL_DNS_MAX_ADDRS, whatever the weights. */
    if (total == 0) {
        return 0; /* cannot happen (n >= 2, weights >= 1); keeps the modulo visibly safe */
    }
    uint64_t slot = counter % total;
    uint64_t lo = 0, hi = max; /* the round r with picks_before(r) <= slot < picks_before(r + 1) */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (picks_before(w, a->n, mid) <= slot) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    slot -= picks_before(w, a->n, lo);
    for (size_t i = 0; i < a->n; i++) {
        if (w[i] > lo && slot-- == 0) {
            return i;
        }
    }
    return 0; /* not reached: round lo has more than slot members */
}

/* ---- the answer section ---------------------------------------------------------------------- */

/* The length of the (possibly compressed) name at p, or 0 if it runs past end. */
static size_t
name_len(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *s = p;
    for (int labels = 0; s < end && labels < 128; labels++) {
        unsigned len = *s;
        if ((len & 0xC0) == 0xC0) {
            return s + 2 <= end ? (size_t)(s + 2 - p) : 0;
        }
        if ((len & 0xC0) != 0) {
            return 0; /* reserved label types */
        }
        if (len == 0) {
            return (size_t)(s + 1 - p);
        }
        s += 1 + len;
    }
    return 0;
}

/* The smallest TTL of the answer records of <rrtype>, or -1 when there is none or the message is
 * malformed. */
static int
answer_min_ttl(const unsigned char *abuf, int alen, int rrtype)
{
    if (alen < NS_HFIXEDSZ) {
        return -1;
    }
    const unsigned char *p = abuf + NS_HFIXEDSZ, *end = abuf + alen;
    unsigned qd = ((unsigned)abuf[4] << 8) | abuf[5];
    unsigned an = ((unsigned)abuf[6] << 8) | abuf[7];
    for (unsigned i = 0; i < qd; i++) {
        size_t n = name_len(p, end);
        if (n == 0 || (size_t)(end - p) < n + NS_QFIXEDSZ) {
            return -1;
        }
        p += n + NS_QFIXEDSZ;
    }
    long best = -1;
    for (unsigned i = 0; i < an; i++) {
        size_t n = name_len(p, end);
        if (n == 0 || (size_t)(end - p) < n + NS_RRFIXEDSZ) {
            return -1;
        }
        p += n;
        int type = (p[0] << 8) | p[1];
        long ttl = (long)(((unsigned long)p[4] << 24) | ((unsigned long)p[5] << 16) |
                          ((unsigned long)p[6] << 8) | p[7]);
        size_t rdlen = ((size_t)p[8] << 8) | p[9];
        p += NS_RRFIXEDSZ;
        if ((size_t)(end - p) < rdlen) {
            return -1;
        }
        p += rdlen;
        if (ttl > 0x7fffffffL) {
            ttl = 0; /* RFC 2181 §8: a TTL with the top bit set is taken as 0 */
        }
        if (type == rrtype && (best < 0 || ttl < best)) {
            best = ttl;
        }
    }
    return best > INT32_MAX ? INT32_MAX : (int)best;
}

int
sl_dns_answer_addrs(const unsigned char *abuf, int alen, bool v6, struct sl_addrs *out, int *ttl)
{
    int n = SL_DNS_MAX_ADDRS, status;
    *ttl = -1;
    out->n = 0;
    if (!v6) {
        struct ares_addrttl rr[SL_DNS_MAX_ADDRS];
        status = ares_parse_a_reply(abuf, alen, NULL, rr, &n);
        for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
            sl_dns_addrs_add_v4(out, &rr[i].ipaddr, 0, 1);
            *ttl = *ttl < 0 || rr[i].ttl < *ttl ? rr[i].ttl : *ttl;
        }
    } else {
        struct ares_addr6ttl rr[SL_DNS_MAX_ADDRS];
        status = ares_parse_aaaa_reply(abuf, alen, NULL, rr, &n);
        for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
            struct in6_addr ip;
            memcpy(&ip, &rr[i].ip6addr, sizeof(ip));
            sl_dns_addrs_add_v6(out, &ip, 0, 1);
            *ttl = *ttl < 0 || rr[i].ttl < *ttl ? rr[i].ttl : *ttl;
        }
    }
    if (status == ARES_SUCCESS && out->n == 0) {
        status = ARES_ENODATA;
    }
    return status;
}

/* DNS names compare case-insensitively, with or without their final dot. */
static bool
same_name(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    la -= la > 0 && a[la - 1] == '.';
    lb -= lb > 0 && b[lb - 1] == '.';
    return la == lb && strncasecmp(a, b, la) == 0;
}

int
sl_dns_answer_srv(const unsigned char *abuf, int alen, struct sl_dns_srv *out, size_t max,
                  size_t *n, int *ttl)
{
    struct ares_srv_reply *list = NULL;
    *n = 0;
    *ttl = -1;
    int status = ares_parse_srv_reply(abuf, alen, &list);
    if (status != ARES_SUCCESS) {
        return status;
    }
    /* Records that all point back at the name asked are no SRV service (Kubernetes DNS answers
     * an SRV question for a Service's own name with one such record per port): like Kong
     * ("recursion detected"), they count for nothing and the next record type is asked. */
    char *qname = NULL;
    long qlen = 0;
    bool self_only = alen > NS_HFIXEDSZ && ares_expand_name(abuf + NS_HFIXEDSZ, abuf, alen, &qname,
                                                            &qlen) == ARES_SUCCESS;
    for (struct ares_srv_reply *r = list; self_only && r != NULL; r = r->next) {
        self_only = same_name(r->host, qname);
    }
    ares_free_string(qname);
    if (self_only) {
        ares_free_data(list);
        return ARES_ENODATA;
    }
    /* Kong uses only the records of the lowest priority value; a target of "." (RFC 2782: the
     * service is not available at this name) counts for nothing. */
    int lowest = -1;
    for (struct ares_srv_reply *r = list; r != NULL; r = r->next) {
        if (r->host[0] != '\0' && strcmp(r->host, ".") != 0 &&
            (lowest < 0 || r->priority < lowest)) {
            lowest = r->priority;
        }
    }
    for (struct ares_srv_reply *r = list; r != NULL && *n < max; r = r->next) {
        size_t hl = strlen(r->host);
        if (r->priority != lowest || hl == 0 || hl >= sizeof(out[0].host) ||
            strcmp(r->host, ".") == 0) {
            continue;
        }
        memcpy(out[*n].host, r->host, hl + 1);
        out[*n].port = r->port;
        out[*n].weight = r->weight;
        (*n)++;
    }
    ares_free_data(list);
    if (*n == 0) {
        return ARES_ENODATA;
    }
    *ttl = answer_min_ttl(abuf, alen, ns_t_srv);
    return ARES_SUCCESS;
}
