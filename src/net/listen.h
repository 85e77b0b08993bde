/* SPDX-License-Identifier: Apache-2.0 */
/* Listening sockets for the proxy and the Admin API. */
#ifndef SL_NET_LISTEN_H
#define SL_NET_LISTEN_H

#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The socket options of one listen entry (nginx's `listen` flags, Kong's proxy_listen and
 * admin_listen). The connection options are set on the listening socket, from which Linux copies
 * them to every accepted connection, as nginx does. */
struct sl_net_listen_opts {
    int backlog;      /* <= 0: 511 */
    bool reuseport;   /* SO_REUSEPORT */
    bool deferred;    /* TCP_DEFER_ACCEPT (1 s, as nginx): accept once data arrives */
    int ipv6only;     /* IPv6 listeners: -1 default (on, as nginx), 0 off, 1 on */
    int so_keepalive; /* -1 untouched, 0 off, 1 on */
    int keepidle_s;   /* with so_keepalive=idle:intvl:cnt; 0 = the system's value */
    int keepintvl_s;
    int keepcnt;
};

/* Opens a non-blocking, close-on-exec TCP listener on the IP literal <host> (IPv4 or IPv6 without
 * brackets) and <port>, with SO_REUSEADDR, TCP_NODELAY (for the connections it accepts) and the
 * options <o>. Returns the descriptor, or -1 with a message naming the address in <err>. */
int sl_net_listen(const char *host, uint16_t port, const struct sl_net_listen_opts *o, char *err,
                  size_t errlen);

/* Sets <o>'s deferred and keep-alive options on the open listener <fd> (what a reload may change on
 * a socket it keeps; the others are fixed once bound). Returns 0, or -1 with errno set. */
int sl_net_listen_tune(int fd, const struct sl_net_listen_opts *o);

/* The backlog listen() gets for a configured <backlog> (<= 0: 511, nginx's default). */
static inline int
sl_net_backlog(int backlog)
{
    return backlog > 0 ? backlog : 511;
}

/* How long a listener's owner stops accepting after accept() failed for want of descriptors or
 * memory (nginx waits 500 ms too): the pending connection keeps the listener readable, so an
 * immediate retry would spin at 100% CPU and flood the error log until something is freed. */
#define SL_NET_ACCEPT_PAUSE_MS 500

/* True when accept() failing with <err> calls for that pause (EMFILE, ENFILE, ENOBUFS, ENOMEM);
 * other errors (EAGAIN, a connection aborted before it was accepted) do not. */
static inline bool
sl_net_accept_should_pause(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Logs such a failure (<err>; <who> prefixes the message, e.g. "admin: ") and arms <timer>, whose
 * callback resumes accepting, for SL_NET_ACCEPT_PAUSE_MS. The caller has stopped its listeners. */
void sl_net_accept_pause(struct ev_loop *loop, ev_timer *timer, const char *who, int err);

#endif
