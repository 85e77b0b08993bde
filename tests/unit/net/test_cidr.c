/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/net/cidr.c: parsing, masking, matching by text and by sockaddr, formatting. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "net/cidr.h"

static struct sl_cidr
must_parse(const char *s)
{
    struct sl_cidr c;
    cr_assert_eq(sl_cidr_parse(s, strlen(s), &c), 0, "should parse: %s", s);
    return c;
}

static bool
parses(const char *s)
{
    struct sl_cidr c;
    return sl_cidr_parse(s, strlen(s), &c) == 0;
}

static struct sockaddr_in
sin4(const char *ip)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(1234);
    cr_assert_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    return sa;
}

static struct sockaddr_in6
sin6(const char *ip)
{
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    cr_assert_eq(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
    return sa;
}

Test(cidr, parses_ipv4_with_and_without_prefix)
{
    struct sl_cidr c = must_parse("10.1.2.3");
    cr_assert_eq(c.family, AF_INET);
    cr_assert_eq(c.prefix_len, 32);
    cr_assert_eq(c.addr[0], 10);
    cr_assert_eq(c.addr[3], 3);

    c = must_parse("192.168.77.200/20");
    cr_assert_eq(c.prefix_len, 20);
    /* host bits cleared: 192.168.64.0 */
    cr_assert_eq(c.addr[0], 192);
    cr_assert_eq(c.addr[1], 168);
    cr_assert_eq(c.addr[2], 64);
    cr_assert_eq(c.addr[3], 0);

    c = must_parse("0.0.0.0/0");
    cr_assert_eq(c.prefix_len, 0);
}

Test(cidr, parses_ipv6_and_clears_host_bits)
{
    struct sl_cidr c = must_parse("2001:db8:ffff::1/33");
    cr_assert_eq(c.family, AF_INET6);
    cr_assert_eq(c.prefix_len, 33);
    uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0x80};
    cr_assert_arr_eq(c.addr, want, 16);

    c = must_parse("::1");
    cr_assert_eq(c.prefix_len, 128);
    cr_assert_eq(c.addr[15], 1);
    c = must_parse("::/0");
    cr_assert_eq(c.prefix_len, 0);
}

Test(cidr, mapped_ranges_become_ipv4)
{
    struct sl_cidr c = must_parse("::ffff:10.9.8.7/104");
    cr_assert_eq(c.family, AF_INET);
    cr_assert_eq(c.prefix_len, 8);
    cr_assert_eq(c.addr[0], 10);
    cr_assert_eq(c.addr[1], 0);

    c = must_parse("::ffff:1.2.3.4");
    cr_assert_eq(c.family, AF_INET);
    cr_assert_eq(c.prefix_len, 32);

    /* a prefix shorter than the mapped block is a genuine IPv6 range */
    c = must_parse("::ffff:0:0/80");
    cr_assert_eq(c.family, AF_INET6);
}

Test(cidr, rejects_invalid_text)
{
    const char *bad[] = {
        "",         "/",          "1.2.3",        "1.2.3.4/33",
        "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/08",   "256.1.1.1",
        "01.2.3.4", "1.2.3.4/+8", "::1/129",      "::1/1a",
        "1.2.3.4 ", " 1.2.3.4",   "hello",        "1.2.3.4/3/4",
        ":::",      "[::1]",      "1.2.3.4/1234", "fe80::1%eth0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_not(parses(bad[i]), "should reject '%s'", bad[i]);
    }
    /* embedded NUL and overlong input */
    struct sl_cidr c;
    cr_assert_eq(sl_cidr_parse("1.2.3.4\0/8", 10, &c), -1);
    char longs[200];
    memset(longs, '1', sizeof(longs));
    cr_assert_eq(sl_cidr_parse(longs, sizeof(longs), &c), -1);
    cr_assert_eq(sl_cidr_parse(NULL, 0, &c), -1);
}

Test(cidr, parse_reads_only_len_bytes)
{
    struct sl_cidr c;
    const char *s = "10.0.0.0/8,192.168.0.0/16";
    cr_assert_eq(sl_cidr_parse(s, 10, &c), 0);
    cr_assert_eq(c.prefix_len, 8);
    cr_assert_eq(sl_cidr_parse(s + 11, strlen(s) - 11, &c), 0);
    cr_assert_eq(c.prefix_len, 16);
}

