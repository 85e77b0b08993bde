/* SPDX-License-Identifier: Apache-2.0 */
/* A session's upstream attempts (kong.md §3.7): the target's addresses (a name's first answer
 * awaited), a connection per attempt with the request bytes queued on it, the timer bounding what
 * the upstream is waited for, the connection's reads and writes, and the failures: another
 * attempt with the bytes kept for replay, or the error the client gets. Connecting and pooling
 * themselves are upstream.c's; this file decides which connection a request gets and when to give
 * up on it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/session.h"
#include "sluice/log.h"

/* ---- the upstream connection in a session's hands -------------------------------------------- */

static int
up_wait_timeout(const struct sl_session *s, enum up_wait wait)
{
    switch (wait) {
    case UP_WAIT_CONNECT:
        return s->service->connect_timeout_ms;
    case UP_WAIT_WRITE:
        return s->service->write_timeout_ms;
    case UP_WAIT_READ:
        return s->service->read_timeout_ms;
    default:
        return 0;
    }
}

/* Starts bounding a new wait: a full timeout from now. */
void
sl_session_set_upstream_wait(struct sl_session *s, enum up_wait wait)
{
    s->up->wait = (uint8_t)wait;
    sl_lazy_timer_set(s->worker->loop, &s->up->timer, up_wait_timeout(s, wait));
}

/* The upstream made progress on what it is waited for: the timeout starts again. */
void
sl_session_renew_upstream_wait(struct sl_session *s)
{
    sl_session_set_upstream_wait(s, (enum up_wait)s->up->wait);
}

void
sl_session_release_upstream(struct sl_session *s, bool reusable)
{
    struct sl_upconn *c = s->up;
    if (c == NULL) {
        return;
    }
    s->up = NULL;
    s->up_revents = 0; /* they were the released connection's */
    if (reusable) {
        c->requests++;
        sl_pool_put(s->worker, c, s->resp_body_announced);
    } else {
        sl_upconn_close(c);
    }
}

/* Flushes the upstream buffer; returns -1 on a write error (the caller treats it as a failure). */
int
sl_session_flush_upstream(struct sl_upconn *c)
{
    int rc = 0;
    while (up_unsent(c) > 0) {
        ssize_t n = sl_upconn_send(c, sl_buf_head(&c->out) + c->sent, up_unsent(c));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
            break;
        }
        c->sent += (size_t)n;
        c->wrote = true;
    }
    /* Sent bytes leave the buffer at once (unless kept for a replay), also after a partial send:
     * the request-body pump appends while fewer than a high-water's worth are *unsent*, so sent
     * bytes left in place would fill the buffer's cap, fail the append, and stall the body with
     * no watcher armed (the stall tests/wire/test_wire_backpressure.py reproduced). */
    if (!c->replayable) {
        sl_buf_consume(&c->out, c->sent);
        c->sent = 0;
    }
    return rc;
}

/* Queues request bytes for the upstream. While the request stays small its bytes are kept after
 * being sent, so that a failed attempt can be replayed on a new connection. */
int
sl_session_up_append(struct sl_upconn *c, const void *p, size_t len)
{
    if (c->replayable && sl_buf_pending(&c->out) + len > SL_PROXY_REPLAY_MAX + SL_HOST_PORT_SLACK) {
        c->replayable = false;
        sl_buf_consume(&c->out, c->sent);
        c->sent = 0;
    }
    return sl_buf_append(&c->out, p, len, SL_PROXY_REPLAY_MAX + 2 * SL_PROXY_HIGH_WATER);
}

/* One read from the upstream into its buffer, up to the cap a response head and one high-water's
 * worth of body may take. EOF and errors are noted on <c> (an error is a reset, its errno kept for
 * the failure's log line); the result and errno are recv's, ENOBUFS when the buffer is full. */
ssize_t
sl_session_read_upstream(struct sl_session *s, struct sl_upconn *c)
{
    ssize_t n = sl_upconn_recv(c, s->settings->max_header_bytes + SL_PROXY_HIGH_WATER);
    if (n == 0) {
        c->eof = true;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
               errno != EINTR) {
        s->up_errno = errno;
        c->eof = c->reset = true;
    }
    return n;
}

/* ---- upstream ------------------------------------------------------------------------------- */

/* An SRV answer gives each address its own port, and Kong sets Host for every try from the
 * address it picked (ngx.balancer.recreate_request): the bytes this attempt sends name <port>,
 * unless the client's Host is kept (preserve_host). 0, or -1 when out of memory. */
