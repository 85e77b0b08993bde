/* SPDX-License-Identifier: Apache-2.0 */
/* A client connection and the requests it carries (DESIGN.md §3): its life (accept, keep-alive
 * between requests, close, lingering close), the client socket's reads, writes and timeouts, and
 * the state machine that drives the other session files: request.c reads and routes a head and
 * pumps the request body, attempt.c gets the request to an upstream connection, response.c pumps
 * the response back, tunnel.c copies a WebSocket. Everything runs on the owning worker's loop.
 *
 * Control flow: every I/O or timer event updates buffers and calls run(), which advances the state
 * machine as far as the buffered bytes allow, then flushes and re-arms watchers and timers. A
 * function that may free the session returns CLOSED, and its caller stops touching the session. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/rand.h"
#include "net/cidr.h"
#include "proxy/session.h"
#include "sluice/log.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static size_t
in_cap(const struct sl_session *s)
{
    size_t cap = s->settings->max_header_bytes + 4096;
    return cap > SL_PROXY_HIGH_WATER ? cap : SL_PROXY_HIGH_WATER;
}

static void
reset_request(struct sl_session *s)
{
    sl_session_release_upstream(s, false);
    sl_session_body_store_release(s);
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
    sl_session_dns_unpark(s);
    reset_request(s);
    ev_io_stop(w->loop, &s->rio);
    ev_io_stop(w->loop, &s->wio);
    sl_lazy_timer_stop(w->loop, &s->timer);
    close(s->fd);
    s->in.off = s->in.len = 0; /* unsent or unread bytes die with the connection */
    sl_proxy_buf_release(w, &s->in);
    s->out.off = s->out.len = 0;
    sl_proxy_buf_release(w, &s->out);
    sl_session_out_release(s);
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
        } else if (s->phase == SL_PHASE_PROXY) {
            /* What is still queued (up to a spool's worth, read ahead of this client) never
             * reaches it: the log counts the body bytes it was written (nginx $body_bytes_sent). */
            uint64_t body =
                s->resp_written > s->out_total_before ? s->resp_written - s->out_total_before : 0;
            if (body < s->resp_body_bytes) {
                s->resp_body_bytes = body;
            }
        }
        s->aborted = true;
        sl_access_log_write(s);
    }
    sl_session_close(s);
}

void
sl_session_close_if_idle(struct sl_session *s)
{
    if ((s->phase == SL_PHASE_HEAD && !s->got_bytes && !sl_session_out_pending(s)) ||
        s->phase == SL_PHASE_LINGER) {
        sl_session_close(s);
    }
}

/* Starts the per-request state: id, arena, snapshot. */
int
sl_session_begin_request(struct sl_session *s)
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

/* Flushes the client buffer, refilled from the spool while the socket takes more. Returns CLOSED
 * on a write error. */
