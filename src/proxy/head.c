/* SPDX-License-Identifier: Apache-2.0 */
/* The heads Sluice writes: the upstream request (kong.md §3.4: Host, X-Forwarded-*, X-Real-IP, Via,
 * request id, hop-by-hop removal) and the client response (§3.5: Via, Server, latency headers,
 * re-framing). Header values are copied from parsed heads, which the strict parser already
 * guaranteed free of CR, LF and NUL, so nothing here can inject a line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/version.h"
#include "net/cidr.h"
#include "proxy/internal.h"
#include "router/upstream_uri.h"

#define HEAD_MAX (128 * 1024)
#define MAX_CONN_TOKENS 16

/* Header names whose meaning is per-connection or that Sluice sets itself. */
static bool
is_request_header_dropped(struct sl_str name)
{
    static const char *const names[] = {
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy",
        "te",
        "trailer",
        "transfer-encoding",
        "content-length",
        "upgrade",
        "expect",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-path",
        "x-forwarded-prefix",
        "x-real-ip",
        "via",
        "x-sluice-request-id",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (sl_str_caseeq_cstr(name, names[i])) {
            return true;
        }
    }
    return false;
}

static bool
is_response_header_dropped(struct sl_str name)
{
    static const char *const names[] = {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding",
        "te",         "trailer",    "upgrade",          "content-length",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (sl_str_caseeq_cstr(name, names[i])) {
            return true;
        }
    }
    return false;
}

/* Collects the tokens of every Connection header: the headers they name are hop-by-hop. */
static size_t
connection_tokens(const struct sl_header *h, size_t n, struct sl_str *tok, size_t max)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sl_str_caseeq_cstr(h[i].name, "connection")) {
            continue;
        }
        const char *p = h[i].value.p, *end = p + h[i].value.len;
        while (p < end && count < max) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }
            const char *t = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
                p++;
            }
            if (p > t) {
                tok[count++] = (struct sl_str){t, (size_t)(p - t)};
            }
        }
    }
    return count;
}

static bool
named_by(struct sl_str name, const struct sl_str *tok, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (sl_str_caseeq(name, tok[i])) {
            return true;
        }
    }
    return false;
}

/* All values of header <name>, joined with ", " (RFC 9110 §5.3), into the arena. */
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

static bool
valid_ip_text(struct sl_str v, struct sl_cidr *out)
{
    return v.len > 0 && v.len < 64 && sl_cidr_parse(v.p, v.len, out) == 0 &&
           out->prefix_len == (out->family == AF_INET ? 32 : 128) &&
           memchr(v.p, '/', v.len) == NULL;
}

static struct sl_str
trim(struct sl_str v)
{
    while (v.len && (v.p[0] == ' ' || v.p[0] == '\t')) {
        v.p++;
        v.len--;
    }
    while (v.len && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t')) {
        v.len--;
    }
    return v;
}

/* nginx realip semantics (kong.md §3.4): only a trusted peer may set the client address, from
 * real_ip_header; without real_ip_recursive the last address of the header is taken, with it the
 * rightmost address that is not itself trusted. */
static struct sl_str
real_ip(struct sl_session *s, const struct sl_h1_request *req, bool trusted)
{
    const struct sl_conf *conf = s->worker->settings->conf;
    struct sl_str peer = sl_str_from_cstr(s->peer_ip);
    if (!trusted) {
        return peer;
    }
    struct sl_str v = joined(s, req->headers, req->nheaders, conf->real_ip_header);
    if (v.len == 0) {
        return peer;
    }
    struct sl_str chosen = SL_STR_NULL;
    size_t end = v.len;
    for (;;) {
        size_t start = end;
        while (start > 0 && v.p[start - 1] != ',') {
            start--;
        }
        struct sl_str item = trim((struct sl_str){v.p + start, end - start});
        struct sl_cidr ip;
        if (!valid_ip_text(item, &ip)) {
            break;
        }
        chosen = item;
        if (!conf->real_ip_recursive ||
            !sl_cidr_list_match_text(conf->trusted_ips, conf->ntrusted_ips, item.p, item.len) ||
            start == 0) {
            break;
        }
        end = start - 1;
    }
    return chosen.len ? chosen : peer;
}

/* A head being written: appends stop at <cap> and the first failure sticks, so a head is either
 * complete or reported as failed, never silently truncated. */
struct head_writer {
    struct sl_buf *b;
    size_t cap;
    bool failed;
};

static void __attribute__((format(printf, 2, 3)))
hw_printf(struct head_writer *w, const char *fmt, ...)
{
    if (w->failed) {
        return;
    }
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) || sl_buf_append(w->b, line, (size_t)n, w->cap) < 0) {
        w->failed = true;
    }
}