static int
follow_port_in_host(struct sl_session *s, uint16_t port)
{
    if (!s->host_from_service || port == s->host_port) {
        return 0;
    }
    /* the bytes the attempt sends: those kept for replay, or before any the head alone */
    bool kept = s->replay != NULL;
    char **bytes = kept ? &s->replay : &s->up_head;
    char *p = sl_head_set_host_port(s, *bytes, kept ? &s->replay_len : &s->up_head_len,
                                    kept ? &s->replay_cap : &s->up_head_cap, port);
    if (p == NULL) {
        return -1;
    }
    *bytes = p;
    s->host_port = port;
    return 0;
}

/* The name an https attempt sends as SNI and checks the certificate against: the Host it sends
 * without the port (Kong: proxy_ssl_name $upstream_host, which nginx takes without the port),
 * the service's host or, with preserve_host, the client's. An IPv6 literal loses its brackets.
 * NULL when out of memory. */
static const char *
upstream_tls_name(struct sl_session *s)
{
    if (s->host_from_service) {
        return s->service->host;
    }
    struct sl_str h = s->host_noport;
    if (h.len >= 2 && h.p[0] == '[' && h.p[h.len - 1] == ']') {
        return sl_arena_strndup(s->arena, h.p + 1, h.len - 2);
    }
    return h.p;
}

/* Connects (or takes a pooled connection) and queues the request head, or on a retry every request
 * byte kept from the failed attempts (s->replay). On failure s->up stays NULL: a connection is only
 * handed to the session once its bytes are queued, so the next retry still has them all. */
static int
connect_attempt(struct sl_session *s, bool allow_pool)
{
    const struct sl_addrs *t = s->addrs;
    size_t i = s->addr_index % t->n;
    const struct sockaddr *addr = (const struct sockaddr *)&t->addr[i];
    s->proxied = true;
    if (follow_port_in_host(s, sl_addrs_port(t, i)) < 0) {
        s->tries++;
        s->up_errno = ENOMEM;
        return -1;
    }
    struct sl_upconn_tls tls_spec, *tls = NULL;
    char key[sizeof(s->svc_target->tls_digest) + 1 + 256];
    if (s->svc_target->tls_ctx != NULL) {
        const char *name = upstream_tls_name(s);
        /* a name longer than DNS allows (a client's Host, with preserve_host) cannot be SNI */
        if (name == NULL || strlen(name) > 255) {
            s->tries++;
            s->up_errno = EPROTO;
            return -1;
        }
        const char *pool_key = s->svc_target->tls_pool_key;
        if (!s->host_from_service) { /* the client's Host names the connection */
            snprintf(key, sizeof(key), "%s|%s", s->svc_target->tls_digest, name);
            pool_key = key;
        }
        tls_spec = (struct sl_upconn_tls){s->svc_target->tls_ctx, name, pool_key};
        tls = &tls_spec;
    }
    struct sl_upconn *c =
        allow_pool ? sl_pool_take(s->worker, addr, t->len[i], tls ? tls->pool_key : NULL) : NULL;
    if (c == NULL) {
        c = sl_upconn_connect(s->worker, addr, t->len[i], tls);
    }
    s->tries++;
    if (c == NULL) {
        s->up_errno = errno;
        return -1;
    }
    /* A buffered body is sent again from its store: the attempt queues the head, then the body
     * from its first byte (s->replay is never set for such a request). */
    s->body_queued = 0;
    const char *bytes = s->replay != NULL ? s->replay : s->up_head;
    size_t len = s->replay != NULL ? s->replay_len : s->up_head_len;
    if (sl_session_up_append(c, bytes, len) < 0) {
        sl_upconn_close(c);
        s->up_errno = ENOMEM;
        return -1;
    }
    sl_upconn_attach(c, s);
    s->up = c;
    s->resp_head_scanned = 0; /* counted in this connection's bytes */
    if (c->reused) {
        c->connected = true;
        sl_session_set_upstream_wait(s, UP_WAIT_WRITE);
    } else {
        sl_session_set_upstream_wait(s, UP_WAIT_CONNECT);
    }
    return 0;
}

/* Keeps the request bytes queued on the failed connection <c> for the next attempts. <c> is
 * replayable, so its buffer holds the request from its first byte; it began with the bytes replayed
 * into it, so it is never shorter than s->replay. The copy grows geometrically within the arena
 * (at most about twice SL_PROXY_REPLAY_MAX however many retries; a Host rewrite for another port
 * happens in place). Returns 0 or -1 (ENOMEM). */
