/* SPDX-License-Identifier: Apache-2.0 */
/* Cached Date header value (http_date.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proxy/http_date.h"

static __thread time_t cached_sec;
static __thread char cached[40];

void
sl_http_date(char *buf, size_t len)
{
    time_t now = time(NULL);
    if (now != cached_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_sec = now;
    }
    snprintf(buf, len, "%s", cached);
}
