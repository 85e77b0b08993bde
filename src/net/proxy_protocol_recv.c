/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a PROXY protocol header straight from a socket (proxy_protocol.h): for listeners whose
 * next reader is not Sluice's own buffer, such as a TLS handshake, which must find the socket
 * positioned at the ClientHello. */
#include <errno.h>
#include <sys/socket.h>

#include "net/proxy_protocol.h"

int
sl_proxy_protocol_recv(int fd, struct sl_proxy_protocol_reader *r, struct sl_proxy_protocol *out)
{
    size_t room = sizeof(r->buf) - r->have;
    ssize_t n = recv(fd, r->buf + r->have, room, MSG_PEEK);
    if (n == 0) {
        errno = 0;
        return -1;
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    }
    ssize_t hl = sl_proxy_protocol_parse(r->buf, r->have + (size_t)n, out);
    if (hl < 0) {
        r->have += (size_t)n;
        errno = EPROTO;
        return -1;
    }
    /* Complete: take the rest of the header only. Incomplete: every peeked byte is the header's
     * (the parser needs more after them), so all are taken. The bytes are in the socket already:
     * this recv returns them at once. */
    size_t take = hl > 0 ? (size_t)hl - r->have : (size_t)n;
    ssize_t got = recv(fd, r->buf + r->have, take, 0);
    if (got != (ssize_t)take) {
        if (got >= 0) {
            errno = EIO;
        }
        return -1;
    }
    r->have += take;
    return hl > 0 ? 1 : 0;
}
