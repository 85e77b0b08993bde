/* SPDX-License-Identifier: Apache-2.0 */
/* Incremental chunked transfer-coding decoder (RFC 9112 §7.1; hardening.md §1). A byte-at-a-time
 * state machine for the framing and one view per call for the data, so it gives the same answer
 * however the bytes are split across reads; it never buffers and never trusts a size it cannot
 * hold. */
#include <string.h>

#include "core/hex.h"
#include "http/ctype.h"
#include "http/h1.h"

enum {
    CH_SIZE = 0,   /* hex digits; st->line_bytes counts them, st->remaining accumulates */
    CH_SIZE_BWS,   /* SP/HTAB after the digits: only ';' may follow */
    CH_EXT_BWS1,   /* after ';', before the extension name */
    CH_EXT_NAME,   /* in the name */
    CH_EXT_BWS2,   /* SP/HTAB after the name: '=' or ';' */
    CH_EXT_BWS3,   /* after '=', before the value */
    CH_EXT_TOKEN,  /* in a token value */
    CH_EXT_QUOTED, /* in a quoted-string value */
    CH_EXT_QPAIR,  /* after '\' in a quoted-string */
    CH_EXT_QEND,   /* right after the closing '"' */
    CH_EXT_BWS4,   /* SP/HTAB after the value: ';' only */
    CH_SIZE_LF,    /* CR of the size line seen */
    CH_DATA,       /* st->remaining bytes of data left */
    CH_DATA_CR,    /* the CRLF that must follow the data */
    CH_DATA_LF,
    CH_TRAILER, /* start of a trailer line (or the final CRLF) */
    CH_TR_NAME,
    CH_TR_VALUE,
    CH_TR_LF,
    CH_END_LF, /* CR of the final CRLF seen */
    CH_DONE,
    CH_ERROR,
};

