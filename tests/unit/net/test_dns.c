/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/net/dns.c without a network: dns_order and dns_resolver parsing, and the
 * answers given at once (IP literals, the hosts file and how dns_order filters it). Queries through
 * c-ares are covered by tests/integration/test_dns.py against a stub server. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/dns.h"

static size_t
order_of(const char *v, uint8_t *out)
{
    size_t n = 0;
    char err[256];
    cr_assert_eq(sl_dns_parse_order(v, out, &n, err, sizeof(err)), 0, "%s: %s", v, err);
    return n;
}

Test(dns_order, kong_default_and_case)
{
    uint8_t o[SL_DNS_MAX_ORDER];
    cr_assert_eq(order_of("LAST,SRV,A,CNAME", o), 4);
    cr_assert(o[0] == SL_DNS_LAST && o[1] == SL_DNS_SRV && o[2] == SL_DNS_A &&
              o[3] == SL_DNS_CNAME);
    cr_assert_eq(order_of(" aaaa , a ", o), 2);
    cr_assert(o[0] == SL_DNS_AAAA && o[1] == SL_DNS_A);
}

Test(dns_order, duplicates_keep_the_first_place)
{
    uint8_t o[SL_DNS_MAX_ORDER];
    cr_assert_eq(order_of("A,AAAA,A,LAST,SRV,CNAME,AAAA", o), 5);
    cr_assert(o[0] == SL_DNS_A && o[1] == SL_DNS_AAAA && o[2] == SL_DNS_LAST);
}

Test(dns_order, rejects_unknown_and_empty)
{
    uint8_t o[SL_DNS_MAX_ORDER];
    size_t n;
    char err[256];
    cr_assert_eq(sl_dns_parse_order("A,MX", o, &n, err, sizeof(err)), -1);
    cr_assert(strstr(err, "MX") != NULL, "%s", err);
    cr_assert_eq(sl_dns_parse_order("", o, &n, err, sizeof(err)), -1);
    cr_assert_eq(sl_dns_parse_order(" , ", o, &n, err, sizeof(err)), -1);
    cr_assert_eq(sl_dns_parse_order("AA", o, &n, err, sizeof(err)), -1);
}

static const char *
resolver(const char *v)
{
    static char csv[1024];
    char err[256];
    if (sl_dns_parse_resolver(v, csv, sizeof(csv), err, sizeof(err)) < 0) {
        return NULL;
    }
    return csv;
}

Test(dns_resolver, forms)
{
    cr_assert_str_eq(resolver(""), "");
    cr_assert_str_eq(resolver("8.8.8.8"), "8.8.8.8:53");
    cr_assert_str_eq(resolver("127.0.0.1:5353, 1.1.1.1"), "127.0.0.1:5353,1.1.1.1:53");
    cr_assert_str_eq(resolver("[::1]:5353"), "[::1]:5353");
    cr_assert_str_eq(resolver("[2001:db8::1]"), "[2001:db8::1]:53");
    cr_assert_str_eq(resolver("2001:db8::1"), "[2001:db8::1]:53");
}

Test(dns_resolver, rejects)
{
    /* a bracketed address longer than any IPv6 literal (it once overflowed a 64-byte buffer) */
    cr_assert_null(
        resolver("[1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee]"));
    cr_assert_null(
        resolver("[1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee]:53"));
    const char *bad[] = {
        "nope",      "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:",    "1.2.3.4:x",   "[::1", "[::1]x",
        "[nope]:53", "1.2.3",     "999.1.1.1",     "example.com", "[1.2.3.4]:5", NULL};
    for (int i = 0; bad[i]; i++) {
        cr_assert_null(resolver(bad[i]), "accepted: %s", bad[i]);
    }
}

