/* SPDX-License-Identifier: Apache-2.0 */
/* Worker threads (DESIGN.md §1): each owns a libev loop, its accept watchers (its own SO_REUSEPORT
 * socket per listener when `reuseport` is set, else a socket shared by all workers), its sessions
 * and its upstream pool. The control thread talks to a worker only through its async watcher. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/listen.h"
#include "proxy/internal.h"
#include "sluice/log.h"

struct sl_proxy_stats sl_proxy_stats;

static struct sl_worker *workers;
static int nworkers;
static atomic_int stop_mode;       /* 0 run, 1 graceful, 2 fast */
static atomic_int workers_running; /* worker threads whose loop has not ended */
static int drain_timeout_ms;

void
sl_worker_session_closed(struct sl_worker *w, struct sl_session *s)
{
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        w->sessions = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    w->nsessions--;
    sl_session_uncount(s);
    atomic_fetch_sub_explicit(&sl_proxy_stats.connections_active, 1, memory_order_relaxed);
    if (w->draining && w->nsessions == 0) {
        ev_break(w->loop, EVBREAK_ALL);
    }
}

void
sl_proxy_buf_take(struct sl_worker *w, struct sl_buf *b)
{
    if (b->data == NULL && w->nbuf_spare > 0) {
        *b = w->buf_spare[--w->nbuf_spare];
    }
}

void
sl_proxy_buf_release(struct sl_worker *w, struct sl_buf *b)
{
    if (b->data == NULL || b->off != b->len) {
        return;
    }
    if (b->cap <= SL_SPARE_BUF_MAX_CAP && w->nbuf_spare < SL_SPARES) {
        w->buf_spare[w->nbuf_spare++] = (struct sl_buf){b->data, 0, 0, b->cap};
        *b = (struct sl_buf){0};
        return;
    }
    sl_buf_free(b);
}

struct sl_arena *
sl_proxy_arena_take(struct sl_worker *w)
{
    if (w->narena_spare > 0) {
        return w->arena_spare[--w->narena_spare];
    }
    return sl_arena_create(SL_REQUEST_ARENA_BLOCK);
}

void
sl_proxy_arena_release(struct sl_worker *w, struct sl_arena *a)
{
    if (a == NULL) {
        return;
    }
    if (w->narena_spare < SL_SPARES) {
        sl_arena_reset(a); /* keeps one block: the next request allocates nothing */
        w->arena_spare[w->narena_spare++] = a;
        return;
    }
    sl_arena_destroy(a);
}

static void
on_accept_backoff_end(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct sl_worker *w = t->data;
    if (!w->draining) {
        sl_worker_listeners_watch(w, true);
    }
}

static void
on_drain_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct sl_worker *w = t->data;
    sl_log(SL_LOG_NOTICE, "worker %d: drain timeout, closing %zu connections", w->id, w->nsessions);
    ev_break(loop, EVBREAK_ALL);
}

static void
on_wakeup(struct ev_loop *loop, ev_async *a, int revents)
{
    struct sl_worker *w = a->data;
    sl_worker_take_listeners(w);
    /* A new configuration or new settings: an idle worker lets go of the old ones now */
    sl_worker_sync_snapshot(w);
    sl_worker_sync_settings(w);
    if (atomic_exchange(&w->dns_settled, false)) {
        sl_session_dns_settled(w);
    }
    int mode = atomic_load(&stop_mode);
    if (mode == 2) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    if (mode == 1 && !w->draining) {
        w->draining = true;
        sl_worker_close_listeners(w);
        sl_pool_close_all(w);
        struct sl_session *s = w->sessions;
        while (s != NULL) {
            struct sl_session *next = s->next;
            sl_session_close_if_idle(s);
            s = next;
        }
        if (w->nsessions == 0) {
            ev_break(loop, EVBREAK_ALL);
            return;
        }
        ev_timer_init(&w->drain_timer, on_drain_timeout, drain_timeout_ms / 1000.0, 0);
        w->drain_timer.data = w;
        ev_timer_start(loop, &w->drain_timer);
    }
}

static void *
worker_main(void *arg)
{
    struct sl_worker *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "sluice-w%d", w->id);
    pthread_setname_np(pthread_self(), name);
    w->snap = sl_snapshot_acquire();
    sl_worker_listeners_watch(w, true);
    ev_run(w->loop, 0);

    while (w->sessions != NULL) {
        sl_session_close(w->sessions);
    }
    sl_worker_close_listeners(w);
    sl_pool_close_all(w);
    sl_tls_sessions_free(w);
    while (w->narena_spare > 0) {
        sl_arena_destroy(w->arena_spare[--w->narena_spare]);
    }
    while (w->nbuf_spare > 0) {
        sl_buf_free(&w->buf_spare[--w->nbuf_spare]);
    }
    sl_snapshot_unref(w->snap);
    w->snap = NULL;
    atomic_fetch_sub(&workers_running, 1);
    return NULL;
}

/* Grows hdr_scratch and hdr_ids to <cap> entries (never fewer than a response head may hold);
 * hdr_cap says how many both have. */
static int
grow_header_scratch(struct sl_worker *w, size_t cap)
{
    if (cap < SL_PROXY_RESPONSE_HEADERS_MAX + 1) {
        cap = SL_PROXY_RESPONSE_HEADERS_MAX + 1;
    }
    struct sl_header *scratch = realloc(w->hdr_scratch, cap * sizeof(*scratch));
    if (scratch == NULL) {
        return -1;
    }
    w->hdr_scratch = scratch;
    uint8_t *ids = realloc(w->hdr_ids, cap * sizeof(*ids));
    if (ids == NULL) {
        return -1;
    }
    w->hdr_ids = ids;
    w->hdr_cap = cap;
    return 0;
}

