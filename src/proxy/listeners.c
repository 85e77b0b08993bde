/* SPDX-License-Identifier: Apache-2.0 */
/* Accepting: the listening sockets each worker watches, accept(), and changing the set on reload.
 *
 * Every worker owns one descriptor per proxy_listen entry: its own SO_REUSEPORT socket when the
 * entry says `reuseport` (the kernel spreads connections), else a dup() of one socket shared by
 * all (the workers race for each connection, as nginx's do). A worker closes the descriptors it
 * owns, so no thread ever closes a descriptor another thread watches.
 *
 * A plan is made on the control thread from a proxy_listen list and the set in force: entries
 * already open (same address and port) keep their sockets, so their queued connections survive a
 * reload (a changed backlog is applied with listen(); a changed reuseport waits for a restart);
 * new ones are opened, all before anything changes, so a bind error
 * fails the reload whole. Installing the plan hands each worker its new array through its async
 * watcher; the worker swaps arrays between two events and closes what the new set dropped.
 * Connections already accepted are never touched. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/listen.h"
#include "proxy/internal.h"
#include "sluice/log.h"

/* The set handed to the workers (control thread's record): the entries and each worker's
 * descriptor for each, -1 for entries not opened (`ssl`). */
struct sl_listen_plan {
    struct sl_listen entries[SL_CONF_MAX_LISTEN];
    size_t n;
    int nworkers;
    int *fds;                         /* [worker * SL_CONF_MAX_LISTEN + entry] */
    bool opened[SL_CONF_MAX_LISTEN];  /* sockets this plan opened (closed if it is discarded) */
    int relisten[SL_CONF_MAX_LISTEN]; /* kept entries whose backlog changed: the new one, else 0 */
    bool retune[SL_CONF_MAX_LISTEN];  /* kept entries: deferred and keep-alive set again */
};

static struct sl_listen_plan *in_force; /* control thread */

#define FD_AT(p, k, i) ((p)->fds[(size_t)(k)*SL_CONF_MAX_LISTEN + (i)])

/* ---- worker side ----------------------------------------------------------------------------- */

void
sl_worker_listeners_watch(struct sl_worker *w, bool on)
{
    for (size_t i = 0; i < w->nlisteners; i++) {
        if (on) {
            ev_io_start(w->loop, &w->listeners[i].io);
        } else {
            ev_io_stop(w->loop, &w->listeners[i].io);
        }
    }
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    struct sl_listener *l = io->data;
    struct sl_worker *w = l->worker;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (sl_net_accept_should_pause(errno)) {
                int err = errno;
                sl_worker_listeners_watch(w, false);
                sl_net_accept_pause(loop, &w->accept_backoff, "", err);
            }
            return;
        }
        /* TCP_NODELAY comes from the listener (sl_net_listen). */
        atomic_fetch_add_explicit(&sl_proxy_stats.connections_accepted, 1, memory_order_relaxed);
        sl_session_start(w, fd, (struct sockaddr *)&peer, plen, l);
    }
}

static bool
holds_fd(const struct sl_listener *set, size_t n, int fd)
{
    for (size_t i = 0; i < n; i++) {
        if (set[i].fd == fd) {
            return true;
        }
    }
    return false;
}

/* Replaces the worker's listeners with <set> (n entries, fds filled in): stops watching the old
 * ones, closes those the new set does not hold, starts the new ones (unless the worker is
 * draining, or paused after an accept failure: the pause's end starts them). Worker thread, or
 * before its thread starts. */
static void
install(struct sl_worker *w, struct sl_listener *set, size_t n)
{
    sl_worker_listeners_watch(w, false);
    for (size_t i = 0; i < w->nlisteners; i++) {
        if (!holds_fd(set, n, w->listeners[i].fd)) {
            close(w->listeners[i].fd);
        }
    }
    free(w->listeners);
    w->listeners = set;
    w->nlisteners = n;
    for (size_t i = 0; i < n; i++) {
        set[i].worker = w;
        ev_io_init(&set[i].io, on_accept, set[i].fd, EV_READ);
        set[i].io.data = &set[i];
    }
    if (w->running && !w->draining && !ev_is_active(&w->accept_backoff)) {
        sl_worker_listeners_watch(w, true);
    }
}

