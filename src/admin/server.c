/* SPDX-License-Identifier: Apache-2.0 */
/* Admin API connections on the control loop: plain TCP or TLS (`ssl` listeners, src/net/tls.c),
 * strict head parsing (src/http), a bounded body (Kong's nginx_admin_client_max_body_size, 10 MiB),
 * one request at a time, keep-alive. Responses are JSON with Kong's headers and CORS (kong.md
 * §2.4). TLS only changes how bytes move; the HTTP handling is the same for both. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/internal.h"
#include "core/access_line.h"
#include "core/clock.h"
#include "core/version.h"
#include "http/h1.h"
#include "net/listen.h"
#include "net/proxy_protocol.h"
#include "net/tls.h"
#include "proxy/http_date.h"
#include "sluice/log.h"

#define ADMIN_MAX_BODY (10 * 1024 * 1024)
#define ADMIN_MAX_HEAD (64 * 1024)
/* admin_listen's entries, then status_listen's */
#define ADMIN_MAX_LISTENERS (2 * SL_CONF_MAX_LISTEN)
/* Open Admin connections beyond this are closed at accept (an operator interface needs few; the
 * bound keeps a flood of idle connections from exhausting descriptors and memory). The Admin API
 * and the Status API each have their own: the status listener is often reachable where the Admin
 * API is not (a probe's network), and idle connections there must not lock operators out, nor
 * Admin clients fail the probes. */
#define ADMIN_MAX_CONNS 1024
#define ADMIN_MAX_IN (ADMIN_MAX_BODY + ADMIN_MAX_HEAD + 65536)

/* The two APIs the server answers, each on its own listeners. */
enum api { API_ADMIN = 0, API_STATUS = 1 };

struct admin_conn {
    int fd;
    ev_io rio, wio;
    ev_timer timer;         /* the deadline of the current state (conn_arm_timer) */
    ev_tstamp head_started; /* when the pending request head began; 0 when none is pending */
    bool served;            /* a response was queued (keepalive_timeout = 0 closes after it) */
    bool in_body;           /* the pending request's head is parsed; its body is still coming */
    /* A chunked request body is decoded as it arrives, not again from its start at every read:
     * the request's bytes stay at the head of c->in until it is complete, so chunk_off (the offset
     * of the next undecoded byte from that head; 0 before the body) stays valid. */
    struct sl_h1_chunked chunk_state;
    size_t chunk_off;
    struct sl_buf chunk_body; /* decoded so far; freed after the request */
    struct sl_buf in, out;
    bool close_after;
    bool status; /* accepted on a status_listen entry: the Status API is served (status.c) */
    char peer[INET6_ADDRSTRLEN]; /* the client's address, for the logs ("?" if unknown) */
    /* On an admin_listen entry with `proxy_protocol`: the header being read, before the TLS
     * handshake or the first request; NULL once read (or on other listeners). */
    struct sl_proxy_protocol_reader *pp;
    struct sl_tls_conn tls;      /* tls.ssl == NULL on a plain connection */
    enum sl_tls_want read_want;  /* readiness the reading side waits for (READ, or WRITE in TLS) */
    enum sl_tls_want write_want; /* readiness pending output waits for (WRITE, or READ in TLS) */
    struct admin_conn *next, *prev;
};

struct admin_listener {
    ev_io io;
    int fd;
    bool ssl;
    bool status;            /* a status_listen entry (else admin_listen) */
    struct sl_listen entry; /* the entry it was opened for (reload matches it) */
};

static struct {
    const struct sl_conf *conf;
    struct admin_listener listeners[ADMIN_MAX_LISTENERS];
    size_t n;
    struct admin_conn *conns;
    size_t nconns[2];        /* open connections: [0] Admin API, [1] Status API */
    ev_timer accept_backoff; /* listeners paused after accept() ran out of descriptors */
    /* The `ssl` listeners' contexts, one per API (enum api): each has its own certificates
     * (admin_ssl_cert, status_ssl_cert); NULL when that API has no `ssl` listener. */
    SSL_CTX *tls_ctx[2];
} admin;

static void
conn_close(struct ev_loop *loop, struct admin_conn *c)
{
    ev_io_stop(loop, &c->rio);
    ev_io_stop(loop, &c->wio);
    ev_timer_stop(loop, &c->timer);
    if (c->tls.ssl != NULL) {
        /* one attempt at close_notify: a peer that does not read gets no more of our time */
        enum sl_tls_want want;
        sl_tls_shutdown(&c->tls, &want);
        sl_tls_conn_free(&c->tls);
    }
    close(c->fd);
    free(c->pp);
    sl_buf_free(&c->in);
    sl_buf_free(&c->out);
    sl_buf_free(&c->chunk_body);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        admin.conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    admin.nconns[c->status]--;
    free(c);
}

static const char *
reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict"; /* unique violations */
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable"; /* /status/ready while not ready */
    default:
        return "Unknown";
    }
}

/* Access-Control-Allow-Origin for a request whose Origin header is <req_origin> (NULL: none), as
 * Kong's Admin API (kong/api/api_helpers.lua): with admin_gui_url set, the request's origin when it
 * is one of admin_gui_url's origins, else the first of them, and the answer then depends on Origin
 * (*vary); without it, the request's origin, else "*". */
