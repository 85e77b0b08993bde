/* SPDX-License-Identifier: Apache-2.0 */
/* Responses Sluice produces itself: routing errors, framing errors, upstream failures. Statuses,
 * messages and body templates are Kong's (kong.md §3.6; kong/tools/http.lua, error_handlers.lua):
 * the format follows the Accept header; the message never contains request bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/version.h"
#include "proxy/http_date.h"
#include "proxy/internal.h"

enum body_type { BODY_JSON = 0, BODY_HTML, BODY_XML, BODY_PLAIN, BODY_GRPC, BODY_MAX };

static const char *const mime_names[BODY_MAX] = {
    "application/json; charset=utf-8",
    "text/html; charset=utf-8",
    "application/xml; charset=utf-8",
    "text/plain; charset=utf-8",
    "",
};

const char *
sl_local_status_message(int status)
{
    switch (status) {
    case 400:
        return "Bad request";
    case 404:
        return "Not found";
    case 405:
        return "Method not allowed";
    case 408:
        return "Request timeout";
    case 411:
        return "Length required";
    case 412:
        return "Precondition failed";
    case 413:
        return "Payload too large";
    case 414:
        return "URI too long";
    case 417:
        return "Expectation failed";
    case 431: /* sent as 400, like Kong's 494 */
    case 494:
        return "Request header or cookie too large";
    case 500:
        return "An unexpected error occurred";
    case 501:
        return "Not implemented";
    case 502:
        return "An invalid response was received from the upstream server";
    case 503:
        return "The upstream server is currently unavailable";
    case 504:
        return "The upstream server is timing out";
    case 505:
        return "HTTP version not supported";
    default:
        return "An unexpected error occurred";
    }
}

static const char *
reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Not Allowed";
    case 408:
        return "Request Time-out";
    case 411:
        return "Length Required";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request-URI Too Large";
    case 417:
        return "Expectation Failed";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Temporarily Unavailable";
    case 504:
        return "Gateway Time-out";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* kong/tools/http.lua get_mime_type for one media range "type/subtype". */
static enum body_type
mime_of(const char *p, size_t len)
{
    const char *slash = memchr(p, '/', len);
    if (slash == NULL) {
        return BODY_JSON;
    }
    size_t tlen = (size_t)(slash - p);
    const char *sub = slash + 1;
    size_t slen = len - tlen - 1;
    if (slen == 1 && sub[0] == '*') {
        if (tlen == 4 && strncasecmp(p, "text", 4) == 0) {
            return BODY_PLAIN;
        }
        return BODY_JSON; /* "*" and "application" → the JSON default */
    }
    static const struct {
        const char *name;
        enum body_type t;
    } known[] = {
        {"application/json", BODY_JSON}, {"text/html", BODY_HTML},
        {"application/xml", BODY_XML},   {"text/plain", BODY_PLAIN},
        {"application/grpc", BODY_GRPC},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strlen(known[i].name) == len && strncasecmp(known[i].name, p, len) == 0) {
            return known[i].t;
        }
    }
    return BODY_JSON;
}

/* The q value of one media range's parameters "<params>" (the text after its first ';'). */
static double
range_quality(const char *params, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (params[i] == ' ' || params[i] == ';')) {
            i++;
        }
        if (len - i > 2 && params[i] == 'q' && params[i + 1] == '=') {
            char num[8] = {0};
            size_t n = len - i - 2 < sizeof(num) - 1 ? len - i - 2 : sizeof(num) - 1;
            memcpy(num, params + i + 2, n);
            return strtod(num, NULL);
        }
        while (i < len && params[i] != ';') {
            i++;
        }
    }
    return 1;
}

/* kong/tools/http.lua get_response_type: the media range with the highest q wins, the first one
 * on ties; a range that does not parse is skipped. */
static enum body_type
response_type(const char *accept)
{
    enum body_type best = BODY_JSON;
    double best_q = 0;
    size_t total = strlen(accept), start = 0;
    while (start < total) {
        size_t end = start;
        while (end < total && accept[end] != ',') {
            end++;
        }
        size_t a = start, semi = start;
        while (a < end && (accept[a] == ' ' || accept[a] == '\t')) {
            a++;
        }
        semi = a;
        while (semi < end && accept[semi] != ';') {
            semi++;
        }
        size_t mend = semi;
        while (mend > a && (accept[mend - 1] == ' ' || accept[mend - 1] == '\t')) {
            mend--;
        }
        double q = semi < end ? range_quality(accept + semi + 1, end - semi - 1) : 1;
        if (mend > a && memchr(accept + a, '/', mend - a) != NULL && q > best_q) {
            best_q = q;
            best = mime_of(accept + a, mend - a);
        }
        start = end + 1;
    }
    return best;
}

