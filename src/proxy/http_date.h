/* SPDX-License-Identifier: Apache-2.0 */
/* IMF-fixdate for Date headers, formatted at most once per second per thread. */
#ifndef SL_PROXY_HTTP_DATE_H
#define SL_PROXY_HTTP_DATE_H

#include <stddef.h>

void sl_http_date(char *buf, size_t len);

#endif
