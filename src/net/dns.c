/* SPDX-License-Identifier: Apache-2.0 */
/* The resolver of dns.h: a hosts-file table read once, and a table of entries, one per name the
 * configuration references, each resolved and refreshed by c-ares on the control loop. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "net/dns.h"
#include "sluice/arena.h"
#include "sluice/log.h"

/* c-ares' own bounds per query: 2 s per try, 2 tries, so a dead resolver fails a lookup within
 * about 6 s (the second try waits twice as long) and requests waiting for it get their 503. */
#define QUERY_TIMEOUT_MS 2000
#define QUERY_TRIES 2
/* Refreshes and stale deadlines are checked this often; TTLs are whole seconds. */
#define TICK_S 0.25
/* A TTL of 0 would mean a query per request in Kong; here it means one refresh a second. */
#define MIN_REFRESH_S 1.0
#define TABLE_SIZE 1024 /* buckets; chains grow past it */
#define MAX_SOCKETS 16  /* c-ares uses one UDP (and maybe one TCP) socket per server */

struct sl_dns_name {
    atomic_uint refs; /* references from snapshots; freed by the sweep at 0 */
    pthread_mutex_t lock;
    /* under lock: what workers read */
    enum sl_dns_state state;
    struct sl_addrs addrs; /* port 0 */
    /* control thread only */
    struct sl_dns_name *next; /* bucket chain */
    char *name;
    double stale_until; /* an answer is served until then while refreshes fail */
    double next_query;  /* when to ask again (0: as soon as the resolver runs) */
    bool in_flight;
    uint8_t last_type;               /* the type that answered last (dns_order LAST), 0: none yet */
    uint8_t tries[SL_DNS_MAX_ORDER]; /* the types of the lookup in progress, in order */
    size_t ntries, try_index;
    bool saw_error; /* a type of the lookup in progress failed with a server error */
    bool failing;   /* the last lookup failed: repeated failures are logged at info only */
};

struct hosts_entry {
    const char *name;
    struct sl_addrs v4, v6;
};

static struct sl_dns_settings settings = {
    .hostsfile = "/etc/hosts",
    .order = {SL_DNS_LAST, SL_DNS_SRV, SL_DNS_A, SL_DNS_CNAME},
    .norder = 4,
    .valid_ttl = -1,
    .stale_ttl = 3600,
    .not_found_ttl = 30,
    .error_ttl = 1,
};

static struct sl_dns_name *table[TABLE_SIZE];
static size_t nentries;

static struct {
    bool loaded;
    struct sl_arena *arena;
    struct sl_strmap index; /* name → entries[] */
    struct hosts_entry *entries;
    size_t n;
} hosts;

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

/* ---- settings ---------------------------------------------------------------------------------
 */

/* The next item of a list separated by commas and/or blanks (Kong's list values): its start and
 * *len, advancing *p past it; NULL at the end. */
static const char *
next_item(const char **p, size_t *len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == ',') {
        s++;
    }
    const char *start = s;
    while (*s && *s != ',' && *s != ' ' && *s != '\t') {
        s++;
    }
    *p = s;
    *len = (size_t)(s - start);
    return *len > 0 ? start : NULL;
}

static bool
token_is(const char *p, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

int
sl_dns_parse_order(const char *v, uint8_t *out, size_t *n, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        uint8_t type;
    } names[] = {{"LAST", SL_DNS_LAST},
                 {"SRV", SL_DNS_SRV},
                 {"A", SL_DNS_A},
                 {"AAAA", SL_DNS_AAAA},
                 {"CNAME", SL_DNS_CNAME}};
    *n = 0;
    const char *p = v, *start;
    size_t len;
    while ((start = next_item(&p, &len)) != NULL) {
        uint8_t type = 0;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (token_is(start, len, names[i].name)) {
                type = names[i].type;
            }
        }
        if (type == 0) {
            snprintf(err, errlen, "invalid dns record type: %.*s (LAST, SRV, A, AAAA or CNAME)",
                     (int)len, start);
            return -1;
        }
        for (size_t i = 0; i < *n; i++) {
            if (out[i] == type) {
                type = 0; /* listed twice: the first place counts */
            }
        }
        if (type != 0) {
            out[(*n)++] = type; /* five distinct types fit in SL_DNS_MAX_ORDER */
        }
    }
    if (*n == 0) {
        snprintf(err, errlen, "must list at least one record type (LAST, SRV, A, AAAA, CNAME)");
        return -1;
    }
    return 0;
}

/* One dns_resolver entry: "ip", "ip:port", "[ip6]" or "[ip6]:port" (a bare IPv6 address too).
 * Appends c-ares' form to <csv>. */
