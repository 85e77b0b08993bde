/* SPDX-License-Identifier: Apache-2.0 */
/* Upstream connections: non-blocking connect, and the per-worker keep-alive pool keyed by address
 * (kong.md §3.7: upstream_keepalive_pool_size / max_requests / idle_timeout). An idle pooled
 * connection keeps a read watcher: any byte or EOF from the upstream while idle closes it.
 *
 * The pool: a hash of addresses (struct sl_pool_addr, kept while a connection to it lives), each
 * with its idle connections newest first. pool_size bounds what an address keeps once a burst is
 * over, not at every release: the excess is closed oldest first after SL_POOL_TRIM_DELAY_MS idle
 * (on_pool_trim). A connection whose response announced a body that did not follow (HEAD, 304)
 * rests SL_POOL_REST_MS in its address's resting list first, watched as an idle one
 * (on_pool_rest). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "proxy/internal.h"
#include "sluice/log.h"

static void on_pool_trim(struct ev_loop *loop, ev_timer *t, int revents);
static void on_pool_rest(struct ev_loop *loop, ev_timer *t, int revents);

void
sl_pool_init(struct sl_worker *w)
{
    memset(&w->pool, 0, sizeof(w->pool));
    ev_init(&w->pool.trim, on_pool_trim);
    w->pool.trim.data = w;
}

/* FNV-1a over the pool key (TLS settings and SNI name), the port and the address. */
static unsigned
addr_hash(const struct sockaddr *sa, const char *key)
{
    unsigned h = sl_fnv1a_str(SL_FNV1A_INIT, key);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        h = (h ^ in->sin_port) * 16777619u;
        h = sl_fnv1a(h, &in->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        h = (h ^ in6->sin6_port) * 16777619u;
        h = sl_fnv1a(h, &in6->sin6_addr, 16);
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

static bool
key_eq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static struct sl_pool_addr *
pool_find(struct sl_worker *w, const struct sockaddr *addr, socklen_t len, const char *key,
          unsigned h)
{
    for (struct sl_pool_addr *pa = w->pool.buckets[h]; pa != NULL; pa = pa->next) {
        if (addr_eq(&pa->addr, addr, len) && key_eq(pa->key, key)) {
            return pa;
        }
    }
    return NULL;
}

/* Takes <c> out of its address's idle list, or out of the resting list (it keeps its home). */
static void
pool_unlink(struct sl_worker *w, struct sl_upconn *c)
{
    struct sl_pool_addr *pa = c->home;
    if (c->idle) {
        *(c->newer != NULL ? &c->newer->older : &pa->newest) = c->older;
        *(c->older != NULL ? &c->older->newer : &pa->oldest) = c->newer;
        c->idle = false;
        pa->idle--;
        w->pool.idle--;
    } else if (c->resting) {
        *(c->newer != NULL ? &c->newer->older : &pa->rest_newest) = c->older;
        *(c->older != NULL ? &c->older->newer : &pa->rest_oldest) = c->newer;
        c->resting = false;
        pa->resting--;
    } else {
        return;
    }
    c->newer = c->older = NULL;
}

/* <c> is closing: its home goes with the last connection that has it. */
static void
pool_leave_home(struct sl_worker *w, struct sl_upconn *c)
{
    struct sl_pool_addr *pa = c->home;
    if (pa == NULL || --pa->conns > 0) {
        return;
    }
    struct sl_pool_addr **pp = &w->pool.buckets[addr_hash((struct sockaddr *)&pa->addr, pa->key)];
    while (*pp != pa) {
        pp = &(*pp)->next;
    }
    *pp = pa->next;
    ev_timer_stop(w->loop, &pa->rest);
    free(pa->key);
    free(pa);
}

void
sl_upconn_close(struct sl_upconn *c)
{
    struct sl_worker *w = c->worker;
    pool_unlink(w, c);
    pool_leave_home(w, c);
    ev_io_stop(w->loop, &c->rio);
    ev_io_stop(w->loop, &c->wio);
    sl_lazy_timer_stop(w->loop, &c->timer);
    if (c->tls.ssl != NULL) {
        /* close_notify, once and without waiting (nginx's ngx_ssl_shutdown towards upstreams) */
        enum sl_tls_want want;
        sl_tls_shutdown(&c->tls, &want);
        sl_tls_conn_free(&c->tls);
    }
    free(c->pool_key);
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
sl_pool_take(struct sl_worker *w, const struct sockaddr *addr, socklen_t len, const char *key)
{
    struct sl_pool_addr *pa = pool_find(w, addr, len, key, addr_hash(addr, key));
    if (pa == NULL || pa->newest == NULL) {
        return NULL;
    }
    struct sl_upconn *c = pa->newest;
    pool_unlink(w, c);
    c->timer.deadline = 0;
    c->reused = true;
    c->wrote = false; /* per request: the previous request's bytes say nothing */
    return c;
}

/* <c> becomes its address's newest idle connection; the trim is armed when the address holds more
 * than pool_size. */
static void
pool_add_idle(struct sl_worker *w, struct sl_upconn *c)
{
    struct sl_pool_addr *pa = c->home;
    c->idle = true;
    c->older = pa->newest;
    c->newer = NULL;
    *(pa->newest != NULL ? &pa->newest->newer : &pa->oldest) = c;
    pa->newest = c;
    pa->idle++;
    w->pool.idle++;
    c->idle_since = ev_now(w->loop);
    if (pa->idle > (size_t)w->settings->pool_size && !ev_is_active(&w->pool.trim)) {
        ev_timer_set(&w->pool.trim, SL_POOL_TRIM_DELAY_MS / 1000.0, 0);
        ev_timer_start(w->loop, &w->pool.trim);
    }
}

/* <c> has rested (or rested as long as the load allows): it joins the idle list unless the
 * upstream said something meanwhile. The read watcher closes a connection on any byte or EOF, but
 * bytes that arrived in this loop iteration are not seen yet: a peek looks at the socket itself. */
static void
pool_wake(struct sl_worker *w, struct sl_upconn *c)
{
    pool_unlink(w, c);
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !sl_upconn_has_buffered(c)) {
        pool_add_idle(w, c);
    } else {
        sl_upconn_close(c); /* bytes (a late body), EOF or an error */
    }
}

/* <c> rests at the end of its address's resting list. When pool_size rest already, the one that
 * has rested longest wakes early: under load the rest shortens rather than connections being
 * closed and opened again. The address's rest timer runs while its list holds one. */
static void
pool_add_resting(struct sl_worker *w, struct sl_upconn *c)
{
    struct sl_pool_addr *pa = c->home;
    if (pa->resting >= (size_t)w->settings->pool_size) {
        pool_wake(w, pa->rest_oldest);
    }
    c->resting = true;
    c->older = pa->rest_newest;
    c->newer = NULL;
    *(pa->rest_newest != NULL ? &pa->rest_newest->newer : &pa->rest_oldest) = c;
    pa->rest_newest = c;
    pa->resting++;
    c->idle_since = ev_now(w->loop);
    if (!ev_is_active(&pa->rest)) {
        ev_timer_set(&pa->rest, SL_POOL_REST_MS / 1000.0, 0);
        ev_timer_start(w->loop, &pa->rest);
    }
}

/* The address's connections that have rested SL_POOL_REST_MS wake, oldest first; the timer is
 * armed for the next one due. */
static void
on_pool_rest(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct sl_pool_addr *pa = t->data;
    ev_tstamp due = ev_now(loop) - SL_POOL_REST_MS / 1000.0;
    /* a wake may close the address's last connection and free pa: read nothing of it after */
    size_t left = pa->resting;
    while (left > 0 && pa->rest_oldest->idle_since <= due) {
        left--;
        bool last = left == 0;
        pool_wake(pa->worker, pa->rest_oldest);
        if (last) {
            return;
        }
    }
    if (left > 0) {
        ev_timer_set(t, pa->rest_oldest->idle_since - due, 0);
        ev_timer_start(loop, t);
    }
}

void
sl_pool_put(struct sl_worker *w, struct sl_upconn *c, bool rest)
{
    const struct sl_proxy_settings *st = w->settings;
    c->owner = NULL;
    ev_io_stop(w->loop, &c->wio);
    c->timer.deadline = 0;
    if (st->pool_size <= 0 || w->draining || sl_buf_pending(&c->in) != 0 ||
        sl_upconn_has_buffered(c) || (c->tls.ssl != NULL && c->tls.failed) ||
        (st->pool_max_requests > 0 && c->requests >= (unsigned)st->pool_max_requests)) {
        sl_upconn_close(c);
        return;
    }
    struct sl_pool_addr *pa = c->home;
    if (pa == NULL) { /* its first release: find or make its address's pool */
        unsigned h = addr_hash((struct sockaddr *)&c->addr, c->pool_key);
        pa = pool_find(w, (struct sockaddr *)&c->addr, c->addrlen, c->pool_key, h);
        if (pa == NULL) {
            pa = calloc(1, sizeof(*pa));
            if (pa == NULL || (c->pool_key != NULL && (pa->key = strdup(c->pool_key)) == NULL)) {
                free(pa);
                sl_upconn_close(c);
                return;
            }
            memcpy(&pa->addr, &c->addr, c->addrlen);
            pa->addrlen = c->addrlen;
            pa->worker = w;
            ev_init(&pa->rest, on_pool_rest);
            pa->rest.data = pa;
            pa->next = w->pool.buckets[h];
            w->pool.buckets[h] = pa;
        }
        c->home = pa;
        pa->conns++;
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
    if (!ev_is_active(&c->rio)) {
        ev_io_start(w->loop, &c->rio);
    }
    sl_lazy_timer_set(w->loop, &c->timer, st->pool_idle_timeout_ms);
    if (rest) {
        pool_add_resting(w, c);
    } else {
        pool_add_idle(w, c);
    }
}

/* Closes, for every address holding more than pool_size idle connections, the oldest ones that
 * have been idle for SL_POOL_TRIM_DELAY_MS; runs again while an excess remains. */
static void
on_pool_trim(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct sl_worker *w = t->data;
    size_t keep = w->settings->pool_size > 0 ? (size_t)w->settings->pool_size : 0;
    ev_tstamp cutoff = ev_now(loop) - SL_POOL_TRIM_DELAY_MS / 1000.0;
    ev_tstamp next = 0; /* when the youngest remaining excess connection is due */
    for (int i = 0; i < SL_POOL_BUCKETS; i++) {
        struct sl_pool_addr *pa = w->pool.buckets[i];
        while (pa != NULL) {
            struct sl_pool_addr *following = pa->next; /* pa is freed with its last connection */
            size_t excess = pa->idle > keep ? pa->idle - keep : 0;
            /* excess <= idle: when the last idle connection goes (and pa with it, if none in
             * use calls it home: pool_size lowered to 0 by a reload), excess is 0 and pa is not
             * read again */
            while (excess > 0 && pa->oldest->idle_since <= cutoff) {
                sl_upconn_close(pa->oldest);
                excess--;
            }
            if (excess > 0 && (next == 0 || pa->oldest->idle_since < next)) {
                next = pa->oldest->idle_since;
            }
            pa = following;
        }
    }
    if (next != 0) {
        ev_timer_set(t, next - cutoff, 0);
        ev_timer_start(loop, t);
    }
}

void
sl_pool_close_all(struct sl_worker *w)
{
    ev_timer_stop(w->loop, &w->pool.trim);
    for (int i = 0; i < SL_POOL_BUCKETS; i++) {
        struct sl_pool_addr *pa = w->pool.buckets[i];
        while (pa != NULL) {
            struct sl_pool_addr *following = pa->next;
            /* pa stays while connections in use call it home; it may go with the last close,
             * so it is not read after that one */
            for (size_t n = pa->idle + pa->resting; n > 0; n--) {
                sl_upconn_close(pa->rest_oldest != NULL ? pa->rest_oldest : pa->newest);
            }
            pa = following;
        }
    }
}

/* The session sink of a TLS connection: what the upstream grants goes to the worker's cache. */
static void
save_session(void *ud, SSL_SESSION *sess)
{
    struct sl_upconn *c = ud;
    sl_tls_sessions_put(c->worker, c->pool_key, (const struct sockaddr *)&c->addr, sess);
}

struct sl_upconn *
sl_upconn_connect(struct sl_worker *w, const struct sockaddr *addr, socklen_t len,
                  const struct sl_upconn_tls *tls)
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
    if (tls != NULL) {
        char why[128];
        c->sessions = (struct sl_tls_session_sink){save_session, c};
        if ((c->pool_key = strdup(tls->pool_key)) == NULL ||
            sl_tls_client_conn_init(&c->tls, tls->ctx, fd, tls->name,
                                    sl_tls_sessions_get(w, tls->pool_key, addr), &c->sessions, why,
                                    sizeof(why)) < 0) {
            free(c->pool_key);
            free(c);
            close(fd);
            errno = EPROTO; /* OpenSSL could not make the state: memory, most likely */
            return NULL;
        }
    }
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