static const char *
cors_origin(const struct sl_conf *conf, const char *req_origin, bool *vary)
{
    *vary = false;
    if (conf != NULL && conf->nadmin_gui_url > 0) {
        *vary = true;
        for (size_t i = 0; req_origin != NULL && i < conf->nadmin_gui_url; i++) {
            if (strcmp(req_origin, conf->admin_gui_origin[i]) == 0) {
                return conf->admin_gui_origin[i];
            }
        }
        return conf->admin_gui_origin[0];
    }
    return req_origin != NULL ? req_origin : "*";
}

int
sl_admin_text_begin(struct sl_buf *b)
{
    static const char room[SL_ADMIN_TEXT_HEADROOM];
    return sl_buf_append(b, room, sizeof(room), SIZE_MAX);
}

/* Queues <res> on <c>; returns the body bytes queued (the access log's body_bytes_sent). A body
 * written as text (res->text) becomes the connection's output as it is, the head written into
 * its headroom, when nothing else is waiting to be sent: a body of 50 MB is not copied. */
static size_t
queue_response(struct admin_conn *c, struct sl_admin_response *res, const char *req_origin,
               bool head_only, uint64_t start_us)
{
    bool vary;
    const char *origin = cors_origin(admin.conf, req_origin, &vary);
    char *dumped = NULL;
    size_t len = 0;
    const char *body = NULL;
    if (res->text.len > SL_ADMIN_TEXT_HEADROOM) {
        body = res->text.data + SL_ADMIN_TEXT_HEADROOM;
        len = res->text.len - SL_ADMIN_TEXT_HEADROOM;
    } else if (res->body != NULL) {
        dumped = json_dumps(res->body, SL_ADMIN_JSON_FLAGS);
        body = dumped;
        len = dumped ? strlen(dumped) : 0;
    }
    bool no_body = res->status == 204 || res->status == 304;
    struct sl_buf head = {0};
    char date[40];
    sl_http_date(date, sizeof(date));
    sl_buf_appendf(&head, SIZE_MAX,
                   "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: %s\r\n"
                   "Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true\r\n"
                   "%sX-Sluice-Admin-Latency: %llu\r\nConnection: %s\r\n%s",
                   res->status, reason(res->status), date, SL_SERVER_TOKEN, origin,
                   vary ? "Vary: Origin\r\n" : "",
                   (unsigned long long)((sl_clock_mono_us() - start_us) / 1000),
                   c->close_after ? "close" : "keep-alive",
                   res->extra_headers ? res->extra_headers : "");
    if (res->allow_headers != NULL) {
        sl_buf_appendf(&head, SIZE_MAX, "Access-Control-Allow-Headers: %s\r\n", res->allow_headers);
    }
    if (no_body) {
        sl_buf_append(&head, "\r\n", 2, SIZE_MAX);
    } else {
        if (body != NULL) {
            sl_buf_appendf(&head, SIZE_MAX, "Content-Type: application/json; charset=utf-8\r\n");
        }
        sl_buf_appendf(&head, SIZE_MAX, "Content-Length: %zu\r\n\r\n", len);
    }
    size_t sent = no_body || head_only ? 0 : len;
    if (res->text.len > SL_ADMIN_TEXT_HEADROOM && sl_buf_pending(&c->out) == 0 &&
        head.len <= SL_ADMIN_TEXT_HEADROOM) {
        /* the head goes right before the body, in the headroom; the text becomes the output */
        size_t at = SL_ADMIN_TEXT_HEADROOM - head.len;
        memcpy(res->text.data + at, head.data, head.len);
        res->text.off = at;
        if (sent == 0) {
            res->text.len = SL_ADMIN_TEXT_HEADROOM;
        }
        sl_buf_free(&c->out);
        c->out = res->text;
        res->text = (struct sl_buf){0};
    } else {
        sl_buf_append(&c->out, head.data, head.len, SIZE_MAX);
        if (sent > 0) {
            sl_buf_append(&c->out, body, len, SIZE_MAX);
        }
    }
    sl_buf_free(&head);
    free(dumped);
    return sent;
}

/* One line in the access log of <c>'s API for the response just queued. <req> is NULL when the
 * request could not be parsed (its line shows as "- -"). */
static void
log_access(const struct admin_conn *c, const struct sl_h1_request *req, int status, size_t sent)
{
    char method[64] = "", target[2048] = "", ua[512] = "", referer[512] = "";
    struct sl_access_line f = {
        .client_ip = c->peer,
        .minor = req ? req->minor : 1,
        .status = status,
        .body_bytes = sent,
    };
    if (req != NULL) {
        const struct sl_header *h;
        snprintf(method, sizeof(method), "%.*s", (int)req->method.len, req->method.p);
        snprintf(target, sizeof(target), "%.*s", (int)req->target.len, req->target.p);
        f.method = method;
        f.target = target;
        if ((h = sl_h1_find_header(req->headers, req->nheaders, "user-agent")) != NULL) {
            snprintf(ua, sizeof(ua), "%.*s", (int)h->value.len, h->value.p);
            f.user_agent = ua;
        }
        if ((h = sl_h1_find_header(req->headers, req->nheaders, "referer")) != NULL) {
            snprintf(referer, sizeof(referer), "%.*s", (int)h->value.len, h->value.p);
            f.referer = referer;
        }
    }
    sl_admin_access_log(c->status, &f);
}

