/* SPDX-License-Identifier: Apache-2.0 */
/* The resolver of dns.h: a table of entries, one per name the configuration references, each
 * resolved (A, AAAA, SRV and its targets) and refreshed by c-ares on the control loop. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns_internal.h"
#include "sluice/log.h"
#include "sluice/str.h"

/* c-ares' own bounds per query: 2 s per try, 2 tries per server, each round waiting twice as long.
 * With several dead servers and types a lookup can take far longer than that, so requests waiting
 * for a name's first answer have their own bound: past FIRST_ANSWER_MAX_S the name fails (500)
 * while its lookup goes on, and its answer, when it comes, is used from then on. */
#define QUERY_TIMEOUT_MS 2000
#define QUERY_TRIES 2
#define FIRST_ANSWER_MAX_S 10.0
/* Refreshes and stale deadlines are checked this often; TTLs are whole seconds. */
#define TICK_S 0.25
/* A TTL of 0 would mean a query per request in Kong; here it means one refresh a second. */
#define MIN_REFRESH_S 1.0
#define TABLE_SIZE 1024 /* buckets; chains grow past it */
/* c-ares uses one UDP socket per server, and one TCP socket per server after a truncated answer */
#define MAX_SOCKETS (2 * SL_DNS_MAX_SERVERS + 8)

struct sl_dns_name {
    atomic_uint refs; /* references from snapshots; freed by the sweep at 0 */
    pthread_mutex_t lock;
    /* under lock: what workers read */
    enum sl_dns_state state;
    struct sl_addrs addrs; /* ports 0, except SRV answers' own */
    /* control thread only */
    struct sl_dns_name *next; /* bucket chain */
    char *name;
    double stale_until; /* an answer is served until then while refreshes fail */
    double next_query;  /* when to ask again (0: as soon as the resolver runs) */
    bool in_flight;
    double lookup_started;           /* when the lookup in flight began */
    uint8_t last_type;               /* the type that answered last (dns_order LAST), 0: none yet */
    uint8_t tries[SL_DNS_MAX_ORDER]; /* the types of the lookup in progress, in order */
    size_t ntries, try_index;
    bool failing;           /* the last lookup failed: repeated failures are logged at info only */
    bool stale_is_nodata;   /* the refreshes keeping a stale answer got NODATA, not errors */
    atomic_bool used;       /* a request read the entry since its last lookup began */
    bool restart;           /* its lookup is being cancelled to be asked of new name servers */
    struct srv_lookup *srv; /* an SRV answer whose targets are being resolved, or NULL */
};

/* An SRV answer's targets being resolved: each record's host gives addresses, which take the
 * record's port and weight. The entry's lookup ends when the last target does. */
struct srv_target {
    struct srv_lookup *l;
    struct sl_dns_srv rec;
    uint8_t types[2]; /* A and/or AAAA, in dns_order */
    size_t ntypes, ti;
};

struct srv_lookup {
    struct sl_dns_name *e;
    size_t pending; /* targets whose queries have not ended, plus one while starting them */
    bool saw_error;
    bool cancelled; /* a query was cancelled: the answer is incomplete, nothing is published */
    int ttl;        /* smallest TTL of the SRV records and the targets' answers; -1: none yet */
    size_t ntargets;
    struct sl_addrs addrs;
    struct srv_target t[SL_DNS_MAX_ADDRS];
};

static struct sl_dns_name *table[TABLE_SIZE];

static struct {
    struct ev_loop *loop;
    ares_channel channel;
    bool running;
    ev_timer ares_timer; /* c-ares' next timeout */
    ev_timer tick;       /* refreshes, stale deadlines, sweeping */
    ev_io io[MAX_SOCKETS];
    int fds[MAX_SOCKETS]; /* -1: free slot */
    void (*settled)(void);
} res;

/* ---- entries ----------------------------------------------------------------------------------
 */

static size_t
bucket_of(const char *name)
{
    return sl_str_casehash(sl_str_from_cstr(name)) % TABLE_SIZE;
}

