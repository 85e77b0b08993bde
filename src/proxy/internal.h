/* SPDX-License-Identifier: Apache-2.0 */
/* Types shared by the files of the proxy engine (not for other areas). One worker thread owns its
 * loop, its sessions and its upstream pool: nothing here is touched by another thread, except the
 * worker's async watcher used to wake it. */
#ifndef SL_PROXY_INTERNAL_H
#define SL_PROXY_INTERNAL_H

#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/snapshot.h"
#include "core/buf.h"
#include "core/lazy_timer.h"
#include "http/h1.h"
#include "net/tls.h"
#include "proxy/proxy.h"
#include "router/router.h"
#include "sluice/arena.h"

/* Each direction buffers at most this much before it stops reading its source (backpressure). */
#define SL_PROXY_HIGH_WATER (64 * 1024)
/* Bytes of a request kept for a transparent replay on a new upstream connection. */
#define SL_PROXY_REPLAY_MAX (64 * 1024)
/* What a Host line can grow by when it names another port (":65535"): the replay limit allows it,
 * so a request kept for replay stays replayable after its Host is rewritten. */
#define SL_HOST_PORT_SLACK 6
/* Header lines an upstream response may have. Not lua_max_req_headers: nginx (and so Kong) puts no
 * count on a response head, only a size (proxy_buffer_size, 4k by default; here max_header_bytes
 * and large_client_header_buffers bound it), and many Set-Cookie lines are ordinary. */
#define SL_PROXY_RESPONSE_HEADERS_MAX 1000
#define SL_POOL_BUCKETS 64
/* Idle connections to one address beyond upstream_keepalive_pool_size are closed, least recently
 * used first, once they have been idle this long (HAProxy's pool-purge-delay, shorter), not the
 * moment the pool is full: a burst of concurrency above the pool size then serves the next burst
 * instead of being closed and opened again, which costs a handshake and a TIME_WAIT each time. */
#define SL_POOL_TRIM_DELAY_MS 1000
/* A connection whose last response announced a body that must not follow (a HEAD or 304 response
 * with a Content-Length or chunked) rests this long before it is reused: a faulty upstream that
 * sends the body anyway (typically at once: a HEAD handled as a GET) is caught while it rests (any
 * byte closes an idle connection), instead of its bytes becoming the next request's response.
 * Kong, nginx, HAProxy and Envoy reuse such a connection at once; never reusing it (what Sluice did
 * before) costs a connect and a TIME_WAIT per HEAD request, and past ~470 HEAD/s to one address
 * runs out of ephemeral ports (28k ports, 60 s of TIME_WAIT each). Not longer, because every
 * resting connection is one more the upstream holds open (a prefork server gives each a process):
 * at most upstream_keepalive_pool_size rest per address and worker. When one more would rest, the
 * one that has rested longest is handed on early (after a recv(MSG_PEEK) check), so under load
 * the rest shortens to pool_size / rate (10 ms at 50,000 HEAD/s and 512) instead of connections
 * being closed and opened again. */
#define SL_POOL_REST_MS 250
/* A response read ahead of a slow client (route.response_buffering) takes at most this much disk
 * beyond its high-water mark in memory; then the upstream is read at the client's pace (nginx's
 * proxy_max_temp_file_size, 1024m by default). */
#define SL_RESP_SPOOL_MAX ((uint64_t)1 << 30)
/* Lingering close (nginx lingering_time / lingering_timeout): after a response that ends the
 * connection while the client may still be sending (an early 413, an error before the body was
 * read), the client's bytes are read and dropped for at most this long in all, and at most the
 * idle time between two reads, before the connection closes. */
#define SL_LINGER_TIME_MS 30000
#define SL_LINGER_TIMEOUT_MS 5000
/* Client buffers and request arenas kept by a worker between requests, so that a keep-alive
 * connection needs no malloc/free per request and an idle one holds none (nginx frees an idle
 * connection's buffers too): at most this many of each, buffers of at most this size. */
#define SL_SPARES 64
#define SL_SPARE_BUF_MAX_CAP (16 * 1024)
#define SL_REQUEST_ARENA_BLOCK 8192

struct sl_worker;
struct sl_session;