static void
error_response(struct admin_conn *c, const struct sl_h1_request *req, int status)
{
    struct sl_admin_response res = {0};
    const char *msg = status == 413   ? "Payload too large"
                      : status == 414 ? "URI too long"
                      : status == 408 ? "Request timeout"
                                      : "Bad request";
    sl_admin_message(&res, status == 431 ? 400 : status, msg);
    c->close_after = true;
    size_t sent = queue_response(c, &res, NULL, false, sl_clock_mono_us());
    log_access(c, req, res.status, sent);
    json_decref(res.body);
}

static char *
header_dup(const struct sl_h1_request *req, const char *name)
{
    const struct sl_header *h = sl_h1_find_header(req->headers, req->nheaders, name);
    return h ? strndup(h->value.p, h->value.len) : NULL;
}

static void
reset_chunked(struct admin_conn *c)
{
    c->chunk_state = (struct sl_h1_chunked){0};
    c->chunk_off = 0;
    sl_buf_free(&c->chunk_body);
}

/* Decodes the chunked body that follows the <head> bytes of the request at <data,avail> (the head
 * of c->in), from where the previous call stopped. Returns 0 when the body is complete (then
 * c->chunk_body holds it, NUL-terminated, and *consumed the request's length), 1 when more bytes
 * are needed (the state is kept; the caller must not reset it), or -status (400, 413, 500). */
static long
decode_chunked_body(struct admin_conn *c, const char *data, size_t avail, size_t head,
                    size_t *consumed)
{
    if (c->chunk_off == 0) {
        c->chunk_off = head;
    }
    size_t off = c->chunk_off;
    while (!c->chunk_state.done) {
        struct sl_str piece;
        ssize_t used = sl_h1_chunked_decode(&c->chunk_state, data + off, avail - off, &piece);
        if (used < 0) {
            return -400;
        }
        if (used == 0) {
            c->chunk_off = off;
            /* framing bytes beyond any body we would accept: refuse rather than buffer */
            return avail - off > ADMIN_MAX_BODY + 65536 ? -413 : 1;
        }
        if (c->chunk_body.len + piece.len > ADMIN_MAX_BODY) {
            return -413;
        }
        /* the last chunk yields an empty piece with a NULL pointer */
        if (piece.len > 0 &&
            sl_buf_append(&c->chunk_body, piece.p, piece.len, ADMIN_MAX_BODY + 1) < 0) {
            return -500;
        }
        off += (size_t)used;
    }
    if (sl_buf_append(&c->chunk_body, "", 1, ADMIN_MAX_BODY + 1) < 0) {
        return -500;
    }
    *consumed = off;
    return 0;
}

/* Handles one complete request at the head of c->in. Returns the bytes consumed, 0 when more are
 * needed, -1 when the connection must close after the queued bytes. */
static long
handle_one(struct admin_conn *c)
{
    struct sl_header hdrs[100];
    struct sl_h1_request req;
    struct sl_h1_limits lim = {8192, 8192, ADMIN_MAX_HEAD, 100};
    const char *data = sl_buf_head(&c->in);
    size_t avail = sl_buf_pending(&c->in);
    c->in_body = false;
    int rc = sl_h1_parse_request(data, avail, &lim, &req, hdrs, 100);
    if (rc == 0) {
        return 0;
    }
    if (rc < 0) {
        error_response(c, NULL, -rc);
        return -1;
    }
    uint64_t start_us = sl_clock_mono_us();
    size_t head = (size_t)rc;
    char *body = NULL;
    size_t body_len = 0, consumed = head;
    if (req.body == SL_H1_BODY_LENGTH) {
        if (req.content_length > ADMIN_MAX_BODY) {
            error_response(c, &req, 413);
            return -1;
        }
        if (avail - head < req.content_length) {
            c->in_body = true;
            return 0;
        }
        body_len = (size_t)req.content_length;
        consumed += body_len;
        body = malloc(body_len + 1);
        if (body == NULL) {
            error_response(c, &req, 500);
            return -1;
        }
        memcpy(body, data + head, body_len);
    } else if (req.body == SL_H1_BODY_CHUNKED) {
        long status = decode_chunked_body(c, data, avail, head, &consumed);
        if (status < 0) {
            reset_chunked(c);
            error_response(c, &req, (int)-status);
            return -1;
        }
        if (status > 0) {
            c->in_body = true;
            return 0; /* more bytes needed; the decoding state is kept */
        }
        body = c->chunk_body.data; /* NUL-terminated by decode_chunked_body */
        body_len = c->chunk_body.len - 1;
        c->chunk_body = (struct sl_buf){0}; /* ownership moves to this function (freed below) */
        reset_chunked(c);
    }
    if (body != NULL && req.body == SL_H1_BODY_LENGTH) {
        body[body_len] = '\0';
    }

    char *method = strndup(req.method.p, req.method.len);
    char *path = malloc(req.path.len + 1);
    char *query = strndup(req.query.p ? req.query.p : "", req.query.len);
    char *ctype = header_dup(&req, "content-type");
    char *origin = header_dup(&req, "origin");
    char *acrh = header_dup(&req, "access-control-request-headers");
    long plen =
        path ? sl_admin_url_decode(req.path.p, req.path.len, path, req.path.len + 1, false) : -1;
    c->close_after = c->close_after || !req.keep_alive;
    struct sl_admin_response res = {0};
    if (method == NULL || query == NULL || plen < 0) {
        sl_admin_message(&res, 400, "Bad request");
        c->close_after = true;
    } else {
        struct sl_admin_request areq = {
            .method = method,
            .path = path,
            .query = query,
            .content_type = ctype,
            .acrh = acrh,
            .body = body ? body : "",
            .body_len = body_len,
            .conf = admin.conf,
        };
        if (c->status) {
            sl_status_dispatch(&areq, &res);
        } else {
            sl_admin_dispatch(&areq, &res);
        }
    }
    size_t sent = queue_response(c, &res, origin, method && strcmp(method, "HEAD") == 0, start_us);
    log_access(c, &req, res.status, sent);
    json_decref(res.body);
    sl_buf_free(&res.text);
    free(method);
    free(path);
    free(query);
    free(ctype);
    free(origin);
    free(acrh);
    free(body);
    return c->close_after ? -1 : (long)consumed;
}

