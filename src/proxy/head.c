/* SPDX-License-Identifier: Apache-2.0 */
/* The heads Sluice writes: the upstream request (kong.md §3.4: Host, X-Forwarded-*, X-Real-IP, Via,
 * request id, hop-by-hop removal) and the client response (§3.5: Via, Server, latency headers,
 * re-framing). Header values are copied from parsed heads, which the strict parser already
 * guaranteed free of CR, LF and NUL, so nothing here can inject a line.
 *
 * Both run for every proxied request, so each header name is looked up once (sl_http_hn_lookup)
 * and the head is written straight into room reserved in the output buffer, without printf. */
#include <stdint.h>
#include <string.h>

#include "core/clock.h"
#include "core/version.h"
#include "http/hdr_names.h"
#include "net/cidr.h"
#include "proxy/http_date.h"
#include "proxy/internal.h"
#include "router/upstream_uri.h"

#define HEAD_MAX (128 * 1024)
#define MAX_CONN_TOKENS 16

/* The Connection tokens of a head (RFC 9110 §7.6.1: the headers they name are hop-by-hop). The
 * first MAX_CONN_TOKENS are kept for a quick per-header lookup. A head that lists more (only a
 * broken or hostile peer does) gets <drop> instead: every header a token names, marked by one pass
 * over all the tokens against a hash of the header names, so the cost stays linear in the head. */
struct conn_tokens {
    struct sl_str tok[MAX_CONN_TOKENS];
    size_t n;
    bool overflow;
    bool *drop; /* with overflow: drop[i] for header i (conn_tokens_finish) */
};

/* The next token of a Connection value from <*p> (before <end>), separators being ',', SP and
 * HTAB. Returns false when there is none left. */
static bool
next_conn_token(const char **p, const char *end, struct sl_str *t)
{
    const char *q = *p;
    while (q < end && (*q == ' ' || *q == '\t' || *q == ',')) {
        q++;
    }
    const char *start = q;
    while (q < end && *q != ',' && *q != ' ' && *q != '\t') {
        q++;
    }
    *p = q;
    *t = (struct sl_str){start, (size_t)(q - start)};
    return q > start;
}

static void
conn_tokens_add(struct conn_tokens *ct, struct sl_str v)
{
    const char *p = v.p, *end = v.p + v.len;
    struct sl_str t;
    while (!ct->overflow && next_conn_token(&p, end, &t)) {
        if (ct->n < MAX_CONN_TOKENS) {
            ct->tok[ct->n++] = t;
        } else {
            ct->overflow = true;
        }
    }
}

/* After the first pass over the head <hdrs> (ids <ids>): with overflow, fills ct->drop from every
 * token of every Connection line. Returns -1 when out of memory. */
static int
conn_tokens_finish(struct conn_tokens *ct, struct sl_arena *a, const struct sl_header *hdrs,
                   size_t nh, const uint8_t *ids)
{
    if (!ct->overflow) {
        return 0;
    }
    size_t cap = 16;
    while (cap < 2 * nh) {
        cap <<= 1;
    }
    size_t *slot = sl_arena_alloc(a, cap * sizeof(*slot));
    ct->drop = sl_arena_calloc(a, nh ? nh : 1, sizeof(*ct->drop));
    if (slot == NULL || ct->drop == NULL) {
        return -1;
    }
    for (size_t k = 0; k < cap; k++) {
        slot[k] = SIZE_MAX;
    }
    for (size_t i = 0; i < nh; i++) {
        size_t k = sl_str_casehash(hdrs[i].name) & (cap - 1);
        while (slot[k] != SIZE_MAX) {
            k = (k + 1) & (cap - 1);
        }
        slot[k] = i;
    }
    for (size_t j = 0; j < nh; j++) {
        if (ids[j] != SL_HN_CONNECTION) {
            continue;
        }
        const char *p = hdrs[j].value.p, *end = p + hdrs[j].value.len;
        struct sl_str t;
        while (next_conn_token(&p, end, &t)) {
            for (size_t k = sl_str_casehash(t) & (cap - 1); slot[k] != SIZE_MAX;
                 k = (k + 1) & (cap - 1)) {
                if (sl_str_caseeq(hdrs[slot[k]].name, t)) {
                    ct->drop[slot[k]] = true;
                }
            }
        }
    }
    return 0;
}

