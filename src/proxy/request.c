/* SPDX-License-Identifier: Apache-2.0 */
/* The request side of a session: the PROXY protocol header, then each request head (parsed,
 * checked, routed, turned into the upstream request head, or answered locally), then the request
 * body moved from the client buffer to the upstream connection's, or first read whole into a store
 * (memory, then an unlinked file) on a route with request_buffering. It does not connect
 * (attempt.c) nor read the response (response.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "http/hdr_names.h"
#include "http/path.h"
#include "net/cidr.h"
#include "net/proxy_protocol.h"
#include "proxy/session.h"
#include "sluice/log.h"

/* ---- request head --------------------------------------------------------------------------- */

static char *
arena_str(struct sl_session *s, struct sl_str v)
{
    return sl_arena_strndup(s->arena, v.p ? v.p : "", v.len);
}

static const char *
header_copy(struct sl_session *s, const struct sl_header *h)
{
    return h ? arena_str(s, h->value) : NULL;
}

/* Looks every header name of <req> up once, into <ids> (for the upstream head), and copies the
 * values kept for logs and error pages (the first of each name, as sl_h1_find_header would).
 *
 * Names holding an underscore are dropped from <req> on the way, as nginx, and so Kong, ignores
 * them (underscores_in_headers off, ignore_invalid_headers on): they are neither routed on nor
 * forwarded. An upstream that maps '-' and '_' to the same variable (CGI, WSGI, PHP) would
 * otherwise take a client's X_Forwarded_For for the X-Forwarded-For Sluice sets. */
static void
index_request_headers(struct sl_session *s, struct sl_h1_request *req, uint8_t *ids)
{
    const struct sl_header *ua = NULL, *referer = NULL, *accept = NULL, *ctype = NULL;
    size_t kept = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (memchr(req->headers[i].name.p, '_', req->headers[i].name.len) != NULL) {
            continue;
        }
        if (kept != i) {
            req->headers[kept] = req->headers[i];
        }
        const struct sl_header *h = &req->headers[kept];
        enum sl_hn id = sl_http_hn_lookup(h->name);
        ids[kept++] = (uint8_t)id;
        switch (id) {
        case SL_HN_USER_AGENT:
            ua = ua ? ua : h;
            break;
        case SL_HN_REFERER:
            referer = referer ? referer : h;
            break;
        case SL_HN_ACCEPT:
            accept = accept ? accept : h;
            break;
        case SL_HN_CONTENT_TYPE:
            ctype = ctype ? ctype : h;
            break;
        default:
            break;
        }
    }
    req->nheaders = kept;
    s->user_agent = header_copy(s, ua);
    s->referer = header_copy(s, referer);
    /* error_handlers.lua falls back to Content-Type for the error format. */
    s->accept = header_copy(s, accept ? accept : ctype);
}

static bool
method_is_idempotent(struct sl_str m)
{
    switch (m.len) {
    case 3:
        return memcmp(m.p, "GET", 3) == 0 || memcmp(m.p, "PUT", 3) == 0;
    case 4:
        return memcmp(m.p, "HEAD", 4) == 0;
    case 5:
        return memcmp(m.p, "TRACE", 5) == 0;
    case 6:
        return memcmp(m.p, "DELETE", 6) == 0;
    case 7:
        return memcmp(m.p, "OPTIONS", 7) == 0;
    default:
        return false;
    }
}

