/* SPDX-License-Identifier: Apache-2.0 */
/* The access log: one line per request, after its last byte was queued (it never delays the
 * response). nginx's `combined` format, or one JSON object per line. One write(2) per line on an
 * O_APPEND descriptor shared by all workers, so lines never interleave; rotation and reload switch
 * the file under that descriptor (core/log_file.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/access_line.h"
#include "core/clock.h"
#include "core/log_file.h"
#include "proxy/internal.h"

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
    char line[4096];
    struct sl_access_line f = {
        .client_ip = s->client_ip.len ? s->client_ip.p : s->peer_ip,
        .method = s->method,
        .target = s->target,
        .minor = s->minor,
        .status = s->status,
        .body_bytes = (unsigned long long)s->resp_body_bytes,
        .referer = s->referer,
        .user_agent = s->user_agent,
    };
    size_t n;
    if (st->access_log_json) {
        struct sl_access_escaped e;
        char when[64];
        sl_access_escape_fields(&e, &f, true);
        sl_access_time(when, sizeof(when), true);
        uint64_t elapsed_ms = s->start_us ? (sl_clock_mono_us() - s->start_us) / 1000 : 0;
        int m =
            snprintf(line, sizeof(line),
                     "{\"time\":\"%s\",\"client_ip\":\"%s\",\"method\":\"%s\",\"uri\":\"%s\","
                     "\"protocol\":\"HTTP/1.%d\",\"status\":%d,\"body_bytes_sent\":%llu,"
                     "\"request_body_bytes\":%llu,\"referer\":\"%s\",\"user_agent\":\"%s\","
                     "\"latency_ms\":%llu,\"request_id\":\"%s\",\"route\":\"%s\","
                     "\"service\":\"%s\",\"aborted\":%s}\n",
                     when, f.client_ip, e.method, e.target, f.minor, f.status, f.body_bytes,
                     (unsigned long long)s->req_body_bytes, e.referer, e.user_agent,
                     (unsigned long long)elapsed_ms, s->request_id, s->route ? s->route->id : "",
                     s->service ? s->service->id : "", s->aborted ? "true" : "false");
        n = sl_access_line_end(line, sizeof(line), m);
    } else {
        n = sl_access_format_combined(line, sizeof(line), &f, s->request_id);
    }
    if (n > 0) {
        ssize_t w = write(fd, line, n);
        (void)w;
    }
}
