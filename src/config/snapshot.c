/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot compilation and publication (snapshot.h). Publication takes a mutex only on the swap and
 * when a worker picks up a new generation; the request path compares one atomic counter. */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/declarative.h"
#include "config/snapshot.h"
#include "core/strmap.h"
#include "sluice/arena.h"
#include "sluice/log.h"

static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_snapshot *current;
static atomic_uint_fast64_t current_generation;
static uint64_t next_generation = 1;

/* The addresses of one host name, looked up once per build however many services name it. Ports
 * are 0: each service sets its own. */
struct resolved_host {
    struct sockaddr_in6 addrs[SL_SNAPSHOT_MAX_ADDRS]; /* large enough for AF_INET and AF_INET6 */
    socklen_t addrlens[SL_SNAPSHOT_MAX_ADDRS];
    size_t naddrs;
    int gai_error; /* 0, or getaddrinfo's error */
};

static void
resolve_into(struct resolved_host *r, const char *host)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    r->gai_error = getaddrinfo(host, NULL, &hints, &res);
    if (r->gai_error != 0) {
        return;
    }
    for (struct addrinfo *ai = res; ai && r->naddrs < SL_SNAPSHOT_MAX_ADDRS; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(r->addrs[0])) {
            continue;
        }
        memcpy(&r->addrs[r->naddrs], ai->ai_addr, ai->ai_addrlen);
        r->addrlens[r->naddrs] = ai->ai_addrlen;
        r->naddrs++;
    }
    freeaddrinfo(res);
}

/* The names a build has resolved (build_hosts): each distinct name once, kept in a temporary
 * arena that the build drops when it ends. */
struct host_cache {
    struct sl_strmap index;         /* host name → entries[] */
    struct resolved_host **entries; /* one slot per service; filled per distinct name */
    struct sl_arena *arena;
    size_t n;
};

/* The addresses of <host>: an IP literal is converted in place (<scratch>); a name is looked up
 * with the system resolver once per build and kept in <hc>. */
static const struct resolved_host *
resolve_host(struct host_cache *hc, const char *host, struct resolved_host *scratch)
{
    memset(scratch, 0, sizeof(*scratch));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&scratch->addrs[0];
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        scratch->addrlens[0] = sizeof(*v4);
        scratch->naddrs = 1;
        return scratch;
    }
    if (inet_pton(AF_INET6, host, &scratch->addrs[0].sin6_addr) == 1) {
        scratch->addrs[0].sin6_family = AF_INET6;
        scratch->addrlens[0] = sizeof(scratch->addrs[0]);
        scratch->naddrs = 1;
        return scratch;
    }
    size_t i;
    if (!sl_strmap_get(&hc->index, host, &i)) {
        struct resolved_host *r = sl_arena_calloc(hc->arena, 1, sizeof(*r));
        if (r == NULL) {
            scratch->gai_error = EAI_MEMORY;
            return scratch;
        }
        resolve_into(r, host);
        i = hc->n++;
        hc->entries[i] = r;
        sl_strmap_put(&hc->index, host, i);
    }
    return hc->entries[i];
}

static void
resolve_target(struct sl_service_target *t, const struct sl_service *svc, struct host_cache *hosts)
{
    t->service = svc;
    t->naddrs = 0;
    bool default_port =
        (svc->port == 80 && (svc->protocol == SL_PROTO_HTTP || svc->protocol == SL_PROTO_GRPC)) ||
        (svc->port == 443 && (svc->protocol == SL_PROTO_HTTPS || svc->protocol == SL_PROTO_GRPCS));
    bool v6 = strchr(svc->host, ':') != NULL;
    if (default_port) {
        snprintf(t->host_header, sizeof(t->host_header), v6 ? "[%s]" : "%s", svc->host);
    } else {
        snprintf(t->host_header, sizeof(t->host_header), v6 ? "[%s]:%u" : "%s:%u", svc->host,
                 (unsigned)svc->port);
    }

    struct resolved_host scratch;
    const struct resolved_host *r = resolve_host(hosts, svc->host, &scratch);
    if (r->gai_error != 0) {
        sl_log(SL_LOG_ERR, "service %s: name resolution of '%s' failed: %s",
               svc->name ? svc->name : svc->id, svc->host, gai_strerror(r->gai_error));
        return;
    }
    uint16_t port = htons(svc->port);
    for (size_t i = 0; i < r->naddrs; i++) {
        memset(&t->addrs[i], 0, sizeof(t->addrs[i]));
        memcpy(&t->addrs[i], &r->addrs[i], r->addrlens[i]);
        t->addrlens[i] = r->addrlens[i];
        if (t->addrs[i].ss_family == AF_INET6) {
            ((struct sockaddr_in6 *)&t->addrs[i])->sin6_port = port;
        } else {
            ((struct sockaddr_in *)&t->addrs[i])->sin_port = port;
        }
    }
    t->naddrs = r->naddrs;
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
    size_t nlive = 0;
    for (size_t i = 0; i < config->nroutes; i++) {
        const struct sl_service *svc = config->routes[i]->service;
        if (svc == NULL || svc->enabled) {
            live[nlive++] = config->routes[i];
        }
    }
    snap->router = sl_router_build(live, nlive, a, err, errlen);
    if (snap->router == NULL) {
        sl_config_free(config);
        return NULL;
    }
    /* Each distinct host is resolved once per build: many services usually share a few hosts,
     * and every lookup blocks this (the control) thread. */
    struct sl_arena *tmp = sl_arena_create(16384);
    struct host_cache hosts = {.arena = tmp};
    if (tmp == NULL || !sl_strmap_init(&hosts.index, config->nservices, tmp) ||
        (hosts.entries = sl_arena_calloc(tmp, config->nservices + 1, sizeof(*hosts.entries))) ==
            NULL) {
        sl_arena_destroy(tmp);
        snprintf(err, errlen, "out of memory");
        sl_config_free(config);
        return NULL;
    }
    for (size_t i = 0; i < config->nservices; i++) {
        config->services[i]->index = i;
        if (config->services[i]->enabled) {
            resolve_target(&targets[i], config->services[i], &hosts);
        } else {
            targets[i].service = config->services[i];
        }
    }
    sl_arena_destroy(tmp);
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

void
sl_snapshot_unref(struct sl_snapshot *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        sl_config_free(s->config); /* the snapshot itself lives in the config arena */
    }
}

void
sl_snapshot_publish(struct sl_snapshot *snap)
{
    pthread_mutex_lock(&publish_lock);
    struct sl_snapshot *old = current;
    snap->generation = next_generation++;
    current = snap;
    atomic_store_explicit(&current_generation, snap->generation, memory_order_release);
    pthread_mutex_unlock(&publish_lock);
    sl_snapshot_unref(old);
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
