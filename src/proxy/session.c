/* SPDX-License-Identifier: Apache-2.0 */
/* A client connection and the requests it carries (DESIGN.md §3): read and parse a head, route it,
 * forward it to an upstream connection, stream both bodies with backpressure, and either keep the
 * connection for the next request or close it. Everything runs on the owning worker's loop.
 *
 * Control flow: every I/O or timer event updates buffers and calls run(), which advances the state
 * machine as far as the buffered bytes allow, then flushes and re-arms watchers and timers. A
 * function that may free the session returns CLOSED, and its caller stops touching the session. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/rand.h"
#include "http/hdr_names.h"
#include "http/path.h"
#include "net/cidr.h"
#include "net/proxy_protocol.h"
#include "proxy/internal.h"
#include "router/upstream_uri.h"
#include "sluice/log.h"

#define CLOSED (-1)

enum upstream_failure {
    UP_CONNECT_ERROR = 0, /* refused, unreachable: nothing was sent */
    UP_CONNECT_TIMEOUT,
    UP_IO_ERROR,         /* reset or EOF before a complete response head */
    UP_TIMEOUT,          /* write or read idle timeout */
    UP_INVALID_RESPONSE, /* the response head failed the strict parser */
    UP_LOCAL_ERROR, /* no socket: out of descriptors or memory here, not the upstream's fault */
    UP_FAILURE_MAX
};

static int run(struct sl_session *s);
static void dns_unpark(struct sl_session *s);

/* ---- helpers -------------------------------------------------------------------------------- */

static size_t
in_cap(const struct sl_session *s)
{
    size_t cap = s->settings->max_header_bytes + 4096;
    return cap > SL_PROXY_HIGH_WATER ? cap : SL_PROXY_HIGH_WATER;
}

static size_t
up_unsent(const struct sl_upconn *c)
{
    return sl_buf_pending(&c->out) - c->sent;
}

static void
set_client_timer(struct sl_session *s, int timeout_ms)
{
    sl_lazy_timer_set(s->worker->loop, &s->timer, timeout_ms);
}

/* What the upstream connection's timer bounds, as nginx's upstream timers do: the connect; a
 * write the upstream does not take (write_timeout, only while bytes wait for its socket); the wait
 * for its answer and for each next read (read_timeout, only once the request is sent or the
 * response has begun, and only while Sluice reads it). Nothing while the request waits for the
 * client's body or the response waits for the client to read: the client's timers bound those, so
 * a slow client is never a timed-out upstream (a 504, or a response aborted). */
enum up_wait {
    UP_WAIT_NONE = 0,
    UP_WAIT_CONNECT,
    UP_WAIT_WRITE,
    UP_WAIT_READ,
};

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
static void
set_upstream_wait(struct sl_session *s, enum up_wait wait)
{
    s->up->wait = (uint8_t)wait;
    sl_lazy_timer_set(s->worker->loop, &s->up->timer, up_wait_timeout(s, wait));
}

/* The upstream made progress on what it is waited for: the timeout starts again. */
static void
renew_upstream_wait(struct sl_session *s)
{
    set_upstream_wait(s, (enum up_wait)s->up->wait);
}

static void
release_upstream(struct sl_session *s, bool reusable)
{
    struct sl_upconn *c = s->up;
    if (c == NULL) {
        return;
    }
    s->up = NULL;
    s->up_revents = 0; /* they were the released connection's */
    if (reusable) {
        c->requests++;
        sl_pool_put(s->worker, c);
    } else {
        sl_upconn_close(c);
    }
}

static void
reset_request(struct sl_session *s)
{
    release_upstream(s, false);
    if (s->snap != NULL) {
        sl_snapshot_unref(s->snap);
        s->snap = NULL;
    }
    if (s->arena != NULL) {
        sl_arena_reset(s->arena);
    }
    /* Everything from request_id on is per request. */
    size_t from = offsetof(struct sl_session, request_id);
    memset((char *)s + from, 0, sizeof(*s) - from);
}

void
sl_session_close(struct sl_session *s)
{
    struct sl_worker *w = s->worker;
    sl_dispatch_forget(s);
    dns_unpark(s);
    reset_request(s);
    ev_io_stop(w->loop, &s->rio);
    ev_io_stop(w->loop, &s->wio);
    sl_lazy_timer_stop(w->loop, &s->timer);
    close(s->fd);
    s->in.off = s->in.len = 0; /* unsent or unread bytes die with the connection */
    sl_proxy_buf_release(w, &s->in);
    s->out.off = s->out.len = 0;
    sl_proxy_buf_release(w, &s->out);
    sl_proxy_arena_release(w, s->arena);
    sl_proxy_settings_unref(s->settings);
    sl_worker_session_closed(w, s);
    free(s);
}

/* The client's connection ended (a reset, a write error, an EOF) while a request was in progress:
 * the request is logged as aborted, with status 499 when no response head went out (nginx), and
 * the connection closes with its upstream connection. */
static void
client_failed(struct sl_session *s)
{
    if (s->phase == SL_PHASE_PROXY || s->phase == SL_PHASE_TUNNEL) {
        if (!s->resp_head_sent) {
            s->status = 499;
        }
        s->aborted = true;
        sl_access_log_write(s);
    }
    sl_session_close(s);
}

void
sl_session_close_if_idle(struct sl_session *s)
{
    if ((s->phase == SL_PHASE_HEAD && !s->got_bytes && sl_buf_pending(&s->out) == 0) ||
        s->phase == SL_PHASE_LINGER) {
        sl_session_close(s);
    }
}

/* Starts the per-request state: id, arena, snapshot. */
static int
begin_request(struct sl_session *s)
{
    if (s->arena == NULL) {
        s->arena = sl_proxy_arena_take(s->worker);
        if (s->arena == NULL) {
            return -1;
        }
    }
    if (s->request_id[0] == '\0') {
        sl_request_id(s->request_id);
    }
    if (s->start_us == 0) {
        s->start_us = sl_clock_mono_us();
    }
    return 0;
}

/* Flushes the client buffer. Returns CLOSED on a write error. */
static int
flush_client(struct sl_session *s)
{
    bool wrote = false;
    while (sl_buf_pending(&s->out) > 0) {
        ssize_t n = sl_buf_write_fd(&s->out, s->fd);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            sl_log(SL_LOG_INFO, "client %s: write failed: %s", s->peer_ip, strerror(errno));
            client_failed(s);
            return CLOSED;
        }
        wrote = true;
        /* Progress towards a slow reader resets the send timeout (nginx send_timeout), also for
         * the tail of a finished response (HEAD phase before the next request's first byte). */
        if (s->phase != SL_PHASE_HEAD || !s->got_bytes) {
            set_client_timer(s, s->settings->send_timeout_ms);
        }
    }
    if (s->phase == SL_PHASE_HEAD && !s->got_bytes && wrote) {
        /* The last response is all out: now idle. Only then: before a connection's first request
         * (a PROXY protocol header read, no request byte yet) the header deadline from accept
         * stands, not the keep-alive one (which may even be 0: off). */
        set_client_timer(s, s->settings->keepalive_timeout_ms);
    } else if (wrote && (s->phase == SL_PHASE_PROXY || s->phase == SL_PHASE_TUNNEL)) {
        /* All out: the client is no longer waited for. send_timeout bounds a write that does not
         * progress (nginx), not the upstream's pauses between bytes (read_timeout bounds those:
         * an event stream quiet for longer than send_timeout is not cut) nor a tunnel's quiet
         * direction; the client's own body, while it is still due, keeps its timeout. */
        set_client_timer(s, s->phase == SL_PHASE_PROXY && !s->req_done
                                ? s->settings->client_body_timeout_ms
                                : 0);
    }
    sl_proxy_buf_release(s->worker, &s->out);
    return 0;
}

