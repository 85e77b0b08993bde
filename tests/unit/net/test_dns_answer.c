/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/net/dns_answer.c: A/AAAA and SRV answers built byte by byte (TTLs, CNAME
 * chains, priorities, weights, the root target, malformed messages), and weighted picking. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "net/dns_internal.h"

/* A DNS message under construction. */
struct msg {
    unsigned char b[2048];
    size_t n;
};

static void
put8(struct msg *m, unsigned v)
{
    cr_assert_lt(m->n, sizeof(m->b));
    m->b[m->n++] = (unsigned char)v;
}

static void
put16(struct msg *m, unsigned v)
{
    put8(m, v >> 8);
    put8(m, v & 0xff);
}

static void
put32(struct msg *m, unsigned long v)
{
    put16(m, (unsigned)(v >> 16));
    put16(m, (unsigned)(v & 0xffff));
}

static void
put_name(struct msg *m, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : strlen(name);
        put8(m, (unsigned)len);
        for (size_t i = 0; i < len; i++) {
            put8(m, (unsigned char)name[i]);
        }
        name += len + (dot ? 1 : 0);
    }
    put8(m, 0);
}

/* Header (a response, NOERROR) and one question. */
static void
begin(struct msg *m, const char *qname, unsigned qtype, unsigned ancount)
{
    m->n = 0;
    put16(m, 0x1234);
    put16(m, 0x8180);
    put16(m, 1);
    put16(m, ancount);
    put16(m, 0);
    put16(m, 0);
    put_name(m, qname);
    put16(m, qtype);
    put16(m, ns_c_in);
}

static void
rr_head(struct msg *m, const char *name, unsigned type, unsigned long ttl, unsigned rdlen)
{
    put_name(m, name);
    put16(m, type);
    put16(m, ns_c_in);
    put32(m, ttl);
    put16(m, rdlen);
}

static void
rr_a(struct msg *m, const char *name, const char *ip, unsigned long ttl)
{
    unsigned char a[4];
    cr_assert_eq(inet_pton(AF_INET, ip, a), 1);
    rr_head(m, name, ns_t_a, ttl, 4);
    for (int i = 0; i < 4; i++) {
        put8(m, a[i]);
    }
}

static size_t
name_wire_len(const char *name)
{
    return strlen(name) + 2;
}

static void
rr_srv(struct msg *m, const char *name, unsigned prio, unsigned weight, unsigned port,
       const char *target, unsigned long ttl)
{
    rr_head(m, name, ns_t_srv, ttl, (unsigned)(6 + (target[0] ? name_wire_len(target) : 1)));
    put16(m, prio);
    put16(m, weight);
    put16(m, port);
    put_name(m, target);
}

static const char *
ip_of(const struct sl_addrs *a, size_t i)
{
    static char buf[INET6_ADDRSTRLEN];
    if (a->addr[i].sin6_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->addr[i])->sin_addr, buf, sizeof(buf));
    } else {
        inet_ntop(AF_INET6, &a->addr[i].sin6_addr, buf, sizeof(buf));
    }
    return buf;
}

/* The SRV records of <m> (kept in a static array: one test at a time per process). */
static struct sl_dns_srv recs[SL_DNS_MAX_ADDRS];

static int
srv_of(const struct msg *m, size_t len, size_t *n, int *ttl)
{
    return sl_dns_answer_srv(m->b, (int)len, recs, SL_DNS_MAX_ADDRS, n, ttl);
}

Test(dns_answer, a_records_and_smallest_ttl)
{
    struct msg m;
    begin(&m, "svc.test", ns_t_a, 2);
    rr_a(&m, "svc.test", "10.0.0.1", 300);
    rr_a(&m, "svc.test", "10.0.0.2", 30);
    struct sl_addrs a;
    int ttl;
    cr_assert_eq(sl_dns_answer_addrs(m.b, (int)m.n, false, &a, &ttl), ARES_SUCCESS);
    cr_assert_eq(a.n, 2);
    cr_assert_str_eq(ip_of(&a, 0), "10.0.0.1");
    cr_assert_str_eq(ip_of(&a, 1), "10.0.0.2");
    cr_assert_eq(ttl, 30);
    cr_assert_eq(a.addr[0].sin6_port, 0, "ports are the service's, applied later");
    cr_assert_eq(a.weight[0], 1);
}

