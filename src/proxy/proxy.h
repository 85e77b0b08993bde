/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP/1.1 proxy engine: worker threads, each with its own libev loop, listeners, client
 * sessions and upstream connection pool. Workers read configuration only through snapshots. */
#ifndef SL_PROXY_H
#define SL_PROXY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/conf.h"

/* Settings the data plane reads on every request, derived once from sluice.conf at start (and
 * replaced wholesale on reload). Immutable while workers run. */
struct sl_proxy_settings {
    const struct sl_conf *conf; /* owned by the caller; outlives the workers */
    size_t max_request_line;
    size_t max_header_line;
    size_t max_header_bytes;
    size_t max_headers;
    uint64_t max_body_bytes; /* 0 = unlimited */
    int client_header_timeout_ms;
    int client_body_timeout_ms;
    int send_timeout_ms;
    int keepalive_timeout_ms;
    int pool_size; /* idle upstream connections kept per address, per worker */
    int pool_max_requests;
    int pool_idle_timeout_ms;
    unsigned headers;  /* enum sl_header_flag */
    int access_log_fd; /* -1 when off */
    bool access_log_json;
};

/* Process-wide counters for the Status API (relaxed atomics: exact totals, no ordering). */
struct sl_proxy_stats {
    _Atomic unsigned long long connections_accepted;
    _Atomic unsigned long long connections_active;
    _Atomic unsigned long long total_requests;
};
extern struct sl_proxy_stats sl_proxy_stats;

/* Starts <n> worker threads serving the conf's proxy_listen addresses. Listening sockets are
 * opened here (so bind errors are reported before daemonizing completes). Returns 0, or -1 with a
 * message in <err>. Control thread only. */
int sl_proxy_start(const struct sl_proxy_settings *settings, int n, char *err, size_t errlen);

/* Tells every worker that a resolver entry left SL_DNS_PENDING, so requests waiting for a name's
 * first answer go on (net/dns.h's settled callback). Control thread. */
void sl_proxy_dns_settled(void);

/* Asks every worker to stop, without waiting: <graceful> as for sl_proxy_stop. The control loop
 * can go on running meanwhile (the resolver lives there); sl_proxy_stopped says when every worker
 * is done. Control thread. */
void sl_proxy_begin_stop(bool graceful, int timeout_ms);
bool sl_proxy_stopped(void);

/* Asks every worker to stop: <graceful> closes listeners and lets in-flight requests finish for up
 * to <timeout_ms>; otherwise connections are closed at once. Joins the threads. */
void sl_proxy_stop(bool graceful, int timeout_ms);

#endif