static void start_lookup(struct sl_dns_name *e);
static void rearm_ares_timer(void);

struct sl_dns_name *
sl_dns_acquire(const char *name)
{
    size_t b = bucket_of(name);
    for (struct sl_dns_name *e = table[b]; e != NULL; e = e->next) {
        if (strcasecmp(e->name, name) == 0) {
            atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
            return e;
        }
    }
    struct sl_dns_name *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->name = strdup(name)) == NULL) {
        free(e);
        return NULL;
    }
    pthread_mutex_init(&e->lock, NULL);
    atomic_init(&e->refs, 1);
    e->next = table[b];
    table[b] = e;
    if (res.running) {
        start_lookup(e);
        rearm_ares_timer();
    }
    return e;
}

void
sl_dns_release(struct sl_dns_name *e)
{
    if (e != NULL) {
        atomic_fetch_sub_explicit(&e->refs, 1, memory_order_release);
    }
}

enum sl_dns_state
sl_dns_read(struct sl_dns_name *e, uint16_t port_be, struct sl_addrs *out)
{
    if (!atomic_load_explicit(&e->used, memory_order_relaxed)) {
        atomic_store_explicit(&e->used, true, memory_order_relaxed); /* once per refresh */
    }
    pthread_mutex_lock(&e->lock);
    enum sl_dns_state st = e->state;
    *out = e->addrs;
    pthread_mutex_unlock(&e->lock);
    if (st != SL_DNS_OK) {
        out->n = 0;
    }
    sl_addrs_default_port(out, port_be);
    return st;
}

/* Publishes a lookup's outcome to the workers; <addrs> NULL keeps the current addresses. */
static void
publish(struct sl_dns_name *e, enum sl_dns_state st, const struct sl_addrs *addrs)
{
    pthread_mutex_lock(&e->lock);
    enum sl_dns_state was = e->state;
    e->state = st;
    if (addrs != NULL) {
        e->addrs = *addrs;
    } else if (st != SL_DNS_OK) {
        e->addrs.n = 0;
    }
    pthread_mutex_unlock(&e->lock);
    if (was == SL_DNS_PENDING && st != SL_DNS_PENDING && res.settled != NULL) {
        res.settled();
    }
}

static void
entry_free(struct sl_dns_name *e)
{
    pthread_mutex_destroy(&e->lock);
    free(e->name);
    free(e);
}

/* ---- lookups ----------------------------------------------------------------------------------
 */

static const char *
type_name(uint8_t type)
{
    return type == SL_DNS_A ? "A" : type == SL_DNS_AAAA ? "AAAA" : "SRV";
}

static int
qtype_of(uint8_t type)
{
    return type == SL_DNS_A ? ns_t_a : type == SL_DNS_AAAA ? ns_t_aaaa : ns_t_srv;
}

static int
min_ttl(int a, int b)
{
    return a < 0 ? b : b < 0 ? a : (a < b ? a : b);
}

static void query_next_type(struct sl_dns_name *e);

/* How a lookup that gave no address ended (the last type asked decides, as in Kong). */
enum lookup_failure {
    FAIL_NXDOMAIN, /* the name does not exist: it fails (503), stale answer or not */
    FAIL_NODATA,   /* the name has no record asked for: a stale answer is kept (Kong) */
    FAIL_ERROR,    /* the name servers failed (timeout, SERVFAIL, REFUSED): stale kept */
};

static enum lookup_failure
failure_of(int status)
{
    return status == ARES_ENOTFOUND ? FAIL_NXDOMAIN
           : status == ARES_ENODATA ? FAIL_NODATA
                                    : FAIL_ERROR;
}

/* The lookup of <e> ended without an address. A previous answer still within dns_stale_ttl keeps
 * being served, unless the name is gone (NXDOMAIN), which Kong also takes at once. */