Test(dns_answer, cname_chain_then_a)
{
    struct msg m;
    begin(&m, "alias.test", ns_t_a, 2);
    rr_head(&m, "alias.test", ns_t_cname, 100, (unsigned)name_wire_len("real.test"));
    put_name(&m, "real.test");
    rr_a(&m, "real.test", "10.1.1.1", 50);
    struct sl_addrs a;
    int ttl;
    cr_assert_eq(sl_dns_answer_addrs(m.b, (int)m.n, false, &a, &ttl), ARES_SUCCESS);
    cr_assert_eq(a.n, 1);
    cr_assert_str_eq(ip_of(&a, 0), "10.1.1.1");
}

Test(dns_answer, empty_answer_is_nodata)
{
    struct msg m;
    begin(&m, "none.test", ns_t_a, 0);
    struct sl_addrs a;
    int ttl;
    cr_assert_eq(sl_dns_answer_addrs(m.b, (int)m.n, false, &a, &ttl), ARES_ENODATA);
    cr_assert_eq(a.n, 0);
}

Test(dns_answer, at_most_max_addrs)
{
    struct msg m;
    begin(&m, "many.test", ns_t_a, 20);
    for (int i = 0; i < 20; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
        rr_a(&m, "many.test", ip, 60);
    }
    struct sl_addrs a;
    int ttl;
    cr_assert_eq(sl_dns_answer_addrs(m.b, (int)m.n, false, &a, &ttl), ARES_SUCCESS);
    cr_assert_eq(a.n, SL_DNS_MAX_ADDRS);
}

Test(dns_answer, srv_lowest_priority_ports_weights_and_ttl)
{
    struct msg m;
    begin(&m, "_http._tcp.svc.test", ns_t_srv, 4);
    rr_srv(&m, "_http._tcp.svc.test", 20, 5, 9000, "backup.test", 10);
    rr_srv(&m, "_http._tcp.svc.test", 10, 3, 8001, "one.test", 120);
    rr_srv(&m, "_http._tcp.svc.test", 10, 0, 8002, "two.test", 60);
    rr_srv(&m, "_http._tcp.svc.test", 5, 1, 1, "", 60); /* "." : no service there */
    size_t n;
    int ttl;
    cr_assert_eq(srv_of(&m, m.n, &n, &ttl), ARES_SUCCESS);
    cr_assert_eq(n, 2, "only priority 10 (the root target does not count)");
    cr_assert_str_eq(recs[0].host, "one.test");
    cr_assert_eq(recs[0].port, 8001);
    cr_assert_eq(recs[0].weight, 3);
    cr_assert_str_eq(recs[1].host, "two.test");
    cr_assert_eq(recs[1].port, 8002);
    cr_assert_eq(ttl, 10, "the smallest TTL of the SRV records");
}

Test(dns_answer, srv_only_root_target_is_nodata)
{
    struct msg m;
    begin(&m, "gone.test", ns_t_srv, 1);
    rr_srv(&m, "gone.test", 0, 0, 0, "", 60);
    size_t n;
    int ttl;
    cr_assert_eq(srv_of(&m, m.n, &n, &ttl), ARES_ENODATA);
    cr_assert_eq(n, 0);
}

Test(dns_answer, truncated_messages_are_errors_not_crashes)
{
    struct msg m;
    begin(&m, "svc.test", ns_t_srv, 1);
    rr_srv(&m, "svc.test", 1, 1, 80, "t.test", 60);
    for (size_t cut = 0; cut < m.n; cut++) {
        size_t n;
        int ttl;
        int st = srv_of(&m, cut, &n, &ttl);
        cr_assert_neq(st, ARES_SUCCESS, "accepted a message cut at %zu of %zu bytes", cut, m.n);
        struct sl_addrs a;
        cr_assert_neq(sl_dns_answer_addrs(m.b, (int)cut, false, &a, &ttl), ARES_SUCCESS);
    }
}

Test(dns_answer, srv_ttl_read_from_the_answer_section)
{
    /* c-ares 1.18 gives no TTL for SRV records: dns_answer.c reads it from the message. */
    struct msg m;
    begin(&m, "svc.test", ns_t_srv, 1);
    rr_srv(&m, "svc.test", 1, 1, 80, "t.test", 42);
    size_t n;
    int ttl;
    cr_assert_eq(srv_of(&m, m.n, &n, &ttl), ARES_SUCCESS);
    cr_assert_eq(ttl, 42);
}

static struct sl_addrs
weighted(const uint16_t *w, size_t n)
{
    struct sl_addrs a = {0};
    for (size_t i = 0; i < n; i++) {
        struct in_addr ip = {.s_addr = htonl(0x0a000001u + (uint32_t)i)};
        sl_dns_addrs_add_v4(&a, &ip, htons(8000), w[i]);
    }
    return a;
}

