/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot compilation and publication (snapshot.h). Publication takes a mutex only on the swap and
 * when a worker picks up a new generation; the request path compares one atomic counter. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/declarative.h"
#include "config/snapshot.h"
#include "core/mem_trim.h"
#include "core/strmap.h"
#include "config/upstream_tls.h"
#include "net/tls.h"
#include "sluice/arena.h"
#include "sluice/log.h"

static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_snapshot *current;
static atomic_uint_fast64_t current_generation;
static uint64_t next_generation = 1;
static void (*publish_hook)(void); /* sl_snapshot_set_publish_hook */

void
sl_service_host_header(const struct sl_service *svc, uint16_t port, char *out, size_t cap)
{
    bool default_port =
        (port == 80 && (svc->protocol == SL_PROTO_HTTP || svc->protocol == SL_PROTO_GRPC)) ||
        (port == 443 && (svc->protocol == SL_PROTO_HTTPS || svc->protocol == SL_PROTO_GRPCS));
    bool v6 = strchr(svc->host, ':') != NULL;
    if (default_port) {
        snprintf(out, cap, v6 ? "[%s]" : "%s", svc->host);
    } else {
        snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", svc->host, (unsigned)port);
    }
}

/* A protocol over TLS that Sluice does not speak to upstreams yet (grpcs, tls, tls_passthrough):
 * such a service's requests answer 502 without a byte sent, rather than go in clear to a server
 * that expects TLS (with the client's credentials in them). https is spoken. */
static bool
tls_not_spoken(const struct sl_service *svc)
{
    return svc->protocol == SL_PROTO_GRPCS || svc->protocol == SL_PROTO_TLS ||
           svc->protocol == SL_PROTO_TLS_PASSTHROUGH;
}

/* nginx's proxy_ssl_verify_depth default, which Kong leaves alone when tls_verify_depth is null:
 * the leaf, one intermediate and the trust anchor. */
#define DEFAULT_VERIFY_DEPTH 1

static struct sl_upstream_tls_defaults *tls_defaults; /* sluice.conf's; NULL: none loaded */

struct sl_upstream_tls_defaults *
sl_snapshot_swap_upstream_tls_defaults(struct sl_upstream_tls_defaults *d)
{
    struct sl_upstream_tls_defaults *old = tls_defaults;
    tls_defaults = d;
    return old;
}

/* The client context settings of an https service (Kong's upstream_ssl: tls_verify, its depth,
 * the CA certificates it trusts, the client certificate it presents), sluice.conf's defaults
 * where the service leaves one unset. <stamp>: the system store's, as this build found it. */
static void
tls_opts_of(const struct sl_service *svc, const char *stamp, struct sl_tls_client_opts *o)
{
    const struct sl_upstream_tls_defaults *d = tls_defaults;
    memset(o, 0, sizeof(*o));
    o->verify = svc->tls_verify == 1 || (svc->tls_verify < 0 && d != NULL && d->verify);
    o->verify_depth = svc->tls_verify_depth >= 0 ? svc->tls_verify_depth
                      : d != NULL                ? d->verify_depth
                                                 : DEFAULT_VERIFY_DEPTH;
    if (svc->ca_pems.n > 0) {
        o->ca_pems = svc->ca_pems.v;
        o->nca = svc->ca_pems.n;
    } else if (d != NULL) {
        o->system_store = d->system_store;
        o->ca_pems = (const char *const *)d->ca_pems;
        o->nca = d->nca;
    } else {
        o->system_store = true; /* lua_ssl_trusted_certificate's default */
    }
    o->system_stamp = o->system_store ? stamp : NULL;
    if (svc->client_cert_pem != NULL) {
        o->cert_pem = svc->client_cert_pem;
        o->key_pem = svc->client_key_pem;
    } else if (d != NULL) {
        o->cert_pem = d->cert_pem;
        o->key_pem = d->key_pem;
    }
}

/* An enabled https service that is not refused otherwise (disabled services have no routes). */
static bool
wants_client_ctx(const struct sl_service_target *t)
{
    return t->service->protocol == SL_PROTO_HTTPS && t->service->enabled && t->refuse_status == 0;
}

/* Build warnings name how many services a case concerns and the first one, and are said again
 * only when that count changes: an Admin API sync of 1000 services compiles 1000 times (builds
 * run on the control thread only, hence plain statics). True when <n> is due; records it. */
