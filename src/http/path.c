/* SPDX-License-Identifier: Apache-2.0 */
/* Request path normalisation (path.h): one forward pass that decodes unreserved escapes, uppercases
 * the others, escapes the raw bytes Kong's escape() would, merges runs of slashes and removes dot
 * segments as each segment ends. The result is always a valid origin-form path that can be
 * forwarded as is. */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "core/hex.h"
#include "http/ctype.h"
#include "http/path.h"

static const char hex_digits[] = "0123456789ABCDEF";

/* Kong's RESERVED_CHARS (kong/tools/uri.lua): the escapes its normalize() leaves encoded, and with
 * the unreserved bytes the ones its escape() leaves raw. */
static inline bool
kong_reserved(unsigned char v)
{
    return v != 0 && strchr("!*'();:@&=+$,/?%#[]", v) != NULL;
}

/* A byte that Kong's escape() forwards as it is. The raw path bytes the normaliser accepts besides
 * ("<>^`{|} and bytes >= 0x80) leave escaped, as escape() sends them: a path has one spelling
 * whether the client sent "{" or "%7B", "é" or "%C3%A9", and a route path written in Kong's
 * decoded form (escaped by sl_http_path_escape) matches both. */
static inline bool
forwarded_raw(unsigned char c)
{
    return SL_HC_IS(c, SL_HC_UNRES) || kong_reserved(c);
}

static inline size_t
put_escape(char *out, size_t w, unsigned char v)
{
    out[w] = '%';
    out[w + 1] = hex_digits[v >> 4];
    out[w + 2] = hex_digits[v & 15];
    return w + 3;
}

size_t
sl_http_path_escape(const char *in, size_t len, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (forwarded_raw(c)) {
            out[w++] = (char)c;
        } else {
            w = put_escape(out, w, c);
        }
    }
    return w;
}

/* The byte an escape at <p> (with two more bytes before <end>) stands for when Kong's normalize()
 * decodes it; -1 when it is not an escape or stays encoded. */
static int
kong_decoded_escape(const char *p, const char *end)
{
    if (*p != '%' || end - p < 3 || !SL_HC_IS(p[1], SL_HC_HEX) || !SL_HC_IS(p[2], SL_HC_HEX)) {
        return -1;
    }
    unsigned char v =
        (unsigned char)(sl_hex_value((unsigned char)p[1]) << 4 | sl_hex_value((unsigned char)p[2]));
    return kong_reserved(v) ? -1 : v;
}

size_t
sl_http_path_kong_decode(const char *in, size_t len, char *out)
{
    const char *end = in + len;
    size_t w = 0;
    for (const char *p = in; p < end;) {
        int v = kong_decoded_escape(p, end);
        if (v >= 0) {
            out[w++] = (char)v;
            p += 3;
        } else {
            out[w++] = *p++;
        }
    }
    return w;
}

size_t
sl_http_path_escaped_offset(const char *in, size_t len, size_t dec_off)
{
    const char *p = in, *end = in + len;
    for (size_t d = 0; d < dec_off && p < end; d++) {
        p += kong_decoded_escape(p, end) >= 0 ? 3 : 1;
    }
    return (size_t)(p - in);
}

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
    size_t i = 0, w = 0;

    if (len == 0 || in[0] != '/' || len > (size_t)LONG_MAX) {
        return -1;
    }
    while (i < len) {
        /* invariant: in[i] == '/' */
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
                    w = put_escape(out, w, v);
                }
                i += 3;
            } else if (SL_HC_IS(c, SL_HC_PATH)) {
                if (forwarded_raw(c)) {
                    out[w++] = (char)c;
                } else {
                    w = put_escape(out, w, c);
                }
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
