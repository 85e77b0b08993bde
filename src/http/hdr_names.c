/* SPDX-License-Identifier: Apache-2.0 */
/* Header-name lookup (hdr_names.h): a switch on the length, then on the first letter, then one
 * exact comparison, so a name costs one compare at most whatever the number of known names. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/hdr_names.h"

static const char *const names[SL_HN_MAX] = {
    [SL_HN_OTHER] = "",
    [SL_HN_ACCEPT] = "accept",
    [SL_HN_AUTHORIZATION] = "authorization",
    [SL_HN_CONNECTION] = "connection",
    [SL_HN_CONTENT_LENGTH] = "content-length",
    [SL_HN_CONTENT_RANGE] = "content-range",
    [SL_HN_CONTENT_TYPE] = "content-type",
    [SL_HN_DATE] = "date",
    [SL_HN_EXPECT] = "expect",
    [SL_HN_HOST] = "host",
    [SL_HN_IF_MATCH] = "if-match",
    [SL_HN_IF_MODIFIED_SINCE] = "if-modified-since",
    [SL_HN_IF_NONE_MATCH] = "if-none-match",
    [SL_HN_IF_RANGE] = "if-range",
    [SL_HN_IF_UNMODIFIED_SINCE] = "if-unmodified-since",
    [SL_HN_KEEP_ALIVE] = "keep-alive",
    [SL_HN_PROXY] = "proxy",
    [SL_HN_PROXY_AUTHENTICATE] = "proxy-authenticate",
    [SL_HN_PROXY_AUTHORIZATION] = "proxy-authorization",
    [SL_HN_PROXY_CONNECTION] = "proxy-connection",
    [SL_HN_REFERER] = "referer",
    [SL_HN_SERVER] = "server",
    [SL_HN_TE] = "te",
    [SL_HN_TRAILER] = "trailer",
    [SL_HN_TRANSFER_ENCODING] = "transfer-encoding",
    [SL_HN_UPGRADE] = "upgrade",
    [SL_HN_USER_AGENT] = "user-agent",
    [SL_HN_VIA] = "via",
    [SL_HN_X_FORWARDED_FOR] = "x-forwarded-for",
    [SL_HN_X_FORWARDED_HOST] = "x-forwarded-host",
    [SL_HN_X_FORWARDED_PATH] = "x-forwarded-path",
    [SL_HN_X_FORWARDED_PORT] = "x-forwarded-port",
    [SL_HN_X_FORWARDED_PREFIX] = "x-forwarded-prefix",
    [SL_HN_X_FORWARDED_PROTO] = "x-forwarded-proto",
    [SL_HN_X_REAL_IP] = "x-real-ip",
    [SL_HN_X_SLUICE_REQUEST_ID] = "x-sluice-request-id",
};

static inline uint64_t
load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* <p> equals the lowercase <lower> ASCII case-insensitively: a letter matches either case, every
 * other byte only itself. The known names hold only letters and '-', so eight bytes are compared
 * at a time: a letter's bit 0x40 moved down gives the 0x20 case bit to fold at exactly the letter
 * positions ('-' has no 0x40 bit, so it must match as is and CR never passes for it). */
static inline bool
caseeq_lower(const char *p, const char *lower, size_t n)
{
    const uint64_t fold_bits = 0x2020202020202020ull;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t l = load64(lower + i);
            if ((load64(p + i) | ((l >> 1) & fold_bits)) != l) {
                return false;
            }
        }
        if (i < n) {
            /* the last, overlapping word */
            uint64_t l = load64(lower + n - 8);
            return (load64(p + n - 8) | ((l >> 1) & fold_bits)) == l;
        }
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        unsigned char l = (unsigned char)lower[i];
        if ((c | ((l >> 1) & 0x20)) != l) {
            return false;
        }
    }
    return true;
}

/* The id when <name> is exactly <id>'s name (the length is already known to match). */
static inline enum sl_hn
check(struct sl_str name, enum sl_hn id)
{
    return caseeq_lower(name.p, names[id], name.len) ? id : SL_HN_OTHER;
}