static void
lookup_failed(struct sl_dns_name *e, enum lookup_failure how, const char *why)
{
    double now = ev_now(res.loop);
    double retry = how == FAIL_ERROR ? sl_dns_cfg.error_ttl : sl_dns_cfg.not_found_ttl;
    e->in_flight = false;
    bool have_stale = false;
    pthread_mutex_lock(&e->lock);
    have_stale = e->state == SL_DNS_OK && e->addrs.n > 0;
    pthread_mutex_unlock(&e->lock);
    bool first = !e->failing;
    e->failing = true;
    e->next_query = now + retry;
    if (how != FAIL_NXDOMAIN && have_stale && now < e->stale_until) {
        e->stale_is_nodata = how == FAIL_NODATA;
        sl_log(first ? SL_LOG_WARN : SL_LOG_INFO,
               "dns: refreshing %s failed (%s); serving the previous answer", e->name, why);
        return;
    }
    sl_log(first ? SL_LOG_ERR : SL_LOG_INFO, "dns: %s could not be resolved: %s", e->name, why);
    publish(e, how == FAIL_ERROR ? SL_DNS_ERROR : SL_DNS_NOT_FOUND, NULL);
}

static void
lookup_answered(struct sl_dns_name *e, uint8_t type, const struct sl_addrs *addrs, int ttl)
{
    double now = ev_now(res.loop);
    if (sl_dns_cfg.valid_ttl >= 0) {
        ttl = sl_dns_cfg.valid_ttl;
    }
    if (ttl < 0) {
        ttl = 0;
    }
    e->in_flight = false;
    if (e->failing) {
        sl_log(SL_LOG_NOTICE, "dns: %s resolves again", e->name);
        e->failing = false;
    }
    e->last_type = type;
    e->next_query = now + (ttl < MIN_REFRESH_S ? MIN_REFRESH_S : (double)ttl);
    e->stale_until = now + ttl + sl_dns_cfg.stale_ttl;
    publish(e, SL_DNS_OK, addrs);
}

/* ---- SRV targets ---- */

static void srv_target_query(struct srv_target *tg);

/* Adds a target's addresses to its lookup's set with the record's port. As in Kong, the record's
 * weight is the target's, shared by its addresses (a target with three addresses does not get
 * three shares), and each target keeps an equal part of the SL_DNS_MAX_ADDRS slots, so one
 * target with many addresses cannot crowd the others out. */
static void
srv_target_addrs(struct srv_target *tg, const struct sl_addrs *got)
{
    struct srv_lookup *l = tg->l;
    size_t cap = SL_DNS_MAX_ADDRS / (l->ntargets ? l->ntargets : 1);
    size_t keep = got->n < cap ? got->n : (cap ? cap : 1);
    /* 840 = lcm(1..8): the record's weight splits evenly over any number of kept addresses. */
    uint32_t weight = (tg->rec.weight ? tg->rec.weight : 1u) * (840u / (uint32_t)(keep ? keep : 1));
    for (size_t i = 0; i < keep; i++) {
        sl_dns_addrs_add(&l->addrs, &got->addr[i], got->len[i], htons(tg->rec.port), weight);
    }
}

static void
srv_finish(struct srv_lookup *l)
{
    struct sl_dns_name *e = l->e;
    e->srv = NULL;
    if (!res.running || l->cancelled) {
        e->in_flight = false; /* resolver destroyed, or the lookup restarts: nothing to publish */
    } else if (l->addrs.n > 0) {
        lookup_answered(e, SL_DNS_SRV, &l->addrs, l->ttl);
    } else {
        lookup_failed(e, l->saw_error ? FAIL_ERROR : FAIL_NODATA,
                      l->saw_error ? "the name servers failed for its SRV targets"
                                   : "no SRV target has an address");
    }
    free(l);
}

static void
srv_target_done(struct srv_lookup *l)
{
    if (--l->pending == 0) {
        srv_finish(l);
    }
}