/* One upstream TCP connection: in a session's hands, or idle in the worker's pool. */
struct sl_upconn {
    struct sl_worker *worker;
    int fd;
    ev_io rio, wio;
    struct sl_lazy_timer timer; /* connect / write / read idle, or pool idle */
    struct sl_buf in;           /* response bytes not yet processed */
    struct sl_buf out;          /* request bytes; [out.off, sent) written, [sent, len) pending */
    size_t sent;                /* absolute index into out.data of the next byte to write */
    bool replayable;            /* out still holds the whole request so far (from index 0) */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    /* TLS (https services): tls.ssl NULL on a plain connection. <pool_key> (owned; NULL when
     * plain) is the service's TLS settings digest and the SNI name: a pooled connection serves
     * only requests that would have made the same handshake. */
    struct sl_tls_conn tls;
    struct sl_tls_session_sink sessions; /* the sessions it is granted go to the worker's cache */
    char *pool_key;
    bool tcp_connected;    /* the TCP connect completed (then, with TLS, the handshake runs) */
    bool connected;        /* ready for request bytes: connected, and the handshake done */
    uint8_t hs_want;       /* before <connected>: EV_READ/EV_WRITE the handshake waits for; 0: the
                              connect (writability) */
    bool read_wants_write; /* TLS: the last read waits for writability (a record to flush) */
    bool write_wants_read; /* TLS: the last write waits for readability */
    bool eof;              /* the upstream closed its side (or failed: see reset) */
    bool reset;            /* ... with an error (a reset), not a clean close */
    bool write_failed;     /* it answered, then stopped taking the request body */
    bool reused;           /* taken from the pool */
    bool wrote;            /* a byte of the current request reached the socket */
    uint8_t wait;          /* what its timer bounds in a session's hands (session.h) */
    unsigned requests;     /* requests carried so far */
    struct sl_session *owner;  /* NULL while idle in the pool */
    struct sl_pool_addr *home; /* its address's pool, from its first release to its close */
    bool idle;                 /* in home's idle list, or ... */
    bool resting;              /* ... in home's resting list (SL_POOL_REST_MS), where ... */
    struct sl_upconn *newer;   /* ... the connection released after this one */
    struct sl_upconn *older;   /* ... and the one released before */
    ev_tstamp idle_since;      /* when it went idle, or began resting (loop time) */
};

/* The idle connections to one address, most recently released first: a request takes the newest
 * (warm, and it lets the oldest age out when fewer are needed); trimming closes the oldest. Exists
 * while a connection calls it home, idle or in use, so that taking the last idle connection and
 * releasing it again (every request, at low concurrency) allocates nothing. */
struct sl_pool_addr {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *key; /* owned: the connections' pool_key (TLS), or NULL (plain) */
    struct sl_upconn *newest, *oldest;
    size_t idle;
    /* Connections resting before reuse (SL_POOL_REST_MS), in the order they began, so in the
     * order they are due: `rest` fires for the oldest, and they join the idle list. */
    struct sl_upconn *rest_newest, *rest_oldest;
    size_t resting;
    ev_timer rest;
    struct sl_worker *worker;
    size_t conns;              /* connections whose home this is */
    struct sl_pool_addr *next; /* in its hash bucket */
};

/* A worker's TLS sessions towards upstreams, for resumption (tls_sessions.c). */
#define SL_TLS_SESSIONS_MAX 256
#define SL_TLS_SESSION_BUCKETS 64
#define SL_TLS_SESSION_KEY_MAX 400 /* pool key (65 + 1 + 255) and "@[address]:port" */
struct sl_tls_session_entry {
    char *key;                          /* owned: "<pool key>@<address>:<port>" */
    SSL_SESSION *sess;                  /* one reference */
    struct sl_tls_session_entry *next;  /* in its bucket */
    struct sl_tls_session_entry *newer; /* in the age list */
    struct sl_tls_session_entry *older;
};
struct sl_tls_sessions {
    struct sl_tls_session_entry *buckets[SL_TLS_SESSION_BUCKETS];
    struct sl_tls_session_entry *newest, *oldest;
    size_t n;
};

struct sl_pool {
    struct sl_pool_addr *buckets[SL_POOL_BUCKETS];
    size_t idle;   /* connections idle for all addresses */
    ev_timer trim; /* armed while an address may hold more than pool_size idle connections */
};