static int
parse_server(const char *p, size_t len, char *csv, size_t cap, char *err, size_t errlen)
{
    char host[64], buf[80];
    const char *port = NULL;
    size_t hl = len;
    bool v6 = false;
    if (len >= sizeof(buf)) {
        snprintf(err, errlen, "invalid name server: %.*s", (int)len, p);
        return -1;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            snprintf(err, errlen, "invalid name server: %s", buf);
            return -1;
        }
        hl = (size_t)(close - buf - 1);
        memcpy(host, buf + 1, hl);
        port = close[1] == ':' ? close + 2 : NULL;
        v6 = true;
    } else {
        char *colon = strchr(buf, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            v6 = true; /* a bare IPv6 address */
        } else if (colon != NULL) {
            hl = (size_t)(colon - buf);
            port = colon + 1;
        }
        if (hl >= sizeof(host)) {
            snprintf(err, errlen, "invalid name server: %s", buf);
            return -1;
        }
        memcpy(host, buf, hl);
    }
    host[hl] = '\0';
    unsigned char tmp[sizeof(struct in6_addr)];
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, tmp) != 1) {
        snprintf(err, errlen, "invalid name server: %s (an IP address, optionally with a port)",
                 buf);
        return -1;
    }
    long portn = 53;
    if (port != NULL) {
        char *end;
        errno = 0;
        portn = strtol(port, &end, 10);
        if (*port == '\0' || *end != '\0' || errno != 0 || portn < 1 || portn > 65535) {
            snprintf(err, errlen, "invalid name server: %s (port between 1 and 65535)", buf);
            return -1;
        }
    }
    size_t used = strlen(csv);
    int w = snprintf(csv + used, cap - used, v6 ? "%s[%s]:%ld" : "%s%s:%ld", used ? "," : "", host,
                     portn);
    if (w < 0 || (size_t)w >= cap - used) {
        snprintf(err, errlen, "too many name servers");
        return -1;
    }
    return 0;
}

int
sl_dns_parse_resolver(const char *v, char *csv, size_t cap, char *err, size_t errlen)
{
    csv[0] = '\0';
    const char *p = v, *start;
    size_t len;
    while ((start = next_item(&p, &len)) != NULL) {
        if (parse_server(start, len, csv, cap, err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}

void
sl_dns_configure(const struct sl_dns_settings *st)
{
    settings = *st;
}

static bool
order_has(uint8_t type)
{
    for (size_t i = 0; i < settings.norder; i++) {
        if (settings.order[i] == type) {
            return true;
        }
    }
    return false;
}

/* ---- hosts file -------------------------------------------------------------------------------
 */

static void
addrs_add(struct sl_addrs *a, const void *sa, socklen_t len)
{
    if (a->n < SL_DNS_MAX_ADDRS) {
        memset(&a->addr[a->n], 0, sizeof(a->addr[a->n]));
        memcpy(&a->addr[a->n], sa, len);
        a->len[a->n++] = len;
    }
}

static void
addrs_add_v4(struct sl_addrs *a, const struct in_addr *ip)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = *ip};
    addrs_add(a, &sin, sizeof(sin));
}

static void
addrs_add_v6(struct sl_addrs *a, const struct in6_addr *ip)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = *ip};
    addrs_add(a, &sin6, sizeof(sin6));
}

/* Reads the hosts file once ("address name [aliases...]", '#' comments); names are matched
 * case-insensitively, as DNS does, so they are kept lower-cased. A missing file means no entries.
 */
static void
hosts_load(void)
{
    hosts.loaded = true;
    FILE *f = fopen(settings.hostsfile, "re");
    if (f == NULL) {
        if (errno != ENOENT) {
            sl_log(SL_LOG_WARN, "dns: cannot read hosts file %s: %s", settings.hostsfile,
                   strerror(errno));
        }
        return;
    }
    size_t cap = 0, nlines = 0;
    char line[4096];
    while (fgets(line, sizeof(line), f) != NULL) {
        nlines++;
    }
    cap = nlines * 4 + 1; /* an address line names a few hosts at most, usually */
    hosts.arena = sl_arena_create(16384);
    if (hosts.arena == NULL || !sl_strmap_init(&hosts.index, cap, hosts.arena) ||
        (hosts.entries = sl_arena_calloc(hosts.arena, cap, sizeof(*hosts.entries))) == NULL) {
        fclose(f);
        return;
    }
    rewind(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *save = NULL;
        char *ip = strtok_r(line, " \t\r\n", &save);
        struct in_addr v4;
        struct in6_addr v6;
        bool is4 = ip != NULL && inet_pton(AF_INET, ip, &v4) == 1;
        bool is6 = ip != NULL && !is4 && inet_pton(AF_INET6, ip, &v6) == 1;
        if (!is4 && !is6) {
            continue;
        }
        for (char *name = strtok_r(NULL, " \t\r\n", &save); name != NULL;
             name = strtok_r(NULL, " \t\r\n", &save)) {
            for (char *c = name; *c; c++) {
                *c = (char)tolower((unsigned char)*c);
            }
            size_t i;
            if (!sl_strmap_get(&hosts.index, name, &i)) {
                if (hosts.n == cap) {
                    break;
                }
                char *copy = sl_arena_strndup(hosts.arena, name, strlen(name));
                if (copy == NULL) {
                    break;
                }
                i = hosts.n++;
                hosts.entries[i].name = copy;
                sl_strmap_put(&hosts.index, copy, i);
            }
            if (is4) {
                addrs_add_v4(&hosts.entries[i].v4, &v4);
            } else {
                addrs_add_v6(&hosts.entries[i].v6, &v6);
            }
        }
    }
    fclose(f);
}

