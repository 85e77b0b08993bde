/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer driver for sl_http_path_normalize: the result is never longer than the input, starts
 * with '/', holds only kept raw bytes and upper-case escapes of reserved bytes, has no dot segment
 * and no "//", is idempotent, and the in-place run gives the same bytes. */
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
    char *out = malloc(size ? size : 1);
    char *again = malloc(size ? size : 1);
    char *inplace = malloc(size ? size : 1);
    if (!out || !again || !inplace) {
        abort();
    }
    long n = sl_http_path_normalize(in, size, out);
    memcpy(inplace, data, size);
    if (sl_http_path_normalize(inplace, size, inplace) != n) {
        abort();
    }
    if (n >= 0) {
        size_t len = (size_t)n;
        if (len > size || len == 0 || out[0] != '/' || memcmp(inplace, out, len) != 0) {
            abort();
        }
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
    free(inplace);
    return 0;
}