/* One listening descriptor of a worker; the worker owns it (listeners.c). */
struct sl_listener {
    int fd;
    ev_io io;
    uint16_t port;
    bool proxy_protocol; /* connections begin with a PROXY protocol header (listen flag) */
    struct sl_worker *worker;
};

/* A new listener array handed from the control thread to a worker (listeners.c). */
struct sl_listener_swap {
    struct sl_listener *set;
    size_t n;
};

struct sl_worker {
    int id;
    pthread_t thread;
    struct ev_loop *loop;
    ev_async wakeup;         /* set by sl_proxy_stop and sl_proxy_dns_settled */
    atomic_bool dns_settled; /* a resolver entry left PENDING: retry the parked sessions */
    /* Sessions waiting for the first answer for their service's host name (dns_parked list). */
    struct sl_session *dns_parked;
    ev_timer drain_timer;
    ev_timer accept_backoff; /* listeners paused after accept() ran out of descriptors */
    /* This worker's reference to the newest settings it has seen, refreshed at each request head
     * (sl_worker_sync_settings); sessions take their own reference from it. */
    struct sl_proxy_settings *settings;
    size_t hdr_cap; /* entries in hdr_scratch and hdr_ids: the largest max_headers + 1 seen */
    struct sl_listener *listeners; /* owned; replaced only on this worker's thread */
    size_t nlisteners;
    _Atomic(struct sl_listener_swap *) pending_listeners; /* set by a reload, taken on wakeup */
    bool running;             /* its thread was started (set before pthread_create) */
    struct sl_snapshot *snap; /* this worker's reference to the current snapshot */
    struct sl_header
        *hdr_scratch; /* parsed header views, reused by every head this worker parses */
    uint8_t *hdr_ids; /* enum sl_hn of each header in hdr_scratch (max_headers + 1 entries) */
    struct sl_buf head_scratch;         /* upstream request heads are built here, then copied */
    struct sl_buf buf_spare[SL_SPARES]; /* empty client input/output buffers, reused LIFO */
    size_t nbuf_spare;
    struct sl_arena *arena_spare[SL_SPARES]; /* reset request arenas, reused LIFO */
    size_t narena_spare;
    struct sl_session *sessions; /* every open client session (for drain and stop) */
    size_t nsessions;
    struct sl_pool pool;
    struct sl_tls_sessions tls_sessions;
    /* Sessions with I/O events from the current poll, in the order libev delivered them (the
     * reverse of the kernel's); dispatched oldest-ready first once libev is done (dispatch.c). */
    struct sl_session **ready;
    size_t nready, ready_cap;
    bool draining;
    bool stopping;
};

/* Session phases (client side). */
enum sl_phase {
    SL_PHASE_HEAD = 0, /* reading (or waiting for) a request head */
    SL_PHASE_PROXY,    /* request routed; proxying to the upstream */
    SL_PHASE_LOCAL,    /* writing a response Sluice generated */
    SL_PHASE_TUNNEL,   /* 101 Switching Protocols: raw two-way copy */
    SL_PHASE_CLOSING,  /* flushing the last bytes, then close (or linger) */
    SL_PHASE_LINGER,   /* response out, write side shut: reading and discarding until the client
                          closes, so that it sees our response rather than a reset (nginx
                          lingering_close) */
    SL_PHASE_MAX
};

/* A connection's state for /status (nginx stub_status): waiting for a request, reading its head,
 * or everything after that until the response is out. */
enum sl_conn_state { SL_CONN_WAITING = 0, SL_CONN_READING, SL_CONN_WRITING };

/* How the response body is framed towards the client. */
enum sl_out_framing {
    SL_OUT_NONE = 0,
    SL_OUT_LENGTH,  /* Content-Length passed through */
    SL_OUT_CHUNKED, /* re-encoded chunked */
    SL_OUT_CLOSE,   /* delimited by closing the connection (HTTP/1.0 client) */
    SL_OUT_MAX
};

