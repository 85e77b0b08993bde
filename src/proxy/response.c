/* SPDX-License-Identifier: Apache-2.0 */
/* The response side of a session: the upstream's response head parsed and turned into the
 * client's, its body moved to the client buffer in the client's framing, and the two ways a
 * request ends without a complete upstream response (an error page, or an abort once the response
 * has begun). It does not decide about retries (attempt.c) nor about the connection after the
 * response (session.c). */
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "core/clock.h"
#include "proxy/session.h"
#include "sluice/log.h"

/* Queues body bytes for the client in its framing. 0, or -1 when out of memory
 * (sl_session_out_add, which keeps in memory what a full disk cannot take). */
static int
emit_client_body(struct sl_session *s, const char *p, size_t len)
{
    if (len == 0 || s->out_framing == SL_OUT_NONE) {
        return 0;
    }
    char hdr[24];
    struct iovec iov[3];
    int n = 0;
    if (s->out_framing == SL_OUT_CHUNKED) {
        iov[n++] = (struct iovec){hdr, (size_t)snprintf(hdr, sizeof(hdr), "%zx\r\n", len)};
    }
    iov[n++] = (struct iovec){(void *)p, len};
    if (s->out_framing == SL_OUT_CHUNKED) {
        iov[n++] = (struct iovec){"\r\n", 2};
    }
    int rc = sl_session_out_add(s, iov, n);
    if (rc == 0) {
        s->resp_body_bytes += len;
    }
    return rc;
}

/* The client cannot be given the bytes in hand (out of memory): the connection closes at once.
 * Returns CLOSED. */
static int
emit_failed(struct sl_session *s)
{
    sl_session_close(s);
    return CLOSED;
}

/* The response cannot be completed once its head is queued: the bytes already queued still go to
 * the client, then the connection closes, so that the client sees a truncated message (a short
 * Content-Length body, no last chunk), never a clean end. Logged as aborted. Returns 1. */
int
sl_session_abort_response(struct sl_session *s)
{
    s->close_after = true;
    s->aborted = true;
    sl_access_log_write(s);
    s->phase = SL_PHASE_CLOSING;
    s->linger = false;
    sl_session_release_upstream(s, false);
    return 1;
}

/* An error page in place of the response; the connection closes after it unless the request was
 * read completely and nothing of the connection's framing is in doubt. */
void
sl_session_fail_request(struct sl_session *s, int status, const char *message, bool default_json)
{
    if (s->resp_head_sent) {
        /* The upstream's response is already on its way (it answered before the request body
         * ended): an error page now would land inside its body. */
        sl_session_abort_response(s);
        return;
    }
    sl_session_dns_unpark(s); /* e.g. a 408 while waiting for a name: the request is over */
    sl_session_release_upstream(s, false);
    if (!s->req_done || s->phase == SL_PHASE_HEAD) {
        s->close_after = true;
    }
    sl_local_response(s, status, message, default_json, NULL);
}

/* The response is complete: its last chunk is queued (behind what is spooled). 0, or
 * emit_failed()'s result. */
static int
finish_response(struct sl_session *s)
{
    s->resp_done = true;
    if (s->out_framing == SL_OUT_CHUNKED) {
        struct iovec last = {"0\r\n\r\n", 5};
        int rc = sl_session_out_add(s, &last, 1);
        if (rc < 0) {
            return emit_failed(s);
        }
    }
    return 0;
}

