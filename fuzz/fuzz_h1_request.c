/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for sl_h1_parse_request: any input, default and tiny limits. Checks that the
 * head length and every view stay inside the input, that prefixes only ever answer "need more" or
 * the final answer, that bytes after a complete head change nothing, and runs the path normaliser
 * on the parsed path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"
#include "http/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 128

static void
check_view(struct sl_str v, const char *buf, int rc)
{
    if (v.len && (v.p < buf || v.p + v.len > buf + rc)) {
        abort();
    }
}

static int
run(const char *buf, size_t len, const struct sl_h1_limits *lim, struct sl_h1_request *req,
    struct sl_header *hdrs)
{
    int rc = sl_h1_parse_request(buf, len, lim, req, hdrs, MAXH);
    if (rc > 0) {
        if ((size_t)rc > len || req->head_len != (size_t)rc || req->nheaders > MAXH) {
            abort();
        }
        if (lim && (req->nheaders > lim->max_headers || (size_t)rc > lim->max_header_bytes)) {
            abort();
        }
        check_view(req->method, buf, rc);
        check_view(req->target, buf, rc);
        check_view(req->path, buf, rc);
        check_view(req->query, buf, rc);
        check_view(req->host, buf, rc);
        check_view(req->upgrade_proto, buf, rc);
        for (size_t i = 0; i < req->nheaders; i++) {
            check_view(hdrs[i].name, buf, rc);
            check_view(hdrs[i].value, buf, rc);
            if (hdrs[i].name.len == 0) {
                abort();
            }
        }
        if (req->body >= SL_H1_BODY_MAX || req->body == SL_H1_BODY_UNTIL_CLOSE ||
            (req->minor != 0 && req->minor != 1)) {
            abort();
        }
        if (req->path.len && req->path.p[0] == '/') {
            char *out = malloc(SL_HTTP_PATH_NORM_MAX(req->path.len));
            if (!out) {
                abort();
            }
            long n = sl_http_path_normalize(req->path.p, req->path.len, out);
            if (n > (long)SL_HTTP_PATH_NORM_MAX(req->path.len)) {
                abort();
            }
            free(out);
        }
    } else if (rc != 0 && rc != -400 && rc != -405 && rc != -414 && rc != -431 && rc != -501 &&
               rc != -505) {
        abort();
    }
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sl_header hdrs[MAXH];
    struct sl_h1_request req;
    const char *buf = (const char *)data;
    static const struct sl_h1_limits tiny = {40, 40, 256, 4};

    for (int pass = 0; pass < 2; pass++) {
        const struct sl_h1_limits *lim = pass ? &tiny : NULL;
        int rc = run(buf, size, lim, &req, hdrs);

        /* prefixes: 0 or the final answer (for a complete head, 0 below its length) */
        size_t probes[3] = {size / 2, size ? size - 1 : 0, size ? data[0] % (size + 1) : 0};
        for (int i = 0; i < 3; i++) {
            size_t k = probes[i];
            int r = run(buf, k, lim, &req, hdrs);
            if (rc > 0) {
                if ((k < (size_t)rc && r != 0) || (k >= (size_t)rc && r != rc)) {
                    abort();
                }
            } else if (r != 0 && r != rc) {
                abort();
            }
            /* the re-parse guard never hides a complete head or a line/head limit */
            if (r == 0 && sl_h1_head_pending(buf, size, k, lim, false) && (rc > 0 || rc == -414)) {
                abort();
            }
        }

        /* more bytes after a complete head or an error change nothing */
        if (rc != 0) {
            char *more = malloc(size + 8);
            if (!more) {
                abort();
            }
            memcpy(more, data, size);
            memcpy(more + size, "X\r\n\r\n\n\r\0", 8);
            if (run(more, size + 8, lim, &req, hdrs) != rc) {
                abort();
            }
            free(more);
        }
    }
    return 0;
}
