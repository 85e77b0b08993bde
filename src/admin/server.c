/* SPDX-License-Identifier: Apache-2.0 */
/* Admin API connections on the control loop: strict head parsing (src/http), a bounded body
 * (Kong's nginx_admin_client_max_body_size, 10 MiB), one request at a time, keep-alive. Responses
 * are JSON with Kong's headers and CORS (kong.md §2.4). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/internal.h"
#include "core/clock.h"
#include "core/version.h"
#include "http/h1.h"
#include "net/listen.h"
#include "proxy/http_date.h"
#include "sluice/log.h"

#define ADMIN_MAX_BODY (10 * 1024 * 1024)
#define ADMIN_MAX_HEAD (64 * 1024)
#define ADMIN_MAX_LISTENERS SL_CONF_MAX_LISTEN
#define ADMIN_IDLE_TIMEOUT 60.0

struct admin_conn {
    int fd;
    ev_io rio, wio;
    ev_timer timer;
    struct sl_buf in, out;
    bool close_after;
    struct admin_conn *next, *prev;
};

static struct {
    const struct sl_conf *conf;
    ev_io listeners[ADMIN_MAX_LISTENERS];
    int fds[ADMIN_MAX_LISTENERS];
    size_t n;
    struct admin_conn *conns;
} admin;

static void
conn_close(struct ev_loop *loop, struct admin_conn *c)
{
    ev_io_stop(loop, &c->rio);
    ev_io_stop(loop, &c->wio);
    ev_timer_stop(loop, &c->timer);
    close(c->fd);
    sl_buf_free(&c->in);
    sl_buf_free(&c->out);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        admin.conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
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
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 500:
        return "Internal Server Error";
    default:
        return "Unknown";
    }
}

static void
queue_response(struct admin_conn *c, const struct sl_admin_response *res, const char *origin,
               bool head_only, uint64_t start_us)
{
    char *text = NULL;
    size_t len = 0;
    if (res->body != NULL) {
        /* 16 significant digits: a millisecond timestamp (targets' created_at) reads as Kong
         * prints it, 1712345678.123, not as its binary expansion 1712345678.1229999. */
        text = json_dumps(res->body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16));
        len = text ? strlen(text) : 0;
    }
    char date[40];
    sl_http_date(date, sizeof(date));
    sl_buf_appendf(&c->out, SIZE_MAX,
                   "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: %s\r\n"
                   "Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true\r\n"
                   "X-Sluice-Admin-Latency: %llu\r\nConnection: %s\r\n%s",
                   res->status, reason(res->status), date, SL_SERVER_TOKEN, origin ? origin : "*",
                   (unsigned long long)((sl_clock_mono_us() - start_us) / 1000),
                   c->close_after ? "close" : "keep-alive",
                   res->extra_headers ? res->extra_headers : "");
    if (res->status == 204 || res->status == 304) {
        sl_buf_append(&c->out, "\r\n", 2, SIZE_MAX);
    } else {
        if (res->body != NULL) {
            sl_buf_appendf(&c->out, SIZE_MAX, "Content-Type: application/json; charset=utf-8\r\n");
        }
        sl_buf_appendf(&c->out, SIZE_MAX, "Content-Length: %zu\r\n\r\n", len);
        if (!head_only && len) {
            sl_buf_append(&c->out, text, len, SIZE_MAX);
        }
    }
    free(text);
}

static void
error_response(struct admin_conn *c, int status)
{
    struct sl_admin_response res = {0};
    const char *msg = status == 413   ? "Payload too large"
                      : status == 414 ? "URI too long"
                      : status == 408 ? "Request timeout"
                                      : "Bad request";
    sl_admin_message(&res, status == 431 ? 400 : status, msg);
    c->close_after = true;
    queue_response(c, &res, NULL, false, sl_clock_mono_us());
    json_decref(res.body);
}

