/* SPDX-License-Identifier: Apache-2.0 */
/* Strict HTTP/1.1 request and response head parsing (RFC 9112, hardening.md §1-3, §7): one pass
 * over the caller's buffer, views only, no allocation and no writes to the input. Framing and Host
 * rules that decide how the rest of the connection is read are enforced here, so no caller can
 * forget them. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "http/ctype.h"
#include "http/h1.h"
#include "http/hdr_names.h"

/* Flags of the byte classes are documented in ctype.h; tests/unit/http/test_ctype.c rebuilds the
 * table from the class definitions and compares, so this block is checked, not trusted. */
const uint8_t sl_http_ctype[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x47, 0x46, 0x03, 0x47, 0x07, 0x47, 0x47, 0x46, 0x46, 0x47, 0x47, 0x46, 0xe7, 0xe7, 0x46,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x46, 0x46, 0x46, 0x46, 0x46, 0x06,
    0x46, 0xef, 0xef, 0xef, 0xef, 0xef, 0xef, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7,
    0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0x46, 0x06, 0x46, 0x47, 0xe7,
    0x47, 0xef, 0xef, 0xef, 0xef, 0xef, 0xef, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7,
    0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0xe7, 0x46, 0x47, 0x46, 0xe7, 0x00,
    0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
    0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
    0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
    0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
    0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
    0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
    0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
    0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46, 0x46,
};

/* ---- word-at-a-time scanning ---------------------------------------------------------------- */

/* Targets and header values are the long fields of a head; checking 8 bytes per step with the
 * classic SWAR predicates (exact as booleans) keeps the common case off the per-byte table loop.
 * Any flagged word falls back to the table for those 8 bytes, so the tables stay the only truth. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t
load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Some byte of <x> is below <n> (n <= 128). */
static inline uint64_t
has_less(uint64_t x, uint64_t n)
{
    return (x - ONES * n) & ~x & HIGHS;
}

/* Some byte of <x> is above <n> (n <= 127). */
static inline uint64_t
has_more(uint64_t x, uint64_t n)
{
    return ((x + ONES * (127 - n)) | x) & HIGHS;
}

static inline uint64_t
has_byte(uint64_t x, unsigned char c)
{
    return has_less(x ^ (ONES * c), 1);
}

/* Bytes outside 0x21..0x7e or '#': a request-target word that goes to the per-byte table (which
 * takes bytes >= 0x80 and refuses the others). */
static inline bool
word_not_target(uint64_t x)
{
    return (has_less(x, 0x21) | has_more(x, 0x7e) | has_byte(x, '#')) != 0;
}

/* CTLs (HTAB included, so it takes the exact path) and DEL: what a field value word may not hold.
 */
static inline bool
word_not_value(uint64_t x)
{
    return (has_less(x, 0x20) | has_byte(x, 0x7f)) != 0;
}

/* A method byte as nginx (and so Kong) takes it: A-Z, '_', '-'. RFC 9110 allows any tchar, but
 * methods are case-sensitive and routes match them uppercase, while some upstreams fold case: a
 * "head" the router saw as an unknown method would be answered there as HEAD, without the body
 * Sluice then waits for. */
static size_t
scan_method(const unsigned char *b, size_t q, size_t stop)
{
    while (q < stop && ((b[q] >= 'A' && b[q] <= 'Z') || b[q] == '_' || b[q] == '-')) {
        q++;
    }
    return q;
}

/* Returns the index of the first byte in [q, stop) outside <cls>, or <stop>. */
static size_t
scan_class(const unsigned char *b, size_t q, size_t stop, uint8_t cls)
{
    while (q < stop && SL_HC_IS(b[q], cls)) {
        q++;
    }
    return q;
}

static size_t
scan_fast(const unsigned char *b, size_t q, size_t stop, uint8_t cls, bool (*word_bad)(uint64_t))
{
    for (;;) {
        while (stop - q >= 8 && !word_bad(load64(b + q))) {
            q += 8;
        }
        size_t lim = stop - q > 8 ? q + 8 : stop;
        while (q < lim && SL_HC_IS(b[q], cls)) {
            q++;
        }
        if (q < lim || q == stop) {
            return q;
        }
    }
}