/* Flushes the upstream buffer; returns -1 on a write error (the caller treats it as a failure). */
static int
flush_upstream(struct sl_upconn *c)
{
    int rc = 0;
    while (up_unsent(c) > 0) {
        ssize_t n = send(c->fd, sl_buf_head(&c->out) + c->sent, up_unsent(c), MSG_NOSIGNAL);
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
static int
up_append(struct sl_upconn *c, const void *p, size_t len)
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
static ssize_t
read_upstream(struct sl_session *s, struct sl_upconn *c)
{
    ssize_t n = sl_buf_recv(&c->in, c->fd, s->settings->max_header_bytes + SL_PROXY_HIGH_WATER);
    if (n == 0) {
        c->eof = true;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
               errno != EINTR) {
        s->up_errno = errno;
        c->eof = c->reset = true;
    }
    return n;
}

static int
emit_client_body(struct sl_session *s, const char *p, size_t len)
{
    if (len == 0 || s->out_framing == SL_OUT_NONE) {
        return 0;
    }
    size_t cap = SIZE_MAX;
    if (s->out_framing == SL_OUT_CHUNKED) {
        char hdr[24];
        int n = snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
        if (sl_buf_append(&s->out, hdr, (size_t)n, cap) < 0 ||
            sl_buf_append(&s->out, p, len, cap) < 0 || sl_buf_append(&s->out, "\r\n", 2, cap) < 0) {
            return -1;
        }
    } else if (sl_buf_append(&s->out, p, len, cap) < 0) {
        return -1;
    }
    s->resp_body_bytes += len;
    return 0;
}

/* The response cannot be completed once its head is queued: the bytes already queued still go to
 * the client, then the connection closes, so that the client sees a truncated message (a short
 * Content-Length body, no last chunk), never a clean end. Logged as aborted. Returns 1. */
static int
abort_response(struct sl_session *s)
{
    s->close_after = true;
    s->aborted = true;
    sl_access_log_write(s);
    s->phase = SL_PHASE_CLOSING;
    s->linger = false;
    release_upstream(s, false);
    return 1;
}

/* An error page in place of the response; the connection closes after it unless the request was
 * read completely and nothing of the connection's framing is in doubt. */
static void
fail_request(struct sl_session *s, int status, const char *message, bool default_json)
{
    if (s->resp_head_sent) {
        /* The upstream's response is already on its way (it answered before the request body
         * ended): an error page now would land inside its body. */
        abort_response(s);
        return;
    }
    dns_unpark(s); /* e.g. a 408 while waiting for a name: the request is over */
    release_upstream(s, false);
    if (!s->req_done || s->phase == SL_PHASE_HEAD) {
        s->close_after = true;
    }
    sl_local_response(s, status, message, default_json, NULL);
}

/* ---- request head --------------------------------------------------------------------------- */

static char *
arena_str(struct sl_session *s, struct sl_str v)
{
    return sl_arena_strndup(s->arena, v.p ? v.p : "", v.len);
}

static const char *
header_copy(struct sl_session *s, const struct sl_header *h)
{
    return h ? arena_str(s, h->value) : NULL;
}

/* Looks every header name of <req> up once, into <ids> (for the upstream head), and copies the
 * values kept for logs and error pages (the first of each name, as sl_h1_find_header would).
 *
 * Names holding an underscore are dropped from <req> on the way, as nginx, and so Kong, ignores
 * them (underscores_in_headers off, ignore_invalid_headers on): they are neither routed on nor
 * forwarded. An upstream that maps '-' and '_' to the same variable (CGI, WSGI, PHP) would
 * otherwise take a client's X_Forwarded_For for the X-Forwarded-For Sluice sets. */
static void
index_request_headers(struct sl_session *s, struct sl_h1_request *req, uint8_t *ids)
{
    const struct sl_header *ua = NULL, *referer = NULL, *accept = NULL, *ctype = NULL;
    size_t kept = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (memchr(req->headers[i].name.p, '_', req->headers[i].name.len) != NULL) {
            continue;
        }
        if (kept != i) {
            req->headers[kept] = req->headers[i];
        }
        const struct sl_header *h = &req->headers[kept];
        enum sl_hn id = sl_http_hn_lookup(h->name);
        ids[kept++] = (uint8_t)id;
        switch (id) {
        case SL_HN_USER_AGENT:
            ua = ua ? ua : h;
            break;
        case SL_HN_REFERER:
            referer = referer ? referer : h;
            break;
        case SL_HN_ACCEPT:
            accept = accept ? accept : h;
            break;
        case SL_HN_CONTENT_TYPE:
            ctype = ctype ? ctype : h;
            break;
        default:
            break;
        }
    }
    req->nheaders = kept;
    s->user_agent = header_copy(s, ua);
    s->referer = header_copy(s, referer);
    /* error_handlers.lua falls back to Content-Type for the error format. */
    s->accept = header_copy(s, accept ? accept : ctype);
}

static bool
method_is_idempotent(struct sl_str m)
{
    switch (m.len) {
    case 3:
        return memcmp(m.p, "GET", 3) == 0 || memcmp(m.p, "PUT", 3) == 0;
    case 4:
        return memcmp(m.p, "HEAD", 4) == 0;
    case 5:
        return memcmp(m.p, "TRACE", 5) == 0;
    case 6:
        return memcmp(m.p, "DELETE", 6) == 0;
    case 7:
        return memcmp(m.p, "OPTIONS", 7) == 0;
    default:
        return false;
    }
}

/* Splits the Host value into a lowercased name and an optional port. */
static void
split_host(struct sl_session *s, struct sl_str host, uint16_t *port)
{
    size_t end = host.len;
    *port = 0;
    if (host.len == 0) {
        s->host_noport = SL_STR_NULL;
        return;
    }
    if (host.p[0] == '[') {
        const char *rb = memchr(host.p, ']', host.len);
        end = rb ? (size_t)(rb - host.p) + 1 : host.len;
    } else {
        const char *colon = memchr(host.p, ':', host.len);
        end = colon ? (size_t)(colon - host.p) : host.len;
    }
    if (end < host.len && host.p[end] == ':') {
        unsigned v = 0;
        for (size_t i = end + 1; i < host.len && host.p[i] >= '0' && host.p[i] <= '9'; i++) {
            v = v * 10 + (unsigned)(host.p[i] - '0');
        }
        *port = v <= 65535 ? (uint16_t)v : 0;
    }
    char *lower = sl_arena_strndup(s->arena, host.p ? host.p : "", end);
    if (lower == NULL) {
        s->host_noport = SL_STR_NULL;
        return;
    }
    for (size_t i = 0; i < end; i++) {
        if (lower[i] >= 'A' && lower[i] <= 'Z') {
            lower[i] = (char)(lower[i] + 32);
        }
    }
    /* A trailing dot names the same host (kong.md §3.1). */
    if (end > 1 && lower[end - 1] == '.') {
        lower[--end] = '\0';
    }
    s->host_noport = (struct sl_str){lower, end};
}

/* kong/tools/http.lua check_https: a trusted peer may say the original request was https with a
 * single X-Forwarded-Proto value. */
static bool
forwarded_https(const struct sl_session *s, const struct sl_h1_request *req)
{
    const struct sl_conf *conf = &s->settings->conf;
    if (conf->ntrusted_ips == 0 ||
        !sl_cidr_list_match_sockaddr(conf->trusted_ips, conf->ntrusted_ips,
                                     (const struct sockaddr *)&s->peer)) {
        return false;
    }
    const struct sl_header *h = sl_h1_find_header(req->headers, req->nheaders, "x-forwarded-proto");
    return h != NULL && sl_str_caseeq_cstr(h->value, "https");
}

static void
https_redirect(struct sl_session *s, const struct sl_route *route, const struct sl_h1_request *req)
{
    int code = route->https_redirect_status_code;
    if (code == 426) {
        s->close_after = s->close_after || !s->req_done;
        sl_local_response(s, 426, "Please use HTTPS protocol", true,
                          "Upgrade: TLS/1.2, HTTP/1.1\r\n");
        /* Kong answers with Connection: Upgrade; the local response already set Connection. */
        return;
    }
    /* handler.lua: "https://" .. forwarded_host .. ctx.request_uri. forwarded_host is a trusted
     * peer's X-Forwarded-Host, else $host; $request_uri is the path and query as sent, without
     * the scheme and authority of an absolute-form target. */
    struct sl_str host = s->host_noport;
    const struct sl_header *xfh =
        s->peer_trusted ? sl_h1_find_header(req->headers, req->nheaders, "x-forwarded-host") : NULL;
    if (xfh != NULL && xfh->value.len > 0) {
        host = xfh->value;
    }
    struct sl_str path = req->path.len ? req->path : SL_STR("/");
    char *loc = sl_arena_sprintf(s->arena, "Location: https://%.*s%.*s%s%.*s\r\n", (int)host.len,
                                 host.p, (int)path.len, path.p, req->has_query ? "?" : "",
                                 (int)req->query.len, req->query.p);
    s->close_after = s->close_after || !s->req_done;
    sl_local_response(s, code, "", true, loc); /* "": redirects carry no body */
}

static int start_upstream(struct sl_session *s);
static int resolve_and_start(struct sl_session *s);

/* True when <received> payload bytes plus what the current chunk still announces exceed <max>
 * (0: no limit). Counting the declared size refuses an oversized chunk when its size line arrives,
 * as nginx does, not after the client has sent (and we have forwarded) up to the limit. */
static bool
over_body_limit(uint64_t received, const struct sl_h1_chunked *st, uint64_t max)
{
    uint64_t announced = sl_h1_chunked_announced(st);
    return max != 0 && (received > max || announced > max - received);
}

/* Bodies are streamed, so the upstream sees the request before its body has arrived. The chunked
 * bytes that did arrive with the head are checked before any upstream connection is made: a request
 * whose malformed or oversized body is already here is refused without reaching the upstream.
 * Returns 0, or the status to answer with. */
static int
prevalidate_chunked_body(const struct sl_session *s)
{
    struct sl_h1_chunked st = {0};
    const char *p = sl_buf_head(&s->in);
    size_t left = sl_buf_pending(&s->in);
    uint64_t total = 0;
    uint64_t max = s->settings->max_body_bytes;
    while (left > 0 && !st.done) {
        struct sl_str data;
        ssize_t used = sl_h1_chunked_decode(&st, p, left, &data);
        if (used < 0) {
            return 400;
        }
        if (used == 0) {
            break;
        }
        total += data.len;
        if (over_body_limit(total, &st, max)) {
            return 413;
        }
        p += used;
        left -= (size_t)used;
    }
    return 0;
}

/* The parsers keep no state, so a head is parsed again from its start after every read. When the
 * bytes added since the last parse (<*scanned> bytes of <have>) cannot have completed the head
 * (sl_h1_head_pending), the parse is skipped and *<scanned> moves on: a head sent a byte at a
 * time costs linear time, not quadratic. Not at EOF, where the parse must give its verdict. */
static bool
head_still_pending(const char *buf, size_t have, size_t *scanned, const struct sl_h1_limits *lim,
                   bool response, bool eof)
{
    if (*scanned == 0 || eof || !sl_h1_head_pending(buf, have, *scanned, lim, response)) {
        return false;
    }
    *scanned = have;
    return true;
}

/* A request the parser refused: its request line, as far as it reads as one, is kept for the
 * access log (nginx logs $request for a 400 too; the access log escapes it), and the refusal goes
 * to the error log at info, as nginx's "client sent invalid ..." lines do (without client bytes:
 * the error log does not escape). */
static void
note_rejected_request(struct sl_session *s, int status)
{
    const char *p = sl_buf_head(&s->in);
    size_t n = sl_buf_pending(&s->in);
    size_t line = 0;
    while (line < n && line < 2048 && p[line] != '\r' && p[line] != '\n') {
        line++;
    }
    const char *sp1 = memchr(p, ' ', line);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(p + line - sp1 - 1)) : NULL;
    if (sp1 != NULL) {
        s->method = sl_arena_strndup(s->arena, p, (size_t)(sp1 - p));
        const char *end = sp2 ? sp2 : p + line;
        s->target = sl_arena_strndup(s->arena, sp1 + 1, (size_t)(end - sp1 - 1));
    }
    if (sp2 != NULL && p + line - sp2 == 9 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0) {
        s->minor = 1;
    }
    sl_log(SL_LOG_INFO, "client %s sent an invalid request head: answered %d", s->peer_ip, status);
}