static void
hw_append(struct head_writer *w, const char *p, size_t len)
{
    if (!w->failed && sl_buf_append(w->b, p, len, w->cap) < 0) {
        w->failed = true;
    }
}

/* "<name>: <value>\r\n" without formatting: the copy loop runs for every proxied header. */
static void
hw_header(struct head_writer *w, struct sl_str name, struct sl_str value)
{
    hw_append(w, name.p, name.len);
    hw_append(w, ": ", 2);
    hw_append(w, value.p, value.len);
    hw_append(w, "\r\n", 2);
}

#define HW_LIT(w, lit) hw_append((w), (lit), sizeof(lit) - 1)

static void
hw_cstr(struct head_writer *w, const char *str)
{
    hw_append(w, str, strlen(str));
}

/* Decimal without printf: heads are written for every proxied request. */
static void
hw_u64(struct head_writer *w, unsigned long long v)
{
    char buf[24];
    size_t i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    hw_append(w, buf + i, sizeof(buf) - i);
}

static void
add_header(struct head_writer *w, const char *name, struct sl_str value)
{
    hw_header(w, sl_str_from_cstr(name), value);
}

int
sl_head_build_upstream_request(struct sl_session *s, const struct sl_h1_request *req,
                               const struct sl_router_match *m, struct sl_buf *out)
{
    const struct sl_conf *conf = s->worker->settings->conf;
    bool trusted =
        conf->ntrusted_ips > 0 && sl_cidr_list_match_sockaddr(conf->trusted_ips, conf->ntrusted_ips,
                                                              (const struct sockaddr *)&s->peer);
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
    size_t start_len = out->len;
    struct head_writer w = {out, out->len + HEAD_MAX, false};
    hw_append(&w, req->method.p, req->method.len);
    HW_LIT(&w, " ");
    hw_append(&w, uri, (size_t)ulen);
    HW_LIT(&w, " HTTP/1.1\r\n");
    if (route->preserve_host && req->host.len) {
        add_header(&w, "Host", req->host);
    } else {
        HW_LIT(&w, "Host: ");
        hw_cstr(&w, s->target_addrs->host_header);
        HW_LIT(&w, "\r\n");
    }

    struct sl_str tokens[MAX_CONN_TOKENS];
    size_t ntok = connection_tokens(req->headers, req->nheaders, tokens, MAX_CONN_TOKENS);
    bool te_trailers = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct sl_header *h = &req->headers[i];
        if (sl_str_caseeq_cstr(h->name, "te")) {
            te_trailers = te_trailers || sl_http_token_list_has(h->value, "trailers");
        }
        if (is_request_header_dropped(h->name) || named_by(h->name, tokens, ntok)) {
            continue;
        }
        hw_header(&w, h->name, h->value);
    }
    if (te_trailers) {
        hw_printf(&w, "TE: trailers\r\n");
    }

    /* Framing towards the upstream mirrors the client's: length stays length, chunked is
     * re-encoded chunk by chunk (the decoder drops extensions and trailers). */
    if (req->body == SL_H1_BODY_LENGTH) {
        HW_LIT(&w, "Content-Length: ");
        hw_u64(&w, req->content_length);
        HW_LIT(&w, "\r\n");
    } else if (req->body == SL_H1_BODY_CHUNKED) {
        hw_printf(&w, "Transfer-Encoding: chunked\r\n");
    }

    struct sl_str xff = joined(s, req->headers, req->nheaders, "x-forwarded-for");
    if (xff.len) {
        hw_printf(&w, "X-Forwarded-For: %.*s, %s\r\n", (int)xff.len, xff.p, s->peer_ip);
    } else {
        HW_LIT(&w, "X-Forwarded-For: ");
        hw_cstr(&w, s->peer_ip);
        HW_LIT(&w, "\r\n");
    }

    struct sl_str v;
    v = trusted ? joined(s, req->headers, req->nheaders, "x-forwarded-proto") : SL_STR_NULL;
    add_header(&w, "X-Forwarded-Proto", v.len ? v : SL_STR("http"));

    v = trusted ? joined(s, req->headers, req->nheaders, "x-forwarded-host") : SL_STR_NULL;
    if (v.len == 0) {
        v = s->host_noport;
    }
    if (v.len) {
        add_header(&w, "X-Forwarded-Host", v);
    }

    v = trusted ? joined(s, req->headers, req->nheaders, "x-forwarded-port") : SL_STR_NULL;
    if (v.len) {
        add_header(&w, "X-Forwarded-Port", v);
    } else {
        HW_LIT(&w, "X-Forwarded-Port: ");
        hw_u64(&w, s->local_port);
        HW_LIT(&w, "\r\n");
    }

    v = trusted ? joined(s, req->headers, req->nheaders, "x-forwarded-path") : SL_STR_NULL;
    add_header(&w, "X-Forwarded-Path", v.len ? v : req->path);

    v = trusted ? joined(s, req->headers, req->nheaders, "x-forwarded-prefix") : SL_STR_NULL;
    if (v.len == 0) {
        v = sl_upstream_forwarded_prefix(route, s->path_norm, m->strip_len);
    }
    if (v.len) {
        add_header(&w, "X-Forwarded-Prefix", v);
    }

    add_header(&w, "X-Real-IP", real_ip(s, req, trusted));

    struct sl_str via = joined(s, req->headers, req->nheaders, "via");
    if (via.len) {
        hw_printf(&w, "Via: %.*s, 1.%d %s\r\n", (int)via.len, via.p, req->minor, SL_SERVER_TOKEN);
    } else {
        hw_cstr(&w, req->minor ? "Via: 1.1 " SL_SERVER_TOKEN "\r\n"
                               : "Via: 1.0 " SL_SERVER_TOKEN "\r\n");
    }
    HW_LIT(&w, "X-Sluice-Request-Id: ");
    hw_append(&w, s->request_id, 32);
    HW_LIT(&w, "\r\n");
    if (s->upgrade_websocket) {
        hw_printf(&w, "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n");
    } else {
        HW_LIT(&w, "Connection: keep-alive\r\n");
    }
    HW_LIT(&w, "\r\n");
    if (w.failed) {
        out->len = start_len;
        return -1;
    }
    return 0;
}