struct sl_session {
    struct sl_worker *worker;
    struct sl_session *prev, *next;
    int fd;
    ev_io rio, wio;
    struct sl_lazy_timer timer; /* header deadline, body/send/keep-alive idle */
    struct sockaddr_storage peer;
    char peer_ip[64];
    size_t peer_ip_len;
    uint16_t peer_port;
    uint16_t local_port;
    /* PROXY protocol (a `proxy_protocol` listener): the header is still expected; the client
     * address it carried (empty for LOCAL/UNKNOWN), which real_ip_header = proxy_protocol takes
     * from a trusted peer (head.c). */
    bool pp_expected;
    char pp_ip[INET6_ADDRSTRLEN];
    size_t pp_ip_len;
    struct sl_buf in;  /* client bytes */
    struct sl_buf out; /* bytes to the client */
    enum sl_phase phase;
    enum sl_conn_state conn_state; /* as counted in sl_proxy_stats (session.c) */
    /* Response bytes past s->out's high-water mark, in order after it (spool.c): an unlinked file
     * read from rd and written at wr, closed as soon as it is drained or the connection ends. */
    struct sl_spool {
        int fd;
        bool open;
        bool failed; /* the file could not be made or written: this response follows the
                      * client's pace */
        uint64_t rd, wr;
        /* Bytes the file had no room for (a full disk, a write error): they follow the file's
         * unread bytes, in memory. At most what one upstream read produced, since a failed spool
         * has no room (sl_session_out_room) and the upstream is not read again until it drains. */
        struct sl_buf tail;
    } spool;
    bool close_after; /* close once the current response is written */
    bool linger;      /* ... and linger first: the client may still be sending the request */
    uint64_t linger_until_us; /* SL_PHASE_LINGER: when lingering ends whatever the client does */
    bool peer_eof;
    unsigned requests;
    /* Events waiting in the worker's ready list (dispatch.c); ready_index is the slot, or -1. */
    int client_revents;
    int up_revents;
    ssize_t ready_index;
    /* On the worker's dns_parked list while its request waits for a name's first answer. */
    struct sl_session *park_next, **park_pprev;
    /* Reference to the settings of the current (or, between requests, the last) request; moved
     * to the worker's newest at each request head (proxy.h). */
    struct sl_proxy_settings *settings;

