/* SPDX-License-Identifier: Apache-2.0 */
/* Upstream connections: non-blocking connect, and the per-worker keep-alive pool keyed by address
 * (kong.md §3.7: upstream_keepalive_pool_size / max_requests / idle_timeout). An idle pooled
 * connection keeps a read watcher: any byte or EOF from the upstream while idle closes it. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "proxy/internal.h"
#include "sluice/log.h"

void
sl_pool_init(struct sl_pool *p)
{
    memset(p, 0, sizeof(*p));
}

static unsigned
addr_hash(const struct sockaddr *sa)
{
    unsigned h = 2166136261u;
    const unsigned char *b;
    size_t n;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        b = (const unsigned char *)&in->sin_addr;
        n = 4;
        h = (h ^ in->sin_port) * 16777619u;
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        b = (const unsigned char *)&in6->sin6_addr;
        n = 16;
        h = (h ^ in6->sin6_port) * 16777619u;
    }
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h % SL_POOL_BUCKETS;
}

static bool
addr_eq(const struct sockaddr_storage *a, const struct sockaddr *b, socklen_t len)
{
    if (a->ss_family != b->sa_family) {
        return false;
    }
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void
pool_unlink(struct sl_worker *w, struct sl_upconn *c)
{
    if (c->pool_prev != NULL) {
        *c->pool_prev = c->pool_next;
        if (c->pool_next != NULL) {
            c->pool_next->pool_prev = c->pool_prev;
        }
        c->pool_prev = NULL;
        c->pool_next = NULL;
        w->pool.bucket_len[c->pool_bucket]--;
        w->pool.idle--;
    }
}

void
sl_upconn_close(struct sl_upconn *c)
{
    struct sl_worker *w = c->worker;
    pool_unlink(w, c);
    ev_io_stop(w->loop, &c->rio);
    ev_io_stop(w->loop, &c->wio);
    sl_lazy_timer_stop(w->loop, &c->timer);
    if (c->fd >= 0) {
        close(c->fd);
    }
    sl_buf_free(&c->in);
    sl_buf_free(&c->out);
    free(c);
}

/* One callback for both lives of a connection, so that moving between a session and the pool
 * never re-registers the descriptor. An idle connection has nothing to say: data or EOF both mean
 * it is no longer usable. */
static void
on_upconn_io(struct ev_loop *loop, ev_io *io, int revents)
{
    struct sl_upconn *c = io->data;
    if (c->owner == NULL) {
        sl_upconn_close(c);
        return;
    }
    if (sl_dispatch_queue(c->owner, revents, true) < 0) {
        sl_session_upstream_event(c->owner, revents);
    }
}

static void
on_upconn_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct sl_upconn *c = t->data;
    if (!sl_lazy_timer_expired(loop, &c->timer)) {
        return;
    }
    if (c->owner == NULL) {
        sl_upconn_close(c);
        return;
    }
    sl_session_upstream_timeout(c->owner);
}

struct sl_upconn *
sl_pool_take(struct sl_worker *w, const struct sockaddr *addr, socklen_t len)
{
    unsigned h = addr_hash(addr);
    for (struct sl_upconn *c = w->pool.buckets[h]; c != NULL; c = c->pool_next) {
        if (addr_eq(&c->addr, addr, len)) {
            pool_unlink(w, c);
            c->timer.deadline = 0;
            c->reused = true;
            c->wrote = false; /* per request: the previous request's bytes say nothing */
            return c;
        }
    }
    return NULL;
}

void
sl_pool_put(struct sl_worker *w, struct sl_upconn *c)
{
    const struct sl_proxy_settings *st = w->settings;
    c->owner = NULL;
    ev_io_stop(w->loop, &c->wio);
    c->timer.deadline = 0;
    if (st->pool_size <= 0 || w->draining || sl_buf_pending(&c->in) != 0 ||
        (st->pool_max_requests > 0 && c->requests >= (unsigned)st->pool_max_requests)) {
        sl_upconn_close(c);
        return;
    }
    unsigned h = addr_hash((struct sockaddr *)&c->addr);
    /* The bucket's size bounds the count for this address, so the list is only walked when the
     * bucket alone could reach pool_size. */
    if (w->pool.bucket_len[h] >= (size_t)st->pool_size) {
        size_t same = 0;
        for (struct sl_upconn *o = w->pool.buckets[h]; o != NULL; o = o->pool_next) {
            if (addr_eq(&o->addr, (struct sockaddr *)&c->addr, c->addrlen)) {
                same++;
            }
        }
        if (same >= (size_t)st->pool_size) {
            sl_upconn_close(c);
            return;
        }
    }
    /* Small buffers stay for the next request; large ones are returned to the allocator. */
    if (c->in.cap > 16384) {
        sl_buf_free(&c->in);
    }
    if (c->out.cap > 16384) {
        sl_buf_free(&c->out);
    }
    c->in.off = c->in.len = 0;
    c->out.off = c->out.len = 0;
    c->sent = 0;
    c->replayable = true;
    c->pool_next = w->pool.buckets[h];
    if (c->pool_next != NULL) {
        c->pool_next->pool_prev = &c->pool_next;
    }
    c->pool_prev = &w->pool.buckets[h];
    c->pool_bucket = h;
    w->pool.buckets[h] = c;
    w->pool.bucket_len[h]++;
    w->pool.idle++;
    if (!ev_is_active(&c->rio)) {
        ev_io_start(w->loop, &c->rio);
    }
    sl_lazy_timer_set(w->loop, &c->timer, st->pool_idle_timeout_ms);
}

void
sl_pool_close_all(struct sl_worker *w)
{
    for (int i = 0; i < SL_POOL_BUCKETS; i++) {
        while (w->pool.buckets[i] != NULL) {
            sl_upconn_close(w->pool.buckets[i]);
        }
    }
}

struct sl_upconn *
sl_upconn_connect(struct sl_worker *w, const struct sockaddr *addr, socklen_t len)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, addr, len) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    struct sl_upconn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    c->worker = w;
    c->fd = fd;
    memcpy(&c->addr, addr, len);
    c->addrlen = len;
    c->replayable = true;
    ev_io_init(&c->rio, on_upconn_io, c->fd, EV_READ);
    ev_io_init(&c->wio, on_upconn_io, c->fd, EV_WRITE);
    c->rio.data = c;
    c->wio.data = c;
    ev_init(&c->timer.timer, on_upconn_timeout);
    c->timer.timer.data = c;
    return c;
}

void
sl_upconn_attach(struct sl_upconn *c, struct sl_session *s)
{
    c->owner = s;
}