static bool
status_has_no_body(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

int
sl_head_build_client_response(struct sl_session *s, const struct sl_h1_response *res)
{
    const struct sl_proxy_settings *st = s->worker->settings;
    struct sl_buf *out = &s->out;

    if (res->status == 101) {
        s->out_framing = SL_OUT_NONE;
    } else if (s->head_request || status_has_no_body(res->status) || res->body == SL_H1_BODY_NONE) {
        s->out_framing = SL_OUT_NONE;
    } else if (res->body == SL_H1_BODY_LENGTH) {
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

    size_t start_len = out->len;
    struct head_writer w = {out, out->len + HEAD_MAX, false};
    HW_LIT(&w, "HTTP/1.1 ");
    hw_u64(&w, (unsigned)res->status);
    HW_LIT(&w, " ");
    hw_append(&w, res->reason.p, res->reason.len);
    HW_LIT(&w, "\r\n");
    struct sl_str tokens[MAX_CONN_TOKENS];
    size_t ntok = connection_tokens(res->headers, res->nheaders, tokens, MAX_CONN_TOKENS);
    bool has_server = false;
    struct sl_str via = SL_STR_NULL;
    for (size_t i = 0; i < res->nheaders; i++) {
        const struct sl_header *h = &res->headers[i];
        if (sl_str_caseeq_cstr(h->name, "content-length")) {
            /* Kept as sent for length framing, and for HEAD/304 where it describes the entity. */
            bool keep = s->out_framing == SL_OUT_LENGTH ||
                        ((s->head_request || res->status == 304) && res->status != 101);
            if (!keep) {
                continue;
            }
        } else if (res->status == 101 && sl_str_caseeq_cstr(h->name, "upgrade")) {
            /* forwarded for the switch */
        } else if (is_response_header_dropped(h->name) || named_by(h->name, tokens, ntok)) {
            continue;
        }
        if (sl_str_caseeq_cstr(h->name, "via")) {
            via = h->value;
            continue;
        }
        if (sl_str_caseeq_cstr(h->name, "server")) {
            has_server = true;
        }
        hw_header(&w, h->name, h->value);
    }
    if (s->out_framing == SL_OUT_CHUNKED) {
        HW_LIT(&w, "Transfer-Encoding: chunked\r\n");
    }
    if (res->status == 101) {
        hw_printf(&w, "Connection: upgrade\r\n");
    } else if (s->close_after) {
        HW_LIT(&w, "Connection: close\r\n");
    } else {
        HW_LIT(&w, "Connection: keep-alive\r\n");
    }
    if (st->headers & SL_HDR_VIA) {
        if (via.len) {
            hw_printf(&w, "Via: %.*s, 1.1 %s\r\n", (int)via.len, via.p, SL_SERVER_TOKEN);
        } else {
            HW_LIT(&w, "Via: 1.1 " SL_SERVER_TOKEN "\r\n");
        }
    } else if (via.len) {
        add_header(&w, "Via", via);
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
        hw_printf(&w, "X-Sluice-Upstream-Status: %d\r\n", res->status);
    }
    if (st->headers & SL_HDR_REQUEST_ID) {
        HW_LIT(&w, "X-Sluice-Request-Id: ");
        hw_append(&w, s->request_id, 32);
        HW_LIT(&w, "\r\n");
    }
    HW_LIT(&w, "\r\n");
    if (w.failed) {
        out->len = start_len;
        return -1;
    }
    s->out_total_before = out->len - start_len;
    return 0;
}