/* The PROXY protocol header a `proxy_protocol` listener expects before the first request (nginx's
 * listen flag): consumed, and its client address kept for real_ip_header = proxy_protocol. A
 * connection without a valid one is closed with no answer, as nginx does ("broken header"); the
 * wait for it counts against the first request's header deadline, which runs from accept.
 * Returns 1 once it is read, 0 when more bytes are needed, or CLOSED. */
static int
read_proxy_header(struct sl_session *s)
{
    struct sl_proxy_protocol pp;
    size_t have = sl_buf_pending(&s->in);
    ssize_t n = sl_proxy_protocol_parse(sl_buf_head(&s->in), have, &pp);
    if (n == 0 && !s->peer_eof) {
        return 0;
    }
    if (n <= 0) {
        char shown[64];
        size_t k = 0;
        for (const char *p = sl_buf_head(&s->in); k < have && k < sizeof(shown) - 1; k++) {
            shown[k] = p[k] >= 0x20 && p[k] < 0x7f ? p[k] : '.';
        }
        shown[k] = '\0';
        sl_log(SL_LOG_ERR, "client %s: broken header: \"%s\" while reading PROXY protocol",
               s->peer_ip, shown);
        sl_session_close(s);
        return CLOSED;
    }
    sl_buf_consume(&s->in, (size_t)n);
    s->pp_expected = false;
    if (pp.has_addr) {
        s->pp_ip_len = strlen(pp.src_ip);
        memcpy(s->pp_ip, pp.src_ip, s->pp_ip_len + 1);
    }
    return 1;
}