/* Splits the Host value into a lowercased name and an optional port. */
static void
split_host(struct sl_session *s, struct sl_str host, uint16_t *port)
{
    size_t end = host.len;
    *port = 0;
    if (host.len == 0) {
        s->host_noport = SL_STR_NULL;
        return;
    }
    if (host.p[0] == '[') {
        const char *rb = memchr(host.p, ']', host.len);
        end = rb ? (size_t)(rb - host.p) + 1 : host.len;
    } else {
        const char *colon = memchr(host.p, ':', host.len);
        end = colon ? (size_t)(colon - host.p) : host.len;
    }
    if (end < host.len && host.p[end] == ':') {
        unsigned v = 0;
        for (size_t i = end + 1; i < host.len && host.p[i] >= '0' && host.p[i] <= '9'; i++) {
            v = v * 10 + (unsigned)(host.p[i] - '0');
        }
        *port = v <= 65535 ? (uint16_t)v : 0;
    }
    char *lower = sl_arena_strndup(s->arena, host.p ? host.p : "", end);
    if (lower == NULL) {
        s->host_noport = SL_STR_NULL;
        return;
    }
    for (size_t i = 0; i < end; i++) {
        if (lower[i] >= 'A' && lower[i] <= 'Z') {
            lower[i] = (char)(lower[i] + 32);
        }
    }
    /* A trailing dot names the same host (kong.md §3.1). */
    if (end > 1 && lower[end - 1] == '.') {
        lower[--end] = '\0';
    }
    s->host_noport = (struct sl_str){lower, end};
}

/* kong/tools/http.lua check_https: a trusted peer may say the original request was https with a
 * single X-Forwarded-Proto value. */
static bool
forwarded_https(const struct sl_session *s, const struct sl_h1_request *req)
{
    const struct sl_conf *conf = &s->settings->conf;
    if (conf->ntrusted_ips == 0 ||
        !sl_cidr_list_match_sockaddr(conf->trusted_ips, conf->ntrusted_ips,
                                     (const struct sockaddr *)&s->peer)) {
        return false;
    }
    const struct sl_header *h = sl_h1_find_header(req->headers, req->nheaders, "x-forwarded-proto");
    return h != NULL && sl_str_caseeq_cstr(h->value, "https");
}

/* The host of a redirect for a request that named none (HTTP/1.0 without Host): the address the
 * client reached, an IPv6 one in brackets. nginx's $host falls back to the server name (Kong's is
 * "kong"); an empty host would make "https:///evil.example/" of a path "/evil.example/", which
 * browsers follow to evil.example (an open redirect). */
static struct sl_str
redirect_host_fallback(struct sl_session *s)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN];
    const void *a = NULL;
    if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0) {
        a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                     : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    }
    if (a == NULL || inet_ntop(ss.ss_family, a, ip, sizeof(ip)) == NULL) {
        return SL_STR("localhost");
    }
    char *h = sl_arena_sprintf(s->arena, ss.ss_family == AF_INET6 ? "[%s]" : "%s", ip);
    return h != NULL ? (struct sl_str){h, strlen(h)} : SL_STR("localhost");
}

static void
https_redirect(struct sl_session *s, const struct sl_route *route, const struct sl_h1_request *req)
{
    int code = route->https_redirect_status_code;
    if (code == 426) {
        s->close_after = s->close_after || !s->req_done;
        sl_local_response(s, 426, "Please use HTTPS protocol", true,
                          "Upgrade: TLS/1.2, HTTP/1.1\r\n");
        /* Kong answers with Connection: Upgrade; the local response already set Connection. */
        return;
    }
    /* handler.lua: "https://" .. forwarded_host .. ctx.request_uri. forwarded_host is a trusted
     * peer's X-Forwarded-Host, else $host; $request_uri is the path and query as sent, without
     * the scheme and authority of an absolute-form target. */
    struct sl_str host = s->host_noport;
    const struct sl_header *xfh =
        s->peer_trusted ? sl_h1_find_header(req->headers, req->nheaders, "x-forwarded-host") : NULL;
    if (xfh != NULL && xfh->value.len > 0) {
        host = xfh->value;
    }
    if (host.len == 0) {
        host = redirect_host_fallback(s);
    }
    struct sl_str path = req->path.len ? req->path : SL_STR("/");
    char *loc = sl_arena_sprintf(s->arena, "Location: https://%.*s%.*s%s%.*s\r\n", (int)host.len,
                                 host.p, (int)path.len, path.p, req->has_query ? "?" : "",
                                 (int)req->query.len, req->query.p);
    s->close_after = s->close_after || !s->req_done;
    sl_local_response(s, code, "", true, loc); /* "": redirects carry no body */
}