/* qdtext / quoted-pair bytes of RFC 9110 §5.6.4 (no CTL but HTAB, no DEL). */
static bool
is_qdtext(unsigned char c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/* The size line is complete (its CRLF, or in a response a bare LF, consumed): the data follows,
 * or the trailer section after the last chunk. */
static int
size_line_done(struct sl_h1_chunked *st)
{
    st->line_bytes = 0;
    return st->remaining ? CH_DATA : CH_TRAILER;
}

/* The state after the size line's last byte <c> of a line that may end at this point, or -1 when
 * <c> does not end it: CR, or in a response a bare LF (nginx reads those as line ends). */
static int
size_line_end(struct sl_h1_chunked *st, unsigned char c)
{
    if (c == '\r') {
        return CH_SIZE_LF;
    }
    return st->response && c == '\n' ? size_line_done(st) : -1;
}

/* Advances the state machine over one framing byte. Returns the next state or CH_ERROR. */
static int
step(struct sl_h1_chunked *st, unsigned char c)
{
    bool ws = c == ' ' || c == '\t';
    bool tchar = SL_HC_IS(c, SL_HC_TCHAR);
    bool lf = st->response && c == '\n'; /* a bare LF that ends a line */
    int end;

    /* the size line is counted with its CR: byte N+1 may only be that CR (or a response's LF) */
    if (st->state < CH_SIZE_LF && ++st->line_bytes > SL_H1_CHUNK_LINE_MAX && c != '\r' && !lf) {
        return CH_ERROR;
    }
    if (st->state >= CH_TRAILER && st->state <= CH_END_LF &&
        ++st->trailer_bytes > SL_H1_TRAILER_MAX) {
        return CH_ERROR;
    }
    switch (st->state) {
    case CH_SIZE:
        if (SL_HC_IS(c, SL_HC_HEX)) {
            /* 16 digits hold any uint64_t; more is refused even with leading zeros */
            if (st->line_bytes > 16) {
                return CH_ERROR;
            }
            st->remaining = (st->remaining << 4) | (uint64_t)sl_hex_value(c);
            return CH_SIZE;
        }
        if (st->line_bytes == 1) {
            return CH_ERROR; /* no digit: empty size, leading space, sign, "x" */
        }
        if ((end = size_line_end(st, c)) >= 0) {
            return end;
        }
        return c == ';' ? CH_EXT_BWS1 : ws ? CH_SIZE_BWS : CH_ERROR;
    case CH_SIZE_BWS:
    case CH_EXT_BWS2:
    case CH_EXT_BWS4:
        /* Whitespace may end a response's size line ("5 \r\n": some servers pad the size; nginx
         * and Go's client read it). In a request it is only BWS before ';' (and '=' after a
         * name). */
        if (st->response && (end = size_line_end(st, c)) >= 0) {
            return end;
        }
        if (ws) {
            return st->state;
        }
        return c == ';'                               ? CH_EXT_BWS1
               : c == '=' && st->state == CH_EXT_BWS2 ? CH_EXT_BWS3
                                                      : CH_ERROR;
    case CH_EXT_BWS1:
        return ws ? CH_EXT_BWS1 : tchar ? CH_EXT_NAME : CH_ERROR;
    case CH_EXT_NAME:
        if (tchar) {
            return CH_EXT_NAME;
        }
        if ((end = size_line_end(st, c)) >= 0) {
            return end;
        }
        return c == ';' ? CH_EXT_BWS1 : c == '=' ? CH_EXT_BWS3 : ws ? CH_EXT_BWS2 : CH_ERROR;
    case CH_EXT_BWS3:
        return ws ? CH_EXT_BWS3 : tchar ? CH_EXT_TOKEN : c == '"' ? CH_EXT_QUOTED : CH_ERROR;
    case CH_EXT_TOKEN:
        if (tchar) {
            return CH_EXT_TOKEN;
        }
        if ((end = size_line_end(st, c)) >= 0) {
            return end;
        }
        return c == ';' ? CH_EXT_BWS1 : ws ? CH_EXT_BWS4 : CH_ERROR;
    case CH_EXT_QUOTED:
        return c == '"'       ? CH_EXT_QEND
               : c == '\\'    ? CH_EXT_QPAIR
               : is_qdtext(c) ? CH_EXT_QUOTED
                              : CH_ERROR;
    case CH_EXT_QPAIR:
        return (c == '\t' || (c >= 0x20 && c != 0x7f)) ? CH_EXT_QUOTED : CH_ERROR;
    case CH_EXT_QEND:
        if ((end = size_line_end(st, c)) >= 0) {
            return end;
        }
        return c == ';' ? CH_EXT_BWS1 : ws ? CH_EXT_BWS4 : CH_ERROR;
    case CH_SIZE_LF:
        return c == '\n' ? size_line_done(st) : CH_ERROR;
    case CH_DATA_CR:
        /* more data than declared: runaway chunk */
        return c == '\r' ? CH_DATA_LF : lf ? CH_SIZE : CH_ERROR;
    case CH_DATA_LF:
        return c == '\n' ? CH_SIZE : CH_ERROR;
    case CH_TRAILER:
        /* SP/HTAB would be obs-fold, ':' an empty name, a request's LF a bare line end */
        return c == '\r' ? CH_END_LF : lf ? CH_DONE : tchar ? CH_TR_NAME : CH_ERROR;
    case CH_TR_NAME:
        return tchar ? CH_TR_NAME : c == ':' ? CH_TR_VALUE : CH_ERROR;
    case CH_TR_VALUE:
        return c == '\r'                  ? CH_TR_LF
               : lf                       ? CH_TRAILER
               : SL_HC_IS(c, SL_HC_VALUE) ? CH_TR_VALUE
                                          : CH_ERROR;
    case CH_TR_LF:
        return c == '\n' ? CH_TRAILER : CH_ERROR;
    case CH_END_LF:
        return c == '\n' ? CH_DONE : CH_ERROR;
    default:
        return CH_ERROR;
    }
}

ssize_t
sl_h1_chunked_decode(struct sl_h1_chunked *st, const char *buf, size_t len, struct sl_str *data)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t i = 0;

    *data = SL_STR_NULL;
    if (st->state == CH_ERROR) {
        return -400;
    }
    if (st->done || len == 0) {
        return 0;
    }
    while (i < len) {
        if (st->state == CH_DATA) {
            size_t n = len - i;
            if ((uint64_t)n > st->remaining) {
                n = (size_t)st->remaining;
            }
            *data = (struct sl_str){buf + i, n};
            st->remaining -= n;
            if (st->remaining == 0) {
                st->state = CH_DATA_CR;
            }
            return (ssize_t)(i + n);
        }
        int next = step(st, b[i++]);
        if (next == CH_ERROR) {
            st->state = CH_ERROR;
            return -400;
        }
        st->state = next;
        if (next == CH_DONE) {
            st->done = true;
            return (ssize_t)i;
        }
    }
    return (ssize_t)i;
}

uint64_t
sl_h1_chunked_announced(const struct sl_h1_chunked *st)
{
    /* remaining accumulates the digits in CH_SIZE, holds the size through the rest of the size
     * line, counts down in CH_DATA and is 0 from the data's CRLF on. */
    return st->state <= CH_DATA ? st->remaining : 0;
}