/* Parses and routes a request head. Returns 1 on progress, 0 when more bytes are needed, CLOSED. */
static int
process_head(struct sl_session *s)
{
    struct sl_worker *w = s->worker;
    if (sl_buf_pending(&s->in) == 0) {
        if (s->peer_eof || w->draining) {
            sl_session_close(s); /* nothing more will come, or the worker is stopping */
            return CLOSED;
        }
        return 0;
    }
    if (s->pp_expected) {
        int r = read_proxy_header(s);
        if (r != 1) {
            return r;
        }
        if (sl_buf_pending(&s->in) == 0) {
            return 0;
        }
    }
    const struct sl_proxy_settings *st = s->settings;
    if (!s->got_bytes) {
        /* A new request: it runs with the newest settings (a reload's limits and timeouts apply
         * from the next request of every connection). */
        sl_worker_sync_settings(w);
        if (s->settings != w->settings) {
            sl_proxy_settings_unref(s->settings);
            s->settings = sl_proxy_settings_ref(w->settings);
            st = s->settings;
        }
        s->got_bytes = true;
        s->start_us = sl_clock_mono_us();
        /* A total deadline for the whole head, not an idle timer: one byte every few seconds
         * must not keep a connection (slowloris). */
        set_client_timer(s, st->client_header_timeout_ms);
    }

    struct sl_h1_limits lim = {st->max_request_line, st->max_header_line, st->max_header_bytes,
                               st->max_headers};
    struct sl_h1_request req;
    size_t have = sl_buf_pending(&s->in);
    if (head_still_pending(sl_buf_head(&s->in), have, &s->head_scanned, &lim, false, s->peer_eof)) {
        return 0;
    }
    int rc =
        sl_h1_parse_request(sl_buf_head(&s->in), have, &lim, &req, w->hdr_scratch, st->max_headers);
    if (rc == 0) {
        if (s->peer_eof) {
            sl_session_close(s);
            return CLOSED;
        }
        s->head_scanned = have;
        return 0;
    }
    if (begin_request(s) < 0) {
        sl_session_close(s);
        return CLOSED;
    }
    if (rc < 0) {
        note_rejected_request(s, -rc);
        s->close_after = true;
        s->accept = NULL;
        sl_local_response(s, -rc, NULL, false, NULL);
        sl_buf_consume(&s->in, sl_buf_pending(&s->in));
        return 1;
    }

    s->head_done_us = sl_clock_mono_us();
    s->method = arena_str(s, req.method);
    s->target = arena_str(s, req.target);
    index_request_headers(s, &req, w->hdr_ids);
    sl_head_client_address(s, &req);
    s->minor = req.minor;
    s->head_request = sl_str_eq(req.method, SL_STR("HEAD"));
    s->idempotent = method_is_idempotent(req.method);
    s->req_keep_alive = req.keep_alive;
    s->req_body = req.body;
    s->req_remaining = req.body == SL_H1_BODY_LENGTH ? req.content_length : 0;
    s->req_done =
        req.body == SL_H1_BODY_NONE || (req.body == SL_H1_BODY_LENGTH && req.content_length == 0);
    if (w->draining || !req.keep_alive || st->keepalive_timeout_ms <= 0) {
        s->close_after = true; /* keepalive_timeout = 0 turns keep-alive off (nginx) */
    }

    /* Refresh the worker's snapshot when a newer one was published, then pin it for the request. */
    sl_worker_sync_snapshot(w);
    s->snap = w->snap ? sl_snapshot_ref(w->snap) : NULL;

    char *norm = sl_arena_alloc(s->arena, req.path.len + 1);
    long nlen = norm && req.path.len && req.path.p[0] == '/'
                    ? sl_http_path_normalize(req.path.p, req.path.len, norm)
                    : -1;
    uint16_t host_port = 0;
    split_host(s, req.host, &host_port);
    if (nlen < 0 || s->snap == NULL) {
        s->close_after = true;
        sl_local_response(s, 400, NULL, false, NULL);
        sl_buf_consume(&s->in, sl_buf_pending(&s->in));
        return 1;
    }
    s->path_norm = (struct sl_str){norm, (size_t)nlen};

    struct sl_router_request rr = {
        .method = req.method,
        .host = s->host_noport,
        .port = s->local_port, /* Kong matches host:port routes on net.dst.port */
        .path = s->path_norm,
        .headers = req.headers,
        .nheaders = req.nheaders,
        .tls = false,
        .sni = SL_STR_NULL,
        .scheme = SL_PROTO_HTTP,
    };
    struct sl_router_match m;
    bool body_unread = !s->req_done;
    if (!sl_router_match(s->snap->router, &rr, &m)) {
        s->close_after = s->close_after || body_unread;
        sl_local_response(s, 404, "no Route matched with those values", true, NULL);
        sl_buf_consume(&s->in, (size_t)rc);
        return 1;
    }
    s->route = m.route;
    s->service = m.service;
    if (m.needs_https_redirect && !forwarded_https(s, &req)) {
        https_redirect(s, m.route, &req);
        sl_buf_consume(&s->in, (size_t)rc);
        return 1;
    }
    if (m.service == NULL) {
        s->close_after = s->close_after || body_unread;
        sl_local_response(s, 503, "no Service found with those values", true, NULL);
        sl_buf_consume(&s->in, (size_t)rc);
        return 1;
    }
    s->svc_target = sl_snapshot_target(s->snap, m.service);
    if (st->max_body_bytes && req.body == SL_H1_BODY_LENGTH &&
        req.content_length > st->max_body_bytes) {
        s->close_after = true;
        sl_local_response(s, 413, NULL, false, NULL);
        sl_buf_consume(&s->in, sl_buf_pending(&s->in));
        return 1;
    }
    s->upgrade_websocket = req.upgrade && sl_http_token_list_has(req.upgrade_proto, "websocket");

    /* Built in the worker's scratch buffer (no allocation per request), then kept in the arena
     * for a retry that cannot replay from a connection buffer. */
    struct sl_buf *head = &w->head_scratch;
    head->off = head->len = 0;
    if (sl_head_build_upstream_request(s, &req, w->hdr_ids, &m, head) < 0) {
        s->close_after = true;
        sl_local_response(s, 494, NULL, false, NULL);
        sl_buf_consume(&s->in, sl_buf_pending(&s->in));
        return 1;
    }
    s->up_head = sl_arena_strndup(s->arena, sl_buf_head(head), sl_buf_pending(head));
    s->up_head_len = s->up_head_cap = sl_buf_pending(head);
    if (s->up_head == NULL) {
        sl_session_close(s);
        return CLOSED;
    }
    if (req.expect_continue && !s->req_done && req.minor == 1) {
        /* Ask for the body now (nginx does the same); the upstream never sees Expect. */
        sl_buf_append(&s->out, "HTTP/1.1 100 Continue\r\n\r\n", 25, SIZE_MAX);
    }
    sl_buf_consume(&s->in, (size_t)rc);
    if (req.body == SL_H1_BODY_CHUNKED) {
        int status = prevalidate_chunked_body(s);
        if (status != 0) {
            s->close_after = true;
            sl_local_response(s, status, NULL, false, NULL);
            sl_buf_consume(&s->in, sl_buf_pending(&s->in));
            return 1;
        }
    }
    s->phase = SL_PHASE_PROXY;
    set_client_timer(s, s->req_done ? 0 : st->client_body_timeout_ms);
    s->upstream_start_us = sl_clock_mono_us();
    return resolve_and_start(s) == CLOSED ? CLOSED : 1;
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

/* Connects (or takes a pooled connection) and queues the request head, or on a retry every request
 * byte kept from the failed attempts (s->replay). On failure s->up stays NULL: a connection is only
 * handed to the session once its bytes are queued, so the next retry still has them all. */
static int
connect_attempt(struct sl_session *s, bool allow_pool)
{
    const struct sl_addrs *t = s->addrs;
    size_t i = s->addr_index % t->n;
    const struct sockaddr *addr = (const struct sockaddr *)&t->addr[i];
    if (follow_port_in_host(s, sl_addrs_port(t, i)) < 0) {
        s->tries++;
        s->up_errno = ENOMEM;
        return -1;
    }
    struct sl_upconn *c = allow_pool ? sl_pool_take(s->worker, addr, t->len[i]) : NULL;
    if (c == NULL) {
        c = sl_upconn_connect(s->worker, addr, t->len[i]);
    }
    s->tries++;
    if (c == NULL) {
        s->up_errno = errno;
        return -1;
    }
    const char *bytes = s->replay != NULL ? s->replay : s->up_head;
    size_t len = s->replay != NULL ? s->replay_len : s->up_head_len;
    if (up_append(c, bytes, len) < 0) {
        sl_upconn_close(c);
        s->up_errno = ENOMEM;
        return -1;
    }
    sl_upconn_attach(c, s);
    s->up = c;
    s->resp_head_scanned = 0; /* counted in this connection's bytes */
    if (c->reused) {
        c->connected = true;
        set_upstream_wait(s, UP_WAIT_WRITE);
    } else {
        set_upstream_wait(s, UP_WAIT_CONNECT);
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

static int upstream_failed(struct sl_session *s, enum upstream_failure why);
static int upstream_write_failed(struct sl_session *s);

/* The failure a connect attempt that got no connection stands for (connect_attempt's errno). */
static enum upstream_failure
connect_failure(int err)
{
    bool local = err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS;
    return local ? UP_LOCAL_ERROR : UP_CONNECT_ERROR;
}

static int
start_upstream(struct sl_session *s)
{
    if (connect_attempt(s, true) < 0) {
        return upstream_failed(s, connect_failure(s->up_errno));
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

static void
dns_unpark(struct sl_session *s)
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
static int
resolve_and_start(struct sl_session *s)
{
    enum sl_dns_state state;
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
        fail_request(s, 503, "name resolution failed", true);
        return 1;
    }
    if (state != SL_DNS_OK || s->addrs->n == 0) {
        /* Kong: a DNS failure other than "no such name" is an internal error, 500 with the
         * default message; the cause is in the error log. */
        fail_request(s, 500, NULL, true);
        return 1;
    }
    /* Successive requests start at successive addresses, as Kong's balancer spreads a name's
     * records (weighted by SRV weights); retries go on from there. */
    s->addr_index =
        s->addrs->n > 1 ? sl_addrs_pick(s->addrs, sl_snapshot_target_turn(s->svc_target)) : 0;
    return start_upstream(s);
}

void
sl_session_dns_settled(struct sl_worker *w)
{
    /* The list is taken whole: a request whose name is still pending parks again on the new one. */
    struct sl_session *list = w->dns_parked;
    w->dns_parked = NULL;
    if (list != NULL) {
        list->park_pprev = &list;
    }
    while (list != NULL) {
        struct sl_session *s = list;
        dns_unpark(s);
        if (s->phase != SL_PHASE_PROXY || s->up != NULL) {
            continue; /* no longer waiting (fail_request unparks too; this is the backstop) */
        }
        if (resolve_and_start(s) != CLOSED) {
            run(s);
        }
    }
}

static const char *const failure_names[UP_FAILURE_MAX] = {
    "connect() failed",
    "connect() timed out",
    "connection reset or closed prematurely",
    "upstream timed out",
    "upstream sent an invalid response",
    "socket() failed",
};

/* nginx proxy_next_upstream "error timeout" with non-idempotent requests kept to one attempt once
 * sent (kong.md §3.7), plus one transparent retry when a pooled connection turns out stale. */
static int
upstream_failed(struct sl_session *s, enum upstream_failure why)
{
    struct sl_upconn *c = s->up;
    bool nothing_received =
        c == NULL || (!s->resp_head_done && sl_buf_pending(&c->in) == 0 && !s->got_response_bytes);
    bool replayable = c == NULL || c->replayable;
    sl_log(SL_LOG_ERR, "%s%s%s while proxying %s %s to service %s (attempt %d)", failure_names[why],
           s->up_errno ? ": " : "", s->up_errno ? strerror(s->up_errno) : "",
           s->method ? s->method : "-", s->target ? s->target : "-",
           s->service && s->service->name ? s->service->name : "-", s->tries);
    s->up_errno = 0;

    if (s->resp_head_sent) {
        /* Part of the response is out: the only honest end is an abort. */
        return abort_response(s);
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
    } else if (why != UP_INVALID_RESPONSE && why != UP_LOCAL_ERROR && replayable &&
               nothing_received && s->tries <= s->service->retries) {
        bool sent_nothing = why == UP_CONNECT_ERROR || why == UP_CONNECT_TIMEOUT;
        retry = sent_nothing || s->idempotent;
    }
    if (retry && (c == NULL || keep_replay(s, c) == 0)) {
        /* With c == NULL the attempt that failed queued nothing: s->replay (or, before any retry,
         * the head alone) is still the whole request so far. */
        release_upstream(s, false);
        s->addr_index++;
        if (connect_attempt(s, false) == 0) {
            return 0;
        }
        return upstream_failed(s, connect_failure(s->up_errno));
    }
    bool timeout = why == UP_CONNECT_TIMEOUT || why == UP_TIMEOUT;
    /* nginx answers a local shortage with 500, and does not try the next address for it */
    fail_request(s, why == UP_LOCAL_ERROR ? 500 : timeout ? 504 : 502, NULL, false);
    return 1;
}

/* Moves request body bytes from the client buffer to the upstream buffer. */
static int
pump_request_body(struct sl_session *s)
{
    const struct sl_proxy_settings *st = s->settings;
    struct sl_upconn *c = s->up;
    int progress = 0;
    if (c->write_failed) {
        /* The upstream answered and takes no more: what the client still sends of the body is
         * dropped (the connection closes after the response, lingering). */
        size_t n = sl_buf_pending(&s->in);
        sl_buf_consume(&s->in, n);
        return n > 0;
    }
    while (!s->req_done && sl_buf_pending(&s->in) > 0 && up_unsent(c) < SL_PROXY_HIGH_WATER) {
        /* At most one high-water's worth per step: with unsent below the mark the append then
         * always fits the buffer's cap, whatever max_header_bytes makes the client buffer hold
         * (a failed append would leave the body waiting with no watcher armed). */
        size_t avail = sl_buf_pending(&s->in);
        if (avail > SL_PROXY_HIGH_WATER) {
            avail = SL_PROXY_HIGH_WATER;
        }
        if (s->req_body == SL_H1_BODY_LENGTH) {
            size_t n = avail;
            if (n > s->req_remaining) {
                n = (size_t)s->req_remaining;
            }
            if (up_append(c, sl_buf_head(&s->in), n) < 0) {
                break;
            }
            sl_buf_consume(&s->in, n);
            s->req_remaining -= n;
            s->req_body_bytes += n;
            s->req_done = s->req_remaining == 0;
        } else {
            struct sl_str data;
            ssize_t used = sl_h1_chunked_decode(&s->req_chunked, sl_buf_head(&s->in), avail, &data);
            if (used < 0) {
                fail_request(s, 400, NULL, false);
                return 1;
            }
            if (data.len) {
                char hdr[24];
                int n = snprintf(hdr, sizeof(hdr), "%zx\r\n", data.len);
                if (up_append(c, hdr, (size_t)n) < 0 || up_append(c, data.p, data.len) < 0 ||
                    up_append(c, "\r\n", 2) < 0) {
                    break;
                }
                s->req_body_bytes += data.len;
            }
            sl_buf_consume(&s->in, (size_t)used);
            if (s->req_chunked.done) {
                up_append(c, "0\r\n\r\n", 5);
                s->req_done = true;
            }
        }
        progress = 1;
        s->req_body_forwarded = true;
        if (s->req_body == SL_H1_BODY_CHUNKED
                ? over_body_limit(s->req_body_bytes, &s->req_chunked, st->max_body_bytes)
                : st->max_body_bytes && s->req_body_bytes > st->max_body_bytes) {
            fail_request(s, 413, NULL, false);
            return 1;
        }
    }
    if (s->req_done && progress) {
        set_client_timer(s, 0);
    }
    return progress;
}

static void
finish_response(struct sl_session *s)
{
    s->resp_done = true;
    if (s->out_framing == SL_OUT_CHUNKED) {
        sl_buf_append(&s->out, "0\r\n\r\n", 5, SIZE_MAX);
    }
}

/* Parses the response head and moves body bytes to the client buffer. */
static int
pump_response(struct sl_session *s)
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
                                   st->max_headers};
        struct sl_h1_response res;
        size_t have = sl_buf_pending(&c->in);
        if (head_still_pending(sl_buf_head(&c->in), have, &s->resp_head_scanned, &lim, true,
                               c->eof)) {
            return progress;
        }
        int rc = sl_h1_parse_response(sl_buf_head(&c->in), have, &lim, s->head_request, &res,
                                      w->hdr_scratch, st->max_headers);
        if (rc == 0) {
            s->resp_head_scanned = have;
            return progress;
        }
        s->resp_head_scanned = 0;
        s->got_response_bytes = true;
        if (rc < 0) {
            return upstream_failed(s, UP_INVALID_RESPONSE);
        }
        if (res.status >= 100 && res.status < 200 && res.status != 101) {
            sl_buf_consume(&c->in, (size_t)rc); /* interim responses are not forwarded */
            progress = 1;
            continue;
        }
        if (res.status == 101 && !s->upgrade_websocket) {
            return upstream_failed(s, UP_INVALID_RESPONSE);
        }
        s->upstream_head_us = sl_clock_mono_us();
        s->status = res.status;
        s->resp_body = res.body;
        s->resp_remaining = res.body == SL_H1_BODY_LENGTH ? res.content_length : 0;
        s->resp_keep_alive = res.keep_alive;
        if (sl_head_build_client_response(s, &res) < 0) {
            return upstream_failed(s, UP_INVALID_RESPONSE);
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
            finish_response(s);
            return progress;
        }
    }

    while (!s->resp_done && sl_buf_pending(&c->in) > 0 &&
           sl_buf_pending(&s->out) < SL_PROXY_HIGH_WATER) {
        if (s->resp_body == SL_H1_BODY_CHUNKED) {
            struct sl_str data;
            ssize_t used = sl_h1_chunked_decode(&s->resp_chunked, sl_buf_head(&c->in),
                                                sl_buf_pending(&c->in), &data);
            if (used < 0) {
                sl_log(SL_LOG_ERR, "upstream sent an invalid chunked body for %s %s", s->method,
                       s->target);
                return abort_response(s);
            }
            if (emit_client_body(s, data.p, data.len) < 0) {
                sl_session_close(s);
                return CLOSED;
            }
            sl_buf_consume(&c->in, (size_t)used);
            if (s->resp_chunked.done) {
                finish_response(s);
            }
        } else {
            size_t n = sl_buf_pending(&c->in);
            if (s->resp_body == SL_H1_BODY_LENGTH && n > s->resp_remaining) {
                n = (size_t)s->resp_remaining;
            }
            if (emit_client_body(s, sl_buf_head(&c->in), n) < 0) {
                sl_session_close(s);
                return CLOSED;
            }
            sl_buf_consume(&c->in, n);
            if (s->resp_body == SL_H1_BODY_LENGTH) {
                s->resp_remaining -= n;
                if (s->resp_remaining == 0) {
                    finish_response(s);
                }
            }
        }
        progress = 1;
    }
    if (!s->resp_done && c->eof && sl_buf_pending(&c->in) == 0) {
        /* A clean close ends a close-delimited body; a reset never does (nginx: readv() failed). */
        if (s->resp_body == SL_H1_BODY_UNTIL_CLOSE && !c->reset) {
            finish_response(s);
            s->resp_keep_alive = false;
            return 1;
        }
        /* Truncated: the client must see an incomplete message, never a clean end. */
        sl_log(SL_LOG_ERR, "upstream %s while reading the response body of %s %s",
               c->reset ? "reset the connection" : "prematurely closed connection", s->method,
               s->target);
        return abort_response(s);
    }
    return progress;
}

/* Reads what the upstream socket holds now, up to the buffer's cap (EOF and errors noted). */
static void
read_upstream_now(struct sl_session *s, struct sl_upconn *c)
{
    while (!c->eof && read_upstream(s, c) > 0) {
    }
}

/* Writing the request failed: the upstream closed or reset. It may have answered first, as an
 * upstream refusing a large upload does (413 or 401, then close), and the answer may be waiting
 * unread in the socket: when its head is there (or came before), the response is served and the
 * rest of the request body dropped, as the upstream meant. Otherwise this is an upstream failure
 * like any other. Returns 1 or CLOSED. */
static int
upstream_write_failed(struct sl_session *s)
{
    struct sl_upconn *c = s->up;
    int err = errno;
    if (s->phase == SL_PHASE_TUNNEL) {
        s->up_errno = err;
        return upstream_failed(s, UP_IO_ERROR); /* an aborted tunnel */
    }
    /* The failed send took the socket's error with it, so the reads below see a clean EOF; but
     * the connection was reset, and a close-delimited body ended by it may be cut short. */
    c->reset = true;
    if (!s->resp_head_done) {
        read_upstream_now(s, c);
        if (pump_response(s) == CLOSED) {
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
    return upstream_failed(s, UP_IO_ERROR);
}

static void
finish_request(struct sl_session *s)
{
    struct sl_worker *w = s->worker;
    sl_access_log_write(s);
    bool reusable = s->up != NULL && s->resp_keep_alive && s->req_done && !s->up->eof &&
                    !s->up->write_failed && sl_buf_pending(&s->up->in) == 0 &&
                    up_unsent(s->up) == 0;
    release_upstream(s, reusable);
    bool close_after = s->close_after || !s->req_done || w->draining;
    bool linger = !s->req_done; /* an early response: the client may still be sending the body */
    s->requests++;
    reset_request(s);
    s->close_after = close_after;
    s->linger = linger;
    if (close_after) {
        s->phase = SL_PHASE_CLOSING;
    } else {
        s->phase = SL_PHASE_HEAD;
        /* Idle only once the response is out; until then the client is reading it. */
        set_client_timer(s, sl_buf_pending(&s->out) > 0 ? s->settings->send_timeout_ms
                                                        : s->settings->keepalive_timeout_ms);
        /* Idle in keep-alive: the arena and an empty input buffer go back to the worker (a
         * pipelined request still in the buffer keeps it), so an idle connection holds little
         * more than its session. */
        sl_proxy_arena_release(w, s->arena);
        s->arena = NULL;
        sl_proxy_buf_release(w, &s->in);
    }
}

/* ---- tunnel (WebSocket after 101) ------------------------------------------------------------ */

static int
pump_tunnel(struct sl_session *s)
{
    struct sl_upconn *c = s->up;
    int progress = 0;
    if (!s->req_done) {
        /* The upstream switched before the request body ended. "A client cannot begin using an
         * upgraded protocol on the connection until it has completely sent the request message"
         * (RFC 9110 §7.8): the rest of the body still goes through pump_request_body, framed as
         * the request said (a chunked body is re-chunked there, and raw chunk bytes appended to
         * it would corrupt it); only the bytes after the body are the new protocol. */
        progress = pump_request_body(s);
        if (s->phase != SL_PHASE_TUNNEL) {
            return 1; /* a malformed or oversized body aborted the tunnel (and released <c>) */
        }
    }
    size_t n = s->req_done ? sl_buf_pending(&s->in) : 0;
    /* At most one high-water's worth per step, as in pump_request_body: the client buffer holds
     * up to in_cap (max_header_bytes + 4k, up to 16m), more than the upstream buffer's cap takes
     * in one append, and a failed append would stall the tunnel for good (bytes sent right
     * behind the upgrade request, or one large read). The run loop calls again on progress. */
    if (n > SL_PROXY_HIGH_WATER) {
        n = SL_PROXY_HIGH_WATER;
    }
    if (n > 0 && up_unsent(c) < SL_PROXY_HIGH_WATER) {
        if (up_append(c, sl_buf_head(&s->in), n) == 0) {
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
        release_upstream(s, false);
        return 1;
    }
    if (progress) {
        renew_upstream_wait(s); /* an idle tunnel ends at read_timeout, whichever side is quiet */
    }
    return progress;
}

/* ---- ending a connection ------------------------------------------------------------------- */

/* The client closed (or half-closed) its side with no pipelined request left while its request was
 * in progress: the upstream connection is dropped at once rather than held until the upstream
 * answers (nginx: "client prematurely closed connection", logged with status 499; a client that
 * walks away must not keep two descriptors busy for a read_timeout). */
static void
client_gone(struct sl_session *s)
{
    sl_log(SL_LOG_INFO, "client %s closed the connection %s", s->peer_ip,
           s->req_done ? "while waiting for the response"
                       : "before sending the whole request body");
    client_failed(s);
}

/* Closes a connection whose last response is out, or first lingers when the client may still be
 * sending: closing with unread bytes makes the kernel send a reset, which can destroy the response
 * before the client reads it (a client that writes its whole body before reading never sees an
 * early 413). The write side is shut, so the client sees the end of the response at once. */
static int
close_or_linger(struct sl_session *s)
{
    if (!s->linger || s->peer_eof || s->worker->draining || shutdown(s->fd, SHUT_WR) < 0) {
        sl_session_close(s);
        return CLOSED;
    }
    s->phase = SL_PHASE_LINGER;
    s->linger_until_us = sl_clock_mono_us() + (uint64_t)SL_LINGER_TIME_MS * 1000;
    /* Only the socket is needed now: the request's arena, snapshot and upstream go back. */
    reset_request(s);
    sl_proxy_arena_release(s->worker, s->arena);
    s->arena = NULL;
    sl_buf_consume(&s->in, sl_buf_pending(&s->in));
    sl_proxy_buf_release(s->worker, &s->in);
    sl_proxy_buf_release(s->worker, &s->out);
    set_client_timer(s, SL_LINGER_TIMEOUT_MS);
    return 0;
}

/* A lingering connection is readable: its bytes are dropped. It closes at the client's EOF or
 * error, at SL_LINGER_TIMEOUT_MS without a byte, or at SL_LINGER_TIME_MS in all. */
static int
linger_read(struct sl_session *s)
{
    char junk[16384];
    for (int i = 0; i < 8; i++) { /* at most 128 KiB per event: other connections get their turn */
        ssize_t n = recv(s->fd, junk, sizeof(junk), 0);
        if (n > 0) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            break;
        }
        sl_session_close(s); /* EOF or error: the client is done */
        return CLOSED;
    }
    uint64_t now = sl_clock_mono_us();
    if (now >= s->linger_until_us) {
        sl_session_close(s);
        return CLOSED;
    }
    uint64_t left_ms = (s->linger_until_us - now) / 1000 + 1;
    set_client_timer(s, left_ms < SL_LINGER_TIMEOUT_MS ? (int)left_ms : SL_LINGER_TIMEOUT_MS);
    return 0;
}

/* ---- the state machine ----------------------------------------------------------------------- */

/* Watchers stay armed as long as possible: every start/stop costs an epoll_ctl, so reading stops
 * only for backpressure (a full buffer), never merely because a phase does not need the bytes yet
 * (pipelined requests simply wait in the buffer). */
static void
update_watchers(struct sl_session *s)
{
    struct ev_loop *loop = s->worker->loop;
    bool want_read;
    switch (s->phase) {
    case SL_PHASE_HEAD:
    case SL_PHASE_PROXY:
        want_read = sl_buf_pending(&s->in) < in_cap(s);
        break;
    case SL_PHASE_TUNNEL:
        want_read = sl_buf_pending(&s->in) < SL_PROXY_HIGH_WATER;
        break;
    case SL_PHASE_LINGER:
        want_read = true;
        break;
    default:
        want_read = false;
        break;
    }
    if (s->peer_eof) {
        want_read = false;
    }
    if (want_read != (bool)ev_is_active(&s->rio)) {
        if (want_read) {
            ev_io_start(loop, &s->rio);
        } else {
            ev_io_stop(loop, &s->rio);
        }
    }
    bool want_write = sl_buf_pending(&s->out) > 0;
    if (want_write != (bool)ev_is_active(&s->wio)) {
        if (want_write) {
            ev_io_start(loop, &s->wio);
        } else {
            ev_io_stop(loop, &s->wio);
        }
    }

    struct sl_upconn *c = s->up;
    if (c == NULL) {
        return;
    }
    bool up_read = c->connected && !c->eof && sl_buf_pending(&s->out) < SL_PROXY_HIGH_WATER;
    if (up_read != (bool)ev_is_active(&c->rio)) {
        if (up_read) {
            ev_io_start(loop, &c->rio);
        } else {
            ev_io_stop(loop, &c->rio);
        }
    }
    bool up_write = !c->connected || up_unsent(c) > 0;
    if (up_write != (bool)ev_is_active(&c->wio)) {
        if (up_write) {
            ev_io_start(loop, &c->wio);
        } else {
            ev_io_stop(loop, &c->wio);
        }
    }
    enum up_wait wait;
    if (!c->connected) {
        wait = UP_WAIT_CONNECT;
    } else if (up_unsent(c) > 0) {
        wait = UP_WAIT_WRITE;
    } else if (s->phase == SL_PHASE_TUNNEL) {
        wait = UP_WAIT_READ; /* idle either way */
    } else if (up_read && (s->req_done || s->resp_head_done)) {
        wait = UP_WAIT_READ;
    } else {
        wait = UP_WAIT_NONE;
    }
    if (wait != c->wait) {
        set_upstream_wait(s, wait);
    }
}

static int
run(struct sl_session *s)
{
    for (int guard = 0; guard < 10000; guard++) {
        int r = 0;
        switch (s->phase) {
        case SL_PHASE_HEAD:
            if (sl_buf_pending(&s->out) > 0) {
                /* The previous response is still going out: a pipelined request waits for it, so
                 * that nothing the next one generates (an error page replaces what is queued)
                 * can cut it, and a client that does not read stops being read. */
                if (flush_client(s) == CLOSED) {
                    return CLOSED;
                }
                r = sl_buf_pending(&s->out) == 0;
                break;
            }
            r = process_head(s);
            if (r == 1 && s->phase == SL_PHASE_PROXY) {
                /* Routed: the body bytes that came with the head are queued behind it in the
                 * next round, so head and body leave in one send instead of two. */
                continue;
            }
            break;
        case SL_PHASE_PROXY:
            if (s->up != NULL && s->up->connected) {
                r = pump_request_body(s);
                if (r == CLOSED) {
                    return CLOSED;
                }
            }
            if (s->phase == SL_PHASE_PROXY && s->up != NULL) {
                int r2 = pump_response(s);
                if (r2 == CLOSED) {
                    return CLOSED;
                }
                r |= r2;
            }
            if (s->phase == SL_PHASE_PROXY && s->resp_done) {
                finish_request(s);
                r = 1;
            } else if (s->phase == SL_PHASE_PROXY && s->peer_eof && sl_buf_pending(&s->in) == 0) {
                client_gone(s);
                return CLOSED;
            }
            break;
        case SL_PHASE_LOCAL:
            /* The whole local response is queued: the request is over. */
            if (s->close_after) {
                sl_access_log_write(s);
                release_upstream(s, false);
                s->phase = SL_PHASE_CLOSING;
                s->linger = !s->req_done && !s->timed_out;
            } else {
                finish_request(s);
            }
            r = 1;
            break;
        case SL_PHASE_TUNNEL:
            r = pump_tunnel(s);
            break;
        case SL_PHASE_CLOSING:
            if (sl_buf_pending(&s->out) == 0 && close_or_linger(s) == CLOSED) {
                return CLOSED;
            }
            break;
        case SL_PHASE_LINGER:
            break;
        default:
            break;
        }
        if (r == CLOSED) {
            return CLOSED;
        }
        /* A pump stops at a buffer's high-water mark. When the flush below drains that buffer
         * under the mark, no watcher would call us again for the bytes still waiting (the client
         * read is off while its buffer is full, and response bytes may all sit in the upstream
         * buffer already), so draining counts as progress and the pumps run once more. */
        bool out_was_full = sl_buf_pending(&s->out) >= SL_PROXY_HIGH_WATER;
        if (flush_client(s) == CLOSED) {
            return CLOSED;
        }
        if (out_was_full && sl_buf_pending(&s->out) < SL_PROXY_HIGH_WATER) {
            r = 1;
        }
        if (s->up != NULL && s->up->connected) {
            size_t unsent = up_unsent(s->up);
            if (flush_upstream(s->up) < 0) {
                if (upstream_write_failed(s) == CLOSED) {
                    return CLOSED;
                }
                r = 1;
            } else {
                if (up_unsent(s->up) < unsent && s->up->wait == UP_WAIT_WRITE) {
                    renew_upstream_wait(s);
                }
                if (unsent >= SL_PROXY_HIGH_WATER && up_unsent(s->up) < SL_PROXY_HIGH_WATER) {
                    r = 1;
                }
            }
        }
        if (r == 0) {
            break;
        }
    }
    if (s->phase == SL_PHASE_CLOSING && sl_buf_pending(&s->out) == 0 &&
        close_or_linger(s) == CLOSED) {
        return CLOSED;
    }
    update_watchers(s);
    return 0;
}

/* ---- events --------------------------------------------------------------------------------- */

int
sl_session_client_event(struct sl_session *s, int revents)
{
    if (s->phase == SL_PHASE_LINGER) {
        return linger_read(s);
    }
    if (revents & EV_READ) {
        sl_proxy_buf_take(s->worker, &s->in);
        ssize_t n = sl_buf_recv(&s->in, s->fd, in_cap(s));
        if (n == 0) {
            s->peer_eof = true;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
            client_failed(s);
            return CLOSED;
        } else if (n > 0 && s->phase == SL_PHASE_PROXY && !s->req_done) {
            set_client_timer(s, s->settings->client_body_timeout_ms);
        }
    }
    if ((revents & EV_WRITE) && flush_client(s) == CLOSED) {
        return CLOSED;
    }
    return run(s) == CLOSED ? CLOSED : 0;
}

static void
on_client_io(struct ev_loop *loop, ev_io *io, int revents)
{
    struct sl_session *s = io->data;
    if (sl_dispatch_queue(s, revents, false) < 0) {
        sl_session_client_event(s, revents);
    }
}

static void
on_client_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct sl_session *s = t->data;
    if (!sl_lazy_timer_expired(loop, &s->timer)) {
        return;
    }
    if (sl_buf_pending(&s->out) > 0 && (s->phase != SL_PHASE_HEAD || !s->got_bytes)) {
        sl_log(SL_LOG_INFO, "client %s timed out reading the response", s->peer_ip);
        client_failed(s); /* a request in progress is logged, aborted */
        return;
    }
    if (s->phase == SL_PHASE_HEAD && !s->got_bytes) {
        sl_session_close(s); /* idle keep-alive connection */
        return;
    }
    if ((s->phase == SL_PHASE_HEAD || (s->phase == SL_PHASE_PROXY && !s->req_done)) &&
        !s->resp_head_sent) {
        if (begin_request(s) == 0) {
            sl_log(SL_LOG_INFO, "client %s timed out sending the request", s->peer_ip);
            s->timed_out = true;
            fail_request(s, 408, NULL, false);
            s->close_after = true;
            sl_buf_consume(&s->in, sl_buf_pending(&s->in));
            run(s);
            return;
        }
    }
    client_failed(s);
}

void
sl_session_upstream_event(struct sl_session *s, int revents)
{
    struct sl_upconn *c = s->up;
    if (!c->connected && (revents & (EV_WRITE | EV_READ))) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
            s->up_errno = err;
            if (upstream_failed(s, UP_CONNECT_ERROR) != CLOSED) {
                run(s);
            }
            return;
        }
        c->connected = true;
        set_upstream_wait(s, UP_WAIT_WRITE);
    }
    if (revents & EV_WRITE) {
        size_t before = up_unsent(c);
        if (flush_upstream(c) < 0) {
            if (upstream_write_failed(s) != CLOSED) {
                run(s);
            }
            return;
        }
        if (up_unsent(c) < before && c->wait == UP_WAIT_WRITE) {
            renew_upstream_wait(s);
        }
    }
    if (revents & EV_READ) {
        ssize_t n = read_upstream(s, c);
        if (n < 0 && errno == ENOBUFS && !s->resp_head_done) {
            /* A response head larger than the limit. */
            if (upstream_failed(s, UP_INVALID_RESPONSE) != CLOSED) {
                run(s);
            }
            return;
        }
        if (n > 0) {
            renew_upstream_wait(
                s); /* it is alive, also while it has not taken all of the request */
        }
        if (c->eof && !s->resp_head_done && s->phase == SL_PHASE_PROXY) {
            /* The head may still be complete in the buffer (close-delimited); otherwise this is
             * a connection lost before the response. */
            if (pump_response(s) == CLOSED) {
                return;
            }
            if (!s->resp_head_done && s->phase == SL_PHASE_PROXY && s->up == c) {
                if (upstream_failed(s, UP_IO_ERROR) == CLOSED) {
                    return;
                }
            }
        }
    }
    run(s);
}