/* Reads what the peer sent into c->in: as sl_buf_recv (bytes, 0 at the end, -1 with errno
 * EAGAIN or ENOBUFS or a failure). */
static ssize_t
conn_read(struct admin_conn *c)
{
    if (c->tls.ssl == NULL) {
        return sl_buf_recv(&c->in, c->fd, ADMIN_MAX_IN);
    }
    size_t room = sl_buf_reserve(&c->in, 16384, ADMIN_MAX_IN);
    if (room == (size_t)-1) {
        errno = ENOMEM;
        return -1;
    }
    if (room == 0) {
        errno = ENOBUFS;
        return -1;
    }
    enum sl_tls_want want;
    ssize_t n = sl_tls_read(&c->tls, c->in.data + c->in.len, room, &want);
    c->read_want = SL_TLS_WANT_READ;
    if (n > 0) {
        c->in.len += (size_t)n;
        return n;
    }
    if (n == 0) {
        return 0;
    }
    if (n == SL_AGAIN) {
        c->read_want = want;
        errno = EAGAIN;
        return -1;
    }
    errno = ECONNRESET;
    return -1;
}

/* Sends pending output: bytes written, or -1 with errno (EAGAIN: wait for c->write_want). */
static ssize_t
conn_write(struct admin_conn *c)
{
    if (c->tls.ssl == NULL) {
        return sl_buf_write_fd(&c->out, c->fd);
    }
    enum sl_tls_want want;
    ssize_t n = sl_tls_write(&c->tls, sl_buf_head(&c->out), sl_buf_pending(&c->out), &want);
    c->write_want = SL_TLS_WANT_WRITE;
    if (n > 0) {
        sl_buf_consume(&c->out, (size_t)n);
        return n;
    }
    if (n == SL_AGAIN) {
        c->write_want = want;
        errno = EAGAIN;
        return -1;
    }
    errno = EPIPE;
    return -1;
}

static void
watch(struct ev_loop *loop, ev_io *io, bool on)
{
    if (on) {
        ev_io_start(loop, io);
    } else {
        ev_io_stop(loop, io);
    }
}

static double
seconds(int ms)
{
    return ms > 0 ? ms / 1000.0 : 0;
}

/* Arms the connection's one timer for its state, with the proxy's timeouts (nginx semantics):
 * - a request head being received: client_header_timeout from its first byte (for the first
 *   request of a connection, from the accept or the end of the TLS handshake), a deadline that
 *   progress does not push back (a client trickling bytes cannot hold the connection);
 * - a request body being received: client_body_timeout between two reads;
 * - a response being sent: send_timeout between two writes;
 * - idle between requests: keepalive_timeout.
 * A zero timeout leaves that state unbounded, as the proxy does. */
static void
conn_arm_timer(struct ev_loop *loop, struct admin_conn *c, bool out_pending)
{
    const struct sl_conf *conf = admin.conf;
    double t;
    size_t pending = sl_buf_pending(&c->in);
    bool awaiting_first = pending == 0 && !out_pending && !c->served;
    if (awaiting_first || (pending > 0 && !c->in_body)) {
        /* A new connection waits for its first request under client_header_timeout too. */
        if (c->head_started == 0) {
            c->head_started = ev_now(loop);
        }
        t = seconds(conf->client_header_timeout_ms);
        if (t > 0) {
            t = c->head_started + t - ev_now(loop);
            if (t < 0.001) {
                t = 0.001;
            }
        }
    } else if (pending > 0) {
        c->head_started = 0;
        t = seconds(conf->client_body_timeout_ms);
    } else if (out_pending) {
        c->head_started = 0;
        t = seconds(conf->send_timeout_ms);
    } else {
        c->head_started = 0;
        t = seconds(conf->keepalive_timeout_ms);
    }
    c->timer.repeat = t;
    if (t > 0) {
        ev_timer_again(loop, &c->timer);
    } else {
        ev_timer_stop(loop, &c->timer);
    }
}