/* True when <received> payload bytes plus what the current chunk still announces exceed <max>
 * (0: no limit). Counting the declared size refuses an oversized chunk when its size line arrives,
 * as nginx does, not after the client has sent (and we have forwarded) up to the limit. */
static bool
over_body_limit(uint64_t received, const struct sl_h1_chunked *st, uint64_t max)
{
    uint64_t announced = sl_h1_chunked_announced(st);
    return max != 0 && (received > max || announced > max - received);
}

/* True when a chunked body declares more than 2^63-1 bytes in all (<received> plus what the
 * current chunk still announces), the bound Content-Length has. nginx (so Kong) refuses a chunk
 * size that is not an off_t with 400; a reader downstream that takes sizes as signed would see a
 * negative one (CVE-2013-2028). The decoder takes any 16 hex digits (it reads responses too), so
 * requests are held to the bound here: once the size line says so, before any data follows. */
static bool
over_off_t(uint64_t received, const struct sl_h1_chunked *st)
{
    return over_body_limit(received, st, (uint64_t)INT64_MAX);
}

/* A streamed body's upstream sees the request before the body has arrived. The chunked
 * bytes that did arrive with the head are checked before any upstream connection is made: a request
 * whose malformed or oversized body is already here is refused without reaching the upstream.
 * Returns 0, or the status to answer with. */
static int
prevalidate_chunked_body(const struct sl_session *s)
{
    struct sl_h1_chunked st = {0};
    const char *p = sl_buf_head(&s->in);
    size_t left = sl_buf_pending(&s->in);
    uint64_t total = 0;
    uint64_t max = s->settings->max_body_bytes;
    while (left > 0 && !st.done) {
        struct sl_str data;
        ssize_t used = sl_h1_chunked_decode(&st, p, left, &data);
        if (used < 0) {
            return 400;
        }
        if (used == 0) {
            break;
        }
        total += data.len;
        if (over_off_t(total, &st)) {
            return 400;
        }
        if (over_body_limit(total, &st, max)) {
            return 413;
        }
        p += used;
        left -= (size_t)used;
    }
    return 0;
}

/* The parsers keep no state, so a head is parsed again from its start after every read. When the
 * bytes added since the last parse (<*scanned> bytes of <have>) cannot have completed the head
 * (sl_h1_head_pending), the parse is skipped and *<scanned> moves on: a head sent a byte at a
 * time costs linear time, not quadratic. Not at EOF, where the parse must give its verdict. */
bool
sl_session_head_still_pending(const char *buf, size_t have, size_t *scanned,
                              const struct sl_h1_limits *lim, bool response, bool eof)
{
    if (*scanned == 0 || eof || !sl_h1_head_pending(buf, have, *scanned, lim, response)) {
        return false;
    }
    *scanned = have;
    return true;
}

/* A request the parser refused: its request line, as far as it reads as one, is kept for the
 * access log (nginx logs $request for a 400 too; the access log escapes it), and the refusal goes
 * to the error log at info, as nginx's "client sent invalid ..." lines do (without client bytes:
 * the error log does not escape). */
static void
note_rejected_request(struct sl_session *s, int status)
{
    const char *p = sl_buf_head(&s->in);
    size_t n = sl_buf_pending(&s->in);
    size_t line = 0;
    while (line < n && line < 2048 && p[line] != '\r' && p[line] != '\n') {
        line++;
    }
    const char *sp1 = memchr(p, ' ', line);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(p + line - sp1 - 1)) : NULL;
    if (sp1 != NULL) {
        s->method = sl_arena_strndup(s->arena, p, (size_t)(sp1 - p));
        const char *end = sp2 ? sp2 : p + line;
        s->target = sl_arena_strndup(s->arena, sp1 + 1, (size_t)(end - sp1 - 1));
    }
    if (sp2 != NULL && p + line - sp2 == 9 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0) {
        s->minor = 1;
    }
    sl_log(SL_LOG_INFO, "client %s sent an invalid request head: answered %d, request_id: \"%s\"",
           s->peer_ip, status, s->request_id);
}