void
sl_local_response(struct sl_session *s, int status, const char *message, bool default_json,
                  const char *extra_headers)
{
    const struct sl_proxy_settings *st = s->settings;
    int wire_status = status == 494 || status == 431 ? 400 : status;
    if (message == NULL) {
        message = sl_local_status_message(status);
    }
    /* Without Accept or Content-Type: kong.response.error's JSON for the responses Kong writes
     * with it (no route, no service, a name that does not resolve), else error_default_type as
     * Kong's error handler (kong/error_handlers.lua) for the pages nginx would write. */
    static const enum body_type default_types[SL_ERROR_TYPE_MAX] = {
        [SL_ERROR_TYPE_PLAIN] = BODY_PLAIN,
        [SL_ERROR_TYPE_JSON] = BODY_JSON,
        [SL_ERROR_TYPE_HTML] = BODY_HTML,
        [SL_ERROR_TYPE_XML] = BODY_XML,
    };
    enum body_type type = default_json ? BODY_JSON : default_types[st->conf.error_default_type];
    if (s->accept != NULL) {
        type = response_type(s->accept);
    }

    char body[1024];
    int blen = 0;
    bool empty = message[0] == '\0'; /* redirects: no body at all */
    switch (empty ? BODY_GRPC : type) {
    case BODY_JSON:
        blen = snprintf(body, sizeof(body), "{\n  \"message\":\"%s\",\n  \"request_id\":\"%s\"\n}",
                        message, s->request_id);
        break;
    case BODY_HTML:
        blen = snprintf(body, sizeof(body),
                        "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n"
                        "    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n"
                        "    <p>%s.</p>\n    <p>request_id: %s</p>\n  </body>\n</html>\n",
                        message, s->request_id);
        break;
    case BODY_XML:
        blen = snprintf(
            body, sizeof(body),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>%s</message>\n"
            "  <requestid>%s</requestid>\n</error>\n",
            message, s->request_id);
        break;
    case BODY_PLAIN:
        blen = snprintf(body, sizeof(body), "%s\nrequest_id: %s\n", message, s->request_id);
        break;
    default:
        blen = 0;
        break;
    }
    if (blen < 0 || (size_t)blen >= sizeof(body)) {
        blen = 0;
    }

    /* Anything queued for the client that is not a complete earlier response is dropped. */
    s->out.off = s->out.len = 0;
    sl_proxy_buf_take(s->worker, &s->out);
    char date[40];
    sl_http_date(date, sizeof(date));
    sl_buf_appendf(&s->out, SIZE_MAX, "HTTP/1.1 %d %s\r\nDate: %s\r\n", wire_status,
                   reason_phrase(wire_status), date);
    if (type != BODY_GRPC && !empty) {
        sl_buf_appendf(&s->out, SIZE_MAX, "Content-Type: %s\r\n", mime_names[type]);
    }
    sl_buf_appendf(&s->out, SIZE_MAX, "Content-Length: %d\r\n", blen);
    if (status == 426) {
        /* Kong answers an https-only route reached over http with Connection: Upgrade. */
        sl_buf_appendf(&s->out, SIZE_MAX, "Connection: %s\r\n",
                       s->close_after ? "close, Upgrade" : "Upgrade");
    } else {
        sl_buf_appendf(&s->out, SIZE_MAX, "Connection: %s\r\n",
                       s->close_after ? "close" : "keep-alive");
    }
    if (st->headers & SL_HDR_SERVER) {
        sl_buf_appendf(&s->out, SIZE_MAX, "Server: %s\r\n", SL_SERVER_TOKEN);
    }
    if (s->proxied) {
        /* An upstream attempt began (a refused connection, a timeout, an invalid response): Kong
         * reports such an error as a proxied response (ctx.KONG_PROXIED is set before the
         * balancer runs and kept through its error page), with the time spent waiting on the
         * upstream and the time before it, and no response latency (14-server_tokens_spec); its
         * header_filter gives such a response Via and the upstream status too, nginx's
         * $upstream_status of the failed try being the status sent (502, 504). */
        if (st->headers & SL_HDR_VIA) {
            sl_buf_appendf(&s->out, SIZE_MAX, "Via: 1.1 %s\r\n", SL_SERVER_TOKEN);
        }
        if (st->headers & SL_HDR_UPSTREAM_STATUS) {
            sl_buf_appendf(&s->out, SIZE_MAX, "X-Sluice-Upstream-Status: %d\r\n", wire_status);
        }
        if (st->headers & SL_HDR_UPSTREAM_LATENCY) {
            sl_buf_appendf(
                &s->out, SIZE_MAX, "X-Sluice-Upstream-Latency: %llu\r\n",
                (unsigned long long)((sl_clock_mono_us() - s->upstream_start_us) / 1000));
        }
        if (st->headers & SL_HDR_PROXY_LATENCY) {
            sl_buf_appendf(&s->out, SIZE_MAX, "X-Sluice-Proxy-Latency: %llu\r\n",
                           (unsigned long long)((s->upstream_start_us - s->head_done_us) / 1000));
        }
    } else if (st->headers & SL_HDR_RESPONSE_LATENCY) {
        uint64_t ms = s->start_us ? (sl_clock_mono_us() - s->start_us) / 1000 : 0;
        sl_buf_appendf(&s->out, SIZE_MAX, "X-Sluice-Response-Latency: %llu\r\n",
                       (unsigned long long)ms);
    }
    if (st->headers & SL_HDR_REQUEST_ID) {
        sl_buf_appendf(&s->out, SIZE_MAX, "X-Sluice-Request-Id: %s\r\n", s->request_id);
    }
    if (extra_headers != NULL) {
        sl_buf_appendf(&s->out, SIZE_MAX, "%s", extra_headers);
    }
    sl_buf_append(&s->out, "\r\n", 2, SIZE_MAX);
    s->out_total_before = sl_buf_pending(&s->out);
    if (!s->head_request && blen > 0) {
        sl_buf_append(&s->out, body, (size_t)blen, SIZE_MAX);
        s->resp_body_bytes = (uint64_t)blen;
    }
    s->status = wire_status;
    s->resp_head_sent = true;
    s->phase = SL_PHASE_LOCAL;
}
