/* SPDX-License-Identifier: Apache-2.0 */
/* A worker's TLS sessions towards upstreams (nginx's proxy_ssl_session_reuse, on by default): the
 * last session each upstream granted, keyed by its address and the connection's pool key (TLS
 * settings digest and SNI name), is offered by the next new connection to it, which then skips the
 * certificate exchange. nginx keeps one per peer too. Bounded: at most SL_TLS_SESSIONS_MAX entries
 * per worker, the oldest replaced first, since a pool key may carry a client's Host
 * (preserve_host). Worker thread only. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "proxy/internal.h"

/* "<pool key>@<address>:<port>" into <out>; false when it does not fit. */
static bool
session_key(const char *pool_key, const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "";
    unsigned port;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        port = ntohs(in->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
    }
    int n = snprintf(out, cap, "%s@%s:%u", pool_key, ip, port);
    return n > 0 && (size_t)n < cap;
}

static unsigned
key_bucket(const char *key)
{
    return sl_fnv1a_str(SL_FNV1A_INIT, key) % SL_TLS_SESSION_BUCKETS;
}

static struct sl_tls_session_entry **
find_slot(struct sl_tls_sessions *c, const char *key)
{
    struct sl_tls_session_entry **pp = &c->buckets[key_bucket(key)];
    while (*pp != NULL && strcmp((*pp)->key, key) != 0) {
        pp = &(*pp)->next;
    }
    return pp;
}

static void
entry_free(struct sl_tls_session_entry *e)
{
    SSL_SESSION_free(e->sess);
    free(e->key);
    free(e);
}

/* Unlinks <e> from the age list (it stays in its bucket). */
static void
age_unlink(struct sl_tls_sessions *c, struct sl_tls_session_entry *e)
{
    *(e->newer != NULL ? &e->newer->older : &c->newest) = e->older;
    *(e->older != NULL ? &e->older->newer : &c->oldest) = e->newer;
    e->newer = e->older = NULL;
}

SSL_SESSION *
sl_tls_sessions_get(struct sl_worker *w, const char *pool_key, const struct sockaddr *addr)
{
    char key[SL_TLS_SESSION_KEY_MAX];
    if (!session_key(pool_key, addr, key, sizeof(key))) {
        return NULL;
    }
    struct sl_tls_session_entry *e = *find_slot(&w->tls_sessions, key);
    return e != NULL ? e->sess : NULL;
}

void
sl_tls_sessions_put(struct sl_worker *w, const char *pool_key, const struct sockaddr *addr,
                    SSL_SESSION *sess)
{
    struct sl_tls_sessions *c = &w->tls_sessions;
    char key[SL_TLS_SESSION_KEY_MAX];
    if (!session_key(pool_key, addr, key, sizeof(key))) {
        SSL_SESSION_free(sess);
        return;
    }
    struct sl_tls_session_entry **slot = find_slot(c, key);
    struct sl_tls_session_entry *e = *slot;
    if (e != NULL) { /* the newer session replaces the older one */
        SSL_SESSION_free(e->sess);
        e->sess = sess;
        age_unlink(c, e);
    } else {
        if (c->n >= SL_TLS_SESSIONS_MAX) {
            struct sl_tls_session_entry *old = c->oldest;
            age_unlink(c, old);
            struct sl_tls_session_entry **pp = find_slot(c, old->key);
            *pp = old->next;
            entry_free(old);
            c->n--;
            slot = find_slot(c, key); /* the bucket may have changed under it */
        }
        e = calloc(1, sizeof(*e));
        if (e == NULL || (e->key = strdup(key)) == NULL) {
            free(e);
            SSL_SESSION_free(sess); /* no resumption for it: a full handshake next time */
            return;
        }
        e->sess = sess;
        e->next = *slot;
        *slot = e;
        c->n++;
    }
    e->older = c->newest;
    *(c->newest != NULL ? &c->newest->newer : &c->oldest) = e;
    c->newest = e;
}

void
sl_tls_sessions_free(struct sl_worker *w)
{
    struct sl_tls_sessions *c = &w->tls_sessions;
    while (c->oldest != NULL) {
        struct sl_tls_session_entry *e = c->oldest;
        age_unlink(c, e);
        entry_free(e);
    }
    memset(c, 0, sizeof(*c));
}
