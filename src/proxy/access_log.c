/* SPDX-License-Identifier: Apache-2.0 */
/* The access log: one line per request, after its last byte was queued (it never delays the
 * response). nginx's `combined` format, or one JSON object per line. One write(2) per line on an
 * O_APPEND descriptor shared by all workers, so lines never interleave; rotation and reload switch
 * the file under that descriptor (core/log_file.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log_file.h"
#include "core/utf8.h"
#include "proxy/internal.h"

/* Copies <s> into <out> escaping quotes, backslashes and control bytes, so a request cannot forge
 * log lines or fields: nginx's escape=default for combined (every byte outside 0x20-0x7E as \xXX);
 * for json, valid UTF-8 sequences are kept as they are (nginx's escape=json keeps high bytes, so
 * "café" reads back as "café") and any other byte is \u00XX, so the line stays valid UTF-8 JSON. */
static size_t
escape(char *out, size_t cap, const char *s, bool json)
{
    size_t n = 0;
    if (s == NULL) {
        s = json ? "" : "-";
    }
    size_t left = strlen(s);
    while (left > 0 && n + 7 < cap) {
        unsigned char ch = (unsigned char)*s;
        size_t seq = json && ch >= 0x80 ? sl_utf8_seq_len((const unsigned char *)s, left) : 0;
        if (seq > 0) {
            memcpy(out + n, s, seq);
            n += seq;
        } else if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f) {
            n += (size_t)snprintf(out + n, cap - n, json ? "\\u%04x" : "\\x%02X", ch);
            seq = 1;
        } else {
            out[n++] = (char)ch;
            seq = 1;
        }
        s += seq;
        left -= seq;
    }
    out[n] = '\0';
    return n;
}

static struct sl_log_file access_log = SL_LOG_FILE_INIT(-1);

void
sl_access_log_use(int fd, const char *path)
{
    sl_log_file_set(&access_log, fd, path);
}

int
sl_access_log_reopen(void)
{
    return sl_log_file_reopen(&access_log);
}

void
sl_access_log_write(struct sl_session *s)
{
    const struct sl_proxy_settings *st = s->settings;
    /* Called once per finished request, so it also counts them for the Status API. */
    atomic_fetch_add_explicit(&sl_proxy_stats.total_requests, 1, memory_order_relaxed);
    int fd = sl_log_file_fd(&access_log);
    if (!st->access_log_on || fd < 0) {
        return;
    }
    char method[64], target[2048], ua[512], referer[512], line[4096];
    const char *client_ip = s->client_ip.len ? s->client_ip.p : s->peer_ip;
    escape(method, sizeof(method), s->method, st->access_log_json);
    escape(target, sizeof(target), s->target, st->access_log_json);
    escape(ua, sizeof(ua), s->user_agent, st->access_log_json);
    escape(referer, sizeof(referer), s->referer, st->access_log_json);
    uint64_t elapsed_ms = s->start_us ? (sl_clock_mono_us() - s->start_us) / 1000 : 0;
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    int n;
    if (st->access_log_json) {
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
        n = snprintf(line, sizeof(line),
                     "{\"time\":\"%s\",\"client_ip\":\"%s\",\"method\":\"%s\",\"uri\":\"%s\","
                     "\"protocol\":\"HTTP/1.%d\",\"status\":%d,\"body_bytes_sent\":%llu,"
                     "\"request_body_bytes\":%llu,\"referer\":\"%s\",\"user_agent\":\"%s\","
                     "\"latency_ms\":%llu,\"request_id\":\"%s\",\"route\":\"%s\","
                     "\"service\":\"%s\",\"aborted\":%s}\n",
                     when, client_ip, method, target, s->minor, s->status,
                     (unsigned long long)s->resp_body_bytes, (unsigned long long)s->req_body_bytes,
                     referer, ua, (unsigned long long)elapsed_ms, s->request_id,
                     s->route ? s->route->id : "", s->service ? s->service->id : "",
                     s->aborted ? "true" : "false");
    } else {
        strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
        n = snprintf(line, sizeof(line),
                     "%s - - [%s] \"%s %s HTTP/1.%d\" %d %llu \"%s\" \"%s\" %s\n", client_ip, when,
                     method, target, s->minor, s->status, (unsigned long long)s->resp_body_bytes,
                     referer, ua, s->request_id);
    }
    if (n > 0) {
        if ((size_t)n >= sizeof(line)) {
            n = sizeof(line) - 1;
            line[n - 1] = '\n';
        }
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
    }
}