Test(cidr, match_text)
{
    struct sl_cidr list[3];
    list[0] = must_parse("10.0.0.0/8");
    list[1] = must_parse("2001:db8::/32");
    list[2] = must_parse("192.168.1.7");

    cr_assert(sl_cidr_list_match_text(list, 3, "10.200.3.4", 10));
    cr_assert_not(sl_cidr_list_match_text(list, 3, "11.0.0.1", 8));
    cr_assert(sl_cidr_list_match_text(list, 3, "192.168.1.7", 11));
    cr_assert_not(sl_cidr_list_match_text(list, 3, "192.168.1.8", 11));
    cr_assert(sl_cidr_list_match_text(list, 3, "2001:db8:1::5", 13));
    cr_assert(sl_cidr_list_match_text(list, 3, "[2001:db8::5]", 13));
    cr_assert_not(sl_cidr_list_match_text(list, 3, "2001:db9::5", 11));
    /* mapped text matches the IPv4 range */
    cr_assert(sl_cidr_list_match_text(list, 3, "::ffff:10.1.1.1", 15));
    /* invalid addresses never match, even against 0.0.0.0/0 */
    struct sl_cidr all = must_parse("0.0.0.0/0");
    cr_assert_not(sl_cidr_list_match_text(&all, 1, "garbage", 7));
    cr_assert_not(sl_cidr_list_match_text(&all, 1, "10.0.0.1/8", 10));
    cr_assert_not(sl_cidr_list_match_text(&all, 1, "", 0));
    cr_assert(sl_cidr_list_match_text(&all, 1, "8.8.8.8", 7));
    /* length is honoured: "10.0.0.1" then junk */
    cr_assert(sl_cidr_list_match_text(list, 3, "10.0.0.1xyz", 8));
    cr_assert_not(sl_cidr_list_match_text(list, 0, "10.0.0.1", 8));
}

Test(cidr, families_do_not_cross)
{
    struct sl_cidr v6all = must_parse("::/0");
    struct sl_cidr v4all = must_parse("0.0.0.0/0");
    cr_assert_not(sl_cidr_list_match_text(&v6all, 1, "1.2.3.4", 7));
    cr_assert_not(sl_cidr_list_match_text(&v4all, 1, "::1", 3));
    cr_assert(sl_cidr_list_match_text(&v6all, 1, "::1", 3));
}

Test(cidr, match_sockaddr)
{
    struct sl_cidr net = must_parse("172.16.0.0/12");
    struct sockaddr_in in = sin4("172.31.255.255");
    cr_assert(sl_cidr_match_sockaddr(&net, (struct sockaddr *)&in));
    in = sin4("172.32.0.0");
    cr_assert_not(sl_cidr_match_sockaddr(&net, (struct sockaddr *)&in));

    struct sockaddr_in6 in6 = sin6("::ffff:172.20.1.1");
    cr_assert(sl_cidr_match_sockaddr(&net, (struct sockaddr *)&in6));

    struct sl_cidr v6 = must_parse("fd00::/8");
    in6 = sin6("fdab::1");
    cr_assert(sl_cidr_match_sockaddr(&v6, (struct sockaddr *)&in6));
    in6 = sin6("fe00::1");
    cr_assert_not(sl_cidr_match_sockaddr(&v6, (struct sockaddr *)&in6));

    struct sl_cidr list[2] = {must_parse("127.0.0.1"), must_parse("::1")};
    in = sin4("127.0.0.1");
    cr_assert(sl_cidr_list_match_sockaddr(list, 2, (struct sockaddr *)&in));
    in6 = sin6("::1");
    cr_assert(sl_cidr_list_match_sockaddr(list, 2, (struct sockaddr *)&in6));
    in6 = sin6("::2");
    cr_assert_not(sl_cidr_list_match_sockaddr(list, 2, (struct sockaddr *)&in6));

    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    cr_assert_not(sl_cidr_list_match_sockaddr(list, 2, (struct sockaddr *)&un));
    cr_assert_not(sl_cidr_match_sockaddr(&net, NULL));
}

Test(cidr, prefix_boundaries)
{
    struct sl_cidr c = must_parse("10.0.0.128/25");
    cr_assert(sl_cidr_list_match_text(&c, 1, "10.0.0.128", 10));
    cr_assert(sl_cidr_list_match_text(&c, 1, "10.0.0.255", 10));
    cr_assert_not(sl_cidr_list_match_text(&c, 1, "10.0.0.127", 10));
    c = must_parse("2001:db8::/127");
    cr_assert(sl_cidr_list_match_text(&c, 1, "2001:db8::1", 11));
    cr_assert_not(sl_cidr_list_match_text(&c, 1, "2001:db8::2", 11));
}

Test(cidr, formats_sockaddr)
{
    char buf[64];
    struct sockaddr_in in = sin4("192.0.2.33");
    cr_assert_eq(sl_sockaddr_ip((struct sockaddr *)&in, buf, sizeof(buf)), 10);
    cr_assert_str_eq(buf, "192.0.2.33");
    struct sockaddr_in6 in6 = sin6("2001:0db8:0000:0000:0000:0000:0000:0001");
    cr_assert_eq(sl_sockaddr_ip((struct sockaddr *)&in6, buf, sizeof(buf)), 11);
    cr_assert_str_eq(buf, "2001:db8::1");
    in6 = sin6("::ffff:1.2.3.4");
    sl_sockaddr_ip((struct sockaddr *)&in6, buf, sizeof(buf));
    cr_assert_str_eq(buf, "::ffff:1.2.3.4");
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    cr_assert_eq(sl_sockaddr_ip((struct sockaddr *)&un, buf, sizeof(buf)), 5);
    cr_assert_str_eq(buf, "unix:");
    /* too small a buffer */
    cr_assert_eq(sl_sockaddr_ip((struct sockaddr *)&in, buf, 5), -1);
    struct sockaddr other;
    memset(&other, 0, sizeof(other));
    other.sa_family = AF_UNSPEC;
    cr_assert_eq(sl_sockaddr_ip(&other, buf, sizeof(buf)), -1);
}