static void
on_srv_target(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct srv_target *tg = arg;
    struct srv_lookup *l = tg->l;
    (void)timeouts;
    if (status == ARES_ECANCELLED) {
        l->cancelled = true;
        srv_target_done(l);
        return;
    }
    if (status == ARES_SUCCESS && res.running) {
        struct sl_addrs got;
        int ttl;
        status = sl_dns_answer_addrs(abuf, alen, tg->types[tg->ti] == SL_DNS_AAAA, &got, &ttl);
        if (status == ARES_SUCCESS) {
            srv_target_addrs(tg, &got);
            l->ttl = min_ttl(l->ttl, ttl);
            srv_target_done(l);
            return;
        }
    }
    if (status == ARES_ENODATA && res.running && ++tg->ti < tg->ntypes) {
        srv_target_query(tg); /* the next address type for this target */
        return;
    }
    if (status != ARES_ENODATA && status != ARES_ENOTFOUND) {
        l->saw_error = true;
    }
    srv_target_done(l);
}

static void
srv_target_query(struct srv_target *tg)
{
    ares_search(res.channel, tg->rec.host, ns_c_in, qtype_of(tg->types[tg->ti]), on_srv_target, tg);
}

/* The SRV records of <e>'s answer: targets that are IP literals or hosts-file names give their
 * addresses at once; the others are asked for A/AAAA records (dns_order's order). */
static void
srv_resolve_targets(struct sl_dns_name *e, const struct sl_dns_srv *recs, size_t n, int srv_ttl)
{
    struct srv_lookup *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        lookup_failed(e, FAIL_ERROR, "out of memory");
        return;
    }
    l->e = e;
    l->ttl = srv_ttl;
    l->ntargets = n;
    l->pending = 1; /* held while starting: a query may end inside ares_search */
    e->srv = l;
    for (size_t i = 0; i < n; i++) {
        struct srv_target *tg = &l->t[i];
        tg->l = l;
        tg->rec = recs[i];
        struct sl_addrs fixed;
        if (sl_dns_static(tg->rec.host, &fixed)) {
            srv_target_addrs(tg, &fixed);
            continue;
        }
        for (size_t k = 0; k < e->ntries; k++) {
            if (e->tries[k] != SL_DNS_SRV && tg->ntypes < 2) {
                tg->types[tg->ntypes++] = e->tries[k];
            }
        }
        if (tg->ntypes == 0) {
            tg->types[tg->ntypes++] = SL_DNS_A;
        }
        l->pending++;
        srv_target_query(tg);
    }
    srv_target_done(l);
}

/* ---- the name's own queries ---- */

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct sl_dns_name *e = arg;
    (void)timeouts;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        e->in_flight = false;
        return;
    }
    uint8_t type = e->tries[e->try_index];
    if (status == ARES_SUCCESS && type == SL_DNS_SRV) {
        struct sl_dns_srv recs[SL_DNS_MAX_ADDRS];
        size_t n;
        int ttl;
        status = sl_dns_answer_srv(abuf, alen, recs, SL_DNS_MAX_ADDRS, &n, &ttl);
        if (status == ARES_SUCCESS) {
            srv_resolve_targets(e, recs, n, ttl);
            return;
        }
    } else if (status == ARES_SUCCESS) {
        struct sl_addrs addrs;
        int ttl;
        status = sl_dns_answer_addrs(abuf, alen, type == SL_DNS_AAAA, &addrs, &ttl);
        if (status == ARES_SUCCESS) {
            lookup_answered(e, type, &addrs, ttl);
            return;
        }
    }
    /* NXDOMAIN should hold for every type, yet some servers give it for one type only: like
     * Kong, the next type is still asked. */
    if (status != ARES_ENODATA && status != ARES_ENOTFOUND) {
        sl_log(SL_LOG_INFO, "dns: %s %s query failed: %s", e->name, type_name(type),
               ares_strerror(status));
        if (status == ARES_ETIMEOUT) {
            /* No name server answered: the next type would wait out the same timeouts again
             * (about 6 s each) before the waiting requests get their answer. Errors that come
             * back fast (SERVFAIL and REFUSED, which c-ares 1.18 reports as ECONNREFUSED once
             * every server gave one) still let the next type be asked, as Kong does. */
            lookup_failed(e, FAIL_ERROR, ares_strerror(status));
            return;
        }
    }
    e->try_index++;
    if (e->try_index < e->ntries) {
        query_next_type(e);
        return;
    }
    lookup_failed(e, failure_of(status),
                  status == ARES_ENODATA ? "no record of the types asked" : ares_strerror(status));
}