static int
flush_client(struct sl_session *s)
{
    bool wrote = false;
    for (;;) {
        if (sl_buf_pending(&s->out) == 0) {
            if (!sl_session_out_spooled(s)) {
                break;
            }
            if (sl_session_out_refill(s) < 0) {
                sl_log(SL_LOG_ERR, "cannot read the buffered response from %s/proxy_temp: %s",
                       s->settings->conf.prefix, strerror(errno));
                client_failed(s);
                return CLOSED;
            }
        }
        ssize_t n = sl_buf_write_fd(&s->out, s->fd);
        if (n > 0) {
            s->resp_written += (uint64_t)n;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* The socket takes nothing. When the last flush emptied the buffer the client
                 * timer was cleared (below); without this a client that stopped reading just as
                 * the socket filled up would never time out (nor would anything else: the
                 * upstream is not read, or is done). */
                if (!wrote && s->timer.deadline == 0 &&
                    (s->phase != SL_PHASE_HEAD || !s->got_bytes)) {
                    set_client_timer(s, s->settings->send_timeout_ms);
                }
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

/* The response is all read: the upstream connection goes back to the pool when nothing of the
 * exchange is in doubt, else it is closed. */
static void
release_finished_upstream(struct sl_session *s)
{
    bool reusable = s->up != NULL && s->resp_keep_alive && req_all_queued(s) && !s->up->eof &&
                    !s->up->write_failed && sl_buf_pending(&s->up->in) == 0 &&
                    up_unsent(s->up) == 0;
    sl_session_release_upstream(s, reusable);
}

static void
finish_request(struct sl_session *s)
{
    struct sl_worker *w = s->worker;
    sl_access_log_write(s);
    release_finished_upstream(s);
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
        set_client_timer(s, sl_session_out_pending(s) ? s->settings->send_timeout_ms
                                                      : s->settings->keepalive_timeout_ms);
        /* Idle in keep-alive: the arena and an empty input buffer go back to the worker (a
         * pipelined request still in the buffer keeps it), so an idle connection holds little
         * more than its session. */
        sl_proxy_arena_release(w, s->arena);
        s->arena = NULL;
        sl_proxy_buf_release(w, &s->in);
    }
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
static _Atomic unsigned long long *
conn_state_counter(enum sl_conn_state st)
{
    return st == SL_CONN_READING   ? &sl_proxy_stats.connections_reading
           : st == SL_CONN_WRITING ? &sl_proxy_stats.connections_writing
                                   : NULL;
}

/* Moves the session between the /status counts when its state changed: called once a session
 * settled (the end of run()), so a request costs two counter moves, none while it streams. */
static void
count_state(struct sl_session *s)
{
    enum sl_conn_state now = s->phase != SL_PHASE_HEAD ? SL_CONN_WRITING
                             : s->got_bytes            ? SL_CONN_READING
                                                       : SL_CONN_WAITING;
    if (now == s->conn_state) {
        return;
    }
    _Atomic unsigned long long *from = conn_state_counter(s->conn_state),
                               *to = conn_state_counter(now);
    if (from != NULL) {
        atomic_fetch_sub_explicit(from, 1, memory_order_relaxed);
    }
    if (to != NULL) {
        atomic_fetch_add_explicit(to, 1, memory_order_relaxed);
    }
    s->conn_state = now;
}

void
sl_session_uncount(struct sl_session *s)
{
    _Atomic unsigned long long *from = conn_state_counter(s->conn_state);
    if (from != NULL) {
        atomic_fetch_sub_explicit(from, 1, memory_order_relaxed);
    }
    s->conn_state = SL_CONN_WAITING;
}

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
    bool want_write = sl_session_out_pending(s);
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
    bool up_read, up_write;
    if (!c->connected) {
        /* connecting (hs_want 0: writability says it is done), then the TLS handshake */
        up_read = (c->hs_want & EV_READ) != 0;
        up_write = c->hs_want == 0 || (c->hs_want & EV_WRITE) != 0;
    } else {
        up_read = (!c->eof && sl_session_out_room(s)) || c->write_wants_read;
        up_write = up_unsent(c) > 0 || c->read_wants_write;
    }
    if (up_read != (bool)ev_is_active(&c->rio)) {
        if (up_read) {
            ev_io_start(loop, &c->rio);
        } else {
            ev_io_stop(loop, &c->rio);
        }
    }
    if (up_write != (bool)ev_is_active(&c->wio)) {
        if (up_write) {
            ev_io_start(loop, &c->wio);
        } else {
            ev_io_stop(loop, &c->wio);
        }
    }
    if (up_read && c->connected && sl_upconn_has_decrypted(c) &&
        sl_buf_pending(&c->in) < s->settings->max_header_bytes + SL_PROXY_HIGH_WATER) {
        /* Decrypted bytes wait inside OpenSSL (a read stopped at the buffer's cap) and there is
         * room for them now: no readiness will announce them, so the read event is raised here,
         * and served in this loop iteration (invoke_pending, dispatch.c). Each such read takes
         * some of them, so this ends; part of a record (sl_upconn_has_buffered) is left to the
         * socket's readiness, as a read would only block on it. */
        ev_feed_event(loop, &c->rio, EV_READ);
    }
    enum up_wait wait;
    if (!c->connected) {
        wait = UP_WAIT_CONNECT;
    } else if (up_unsent(c) > 0) {
        wait = UP_WAIT_WRITE;
    } else if (s->phase == SL_PHASE_TUNNEL) {
        wait = UP_WAIT_READ; /* idle either way */
    } else if (up_read && (req_all_queued(s) || s->resp_head_done)) {
        wait = UP_WAIT_READ;
    } else {
        wait = UP_WAIT_NONE;
    }
    if (wait != c->wait) {
        sl_session_set_upstream_wait(s, wait);
    }
}

static int
run(struct sl_session *s)
{
    for (int guard = 0; guard < 10000; guard++) {
        int r = 0;
        switch (s->phase) {
        case SL_PHASE_HEAD:
            if (sl_session_out_pending(s)) {
                /* The previous response is still going out: a pipelined request waits for it, so
                 * that nothing the next one generates (an error page replaces what is queued)
                 * can cut it, and a client that does not read stops being read. */
                if (flush_client(s) == CLOSED) {
                    return CLOSED;
                }
                r = !sl_session_out_pending(s);
                break;
            }
            r = sl_session_process_head(s);
            if (r == 1 && s->phase == SL_PHASE_PROXY) {
                /* Routed: the body bytes that came with the head are queued behind it in the
                 * next round, so head and body leave in one send instead of two. */
                continue;
            }
            break;
        case SL_PHASE_PROXY:
            if (s->req_buffered && !s->req_done) {
                /* reading the whole body before any upstream is connected */
                r = sl_session_collect_request_body(s);
                if (r == CLOSED) {
                    return CLOSED;
                }
            }
            if (s->phase == SL_PHASE_PROXY && s->up != NULL && s->up->connected) {
                r |= sl_session_pump_request_body(s);
            }
            if (s->phase == SL_PHASE_PROXY && s->up != NULL) {
                int r2 = sl_session_pump_response(s);
                if (r2 == CLOSED) {
                    return CLOSED;
                }
                r |= r2;
            }
            if (s->phase == SL_PHASE_PROXY && s->resp_done && sl_session_out_spooled(s)) {
                /* Read ahead of a slow client: the upstream connection is free now, the request
                 * ends (and is logged) once the client has the bytes, as with nginx's buffering.
                 * A client that times out meanwhile aborts it. */
                release_finished_upstream(s);
            } else if (s->phase == SL_PHASE_PROXY && s->resp_done) {
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
                sl_session_release_upstream(s, false);
                s->phase = SL_PHASE_CLOSING;
                s->linger = !s->req_done && !s->timed_out;
            } else {
                finish_request(s);
            }
            r = 1;
            break;
        case SL_PHASE_TUNNEL:
            r = sl_session_pump_tunnel(s);
            break;
        case SL_PHASE_CLOSING:
            if (!sl_session_out_pending(s) && close_or_linger(s) == CLOSED) {
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
        /* A pump stops when the client's output has no room (a buffer's high-water mark, or a
         * full spool). When the flush below makes room, no watcher would call us again for the
         * bytes still waiting (the client read is off while its buffer is full, and response
         * bytes may all sit in the upstream buffer already), so draining counts as progress and
         * the pumps run once more. */
        bool out_was_full = !sl_session_out_room(s);
        bool was_spooled = sl_session_out_spooled(s);
        if (flush_client(s) == CLOSED) {
            return CLOSED;
        }
        if ((out_was_full && sl_session_out_room(s)) ||
            (was_spooled && !sl_session_out_spooled(s))) {
            r = 1; /* ... and a response read ahead may end now that its spool is drained */
        }
        if (s->up != NULL && s->up->connected) {
            size_t unsent = up_unsent(s->up);
            if (sl_session_flush_upstream(s->up) < 0) {
                if (sl_session_upstream_write_failed(s) == CLOSED) {
                    return CLOSED;
                }
                r = 1;
            } else {
                if (up_unsent(s->up) < unsent && s->up->wait == UP_WAIT_WRITE) {
                    sl_session_renew_upstream_wait(s);
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
    if (s->phase == SL_PHASE_CLOSING && !sl_session_out_pending(s) &&
        close_or_linger(s) == CLOSED) {
        return CLOSED;
    }
    count_state(s);
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
    if (sl_session_out_pending(s) && (s->phase != SL_PHASE_HEAD || !s->got_bytes)) {
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
        if (sl_session_begin_request(s) == 0) {
            sl_log(SL_LOG_INFO, "client %s timed out sending the request, request_id: \"%s\"",
                   s->peer_ip, s->request_id);
            s->timed_out = true;
            sl_session_fail_request(s, 408, NULL, false);
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
        char why[256];
        switch (sl_upconn_establish(c, &err, why, sizeof(why))) {
        case SL_UPCONN_WAIT:
            run(s); /* the watchers follow what the handshake waits for */
            return;
        case SL_UPCONN_CONNECT_FAILED:
            s->up_errno = err;
            if (sl_session_upstream_failed(s, UP_CONNECT_ERROR) != CLOSED) {
                run(s);
            }
            return;
        case SL_UPCONN_TLS_FAILED:
            s->up_detail = sl_arena_strdup(s->arena, why);
            if (sl_session_upstream_failed(s, UP_TLS_ERROR) != CLOSED) {
                run(s);
            }
            return;
        case SL_UPCONN_READY:
            break;
        }
        sl_session_set_upstream_wait(s, UP_WAIT_WRITE);
        revents |=
            EV_WRITE; /* the request goes out now (TLS: the socket was waited on for a read) */
    }
    /* TLS: a read that waited for writability, or a write for readability, goes on now */
    if ((revents & EV_WRITE) && c->read_wants_write) {
        revents |= EV_READ;
    }
    if ((revents & EV_READ) && c->write_wants_read) {
        revents |= EV_WRITE;
    }
    if (revents & EV_WRITE) {
        size_t before = up_unsent(c);
        if (sl_session_flush_upstream(c) < 0) {
            if (sl_session_upstream_write_failed(s) != CLOSED) {
                run(s);
            }
            return;
        }
        if (up_unsent(c) < before && c->wait == UP_WAIT_WRITE) {
            sl_session_renew_upstream_wait(s);
        }
    }
    if (revents & EV_READ) {
        ssize_t n = sl_session_read_upstream(s, c);
        if (n < 0 && errno == ENOBUFS && !s->resp_head_done) {
            /* A response head larger than the limit. */
            if (sl_session_upstream_failed(s, UP_INVALID_RESPONSE) != CLOSED) {
                run(s);
            }
            return;
        }
        if (n > 0) {
            sl_session_renew_upstream_wait(
                s); /* it is alive, also while it has not taken all of the request */
        }
        if (c->eof && !s->resp_head_done && s->phase == SL_PHASE_PROXY) {
            /* The head may still be complete in the buffer (close-delimited); otherwise this is
             * a connection lost before the response. */
            if (sl_session_pump_response(s) == CLOSED) {
                return;
            }
            if (!s->resp_head_done && s->phase == SL_PHASE_PROXY && s->up == c) {
                if (sl_session_upstream_failed(s, UP_IO_ERROR) == CLOSED) {
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
        sl_log(SL_LOG_INFO,
               "tunnel idle for read_timeout while proxying %s %s: closed, request_id: \"%s\"",
               s->method ? s->method : "-", s->target ? s->target : "-", s->request_id);
        sl_access_log_write(s);
        sl_session_close(s);
        return;
    }
    r = sl_session_upstream_failed(s, c->connected ? UP_TIMEOUT : UP_CONNECT_TIMEOUT);
    if (r != CLOSED) {
        run(s);
    }
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
        sl_session_dns_unpark(s);
        if (s->phase != SL_PHASE_PROXY || s->up != NULL) {
            continue; /* no longer waiting (sl_session_fail_request unparks too; this is the
                         backstop) */
        }
        if (sl_session_resolve_and_start(s) != CLOSED) {
            run(s);
        }
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
    unsigned long long active =
        atomic_fetch_add_explicit(&sl_proxy_stats.connections_active, 1, memory_order_relaxed) + 1;
    unsigned long long peak =
        atomic_load_explicit(&sl_proxy_stats.connections_peak, memory_order_relaxed);
    while (active > peak &&
           !atomic_compare_exchange_weak_explicit(&sl_proxy_stats.connections_peak, &peak, active,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    /* A new connection runs with the newest settings; its first request's header timeout
     * counts from accept (nginx client_header_timeout). */
    sl_worker_sync_settings(w);
    s->settings = sl_proxy_settings_ref(w->settings);
    set_client_timer(s, s->settings->client_header_timeout_ms);
    ev_io_start(w->loop, &s->rio);
}