    /* --- per request; reset between requests --- */
    struct sl_arena *arena;   /* request arena */
    struct sl_snapshot *snap; /* reference held for the request */
    char request_id[33];
    uint64_t start_us; /* first byte of the head (or accept/keep-alive start) */
    uint64_t head_done_us;
    uint64_t upstream_start_us;
    uint64_t upstream_head_us;
    bool got_bytes;    /* any byte of this request arrived */
    bool peer_trusted; /* the peer is in trusted_ips */
    /* The client's address after real-IP processing (kong.md §3.4; nginx $remote_addr): the
     * peer's, or one a trusted peer named in real_ip_header (NUL-terminated, arena). */
    struct sl_str client_ip;
    bool timed_out;      /* the client was too slow: no lingering for it */
    size_t head_scanned; /* bytes of the pending head already parsed without result */
    const char *method;  /* arena copies for logs and retries */
    const char *target;
    const char *user_agent;
    const char *referer;
    const char *accept;
    int minor;
    bool head_request;
    bool idempotent;
    bool req_keep_alive;
    bool upgrade_websocket;
    struct sl_str path_norm;   /* normalised path (arena) */
    struct sl_str host_noport; /* Host without port, lowercased (arena) */
    const struct sl_route *route;
    const struct sl_service *service;
    const struct sl_service_target *svc_target;
    const struct sl_addrs *addrs; /* the target's addresses for this request */
    struct sl_addrs *addrs_copy;  /* arena copy of a DNS entry's answer, or NULL */
    /* request body, client → upstream */
    enum sl_h1_body req_body;
    uint64_t req_remaining;
    struct sl_h1_chunked req_chunked;
    bool req_done;
    uint64_t req_body_bytes;
    bool req_body_forwarded; /* a body byte went into an upstream buffer */
    /* Request buffering (route.request_buffering, Kong's default; nginx proxy_request_buffering
     * on): the body is read whole into a store before the upstream is connected, then sent with
     * a Content-Length. req_done then means that the client's body is all read; body_queued
     * counts the stored bytes queued on the current attempt (each attempt starts again at 0). The
     * store is body_mem up to SL_PROXY_HIGH_WATER bytes, else body_fd, an unlinked file (both
     * released by reset_request, however the request ends). */
    bool req_buffered;
    bool body_in_file;
    int body_fd;
    struct sl_buf body_mem;
    uint64_t body_queued;
    /* upstream */
    struct sl_upconn *up;
    int tries;             /* connection attempts made */
    int up_errno;          /* the system error behind the last upstream failure, for its log line */
    const char *up_detail; /* ... or what else explains it (a TLS handshake's failure; arena) */
    bool pool_retry_used;  /* the one transparent retry after a stale pooled connection */
    char *up_head;         /* the upstream request head (arena), kept for retries */
    size_t up_head_len;
    size_t up_head_cap;     /* bytes allocated at up_head */
    bool host_from_service; /* its Host is the service's (not preserve_host) */
    uint16_t host_port;     /* the port that Host names (host_from_service): each attempt's own */
    /* The request bytes every retry sends: the head plus each body byte already taken out of
     * s->in, copied from the buffer of the last attempt that got a connection. An attempt that
     * fails before getting one leaves them as they are, so the attempt after it replays the same
     * bytes. NULL until the first retry (the first attempt sends up_head). Allocated in the request
     * arena and cleared with the request (reset_request); at most SL_PROXY_REPLAY_MAX bytes. */
    char *replay;
    size_t replay_len;
    size_t replay_cap;       /* bytes allocated at replay */
    bool got_response_bytes; /* a response head was parsed on this attempt */
    bool aborted;            /* the response was cut short (logged as such) */
    size_t addr_index;
    /* response, upstream → client */
    bool resp_head_done;
    bool resp_head_sent;      /* a response head went to the client: no error page now */
    size_t resp_head_scanned; /* bytes of the pending response head parsed without result */
    int status;
    enum sl_h1_body resp_body;
    uint64_t resp_remaining;
    struct sl_h1_chunked resp_chunked;
    bool resp_done;
    bool resp_keep_alive;     /* the upstream connection can be pooled after the body */
    bool resp_interim_body;   /* a 1xx before the final response announced a body */
    bool resp_body_announced; /* ... or the final response, to HEAD or as a 304: its connection
                               * rests before reuse (SL_POOL_REST_MS) */
    bool resp_spool_ok; /* the route buffers responses: the upstream may run ahead (spool.c) */
    bool te_trailers;   /* the client sent TE: trailers: the response keeps Trailer */
    bool proxied;       /* an upstream attempt began: latency headers as for a proxied
                           response, even on an error Sluice writes (Kong: KONG_PROXIED) */
    enum sl_out_framing out_framing;
    uint64_t resp_body_bytes;  /* body bytes sent towards the client */
    uint64_t resp_written;     /* bytes written to the client socket since the head was queued */
    uint64_t out_total_before; /* bytes of the response head (for the log) */
};

/* session.c: the connection leaves the /status counts (it is closing) */
void sl_session_uncount(struct sl_session *s);

/* worker.c */
void sl_worker_session_closed(struct sl_worker *w, struct sl_session *s);
/* Move the worker to the published settings (growing its header scratch when their header count
 * limit is larger; out of memory, it keeps the settings it had) and to the published snapshot.
 * Called through the sync functions below. */
void sl_worker_take_settings(struct sl_worker *w);
void sl_worker_take_snapshot(struct sl_worker *w);

/* The worker's settings and snapshot brought up to the published ones: one atomic load each when
 * nothing was published (every request head does this). */
static inline void
sl_worker_sync_settings(struct sl_worker *w)
{
    if (w->settings->generation != sl_proxy_settings_generation()) {
        sl_worker_take_settings(w);
    }
}

static inline void
sl_worker_sync_snapshot(struct sl_worker *w)
{
    if (w->snap == NULL || w->snap->generation != sl_snapshot_current_generation()) {
        sl_worker_take_snapshot(w);
    }
}

/* listeners.c */
struct sl_listen_plan;
void sl_worker_listeners_watch(struct sl_worker *w, bool on);
/* Worker thread: installs the listener array a reload handed over, if any. */
void sl_worker_take_listeners(struct sl_worker *w);
/* Worker thread: closes every listener this worker owns (drain, exit). */
void sl_worker_close_listeners(struct sl_worker *w);
/* Control thread: the sockets for <conf>'s proxy_listen, keeping those in force and opening the
 * others for all <n> workers; NULL with a message in <err> (nothing changed). */