static void
query_next_type(struct sl_dns_name *e)
{
    ares_search(res.channel, e->name, ns_c_in, qtype_of(e->tries[e->try_index]), on_answer, e);
}

/* Kong's dns_order, reduced to what is asked: LAST first when known, then SRV, A and AAAA in the
 * listed order (CNAME chains come inside those answers). */
static void
start_lookup(struct sl_dns_name *e)
{
    e->ntries = 0;
    for (size_t i = 0; i < sl_dns_cfg.norder; i++) {
        uint8_t t = sl_dns_cfg.order[i] == SL_DNS_LAST ? e->last_type : sl_dns_cfg.order[i];
        if (t != SL_DNS_A && t != SL_DNS_AAAA && t != SL_DNS_SRV) {
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < e->ntries; k++) {
            dup = dup || e->tries[k] == t;
        }
        if (!dup) {
            e->tries[e->ntries++] = t;
        }
    }
    if (e->ntries == 0) {
        e->tries[e->ntries++] = SL_DNS_A; /* dns_order of LAST and CNAME only: Kong asks A */
    }
    e->try_index = 0;
    e->in_flight = true;
    e->lookup_started = ev_now(res.loop);
    query_next_type(e);
}

/* ---- c-ares on libev --------------------------------------------------------------------------
 */

static void
rearm_ares_timer(void)
{
    struct timeval tv, *t = ares_timeout(res.channel, NULL, &tv);
    ev_timer_stop(res.loop, &res.ares_timer);
    if (t != NULL) {
        ev_timer_set(&res.ares_timer, (double)t->tv_sec + t->tv_usec / 1e6, 0.);
        ev_timer_start(res.loop, &res.ares_timer);
    }
}

static void
on_ares_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    ares_process_fd(res.channel, (revents & EV_READ) ? w->fd : ARES_SOCKET_BAD,
                    (revents & EV_WRITE) ? w->fd : ARES_SOCKET_BAD);
    rearm_ares_timer();
}

static void
on_ares_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    ares_process_fd(res.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm_ares_timer();
}

static void
on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    (void)data;
    int slot = -1, free_slot = -1;
    for (int i = 0; i < MAX_SOCKETS; i++) {
        if (res.fds[i] == fd) {
            slot = i;
        } else if (res.fds[i] < 0 && free_slot < 0) {
            free_slot = i;
        }
    }
    if (slot >= 0) {
        ev_io_stop(res.loop, &res.io[slot]);
        res.fds[slot] = -1;
    }
    if (!readable && !writable) {
        return;
    }
    slot = slot >= 0 ? slot : free_slot;
    if (slot < 0) {
        sl_log(SL_LOG_ERR, "dns: more than %d resolver sockets", MAX_SOCKETS);
        return;
    }
    res.fds[slot] = fd;
    ev_io_init(&res.io[slot], on_ares_io, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
    ev_io_start(res.loop, &res.io[slot]);
}

/* One idle entry's turn (no lookup in flight); true when it started one.
 * - Refreshes are on demand, as Kong's: a due name is asked again only if a request used it since
 *   its last lookup began (that request got the stale answer meanwhile).
 * - An answer past TTL + dns_stale_ttl fails once refreshes have been failing; unused, it is
 *   forgotten (PENDING) once due, so the next request waits for a fresh answer, as with Kong's
 *   cache. A due, unused failure is forgotten the same way (Kong's negative cache expiring).
 *   "Once due" keeps a TTL-0 answer (next query 1 s on) from being forgotten while in use. */
