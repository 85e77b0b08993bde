/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for sl_h1_parse_response. The first byte picks HEAD or not; checks bounds of the
 * head and its views, the body/keep-alive rules that must always hold, and prefix stability. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"

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
run(const char *buf, size_t len, bool head, struct sl_h1_response *res, struct sl_header *hdrs)
{
    int rc = sl_h1_parse_response(buf, len, NULL, head, res, hdrs, MAXH);
    if (rc > 0) {
        if ((size_t)rc > len || res->head_len != (size_t)rc || res->nheaders > MAXH) {
            abort();
        }
        if (res->status < 100 || res->status > 999 || res->body >= SL_H1_BODY_MAX) {
            abort();
        }
        check_view(res->reason, buf, rc);
        for (size_t i = 0; i < res->nheaders; i++) {
            check_view(hdrs[i].name, buf, rc);
            check_view(hdrs[i].value, buf, rc);
        }
        bool bodyless = head || res->status < 200 || res->status == 204 || res->status == 304;
        if (bodyless && res->body != SL_H1_BODY_NONE) {
            abort();
        }
        if (res->body == SL_H1_BODY_UNTIL_CLOSE && res->keep_alive) {
            abort();
        }
        if (res->upgrade != (res->status == 101)) {
            abort();
        }
        if (res->body == SL_H1_BODY_CHUNKED &&
            sl_h1_find_header(hdrs, res->nheaders, "content-length")) {
            abort(); /* TE+CL must never pass */
        }
    } else if (rc != 0 && rc != -502) {
        abort();
    }
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sl_header hdrs[MAXH];
    struct sl_h1_response res;
    if (size < 1) {
        return 0;
    }
    bool head = data[0] & 1;
    const char *buf = (const char *)data + 1;
    size--;
    int rc = run(buf, size, head, &res, hdrs);
    size_t probes[2] = {size / 2, size ? size - 1 : 0};
    for (int i = 0; i < 2; i++) {
        int r = run(buf, probes[i], head, &res, hdrs);
        if (rc > 0) {
            if ((probes[i] < (size_t)rc && r != 0) || (probes[i] >= (size_t)rc && r != rc)) {
                abort();
            }
        } else if (r != 0 && r != rc) {
            abort();
        }
    }
    return 0;
}