/* ---- small syntax helpers ------------------------------------------------------------------- */

static inline bool
is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static inline struct sl_str
trim_ows(struct sl_str s)
{
    while (s.len > 0 && is_ows((unsigned char)s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_ows((unsigned char)s.p[s.len - 1])) {
        s.len--;
    }
    return s;
}

static inline bool
caseeq_lit(struct sl_str s, const char *lit, size_t litlen)
{
    return s.len == litlen && strncasecmp(s.p, lit, litlen) == 0;
}

#define CASEEQ(s, lit) caseeq_lit((s), (lit), sizeof(lit) - 1)

/* Iterates the elements of a comma-separated list: returns false at the end, otherwise sets <*el>
 * to the next element with OWS trimmed (possibly empty) and advances <*list>. */
static bool
list_next(struct sl_str *list, struct sl_str *el, bool *more)
{
    if (!*more) {
        return false;
    }
    const char *comma = list->len ? memchr(list->p, ',', list->len) : NULL;
    size_t n = comma ? (size_t)(comma - list->p) : list->len;
    *el = trim_ows((struct sl_str){list->p, n});
    if (comma) {
        list->p = comma + 1;
        list->len -= n + 1;
    } else {
        *more = false;
    }
    return true;
}

static bool
is_token(struct sl_str s)
{
    if (s.len == 0) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (!SL_HC_IS(s.p[i], SL_HC_TCHAR)) {
            return false;
        }
    }
    return true;
}

/* Content-Length: 1*DIGIT, decimal, at most 2^63-1 so it fits an off_t. No sign, space or list. */
static bool
parse_content_length(struct sl_str v, uint64_t *out)
{
    if (v.len == 0) {
        return false;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (!SL_HC_IS(c, SL_HC_DIGIT)) {
            return false;
        }
        if (n > ((uint64_t)INT64_MAX - (c - '0')) / 10) {
            return false;
        }
        n = n * 10 + (c - '0');
    }
    *out = n;
    return true;
}

/* port = 1*5DIGIT, at most 65535 (empty ports are refused: no client sends "host:"). */
static bool
port_valid(const char *p, size_t n)
{
    if (n == 0 || n > 5) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!SL_HC_IS(p[i], SL_HC_DIGIT)) {
            return false;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    return v <= 65535;
}

/* Host (RFC 9110 §7.2 uri-host [":" port]), stricter than RFC 3986 reg-name like nginx: a DNS name
 * or IPv4 of ALPHA DIGIT - . _ ~ without empty labels ("..", leading '.'), or an IPv6 literal in
 * brackets; no userinfo, no percent-escapes, no sub-delims. A trailing '.' is left to the router.
 * <need_port>: authority-form of CONNECT, where the port is mandatory. */
static bool
host_valid(struct sl_str h, bool need_port)
{
    size_t i = 0;
    if (h.len == 0) {
        return false;
    }
    if (h.p[0] == '[') {
        const char *close = memchr(h.p, ']', h.len);
        if (!close || close == h.p + 1) {
            return false;
        }
        bool colon = false;
        for (i = 1; h.p + i < close; i++) {
            unsigned char c = (unsigned char)h.p[i];
            if (c == ':') {
                colon = true;
            } else if (!SL_HC_IS(c, SL_HC_HEX) && c != '.') {
                return false;
            }
        }
        if (!colon) {
            return false;
        }
        i++; /* past ']' */
    } else {
        for (; i < h.len && h.p[i] != ':'; i++) {
            unsigned char c = (unsigned char)h.p[i];
            if (!SL_HC_IS(c, SL_HC_HOST)) {
                return false;
            }
            if (c == '.' && (i == 0 || h.p[i - 1] == '.')) {
                return false;
            }
        }
        if (i == 0) {
            return false;
        }
    }
    if (i == h.len) {
        return !need_port;
    }
    if (h.p[i] != ':') {
        return false;
    }
    return port_valid(h.p + i + 1, h.len - i - 1);
}

/* ---- the head: start line limits and header fields ----------------------------------------- */