static bool
tick_entry(struct sl_dns_name *e, double now)
{
    bool due = now >= e->next_query;
    if (e->state == SL_DNS_OK && now >= e->stale_until && e->failing) {
        /* checked first: a refresh starting now must not stretch the answer past its end */
        sl_log(SL_LOG_ERR, "dns: the answer for %s expired (dns_stale_ttl)", e->name);
        publish(e, e->stale_is_nodata ? SL_DNS_NOT_FOUND : SL_DNS_ERROR, NULL);
    }
    if (due && atomic_exchange_explicit(&e->used, false, memory_order_relaxed)) {
        start_lookup(e);
        return true;
    }
    if (due && ((e->state == SL_DNS_OK && now >= e->stale_until) || e->state == SL_DNS_NOT_FOUND ||
                e->state == SL_DNS_ERROR)) {
        publish(e, SL_DNS_PENDING, NULL);
    }
    return false;
}

/* Frees the entries no snapshot references and no lookup is using. Control thread. */
static void
sweep(void)
{
    for (size_t b = 0; b < TABLE_SIZE; b++) {
        struct sl_dns_name **link = &table[b];
        while (*link != NULL) {
            struct sl_dns_name *e = *link;
            if (atomic_load_explicit(&e->refs, memory_order_acquire) == 0 && !e->in_flight) {
                *link = e->next;
                entry_free(e);
            } else {
                link = &e->next;
            }
        }
    }
}

/* ---- name servers changed by a reload ------------------------------------------------------- */

/* The name servers a reload asked for, and those the channel has. */
static struct {
    bool pending;
    char wanted[sizeof(sl_dns_cfg.servers)];
    char applied[sizeof(sl_dns_cfg.servers)]; /* empty: those of /etc/resolv.conf */
} servers_change;

/* The servers of /etc/resolv.conf (dns_resolver unset), read through a throwaway channel. */
static int
set_servers_from_resolv_conf(void)
{
    ares_channel tmp;
    struct ares_options none = {0};
    struct ares_addr_port_node *list = NULL;
    int rc = ares_init_options(&tmp, &none, 0);
    if (rc != ARES_SUCCESS) {
        return rc;
    }
    rc = ares_get_servers_ports(tmp, &list);
    if (rc == ARES_SUCCESS) {
        rc = ares_set_servers_ports(res.channel, list);
    }
    ares_free_data(list);
    ares_destroy(tmp);
    return rc;
}

static int
set_servers(void)
{
    return servers_change.wanted[0] != '\0'
               ? ares_set_servers_ports_csv(res.channel, servers_change.wanted)
               : set_servers_from_resolv_conf();
}

/* c-ares 1.18 refuses to change a channel's servers while a query is in flight (ARES_ENOTIMP).
 * Waiting for a moment with none could wait forever under steady traffic, and the queries in
 * flight may be stuck on the very servers the reload replaces, so they are cancelled and asked
 * again of the new servers. A restarted lookup keeps its start time: a name's first answer is
 * still bounded by FIRST_ANSWER_MAX_S from its first query. */
static int
cancel_and_set_servers(void)
{
    for (size_t b = 0; b < TABLE_SIZE; b++) {
        for (struct sl_dns_name *e = table[b]; e != NULL; e = e->next) {
            e->restart = e->in_flight;
        }
    }
    ares_cancel(res.channel); /* every callback runs now, with ARES_ECANCELLED */
    int rc = set_servers();
    for (size_t b = 0; b < TABLE_SIZE; b++) {
        for (struct sl_dns_name *e = table[b]; e != NULL; e = e->next) {
            if (e->restart && !e->in_flight &&
                atomic_load_explicit(&e->refs, memory_order_acquire) > 0) {
                double started = e->lookup_started;
                start_lookup(e);
                e->lookup_started = started;
            }
            e->restart = false;
        }
    }
    rearm_ares_timer();
    return rc;
}