Test(dns_resolver, bounded_list)
{
    char big[8192] = "";
    for (int i = 0; i < 400; i++) {
        strcat(big, "[2001:db8::1]:5353,");
    }
    char csv[1024], err[256];
    cr_assert_eq(sl_dns_parse_resolver(big, csv, sizeof(csv), err, sizeof(err)), -1);
    char seventeen[512] = "";
    for (int i = 0; i < SL_DNS_MAX_SERVERS + 1; i++) {
        strcat(seventeen, "10.0.0.1,");
    }
    cr_assert_eq(sl_dns_parse_resolver(seventeen, csv, sizeof(csv), err, sizeof(err)), -1);
    cr_assert(strstr(err, "at most 16 name servers") != NULL, "%s", err);
    seventeen[strlen(seventeen) - strlen("10.0.0.1,")] = '\0';
    cr_assert_eq(sl_dns_parse_resolver(seventeen, csv, sizeof(csv), err, sizeof(err)), 0, "%s",
                 err);
}

static char hosts_path[64];

static void
with_hosts(const char *text, const char *order)
{
    strcpy(hosts_path, "/tmp/sluice-dns-hosts-XXXXXX");
    int fd = mkstemp(hosts_path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct sl_dns_settings st = {
        .valid_ttl = -1, .stale_ttl = 3600, .not_found_ttl = 30, .error_ttl = 1};
    snprintf(st.hostsfile, sizeof(st.hostsfile), "%s", hosts_path);
    char err[256];
    cr_assert_eq(sl_dns_parse_order(order, st.order, &st.norder, err, sizeof(err)), 0);
    sl_dns_configure(&st);
}

static void
remove_hosts(void)
{
    unlink(hosts_path);
}

static const char *
addr_text(const struct sl_addrs *a, size_t i)
{
    static char buf[INET6_ADDRSTRLEN];
    const struct sockaddr_in6 *sa = &a->addr[i];
    if (sa->sin6_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof(buf));
    } else {
        inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof(buf));
    }
    return buf;
}

Test(dns_static, ip_literals_need_no_lookup)
{
    struct sl_addrs a;
    cr_assert(sl_dns_static("10.1.2.3", &a));
    cr_assert_eq(a.n, 1);
    cr_assert_str_eq(addr_text(&a, 0), "10.1.2.3");
    cr_assert_eq(a.len[0], sizeof(struct sockaddr_in));
    cr_assert(sl_dns_static("::1", &a));
    cr_assert_str_eq(addr_text(&a, 0), "::1");
    cr_assert_eq(a.len[0], sizeof(struct sockaddr_in6));
}

Test(dns_static, hosts_file_first_address_per_family_wins, .fini = remove_hosts)
{
    with_hosts("# comment\n"
               "127.0.0.1 localhost\n"
               "10.0.0.1   Svc.Test alias.test # trailing comment\n"
               "::1 svc.test\n"
               "10.0.0.2\tsvc.test\n"
               "not-an-ip other.test\n"
               "\n",
               "LAST,SRV,A,CNAME");
    struct sl_addrs a;
    cr_assert(sl_dns_static("svc.test", &a));
    cr_assert_eq(a.n, 1, "Kong's hosts parser: the first address of a family wins");
    cr_assert_str_eq(addr_text(&a, 0), "10.0.0.1");
    cr_assert(sl_dns_static("SVC.TEST", &a), "names match case-insensitively");
    cr_assert(sl_dns_static("alias.test", &a));
    cr_assert_str_eq(addr_text(&a, 0), "10.0.0.1");
    cr_assert_not(sl_dns_static("other.test", &a), "a line without an address counts for nothing");
    cr_assert_not(sl_dns_static("absent.test", &a));
}

Test(dns_static, aaaa_first_when_listed_first, .fini = remove_hosts)
{
    with_hosts("10.0.0.1 svc.test\n::1 svc.test\n127.0.0.1 four.test\n::2 six.test\n", "AAAA,A");
    struct sl_addrs a;
    cr_assert(sl_dns_static("svc.test", &a));
    cr_assert_eq(a.n, 1);
    cr_assert_str_eq(addr_text(&a, 0), "::1");
    cr_assert(sl_dns_static("four.test", &a), "falls back to A");
    cr_assert_str_eq(addr_text(&a, 0), "127.0.0.1");
    cr_assert(sl_dns_static("six.test", &a));
    cr_assert_str_eq(addr_text(&a, 0), "::2");
}