void
sl_worker_take_listeners(struct sl_worker *w)
{
    struct sl_listener_swap *sw = atomic_exchange(&w->pending_listeners, NULL);
    if (sw != NULL) {
        install(w, sw->set, sw->n);
        free(sw);
    }
}

void
sl_worker_close_listeners(struct sl_worker *w)
{
    ev_timer_stop(w->loop, &w->accept_backoff);
    sl_worker_take_listeners(w); /* a set handed over but not taken yet is closed too */
    install(w, NULL, 0);
}

/* ---- control side ---------------------------------------------------------------------------- */

static bool
same_address(const struct sl_listen *a, const struct sl_listen *b)
{
    return a->port == b->port && a->ssl == b->ssl && strcmp(a->host, b->host) == 0;
}

/* Opens entry <i> of <p> for every worker. */
static int
open_entry(struct sl_listen_plan *p, size_t i, char *err, size_t errlen)
{
    const struct sl_listen *l = &p->entries[i];
    struct sl_net_listen_opts opts = sl_listen_opts(l);
    p->opened[i] = true;
    for (int k = 0; k < p->nworkers; k++) {
        int fd = l->reuseport || k == 0 ? sl_net_listen(l->host, l->port, &opts, err, errlen)
                                        : fcntl(FD_AT(p, 0, i), F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            if (!l->reuseport && k > 0) {
                snprintf(err, errlen, "proxy_listen %s:%u: %s", l->host, (unsigned)l->port,
                         strerror(errno));
            }
            return -1;
        }
        FD_AT(p, k, i) = fd;
    }
    return 0;
}

void
sl_listen_plan_discard(struct sl_listen_plan *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        for (int k = 0; p->opened[i] && k < p->nworkers; k++) {
            if (FD_AT(p, k, i) >= 0) {
                close(FD_AT(p, k, i));
            }
        }
    }
    free(p->fds);
    free(p);
}

struct sl_listen_plan *
sl_listen_plan_make(struct sl_worker *ws, int nworkers, const struct sl_conf *conf, char *err,
                    size_t errlen)
{
    for (int k = 0; k < nworkers; k++) {
        if (atomic_load(&ws[k].pending_listeners) != NULL) {
            snprintf(err, errlen, "the previous proxy_listen change is still being applied");
            return NULL;
        }
    }
    struct sl_listen_plan *p = calloc(1, sizeof(*p));
    if (p == NULL ||
        (p->fds = malloc((size_t)nworkers * SL_CONF_MAX_LISTEN * sizeof(int))) == NULL) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->nworkers = nworkers;
    p->n = conf->nproxy_listen;
    memcpy(p->entries, conf->proxy_listen, p->n * sizeof(p->entries[0]));
    memset(p->fds, -1, (size_t)nworkers * SL_CONF_MAX_LISTEN * sizeof(int));
    bool taken[SL_CONF_MAX_LISTEN] = {false}; /* entries of in_force already matched */
    for (size_t i = 0; i < p->n; i++) {
        const struct sl_listen *l = &p->entries[i];
        if (l->ssl) {
            sl_log(SL_LOG_WARN,
                   "proxy_listen %s:%u ssl: TLS termination is not implemented yet; "
                   "this listener is not opened",
                   l->host, (unsigned)l->port);
            continue;
        }
        if (l->http2) {
            sl_log(SL_LOG_WARN,
                   "proxy_listen %s:%u http2: HTTP/2 is not implemented yet; this listener "
                   "serves HTTP/1.1",
                   l->host, (unsigned)l->port);
        }
        size_t j = 0;
        while (in_force != NULL && j < in_force->n &&
               (taken[j] || !same_address(&in_force->entries[j], l))) {
            j++;
        }
        if (in_force != NULL && j < in_force->n) {
            taken[j] = true;
            if (in_force->entries[j].reuseport != l->reuseport) {
                /* The open socket cannot gain or lose SO_REUSEPORT, and a second one cannot bind
                 * beside it: the address keeps its socket until the next start. */
                sl_log(SL_LOG_WARN,
                       "proxy_listen %s:%u: reuseport changes at the next start; the listener "
                       "stays as it is",
                       l->host, (unsigned)l->port);
                p->entries[i].reuseport = in_force->entries[j].reuseport;
            }
            if (in_force->entries[j].ipv6only != l->ipv6only) {
                sl_log(SL_LOG_WARN,
                       "proxy_listen %s:%u: ipv6only changes at the next start; the listener "
                       "stays as it is",
                       l->host, (unsigned)l->port);
                p->entries[i].ipv6only = in_force->entries[j].ipv6only;
            }
            if (in_force->entries[j].so_keepalive >= 0 && l->so_keepalive < 0) {
                p->entries[i].so_keepalive = 0; /* the flag was removed: off again */
            }
            for (int k = 0; k < nworkers; k++) {
                FD_AT(p, k, i) = FD_AT(in_force, k, j);
            }
            if (in_force->entries[j].backlog != l->backlog) {
                p->relisten[i] = sl_net_backlog(l->backlog);
            }
            p->retune[i] = true;
        } else if (open_entry(p, i, err, errlen) < 0) {
            sl_listen_plan_discard(p);
            return NULL;
        }
    }
    return p;
}