/* One parse call. <end> is the number of bytes we may look at: the buffer, cut at the head limit.
 * Running out of bytes is "need more" unless the head limit itself was reached. */
struct head {
    const unsigned char *b;
    size_t end;
    bool capped; /* end == max_header_bytes: the head cannot complete in more bytes */
    /* A bare LF ends a line too (upstream responses only, RFC 9112 §2.2 MAY): a CR must still be
     * followed by LF. Requests leave it false, so a bare LF there stays a 400. */
    bool lf_eol;
};

/* The byte at <q> ends the line on its own (<q> is inside the buffer). */
static inline bool
bare_lf_ends(const struct head *h, size_t q)
{
    return h->lf_eol && h->b[q] == '\n';
}

static inline int
need_more(const struct head *h)
{
    return h->capped ? -431 : 0;
}

/* Returns 1 when the byte at <q> exists and may be examined, else the status to return: need more,
 * or <over> when <q> is the first byte past the line limit and not the CR that would end it. */
static inline int
line_at(const struct head *h, size_t q, size_t lend, int over)
{
    if (q >= h->end) {
        return need_more(h);
    }
    if (q >= lend && h->b[q] != '\r' && !bare_lf_ends(h, q)) {
        return over;
    }
    return 1;
}

#define LINE_AT(h, q, lend, over)                                                                  \
    do {                                                                                           \
        int rc_ = line_at((h), (q), (lend), (over));                                               \
        if (rc_ != 1) {                                                                            \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)

static inline size_t
line_end(const struct head *h, size_t start, size_t max)
{
    return start + (max < h->end - start ? max : h->end - start);
}

/* Parses header fields from <q> to the empty line. Returns the head length, 0 or a negative status
 * (-400 syntax, -431 limits). Each line: tchar name, ':' with nothing before it, OWS,
 * VCHAR/obs-text with inner SP/HTAB, OWS, CRLF. */
static int
parse_fields(const struct head *h, size_t q, const struct sl_h1_limits *lim, struct sl_header *hdrs,
             size_t max_hdrs, size_t *nh)
{
    const unsigned char *b = h->b;
    size_t n = 0;
    for (;;) {
        if (q >= h->end) {
            return need_more(h);
        }
        if (bare_lf_ends(h, q)) {
            *nh = n;
            return (int)(q + 1);
        }
        if (b[q] == '\r') {
            if (q + 1 >= h->end) {
                return need_more(h);
            }
            if (b[q + 1] != '\n') {
                return -400;
            }
            *nh = n;
            return (int)(q + 2);
        }
        if (n >= lim->max_headers || n >= max_hdrs) {
            return -431;
        }
        size_t hs = q;
        size_t lend = line_end(h, hs, lim->max_header_line);
        q = scan_class(b, q, lend, SL_HC_TCHAR);
        LINE_AT(h, q, lend, -431);
        if (q == hs || b[q] != ':') {
            return -400; /* empty name, obs-fold, SP before ':', bare LF, no colon, bad byte */
        }
        size_t ne = q++;
        q = scan_fast(b, q, lend, SL_HC_VALUE, word_not_value);
        LINE_AT(h, q, lend, -431);
        size_t ve = q;
        if (bare_lf_ends(h, q)) {
            q++;
        } else {
            if (b[q] != '\r') {
                return -400; /* CTL, NUL, DEL or bare LF in the value */
            }
            if (++q >= h->end) {
                return need_more(h);
            }
            if (b[q] != '\n') {
                return -400;
            }
            q++;
        }
        hdrs[n].name = (struct sl_str){(const char *)b + hs, ne - hs};
        hdrs[n].value = trim_ows((struct sl_str){(const char *)b + ne + 1, ve - ne - 1});
        n++;
    }
}

/* Matches "HTTP/d.d" at <q> (which is at most <lend>) and leaves the two digits in <*major>,
 * <*minor>. Returns 1 or the status to return. */
static int
parse_version(const struct head *h, size_t *q, size_t lend, int over, int *major, int *minor)
{
    static const char proto[] = "HTTP/";
    const unsigned char *v = h->b + *q;
    if (*q + 8 <= lend) {
        /* all eight bytes are inside the line, so inside the buffer */
        if (memcmp(v, proto, 5) != 0 || !SL_HC_IS(v[5], SL_HC_DIGIT) || v[6] != '.' ||
            !SL_HC_IS(v[7], SL_HC_DIGIT)) {
            return -400;
        }
        *q += 8;
        *major = v[5] - '0';
        *minor = v[7] - '0';
        return 1;
    }
    /* The line ends within the eight bytes (at the line limit or at the end of the buffer), so
     * they cannot match. Byte by byte, so that a short buffer gives its prefix's answer: a byte
     * before <lend> that no version has there is a 400 at once; else the byte at <lend> decides:
     * not read yet (need more), past the limit (<over>), or the CR that ends the line (or a
     * response's bare LF) where a version byte belongs (400). */
    for (size_t i = 0; *q + i < lend; i++) {
        unsigned char c = v[i];
        bool ok =
            i < 5 ? c == (unsigned char)proto[i] : (i == 6 ? c == '.' : SL_HC_IS(c, SL_HC_DIGIT));
        if (!ok) {
            return -400;
        }
    }
    LINE_AT(h, lend, lend, over);
    return -400;
}

/* CRLF at <q> ending the start line (or a bare LF when h->lf_eol). Returns 1 (q moved past it) or
 * the status to return. */
static int
parse_crlf(const struct head *h, size_t *q, size_t lend, int over)
{
    LINE_AT(h, *q, lend, over);
    if (bare_lf_ends(h, *q)) {
        (*q)++;
        return 1;
    }
    if (h->b[*q] != '\r') {
        return -400;
    }
    (*q)++;
    if (*q >= h->end) {
        return need_more(h);
    }
    if (h->b[*q] != '\n') {
        return -400;
    }
    (*q)++;
    return 1;
}

/* What the framing and connection headers say, gathered in one pass over the fields. */
struct fields {
    const struct sl_header *host, *cl, *te, *upgrade;
    unsigned nhost, ncl, nte;
    /* A second line of a header nginx holds to one (ngx_http_process_unique_header_line):
     * Authorization, Expect, If-*, Content-Range. */
    bool dup_unique;
    uint64_t unique_seen; /* bit per SL_HN id */
    bool conn_close, conn_keepalive, conn_upgrade, expect_continue;
};

static void
scan_connection(struct sl_str v, struct fields *f)
{
    struct sl_str el;
    bool more = true;
    while (list_next(&v, &el, &more)) {
        if (CASEEQ(el, "close")) {
            f->conn_close = true;
        } else if (CASEEQ(el, "keep-alive")) {
            f->conn_keepalive = true;
        } else if (CASEEQ(el, "upgrade")) {
            f->conn_upgrade = true;
        }
    }
}

static void
note_unique(struct fields *f, enum sl_hn id)
{
    _Static_assert(SL_HN_MAX <= 64, "one bit per header-name id");
    uint64_t bit = UINT64_C(1) << id;
    f->dup_unique |= (f->unique_seen & bit) != 0;
    f->unique_seen |= bit;
}

static void
collect_fields(const struct sl_header *hdrs, size_t n, struct fields *f)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < n; i++) {
        const struct sl_header *hd = &hdrs[i];
        /* one exact, case-insensitive name lookup per field (hdr_names.c) */
        enum sl_hn id = sl_http_hn_lookup(hd->name);
        switch (id) {
        case SL_HN_HOST:
            f->host = f->nhost++ ? f->host : hd;
            break;
        case SL_HN_EXPECT:
            if (CASEEQ(hd->value, "100-continue")) {
                f->expect_continue = true;
            }
            note_unique(f, SL_HN_EXPECT);
            break;
        case SL_HN_AUTHORIZATION:
        case SL_HN_CONTENT_RANGE:
        case SL_HN_IF_MATCH:
        case SL_HN_IF_MODIFIED_SINCE:
        case SL_HN_IF_NONE_MATCH:
        case SL_HN_IF_RANGE:
        case SL_HN_IF_UNMODIFIED_SINCE:
            note_unique(f, id);
            break;
        case SL_HN_UPGRADE:
            if (!f->upgrade) {
                f->upgrade = hd;
            }
            break;
        case SL_HN_CONNECTION:
            scan_connection(hd->value, f);
            break;
        case SL_HN_CONTENT_LENGTH:
            f->cl = f->ncl++ ? f->cl : hd;
            break;
        case SL_HN_TRANSFER_ENCODING:
            f->te = f->nte++ ? f->te : hd;
            break;
        default:
            break;
        }
    }
}