/* Parses the response head and moves body bytes to the client buffer. */
int
sl_session_pump_response(struct sl_session *s)
{
    struct sl_worker *w = s->worker;
    const struct sl_proxy_settings *st = s->settings;
    struct sl_upconn *c = s->up;
    int progress = 0;

    while (!s->resp_head_done) {
        if (sl_buf_pending(&c->in) == 0) {
            return progress;
        }
        struct sl_h1_limits lim = {st->max_header_line, st->max_header_line, st->max_header_bytes,
                                   SL_PROXY_RESPONSE_HEADERS_MAX};
        struct sl_h1_response res;
        size_t have = sl_buf_pending(&c->in);
        if (sl_session_head_still_pending(sl_buf_head(&c->in), have, &s->resp_head_scanned, &lim,
                                          true, c->eof)) {
            return progress;
        }
        int rc = sl_h1_parse_response(sl_buf_head(&c->in), have, &lim, s->head_request, &res,
                                      w->hdr_scratch, w->hdr_cap - 1);
        if (rc == 0) {
            s->resp_head_scanned = have;
            return progress;
        }
        s->resp_head_scanned = 0;
        s->got_response_bytes = true;
        if (rc < 0) {
            return sl_session_upstream_failed(s, UP_INVALID_RESPONSE);
        }
        if (res.status >= 100 && res.status < 200 && res.status != 101) {
            /* An interim response has no body (RFC 9112 §6.3), but one that announces a body (a
             * Content-Length above 0, or chunked) comes from an upstream that may yet send those
             * bytes; on a reused connection they would be read as the next request's response,
             * as for a 204 with a length. The connection is not reused after this exchange. */
            s->resp_interim_body |= res.body_announced;
            sl_buf_consume(&c->in, (size_t)rc); /* interim responses are not forwarded */
            progress = 1;
            continue;
        }
        if (res.status == 101 && !s->upgrade_websocket) {
            return sl_session_upstream_failed(s, UP_INVALID_RESPONSE);
        }
        s->upstream_head_us = sl_clock_mono_us();
        s->status = res.status;
        s->resp_body = res.body;
        s->resp_remaining = res.body == SL_H1_BODY_LENGTH ? res.content_length : 0;
        s->resp_keep_alive = res.keep_alive && !s->resp_interim_body;
        s->resp_body_announced = res.body_announced;
        s->resp_spool_ok = s->route != NULL && s->route->response_buffering && res.status != 101;
        if (!s->spool.open) {
            s->spool.failed = false; /* each response tries the file again */
        }
        s->resp_chunked.response = true; /* an upstream's chunked framing: bare LFs are line ends */
        if (sl_head_build_client_response(s, &res) < 0) {
            return sl_session_upstream_failed(s, UP_INVALID_RESPONSE);
        }
        s->resp_head_done = true;
        s->resp_head_sent = true;
        sl_buf_consume(&c->in, (size_t)rc);
        progress = 1;
        if (res.status == 101) {
            s->phase = SL_PHASE_TUNNEL;
            s->resp_keep_alive = false;
            return progress;
        }
        if (s->head_request || res.body == SL_H1_BODY_NONE ||
            (res.body == SL_H1_BODY_LENGTH && res.content_length == 0)) {
            int ended = finish_response(s);
            return ended != 0 ? ended : progress;
        }
    }

    while (!s->resp_done && sl_buf_pending(&c->in) > 0 && sl_session_out_reserve(s) == 1) {
        if (s->resp_body == SL_H1_BODY_CHUNKED) {
            struct sl_str data;
            ssize_t used = sl_h1_chunked_decode(&s->resp_chunked, sl_buf_head(&c->in),
                                                sl_buf_pending(&c->in), &data);
            if (used < 0) {
                sl_log(SL_LOG_ERR,
                       "upstream sent an invalid chunked body for %s %s, request_id: \"%s\"",
                       s->method, s->target, s->request_id);
                return sl_session_abort_response(s);
            }
            int rc = emit_client_body(s, data.p, data.len);
            if (rc < 0) {
                return emit_failed(s);
            }
            sl_buf_consume(&c->in, (size_t)used);
            if (s->resp_chunked.done && (rc = finish_response(s)) != 0) {
                return rc;
            }
        } else {
            size_t n = sl_buf_pending(&c->in);
            if (s->resp_body == SL_H1_BODY_LENGTH && n > s->resp_remaining) {
                n = (size_t)s->resp_remaining;
            }
            int rc = emit_client_body(s, sl_buf_head(&c->in), n);
            if (rc < 0) {
                return emit_failed(s);
            }
            sl_buf_consume(&c->in, n);
            if (s->resp_body == SL_H1_BODY_LENGTH) {
                s->resp_remaining -= n;
                if (s->resp_remaining == 0 && (rc = finish_response(s)) != 0) {
                    return rc;
                }
            }
        }
        progress = 1;
    }
    if (!s->resp_done && c->eof && sl_buf_pending(&c->in) == 0) {
        /* A clean close ends a close-delimited body; a reset never does (nginx: readv() failed). */
        if (s->resp_body == SL_H1_BODY_UNTIL_CLOSE && !c->reset) {
            s->resp_keep_alive = false;
            int rc = finish_response(s);
            return rc != 0 ? rc : 1;
        }
        /* Truncated: the client must see an incomplete message, never a clean end. */
        sl_log(SL_LOG_ERR,
               "upstream %s while reading the response body of %s %s, request_id: \"%s\"",
               c->reset ? "reset the connection" : "prematurely closed connection", s->method,
               s->target, s->request_id);
        return sl_session_abort_response(s);
    }
    return progress;
}