/* The PROXY protocol header a `proxy_protocol` listener expects before the first request (nginx's
 * listen flag): consumed, and its client address kept for real_ip_header = proxy_protocol. A
 * connection without a valid one is closed with no answer, as nginx does ("broken header"); the
 * wait for it counts against the first request's header deadline, which runs from accept.
 * Returns 1 once it is read, 0 when more bytes are needed, or CLOSED. */
static int
read_proxy_header(struct sl_session *s)
{
    struct sl_proxy_protocol pp;
    size_t have = sl_buf_pending(&s->in);
    ssize_t n = sl_proxy_protocol_parse(sl_buf_head(&s->in), have, &pp);
    if (n == 0 && !s->peer_eof) {
        return 0;
    }
    if (n <= 0) {
        char shown[64];
        sl_proxy_protocol_shown(sl_buf_head(&s->in), have, shown, sizeof(shown));
        sl_log(SL_LOG_ERR, "client %s: broken header: \"%s\" while reading PROXY protocol",
               s->peer_ip, shown);
        sl_session_close(s);
        return CLOSED;
    }
    sl_buf_consume(&s->in, (size_t)n);
    s->pp_expected = false;
    if (pp.has_addr) {
        s->pp_ip_len = strlen(pp.src_ip);
        memcpy(s->pp_ip, pp.src_ip, s->pp_ip_len + 1);
    }
    return 1;
}