/* Transfer-Encoding of a request: only exactly "chunked" is accepted. Returns 0, -400 for a
 * malformed list (empty element, non-token, chunked twice) or -501 for any other coding. */
static int
check_te(struct sl_str v)
{
    struct sl_str el;
    bool more = true;
    unsigned chunked = 0, other = 0;
    while (list_next(&v, &el, &more)) {
        if (!is_token(el)) {
            return -400;
        }
        if (CASEEQ(el, "chunked")) {
            chunked++;
        } else {
            other++;
        }
    }
    if (chunked > 1) {
        return -400;
    }
    return other ? -501 : 0;
}

/* ---- request -------------------------------------------------------------------------------- */

static bool
method_is(struct sl_str m, const char *lit)
{
    return sl_str_eq(m, sl_str_from_cstr(lit));
}

/* Classifies the request-target (RFC 9112 §3.2) and fills path, query and, for absolute-form, host.
 * Returns 0 or -400. CONNECT's authority-form is only checked here; the method is refused later. */
static int
parse_target(struct sl_h1_request *req, struct sl_str *authority)
{
    struct sl_str t = req->target;
    struct sl_str rest;
    if (method_is(req->method, "CONNECT")) {
        return host_valid(t, true) ? 0 : -400;
    }
    if (t.p[0] == '/') {
        rest = t;
    } else if (t.len == 1 && t.p[0] == '*') {
        if (!method_is(req->method, "OPTIONS")) {
            return -400;
        }
        req->path = t;
        return 0;
    } else {
        /* absolute-form: only http and https (any case), then "//" authority */
        size_t slen;
        if (t.len > 7 && strncasecmp(t.p, "http://", 7) == 0) {
            slen = 7;
        } else if (t.len > 8 && strncasecmp(t.p, "https://", 8) == 0) {
            slen = 8;
        } else {
            return -400;
        }
        size_t i = slen;
        while (i < t.len && t.p[i] != '/' && t.p[i] != '?') {
            i++;
        }
        *authority = (struct sl_str){t.p + slen, i - slen};
        if (!host_valid(*authority, false)) {
            return -400;
        }
        if (i == t.len || t.p[i] == '?') {
            /* empty path means "/": point at the '/' ending "://" so the view stays in the buffer
             */
            req->path = (struct sl_str){t.p + slen - 1, 1};
            if (i < t.len) {
                req->has_query = true;
                req->query = (struct sl_str){t.p + i + 1, t.len - i - 1};
            }
            return 0;
        }
        rest = (struct sl_str){t.p + i, t.len - i};
    }
    const char *qm = memchr(rest.p, '?', rest.len);
    if (qm) {
        req->path = (struct sl_str){rest.p, (size_t)(qm - rest.p)};
        req->has_query = true;
        req->query = (struct sl_str){qm + 1, rest.len - req->path.len - 1};
    } else {
        req->path = rest;
    }
    return 0;
}

