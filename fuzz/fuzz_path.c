/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for sl_http_path_normalize: the result fits SL_HTTP_PATH_NORM_MAX, starts with
 * '/', holds only kept raw bytes and upper-case escapes of bytes that are not unreserved, is left
 * unchanged by Kong's escape() (sl_http_path_escape: it is already in forwarded form) and is
 * the escape of its Kong-decoded form, has no dot segment and no "//", and is idempotent. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ctype.h"
#include "http/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_upper_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t max = SL_HTTP_PATH_NORM_MAX(size ? size : 1);
    char *out = malloc(max);
    char *again = malloc(SL_HTTP_PATH_NORM_MAX(max));
    if (!out || !again) {
        abort();
    }
    long n = sl_http_path_normalize(in, size, out);
    if (n >= 0) {
        size_t len = (size_t)n;
        if (len > SL_HTTP_PATH_NORM_MAX(size) || len == 0 || out[0] != '/') {
            abort();
        }
        if (sl_http_path_escape(out, len, again) != len || memcmp(again, out, len) != 0) {
            abort(); /* nothing left that Kong would escape when forwarding */
        }
        /* Kong's decoded form (what regex paths see) escapes back to the same path, and its end
         * maps back to the path's end */
        size_t dlen = sl_http_path_kong_decode(out, len, again);
        char *back = malloc(SL_HTTP_PATH_NORM_MAX(dlen ? dlen : 1));
        if (!back || dlen > len || sl_http_path_escaped_offset(out, len, dlen) != len ||
            sl_http_path_escape(again, dlen, back) != len || memcmp(back, out, len) != 0) {
            abort();
        }
        free(back);
        for (size_t i = 0; i < len; i++) {
            if (out[i] == '%') {
                if (i + 2 >= len || !is_upper_hex(out[i + 1]) || !is_upper_hex(out[i + 2])) {
                    abort();
                }
                int v = (out[i + 1] <= '9' ? out[i + 1] - '0' : out[i + 1] - 'A' + 10) * 16 +
                        (out[i + 2] <= '9' ? out[i + 2] - '0' : out[i + 2] - 'A' + 10);
                if (v == 0 || SL_HC_IS(v, SL_HC_UNRES)) {
                    abort(); /* unreserved escapes are always decoded */
                }
                i += 2;
            } else if (!SL_HC_IS(out[i], SL_HC_PATH)) {
                abort();
            }
        }
        /* no "." or ".." segment survives, and no empty one: slashes are merged */
        if (memmem(out, len, "//", 2) != NULL) {
            abort();
        }
        size_t seg = 0;
        for (size_t i = 1; i <= len; i++) {
            if (i == len || out[i] == '/') {
                size_t sl = i - seg - 1;
                if ((sl == 1 && out[seg + 1] == '.') ||
                    (sl == 2 && out[seg + 1] == '.' && out[seg + 2] == '.')) {
                    abort();
                }
                seg = i;
            }
        }
        if (sl_http_path_normalize(out, len, again) != n || memcmp(again, out, len) != 0) {
            abort();
        }
    }
    free(out);
    free(again);
    return 0;
}