static void
conn_flush_and_arm(struct ev_loop *loop, struct admin_conn *c, bool closing, bool read_more)
{
    while (sl_buf_pending(&c->out) > 0) {
        ssize_t n = conn_write(c);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            conn_close(loop, c);
            return;
        }
    }
    if (sl_buf_pending(&c->out) == 0 && closing) {
        conn_close(loop, c);
        return;
    }
    /* Over TLS either side may wait for either readiness (a read may have to send, a write may
     * have to receive); on plain TCP read_want is always READ and write_want WRITE. */
    bool out = sl_buf_pending(&c->out) > 0;
    watch(loop, &c->rio,
          (!closing && c->read_want == SL_TLS_WANT_READ) ||
              (out && c->write_want == SL_TLS_WANT_READ));
    watch(loop, &c->wio,
          (out && c->write_want == SL_TLS_WANT_WRITE) ||
              (!closing && c->read_want == SL_TLS_WANT_WRITE));
    /* Records OpenSSL already decrypted do not make the socket readable: come back for them. */
    if (read_more && !closing && c->tls.ssl != NULL && sl_tls_pending(&c->tls)) {
        ev_feed_event(loop, &c->rio, EV_READ);
    }
    if (!closing && !out && sl_buf_pending(&c->in) == 0 && c->served &&
        admin.conf->keepalive_timeout_ms <= 0) {
        conn_close(loop, c); /* keepalive_timeout = 0: no keep-alive (nginx) */
        return;
    }
    conn_arm_timer(loop, c, out);
}

/* Advances the TLS handshake. True once it is complete; false while it waits (watchers armed for
 * what it needs) or after it failed and closed the connection. The deadline set at accept is not
 * pushed back by progress, so a peer trickling bytes cannot hold the connection. */
static bool
conn_handshake(struct ev_loop *loop, struct admin_conn *c)
{
    enum sl_tls_want want;
    int rc = sl_tls_handshake(&c->tls, &want);
    if (rc == SL_AGAIN) {
        watch(loop, &c->rio, want == SL_TLS_WANT_READ);
        watch(loop, &c->wio, want == SL_TLS_WANT_WRITE);
        return false;
    }
    if (rc != SL_OK) {
        char why[256];
        sl_log(SL_LOG_INFO, "admin: TLS handshake with %s failed: %s", c->peer,
               sl_tls_error_string(why, sizeof(why)));
        conn_close(loop, c);
        return false;
    }
    c->read_want = SL_TLS_WANT_READ;
    c->write_want = SL_TLS_WANT_WRITE;
    c->head_started = ev_now(loop); /* nginx starts the request wait afresh after the handshake */
    return true;
}

/* Reads the PROXY protocol header the connection starts with (nginx's listen flag, as on
 * proxy_listen), straight from the socket so that a TLS handshake finds its ClientHello next. A
 * connection without a valid one is closed with no answer ("broken header"); the wait counts
 * against the deadline set at accept. True once it is read. */
static bool
conn_proxy_header(struct ev_loop *loop, struct admin_conn *c)
{
    struct sl_proxy_protocol pp;
    int rc = sl_proxy_protocol_recv(c->fd, c->pp, &pp);
    if (rc == 0) {
        return false;
    }
    if (rc < 0) {
        if (errno == EPROTO) {
            char shown[64];
            sl_proxy_protocol_shown(c->pp->buf, c->pp->have, shown, sizeof(shown));
            sl_log(SL_LOG_ERR, "admin: broken header: \"%s\" while reading PROXY protocol", shown);
        }
        conn_close(loop, c);
        return false;
    }
    free(c->pp);
    c->pp = NULL;
    return true;
}

static void
conn_io(struct ev_loop *loop, struct admin_conn *c, int revents)
{
    if (c->pp != NULL) {
        if (!conn_proxy_header(loop, c)) {
            return;
        }
        revents |= EV_READ; /* what followed the header may be in the socket already */
    }
    if (c->tls.ssl != NULL && !c->tls.established) {
        if (!conn_handshake(loop, c)) {
            return;
        }
        revents |= EV_READ; /* the first request may have come with the client's Finished */
    }
    bool closing = c->close_after;
    bool read_more = false;
    /* TLS: any readiness may unblock the reading side (see read_want), so always try */
    if (((revents & EV_READ) || c->tls.ssl != NULL) && !closing) {
        ssize_t n = conn_read(c);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)) {
            conn_close(loop, c);
            return;
        }
        read_more = n > 0;
        for (;;) {
            long used = handle_one(c);
            if (used < 0) {
                closing = true;
                sl_buf_consume(&c->in, sl_buf_pending(&c->in));
                break;
            }
            if (used == 0) {
                break;
            }
            sl_buf_consume(&c->in, (size_t)used);
            c->served = true;
            c->head_started = 0; /* the next head's deadline starts with its own bytes */
        }
    }
    conn_flush_and_arm(loop, c, closing, read_more);
}

/* What the server logs while it serves a connection goes to that API's error log
 * (admin_error_log, status_error_log), as nginx's error_log of the server block. */
static void
on_conn_io(struct ev_loop *loop, ev_io *io, int revents)
{
    struct admin_conn *c = io->data;
    sl_log_route_thread(sl_admin_error_log(c->status));
    conn_io(loop, c, revents);
    sl_log_route_thread(NULL);
}

static void
on_conn_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    conn_close(loop, t->data);
}

static void
listeners_watch(struct ev_loop *loop, bool on)
{
    for (size_t i = 0; i < admin.n; i++) {
        watch(loop, &admin.listeners[i].io, on);
    }
}

static void
on_accept_backoff_end(struct ev_loop *loop, ev_timer *t, int revents)
{
    listeners_watch(loop, true);
}