static int
keep_replay(struct sl_session *s, const struct sl_upconn *c)
{
    size_t len = c->out.len;
    if (s->replay != NULL && len <= s->replay_len) {
        return 0;
    }
    if (len > s->replay_cap) {
        /* with room for a Host line naming another port (follow_port_in_host rewrites in place) */
        size_t max = SL_PROXY_REPLAY_MAX + SL_HOST_PORT_SLACK;
        size_t cap = s->replay_cap * 2;
        if (cap < len + SL_HOST_PORT_SLACK) {
            cap = len + SL_HOST_PORT_SLACK;
        }
        if (cap > max) {
            cap = max > len ? max : len;
        }
        char *p = sl_arena_alloc(s->arena, cap);
        if (p == NULL) {
            return -1;
        }
        s->replay = p;
        s->replay_cap = cap;
    }
    if (len > 0) {
        memcpy(s->replay, c->out.data, len);
    }
    s->replay_len = len;
    return 0;
}

/* The failure a connect attempt that got no connection stands for (connect_attempt's errno). */
static enum upstream_failure
connect_failure(int err)
{
    /* EPROTO: no TLS state could be made (memory; a name too long to be SNI) */
    bool local = err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS || err == EPROTO;
    return local ? UP_LOCAL_ERROR : UP_CONNECT_ERROR;
}

static int
start_upstream(struct sl_session *s)
{
    if (connect_attempt(s, true) < 0) {
        return sl_session_upstream_failed(s, connect_failure(s->up_errno));
    }
    return 0;
}

/* ---- name resolution ------------------------------------------------------------------------ */

static void
dns_park(struct sl_session *s)
{
    struct sl_worker *w = s->worker;
    s->park_next = w->dns_parked;
    if (s->park_next != NULL) {
        s->park_next->park_pprev = &s->park_next;
    }
    w->dns_parked = s;
    s->park_pprev = &w->dns_parked;
}

void
sl_session_dns_unpark(struct sl_session *s)
{
    if (s->park_pprev != NULL) {
        *s->park_pprev = s->park_next;
        if (s->park_next != NULL) {
            s->park_next->park_pprev = s->park_pprev;
        }
        s->park_next = NULL;
        s->park_pprev = NULL;
    }
}

/* Takes the addresses of the request's target and connects. A host name whose first answer has
 * not arrived parks the request (the client side keeps being read, within its buffer and timers)
 * until the resolver settles it: then sl_session_dns_settled calls this again. A name that does
 * not exist answers 503, a failure of the name servers 500, as Kong does. */
int
sl_session_resolve_and_start(struct sl_session *s)
{
    enum sl_dns_state state;
    if (s->svc_target->refuse_status != 0) {
        /* a service Sluice cannot serve yet: decided when the snapshot was compiled */
        sl_session_fail_request(s, s->svc_target->refuse_status, s->svc_target->refuse_message,
                                true);
        return 1;
    }
    if (s->svc_target->dns != NULL && s->addrs_copy == NULL &&
        (s->addrs_copy = sl_arena_alloc(s->arena, sizeof(*s->addrs_copy))) == NULL) {
        sl_session_close(s);
        return CLOSED;
    }
    s->addrs = sl_snapshot_target_addrs(s->svc_target, s->addrs_copy, &state);
    if (state == SL_DNS_PENDING) {
        dns_park(s);
        return 0;
    }
    if (state == SL_DNS_NOT_FOUND) {
        sl_session_fail_request(s, 503, "name resolution failed", true);
        return 1;
    }
    if (state != SL_DNS_OK || s->addrs->n == 0) {
        /* Kong: a DNS failure other than "no such name" is an internal error, 500 with the
         * default message; the cause is in the error log. */
        sl_session_fail_request(s, 500, NULL, true);
        return 1;
    }
    /* Successive requests start at successive addresses, as Kong's balancer spreads a name's
     * records (weighted by SRV weights); retries go on from there. */
    s->addr_index =
        s->addrs->n > 1 ? sl_addrs_pick(s->addrs, sl_snapshot_target_turn(s->svc_target)) : 0;
    return start_upstream(s);
}

/* ---- failures -------------------------------------------------------------------------------- */

static const char *const failure_names[UP_FAILURE_MAX] = {
    "connect() failed",
    "connect() timed out",
    "connection reset or closed prematurely",
    "upstream timed out",
    "upstream sent an invalid response",
    "socket() failed",
    "TLS handshake with the upstream failed",
};

/* nginx proxy_next_upstream "error timeout" with non-idempotent requests kept to one attempt once
 * sent (kong.md §3.7), plus one transparent retry when a pooled connection turns out stale. */