/* Whether header <i> (named <name>) is named by a Connection token. */
static bool
conn_names(const struct conn_tokens *ct, size_t i, struct sl_str name)
{
    if (ct->drop != NULL) {
        return ct->drop[i];
    }
    for (size_t k = 0; k < ct->n; k++) {
        if (sl_str_caseeq(name, ct->tok[k])) {
            return true;
        }
    }
    return false;
}

/* All values of header <name>, joined with ", " (RFC 9110 §5.3), into the arena. Only for a name
 * that occurs more than once: a single value is used as it is (struct seen). */
static struct sl_str
joined(struct sl_session *s, const struct sl_header *h, size_t n, const char *name)
{
    size_t total = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (sl_str_caseeq_cstr(h[i].name, name)) {
            total += h[i].value.len + 2;
            count++;
        }
    }
    if (count == 0) {
        return SL_STR_NULL;
    }
    if (count == 1) {
        for (size_t i = 0; i < n; i++) {
            if (sl_str_caseeq_cstr(h[i].name, name)) {
                return h[i].value;
            }
        }
    }
    char *buf = sl_arena_alloc(s->arena, total);
    size_t len = 0;
    if (buf == NULL) {
        return SL_STR_NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (sl_str_caseeq_cstr(h[i].name, name)) {
            if (len) {
                memcpy(buf + len, ", ", 2);
                len += 2;
            }
            memcpy(buf + len, h[i].value.p, h[i].value.len);
            len += h[i].value.len;
        }
    }
    return (struct sl_str){buf, len};
}

/* Where each well-known header of a request occurs: filled by one pass over the ids. */
struct seen {
    unsigned count[SL_HN_MAX];
    size_t first[SL_HN_MAX]; /* index of the first occurrence; valid when count > 0 */
};

/* The value of header <id> as joined() gives it: absent, the single value, or (rarely) every
 * value joined in the arena. */
static struct sl_str
value_of(struct sl_session *s, const struct sl_h1_request *req, const struct seen *seen,
         enum sl_hn id)
{
    if (seen->count[id] == 0) {
        return SL_STR_NULL;
    }
    if (seen->count[id] == 1) {
        return req->headers[seen->first[id]].value;
    }
    return joined(s, req->headers, req->nheaders, sl_http_hn_name(id));
}

static bool
valid_ip_text(struct sl_str v, struct sl_cidr *out)
{
    return v.len > 0 && v.len < 64 && sl_cidr_parse(v.p, v.len, out) == 0 &&
           out->prefix_len == (out->family == AF_INET ? 32 : 128) &&
           memchr(v.p, '/', v.len) == NULL;
}

/* ngx_parse_addr_port: an address, or one with a port of 1..65535 ("1.2.3.4:5678",
 * "[2001:db8::1]:443"). Stores the address alone (no port, no brackets) in <ip>. */
static bool
forwarded_addr(struct sl_str tok, struct sl_str *ip)
{
    struct sl_cidr c;
    if (valid_ip_text(tok, &c)) {
        *ip = tok;
        return true;
    }
    const char *end = tok.p + tok.len, *port;
    struct sl_str host;
    if (tok.len > 0 && tok.p[0] == '[') {
        const char *rb = memchr(tok.p, ']', tok.len);
        if (rb == NULL || rb + 1 == end || rb[1] != ':') {
            return false;
        }
        host = (struct sl_str){tok.p + 1, (size_t)(rb - tok.p - 1)};
        port = rb + 2;
    } else {
        const char *colon = memchr(tok.p, ':', tok.len);
        if (colon == NULL) {
            return false;
        }
        host = (struct sl_str){tok.p, (size_t)(colon - tok.p)};
        port = colon + 1;
    }
    unsigned long v = 0;
    if (port == end || end - port > 5) {
        return false;
    }
    for (const char *q = port; q < end; q++) {
        if (*q < '0' || *q > '9') {
            return false;
        }
        v = v * 10 + (unsigned long)(*q - '0');
    }
    if (v < 1 || v > 65535 || !valid_ip_text(host, &c)) {
        return false;
    }
    *ip = host;
    return true;
}

static bool
is_sep(char c)
{
    return c == ' ' || c == ',';
}

/* nginx realip semantics (kong.md §3.4, ngx_http_get_forwarded_addr_internal): only a trusted peer
 * may set the client address, from real_ip_header. The address is the last token of the value
 * (tokens end at ',' or ' ', trailing ones skipped) and may carry a port, which is dropped; without
 * real_ip_recursive that is the answer, with it the walk goes left while the address found is
 * itself trusted. */
