/* SPDX-License-Identifier: Apache-2.0 */
/* Bytes to and from an upstream connection, in clear or through TLS (https services), and its
 * establishment: the non-blocking connect's outcome, then the TLS handshake (bounded, like the
 * connect, by the service's connect_timeout, as nginx's proxy_connect_timeout bounds both). The
 * callers (attempt.c, session.c) see recv/send contracts either way; what TLS adds for them is
 * that a read may wait for writability and a write for readability (the flags on the
 * connection), and that decrypted bytes may wait inside OpenSSL where poll() cannot see them
 * (sl_upconn_has_buffered). */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "proxy/internal.h"
#include "sluice/rc.h"

enum sl_upconn_step
sl_upconn_establish(struct sl_upconn *c, int *err, char *why, size_t whylen)
{
    if (!c->tcp_connected) {
        int e = 0;
        socklen_t len = sizeof(e);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) {
            e = errno;
        }
        if (e != 0) {
            *err = e;
            return SL_UPCONN_CONNECT_FAILED;
        }
        c->tcp_connected = true;
    }
    if (c->tls.ssl != NULL) {
        enum sl_tls_want want;
        int r = sl_tls_handshake(&c->tls, &want);
        if (r == SL_AGAIN) {
            c->hs_want = (uint8_t)want;
            return SL_UPCONN_WAIT;
        }
        if (r != SL_OK) {
            char reason[160];
            const char *verify = sl_tls_verify_error(&c->tls, reason, sizeof(reason));
            if (verify != NULL) {
                /* nginx: "upstream SSL certificate verify error: (20:unable to get ...)" */
                snprintf(why, whylen, "upstream SSL certificate verify error: %s", verify);
            } else {
                snprintf(why, whylen, "SSL_do_handshake() failed (%s)",
                         sl_tls_error_string(reason, sizeof(reason)));
            }
            return SL_UPCONN_TLS_FAILED;
        }
    }
    c->hs_want = 0;
    c->connected = true;
    return SL_UPCONN_READY;
}

/* A failed TLS call as an errno: the system call's when there was one, else EPROTO. */
static int
tls_errno(void)
{
    return errno != 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR ? errno : EPROTO;
}

ssize_t
sl_upconn_recv(struct sl_upconn *c, size_t cap)
{
    if (c->tls.ssl == NULL) {
        return sl_buf_recv(&c->in, c->fd, cap);
    }
    size_t room = sl_buf_reserve(&c->in, 16384, cap);
    if (room == (size_t)-1 || room == 0) {
        errno = room == 0 ? ENOBUFS : ENOMEM;
        return -1;
    }
    enum sl_tls_want want;
    errno = 0;
    ssize_t n = sl_tls_read(&c->tls, c->in.data + c->in.len, room, &want);
    c->read_wants_write = false;
    if (n > 0) {
        c->in.len += (size_t)n;
        return n;
    }
    if (n == 0) {
        return 0; /* close_notify, or an end without it (SSL_OP_IGNORE_UNEXPECTED_EOF) */
    }
    if (n == SL_AGAIN) {
        c->read_wants_write = want == SL_TLS_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    }
    errno = tls_errno();
    return -1;
}

ssize_t
sl_upconn_send(struct sl_upconn *c, const void *p, size_t len)
{
    if (c->tls.ssl == NULL) {
        return send(c->fd, p, len, MSG_NOSIGNAL);
    }
    enum sl_tls_want want;
    errno = 0;
    ssize_t n = sl_tls_write(&c->tls, p, len, &want);
    c->write_wants_read = false;
    if (n > 0) {
        return n;
    }
    if (n == SL_AGAIN) {
        c->write_wants_read = want == SL_TLS_WANT_READ;
        errno = EAGAIN;
        return -1;
    }
    errno = tls_errno();
    return -1;
}

bool
sl_upconn_has_decrypted(const struct sl_upconn *c)
{
    return c->tls.ssl != NULL && sl_tls_decrypted_pending(&c->tls);
}

bool
sl_upconn_has_buffered(const struct sl_upconn *c)
{
    return c->tls.ssl != NULL && sl_tls_pending(&c->tls);
}