/* The address in <ss> as text ("?" when it is not IPv4 or IPv6, e.g. a Unix socket). */
static void
peer_string(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    const void *a = ss->ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
    if ((ss->ss_family != AF_INET && ss->ss_family != AF_INET6) ||
        inet_ntop(ss->ss_family, a, out, (socklen_t)cap) == NULL) {
        snprintf(out, cap, "?");
    }
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    struct admin_listener *l = io->data;
    for (int i = 0; i < 16; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (sl_net_accept_should_pause(errno)) {
                int err = errno;
                listeners_watch(loop, false);
                sl_net_accept_pause(loop, &admin.accept_backoff, "admin: ", err);
            }
            return;
        }
        if (admin.nconns[l->status] >= ADMIN_MAX_CONNS) {
            sl_log_route_thread(sl_admin_error_log(l->status));
            sl_log(SL_LOG_WARN, "%s: %d connections are open, closing a new one",
                   l->status ? "status" : "admin", ADMIN_MAX_CONNS);
            sl_log_route_thread(NULL);
            close(fd);
            continue;
        }
        struct admin_conn *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            return;
        }
        /* Plain: the first request head's deadline starts now (client_header_timeout), as if its
         * first byte had come with the connection. */
        double timeout = seconds(admin.conf->client_header_timeout_ms);
        c->head_started = ev_now(loop);
        if (l->ssl) {
            char why[256];
            SSL_CTX *ctx = admin.tls_ctx[l->status ? API_STATUS : API_ADMIN];
            if (sl_tls_conn_init(&c->tls, ctx, fd, why, sizeof(why)) < 0) {
                sl_log(SL_LOG_ERR, "admin: %s", why);
                close(fd);
                free(c);
                return;
            }
            /* nginx bounds the handshake with client_header_timeout too */
            if (admin.conf->client_header_timeout_ms > 0) {
                timeout = admin.conf->client_header_timeout_ms / 1000.0;
            }
        }
        if (l->entry.proxy_protocol && (c->pp = calloc(1, sizeof(*c->pp))) == NULL) {
            sl_tls_conn_free(&c->tls);
            close(fd);
            free(c);
            return;
        }
        c->fd = fd; /* TCP_NODELAY comes from the listener (sl_net_listen) */
        c->status = l->status;
        peer_string(&ss, c->peer, sizeof(c->peer));
        c->read_want = SL_TLS_WANT_READ;
        c->write_want = SL_TLS_WANT_WRITE;
        ev_io_init(&c->rio, on_conn_io, fd, EV_READ);
        ev_io_init(&c->wio, on_conn_io, fd, EV_WRITE);
        c->rio.data = c->wio.data = c;
        ev_init(&c->timer, on_conn_timeout);
        c->timer.repeat = timeout;
        c->timer.data = c;
        c->next = admin.conns;
        if (admin.conns) {
            admin.conns->prev = c;
        }
        admin.conns = c;
        admin.nconns[c->status]++;
        ev_io_start(loop, &c->rio);
        if (timeout > 0) {
            ev_timer_again(loop, &c->timer);
        }
    }
}

static bool
wants_tls(const struct sl_conf *conf, enum api api)
{
    const struct sl_listen *l = api == API_STATUS ? conf->status_listen : conf->admin_listen;
    size_t n = api == API_STATUS ? conf->nstatus_listen : conf->nadmin_listen;
    for (size_t i = 0; i < n; i++) {
        if (l[i].ssl) {
            return true;
        }
    }
    return false;
}

/* Kong's default certificates of an API (kong/conf_loader, prefix_handler.lua
 * gen_default_ssl_cert): an RSA and an ECDSA pair under <prefix>/ssl, <what>-kong-default and
 * <what>-kong-default-ecdsa, made when missing, kept across restarts. */
static int
default_pairs(const struct sl_conf *conf, const char *what, char cert[][PATH_MAX],
              char key[][PATH_MAX], char *err, size_t errlen)
{
    static const struct {
        const char *suffix;
        enum sl_tls_key_type type;
    } defs[] = {{"", SL_TLS_KEY_RSA}, {"-ecdsa", SL_TLS_KEY_ECDSA}};
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/ssl", conf->prefix);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "could not create %s: %s", dir, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < 2; i++) {
        int a = snprintf(cert[i], PATH_MAX, "%s/%s-kong-default%s.crt", dir, what, defs[i].suffix);
        int b = snprintf(key[i], PATH_MAX, "%s/%s-kong-default%s.key", dir, what, defs[i].suffix);
        if (a < 0 || a >= PATH_MAX || b < 0 || b >= PATH_MAX) {
            snprintf(err, errlen, "prefix %s is too long", conf->prefix);
            return -1;
        }
        bool made = false;
        if (sl_tls_ensure_self_signed(cert[i], key[i], defs[i].type, &made, err, errlen) < 0) {
            return -1;
        }
        if (made) {
            sl_log(SL_LOG_INFO, "%s: generated the default certificate %s and its key", what,
                   cert[i]);
        }
    }
    return 0;
}

