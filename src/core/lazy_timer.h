/* SPDX-License-Identifier: Apache-2.0 */
/* A timeout that is moved on every I/O event without touching libev's timer heap: moving a deadline
 * later only stores it; the armed ev_timer fires at the old time, sees the deadline moved, and
 * re-arms itself for the rest (the "lazy" strategy of libev's documentation). Loop thread only. */
#ifndef SL_CORE_LAZY_TIMER_H
#define SL_CORE_LAZY_TIMER_H

#include <ev.h>
#include <stdbool.h>

struct sl_lazy_timer {
    ev_timer timer;     /* its callback must call sl_lazy_timer_expired first */
    ev_tstamp armed_at; /* when the ev_timer fires */
    ev_tstamp deadline; /* 0: no deadline */
};

/* Sets the deadline <ms> from now (<= 0 clears it). */
static inline void
sl_lazy_timer_set(struct ev_loop *loop, struct sl_lazy_timer *lt, int ms)
{
    if (ms <= 0) {
        lt->deadline = 0;
        return;
    }
    ev_tstamp d = ev_now(loop) + ms / 1000.0;
    lt->deadline = d;
    if (ev_is_active(&lt->timer) && lt->armed_at <= d) {
        return; /* fires earlier and re-arms then */
    }
    ev_timer_stop(loop, &lt->timer);
    ev_timer_set(&lt->timer, ms / 1000.0, 0);
    ev_timer_start(loop, &lt->timer);
    lt->armed_at = d;
}

/* For the ev_timer callback: true when the deadline has really passed; otherwise re-arms for the
 * remaining time (or stays idle when there is no deadline) and returns false. */
static inline bool
sl_lazy_timer_expired(struct ev_loop *loop, struct sl_lazy_timer *lt)
{
    if (lt->deadline == 0) {
        return false;
    }
    ev_tstamp left = lt->deadline - ev_now(loop);
    if (left > 0.0005) {
        ev_timer_set(&lt->timer, left, 0);
        ev_timer_start(loop, &lt->timer);
        lt->armed_at = lt->deadline;
        return false;
    }
    lt->deadline = 0;
    return true;
}

static inline void
sl_lazy_timer_stop(struct ev_loop *loop, struct sl_lazy_timer *lt)
{
    lt->deadline = 0;
    ev_timer_stop(loop, &lt->timer);
}

#endif