bool
sl_dns_static(const char *name, struct sl_addrs *out)
{
    out->n = 0;
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, name, &v4) == 1) {
        addrs_add_v4(out, &v4);
        return true;
    }
    if (inet_pton(AF_INET6, name, &v6) == 1) {
        addrs_add_v6(out, &v6);
        return true;
    }
    if (!hosts.loaded) {
        hosts_load();
    }
    char lower[256];
    size_t len = strlen(name), i;
    if (hosts.n == 0 || len >= sizeof(lower)) {
        return false;
    }
    for (size_t k = 0; k <= len; k++) {
        lower[k] = (char)tolower((unsigned char)name[k]);
    }
    if (!sl_strmap_get(&hosts.index, lower, &i)) {
        return false;
    }
    /* Kong asks the hosts file per record type, in dns_order: IPv6 entries only count when AAAA
     * is listed, and come first when AAAA is listed before A. */
    const struct hosts_entry *h = &hosts.entries[i];
    bool want6 = order_has(SL_DNS_AAAA);
    bool six_first = false;
    for (size_t k = 0; k < settings.norder; k++) {
        if (settings.order[k] == SL_DNS_A || settings.order[k] == SL_DNS_AAAA) {
            six_first = settings.order[k] == SL_DNS_AAAA;
            break;
        }
    }
    const struct sl_addrs *first = six_first ? &h->v6 : &h->v4;
    const struct sl_addrs *second = six_first ? &h->v4 : &h->v6;
    if (first->n > 0 && (want6 || !six_first)) {
        *out = *first;
    } else if (second->n > 0 && (want6 || six_first)) {
        *out = *second;
    }
    return out->n > 0;
}

/* ---- entries ----------------------------------------------------------------------------------
 */

static size_t
bucket_of(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h ^ (uint32_t)tolower(*p)) * 16777619u;
    }
    return h % TABLE_SIZE;
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
    nentries++;
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
    pthread_mutex_lock(&e->lock);
    enum sl_dns_state st = e->state;
    *out = e->addrs;
    pthread_mutex_unlock(&e->lock);
    if (st != SL_DNS_OK) {
        out->n = 0;
    }
    for (size_t i = 0; i < out->n; i++) {
        out->addr[i].sin6_port = port_be; /* sin_port sits at the same offset */
    }
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

static void query_next_type(struct sl_dns_name *e);

/* The lookup of <e> ended without an answer: <not_found> (NXDOMAIN or no record of any type
 * asked) or a server error (timeout, SERVFAIL, refused ...). */
static void
lookup_failed(struct sl_dns_name *e, bool not_found, const char *why)
{
    double now = ev_now(res.loop);
    e->in_flight = false;
    bool have_stale = false;
    pthread_mutex_lock(&e->lock);
    have_stale = e->state == SL_DNS_OK && e->addrs.n > 0;
    pthread_mutex_unlock(&e->lock);
    bool first = !e->failing;
    e->failing = true;
    if (!not_found && have_stale && now < e->stale_until) {
        /* Kong's dns_stale_ttl: the expired answer is served while refreshes fail. */
        sl_log(first ? SL_LOG_WARN : SL_LOG_INFO,
               "dns: refreshing %s failed (%s); serving the previous answer", e->name, why);
        e->next_query = now + settings.error_ttl;
        return;
    }
    sl_log(first ? SL_LOG_ERR : SL_LOG_INFO, "dns: %s could not be resolved: %s", e->name, why);
    e->next_query = now + (not_found ? settings.not_found_ttl : settings.error_ttl);
    publish(e, not_found ? SL_DNS_NOT_FOUND : SL_DNS_ERROR, NULL);
}