static struct sl_str
real_ip(struct sl_session *s, const struct sl_h1_request *req, bool trusted)
{
    const struct sl_conf *conf = &s->settings->conf;
    struct sl_str peer = {s->peer_ip, s->peer_ip_len};
    if (!trusted) {
        return peer;
    }
    /* nginx reads every X-Forwarded-For line as one list, but of any other real_ip_header only
     * the first line (ngx_http_realip_handler): of "X-Real-IP: a" then "X-Real-IP: b", a. */
    struct sl_str v;
    if (s->settings->real_ip_xff) {
        v = joined(s, req->headers, req->nheaders, conf->real_ip_header);
    } else {
        const struct sl_header *h =
            sl_h1_find_header(req->headers, req->nheaders, conf->real_ip_header);
        v = h != NULL ? h->value : SL_STR_NULL;
    }
    if (v.len == 0) {
        return peer;
    }
    struct sl_str chosen = SL_STR_NULL;
    size_t end = v.len;
    for (;;) {
        while (end > 0 && is_sep(v.p[end - 1])) {
            end--;
        }
        size_t start = end;
        while (start > 0 && !is_sep(v.p[start - 1])) {
            start--;
        }
        struct sl_str ip;
        if (!forwarded_addr((struct sl_str){v.p + start, end - start}, &ip)) {
            break;
        }
        chosen = ip;
        if (!conf->real_ip_recursive ||
            !sl_cidr_list_match_text(conf->trusted_ips, conf->ntrusted_ips, ip.p, ip.len) ||
            start == 0) {
            break;
        }
        end = start - 1;
    }
    return chosen.len ? chosen : peer;
}

void
sl_head_client_address(struct sl_session *s, const struct sl_h1_request *req)
{
    const struct sl_conf *conf = &s->settings->conf;
    struct sl_str peer = {s->peer_ip, s->peer_ip_len};
    s->peer_trusted =
        conf->ntrusted_ips > 0 && sl_cidr_list_match_sockaddr(conf->trusted_ips, conf->ntrusted_ips,
                                                              (const struct sockaddr *)&s->peer);
    s->client_ip = peer;
    if (s->peer_trusted && s->settings->real_ip_from_proxy_protocol) {
        /* nginx realip with real_ip_header proxy_protocol: the header's client address, when the
         * listener expects one and the connection's header carried one; never recursive. */
        if (s->pp_ip_len > 0) {
            s->client_ip = (struct sl_str){s->pp_ip, s->pp_ip_len};
        }
    } else if (s->peer_trusted) {
        struct sl_str ip = real_ip(s, req, true);
        char *copy = ip.p != peer.p ? sl_arena_strndup(s->arena, ip.p, ip.len) : NULL;
        if (copy != NULL) {
            s->client_ip = (struct sl_str){copy, ip.len};
        }
    }
}

/* ---- the head writer ------------------------------------------------------------------------ */

/* A head being written straight into its buffer: room is reserved once (growing on the rare
 * shortage), so an append is a bounds check and a copy. A head is at most HEAD_MAX bytes; the
 * first failure (too large, ENOMEM) sticks, so a head is either complete or reported as failed,
 * never silently truncated. p and end are never NULL: a failed writer points both at <sink>. */
struct head_writer {
    struct sl_buf *b;
    size_t base; /* offset in b->data of the head's first byte */
    char *p;     /* next byte to write */
    char *end;   /* end of the reserved room, never past base + HEAD_MAX */
    bool failed;
    char sink[1];
};

static void
hw_fail(struct head_writer *w)
{
    w->failed = true;
    w->p = w->end = w->sink;
}

/* Reserves room for at least <want> more bytes after the <written> bytes of head that end at
 * b->len (hw_grow committed them, so that a compaction moves them too) and points p/end at it;
 * b->len is back at the head's start afterwards. Returns false (failed) when the head
 * would pass HEAD_MAX or memory runs out. */
static bool
hw_reserve(struct head_writer *w, size_t written, size_t want)
{
    struct sl_buf *b = w->b;
    if (w->failed || want > HEAD_MAX - written) {
        b->len -= written;
        hw_fail(w);
        return false;
    }
    size_t room = want < 1024 ? 1024 : want; /* grow in steps, not per header */
    if (room > HEAD_MAX - written) {
        room = HEAD_MAX - written;
    }
    /* sl_buf_reserve may move the pending bytes to the front: offsets, not pointers, survive. */
    size_t got = sl_buf_reserve(b, room, b->len + HEAD_MAX);
    b->len -= written;
    if (got == (size_t)-1 || got < want) {
        hw_fail(w);
        return false;
    }
    w->base = b->len;
    w->p = b->data + b->len + written;
    size_t limit = HEAD_MAX - written;
    w->end = w->p + (got < limit ? got : limit);
    return true;
}