int
sl_session_upstream_failed(struct sl_session *s, enum upstream_failure why)
{
    struct sl_upconn *c = s->up;
    /* No response head on this attempt, though perhaps part of one: nginx retries an error or a
     * timeout while it reads the head (ngx_http_upstream_next, proxy_next_upstream "error timeout")
     * whatever part of the head came, since nothing of it reached the client. */
    bool no_head = c == NULL || (!s->resp_head_done && !s->got_response_bytes);
    /* ... and not a byte of it: what a stale pooled connection looks like. */
    bool nothing_received = no_head && (c == NULL || sl_buf_pending(&c->in) == 0);
    /* A buffered body can always be sent again, whatever its size: it is all in its store. */
    bool replayable = c == NULL || c->replayable || s->req_buffered;
    /* The request id ends the line, as Kong's error log has it (request_id: "..."), so that a
     * client's X-Sluice-Request-Id finds what happened to its request. */
    const char *detail = s->up_detail ? s->up_detail : s->up_errno ? strerror(s->up_errno) : NULL;
    sl_log(SL_LOG_ERR, "%s%s%s while proxying %s %s to service %s (attempt %d), request_id: \"%s\"",
           failure_names[why], detail ? ": " : "", detail ? detail : "",
           s->method ? s->method : "-", s->target ? s->target : "-",
           s->service && s->service->name ? s->service->name : "-", s->tries, s->request_id);
    s->up_errno = 0;
    s->up_detail = NULL;

    if (s->resp_head_sent) {
        /* Part of the response is out: the only honest end is an abort. */
        return sl_session_abort_response(s);
    }
    bool retry = false;
    /* The stale keep-alive race (the upstream closed a pooled connection as it was reused): retried
     * once, transparently, when the method is idempotent or no byte reached the socket. A request
     * that was written may have been acted on, so a POST is not sent twice (nginx
     * proxy_next_upstream without non_idempotent; hardening.md §12). */
    bool stale_pooled = c != NULL && c->reused && why == UP_IO_ERROR && nothing_received &&
                        !s->pool_retry_used && (s->idempotent || !c->wrote);
    if (stale_pooled && replayable) {
        s->pool_retry_used = true;
        s->tries--; /* the stale attempt does not count against service.retries */
        retry = true;
    } else if (why != UP_INVALID_RESPONSE && why != UP_LOCAL_ERROR && replayable && no_head &&
               s->tries <= s->service->retries) {
        bool sent_nothing =
            why == UP_CONNECT_ERROR || why == UP_CONNECT_TIMEOUT || why == UP_TLS_ERROR;
        retry = sent_nothing || s->idempotent;
    }
    if (retry && (c == NULL || s->req_buffered || keep_replay(s, c) == 0)) {
        /* With c == NULL the attempt that failed queued nothing: s->replay (or, before any retry,
         * the head alone) is still the whole request so far. */
        sl_session_release_upstream(s, false);
        s->addr_index++;
        if (connect_attempt(s, false) == 0) {
            return 0;
        }
        return sl_session_upstream_failed(s, connect_failure(s->up_errno));
    }
    bool timeout = why == UP_CONNECT_TIMEOUT || why == UP_TIMEOUT;
    /* nginx answers a local shortage with 500, and does not try the next address for it */
    sl_session_fail_request(s, why == UP_LOCAL_ERROR ? 500 : timeout ? 504 : 502, NULL, false);
    return 1;
}

/* Reads what the upstream socket holds now, up to the buffer's cap (EOF and errors noted). */
static void
read_upstream_now(struct sl_session *s, struct sl_upconn *c)
{
    while (!c->eof && sl_session_read_upstream(s, c) > 0) {
    }
}

/* Writing the request failed: the upstream closed or reset. It may have answered first, as an
 * upstream refusing a large upload does (413 or 401, then close), and the answer may be waiting
 * unread in the socket: when its head is there (or came before), the response is served and the
 * rest of the request body dropped, as the upstream meant. Otherwise this is an upstream failure
 * like any other. Returns 1 or CLOSED. */
int
sl_session_upstream_write_failed(struct sl_session *s)
{
    struct sl_upconn *c = s->up;
    int err = errno;
    if (s->phase == SL_PHASE_TUNNEL) {
        s->up_errno = err;
        return sl_session_upstream_failed(s, UP_IO_ERROR); /* an aborted tunnel */
    }
    /* The failed send took the socket's error with it, so the reads below see a clean EOF; but
     * the connection was reset, and a close-delimited body ended by it may be cut short. */
    c->reset = true;
    if (!s->resp_head_done) {
        read_upstream_now(s, c);
        if (sl_session_pump_response(s) == CLOSED) {
            return CLOSED;
        }
        if (s->phase != SL_PHASE_PROXY || s->up != c) {
            return 1; /* settled there (an invalid head: 502) */
        }
    }
    if (s->resp_head_done) {
        c->write_failed = true;
        c->out.off = c->out.len = 0;
        c->sent = 0;
        c->replayable = false;
        return 1;
    }
    s->up_errno = err;
    return sl_session_upstream_failed(s, UP_IO_ERROR);
}