static bool
count_changed(size_t *said, size_t n)
{
    bool due = n > 0 && n != *said;
    *said = n;
    return due;
}

static const char *
svc_label(const struct sl_service *svc)
{
    return svc->name ? svc->name : svc->id;
}

/* services verifying against an empty trust store, last warned about */
static size_t said_ntrustless;

/* Gives every https target its client context. Targets with the same settings share one, and a
 * context of the current snapshot with the same digest is taken over rather than built again:
 * loading the system's trusted certificates costs milliseconds, and an Admin API sync compiles
 * once per write. The digest covers the system store's files (their stamp), so the first build
 * after they change (a reload, an Admin API write) loads them again, as an nginx reload does.
 * A target whose context cannot be built answers 502 (logged). */
static void
attach_tls(struct sl_service_target *targets, size_t n, struct sl_arena *arena)
{
    size_t nhttps = 0;
    for (size_t i = 0; i < n; i++) {
        nhttps += wants_client_ctx(&targets[i]);
    }
    if (nhttps == 0) {
        said_ntrustless = 0;
        return;
    }
    char stamp[512];
    sl_tls_system_store_stamp(stamp, sizeof(stamp));
    struct sl_snapshot *old = sl_snapshot_acquire();
    size_t nold = old != NULL ? old->config->nservices : 0;
    size_t ntrustless = 0; /* services that verify against an empty trust store */
    const struct sl_service *first_trustless = NULL;
    struct sl_arena *tmp = sl_arena_create(0);
    struct sl_strmap seen; /* digest -> index: into <targets> below <n>, into old's from <n> on */
    bool have_map = tmp != NULL && sl_strmap_init(&seen, nhttps + nold, tmp);
    for (size_t k = 0; have_map && k < nold; k++) {
        if (old->targets[k].tls_ctx != NULL) {
            sl_strmap_put(&seen, old->targets[k].tls_digest, n + k);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct sl_service_target *t = &targets[i];
        const struct sl_service *svc = t->service;
        if (!wants_client_ctx(t)) {
            continue;
        }
        if (svc->tls_missing != NULL) {
            /* Kong fails such a request as an internal error, rather than send it unverified or
             * without the certificate the service asks for */
            sl_log(SL_LOG_ERR, "service %s: %s does not exist; its requests answer 500",
                   svc_label(svc), svc->tls_missing);
            t->refuse_status = 500;
            continue;
        }
        struct sl_tls_client_opts o;
        tls_opts_of(svc, stamp, &o);
        if (o.verify && !o.system_store && o.nca == 0 && ntrustless++ == 0) {
            first_trustless = svc;
        }
        if (sl_tls_client_opts_digest(&o, t->tls_digest) < 0) {
            t->refuse_status = 500; /* no digest: nothing may share its context or its pool */
            continue;
        }
        t->tls_pool_key = sl_arena_sprintf(arena, "%s|%s", t->tls_digest, svc->host);
        if (t->tls_pool_key == NULL) {
            t->refuse_status = 500; /* out of memory compiling: nothing goes out unkeyed */
            continue;
        }
        size_t j;
        bool known = have_map && sl_strmap_get(&seen, t->tls_digest, &j);
        if (known) {
            SSL_CTX *shared = j < n ? targets[j].tls_ctx : old->targets[j - n].tls_ctx;
            if (SSL_CTX_up_ref(shared) == 1) {
                t->tls_ctx = shared;
            }
        } else {
            char err[256];
            t->tls_ctx = sl_tls_client_ctx_new(&o, err, sizeof(err));
            if (t->tls_ctx == NULL) {
                sl_log(SL_LOG_ERR, "service %s: %s; its requests answer 502", svc_label(svc), err);
            }
        }
        if (t->tls_ctx == NULL) {
            t->refuse_status = 502;
            continue;
        }
        if (have_map && !known) {
            sl_strmap_put(&seen, t->tls_digest, i); /* keys live in <targets>, past <tmp> */
        }
    }
    sl_arena_destroy(tmp);
    sl_snapshot_unref(old);
    if (count_changed(&said_ntrustless, ntrustless)) {
        sl_log(SL_LOG_WARN,
               "%zu https service(s) (first: %s) verify their upstream's certificate but trust "
               "no certificate (no ca_certificates, lua_ssl_trusted_certificate without `system` "
               "or files): every handshake to them fails",
               ntrustless, svc_label(first_trustless));
    }
}

/* Fills <t> for <svc>: its Host header, and either its fixed addresses (an IP literal or a
 * hosts-file name) or a reference to the resolver's entry for its name. */
static void
resolve_target(struct sl_service_target *t, const struct sl_service *svc)
{
    t->service = svc;
    t->port_be = htons(svc->port);
    sl_service_host_header(svc, svc->port, t->host_header, sizeof(t->host_header));
    if (sl_dns_static(svc->host, &t->fixed)) {
        sl_addrs_default_port(&t->fixed, t->port_be);
        return;
    }
    /* Many services usually share a few names: they share one entry, resolved once. */
    t->dns = sl_dns_acquire(svc->host);
    if (t->dns == NULL) {
        sl_log(SL_LOG_ERR, "service %s: out of memory resolving '%s'", svc_label(svc), svc->host);
    }
}

static void
release_targets(struct sl_service_target *targets, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sl_dns_release(targets[i].dns);
        targets[i].dns = NULL;
        SSL_CTX_free(targets[i].tls_ctx); /* pooled connections keep their own reference */
        targets[i].tls_ctx = NULL;
    }
}

