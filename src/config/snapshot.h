/* SPDX-License-Identifier: Apache-2.0 */
/* Config snapshots (DESIGN.md §2): the compiled, immutable form of a configuration — the config
 * entities, the router and each service's resolved upstream addresses — published with one pointer
 * swap. Workers and requests hold references; the last reference frees it, on whichever thread. */
#ifndef SL_CONFIG_SNAPSHOT_H
#define SL_CONFIG_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "net/dns.h"
#include "router/router.h"
#include "sluice/entity-t.h"

/* Where a service's traffic goes. An IP literal or a hosts-file name is resolved when the snapshot
 * is compiled (<fixed>); any other name is a resolver entry (<dns>) whose addresses the control
 * thread keeps current, read per request with sl_snapshot_target_addrs. */
struct sl_service_target {
    const struct sl_service *service;
    struct sl_addrs fixed;   /* ports applied; n = 0 with dns NULL: unresolvable (503) */
    struct sl_dns_name *dns; /* NULL unless the host needs DNS; one reference held */
    uint16_t port_be;        /* the service's port, network order */
    /* 0, or the status every request to the service answers at once, with <refuse_message>
     * (NULL: the status's default), nothing resolved or sent: 503 when its host names an upstream
     * (no balancer yet), 502 when its protocol is grpcs, tls or tls_passthrough (not spoken to
     * upstreams yet; never in clear) or its TLS settings could not be loaded */
    int refuse_status;
    const char *refuse_message;
    char host_header[300]; /* host[:port] unless the port is the scheme's default */
    /* https: the context its connections are made with (one reference; targets with the same
     * settings share one, also across snapshots), and the digest of those settings
     * (sl_tls_client_opts_digest), which with the SNI name keys its pooled connections. */
    SSL_CTX *tls_ctx;
    char tls_digest[65];
    /* "<tls_digest>|<host>": the pool key of its connections when the Host sent upstream is the
     * service's own (no preserve_host), made once here rather than per request (arena) */
    const char *tls_pool_key;
    /* The one field that changes in a published snapshot: requests to the service taken so far,
     * for the round-robin over its addresses (sl_snapshot_target_turn). */
    atomic_size_t turns;
};

/* The upstream Host header for <svc> reached on <port>, as Kong sets it: the service's host, with
 * ":<port>" unless the port is the scheme's default (80 for http and grpc, 443 for https and
 * grpcs); an IPv6 literal in brackets. */
void sl_service_host_header(const struct sl_service *svc, uint16_t port, char *out, size_t cap);

struct sl_snapshot {
    atomic_uint refs;
    uint64_t generation;
    struct sl_config *config;          /* owned */
    struct sl_router *router;          /* in config->arena */
    struct sl_service_target *targets; /* indexed like config->services */
};

/* The turn of a new request to <t>, for sl_addrs_pick: one counter per service shared by every
 * worker, so the service's requests go round its addresses, as Kong's balancer does per name
 * (a counter per worker would pin a service to one address when requests alternate between
 * services). Any thread. */
size_t sl_snapshot_target_turn(const struct sl_service_target *t);

struct sl_upstream_tls_defaults;
/* Makes <d> the sluice.conf defaults of https services' TLS that later builds use (NULL: Kong's
 * defaults with no file: no verification, the system's store, no client certificate), and
 * returns the previous ones, which the caller frees (config/upstream_tls.h). Control thread, as
 * builds are. */
struct sl_upstream_tls_defaults *
sl_snapshot_swap_upstream_tls_defaults(struct sl_upstream_tls_defaults *d);

/* Compiles <config> (taking ownership; freed on failure too). Takes a resolver entry for each
 * service host that needs DNS (net/dns.h): call from the control thread only. NULL with a message
 * in <err> on failure. */
struct sl_snapshot *sl_snapshot_build(struct sl_config *config, char *err, size_t errlen);

/* The target of <svc> in <snap> (services are indexed at build time). */
const struct sl_service_target *sl_snapshot_target(const struct sl_snapshot *snap,
                                                   const struct sl_service *svc);
/* The addresses to try for <t> now: <t>'s fixed set, or a copy of its DNS entry's current answer
 * made in <scratch>. Sets *state (SL_DNS_PENDING: the first answer has not arrived; wait for the
 * resolver's settled callback and ask again). Any thread holding the snapshot. */
const struct sl_addrs *sl_snapshot_target_addrs(const struct sl_service_target *t,
                                                struct sl_addrs *scratch, enum sl_dns_state *state);

/* Publishes <snap> as current (the publisher's reference moves to the global slot); the previous
 * snapshot loses the global reference, then the publish hook runs. Control thread (the hook
 * reaches the workers). */
void sl_snapshot_publish(struct sl_snapshot *snap);
/* Called after each publish, on the publishing thread: the proxy wakes its workers so that idle
 * ones drop the snapshot they hold (and the memory of a large old configuration goes at once,
 * not at their next request). Set once at start, before anything publishes; NULL for none. */
void sl_snapshot_set_publish_hook(void (*hook)(void));
/* A new reference to the current snapshot, or NULL if none is published. Any thread. */
struct sl_snapshot *sl_snapshot_acquire(void);
/* The generation of the current snapshot: a cheap test of whether a worker's copy is stale. */
uint64_t sl_snapshot_current_generation(void);

static inline struct sl_snapshot *
sl_snapshot_ref(struct sl_snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}
void sl_snapshot_unref(struct sl_snapshot *s);

/* Drops the global reference (shutdown). */
void sl_snapshot_clear(void);

#endif
