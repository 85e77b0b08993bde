/* SPDX-License-Identifier: Apache-2.0 */
/* The TUNNEL phase of a session (WebSocket after a 101): what remains of the request body, then
 * raw bytes copied both ways with the same backpressure as a request and response, until either
 * side closes. The idle timeout (read_timeout) is session.c's upstream timeout. */
#include <stdint.h>

#include "proxy/session.h"

int
sl_session_pump_tunnel(struct sl_session *s)
{
    struct sl_upconn *c = s->up;
    int progress = 0;
    if (!s->req_done) {
        /* The upstream switched before the request body ended. "A client cannot begin using an
         * upgraded protocol on the connection until it has completely sent the request message"
         * (RFC 9110 §7.8): the rest of the body still goes through sl_session_pump_request_body,
         * framed as the request said (a chunked body is re-chunked there, and raw chunk bytes
         * appended to it would corrupt it); only the bytes after the body are the new protocol. */
        progress = sl_session_pump_request_body(s);
        if (s->phase != SL_PHASE_TUNNEL) {
            return 1; /* a malformed or oversized body aborted the tunnel (and released <c>) */
        }
    }
    size_t n = s->req_done ? sl_buf_pending(&s->in) : 0;
    /* At most one high-water's worth per step, as in sl_session_pump_request_body: the client
     * buffer holds up to in_cap (max_header_bytes + 4k, up to 16m), more than the upstream buffer's
     * cap takes in one append, and a failed append would stall the tunnel for good (bytes sent
     * right behind the upgrade request, or one large read). The run loop calls again on progress.
     */
    if (n > SL_PROXY_HIGH_WATER) {
        n = SL_PROXY_HIGH_WATER;
    }
    if (n > 0 && up_unsent(c) < SL_PROXY_HIGH_WATER) {
        if (sl_session_up_append(c, sl_buf_head(&s->in), n) == 0) {
            sl_buf_consume(&s->in, n);
            progress = 1;
        }
    }
    n = sl_buf_pending(&c->in);
    if (n > 0 && sl_buf_pending(&s->out) < SL_PROXY_HIGH_WATER) {
        if (sl_buf_append(&s->out, sl_buf_head(&c->in), n, SIZE_MAX) == 0) {
            sl_buf_consume(&c->in, n);
            s->resp_body_bytes += n;
            progress = 1;
        }
    }
    if ((s->peer_eof && sl_buf_pending(&s->in) == 0 && up_unsent(c) == 0) ||
        (c->eof && sl_buf_pending(&c->in) == 0)) {
        s->close_after = true;
        s->linger = false;
        sl_access_log_write(s);
        s->phase = SL_PHASE_CLOSING;
        sl_session_release_upstream(s, false);
        return 1;
    }
    if (progress) {
        sl_session_renew_upstream_wait(
            s); /* an idle tunnel ends at read_timeout, whichever side is quiet */
    }
    return progress;
}