struct sl_listen_plan *sl_listen_plan_make(struct sl_worker *ws, int n, const struct sl_conf *conf,
                                           char *err, size_t errlen);
/* Control thread: hands the plan's sockets to the workers (directly to one whose thread has not
 * started, else through its async watcher) and makes it the set in force. -1 when out of memory
 * (the plan is discarded, nothing changed). */
int sl_listen_plan_install(struct sl_listen_plan *p, struct sl_worker *ws, int n);
/* Control thread: closes the sockets a plan opened and frees it (NULL is a no-op). */
void sl_listen_plan_discard(struct sl_listen_plan *p);
/* Control thread, after the workers stopped: frees the record of the set in force. */
void sl_listen_plan_forget(void);

/* dispatch.c */
void sl_dispatch_init(struct sl_worker *w);
/* Queues <revents> of the session's client socket or, with <upstream>, of its upstream. Returns -1
 * when the list cannot grow (the caller then handles the event at once). */
int sl_dispatch_queue(struct sl_session *s, int revents, bool upstream);
/* Takes <s> off the ready list (it is closing). */
void sl_dispatch_forget(struct sl_session *s);

/* session.c (the other files of a session share session.h) */
/* Handles client socket events; returns -1 if the session was closed. */
int sl_session_client_event(struct sl_session *s, int revents);
void sl_session_start(struct sl_worker *w, int fd, const struct sockaddr *peer, socklen_t plen,
                      const struct sl_listener *l);
void sl_session_close(struct sl_session *s);
void sl_session_close_if_idle(struct sl_session *s);
/* Upstream events, called from upstream.c with the owning session. */
void sl_session_upstream_event(struct sl_session *s, int revents);
void sl_session_upstream_timeout(struct sl_session *s);
/* Retries the requests parked on <w> waiting for a name's first answer (the resolver settled one
 * entry or more). */
void sl_session_dns_settled(struct sl_worker *w);

/* upstream.c */
void sl_pool_init(struct sl_worker *w);
/* An idle pooled connection to <addr> with pool_key <key> (NULL: a plain one), or NULL. */
struct sl_upconn *sl_pool_take(struct sl_worker *w, const struct sockaddr *addr, socklen_t len,
                               const char *key);
/* Returns <c> to the pool as its address's newest idle connection, or closes it when it must not be
 * reused (pooling off, draining, bytes unread, upstream_keepalive_max_requests reached). The
 * address may then hold more than pool_size idle connections for SL_POOL_TRIM_DELAY_MS. With
 * <rest> (its response announced a body that did not follow) it is idle only after resting
 * SL_POOL_REST_MS, or less when pool_size connections to its address rest already. */
void sl_pool_put(struct sl_worker *w, struct sl_upconn *c, bool rest);
void sl_pool_close_all(struct sl_worker *w);
/* How a new connection speaks TLS: a context, the name for SNI and verification (no port; may be
 * empty) and the pool key (copied). */
struct sl_upconn_tls {
    SSL_CTX *ctx;
    const char *name;
    const char *pool_key;
};
/* Starts a non-blocking connect, with TLS when <tls> is not NULL (the handshake follows the
 * connect: sl_upconn_establish); NULL with errno on immediate failure (EPROTO: the TLS state
 * could not be made). */
struct sl_upconn *sl_upconn_connect(struct sl_worker *w, const struct sockaddr *addr, socklen_t len,
                                    const struct sl_upconn_tls *tls);
void sl_upconn_close(struct sl_upconn *c);
/* Arms the connection's watchers for its owner session. */
void sl_upconn_attach(struct sl_upconn *c, struct sl_session *s);

/* tls_sessions.c */
/* The session to offer a new connection to <addr> with <pool_key> (borrowed), or NULL. */
SSL_SESSION *sl_tls_sessions_get(struct sl_worker *w, const char *pool_key,
                                 const struct sockaddr *addr);
/* Keeps <sess> (taking over the reference) as the one to offer next to <addr> with <pool_key>. */
void sl_tls_sessions_put(struct sl_worker *w, const char *pool_key, const struct sockaddr *addr,
                         SSL_SESSION *sess);
void sl_tls_sessions_free(struct sl_worker *w);

