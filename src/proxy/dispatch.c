/* SPDX-License-Identifier: Apache-2.0 */
/* Oldest-ready-first dispatch of a worker's socket events. libev invokes the watchers made pending
 * by one poll last-in first-out, which reverses the kernel's ready order: under load the socket
 * that became ready first was served last in its batch, widening the latency tail. The session
 * callbacks only queue here; once libev has invoked every pending watcher, the worker serves the
 * queued sessions in the kernel's order (as nginx does). */
#include <stdlib.h>

#include "proxy/internal.h"

static void
dispatch_ready(struct sl_worker *w)
{
    /* libev delivered the batch newest first, so the list is walked from its end. Serving a
     * session never queues another one (only libev callbacks queue), so the list is stable. */
    while (w->nready > 0) {
        struct sl_session *s = w->ready[--w->nready];
        if (s == NULL) {
            continue; /* closed while queued */
        }
        s->ready_index = -1;
        int client = s->client_revents, up;
        s->client_revents = 0;
        if (client != 0 && sl_session_client_event(s, client) < 0) {
            continue;
        }
        /* Read only now: serving the client side may have released the upstream connection,
         * which drops its queued events. */
        up = s->up_revents;
        s->up_revents = 0;
        if (up != 0 && s->up != NULL) {
            sl_session_upstream_event(s, up);
        }
    }
}

/* Passes over what serving a batch made pending again (a TLS read event fed for bytes OpenSSL
 * holds, session.c) before the loop polls: libev would otherwise serve those only after the
 * next poll returns, which may be a read timeout away. Each pass makes progress on what it
 * serves; the bound only keeps one batch from holding the loop. */
#define SL_DISPATCH_MAX_PASSES 16

static void
invoke_pending(struct ev_loop *loop)
{
    struct sl_worker *w = ev_userdata(loop);
    for (int pass = 0; pass < SL_DISPATCH_MAX_PASSES; pass++) {
        ev_invoke_pending(loop);
        dispatch_ready(w);
        if (ev_pending_count(loop) == 0) {
            break;
        }
    }
}

void
sl_dispatch_init(struct sl_worker *w)
{
    ev_set_userdata(w->loop, w);
    ev_set_invoke_pending_cb(w->loop, invoke_pending);
}

int
sl_dispatch_queue(struct sl_session *s, int revents, bool upstream)
{
    struct sl_worker *w = s->worker;
    if (s->ready_index < 0) {
        if (w->nready == w->ready_cap) {
            size_t cap = w->ready_cap ? w->ready_cap * 2 : 64;
            struct sl_session **grown = realloc(w->ready, cap * sizeof(*grown));
            if (grown == NULL) {
                return -1;
            }
            w->ready = grown;
            w->ready_cap = cap;
        }
        s->ready_index = (ssize_t)w->nready;
        w->ready[w->nready++] = s;
    }
    if (upstream) {
        s->up_revents |= revents;
    } else {
        s->client_revents |= revents;
    }
    return 0;
}

void
sl_dispatch_forget(struct sl_session *s)
{
    if (s->ready_index >= 0) {
        s->worker->ready[s->ready_index] = NULL;
        s->ready_index = -1;
    }
}