/* Round-robin goes on across configuration changes: each service's counter starts where the
 * same service (by id) of the current snapshot has it, so that frequent changes (Admin API
 * writes) do not send the first requests after each one to the same address. */
static void
carry_turns(struct sl_service_target *targets, const struct sl_config *config)
{
    struct sl_snapshot *old = sl_snapshot_acquire();
    const struct sl_config *oc = old != NULL ? old->config : NULL;
    struct sl_arena *tmp = oc != NULL && oc->nservices > 0 ? sl_arena_create(0) : NULL;
    struct sl_strmap ids; /* old service id -> its index (keys borrowed from <old>) */
    if (tmp != NULL && sl_strmap_init(&ids, oc->nservices, tmp)) {
        for (size_t i = 0; i < oc->nservices; i++) {
            sl_strmap_put(&ids, oc->services[i]->id, i); /* ids are unique */
        }
        for (size_t j = 0; j < config->nservices; j++) {
            size_t k;
            if (sl_strmap_get(&ids, config->services[j]->id, &k)) {
                size_t turns = atomic_load_explicit(&old->targets[k].turns, memory_order_relaxed);
                atomic_store_explicit(&targets[j].turns, turns, memory_order_relaxed);
            }
        }
    }
    sl_arena_destroy(tmp);
    sl_snapshot_unref(old);
}

struct sl_snapshot *
sl_snapshot_build(struct sl_config *config, char *err, size_t errlen)
{
    struct sl_arena *a = config->arena;
    struct sl_snapshot *snap = sl_arena_calloc(a, 1, sizeof(*snap));
    struct sl_route **live = sl_arena_calloc(a, config->nroutes + 1, sizeof(*live));
    struct sl_service_target *targets = sl_arena_calloc(a, config->nservices + 1, sizeof(*targets));
    if (snap == NULL || live == NULL || targets == NULL) {
        snprintf(err, errlen, "out of memory");
        sl_config_free(config);
        return NULL;
    }
    /* Routes of disabled services stay out of the router (kong/runloop/handler.lua). */
    size_t nlive = 0, nv1 = 0;
    const struct sl_route *first_v1 = NULL;
    for (size_t i = 0; i < config->nroutes; i++) {
        const struct sl_service *svc = config->routes[i]->service;
        if (svc == NULL || svc->enabled) {
            live[nlive++] = config->routes[i];
        }
        if (config->routes[i]->path_handling == SL_PATH_HANDLING_V1 && nv1++ == 0) {
            first_v1 = config->routes[i];
        }
    }
    if (nv1 > 0) {
        /* Kong's schema warning, once per configuration rather than once per route. */
        sl_log(SL_LOG_WARN,
               "%zu route(s) (first: %s) have path_handling='v1': path_handling='v1' is "
               "deprecated and will not work under 'expressions' or 'traditional_compatible' "
               "router_flavor, please use path_handling='v0' instead (they are proxied as v0)",
               nv1, first_v1->name ? first_v1->name : first_v1->id);
    }
    snap->router = sl_router_build(live, nlive, a, err, errlen);
    if (snap->router == NULL) {
        sl_config_free(config);
        return NULL;
    }
    size_t nup = 0, ntls = 0;
    const struct sl_service *first_up = NULL, *first_tls = NULL;
    for (size_t i = 0; i < config->nservices; i++) {
        const struct sl_service *svc = config->services[i];
        struct sl_service_target *t = &targets[i];
        config->services[i]->index = i;
        t->service = svc;
        /* neither kind is resolved: an upstream's name is no DNS name to Kong, and nothing can be
         * sent to such a TLS service yet */
        if (svc->names_upstream) {
            t->refuse_status = 503; /* Kong's answer when its balancer has no peer */
            t->refuse_message = "failure to get a peer from the ring-balancer";
            first_up = nup++ == 0 ? svc : first_up;
        } else if (tls_not_spoken(svc)) {
            t->refuse_status = 502; /* nginx's when it cannot set up the upstream's TLS */
            first_tls = ntls++ == 0 ? svc : first_tls;
        } else if (svc->enabled) {
            resolve_target(t, svc);
        }
    }
    static size_t said_nup, said_ntls; /* count_changed */
    if (count_changed(&said_nup, nup)) {
        sl_log(SL_LOG_WARN,
               "%zu service(s) (first: %s, host '%s') name an upstream: Sluice does not balance "
               "upstreams yet, so their requests answer 503 \"failure to get a peer from the "
               "ring-balancer\" rather than go to what DNS says of the name",
               nup, svc_label(first_up), first_up->host);
    }
    if (count_changed(&said_ntls, ntls)) {
        sl_log(SL_LOG_WARN,
               "%zu service(s) (first: %s) use grpcs, tls or tls_passthrough: Sluice does not "
               "speak these to upstreams yet, so their requests answer 502 and nothing is sent "
               "to them (never in clear)",
               ntls, svc_label(first_tls));
    }
    attach_tls(targets, config->nservices, a);
    carry_turns(targets, config);
    snap->config = config;
    snap->targets = targets;
    atomic_init(&snap->refs, 1);
    return snap;
}