/* A TLS context for <api>'s certificates in <conf> (or its default ones). NULL with <err>. */
static SSL_CTX *
tls_ctx_new(const struct sl_conf *conf, enum api api, char *err, size_t errlen)
{
    bool status = api == API_STATUS;
    char def_cert[SL_CONF_MAX_SSL_PAIRS][PATH_MAX], def_key[SL_CONF_MAX_SSL_PAIRS][PATH_MAX];
    const char *certs[SL_CONF_MAX_SSL_PAIRS], *keys[SL_CONF_MAX_SSL_PAIRS];
    size_t n = status ? conf->nstatus_ssl_cert : conf->nadmin_ssl_cert;
    if (n > 0) {
        /* conf.c saw to it that the two lists have the same length */
        for (size_t i = 0; i < n; i++) {
            certs[i] = status ? conf->status_ssl_cert[i] : conf->admin_ssl_cert[i];
            keys[i] = status ? conf->status_ssl_cert_key[i] : conf->admin_ssl_cert_key[i];
        }
    } else {
        if (default_pairs(conf, status ? "status" : "admin", def_cert, def_key, err, errlen) < 0) {
            return NULL;
        }
        n = 2;
        for (size_t i = 0; i < n; i++) {
            certs[i] = def_cert[i];
            keys[i] = def_key[i];
        }
    }
    struct sl_tls_server_opts opts = {
        .cert_paths = certs,
        .key_paths = keys,
        .npairs = n,
        .cert_label = status ? "status_ssl_cert" : "admin_ssl_cert",
        .key_label = status ? "status_ssl_cert_key" : "admin_ssl_cert_key",
        /* Kong's listener says http2, but both APIs speak HTTP/1.1 only */
        .alpn = SL_TLS_ALPN_HTTP1,
        .prefer_server_ciphers = false, /* Kong's intermediate suite */
    };
    return sl_tls_server_ctx_new(&opts, err, errlen);
}

int
sl_admin_prepare_tls(const struct sl_conf *conf, char *err, size_t errlen)
{
    for (enum api api = API_ADMIN; api <= API_STATUS; api++) {
        if (admin.tls_ctx[api] == NULL && wants_tls(conf, api) &&
            (admin.tls_ctx[api] = tls_ctx_new(conf, api, err, errlen)) == NULL) {
            return -1;
        }
    }
    return 0;
}

/* The listeners and TLS context a configuration asks for, made before anything switches (start,
 * reload). Entries at an address already listened on keep that socket and its queued
 * connections; the others are opened here. */
struct sl_admin_plan {
    struct admin_listener listeners[ADMIN_MAX_LISTENERS];
    size_t n;
    bool opened[ADMIN_MAX_LISTENERS];  /* sockets this plan opened (closed if it is discarded) */
    int relisten[ADMIN_MAX_LISTENERS]; /* kept sockets whose backlog changed: the new one */
    SSL_CTX *tls_ctx[2];               /* per API: a context read from the files now, or NULL */
    bool tls[2];                       /* per API: some listener is `ssl` */
};

void
sl_admin_reload_discard(struct sl_admin_plan *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (p->opened[i]) {
            close(p->listeners[i].fd);
        }
    }
    SSL_CTX_free(p->tls_ctx[API_ADMIN]);
    SSL_CTX_free(p->tls_ctx[API_STATUS]);
    free(p);
}

/* The running listener at <l>'s address not yet taken by the plan, whichever API it served: an
 * address moving from status_listen to admin_listen (or back) in one reload keeps its socket
 * rather than failing to bind while the old one still listens. */
static const struct admin_listener *
listening_on(const struct sl_listen *l, const bool *taken)
{
    for (size_t j = 0; j < admin.n; j++) {
        const struct sl_listen *o = &admin.listeners[j].entry;
        if (!taken[j] && o->port == l->port && strcmp(o->host, l->host) == 0) {
            return &admin.listeners[j];
        }
    }
    return NULL;
}

/* <reread_tls>: a reload reads the certificate files again (rotation); the start uses the
 * context sl_admin_prepare_tls made before daemonizing. */
static struct sl_admin_plan *
plan_make(const struct sl_conf *conf, bool reread_tls, char *err, size_t errlen)
{
    struct sl_admin_plan *p = calloc(1, sizeof(*p));
    bool taken[ADMIN_MAX_LISTENERS] = {false};
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (enum api api = API_ADMIN; api <= API_STATUS; api++) {
        p->tls[api] = wants_tls(conf, api);
        if (p->tls[api] && (reread_tls || admin.tls_ctx[api] == NULL) &&
            (p->tls_ctx[api] = tls_ctx_new(conf, api, err, errlen)) == NULL) {
            sl_admin_reload_discard(p);
            return NULL;
        }
    }
    for (size_t i = 0; i < conf->nadmin_listen + conf->nstatus_listen; i++) {
        bool status = i >= conf->nadmin_listen;
        const struct sl_listen *l =
            status ? &conf->status_listen[i - conf->nadmin_listen] : &conf->admin_listen[i];
        const char *key = status ? "status_listen" : "admin_listen";
        struct admin_listener *al = &p->listeners[p->n];
        const struct admin_listener *old = listening_on(l, taken);
        if (old != NULL) {
            taken[old - admin.listeners] = true;
            al->fd = old->fd;
            if (old->entry.backlog != l->backlog) {
                p->relisten[p->n] = sl_net_backlog(l->backlog);
            }
        } else {
            char why[512];
            struct sl_net_listen_opts opts = sl_listen_opts(l);
            opts.reuseport = false; /* one socket, served by the control thread */
            al->fd = sl_net_listen(l->host, l->port, &opts, why, sizeof(why));
            if (al->fd < 0) {
                snprintf(err, errlen, "%s: %s", key, why);
                sl_admin_reload_discard(p);
                return NULL;
            }
            p->opened[p->n] = true;
        }
        if (l->ssl && l->http2) {
            sl_log(SL_LOG_INFO,
                   "admin_listen %s:%u: http2 is ignored, the Admin API speaks HTTP/1.1 (ALPN "
                   "offers http/1.1 only)",
                   l->host, (unsigned)l->port);
        }
        al->ssl = l->ssl;
        al->status = status;
        al->entry = *l;
        p->n++;
    }
    return p;
}