/* Parses and routes a request head. Returns 1 on progress, 0 when more bytes are needed, CLOSED. */
int
sl_session_process_head(struct sl_session *s)
{
    struct sl_worker *w = s->worker;
    if (sl_buf_pending(&s->in) == 0) {
        if (s->peer_eof || w->draining) {
            sl_session_close(s); /* nothing more will come, or the worker is stopping */
            return CLOSED;
        }
        return 0;
    }
    if (s->pp_expected) {
        int r = read_proxy_header(s);
        if (r != 1) {
            return r;
        }
        if (sl_buf_pending(&s->in) == 0) {
            return 0;
        }
    }
    const struct sl_proxy_settings *st = s->settings;
    if (!s->got_bytes) {
        /* A new request: it runs with the newest settings (a reload's limits and timeouts apply
         * from the next request of every connection). */
        sl_worker_sync_settings(w);
        if (s->settings != w->settings) {
            sl_proxy_settings_unref(s->settings);
            s->settings = sl_proxy_settings_ref(w->settings);
            st = s->settings;
        }
        s->got_bytes = true;
        s->start_us = sl_clock_mono_us();
        /* A total deadline for the whole head, not an idle timer: one byte every few seconds
         * must not keep a connection (slowloris). */
        set_client_timer(s, st->client_header_timeout_ms);
    }

    struct sl_h1_limits lim = {st->max_request_line, st->max_header_line, st->max_header_bytes,
                               st->max_headers};
    struct sl_h1_request req;
    size_t have = sl_buf_pending(&s->in);
    if (sl_session_head_still_pending(sl_buf_head(&s->in), have, &s->head_scanned, &lim, false,
                                      s->peer_eof)) {
        return 0;
    }
    int rc =
        sl_h1_parse_request(sl_buf_head(&s->in), have, &lim, &req, w->hdr_scratch, st->max_headers);
    if (rc == 0) {
        if (s->peer_eof) {
            sl_session_close(s);
            return CLOSED;
        }
        s->head_scanned = have;
        return 0;
    }
    if (sl_session_begin_request(s) < 0) {
        sl_session_close(s);
        return CLOSED;
    }
    if (rc < 0) {
        note_rejected_request(s, -rc);
        s->close_after = true;
        s->accept = NULL;
        sl_local_response(s, -rc, NULL, false, NULL);
        sl_buf_consume(&s->in, sl_buf_pending(&s->in));
        return 1;
    }

    s->head_done_us = sl_clock_mono_us();
    s->method = arena_str(s, req.method);
    s->target = arena_str(s, req.target);
    index_request_headers(s, &req, w->hdr_ids);
    sl_head_client_address(s, &req);
    s->minor = req.minor;
    s->head_request = sl_str_eq(req.method, SL_STR("HEAD"));
    s->idempotent = method_is_idempotent(req.method);
    s->req_keep_alive = req.keep_alive;
    s->req_body = req.body;
    s->req_remaining = req.body == SL_H1_BODY_LENGTH ? req.content_length : 0;
    s->req_done =
        req.body == SL_H1_BODY_NONE || (req.body == SL_H1_BODY_LENGTH && req.content_length == 0);
    if (w->draining || !req.keep_alive || st->keepalive_timeout_ms <= 0) {
        s->close_after = true; /* keepalive_timeout = 0 turns keep-alive off (nginx) */
    }

    /* Refresh the worker's snapshot when a newer one was published, then pin it for the request. */
    sl_worker_sync_snapshot(w);
    s->snap = w->snap ? sl_snapshot_ref(w->snap) : NULL;

    char *norm = sl_arena_alloc(s->arena, SL_HTTP_PATH_NORM_MAX(req.path.len) + 1);
    long nlen = norm && req.path.len && req.path.p[0] == '/'
                    ? sl_http_path_normalize(req.path.p, req.path.len, norm)
                    : -1;
    uint16_t host_port = 0;
    split_host(s, req.host, &host_port);
    if (nlen < 0 || s->snap == NULL) {
        s->close_after = true;
        sl_local_response(s, 400, NULL, false, NULL);
        sl_buf_consume(&s->in, sl_buf_pending(&s->in));
        return 1;
    }
    s->path_norm = (struct sl_str){norm, (size_t)nlen};
    /* Regex paths see Kong's decoded form; only a path with an escape left has another one. */
    struct sl_str decoded = SL_STR_NULL;
    if (sl_router_has_regex_paths(s->snap->router) && memchr(norm, '%', (size_t)nlen) != NULL) {
        char *d = sl_arena_alloc(s->arena, (size_t)nlen + 1);
        if (d != NULL) {
            decoded = (struct sl_str){d, sl_http_path_kong_decode(norm, (size_t)nlen, d)};
        }
    }

    struct sl_router_request rr = {
        .method = req.method,
        .host = s->host_noport,
        /* Kong's net.dst.port: the Host header's port, else the listener's as clients reach it
         * (router/fields.lua: ctx.host_port, after port_maps) */
        .port = host_port ? host_port : sl_proxy_client_port(s->settings, s->local_port),
        .path = s->path_norm,
        .path_decoded = decoded,
        .headers = req.headers,
        .nheaders = req.nheaders,
        .tls = false,
        .sni = SL_STR_NULL,
        .scheme = SL_PROTO_HTTP,
    };
    struct sl_router_match m;
    bool body_unread = !s->req_done;
    if (!sl_router_match(s->snap->router, &rr, &m)) {
        s->close_after = s->close_after || body_unread;
        sl_local_response(s, 404, "no Route matched with those values", true, NULL);
        sl_buf_consume(&s->in, (size_t)rc);
        return 1;
    }
    s->route = m.route;
    s->service = m.service;
    if (m.needs_https_redirect && !forwarded_https(s, &req)) {
        https_redirect(s, m.route, &req);
        sl_buf_consume(&s->in, (size_t)rc);
        return 1;
    }
    if (m.service == NULL) {
        s->close_after = s->close_after || body_unread;
        sl_local_response(s, 503, "no Service found with those values", true, NULL);
        sl_buf_consume(&s->in, (size_t)rc);
        return 1;
    }
    s->svc_target = sl_snapshot_target(s->snap, m.service);
    if (st->max_body_bytes && req.body == SL_H1_BODY_LENGTH &&
        req.content_length > st->max_body_bytes) {
        s->close_after = true;
        sl_local_response(s, 413, NULL, false, NULL);
        sl_buf_consume(&s->in, sl_buf_pending(&s->in));
        return 1;
    }
    s->upgrade_websocket = req.upgrade && sl_http_token_list_has(req.upgrade_proto, "websocket");
    /* Kong's route.request_buffering (default true; nginx proxy_request_buffering on): a body is
     * read whole before the upstream is connected. A WebSocket handshake keeps streaming: what
     * follows its head is the tunnel's, not a body to wait for. */
    s->req_buffered = m.route->request_buffering && !s->req_done && !s->upgrade_websocket;

    /* Built in the worker's scratch buffer (no allocation per request), then kept in the arena
     * for a retry that cannot replay from a connection buffer. */
    struct sl_buf *head = &w->head_scratch;
    head->off = head->len = 0;
    if (sl_head_build_upstream_request(s, &req, w->hdr_ids, &m, head) < 0) {
        sl_log(SL_LOG_INFO,
               "client %s: the upstream request head would pass 128 KiB (or memory ran out): "
               "answered 494, request_id: \"%s\"",
               s->peer_ip, s->request_id);
        s->close_after = true;
        sl_local_response(s, 494, NULL, false, NULL);
        sl_buf_consume(&s->in, sl_buf_pending(&s->in));
        return 1;
    }
    s->up_head = sl_arena_strndup(s->arena, sl_buf_head(head), sl_buf_pending(head));
    s->up_head_len = s->up_head_cap = sl_buf_pending(head);
    if (s->up_head == NULL) {
        sl_session_close(s);
        return CLOSED;
    }
    if (req.expect_continue && !s->req_done && req.minor == 1) {
        /* Ask for the body now (nginx does the same); the upstream never sees Expect. */
        sl_buf_append(&s->out, "HTTP/1.1 100 Continue\r\n\r\n", 25, SIZE_MAX);
    }
    sl_buf_consume(&s->in, (size_t)rc);
    if (req.body == SL_H1_BODY_CHUNKED) {
        int status = prevalidate_chunked_body(s);
        if (status != 0) {
            s->close_after = true;
            sl_local_response(s, status, NULL, false, NULL);
            sl_buf_consume(&s->in, sl_buf_pending(&s->in));
            return 1;
        }
    }
    s->phase = SL_PHASE_PROXY;
    set_client_timer(s, s->req_done ? 0 : st->client_body_timeout_ms);
    if (s->req_buffered) {
        return 1; /* the body first (sl_session_collect_request_body) */
    }
    s->upstream_start_us = sl_clock_mono_us();
    return sl_session_resolve_and_start(s) == CLOSED ? CLOSED : 1;
}