/* Starts a head at the end of <b>'s pending bytes with room for about <want> bytes. */
static void
hw_begin(struct head_writer *w, struct sl_buf *b, size_t want)
{
    w->b = b;
    w->failed = false;
    w->base = b->len;
    w->p = w->end = w->sink;
    hw_reserve(w, 0, want);
}

/* The slow path of an append: commits what was written and reserves room for <len> more. */
static bool
hw_grow(struct head_writer *w, size_t len)
{
    if (w->failed) {
        return false;
    }
    size_t written = (size_t)(w->p - (w->b->data + w->base));
    w->b->len = w->base + written;
    return hw_reserve(w, written, len);
}

static inline bool
hw_room(struct head_writer *w, size_t len)
{
    return (size_t)(w->end - w->p) >= len || hw_grow(w, len);
}

static inline void
hw_append(struct head_writer *w, const char *src, size_t len)
{
    if (len != 0 && hw_room(w, len)) {
        memcpy(w->p, src, len);
        w->p += len;
    }
}

#define HW_LIT(w, lit) hw_append((w), (lit), sizeof(lit) - 1)

/* "<name>: <value>\r\n" with one bounds check: this runs for every proxied header. */
static inline void
hw_header(struct head_writer *w, struct sl_str name, struct sl_str value)
{
    if (!hw_room(w, name.len + value.len + 4)) {
        return;
    }
    char *p = w->p;
    memcpy(p, name.p, name.len);
    p += name.len;
    p[0] = ':';
    p[1] = ' ';
    p += 2;
    if (value.len != 0) {
        memcpy(p, value.p, value.len);
        p += value.len;
    }
    p[0] = '\r';
    p[1] = '\n';
    w->p = p + 2;
}

#define HW_HEADER(w, lit, value) hw_header((w), SL_STR(lit), (value))

/* Decimal without printf: heads are written for every proxied request. */
static void
hw_u64(struct head_writer *w, unsigned long long v)
{
    if (v < 10) {
        char digit = (char)('0' + v); /* latencies in ms are mostly 0 */
        hw_append(w, &digit, 1);
        return;
    }
    char buf[24];
    size_t i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    hw_append(w, buf + i, sizeof(buf) - i);
}

/* Ends the head: commits it to the buffer, or on failure leaves the buffer's pending bytes as
 * they were before hw_begin. Returns the head's length or -1. */
static long
hw_end(struct head_writer *w)
{
    if (w->failed) {
        return -1;
    }
    w->b->len = (size_t)(w->p - w->b->data);
    return (long)(w->b->len - w->base);
}

/* ---- upstream request ----------------------------------------------------------------------- */

int
sl_head_build_upstream_request(struct sl_session *s, const struct sl_h1_request *req,
                               const uint8_t *ids, const struct sl_router_match *m,
                               struct sl_buf *out)
{
    bool trusted = s->peer_trusted;
    const struct sl_route *route = m->route;
    const struct sl_service *svc = m->service;

    size_t cap = s->path_norm.len + (svc->path ? strlen(svc->path) : 0) + req->query.len + 8;
    char *uri = sl_arena_alloc(s->arena, cap);
    if (uri == NULL) {
        return -1;
    }
    long ulen = sl_upstream_uri_build(route, svc->path, s->path_norm, m->strip_len, req->query,
                                      req->has_query, uri, cap);
    if (ulen < 0) {
        return -1;
    }