Test(dns_addrs, pick_round_robin_and_weighted)
{
    uint16_t equal[3] = {1, 1, 1};
    struct sl_addrs a = weighted(equal, 3);
    for (size_t c = 0; c < 9; c++) {
        cr_assert_eq(sl_addrs_pick(&a, c), c % 3);
    }
    uint16_t w[3] = {3, 0, 1}; /* 0 counts as 1, as Kong's SRV weights */
    a = weighted(w, 3);
    size_t hits[3] = {0};
    for (size_t c = 0; c < 500; c++) {
        hits[sl_addrs_pick(&a, c)]++;
    }
    cr_assert_eq(hits[0], 300);
    cr_assert_eq(hits[1], 100);
    cr_assert_eq(hits[2], 100);
    cr_assert_eq(ntohs(a.addr[2].sin6_port), 8000);
    struct sl_addrs empty = {0};
    cr_assert_eq(sl_addrs_pick(&empty, 7), 0);
}

Test(dns_addrs, pick_interleaves_instead_of_bursting)
{
    /* Kubernetes-style equal SRV weights of 50: plain alternation, not 50 in a row each */
    uint16_t w[2] = {50, 50};
    struct sl_addrs a = weighted(w, 2);
    for (size_t c = 0; c < 10; c++) {
        cr_assert_eq(sl_addrs_pick(&a, c), c % 2, "turn %zu", c);
    }
    /* 3:1 → 0,1,0,0 (an address never waits a whole cycle behind another's burst) */
    uint16_t w31[2] = {300, 100};
    a = weighted(w31, 2);
    size_t seq[4];
    for (size_t c = 0; c < 4; c++) {
        seq[c] = sl_addrs_pick(&a, c);
    }
    cr_assert(seq[0] == 0 && seq[1] == 1 && seq[2] == 0 && seq[3] == 0);
    /* large uneven weights keep their exact shares over a cycle (a 1% canary stays 1%) */
    uint16_t canary[2] = {99, 1};
    a = weighted(canary, 2);
    size_t hits[2] = {0};
    for (size_t c = 0; c < 1000; c++) {
        hits[sl_addrs_pick(&a, c)]++;
    }
    cr_assert(hits[0] == 990 && hits[1] == 10, "%zu %zu", hits[0], hits[1]);
    uint16_t big[3] = {65535, 1000, 30000};
    a = weighted(big, 3); /* gcd 5: a cycle of 19307 picks */
    size_t share[3] = {0};
    for (size_t c = 0; c < 19307; c++) {
        share[sl_addrs_pick(&a, c)]++;
    }
    cr_assert(share[0] == 13107 && share[1] == 200 && share[2] == 6000, "%zu %zu %zu", share[0],
              share[1], share[2]);
    cr_assert_lt(sl_addrs_pick(&a, SIZE_MAX), 3);
}

Test(dns_answer, srv_records_pointing_at_the_name_itself_count_for_nothing)
{
    /* what Kubernetes DNS answers for a Service's own name: one record per port, each naming the
     * Service itself (Kong: "recursion detected", then A is asked) */
    struct msg m;
    begin(&m, "my-svc.ns.svc.cluster.local", ns_t_srv, 2);
    rr_srv(&m, "my-svc.ns.svc.cluster.local", 0, 50, 80, "my-svc.ns.svc.cluster.local", 30);
    rr_srv(&m, "my-svc.ns.svc.cluster.local", 0, 50, 9090, "MY-SVC.ns.svc.cluster.local", 30);
    size_t n;
    int ttl;
    cr_assert_eq(srv_of(&m, m.n, &n, &ttl), ARES_ENODATA);
    /* one real target among them: the records are used */
    begin(&m, "svc.test", ns_t_srv, 2);
    rr_srv(&m, "svc.test", 0, 1, 80, "svc.test", 30);
    rr_srv(&m, "svc.test", 0, 1, 81, "other.test", 30);
    cr_assert_eq(srv_of(&m, m.n, &n, &ttl), ARES_SUCCESS);
    cr_assert_eq(n, 2);
}

Test(dns_answer, srv_ttl_with_the_top_bit_set_is_zero)
{
    struct msg m;
    begin(&m, "svc.test", ns_t_srv, 1);
    rr_srv(&m, "svc.test", 1, 1, 80, "t.test", 0x80000005UL);
    size_t n;
    int ttl;
    cr_assert_eq(srv_of(&m, m.n, &n, &ttl), ARES_SUCCESS);
    cr_assert_eq(ttl, 0, "RFC 2181 §8");
}