/* ---- buffered request body ------------------------------------------------------------------- */

/* A buffered body stays in memory up to one high-water's worth: the most a streamed request holds
 * in s->in or on its upstream buffer already, so buffering does not raise what a connection may
 * cost in memory (nginx keeps client_body_buffer_size in memory, then writes a temporary file). */
#define SL_BODY_MEM_MAX SL_PROXY_HIGH_WATER

void
sl_session_body_store_release(struct sl_session *s)
{
    if (s->body_in_file) {
        close(s->body_fd);
        s->body_in_file = false;
    }
    sl_buf_free(&s->body_mem);
}

/* Adds <n> body bytes to the store: in memory while it stays small, else (all of it) in the file.
 * 0, or -1 when the file cannot be made or written (errno kept). */
static int
body_store_add(struct sl_session *s, const char *p, size_t n)
{
    if (!s->body_in_file) {
        if (sl_buf_pending(&s->body_mem) + n <= SL_BODY_MEM_MAX) {
            return sl_buf_append(&s->body_mem, p, n, SL_BODY_MEM_MAX);
        }
        int fd = sl_proxy_temp_open(s->settings->conf.prefix, "client_body_temp");
        if (fd < 0) {
            return -1;
        }
        s->body_fd = fd;
        s->body_in_file = true;
        if (sl_proxy_write_all(fd, sl_buf_head(&s->body_mem), sl_buf_pending(&s->body_mem)) < 0) {
            return -1;
        }
        sl_buf_free(&s->body_mem);
    }
    return sl_proxy_write_all(s->body_fd, p, n);
}

/* The head built without framing gets the body's length, before its closing empty line, as nginx
 * sends a buffered body: Content-Length, no Transfer-Encoding (a chunked body is sent de-chunked,
 * its trailers dropped). 0, or -1 when out of memory. */