Test(dns_static, ipv6_only_name_needs_aaaa_in_the_order, .fini = remove_hosts)
{
    /* Kong records as LAST only a type dns_order lists: with the default order an IPv6-only
     * hosts name is not taken from the file; with AAAA listed it is. */
    with_hosts("::2 six.test\n10.0.0.1 both.test\n::3 both.test\n", "LAST,SRV,A,CNAME");
    struct sl_addrs a;
    cr_assert_not(sl_dns_static("six.test", &a));
    cr_assert(sl_dns_static("both.test", &a));
    cr_assert_str_eq(addr_text(&a, 0), "10.0.0.1");
}

Test(dns_static, ipv6_only_name_with_aaaa_listed, .fini = remove_hosts)
{
    with_hosts("::2 six.test\n", "LAST,SRV,A,AAAA,CNAME");
    struct sl_addrs a;
    cr_assert(sl_dns_static("six.test", &a));
    cr_assert_str_eq(addr_text(&a, 0), "::2");
}

Test(dns_static, ipv6_only_name_not_found_without_aaaa, .fini = remove_hosts)
{
    with_hosts("::2 six.test\n", "SRV,A,CNAME");
    struct sl_addrs a;
    cr_assert_not(sl_dns_static("six.test", &a));
}

Test(dns_static, many_names_on_few_lines, .fini = remove_hosts)
{
    /* The table is sized from the names counted, not from the lines (a line may name many). */
    char text[4096] = "127.0.0.1 localhost\n10.0.0.9";
    for (int i = 1; i <= 40; i++) {
        char name[32];
        snprintf(name, sizeof(name), " n%d.test", i);
        strcat(text, name);
    }
    strcat(text, "\n");
    with_hosts(text, "A");
    struct sl_addrs a;
    for (int i = 1; i <= 40; i++) {
        char name[32];
        snprintf(name, sizeof(name), "n%d.test", i);
        cr_assert(sl_dns_static(name, &a), "%s lost", name);
        cr_assert_str_eq(addr_text(&a, 0), "10.0.0.9");
    }
}

Test(dns_static, missing_hosts_file_still_has_localhost)
{
    struct sl_dns_settings st = {.valid_ttl = -1, .norder = 1, .order = {SL_DNS_A}};
    snprintf(st.hostsfile, sizeof(st.hostsfile), "/nonexistent/hosts");
    sl_dns_configure(&st);
    struct sl_addrs a;
    cr_assert(sl_dns_static("localhost", &a), "Kong adds localhost when the file lacks it");
    cr_assert_str_eq(addr_text(&a, 0), "127.0.0.1");
    cr_assert_not(sl_dns_static("svc.test", &a));
    cr_assert(sl_dns_static("127.0.0.1", &a));
}

Test(dns_static, last_follows_the_order_of_a_and_aaaa, .fini = remove_hosts)
{
    with_hosts("127.0.0.1 both.test\n::1 both.test\n", "LAST,AAAA,A");
    struct sl_addrs a;
    cr_assert(sl_dns_static("both.test", &a));
    cr_assert_str_eq(addr_text(&a, 0), "::1", "Kong records AAAA as LAST when listed first");
}

Test(dns_static, long_lines_are_read_whole, .fini = remove_hosts)
{
    /* a comment longer than any fixed buffer, ending in what looks like a mapping: the whole
     * line is a comment (a cut line would make its tail a live entry) */
    static char text[32768];
    strcpy(text, "#");
    memset(text + 1, 'x', 8000);
    strcpy(text + 8001, " 10.9.9.9 db.internal\n10.0.0.1 real.test");
    for (int i = 0; i < 600; i++) {
        strcat(text, " alias-number-padding.test");
    }
    strcat(text, " last-alias.test\n");
    with_hosts(text, "A");
    struct sl_addrs a;
    cr_assert_not(sl_dns_static("db.internal", &a));
    cr_assert(sl_dns_static("last-alias.test", &a), "the end of a long line is read");
    cr_assert_str_eq(addr_text(&a, 0), "10.0.0.1");
}