    /* One pass over the ids: where each header Sluice reads occurs, the Connection tokens (the
     * headers they name are hop-by-hop too), and whether a TE header asks for trailers. */
    struct seen seen;
    memset(seen.count, 0, sizeof(seen.count));
    struct conn_tokens ct = {.n = 0};
    bool te_trailers = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        enum sl_hn id = ids[i];
        if (id == SL_HN_OTHER) {
            continue;
        }
        if (seen.count[id]++ == 0) {
            seen.first[id] = i;
        }
        if (id == SL_HN_CONNECTION) {
            conn_tokens_add(&ct, req->headers[i].value);
        } else if (id == SL_HN_TE) {
            te_trailers = te_trailers || sl_http_token_list_has(req->headers[i].value, "trailers");
        }
    }
    if (conn_tokens_finish(&ct, s->arena, req->headers, req->nheaders, ids) < 0) {
        return -1;
    }

    struct head_writer w;
    hw_begin(&w, out, req->head_len + (size_t)ulen + 1024);
    hw_append(&w, req->method.p, req->method.len);
    HW_LIT(&w, " ");
    hw_append(&w, uri, (size_t)ulen);
    HW_LIT(&w, " HTTP/1.1\r\n");
    /* Host is the head's first field: sl_head_set_host_port relies on it. */
    s->host_from_service = !(route->preserve_host && req->host.len);
    s->host_port = s->service->port;
    if (!s->host_from_service) {
        HW_HEADER(&w, "Host", req->host);
    } else {
        HW_HEADER(&w, "Host", sl_str_from_cstr(s->svc_target->host_header));
    }

    for (size_t i = 0; i < req->nheaders; i++) {
        switch ((enum sl_hn)ids[i]) {
        /* Per-connection, framing, or set by Sluice below. */
        case SL_HN_HOST:
        case SL_HN_CONNECTION:
        case SL_HN_KEEP_ALIVE:
        case SL_HN_PROXY_CONNECTION:
        case SL_HN_PROXY:
        case SL_HN_TE:
        case SL_HN_TRAILER:
        case SL_HN_TRANSFER_ENCODING:
        case SL_HN_CONTENT_LENGTH:
        case SL_HN_UPGRADE:
        case SL_HN_EXPECT:
        case SL_HN_X_FORWARDED_FOR:
        case SL_HN_X_FORWARDED_PROTO:
        case SL_HN_X_FORWARDED_HOST:
        case SL_HN_X_FORWARDED_PORT:
        case SL_HN_X_FORWARDED_PATH:
        case SL_HN_X_FORWARDED_PREFIX:
        case SL_HN_X_REAL_IP:
        case SL_HN_VIA:
        case SL_HN_X_SLUICE_REQUEST_ID:
        /* Credentials for a proxy are the proxy's to consume: Kong clears Proxy-Authorization
         * from every request (03-upstream_headers_spec "hop-by-hop headers are removed"). */
        case SL_HN_PROXY_AUTHORIZATION:
            continue;
        default:
            break;
        }
        const struct sl_header *h = &req->headers[i];
        if (ct.n != 0 && conn_names(&ct, i, h->name)) {
            continue;
        }
        hw_header(&w, h->name, h->value);
    }
    s->te_trailers = te_trailers;
    if (te_trailers) {
        HW_LIT(&w, "TE: trailers\r\n");
    }

    /* Framing towards the upstream mirrors the client's when the body streams: length stays
     * length, chunked is re-encoded chunk by chunk (the decoder drops extensions and trailers). */
    if (s->req_buffered) {
        /* the body is read whole first: its Content-Length goes in then (request.c) */
    } else if (req->body == SL_H1_BODY_LENGTH) {
        HW_LIT(&w, "Content-Length: ");
        hw_u64(&w, req->content_length);
        HW_LIT(&w, "\r\n");
    } else if (req->body == SL_H1_BODY_CHUNKED) {
        HW_LIT(&w, "Transfer-Encoding: chunked\r\n");
    }

    struct sl_str peer = {s->peer_ip, s->peer_ip_len};
    struct sl_str xff = value_of(s, req, &seen, SL_HN_X_FORWARDED_FOR);
    /* A joined line (X-Forwarded-For, Via) has no limit of its own, as in nginx: the head's
     * (HEAD_MAX) bounds it, and an upstream with a smaller line limit says so itself. */
    if (xff.len) {
        HW_LIT(&w, "X-Forwarded-For: ");
        hw_append(&w, xff.p, xff.len);
        HW_LIT(&w, ", ");
        hw_append(&w, peer.p, peer.len);
        HW_LIT(&w, "\r\n");
    } else {
        HW_HEADER(&w, "X-Forwarded-For", s->client_ip); /* Kong: $remote_addr, after real-IP */
    }

    struct sl_str v;
    v = trusted ? value_of(s, req, &seen, SL_HN_X_FORWARDED_PROTO) : SL_STR_NULL;
    HW_HEADER(&w, "X-Forwarded-Proto", v.len ? v : SL_STR("http"));

    v = trusted ? value_of(s, req, &seen, SL_HN_X_FORWARDED_HOST) : SL_STR_NULL;
    if (v.len == 0) {
        v = s->host_noport;
    }
    if (v.len) {
        HW_HEADER(&w, "X-Forwarded-Host", v);
    }

    v = trusted ? value_of(s, req, &seen, SL_HN_X_FORWARDED_PORT) : SL_STR_NULL;
    if (v.len) {
        HW_HEADER(&w, "X-Forwarded-Port", v);
    } else {
        HW_LIT(&w, "X-Forwarded-Port: ");
        hw_u64(&w, sl_proxy_client_port(s->settings, s->local_port));
        HW_LIT(&w, "\r\n");
    }

    v = trusted ? value_of(s, req, &seen, SL_HN_X_FORWARDED_PATH) : SL_STR_NULL;
    HW_HEADER(&w, "X-Forwarded-Path", v.len ? v : req->path);

    v = trusted ? value_of(s, req, &seen, SL_HN_X_FORWARDED_PREFIX) : SL_STR_NULL;
    if (v.len == 0) {
        v = sl_upstream_forwarded_prefix(route, s->path_norm, m->strip_len);
    }
    if (v.len) {
        HW_HEADER(&w, "X-Forwarded-Prefix", v);
    }

    HW_HEADER(&w, "X-Real-IP", s->client_ip);

    struct sl_str via = value_of(s, req, &seen, SL_HN_VIA);
    if (via.len) {
        char version[] = ", 1.0";
        version[4] = (char)('0' + req->minor); /* the client's HTTP/1.<minor> */
        HW_LIT(&w, "Via: ");
        hw_append(&w, via.p, via.len);
        hw_append(&w, version, sizeof(version) - 1);
        HW_LIT(&w, " " SL_SERVER_TOKEN "\r\n");
    } else if (req->minor) {
        HW_LIT(&w, "Via: 1.1 " SL_SERVER_TOKEN "\r\n");
    } else {
        HW_LIT(&w, "Via: 1.0 " SL_SERVER_TOKEN "\r\n");
    }
    /* headers_upstream = off: no request id at all, the client's neither (Kong's proxy_set_header
     * with an empty value) */
    if (s->settings->conf.headers_upstream & SL_HDR_REQUEST_ID) {
        HW_LIT(&w, "X-Sluice-Request-Id: ");
        hw_append(&w, s->request_id, 32);
        HW_LIT(&w, "\r\n");
    }
    if (s->upgrade_websocket) {
        HW_LIT(&w, "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n");
    } else {
        HW_LIT(&w, "Connection: keep-alive\r\n");
    }
    HW_LIT(&w, "\r\n");
    return hw_end(&w) < 0 ? -1 : 0;
}

