/* SPDX-License-Identifier: Apache-2.0 */
/* Request path normalisation (path.h): one forward pass that decodes unreserved escapes, uppercases
 * the others, merges runs of slashes and removes dot segments as each segment ends. The output
 * never grows, so the pass can run in place, and the result is always a valid origin-form path that
 * can be forwarded as is. */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "core/hex.h"
#include "http/ctype.h"
#include "http/path.h"

/* Start of the last segment in out[0..w) (the index of its '/'); 0 when there is none. */
static size_t
prev_segment(const char *out, size_t w)
{
    while (w > 0) {
        w--;
        if (out[w] == '/') {
            return w;
        }
    }
    return 0;
}

long
sl_http_path_normalize(const char *in, size_t len, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0, w = 0;

    if (len == 0 || in[0] != '/' || len > (size_t)LONG_MAX) {
        return -1;
    }
    while (i < len) {
        /* invariant: in[i] == '/', and w <= i so that <out> may alias <in> */
        size_t seg = w;
        out[w++] = '/';
        i++;
        /* "//" is one separator, as in Kong's normalize(uri, true): the upstream (nginx's
         * merge_slashes, most frameworks) reads "//admin" as "/admin", so routing must too */
        while (i < len && in[i] == '/') {
            i++;
        }
        while (i < len && in[i] != '/') {
            unsigned char c = (unsigned char)in[i];
            if (c == '%') {
                if (len - i < 3 || !SL_HC_IS(in[i + 1], SL_HC_HEX) ||
                    !SL_HC_IS(in[i + 2], SL_HC_HEX)) {
                    return -1;
                }
                unsigned char hi = (unsigned char)in[i + 1], lo = (unsigned char)in[i + 2];
                unsigned char v = (unsigned char)(sl_hex_value(hi) << 4 | sl_hex_value(lo));
                if (v == 0) {
                    return -1;
                }
                if (SL_HC_IS(v, SL_HC_UNRES)) {
                    out[w++] = (char)v;
                } else {
                    out[w++] = '%';
                    out[w++] = hex[v >> 4];
                    out[w++] = hex[v & 15];
                }
                i += 3;
            } else if (SL_HC_IS(c, SL_HC_PATH)) {
                out[w++] = (char)c;
                i++;
            } else {
                return -1;
            }
        }
        size_t n = w - seg - 1;
        bool last = i == len;
        if (n == 1 && out[seg + 1] == '.') {
            w = seg;
        } else if (n == 2 && out[seg + 1] == '.' && out[seg + 2] == '.') {
            /* ".." removes the previous segment; at the root there is none, so it cannot climb */
            w = prev_segment(out, seg);
        } else {
            continue;
        }
        if (last) {
            out[w++] = '/'; /* "/a/." and "/a/b/.." keep their trailing slash: "/a/" */
        }
    }
    return (long)w;
}