/* The worker's array for plan <p>. NULL when out of memory. */
static struct sl_listener_swap *
worker_set(const struct sl_listen_plan *p, int k)
{
    struct sl_listener_swap *sw = calloc(1, sizeof(*sw));
    struct sl_listener *set = calloc(p->n + 1, sizeof(*set));
    if (sw == NULL || set == NULL) {
        free(sw);
        free(set);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (FD_AT(p, k, i) >= 0) {
            set[sw->n].fd = FD_AT(p, k, i);
            set[sw->n].port = p->entries[i].port;
            set[sw->n].proxy_protocol = p->entries[i].proxy_protocol;
            sw->n++;
        }
    }
    sw->set = set;
    return sw;
}

int
sl_listen_plan_install(struct sl_listen_plan *p, struct sl_worker *ws, int nworkers)
{
    struct sl_listener_swap **sets = calloc((size_t)nworkers + 1, sizeof(*sets));
    for (int k = 0; sets != NULL && k < nworkers; k++) {
        sets[k] = worker_set(p, k);
        if (sets[k] == NULL) {
            while (k-- > 0) {
                free(sets[k]->set);
                free(sets[k]);
            }
            free(sets);
            sets = NULL;
        }
    }
    if (sets == NULL) {
        sl_listen_plan_discard(p);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct sl_net_listen_opts opts = sl_listen_opts(&p->entries[i]);
        for (int k = 0; k < nworkers; k++) {
            if (p->relisten[i] > 0) {
                listen(FD_AT(p, k, i),
                       p->relisten[i]); /* a listening socket takes the new backlog */
            }
            if (p->retune[i] && FD_AT(p, k, i) >= 0 &&
                sl_net_listen_tune(FD_AT(p, k, i), &opts) < 0) {
                sl_log(SL_LOG_WARN, "proxy_listen %s:%u: setting its options failed: %s",
                       p->entries[i].host, (unsigned)p->entries[i].port, strerror(errno));
            }
        }
        p->retune[i] = false;
        p->opened[i] = false; /* handed over: the workers own them now */
        p->relisten[i] = 0;
    }
    for (int k = 0; k < nworkers; k++) {
        if (ws[k].running) {
            atomic_store(&ws[k].pending_listeners, sets[k]);
            ev_async_send(ws[k].loop, &ws[k].wakeup);
        } else {
            install(&ws[k], sets[k]->set, sets[k]->n);
            free(sets[k]);
        }
    }
    free(sets);
    sl_listen_plan_discard(in_force);
    in_force = p;
    return 0;
}

void
sl_listen_plan_forget(void)
{
    sl_listen_plan_discard(in_force);
    in_force = NULL;
}