enum sl_hn
sl_http_hn_lookup(struct sl_str name)
{
    if (name.len < 2) {
        return SL_HN_OTHER;
    }
    /* Only a hint for the switch: check() compares every byte exactly. */
    unsigned char c0 = (unsigned char)name.p[0] | 0x20;
    switch (name.len) {
    case 2:
        return check(name, SL_HN_TE);
    case 3:
        return check(name, SL_HN_VIA);
    case 4:
        return check(name, c0 == 'd' ? SL_HN_DATE : SL_HN_HOST);
    case 5:
        return check(name, SL_HN_PROXY);
    case 6:
        switch (c0) {
        case 'a':
            return check(name, SL_HN_ACCEPT);
        case 'e':
            return check(name, SL_HN_EXPECT);
        case 's':
            return check(name, SL_HN_SERVER);
        default:
            return SL_HN_OTHER;
        }
    case 7:
        switch (c0) {
        case 'r':
            return check(name, SL_HN_REFERER);
        case 't':
            return check(name, SL_HN_TRAILER);
        case 'u':
            return check(name, SL_HN_UPGRADE);
        default:
            return SL_HN_OTHER;
        }
    case 8:
        /* if-match / if-range differ at byte 3 */
        return check(name,
                     ((unsigned char)name.p[3] | 0x20) == 'm' ? SL_HN_IF_MATCH : SL_HN_IF_RANGE);
    case 9:
        return check(name, SL_HN_X_REAL_IP);
    case 10:
        switch (c0) {
        case 'c':
            return check(name, SL_HN_CONNECTION);
        case 'k':
            return check(name, SL_HN_KEEP_ALIVE);
        case 'u':
            return check(name, SL_HN_USER_AGENT);
        default:
            return SL_HN_OTHER;
        }
    case 12:
        return check(name, SL_HN_CONTENT_TYPE);
    case 13:
        switch (c0) {
        case 'a':
            return check(name, SL_HN_AUTHORIZATION);
        case 'c':
            return check(name, SL_HN_CONTENT_RANGE);
        case 'i':
            return check(name, SL_HN_IF_NONE_MATCH);
        default:
            return SL_HN_OTHER;
        }
    case 14:
        return check(name, SL_HN_CONTENT_LENGTH);
    case 15:
        return check(name, SL_HN_X_FORWARDED_FOR);
    case 16:
        if (c0 == 'p') {
            return check(name, SL_HN_PROXY_CONNECTION);
        }
        /* x-forwarded-host / -port / -path differ from byte 12 on */
        switch ((unsigned char)name.p[12] | 0x20) {
        case 'h':
            return check(name, SL_HN_X_FORWARDED_HOST);
        case 'p':
            return check(name, ((unsigned char)name.p[13] | 0x20) == 'o' ? SL_HN_X_FORWARDED_PORT
                                                                         : SL_HN_X_FORWARDED_PATH);
        default:
            return SL_HN_OTHER;
        }
    case 17:
        switch (c0) {
        case 't':
            return check(name, SL_HN_TRANSFER_ENCODING);
        case 'i':
            return check(name, SL_HN_IF_MODIFIED_SINCE);
        default:
            return check(name, SL_HN_X_FORWARDED_PROTO);
        }
    case 18:
        return check(name, c0 == 'p' ? SL_HN_PROXY_AUTHENTICATE : SL_HN_X_FORWARDED_PREFIX);
    case 19:
        switch (c0) {
        case 'i':
            return check(name, SL_HN_IF_UNMODIFIED_SINCE);
        case 'p':
            return check(name, SL_HN_PROXY_AUTHORIZATION);
        default:
            return check(name, SL_HN_X_SLUICE_REQUEST_ID);
        }
    default:
        return SL_HN_OTHER;
    }
}

const char *
sl_http_hn_name(enum sl_hn id)
{
    return (unsigned)id < SL_HN_MAX ? names[id] : "";
}
