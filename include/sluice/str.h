/* SPDX-License-Identifier: Apache-2.0 */
/* Length-delimited string views. A view never owns its bytes and is never assumed NUL-terminated:
 * most views point into a receive buffer or a snapshot arena, whose lifetime the caller knows. */
#ifndef SL_STR_H
#define SL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct sl_str {
    const char *p; /* first byte; may be NULL when len == 0 */
    size_t len;    /* bytes */
};

#define SL_STR(lit) ((struct sl_str){(lit), sizeof(lit) - 1})
#define SL_STR_NULL ((struct sl_str){NULL, 0})
#define SL_STR_FMT "%.*s"
#define SL_STR_ARG(s) (int)(s).len, (s).p

static inline struct sl_str
sl_str_from_cstr(const char *s)
{
    return (struct sl_str){s, s ? strlen(s) : 0};
}

static inline bool
sl_str_eq(struct sl_str a, struct sl_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ASCII case-insensitive equality (header names, tokens). */
static inline bool
sl_str_caseeq(struct sl_str a, struct sl_str b)
{
    return a.len == b.len && (a.len == 0 || strncasecmp(a.p, b.p, a.len) == 0);
}

static inline bool
sl_str_caseeq_cstr(struct sl_str a, const char *b)
{
    return sl_str_caseeq(a, sl_str_from_cstr(b));
}

static inline bool
sl_str_starts_with(struct sl_str s, struct sl_str prefix)
{
    return s.len >= prefix.len && memcmp(s.p, prefix.p, prefix.len) == 0;
}

/* ASCII case-insensitive FNV-1a hash: equal under sl_str_caseeq, equal hashes (names, tokens). */
static inline unsigned
sl_str_casehash(struct sl_str s)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
    }
    return h;
}

/* Header field as it was on the wire (name and value are views; OWS around the value removed). */
struct sl_header {
    struct sl_str name;
    struct sl_str value;
};

#endif