void
sl_worker_take_settings(struct sl_worker *w)
{
    struct sl_proxy_settings *fresh = sl_proxy_settings_acquire();
    if (fresh == NULL || fresh == w->settings) {
        sl_proxy_settings_unref(fresh);
        return;
    }
    if (fresh->max_headers + 1 > w->hdr_cap && grow_header_scratch(w, fresh->max_headers + 1) < 0) {
        sl_log(SL_LOG_ERR, "worker %d: out of memory taking the reloaded settings", w->id);
        sl_proxy_settings_unref(fresh);
        return;
    }
    sl_proxy_settings_unref(w->settings);
    w->settings = fresh;
}

void
sl_worker_take_snapshot(struct sl_worker *w)
{
    struct sl_snapshot *fresh = sl_snapshot_acquire();
    if (fresh != NULL) {
        sl_snapshot_unref(w->snap);
        w->snap = fresh;
    }
}

void
sl_proxy_config_published(void)
{
    for (int k = 0; k < nworkers; k++) {
        ev_async_send(workers[k].loop, &workers[k].wakeup);
    }
}

int
sl_proxy_start(const struct sl_conf *conf, int n, char *err, size_t errlen)
{
    nworkers = n;
    workers = calloc((size_t)n, sizeof(*workers));
    if (workers == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int k = 0; k < n; k++) {
        struct sl_worker *w = &workers[k];
        w->id = k;
        w->settings = sl_proxy_settings_acquire();
        if (w->settings == NULL) {
            snprintf(err, errlen, "no settings published");
            return -1;
        }
        w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
        if (w->loop == NULL || grow_header_scratch(w, w->settings->max_headers + 1) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        sl_pool_init(w);
        sl_dispatch_init(w);
        ev_init(&w->accept_backoff, on_accept_backoff_end);
        w->accept_backoff.data = w;
        ev_async_init(&w->wakeup, on_wakeup);
        w->wakeup.data = w;
        ev_async_start(w->loop, &w->wakeup);
    }
    /* Buffered request bodies and responses read ahead of slow clients go beyond their memory
     * bound to unlinked files here (spool.c): under the prefix, private to this user, never a
     * shared /tmp. */
    static const struct {
        const char *name, *consequence;
    } temp_dirs[] = {
        {"client_body_temp", "large buffered request bodies will fail"},
        {"proxy_temp", "responses will be read at slow clients' pace"},
    };
    for (size_t i = 0; i < sizeof(temp_dirs) / sizeof(temp_dirs[0]); i++) {
        char dir[sizeof(conf->prefix) + 32];
        snprintf(dir, sizeof(dir), "%s/%s", conf->prefix, temp_dirs[i].name);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            sl_log(SL_LOG_WARN, "cannot create %s: %s (%s)", dir, strerror(errno),
                   temp_dirs[i].consequence);
        }
    }
    /* Every listening socket before any thread exists, so that a bind error fails the start. */
    struct sl_listen_plan *plan = sl_listen_plan_make(workers, n, conf, err, errlen);
    if (plan == NULL || sl_listen_plan_install(plan, workers, n) < 0) {
        if (plan != NULL) {
            snprintf(err, errlen, "out of memory");
        }
        return -1;
    }
    for (int k = 0; k < n; k++) {
        atomic_fetch_add(&workers_running, 1);
        workers[k].running = true;
        if (pthread_create(&workers[k].thread, NULL, worker_main, &workers[k]) != 0) {
            atomic_fetch_sub(&workers_running, 1);
            workers[k].running = false;
            snprintf(err, errlen, "pthread_create failed");
            nworkers = k; /* the ones started stop before the process exits */
            sl_proxy_stop(false, 0);
            return -1;
        }
    }
    return 0;
}

struct sl_listen_plan *
sl_proxy_listen_prepare(const struct sl_conf *conf, char *err, size_t errlen)
{
    return sl_listen_plan_make(workers, nworkers, conf, err, errlen);
}

int
sl_proxy_listen_commit(struct sl_listen_plan *plan)
{
    return sl_listen_plan_install(plan, workers, nworkers);
}

void
sl_proxy_listen_discard(struct sl_listen_plan *plan)
{
    sl_listen_plan_discard(plan);
}

void
sl_proxy_dns_settled(void)
{
    for (int k = 0; k < nworkers; k++) {
        atomic_store(&workers[k].dns_settled, true);
        ev_async_send(workers[k].loop, &workers[k].wakeup);
    }
}

void
sl_proxy_begin_stop(bool graceful, int timeout_ms)
{
    drain_timeout_ms = timeout_ms;
    atomic_store(&stop_mode, graceful ? 1 : 2);
    for (int k = 0; k < nworkers; k++) {
        ev_async_send(workers[k].loop, &workers[k].wakeup);
    }
}

bool
sl_proxy_stopped(void)
{
    return atomic_load(&workers_running) == 0;
}

void
sl_proxy_stop(bool graceful, int timeout_ms)
{
    sl_proxy_begin_stop(graceful, timeout_ms);
    for (int k = 0; k < nworkers; k++) {
        pthread_join(workers[k].thread, NULL);
        ev_loop_destroy(workers[k].loop);
        free(workers[k].hdr_scratch);
        free(workers[k].hdr_ids);
        sl_proxy_settings_unref(workers[k].settings);
        free(workers[k].ready);
        sl_buf_free(&workers[k].head_scratch);
        free(workers[k].listeners);
    }
    sl_listen_plan_forget();
    free(workers);
    workers = NULL;
    nworkers = 0;
}