/* The OWS that trim_ows removed around <h>'s value holds an HTAB. The value is a view of a
 * complete header line, so the bytes from the ':' to the CR that ends it are all in the buffer. */
static bool
ows_has_htab(const struct sl_header *h)
{
    const char *p = h->name.p + h->name.len + 1;
    for (; p < h->value.p; p++) {
        if (*p == '\t') {
            return true;
        }
    }
    for (p = h->value.p + h->value.len; is_ows((unsigned char)*p); p++) {
        if (*p == '\t') {
            return true;
        }
    }
    return false;
}

static int
request_semantics(struct sl_h1_request *req, struct sl_str authority)
{
    struct fields f;
    collect_fields(req->headers, req->nheaders, &f);

    if (f.nhost > 1 || f.dup_unique) {
        return -400;
    }
    /* RFC 9110 OWS is SP or HTAB, but nginx (so Kong) strips only SP: there an HTAB before or
     * after the value is part of it, so "Transfer-Encoding:<HTAB>chunked" is an unknown coding
     * (501) and an HTAB around Content-Length or Host a 400. A value that decides framing or
     * routing and that two implementations read in two ways is refused (hardening.md §1 lists
     * HTAB around TE as a TE.TE obfuscation); no client sends it. */
    if ((f.host && ows_has_htab(f.host)) || (f.cl && ows_has_htab(f.cl)) ||
        (f.te && ows_has_htab(f.te))) {
        return -400;
    }
    if (f.host && !host_valid(f.host->value, false)) {
        return -400;
    }
    if (req->minor == 1 && !f.host) {
        return -400;
    }
    req->host = authority.len ? authority : (f.host ? f.host->value : SL_STR_NULL);

    if (f.te) {
        if (req->minor == 0 || f.nte > 1 || f.cl) {
            return -400;
        }
        int rc = check_te(f.te->value);
        if (rc) {
            return rc;
        }
        req->body = SL_H1_BODY_CHUNKED;
    } else if (f.cl) {
        if (f.ncl > 1 || !parse_content_length(f.cl->value, &req->content_length)) {
            return -400;
        }
        req->body = req->content_length ? SL_H1_BODY_LENGTH : SL_H1_BODY_NONE;
    }

    req->keep_alive = req->minor == 1 ? !f.conn_close : f.conn_keepalive && !f.conn_close;
    /* RFC 9110 §10.1.1 and §7.8: Expect and Upgrade are ignored in HTTP/1.0 requests */
    req->expect_continue = req->minor == 1 && f.expect_continue;
    if (req->minor == 1 && f.conn_upgrade && f.upgrade) {
        req->upgrade = true;
        req->upgrade_proto = f.upgrade->value;
    }

    /* nginx refuses both after reading the head (so Kong answers 405); CONNECT would turn the
     * gateway into an open tunnel and TRACE reflects credentials (XST). */
    if (method_is(req->method, "CONNECT") || method_is(req->method, "TRACE")) {
        return -405;
    }
    return 0;
}