/* ---- client response ------------------------------------------------------------------------ */

/* Whether header name <name> is <lit> (lowercase), ASCII case-insensitively. The lengths are
 * compared first, so for most headers this costs one branch. */
#define NAME_IS(name, lit) ((name).len == sizeof(lit) - 1 && sl_str_caseeq((name), SL_STR(lit)))

/* Upstream response headers Kong's header_filter removes or replaces (kong.md §3.5):
 * Proxy-Authenticate always (a challenge from the upstream is not for the client's proxy
 * credentials to answer), and the X-Sluice-* headers Sluice writes itself when <enabled>, so that
 * an upstream that is itself a Sluice does not leave a second, stale value. */
static bool
upstream_header_replaced(unsigned enabled, enum sl_hn id, struct sl_str name)
{
    switch (id) {
    case SL_HN_PROXY_AUTHENTICATE:
        return true;
    case SL_HN_X_SLUICE_REQUEST_ID:
        return (enabled & SL_HDR_REQUEST_ID) != 0;
    case SL_HN_OTHER:
        break;
    default:
        return false;
    }
    /* the latency and status names are longer than the header-id table's: by length first */
    switch (name.len) {
    case sizeof("x-sluice-proxy-latency") - 1:
        return (enabled & SL_HDR_PROXY_LATENCY) && NAME_IS(name, "x-sluice-proxy-latency");
    case sizeof("x-sluice-upstream-status") - 1:
        return (enabled & SL_HDR_UPSTREAM_STATUS) && NAME_IS(name, "x-sluice-upstream-status");
    case sizeof("x-sluice-upstream-latency") - 1:
        return (enabled & SL_HDR_UPSTREAM_LATENCY) && NAME_IS(name, "x-sluice-upstream-latency");
    default:
        return false;
    }
}