static char *
header_dup(const struct sl_h1_request *req, const char *name)
{
    const struct sl_header *h = sl_h1_find_header(req->headers, req->nheaders, name);
    return h ? strndup(h->value.p, h->value.len) : NULL;
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
    int rc = sl_h1_parse_request(data, avail, &lim, &req, hdrs, 100);
    if (rc == 0) {
        return 0;
    }
    if (rc < 0) {
        error_response(c, -rc);
        return -1;
    }
    uint64_t start_us = sl_clock_mono_us();
    size_t head = (size_t)rc;
    char *body = NULL;
    size_t body_len = 0, consumed = head;
    if (req.body == SL_H1_BODY_LENGTH) {
        if (req.content_length > ADMIN_MAX_BODY) {
            error_response(c, 413);
            return -1;
        }
        if (avail - head < req.content_length) {
            return 0;
        }
        body_len = (size_t)req.content_length;
        consumed += body_len;
        body = malloc(body_len + 1);
        if (body == NULL) {
            error_response(c, 500);
            return -1;
        }
        memcpy(body, data + head, body_len);
    } else if (req.body == SL_H1_BODY_CHUNKED) {
        struct sl_h1_chunked st = {0};
        size_t off = head;
        body = malloc(1);
        while (body != NULL && !st.done) {
            struct sl_str piece;
            ssize_t used = sl_h1_chunked_decode(&st, data + off, avail - off, &piece);
            if (used < 0) {
                free(body);
                error_response(c, 400);
                return -1;
            }
            if (used == 0) {
                free(body);
                return avail - off > ADMIN_MAX_BODY + 65536 ? (error_response(c, 413), -1) : 0;
            }
            if (body_len + piece.len > ADMIN_MAX_BODY) {
                free(body);
                error_response(c, 413);
                return -1;
            }
            char *nb = realloc(body, body_len + piece.len + 1);
            if (nb == NULL) {
                free(body);
                body = NULL;
                break;
            }
            body = nb;
            memcpy(body + body_len, piece.p, piece.len);
            body_len += piece.len;
            off += (size_t)used;
        }
        if (body == NULL) {
            error_response(c, 500);
            return -1;
        }
        consumed = off;
    }
    if (body != NULL) {
        body[body_len] = '\0';
    }

    char *method = strndup(req.method.p, req.method.len);
    char *path = malloc(req.path.len + 1);
    char *query = strndup(req.query.p ? req.query.p : "", req.query.len);
    char *ctype = header_dup(&req, "content-type");
    char *origin = header_dup(&req, "origin");
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
            .body = body ? body : "",
            .body_len = body_len,
            .conf = admin.conf,
        };
        sl_admin_dispatch(&areq, &res);
    }
    queue_response(c, &res, origin, method && strcmp(method, "HEAD") == 0, start_us);
    json_decref(res.body);
    free(method);
    free(path);
    free(query);
    free(ctype);
    free(origin);
    free(body);
    return c->close_after ? -1 : (long)consumed;
}

static void
conn_flush_and_arm(struct ev_loop *loop, struct admin_conn *c, bool closing)
{
    while (sl_buf_pending(&c->out) > 0) {
        ssize_t n = sl_buf_write_fd(&c->out, c->fd);
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
    if (sl_buf_pending(&c->out) > 0) {
        ev_io_start(loop, &c->wio);
    } else {
        ev_io_stop(loop, &c->wio);
    }
    if (closing) {
        ev_io_stop(loop, &c->rio);
    }
    ev_timer_again(loop, &c->timer);
}

static void
on_conn_io(struct ev_loop *loop, ev_io *io, int revents)
{
    struct admin_conn *c = io->data;
    bool closing = c->close_after;
    if ((revents & EV_READ) && !closing) {
        ssize_t n = sl_buf_read_fd(&c->in, c->fd, ADMIN_MAX_BODY + ADMIN_MAX_HEAD + 65536);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)) {
            conn_close(loop, c);
            return;
        }
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
        }
    }
    conn_flush_and_arm(loop, c, closing);
}

static void
on_conn_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    conn_close(loop, t->data);
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    for (int i = 0; i < 16; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        struct admin_conn *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->fd = fd;
        ev_io_init(&c->rio, on_conn_io, fd, EV_READ);
        ev_io_init(&c->wio, on_conn_io, fd, EV_WRITE);
        c->rio.data = c->wio.data = c;
        ev_init(&c->timer, on_conn_timeout);
        c->timer.repeat = ADMIN_IDLE_TIMEOUT;
        c->timer.data = c;
        c->next = admin.conns;
        if (admin.conns) {
            admin.conns->prev = c;
        }
        admin.conns = c;
        ev_io_start(loop, &c->rio);
        ev_timer_again(loop, &c->timer);
    }
}

int
sl_admin_start(struct ev_loop *loop, const struct sl_conf *conf, char *err, size_t errlen)
{
    admin.conf = conf;
    admin.n = 0;
    for (size_t i = 0; i < conf->nadmin_listen && admin.n < ADMIN_MAX_LISTENERS; i++) {
        const struct sl_listen *l = &conf->admin_listen[i];
        if (l->ssl) {
            sl_log(SL_LOG_WARN,
                   "admin_listen %s:%u ssl: TLS is not implemented yet; this listener "
                   "is not opened",
                   l->host, (unsigned)l->port);
            continue;
        }
        char why[512];
        int fd = sl_net_listen(l->host, l->port, l->backlog, false, why, sizeof(why));
        if (fd < 0) {
            snprintf(err, errlen, "admin_listen: %s", why);
        }
        if (fd < 0) {
            sl_admin_stop(loop);
            return -1;
        }
        admin.fds[admin.n] = fd;
        ev_io_init(&admin.listeners[admin.n], on_accept, fd, EV_READ);
        ev_io_start(loop, &admin.listeners[admin.n]);
        admin.n++;
    }
    return 0;
}

void
sl_admin_stop(struct ev_loop *loop)
{
    for (size_t i = 0; i < admin.n; i++) {
        ev_io_stop(loop, &admin.listeners[i]);
        close(admin.fds[i]);
    }
    admin.n = 0;
    while (admin.conns != NULL) {
        conn_close(loop, admin.conns);
    }
}