const struct sl_service_target *
sl_snapshot_target(const struct sl_snapshot *snap, const struct sl_service *svc)
{
    return &snap->targets[svc->index];
}

size_t
sl_snapshot_target_turn(const struct sl_service_target *t)
{
    /* The counter is the target's only mutable field; a relaxed add is all a turn needs. */
    struct sl_service_target *mut = (struct sl_service_target *)t;
    return atomic_fetch_add_explicit(&mut->turns, 1, memory_order_relaxed);
}

const struct sl_addrs *
sl_snapshot_target_addrs(const struct sl_service_target *t, struct sl_addrs *scratch,
                         enum sl_dns_state *state)
{
    if (t->dns == NULL) {
        *state = t->fixed.n > 0 ? SL_DNS_OK : SL_DNS_ERROR; /* no entry: out of memory */
        return &t->fixed;
    }
    *state = sl_dns_read(t->dns, t->port_be, scratch);
    return scratch;
}

void
sl_snapshot_unref(struct sl_snapshot *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        release_targets(s->targets, s->config->nservices);
        size_t bytes = sl_arena_used(s->config->arena);
        sl_config_free(s->config); /* the snapshot itself lives in the config arena */
        sl_mem_note_config(bytes, true);
    }
}

void
sl_snapshot_publish(struct sl_snapshot *snap)
{
    pthread_mutex_lock(&publish_lock);
    struct sl_snapshot *old = current;
    sl_mem_note_config(sl_arena_used(snap->config->arena), false);
    snap->generation = next_generation++;
    current = snap;
    atomic_store_explicit(&current_generation, snap->generation, memory_order_release);
    pthread_mutex_unlock(&publish_lock);
    sl_snapshot_unref(old);
    if (publish_hook != NULL) {
        publish_hook();
    }
}

void
sl_snapshot_set_publish_hook(void (*hook)(void))
{
    publish_hook = hook;
}

struct sl_snapshot *
sl_snapshot_acquire(void)
{
    pthread_mutex_lock(&publish_lock);
    struct sl_snapshot *s = current ? sl_snapshot_ref(current) : NULL;
    pthread_mutex_unlock(&publish_lock);
    return s;
}

uint64_t
sl_snapshot_current_generation(void)
{
    return atomic_load_explicit(&current_generation, memory_order_acquire);
}

void
sl_snapshot_clear(void)
{
    pthread_mutex_lock(&publish_lock);
    struct sl_snapshot *old = current;
    current = NULL;
    pthread_mutex_unlock(&publish_lock);
    sl_snapshot_unref(old);
}