void
sl_session_upstream_timeout(struct sl_session *s)
{
    struct sl_upconn *c = s->up;
    int r;
    if (s->phase == SL_PHASE_TUNNEL) {
        /* An idle WebSocket: it ends as a tunnel does, logged (nginx: proxy_read_timeout). */
        sl_log(SL_LOG_INFO, "tunnel idle for read_timeout while proxying %s %s: closed",
               s->method ? s->method : "-", s->target ? s->target : "-");
        sl_access_log_write(s);
        sl_session_close(s);
        return;
    }
    r = upstream_failed(s, c->connected ? UP_TIMEOUT : UP_CONNECT_TIMEOUT);
    if (r != CLOSED) {
        run(s);
    }
}

void
sl_session_start(struct sl_worker *w, int fd, const struct sockaddr *peer, socklen_t plen,
                 const struct sl_listener *l)
{
    struct sl_session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        close(fd);
        return;
    }
    s->worker = w;
    s->fd = fd;
    s->ready_index = -1;
    memcpy(&s->peer, peer, plen);
    sl_sockaddr_ip(peer, s->peer_ip, sizeof(s->peer_ip));
    s->peer_ip_len = strlen(s->peer_ip);
    s->peer_port =
        ntohs(peer->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)peer)->sin6_port
                                          : ((const struct sockaddr_in *)peer)->sin_port);
    s->local_port = l->port;
    s->pp_expected = l->proxy_protocol;
    s->phase = SL_PHASE_HEAD;
    ev_io_init(&s->rio, on_client_io, fd, EV_READ);
    ev_io_init(&s->wio, on_client_io, fd, EV_WRITE);
    s->rio.data = s->wio.data = s;
    ev_init(&s->timer.timer, on_client_timeout);
    s->timer.timer.data = s;
    s->next = w->sessions;
    if (w->sessions) {
        w->sessions->prev = s;
    }
    w->sessions = s;
    w->nsessions++;
    atomic_fetch_add_explicit(&sl_proxy_stats.connections_active, 1, memory_order_relaxed);
    /* A new connection runs with the newest settings; its first request's header timeout
     * counts from accept (nginx client_header_timeout). */
    sl_worker_sync_settings(w);
    s->settings = sl_proxy_settings_ref(w->settings);
    set_client_timer(s, s->settings->client_header_timeout_ms);
    ev_io_start(w->loop, &s->rio);
}