int
sl_h1_parse_request(const char *buf, size_t len, const struct sl_h1_limits *lim,
                    struct sl_h1_request *req, struct sl_header *hdrs, size_t max_hdrs)
{
    static const struct sl_h1_limits defaults = SL_H1_LIMITS_DEFAULT;
    if (!lim) {
        lim = &defaults;
    }
    memset(req, 0, sizeof(*req));
    req->headers = hdrs;

    size_t cap = lim->max_header_bytes < INT_MAX ? lim->max_header_bytes : INT_MAX;
    struct head h = {(const unsigned char *)buf, len < cap ? len : cap, len >= cap, false};
    const unsigned char *b = h.b;
    size_t q = 0;
    int rc;

    /* RFC 9112 §2.2: ignore empty lines before the request line (old clients add one after a
     * body). They count towards the head size, so they cannot be streamed forever. */
    while (q < h.end && b[q] == '\r') {
        if (q + 1 >= h.end) {
            return need_more(&h);
        }
        if (b[q + 1] != '\n') {
            return -400;
        }
        q += 2;
    }

    size_t ls = q;
    size_t lend = line_end(&h, ls, lim->max_request_line);
    q = scan_method(b, q, lend);
    LINE_AT(&h, q, lend, -414);
    if (q == ls || b[q] != ' ') {
        return -400;
    }
    req->method = (struct sl_str){buf + ls, q - ls};
    size_t ts = ++q;
    q = scan_fast(b, q, lend, SL_HC_TARGET, word_not_target);
    LINE_AT(&h, q, lend, -414);
    if (q == ts || b[q] != ' ') {
        return -400; /* double SP, '#', CTL, DEL, HTTP/0.9 line */
    }
    req->target = (struct sl_str){buf + ts, q - ts};
    q++;
    int major, minor;
    if ((rc = parse_version(&h, &q, lend, -414, &major, &minor)) != 1) {
        return rc;
    }
    if ((rc = parse_crlf(&h, &q, lend, -414)) != 1) {
        return rc;
    }
    if (major != 1) {
        return -505;
    }
    /* RFC 9110 §2.5: a later 1.x minor is answered as the highest we implement (nginx too). */
    req->minor = minor > 1 ? 1 : minor;
    struct sl_str authority = SL_STR_NULL;
    if ((rc = parse_target(req, &authority)) != 0) {
        return rc;
    }