/* upstream_io.c */
/* Outcomes of sl_upconn_establish. */
enum sl_upconn_step {
    SL_UPCONN_WAIT = 0,
    SL_UPCONN_READY,
    SL_UPCONN_CONNECT_FAILED,
    SL_UPCONN_TLS_FAILED
};
/* Advances a new connection after a readiness event: the connect's outcome, then the TLS
 * handshake. READY sets c->connected; WAIT leaves c->hs_want saying what to wait for;
 * CONNECT_FAILED sets *err to the connect's errno; TLS_FAILED writes why into <why>. */
enum sl_upconn_step sl_upconn_establish(struct sl_upconn *c, int *err, char *why, size_t whylen);
/* Reads into c->in (at most <cap> bytes held), in clear or through TLS: recv(2)'s contract
 * (> 0, 0 at the end, -1 with errno: EAGAIN, ENOBUFS when c->in is at <cap>, ENOMEM, or the
 * error; EPROTO for a TLS-level failure). */
ssize_t sl_upconn_recv(struct sl_upconn *c, size_t cap);
/* Sends up to <len> bytes: send(2)'s contract, as above. */
ssize_t sl_upconn_send(struct sl_upconn *c, const void *p, size_t len);
/* Bytes already read from the socket but not yet from the connection (TLS records decrypted or
 * buffered): poll() does not see them. */
bool sl_upconn_has_buffered(const struct sl_upconn *c);
/* ... of which decrypted ones, which a read returns at once. */
bool sl_upconn_has_decrypted(const struct sl_upconn *c);

/* Gives the empty client buffer <b> (data == NULL) one of the worker's spare buffers, if it has
 * one; otherwise <b> allocates on its first append or read as usual. */
void sl_proxy_buf_take(struct sl_worker *w, struct sl_buf *b);
/* Takes the memory of <b> when it is empty (nothing pending; a buffer with pending bytes is left
 * alone): kept as a spare when small and there is room, freed otherwise. <b> is left without
 * memory. */
void sl_proxy_buf_release(struct sl_worker *w, struct sl_buf *b);
/* A request arena: a spare one, else a new one (NULL when out of memory). */
struct sl_arena *sl_proxy_arena_take(struct sl_worker *w);
/* Returns <a> (may be NULL) after a request: reset and kept as a spare, or destroyed. */
void sl_proxy_arena_release(struct sl_worker *w, struct sl_arena *a);

/* head.c: writes the upstream request head into <out>. <ids> holds the enum sl_hn of each of
 * <req>'s headers. Returns 0 or -1 (too large / ENOMEM). */
/* Sets s->peer_trusted and s->client_ip for the request <req> (its header values are copied: the
 * result outlives the client buffer). */
void sl_head_client_address(struct sl_session *s, const struct sl_h1_request *req);
int sl_head_build_upstream_request(struct sl_session *s, const struct sl_h1_request *req,
                                   const uint8_t *ids, const struct sl_router_match *m,
                                   struct sl_buf *out);
/* Rewrites the Host line of the request bytes <bytes>[0, *len) (a head, perhaps followed by body
 * bytes; Host is the head's first field) to name the service's host with <port>: an attempt at
 * an SRV answer's address names that record's port, as Kong's balancer sets Host for every try.
 * In place when the result fits in *cap bytes, else in a new arena block with
 * SL_HOST_PORT_SLACK bytes to spare (so later rewrites fit); updates *len and *cap. Returns the
 * bytes, or NULL when out of memory or when the second line is not a Host line. */
char *sl_head_set_host_port(struct sl_session *s, char *bytes, size_t *len, size_t *cap,
                            uint16_t port);
/* Writes the client response head for the upstream response <res> into s->out and decides framing.
 * Returns 0 or -1. */
int sl_head_build_client_response(struct sl_session *s, const struct sl_h1_response *res);

/* local_response.c: queues a response generated by Sluice (errors, redirects). <message> is the
 * Kong message; the body format follows the request's Accept header, <default_json> choosing the
 * fallback (kong.response.error uses JSON, nginx-level errors text/plain). */
void sl_local_response(struct sl_session *s, int status, const char *message, bool default_json,
                       const char *extra_headers);
/* Kong's message for an nginx-level error status (error_handlers.lua). */
const char *sl_local_status_message(int status);

/* access_log.c */
void sl_access_log_write(struct sl_session *s);

#endif