/* Switches to the plan's listeners (closing the sockets it does not keep) and TLS context; open
 * connections keep theirs (an SSL object holds a reference to its context). */
static void
plan_install(struct ev_loop *loop, struct sl_admin_plan *p)
{
    listeners_watch(loop, false);
    for (size_t j = 0; j < admin.n; j++) {
        bool kept = false;
        for (size_t i = 0; i < p->n && !kept; i++) {
            kept = p->listeners[i].fd == admin.listeners[j].fd;
        }
        if (!kept) {
            close(admin.listeners[j].fd);
        }
    }
    memcpy(admin.listeners, p->listeners, p->n * sizeof(p->listeners[0]));
    admin.n = p->n;
    for (size_t i = 0; i < admin.n; i++) {
        if (p->relisten[i] > 0) {
            listen(admin.listeners[i].fd, p->relisten[i]); /* takes the new backlog */
        }
        /* A kept socket takes the entry's deferred and keep-alive options again (a new one has
         * them already; setting them twice is harmless). */
        struct sl_net_listen_opts opts = sl_listen_opts(&admin.listeners[i].entry);
        if (sl_net_listen_tune(admin.listeners[i].fd, &opts) < 0) {
            sl_log(SL_LOG_WARN, "%s %s:%u: setting its options failed: %s",
                   admin.listeners[i].status ? "status_listen" : "admin_listen",
                   admin.listeners[i].entry.host, (unsigned)admin.listeners[i].entry.port,
                   strerror(errno));
        }
        ev_io_init(&admin.listeners[i].io, on_accept, admin.listeners[i].fd, EV_READ);
        admin.listeners[i].io.data = &admin.listeners[i];
    }
    if (!ev_is_active(&admin.accept_backoff)) {
        listeners_watch(loop, true);
    }
    for (enum api api = API_ADMIN; api <= API_STATUS; api++) {
        if (p->tls_ctx[api] != NULL || !p->tls[api]) {
            /* TLS connections already accepted hold their own reference to the old context */
            SSL_CTX_free(admin.tls_ctx[api]);
            admin.tls_ctx[api] = p->tls_ctx[api];
        }
    }
    free(p);
}

/* Kong serves Kong Manager on admin_gui_listen; Sluice does not bundle it, so a kong.conf that
 * sets those listeners (or keeps Kong's default) starts without them and is told so once, rather
 * than finding the ports closed without a word. `off` says nothing. */
static void
notice_admin_gui(const struct sl_conf *conf)
{
    if (conf->nadmin_gui_listen == 0) {
        return;
    }
    char list[1024] = "";
    size_t w = 0;
    for (size_t i = 0; i < conf->nadmin_gui_listen && w < sizeof(list); i++) {
        const struct sl_listen *l = &conf->admin_gui_listen[i];
        bool v6 = strchr(l->host, ':') != NULL;
        int n =
            snprintf(list + w, sizeof(list) - w, "%s%s%s%s:%u%s", i > 0 ? ", " : "", v6 ? "[" : "",
                     l->host, v6 ? "]" : "", (unsigned)l->port, l->ssl ? " ssl" : "");
        if (n < 0) {
            break;
        }
        w += (size_t)n;
    }
    sl_log(SL_LOG_NOTICE,
           "Kong Manager is not bundled with Sluice; admin_gui_listen %s is not served (set "
           "admin_gui_listen = off to silence this)",
           list);
}

int
sl_admin_start(struct ev_loop *loop, const struct sl_conf *conf, char *err, size_t errlen)
{
    admin.conf = conf;
    notice_admin_gui(conf);
    admin.n = 0;
    ev_init(&admin.accept_backoff, on_accept_backoff_end);
    if (sl_admin_prepare_tls(conf, err, errlen) < 0) {
        return -1;
    }
    struct sl_admin_plan *p = plan_make(conf, false, err, errlen);
    if (p == NULL) {
        return -1;
    }
    plan_install(loop, p);
    return 0;
}

struct sl_admin_plan *
sl_admin_reload_prepare(const struct sl_conf *conf, char *err, size_t errlen)
{
    return plan_make(conf, true, err, errlen);
}

void
sl_admin_reload_commit(struct ev_loop *loop, struct sl_admin_plan *p)
{
    plan_install(loop, p);
}

void
sl_admin_stop(struct ev_loop *loop)
{
    ev_timer_stop(loop, &admin.accept_backoff);
    for (size_t i = 0; i < admin.n; i++) {
        ev_io_stop(loop, &admin.listeners[i].io);
        close(admin.listeners[i].fd);
    }
    admin.n = 0;
    while (admin.conns != NULL) {
        conn_close(loop, admin.conns);
    }
    for (enum api api = API_ADMIN; api <= API_STATUS; api++) {
        SSL_CTX_free(admin.tls_ctx[api]);
        admin.tls_ctx[api] = NULL;
    }
}