static void
apply_servers(void)
{
    if (!servers_change.pending || !res.running) {
        return;
    }
    int rc = set_servers();
    if (rc == ARES_ENOTIMP) {
        rc = cancel_and_set_servers();
    }
    if (rc == ARES_ENOTIMP) {
        return; /* a query started inside a cancelled one's callback: the next tick tries again */
    }
    servers_change.pending = false;
    if (rc != ARES_SUCCESS) {
        /* the channel keeps its servers; a later reload asking for these tries again */
        sl_log(SL_LOG_ERR, "dns: could not change the name servers: %s", ares_strerror(rc));
        return;
    }
    memcpy(servers_change.applied, servers_change.wanted, sizeof(servers_change.applied));
    sl_log(SL_LOG_NOTICE, "dns: name servers changed to %s",
           servers_change.wanted[0] != '\0' ? servers_change.wanted : "those of /etc/resolv.conf");
}

void
sl_dns_servers_changed(void)
{
    snprintf(servers_change.wanted, sizeof(servers_change.wanted), "%s", sl_dns_cfg.servers);
    servers_change.pending = strcmp(servers_change.wanted, servers_change.applied) != 0;
    apply_servers();
}

/* Frees what nothing references, starts due refreshes, ends stale answers past dns_stale_ttl. */
static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    double now = ev_now(loop);
    bool started = false;
    apply_servers(); /* before this tick's queries start */
    sweep();
    for (size_t b = 0; b < TABLE_SIZE; b++) {
        for (struct sl_dns_name *e = table[b]; e != NULL; e = e->next) {
            if (e->in_flight && e->state == SL_DNS_PENDING &&
                now - e->lookup_started >= FIRST_ANSWER_MAX_S) {
                sl_log(SL_LOG_ERR, "dns: no answer for %s after %.0f s; failing its requests",
                       e->name, FIRST_ANSWER_MAX_S);
                e->failing = true;
                publish(e, SL_DNS_ERROR, NULL);
            }
            if (!e->in_flight) {
                started |= tick_entry(e, now);
            }
        }
    }
    if (started) {
        rearm_ares_timer();
    }
}

int
sl_dns_start(struct ev_loop *loop, void (*settled)(void), char *err, size_t errlen)
{
    int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        return -1;
    }
    struct ares_options opts = {
        .timeout = QUERY_TIMEOUT_MS,
        .tries = QUERY_TRIES,
        .sock_state_cb = on_sock_state,
    };
    rc = ares_init_options(&res.channel, &opts,
                           ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
    if (rc == ARES_SUCCESS && sl_dns_cfg.servers[0] != '\0') {
        rc = ares_set_servers_ports_csv(res.channel, sl_dns_cfg.servers);
    }
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        return -1;
    }
    snprintf(servers_change.applied, sizeof(servers_change.applied), "%s", sl_dns_cfg.servers);
    servers_change.pending = false;
    for (int i = 0; i < MAX_SOCKETS; i++) {
        res.fds[i] = -1;
    }
    res.loop = loop;
    res.settled = settled;
    res.running = true;
    ev_init(&res.ares_timer, on_ares_timeout);
    ev_timer_init(&res.tick, on_tick, TICK_S, TICK_S);
    ev_timer_start(loop, &res.tick);
    for (size_t b = 0; b < TABLE_SIZE; b++) {
        for (struct sl_dns_name *e = table[b]; e != NULL; e = e->next) {
            if (!e->in_flight) {
                start_lookup(e);
            }
        }
    }
    rearm_ares_timer();
    return 0;
}

void
sl_dns_stop(void)
{
    if (res.running) {
        res.running = false;
        ev_timer_stop(res.loop, &res.tick);
        ev_timer_stop(res.loop, &res.ares_timer);
        ares_destroy(res.channel); /* callbacks run with ARES_EDESTRUCTION; sockets close */
        for (int i = 0; i < MAX_SOCKETS; i++) {
            if (res.fds[i] >= 0) {
                ev_io_stop(res.loop, &res.io[i]);
                res.fds[i] = -1;
            }
        }
        ares_library_cleanup();
    }
    sweep(); /* ares_destroy ended every lookup: only referenced entries stay */
}
