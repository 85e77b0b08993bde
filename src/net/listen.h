/* SPDX-License-Identifier: Apache-2.0 */
/* Listening sockets for the proxy and the Admin API. */
#ifndef SL_NET_LISTEN_H
#define SL_NET_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opens a non-blocking, close-on-exec TCP listener on the IP literal <host> (IPv4 or IPv6 without
 * brackets) and <port>, with SO_REUSEADDR, SO_REUSEPORT when <reuseport>, IPV6_V6ONLY for IPv6, and
 * <backlog> (<= 0: 511). Returns the descriptor, or -1 with a message naming the address in <err>.
 */
int sl_net_listen(const char *host, uint16_t port, int backlog, bool reuseport, char *err,
                  size_t errlen);

#endif