    rc = parse_fields(&h, q, lim, hdrs, max_hdrs, &req->nheaders);
    if (rc <= 0) {
        return rc;
    }
    req->head_len = (size_t)rc;
    int sem = request_semantics(req, authority);
    return sem ? sem : rc;
}

/* ---- response ------------------------------------------------------------------------------- */

static int
parse_response(const char *buf, size_t len, const struct sl_h1_limits *lim, bool head_request,
               struct sl_h1_response *res, struct sl_header *hdrs, size_t max_hdrs)
{
    size_t cap = lim->max_header_bytes < INT_MAX ? lim->max_header_bytes : INT_MAX;
    /* Bare LF line ends are accepted from upstreams, as nginx (so Kong) does: legacy, embedded and
     * hand-written servers send them, and unlike in a request there is no second reader of these
     * bytes to disagree with: the upstream connection is Sluice's alone and the client gets a head
     * Sluice writes itself, with CRLF. A bare CR is still refused (never a line end). */
    struct head h = {(const unsigned char *)buf, len < cap ? len : cap, len >= cap, true};
    const unsigned char *b = h.b;
    size_t q = 0;
    size_t lend = line_end(&h, 0, lim->max_header_line);
    int rc, major, minor;

    if ((rc = parse_version(&h, &q, lend, -431, &major, &minor)) != 1) {
        return rc;
    }
    if (major != 1) {
        return -505;
    }
    /* RFC 9112 §2.3: a later 1.x minor is processed as 1.1, as for requests (nginx too). */
    minor = minor > 1 ? 1 : minor;
    LINE_AT(&h, q, lend, -431);
    if (b[q++] != ' ') {
        return -400;
    }
    int status = 0;
    for (int i = 0; i < 3; i++, q++) {
        LINE_AT(&h, q, lend, -431);
        if (!SL_HC_IS(b[q], SL_HC_DIGIT)) {
            return -400;
        }
        status = status * 10 + (b[q] - '0');
    }
    if (status < 100) {
        return -400;
    }
    LINE_AT(&h, q, lend, -431);
    size_t rs = q;
    if (b[q] == ' ') {
        /* reason-phrase: anything a field value may hold; a missing SP (nothing after the code)
         * is tolerated, it is unambiguous */
        rs = ++q;
        q = scan_fast(b, q, lend, SL_HC_VALUE, word_not_value);
    }
    res->reason = (struct sl_str){buf + rs, q - rs};
    if ((rc = parse_crlf(&h, &q, lend, -431)) != 1) {
        return rc;
    }
    res->status = status;
    res->minor = minor;

    rc = parse_fields(&h, q, lim, hdrs, max_hdrs, &res->nheaders);
    if (rc <= 0) {
        return rc;
    }
    res->head_len = (size_t)rc;

    struct fields f;
    collect_fields(hdrs, res->nheaders, &f);
    uint64_t cl = 0;
    if (f.te) {
        /* With CL it is a splitting attempt. Only a single "chunked" is accepted: anything else
         * would have to be forwarded still coded. In HTTP/1.0 see keep_alive below. */
        if (f.nte > 1 || f.cl || !CASEEQ(f.te->value, "chunked")) {
            return -400;
        }
    } else if (f.cl) {
        if (f.ncl > 1 || !parse_content_length(f.cl->value, &cl)) {
            return -400;
        }
        res->has_content_length = true;
        res->content_length = cl;
    }
    if (status == 101 && !f.upgrade) {
        return -400;
    }

