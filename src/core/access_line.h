/* SPDX-License-Identifier: Apache-2.0 */
/* Access-log lines: the escaping that keeps a request from forging lines or fields, and nginx's
 * `combined` format, shared by the proxy's access log (proxy/access_log.c) and the Admin and
 * Status APIs' (admin/logs.c: admin_access_log, status_access_log). */
#ifndef SL_ACCESS_LINE_H
#define SL_ACCESS_LINE_H

#include <stdbool.h>
#include <stddef.h>

/* What a combined line shows of one request. Strings are the request's bytes as received (they
 * are escaped here); NULL prints as "-". client_ip is an address Sluice formatted itself. */
struct sl_access_line {
    const char *client_ip;
    const char *method;
    const char *target;
    int minor; /* HTTP/1.<minor> */
    int status;
    unsigned long long body_bytes; /* response body bytes sent */
    const char *referer;
    const char *user_agent;
};

/* Copies <s> (NULL: "-" for combined, "" for json) into <out> of <cap> bytes, NUL-terminated and
 * cut short rather than overflowing, escaping quotes, backslashes and control bytes: nginx's
 * escape=default for combined (every byte outside 0x20-0x7E as \xXX); for json, valid UTF-8
 * sequences are kept as they are (nginx's escape=json keeps high bytes, so "café" reads back as
 * "café") and any other byte is \u00XX, so the line stays valid UTF-8 JSON. Returns the length. */
size_t sl_access_escape(char *out, size_t cap, const char *s, bool json);

/* The request's fields of <f>, each escaped (sl_access_escape) and cut to its bound. */
struct sl_access_escaped {
    char method[64];
    char target[2048];
    char user_agent[512];
    char referer[512];
};
void sl_access_escape_fields(struct sl_access_escaped *out, const struct sl_access_line *f,
                             bool json);

/* The local time now, as combined lines show it (`28/Nov/2026:03:50:00 +0000`) or, with
 * <iso8601>, as `2026-11-28T03:50:00+0000`. */
void sl_access_time(char *out, size_t cap, bool iso8601);

/* The length of a line snprintf wrote into <line> of <cap> bytes (at least 2), <n> being what it
 * returned: 0 on an error, and a line longer than <cap> is cut and still ends with its newline. */
size_t sl_access_line_end(char *line, size_t cap, int n);

/* Formats <f> as one combined line in <line> (<cap> bytes, at least 2), with " <extra>" before
 * the newline when <extra> is not NULL (the proxy's request id). A line longer than <cap> is cut
 * and still ends with its newline. Returns its length. */
size_t sl_access_format_combined(char *line, size_t cap, const struct sl_access_line *f,
                                 const char *extra);

#endif
