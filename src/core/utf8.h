/* SPDX-License-Identifier: Apache-2.0 */
/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. For output
 * that must stay valid UTF-8 (JSON logs, schema error messages) and for the router's check of a
 * decoded request path (Rust's str::from_utf8 in Kong's atc-router reads UTF-8 the same way).
 * The schema's Kong-compatible check of values is laxer on purpose (schema/typedefs.c, Kong's
 * utils.validate_utf8). */
#ifndef SL_CORE_UTF8_H
#define SL_CORE_UTF8_H

#include <stddef.h>

/* The length (2 to 4) of the valid multi-byte sequence that starts <s>, reading at most <len>
 * bytes; 0 when <s> does not start one (an ASCII byte, a stray continuation byte, an invalid or
 * truncated sequence). */
static inline size_t
sl_utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = len ? s[0] : 0;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80; /* no overlong */
        hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return n;
}

#endif
