/* SPDX-License-Identifier: Apache-2.0 */
/* Listening sockets (listen.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/listen.h"
#include "sluice/log.h"

int
sl_net_listen_tune(int fd, const struct sl_net_listen_opts *o)
{
    int defer = o->deferred ? 1 : 0;
    if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer)) < 0) {
        return -1;
    }
    if (o->so_keepalive < 0) {
        return 0;
    }
    int on = o->so_keepalive;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0) {
        return -1;
    }
    if ((o->keepidle_s > 0 &&
         setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->keepidle_s, sizeof(int)) < 0) ||
        (o->keepintvl_s > 0 &&
         setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->keepintvl_s, sizeof(int)) < 0) ||
        (o->keepcnt > 0 &&
         setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->keepcnt, sizeof(int)) < 0)) {
        return -1;
    }
    return 0;
}

int
sl_net_listen(const char *host, uint16_t port, const struct sl_net_listen_opts *o, char *err,
              size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        len = sizeof(*in6);
    } else {
        snprintf(err, errlen, "invalid listen address '%s' (an IP address is required)", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket(): %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Every accepted connection inherits it (Linux copies the listener's TCP state), which
     * saves a setsockopt() per connection: a response is never held back waiting for the
     * client's ACK of the one before (Nagle against delayed ACKs on keep-alive). */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (o->reuseport) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    if (ss.ss_family == AF_INET6) {
        int v6only = o->ipv6only != 0; /* nginx's default is on: IPv4 clients need their own */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    }
    if (sl_net_listen_tune(fd, o) < 0) {
        snprintf(err, errlen, "setsockopt() on %s:%u failed: %s", host, (unsigned)port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        snprintf(err, errlen, "bind() to %s:%u failed: %s", host, (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, sl_net_backlog(o->backlog)) < 0) {
        snprintf(err, errlen, "listen() on %s:%u failed: %s", host, (unsigned)port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void
sl_net_accept_pause(struct ev_loop *loop, ev_timer *timer, const char *who, int err)
{
    sl_log(SL_LOG_CRIT,
           "%saccept() failed: %s (raise the open files limit, ulimit -n); accepting again in %d "
           "ms",
           who, strerror(err), SL_NET_ACCEPT_PAUSE_MS);
    ev_timer_set(timer, SL_NET_ACCEPT_PAUSE_MS / 1000.0, 0);
    ev_timer_start(loop, timer);
}
