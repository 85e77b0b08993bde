/* SPDX-License-Identifier: Apache-2.0 */
/* Access-log lines (access_line.h). */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/access_line.h"
#include "core/utf8.h"

size_t
sl_access_escape(char *out, size_t cap, const char *s, bool json)
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

void
sl_access_escape_fields(struct sl_access_escaped *out, const struct sl_access_line *f, bool json)
{
    sl_access_escape(out->method, sizeof(out->method), f->method, json);
    sl_access_escape(out->target, sizeof(out->target), f->target, json);
    sl_access_escape(out->user_agent, sizeof(out->user_agent), f->user_agent, json);
    sl_access_escape(out->referer, sizeof(out->referer), f->referer, json);
}

void
sl_access_time(char *out, size_t cap, bool iso8601)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(out, cap, iso8601 ? "%Y-%m-%dT%H:%M:%S%z" : "%d/%b/%Y:%H:%M:%S %z", &tm);
}

size_t
sl_access_format_combined(char *line, size_t cap, const struct sl_access_line *f, const char *extra)
{
    struct sl_access_escaped e;
    char when[64];
    sl_access_escape_fields(&e, f, false);
    sl_access_time(when, sizeof(when), false);
    int n =
        snprintf(line, cap, "%s - - [%s] \"%s %s HTTP/1.%d\" %d %llu \"%s\" \"%s\"%s%s\n",
                 f->client_ip ? f->client_ip : "-", when, e.method, e.target, f->minor, f->status,
                 f->body_bytes, e.referer, e.user_agent, extra ? " " : "", extra ? extra : "");
    return sl_access_line_end(line, cap, n);
}

size_t
sl_access_line_end(char *line, size_t cap, int n)
{
    if (n < 0) {
        return 0;
    }
    if ((size_t)n >= cap) {
        n = (int)cap - 1;
        line[n - 1] = '\n';
    }
    return (size_t)n;
}
