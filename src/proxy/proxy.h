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

/* The sluice.conf values the data plane reads, derived from one loaded sluice.conf. Immutable and
 * reference-counted: the control thread publishes a new object at start and on each reload, and a
 * worker picks it up at the start of the next request it parses (one atomic load per request, as
 * for snapshots). A session holds a reference to the settings of its current request, so a reload
 * never changes a limit or a timeout under a request; an idle keep-alive connection keeps its last
 * request's settings until its next request. */
struct sl_proxy_settings {
    struct sl_conf conf; /* this object's own copy (trusted_ips, real_ip_header, ...) */
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
    unsigned headers; /* enum sl_header_flag */
    bool access_log_on;
    bool access_log_json;
    bool real_ip_from_proxy_protocol; /* real_ip_header = proxy_protocol */
    bool real_ip_xff;                 /* real_ip_header = X-Forwarded-For: read as one list */
    uint64_t generation;              /* set by sl_proxy_settings_publish */
    _Atomic unsigned refs;
};

/* The port clients reached <listen_port> by: its port_maps entry (Kong's host_ports), else the
 * listener's own. X-Forwarded-Port and the router's port fallback use it. */
uint16_t sl_proxy_client_port(const struct sl_proxy_settings *st, uint16_t listen_port);

/* Derives settings from <conf> (copied); one reference for the caller. NULL when out of memory. */
struct sl_proxy_settings *sl_proxy_settings_new(const struct sl_conf *conf);
struct sl_proxy_settings *sl_proxy_settings_ref(struct sl_proxy_settings *st);
void sl_proxy_settings_unref(struct sl_proxy_settings *st); /* NULL is a no-op; any thread */

/* Makes <st> the settings workers use from their next request on; takes over the caller's
 * reference. Control thread. */
void sl_proxy_settings_publish(struct sl_proxy_settings *st);
/* A reference to the published settings (NULL before the first publish). Any thread. */
struct sl_proxy_settings *sl_proxy_settings_acquire(void);
/* The generation of the published settings: workers compare it with their own. */
uint64_t sl_proxy_settings_generation(void);

/* Points the access log at <fd> (from sl_log_file_open, whose ownership passes here; or
 * SL_LOG_FILE_OFF) and remembers <path> for sl_access_log_reopen. Whether a request is logged,
 * and in which format, is its settings' access_log_on and access_log_json. Control thread. */
void sl_access_log_use(int fd, const char *path);
/* Reopens the access log's file (rotation, USR1). Returns 0, or -1 with errno set. */
int sl_access_log_reopen(void);

/* Process-wide counters for the Status API (relaxed atomics: exact totals, no ordering). */
struct sl_proxy_stats {
    _Atomic unsigned long long connections_accepted;
    _Atomic unsigned long long connections_active;
    /* The most connections_active has reached since the control thread last took it (the
     * memory check, process.c): a burst shorter than the check's period is still seen. */
    _Atomic unsigned long long connections_peak;
    _Atomic unsigned long long total_requests;
    /* Of the active connections, as nginx's stub_status counts them: reading a request head,
     * and everything after it until the response is out (proxying, writing, lingering). The
     * others wait between requests (keep-alive). Kept by the workers (session.c). */
    _Atomic unsigned long long connections_reading;
    _Atomic unsigned long long connections_writing;
};
extern struct sl_proxy_stats sl_proxy_stats;

/* Starts <n> worker threads serving <conf>'s proxy_listen addresses, with the published settings
 * (sl_proxy_settings_publish first). Listening sockets are opened here (so bind errors are reported
 * before daemonizing completes). Returns 0, or -1 with a message in <err>. Control thread only. */
int sl_proxy_start(const struct sl_conf *conf, int n, char *err, size_t errlen);

/* Reload of proxy_listen, in two steps so that a reload fails whole: prepare opens the sockets of
 * <conf>'s entries that are not open yet (entries with the same address, port and reuseport keep
 * their sockets and queued connections); NULL with a message in <err> on a bind error, nothing
 * changed. commit hands the sockets to the workers, which close the ones no longer listed (-1
 * when out of memory: nothing changed); discard closes what prepare opened. Accepted connections
 * are never touched. Control thread, while the workers run and are not draining. */
struct sl_listen_plan;
struct sl_listen_plan *sl_proxy_listen_prepare(const struct sl_conf *conf, char *err,
                                               size_t errlen);
int sl_proxy_listen_commit(struct sl_listen_plan *plan);
void sl_proxy_listen_discard(struct sl_listen_plan *plan);

/* Wakes every worker after a configuration (snapshot) or settings publish, so that idle workers
 * release what they held (sl_snapshot_set_publish_hook). Control thread. */
void sl_proxy_config_published(void);

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