    if (head_request || status < 200 || status == 204 || status == 304) {
        res->body = SL_H1_BODY_NONE;
        /* The head announces a body that must not follow. For HEAD and 304 the framing is
         * allowed (it is the GET's), but a faulty upstream may still send the bytes, possibly
         * after a delay: on a reused connection they would be read as the next request's
         * response (response queue poisoning, hardening.md §1). The proxy lets such a connection
         * rest before reusing it (upstream.c); a 1xx or 204 that announces a body breaks the
         * protocol (RFC 9110 §15.3.5, RFC 9112 §6.1), and its connection is not reused. */
        res->body_announced = f.te || cl > 0;
    } else if (f.te) {
        res->body = SL_H1_BODY_CHUNKED;
    } else if (f.cl) {
        res->body = cl ? SL_H1_BODY_LENGTH : SL_H1_BODY_NONE;
    } else {
        res->body = SL_H1_BODY_UNTIL_CLOSE;
    }
    res->keep_alive = minor == 1 ? !f.conn_close : f.conn_keepalive && !f.conn_close;
    /* RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: it is read
     * (chunked, as nginx does) and the connection is closed after it, since the sender may have
     * meant other bytes to belong to it. A server that answers "HTTP/1.0" whatever the request
     * yet streams with chunked sends it. */
    bool announced_in_violation = res->body_announced && (status < 200 || status == 204);
    if (res->body == SL_H1_BODY_UNTIL_CLOSE || status == 101 || announced_in_violation ||
        (f.te && minor == 0)) {
        res->keep_alive = false;
    }
    res->upgrade = status == 101;
    return rc;
}

int
sl_h1_parse_response(const char *buf, size_t len, const struct sl_h1_limits *lim,
                     bool request_method_head, struct sl_h1_response *res, struct sl_header *hdrs,
                     size_t max_hdrs)
{
    static const struct sl_h1_limits defaults = SL_H1_LIMITS_DEFAULT;
    memset(res, 0, sizeof(*res));
    res->headers = hdrs;
    int rc =
        parse_response(buf, len, lim ? lim : &defaults, request_method_head, res, hdrs, max_hdrs);
    /* every flaw of an upstream response is the same to the client: 502 */
    return rc < 0 ? -502 : rc;
}

/* ---- re-parse guard ------------------------------------------------------------------------ */

bool
sl_h1_head_pending(const char *buf, size_t len, size_t prev_len, const struct sl_h1_limits *lim,
                   bool response)
{
    static const struct sl_h1_limits defaults = SL_H1_LIMITS_DEFAULT;
    if (!lim) {
        lim = &defaults;
    }
    if (prev_len > len || len >= lim->max_header_bytes) {
        return false;
    }
    if (memchr(buf + prev_len, '\n', len - prev_len)) {
        return false;
    }
    /* the limit of the line being received: the start line's when no LF came yet; otherwise a
     * header line's, or for requests the request line's too (empty lines may precede it) */
    size_t first = response ? lim->max_header_line : lim->max_request_line;
    size_t other = response || lim->max_header_line < lim->max_request_line ? lim->max_header_line
                                                                            : lim->max_request_line;
    size_t widest = first > other ? first : other;
    size_t look = len <= widest ? len : widest + 1;
    const char *lf = look ? memrchr(buf + len - look, '\n', look) : NULL;
    if (!lf) {
        return look == len && len <= first;
    }
    return (size_t)(buf + len - (lf + 1)) <= other;
}

/* ---- lookups -------------------------------------------------------------------------------- */

const struct sl_header *
sl_h1_find_header(const struct sl_header *hdrs, size_t n, const char *name)
{
    struct sl_str want = sl_str_from_cstr(name);
    for (size_t i = 0; i < n; i++) {
        if (sl_str_caseeq(hdrs[i].name, want)) {
            return &hdrs[i];
        }
    }
    return NULL;
}

bool
sl_http_token_list_has(struct sl_str list, const char *token)
{
    struct sl_str want = sl_str_from_cstr(token);
    struct sl_str el;
    bool more = list.len > 0;
    while (list_next(&list, &el, &more)) {
        if (sl_str_caseeq(el, want)) {
            return true;
        }
    }
    return false;
}