static bool
status_has_no_body(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

int
sl_head_build_client_response(struct sl_session *s, const struct sl_h1_response *res)
{
    const struct sl_proxy_settings *st = s->settings;
    struct sl_buf *out = &s->out;

    if (s->head_request || status_has_no_body(res->status)) {
        s->out_framing = SL_OUT_NONE; /* 101 included */
    } else if (res->body == SL_H1_BODY_LENGTH || res->body == SL_H1_BODY_NONE) {
        /* NONE here is "Content-Length: 0". It must go out as such: without it a response that
         * may have a body is delimited by the close (RFC 9112 §6.3), and on a kept connection the
         * client, or a proxy in front that pools connections to Sluice, would read the next
         * response as this one's body. */
        s->out_framing = SL_OUT_LENGTH;
    } else if (s->minor >= 1) {
        s->out_framing = SL_OUT_CHUNKED;
    } else {
        s->out_framing = SL_OUT_CLOSE;
    }
    if (!s->req_keep_alive || !s->req_done || s->worker->draining ||
        s->out_framing == SL_OUT_CLOSE) {
        s->close_after = true;
    }

    /* First pass: the id of every header (kept for the second) and the Connection tokens, which
     * must be known before the first header is copied. */
    uint8_t *ids = s->worker->hdr_ids;
    struct conn_tokens ct = {.n = 0};
    for (size_t i = 0; i < res->nheaders; i++) {
        ids[i] = (uint8_t)sl_http_hn_lookup(res->headers[i].name);
        if (ids[i] == SL_HN_CONNECTION) {
            conn_tokens_add(&ct, res->headers[i].value);
        }
    }
    if (conn_tokens_finish(&ct, s->arena, res->headers, res->nheaders, ids) < 0) {
        return -1;
    }
    /* Content-Length is kept for length framing, and for HEAD/304 where it describes the entity
     * (never on 1xx or 204, RFC 9110 §8.6). Its value goes out as the plain decimal the body was
     * framed with: "010" is 10 here, but octal 8 to a lax parser downstream (http-garden
     * transducer bug 1), which would then take the last bytes as the next response. */
    bool entity_cl = res->status == 304 || (s->head_request && !status_has_no_body(res->status));
    bool keep_cl = res->has_content_length && (s->out_framing == SL_OUT_LENGTH || entity_cl);

    sl_proxy_buf_take(s->worker, out);
    struct head_writer w;
    hw_begin(&w, out, res->head_len + 512);
    HW_LIT(&w, "HTTP/1.1 ");
    hw_u64(&w, (unsigned)res->status);
    HW_LIT(&w, " ");
    hw_append(&w, res->reason.p, res->reason.len);
    HW_LIT(&w, "\r\n");
    bool has_server = false, has_date = false;
    struct sl_str via = SL_STR_NULL;
    for (size_t i = 0; i < res->nheaders; i++) {
        const struct sl_header *h = &res->headers[i];
        switch ((enum sl_hn)ids[i]) {
        case SL_HN_CONTENT_LENGTH:
            if (keep_cl) { /* the parser allows one, so this writes one */
                hw_append(&w, h->name.p, h->name.len);
                HW_LIT(&w, ": ");
                hw_u64(&w, res->content_length);
                HW_LIT(&w, "\r\n");
            }
            continue;
        case SL_HN_UPGRADE:
            if (res->status != 101) {
                continue;
            }
            break; /* forwarded for the switch */
        case SL_HN_TRAILER:
            /* Kong keeps Trailer when the client asked for trailers (TE: trailers) */
            if (!s->te_trailers) {
                continue;
            }
            break;
        case SL_HN_CONNECTION:
        case SL_HN_KEEP_ALIVE:
        case SL_HN_PROXY_CONNECTION:
        case SL_HN_TRANSFER_ENCODING:
        case SL_HN_TE:
            continue;
        default:
            if (ct.n != 0 && conn_names(&ct, i, h->name)) {
                continue;
            }
            if (upstream_header_replaced(st->headers, (enum sl_hn)ids[i], h->name)) {
                continue;
            }
            if (ids[i] == SL_HN_VIA) {
                /* Several Via lines are one list (RFC 9110 §5.3): each goes out as it came, in
                 * order, and the last is held back to have Sluice's own appended below. */
                if (via.p != NULL) {
                    hw_header(&w, h->name, via);
                }
                via = h->value;
                continue;
            }
            has_server = has_server || ids[i] == SL_HN_SERVER;
            has_date = has_date || ids[i] == SL_HN_DATE;
            break;
        }
        hw_header(&w, h->name, h->value);
    }
    if (s->out_framing == SL_OUT_CHUNKED) {
        HW_LIT(&w, "Transfer-Encoding: chunked\r\n");
    }
    if (res->status == 101) {
        HW_LIT(&w, "Connection: upgrade\r\n");
    } else if (s->close_after) {
        HW_LIT(&w, "Connection: close\r\n");
    } else {
        HW_LIT(&w, "Connection: keep-alive\r\n");
    }
    if (st->headers & SL_HDR_VIA) {
        if (via.len) {
            HW_LIT(&w, "Via: ");
            hw_append(&w, via.p, via.len);
            HW_LIT(&w, ", 1.1 " SL_SERVER_TOKEN "\r\n");
        } else {
            HW_LIT(&w, "Via: 1.1 " SL_SERVER_TOKEN "\r\n");
        }
    } else if (via.len) {
        HW_HEADER(&w, "Via", via);
    }
    if (!has_date) {
        /* A proxy with a clock adds the Date an upstream left out (RFC 9110 §6.6.1; nginx). */
        char date[40];
        sl_http_date(date, sizeof(date));
        HW_LIT(&w, "Date: ");
        hw_append(&w, date, strlen(date));
        HW_LIT(&w, "\r\n");
    }
    if ((st->headers & SL_HDR_SERVER) && !has_server) {
        HW_LIT(&w, "Server: " SL_SERVER_TOKEN "\r\n");
    }
    if (st->headers & SL_HDR_UPSTREAM_LATENCY) {
        HW_LIT(&w, "X-Sluice-Upstream-Latency: ");
        hw_u64(&w, (s->upstream_head_us - s->upstream_start_us) / 1000);
        HW_LIT(&w, "\r\n");
    }
    if (st->headers & SL_HDR_PROXY_LATENCY) {
        HW_LIT(&w, "X-Sluice-Proxy-Latency: ");
        hw_u64(&w, (s->upstream_start_us - s->head_done_us) / 1000);
        HW_LIT(&w, "\r\n");
    }
    if (st->headers & SL_HDR_UPSTREAM_STATUS) {
        HW_LIT(&w, "X-Sluice-Upstream-Status: ");
        hw_u64(&w, (unsigned)res->status);
        HW_LIT(&w, "\r\n");
    }
    if (st->headers & SL_HDR_REQUEST_ID) {
        HW_LIT(&w, "X-Sluice-Request-Id: ");
        hw_append(&w, s->request_id, 32);
        HW_LIT(&w, "\r\n");
    }
    HW_LIT(&w, "\r\n");
    long head_len = hw_end(&w);
    if (head_len < 0) {
        return -1;
    }
    s->out_total_before = (uint64_t)head_len;
    s->resp_written = 0;
    return 0;
}

char *
sl_head_set_host_port(struct sl_session *s, char *bytes, size_t *len, size_t *cap, uint16_t port)
{
    char host[sizeof(s->svc_target->host_header)];
    sl_service_host_header(s->service, port, host, sizeof(host));
    char *end = bytes + *len;
    char *line = memchr(bytes, '\n', *len); /* end of the request line */
    char *next = line != NULL ? memchr(line + 1, '\n', (size_t)(end - line - 1)) : NULL;
    if (next == NULL || strncmp(line + 1, "Host: ", 6) != 0) {
        return NULL;
    }
    line++;
    next++; /* the Host line is [line, next) */
    size_t hlen = strlen(host), lead = (size_t)(line - bytes), tail = (size_t)(end - next);
    size_t n = lead + 6 + hlen + 2 + tail;
    char *out = bytes;
    if (n > *cap) {
        /* room for any other port later, so that further rewrites stay in place */
        out = sl_arena_alloc(s->arena, n + SL_HOST_PORT_SLACK);
        if (out == NULL) {
            return NULL;
        }
        memcpy(out, bytes, lead);
        memcpy(out + lead + 6 + hlen + 2, next, tail);
        *cap = n + SL_HOST_PORT_SLACK;
    } else {
        memmove(out + lead + 6 + hlen + 2, next, tail);
    }
    memcpy(out + lead, "Host: ", 6);
    memcpy(out + lead + 6, host, hlen);
    memcpy(out + lead + 6 + hlen, "\r\n", 2);
    *len = n;
    return out;
}
