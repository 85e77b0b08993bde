/* SPDX-License-Identifier: Apache-2.0 */
/* Listening sockets for the proxy and the Admin API. */
#ifndef SL_NET_LISTEN_H
#define SL_NET_LISTEN_H

#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opens a non-blocking, close-on-exec TCP listener on the IP literal <host> (IPv4 or IPv6 without
 * brackets) and <port>, with SO_REUSEADDR, SO_REUSEPORT when <reuseport>, IPV6_V6ONLY for IPv6, and
 * <backlog> (<= 0: 511). Returns the descriptor, or -1 with a message naming the address in <err>.
 */
int sl_net_listen(const char *host, uint16_t port, int backlog, bool reuseport, char *err,
                  size_t errlen);

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