static void
lookup_answered(struct sl_dns_name *e, uint8_t type, const struct sl_addrs *addrs, int ttl)
{
    double now = ev_now(res.loop);
    if (settings.valid_ttl >= 0) {
        ttl = settings.valid_ttl;
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
    e->stale_until = now + ttl + settings.stale_ttl;
    publish(e, SL_DNS_OK, addrs);
}

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
    if (status == ARES_SUCCESS) {
        struct sl_addrs addrs = {0};
        int ttl = -1, n = SL_DNS_MAX_ADDRS;
        if (type == SL_DNS_A) {
            struct ares_addrttl rr[SL_DNS_MAX_ADDRS];
            status = ares_parse_a_reply(abuf, alen, NULL, rr, &n);
            for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
                addrs_add_v4(&addrs, &rr[i].ipaddr);
                ttl = ttl < 0 || rr[i].ttl < ttl ? rr[i].ttl : ttl;
            }
        } else {
            struct ares_addr6ttl rr[SL_DNS_MAX_ADDRS];
            status = ares_parse_aaaa_reply(abuf, alen, NULL, rr, &n);
            for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
                struct in6_addr ip;
                memcpy(&ip, &rr[i].ip6addr, sizeof(ip));
                addrs_add_v6(&addrs, &ip);
                ttl = ttl < 0 || rr[i].ttl < ttl ? rr[i].ttl : ttl;
            }
        }
        if (status == ARES_SUCCESS && addrs.n > 0) {
            lookup_answered(e, type, &addrs, ttl);
            return;
        }
        if (status == ARES_SUCCESS) {
            status = ARES_ENODATA;
        }
    }
    if (status == ARES_ENOTFOUND) {
        /* NXDOMAIN: the name does not exist, whatever the type. */
        lookup_failed(e, true, ares_strerror(status));
        return;
    }
    if (status != ARES_ENODATA) {
        e->saw_error = true;
        sl_log(SL_LOG_INFO, "dns: %s %s query failed: %s", e->name, type == SL_DNS_A ? "A" : "AAAA",
               ares_strerror(status));
    }
    e->try_index++;
    if (e->try_index < e->ntries) {
        query_next_type(e);
        return;
    }
    lookup_failed(e, !e->saw_error,
                  e->saw_error ? "the name servers failed" : "no A or AAAA record");
}

static void
query_next_type(struct sl_dns_name *e)
{
    int qtype = e->tries[e->try_index] == SL_DNS_A ? ns_t_a : ns_t_aaaa;
    ares_search(res.channel, e->name, ns_c_in, qtype, on_answer, e);
}

/* Kong's dns_order, reduced to what is asked: LAST first when known, then A and AAAA in the
 * listed order. CNAME chains come inside the A/AAAA answers; SRV is not queried yet. */
static void
start_lookup(struct sl_dns_name *e)
{
    e->ntries = 0;
    for (size_t i = 0; i < settings.norder; i++) {
        uint8_t t = settings.order[i] == SL_DNS_LAST ? e->last_type : settings.order[i];
        if (t != SL_DNS_A && t != SL_DNS_AAAA) {
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
        e->tries[e->ntries++] = SL_DNS_A; /* dns_order without A or AAAA: Kong would ask A */
    }
    e->try_index = 0;
    e->saw_error = false;
    e->in_flight = true;
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

/* Starts due refreshes, ends stale answers past dns_stale_ttl, frees what nothing references. */
static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    double now = ev_now(loop);
    bool started = false;
    for (size_t b = 0; b < TABLE_SIZE; b++) {
        struct sl_dns_name **link = &table[b];
        while (*link != NULL) {
            struct sl_dns_name *e = *link;
            if (atomic_load_explicit(&e->refs, memory_order_acquire) == 0 && !e->in_flight) {
                *link = e->next;
                nentries--;
                entry_free(e);
                continue;
            }
            if (!e->in_flight && e->state == SL_DNS_OK && now >= e->stale_until) {
                sl_log(SL_LOG_ERR, "dns: the answer for %s expired (dns_stale_ttl)", e->name);
                publish(e, SL_DNS_ERROR, NULL);
            }
            if (!e->in_flight && now >= e->next_query) {
                start_lookup(e);
                started = true;
            }
            link = &e->next;
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
    if (rc == ARES_SUCCESS && settings.servers[0] != '\0') {
        rc = ares_set_servers_ports_csv(res.channel, settings.servers);
    }
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        return -1;
    }
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
    for (size_t b = 0; b < TABLE_SIZE; b++) {
        struct sl_dns_name **link = &table[b];
        while (*link != NULL) {
            struct sl_dns_name *e = *link;
            if (atomic_load_explicit(&e->refs, memory_order_acquire) == 0) {
                *link = e->next;
                nentries--;
                entry_free(e);
            } else {
                link = &e->next;
            }
        }
    }
}
