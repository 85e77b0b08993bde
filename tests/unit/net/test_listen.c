/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/net/listen.c: the options a listener gives the connections it accepts (the
 * proxy and the Admin API set nothing per connection and rely on them), and the refusals. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/listen.h"

/* Opens a listener on an ephemeral loopback port with <o>, connects to it and returns the
 * accepted descriptor; the listener and the client are closed by the caller through <lfd>/<cfd>. */
static int
accept_one(const char *host, const struct sl_net_listen_opts *o, int *lfd, int *cfd)
{
    char err[256];
    *lfd = sl_net_listen(host, 0, o, err, sizeof(err));
    cr_assert_geq(*lfd, 0, "sl_net_listen: %s", err);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    cr_assert_eq(getsockname(*lfd, (struct sockaddr *)&ss, &len), 0);
    *cfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(*cfd, 0);
    cr_assert_eq(connect(*cfd, (struct sockaddr *)&ss, len), 0);
    struct pollfd pfd = {.fd = *lfd, .events = POLLIN};
    cr_assert_eq(poll(&pfd, 1, 2000), 1, "the connection never reached the accept queue");
    int fd = accept4(*lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    cr_assert_geq(fd, 0);
    return fd;
}

static int
int_opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    cr_assert_eq(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

/* Accepts one connection from a listener on <host> with the defaults and checks that it carries
 * TCP_NODELAY without setting it, and no SO_KEEPALIVE (so_keepalive -1 leaves it off). */
static void
expect_accepted_nodelay(const char *host)
{
    struct sl_net_listen_opts o = {.so_keepalive = -1, .ipv6only = -1};
    int lfd, cfd;
    int fd = accept_one(host, &o, &lfd, &cfd);
    cr_expect_eq(int_opt(fd, IPPROTO_TCP, TCP_NODELAY), 1, "%s", host);
    cr_expect_eq(int_opt(fd, SOL_SOCKET, SO_KEEPALIVE), 0, "%s", host);
    close(fd);
    close(cfd);
    close(lfd);
}

Test(net_listen, accepted_connections_have_nodelay_ipv4)
{
    expect_accepted_nodelay("127.0.0.1");
}

Test(net_listen, accepted_connections_have_nodelay_ipv6)
{
    struct sl_net_listen_opts o = {.so_keepalive = -1, .ipv6only = -1};
    char err[256];
    int probe = sl_net_listen("::1", 0, &o, err, sizeof(err));
    if (probe < 0) {
        cr_skip_test("no IPv6 loopback here: %s", err);
    }
    cr_expect_eq(int_opt(probe, IPPROTO_IPV6, IPV6_V6ONLY), 1, "nginx's default: v6 only");
    close(probe);
    expect_accepted_nodelay("::1");
}

Test(net_listen, keepalive_options_reach_accepted_connections)
{
    struct sl_net_listen_opts o = {
        .so_keepalive = 1, .keepidle_s = 77, .keepintvl_s = 11, .keepcnt = 5, .ipv6only = -1};
    int lfd, cfd;
    int fd = accept_one("127.0.0.1", &o, &lfd, &cfd);
    cr_expect_eq(int_opt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    cr_expect_eq(int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 77);
    cr_expect_eq(int_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL), 11);
    cr_expect_eq(int_opt(fd, IPPROTO_TCP, TCP_KEEPCNT), 5);
    cr_expect_eq(int_opt(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    close(fd);
    close(cfd);
    close(lfd);
}

Test(net_listen, backlog_and_reuseport_on_the_listener)
{
    struct sl_net_listen_opts o = {.so_keepalive = -1, .ipv6only = -1, .reuseport = true};
    char err[256];
    int a = sl_net_listen("127.0.0.1", 0, &o, err, sizeof(err));
    cr_assert_geq(a, 0, "%s", err);
    cr_expect_eq(int_opt(a, SOL_SOCKET, SO_REUSEPORT), 1);
    cr_expect_eq(int_opt(a, SOL_SOCKET, SO_ACCEPTCONN), 1);
    cr_expect_eq(sl_net_backlog(0), 511);
    cr_expect_eq(sl_net_backlog(16384), 16384);
    close(a);
}

Test(net_listen, refuses_a_host_that_is_not_an_ip_literal)
{
    struct sl_net_listen_opts o = {.so_keepalive = -1, .ipv6only = -1};
    char err[256] = "";
    cr_expect_eq(sl_net_listen("localhost", 8000, &o, err, sizeof(err)), -1);
    cr_expect_str_eq(err, "invalid listen address 'localhost' (an IP address is required)");
}

Test(net_listen, bind_failure_names_the_address)
{
    struct sl_net_listen_opts o = {.so_keepalive = -1, .ipv6only = -1};
    char err[256];
    int a = sl_net_listen("127.0.0.1", 0, &o, err, sizeof(err));
    cr_assert_geq(a, 0, "%s", err);
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    cr_assert_eq(getsockname(a, (struct sockaddr *)&sin, &len), 0);
    uint16_t port = ntohs(sin.sin_port);
    /* Without SO_REUSEPORT on either socket a second bind of the same address fails. */
    int b = sl_net_listen("127.0.0.1", port, &o, err, sizeof(err));
    cr_expect_eq(b, -1);
    char want[64];
    snprintf(want, sizeof(want), "bind() to 127.0.0.1:%u failed: ", (unsigned)port);
    cr_expect(strncmp(err, want, strlen(want)) == 0, "got: %s", err);
    close(a);
}