static int
set_buffered_length(struct sl_session *s)
{
    char line[48];
    int n = snprintf(line, sizeof(line), "Content-Length: %" PRIu64 "\r\n", s->req_body_bytes);
    size_t len = s->up_head_len + (size_t)n;
    /* with room for a Host line naming another port (follow_port_in_host rewrites in place) */
    char *p = sl_arena_alloc(s->arena, len + SL_HOST_PORT_SLACK);
    if (p == NULL) {
        return -1;
    }
    memcpy(p, s->up_head, s->up_head_len - 2);
    memcpy(p + s->up_head_len - 2, line, (size_t)n);
    memcpy(p + len - 2, "\r\n", 2);
    s->up_head = p;
    s->up_head_len = len;
    s->up_head_cap = len + SL_HOST_PORT_SLACK;
    return 0;
}

/* Reads the client's body into the store. client_max_body_size and client_body_timeout apply as
 * while streaming; the upstream is connected only once the last byte is here, so a client that
 * goes away or is refused never costs an upstream connection. */
int
sl_session_collect_request_body(struct sl_session *s)
{
    const struct sl_proxy_settings *st = s->settings;
    int progress = 0;
    while (!s->req_done && sl_buf_pending(&s->in) > 0) {
        size_t avail = sl_buf_pending(&s->in);
        struct sl_str data;
        size_t used;
        if (s->req_body == SL_H1_BODY_LENGTH) {
            used = avail < s->req_remaining ? avail : (size_t)s->req_remaining;
            data = (struct sl_str){sl_buf_head(&s->in), used};
            s->req_remaining -= used;
            s->req_done = s->req_remaining == 0;
        } else {
            ssize_t u = sl_h1_chunked_decode(&s->req_chunked, sl_buf_head(&s->in), avail, &data);
            if (u < 0 || over_off_t(s->req_body_bytes + data.len, &s->req_chunked)) {
                sl_session_fail_request(s, 400, NULL, false);
                return 1;
            }
            used = (size_t)u;
            s->req_done = s->req_chunked.done;
        }
        progress = 1;
        s->req_body_bytes += data.len;
        if (s->req_body == SL_H1_BODY_CHUNKED
                ? over_body_limit(s->req_body_bytes, &s->req_chunked, st->max_body_bytes)
                : st->max_body_bytes && s->req_body_bytes > st->max_body_bytes) {
            s->req_done = false; /* the rest is not read: close after the answer, lingering */
            sl_session_fail_request(s, 413, NULL, false);
            return 1;
        }
        if (data.len > 0 && body_store_add(s, data.p, data.len) < 0) {
            sl_log(SL_LOG_ERR,
                   "cannot buffer the request body in %s/client_body_temp: %s, "
                   "request_id: \"%s\"",
                   st->conf.prefix, strerror(errno), s->request_id);
            s->req_done = false;
            sl_session_fail_request(s, 500, NULL, false);
            return 1;
        }
        sl_buf_consume(&s->in, used);
    }
    if (!s->req_done) {
        return progress;
    }
    set_client_timer(s, 0);
    if (set_buffered_length(s) < 0) {
        sl_session_close(s);
        return CLOSED;
    }
    s->upstream_start_us = sl_clock_mono_us();
    return sl_session_resolve_and_start(s) == CLOSED ? CLOSED : 1;
}

/* Queues the stored body on s->up from s->body_queued, at most a high-water's worth unsent (the
 * file is read as the upstream takes it, never whole). 1 on progress, else 0. */
static int
pump_stored_body(struct sl_session *s)
{
    struct sl_upconn *c = s->up;
    int progress = 0;
    while (s->body_queued < s->req_body_bytes && up_unsent(c) < SL_PROXY_HIGH_WATER) {
        uint64_t left = s->req_body_bytes - s->body_queued;
        if (!s->body_in_file) {
            if (sl_session_up_append(c, sl_buf_head(&s->body_mem) + s->body_queued, (size_t)left) <
                0) {
                break;
            }
            s->body_queued += left;
        } else {
            char chunk[16384];
            size_t want = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);
            ssize_t n = pread(s->body_fd, chunk, want, (off_t)s->body_queued);
            if (n <= 0) {
                sl_log(SL_LOG_ERR, "cannot read the buffered request body: %s, request_id: \"%s\"",
                       n < 0 ? strerror(errno) : "file shorter than written", s->request_id);
                sl_session_fail_request(s, 500, NULL, false);
                return 1;
            }
            if (sl_session_up_append(c, chunk, (size_t)n) < 0) {
                break;
            }
            s->body_queued += (uint64_t)n;
        }
        progress = 1;
        s->req_body_forwarded = true;
    }
    return progress;
}

/* ---- request body ---------------------------------------------------------------------------- */

/* Moves request body bytes from the client buffer to the upstream buffer. */
int
sl_session_pump_request_body(struct sl_session *s)
{
    const struct sl_proxy_settings *st = s->settings;
    struct sl_upconn *c = s->up;
    int progress = 0;
    if (c->write_failed) {
        if (s->req_buffered) {
            return 0; /* the body is all read: s->in holds only a next request */
        }
        /* The upstream answered and takes no more: what the client still sends of the body is
         * dropped (the connection closes after the response, lingering). */
        size_t n = sl_buf_pending(&s->in);
        sl_buf_consume(&s->in, n);
        return n > 0;
    }
    if (s->req_buffered) {
        return pump_stored_body(s);
    }
    while (!s->req_done && sl_buf_pending(&s->in) > 0 && up_unsent(c) < SL_PROXY_HIGH_WATER) {
        /* At most one high-water's worth per step: with unsent below the mark the append then
         * always fits the buffer's cap, whatever max_header_bytes makes the client buffer hold
         * (a failed append would leave the body waiting with no watcher armed). */
        size_t avail = sl_buf_pending(&s->in);
        if (avail > SL_PROXY_HIGH_WATER) {
            avail = SL_PROXY_HIGH_WATER;
        }
        if (s->req_body == SL_H1_BODY_LENGTH) {
            size_t n = avail;
            if (n > s->req_remaining) {
                n = (size_t)s->req_remaining;
            }
            if (sl_session_up_append(c, sl_buf_head(&s->in), n) < 0) {
                break;
            }
            sl_buf_consume(&s->in, n);
            s->req_remaining -= n;
            s->req_body_bytes += n;
            s->req_done = s->req_remaining == 0;
        } else {
            struct sl_str data;
            ssize_t used = sl_h1_chunked_decode(&s->req_chunked, sl_buf_head(&s->in), avail, &data);
            if (used < 0 || over_off_t(s->req_body_bytes + data.len, &s->req_chunked)) {
                /* checked before the data goes out: none of a chunk that size is forwarded */
                sl_session_fail_request(s, 400, NULL, false);
                return 1;
            }
            if (data.len) {
                char hdr[24];
                int n = snprintf(hdr, sizeof(hdr), "%zx\r\n", data.len);
                if (sl_session_up_append(c, hdr, (size_t)n) < 0 ||
                    sl_session_up_append(c, data.p, data.len) < 0 ||
                    sl_session_up_append(c, "\r\n", 2) < 0) {
                    break;
                }
                s->req_body_bytes += data.len;
            }
            sl_buf_consume(&s->in, (size_t)used);
            if (s->req_chunked.done) {
                sl_session_up_append(c, "0\r\n\r\n", 5);
                s->req_done = true;
            }
        }
        progress = 1;
        s->req_body_forwarded = true;
        if (s->req_body == SL_H1_BODY_CHUNKED
                ? over_body_limit(s->req_body_bytes, &s->req_chunked, st->max_body_bytes)
                : st->max_body_bytes && s->req_body_bytes > st->max_body_bytes) {
            sl_session_fail_request(s, 413, NULL, false);
            return 1;
        }
    }
    if (s->req_done && progress) {
        set_client_timer(s, 0);
    }
    return progress;
}
