/* SPDX-License-Identifier: Apache-2.0 */
/* Per-request route matching (kong.md §3.1): consults the host buckets (exact name, the wildcard
 * keys found at the dots of the host), the path buckets of every prefix of the request path and the
 * generic list, each sorted best-first, and keeps the best sub-route any of them matches. Runs on
 * worker threads against an immutable router: no locks, no allocation after a thread's first regex
 * match. */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"
#include "http/path.h"
#include "router/router_int.h"

#define RT_NONE UINT32_MAX

/* One match data per thread, shared by every router: pcre2_match needs one and the hot path must
 * not allocate. Freed by the key destructor when a worker thread exits. */
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static __thread pcre2_match_data *tls_md;

static void
md_free(void *md)
{
    pcre2_match_data_free(md);
}

static void
md_key_init(void)
{
    (void)pthread_key_create(&md_key, md_free);
}

static pcre2_match_data *
thread_md(void)
{
    if (tls_md == NULL) {
        pthread_once(&md_once, md_key_init);
        tls_md = pcre2_match_data_create(RT_OVECTOR_PAIRS, NULL);
        if (tls_md != NULL) {
            (void)pthread_setspecific(md_key, tls_md);
        }
    }
    return tls_md;
}

/* Runs <re> on <s>; an error (match limit, no memory) counts as no match. The offsets stay in the
 * thread's match data until the next call. */
static bool
re_match(const struct sl_router *r, const pcre2_code *re, struct sl_str s)
{
    pcre2_match_data *md = thread_md();
    if (md == NULL) {
        return false;
    }
    PCRE2_SPTR subject = (PCRE2_SPTR)(s.p != NULL ? s.p : "");
    int rc = pcre2_match(re, subject, s.len, 0, 0, md, r->mctx);
    return rc >= 0; /* 0: matched, ovector too small for every group */
}

static void
strip_trailing_dot(struct sl_str *s)
{
    if (s->len > 1 && s->p[s->len - 1] == '.') {
        s->len--;
    }
}

/* Whether <name> (no trailing dot) matches one of <hs>: exact, "*.x" suffix or "x.*" prefix, and
 * the port when the entry names one. An empty name matches nothing. */
static bool
names_match(const struct rt_host *hs, size_t n, struct sl_str name, uint16_t port)
{
    if (name.len == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct rt_host *h = &hs[i];
        if (h->port >= 0 && h->port != port) {
            continue;
        }
        switch (h->kind) {
        case RT_HOST_EXACT:
            if (sl_str_caseeq(name, h->name)) {
                return true;
            }
            break;
        case RT_HOST_SUFFIX:
            if (name.len >= h->name.len &&
                strncasecmp(name.p + name.len - h->name.len, h->name.p, h->name.len) == 0) {
                return true;
            }
            break;
        case RT_HOST_PREFIX:
            if (name.len >= h->name.len && strncasecmp(name.p, h->name.p, h->name.len) == 0) {
                return true;
            }
            break;
        default:
            break;
        }
    }
    return false;
}

/* Header names as nginx's lookup sees them: case-insensitive; the route side already has '-' where
 * it was given '_', and a request header spelled with '_' is one nginx would have dropped. */
static bool
header_matches(const struct sl_router *r, const struct rt_header *h,
               const struct sl_router_request *req)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct sl_header *rh = &req->headers[i];
        if (!sl_str_caseeq(rh->name, h->name)) {
            continue;
        }
        for (size_t k = 0; k < h->nvalues; k++) {
            const struct rt_header_value *v = &h->values[k];
            if (v->re != NULL ? re_match(r, v->re, rh->value)
                              : sl_str_caseeq(rh->value, v->value)) {
                return true;
            }
        }
    }
    return false;
}

bool
sl_router_has_regex_paths(const struct sl_router *r)
{
    return r->regex_paths;
}

static inline struct sl_str
regex_subject(const struct sl_router_request *req)
{
    return req->path_decoded.p != NULL ? req->path_decoded : req->path;
}

bool
sl_router_sub_matches(const struct sl_router *r, const struct rt_sub *sub,
                      const struct sl_router_request *req, struct sl_str host, struct sl_str sni,
                      size_t *path_idx, size_t *strip_len)
{
    if (sub->nmethods > 0) {
        bool ok = false;
        for (size_t i = 0; i < sub->nmethods && !ok; i++) {
            ok = sl_str_eq(req->method, sub->methods[i]);
        }
        if (!ok) {
            return false;
        }
    }
    if (sub->nhosts > 0 && !names_match(sub->hosts, sub->nhosts, host, req->port)) {
        return false;
    }
    /* Kong: (net.protocol != "https" || tls.sni == ... || tls.sni =^ ...): snis only bind TLS
     * connections, and wildcard snis match as wildcard hosts do. */
    if (sub->nsnis > 0 && req->tls && !names_match(sub->snis, sub->nsnis, sni, 0)) {
        return false;
    }
    for (size_t i = 0; i < sub->nheaders; i++) {
        if (!header_matches(r, &sub->headers[i], req)) {
            return false;
        }
    }
    if (sub->npaths == 0) {
        *path_idx = SIZE_MAX;
        *strip_len = 0;
        return true;
    }
    for (size_t i = 0; i < sub->npaths; i++) {
        const struct rt_path *p = &sub->paths[i];
        if (p->re == NULL) {
            if (sl_str_starts_with(req->path, p->src)) {
                *path_idx = i;
                *strip_len = p->src.len;
                return true;
            }
            continue;
        }
        if (!sl_str_starts_with(req->path, p->key)) {
            continue; /* the literal text every match starts with is not there */
        }
        /* Kong runs regexes on its decoded path ("/r/{x", "/café"); the key, escaped like a
         * prefix path, was checked on the escaped one, which is equivalent. */
        struct sl_str subject = regex_subject(req);
        if (re_match(r, p->re, subject)) {
            *path_idx = i;
            size_t end = (size_t)pcre2_get_ovector_pointer(thread_md())[1];
            *strip_len = subject.p == req->path.p
                             ? end
                             : sl_http_path_escaped_offset(req->path.p, req->path.len, end);
            return true;
        }
    }
    return false;
}

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* The <i>th byte of the Kong-decoded form of <p> as it is read: an escape gives its value (Kong
 * decodes every escape of a byte >= 0x80; the others it keeps are escapes of ASCII, which is all
 * that matters here), any other byte itself. Advances <*i>. */
static unsigned char
decoded_byte(struct sl_str p, size_t *i)
{
    unsigned char c = (unsigned char)p.p[*i];
    int hi, lo;
    if (c == '%' && *i + 2 < p.len && (hi = hexval((unsigned char)p.p[*i + 1])) >= 0 &&
        (lo = hexval((unsigned char)p.p[*i + 2])) >= 0) {
        *i += 3;
        return (unsigned char)(hi << 4 | lo);
    }
    (*i)++;
    return c;
}

/* Whether the Kong-decoded form of the request path is valid UTF-8 as Rust's str::from_utf8 reads
 * it (no overlong forms, no surrogates, nothing above U+10FFFF). atc-router refuses any other
 * http.path value ("invalid utf-8 sequence ..."), and Kong answers 404 whatever the routes. Each
 * multi-byte sequence is decoded into <seq> (at most 4 bytes) and checked there. */
static bool
path_is_utf8(struct sl_str p)
{
    size_t i = 0;
    while (i < p.len) {
        unsigned char seq[4];
        seq[0] = decoded_byte(p, &i);
        if (seq[0] < 0x80) {
            continue;
        }
        size_t n = 1;
        while (n < sizeof(seq) && i < p.len) {
            size_t at = i;
            unsigned char c = decoded_byte(p, &i);
            if ((c & 0xC0) != 0x80) {
                i = at; /* not a continuation byte: the next sequence starts here */
                break;
            }
            seq[n++] = c;
        }
        if (sl_utf8_seq_len(seq, n) != n) {
            return false;
        }
    }
    return true;
}

static bool
value_is_utf8(struct sl_str v)
{
    for (size_t i = 0; i < v.len;) {
        const unsigned char *p = (const unsigned char *)v.p + i;
        size_t n = *p < 0x80 ? 1 : sl_utf8_seq_len(p, v.len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

/* Whether <name> is one of r->header_names (lowercase, sorted): a binary search comparing the
 * request's spelling case-insensitively. */
static bool
routed_header(const struct sl_router *r, struct sl_str name)
{
    size_t lo = 0, hi = r->nheader_names;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct sl_str k = r->header_names[mid];
        size_t n = name.len < k.len ? name.len : k.len;
        int c = 0;
        for (size_t i = 0; i < n && c == 0; i++) {
            unsigned char a = (unsigned char)name.p[i];
            c = (a >= 'A' && a <= 'Z' ? a + 32 : a) - (unsigned char)k.p[i];
        }
        if (c == 0) {
            c = (name.len > k.len) - (name.len < k.len);
        }
        if (c == 0) {
            return true;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return false;
}

/* Kong's router refuses the request before matching when a value it reads is not valid UTF-8
 * (atc-router's context takes only str): the path once decoded, when some route has paths
 * ("/caf%E9", Latin-1), or a header some route matches on. The value is checked first, so a
 * well-formed request pays one scan of its header values and no name lookup. */
static bool
refused(const struct sl_router *r, const struct sl_router_request *req)
{
    if (r->any_paths && req->path.p != NULL && !path_is_utf8(req->path)) {
        return true;
    }
    for (size_t i = 0; r->nheader_names > 0 && i < req->nheaders; i++) {
        if (!value_is_utf8(req->headers[i].value) && routed_header(r, req->headers[i].name)) {
            return true;
        }
    }
    return false;
}

struct req_view {
    struct sl_str host; /* trailing dot dropped */
    struct sl_str sni;  /* trailing dot dropped */
};

static void
prepare(const struct sl_router_request *req, struct req_view *v)
{
    v->host = req->host;
    if (v->host.p == NULL) {
        v->host.len = 0;
    }
    strip_trailing_dot(&v->host);
    v->sni = req->sni;
    if (v->sni.p == NULL) {
        v->sni.len = 0;
    }
    strip_trailing_dot(&v->sni);
}

/* Scans one best-first list until its first match or an entry no better than <*best>. */
static void
scan(const struct sl_router *r, const uint32_t *list, size_t n, const struct sl_router_request *req,
     const struct req_view *v, uint32_t *best)
{
    size_t path_idx, strip_len;
    for (size_t i = 0; i < n; i++) {
        uint32_t rank = list[i];
        if (rank >= *best) {
            return;
        }
        if (sl_router_sub_matches(r, &r->subs[rank], req, v->host, v->sni, &path_idx, &strip_len)) {
            *best = rank;
            return;
        }
    }
}

static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Scans the bucket of <key,len> in host table <t> (keys lowercased at build time; the request side
 * is compared without case), if there is one. */
static void
scan_host(const struct sl_router *r, const struct rt_table *t, uint64_t hash, const char *key,
          size_t len, const struct sl_router_request *req, const struct req_view *v, uint32_t *best)
{
    for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        const struct rt_bucket *bk = &t->slots[i];
        if (bk->hash == 0) {
            return;
        }
        if (bk->hash != hash || bk->keylen != len) {
            continue;
        }
        size_t k = 0;
        while (k < len && (unsigned char)bk->key[k] == lower((unsigned char)key[k])) {
            k++;
        }
        if (k == len) {
            scan(r, bk->list, bk->n, req, v, best);
            return;
        }
    }
}

/* The three host tables. Every probe is bounded by the longest key of its table, so a hostile
 * Host header costs at most one pass over that many bytes per table. */
static void
scan_hosts(const struct sl_router *r, const struct sl_router_request *req, const struct req_view *v,
           uint32_t *best)
{
    const char *h = v->host.p;
    size_t len = v->host.len;
    if (len == 0) {
        return;
    }
    const struct rt_table *t = &r->hosts[RT_HOST_EXACT];
    if (t->slots != NULL && len <= r->host_max_key[RT_HOST_EXACT]) {
        uint64_t hash = RT_FNV_OFFSET;
        for (size_t i = 0; i < len; i++) {
            hash = rt_hash_step(hash, lower((unsigned char)h[i]));
        }
        scan_host(r, t, rt_hash_final(hash), h, len, req, v, best);
    }
    /* "example.*" keys are "example.": a prefix of the host that ends at one of its dots */
    t = &r->hosts[RT_HOST_PREFIX];
    if (t->slots != NULL) {
        size_t lim = len < r->host_max_key[RT_HOST_PREFIX] ? len : r->host_max_key[RT_HOST_PREFIX];
        uint64_t hash = RT_FNV_OFFSET;
        for (size_t i = 0; i < lim; i++) {
            hash = rt_hash_step(hash, lower((unsigned char)h[i]));
            if (h[i] == '.') {
                scan_host(r, t, rt_hash_final(hash), h, i + 1, req, v, best);
            }
        }
    }
    /* "*.example.com" keys are ".example.com", hashed from their end: a suffix of the host that
     * starts at one of its dots */
    t = &r->hosts[RT_HOST_SUFFIX];
    if (t->slots != NULL) {
        size_t lim = len < r->host_max_key[RT_HOST_SUFFIX] ? len : r->host_max_key[RT_HOST_SUFFIX];
        uint64_t hash = RT_FNV_OFFSET;
        for (size_t k = 1; k <= lim; k++) {
            unsigned char c = (unsigned char)h[len - k];
            hash = rt_hash_step(hash, lower(c));
            if (c == '.') {
                scan_host(r, t, rt_hash_final(hash), h + len - k, k, req, v, best);
            }
        }
    }
}

/* Fills <m> for the winning sub-route; a regex is run once more for its captures. */
static bool
fill(const struct sl_router *r, uint32_t rank, const struct sl_router_request *req,
     const struct req_view *v, struct sl_router_match *m)
{
    const struct rt_sub *sub = &r->subs[rank];
    size_t path_idx = SIZE_MAX, strip_len = 0;
    if (!sl_router_sub_matches(r, sub, req, v->host, v->sni, &path_idx, &strip_len)) {
        return false; /* cannot happen: the same inputs matched a moment ago */
    }
    memset(m, 0, sizeof(*m));
    m->route = sub->route;
    m->service = sub->route->service;
    m->strip_len = strip_len;
    m->needs_https_redirect = sub->https_only && req->scheme != SL_PROTO_HTTPS;
    if (path_idx == SIZE_MAX) {
        return true;
    }
    const struct rt_path *p = &sub->paths[path_idx];
    m->matched_path = p->src;
    if (p->re == NULL) {
        return true;
    }
    m->regex = true;
    pcre2_match_data *md = thread_md(); /* still holds this regex's match: it ran last */
    if (md == NULL) {
        return true;
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t pairs = pcre2_get_ovector_count(md);
    size_t n = (size_t)p->ngroups + 1;
    if (n > pairs) {
        n = pairs;
    }
    if (n > SL_ROUTER_MAX_CAPTURES) {
        n = SL_ROUTER_MAX_CAPTURES;
    }
    struct sl_str subject = regex_subject(req);
    for (size_t i = 0; i < n; i++) {
        PCRE2_SIZE s = ov[2 * i], e = ov[2 * i + 1];
        if (s != PCRE2_UNSET && e >= s && e <= subject.len) {
            m->captures[i] = (struct sl_str){subject.p + s, e - s};
        }
        m->capture_names[i] = (p->names != NULL) ? p->names[i] : NULL;
    }
    m->ncaptures = n;
    return true;
}

bool
sl_router_match(const struct sl_router *r, const struct sl_router_request *req,
                struct sl_router_match *m)
{
    if (r == NULL || r->nsubs == 0 || refused(r, req)) {
        return false;
    }
    struct req_view v;
    prepare(req, &v);
    uint32_t best = RT_NONE;

    scan_hosts(r, req, &v, &best);
    if (r->paths.slots != NULL && req->path.p != NULL) {
        size_t lim = req->path.len < r->max_key_len ? req->path.len : r->max_key_len;
        uint64_t h = RT_FNV_OFFSET;
        for (size_t i = 0; i < lim; i++) {
            h = rt_hash_step(h, (unsigned char)req->path.p[i]);
            if (!r->key_len_present[i + 1]) {
                continue;
            }
            const struct rt_bucket *bk =
                sl_router_table_find(&r->paths, rt_hash_final(h), req->path.p, i + 1);
            if (bk != NULL) {
                scan(r, bk->list, bk->n, req, &v, &best);
            }
        }
    }
    scan(r, r->generic, r->ngeneric, req, &v, &best);

    return best != RT_NONE && fill(r, best, req, &v, m);
}

bool
sl_router_match_linear(const struct sl_router *r, const struct sl_router_request *req,
                       struct sl_router_match *m)
{
    if (r == NULL || refused(r, req)) {
        return false;
    }
    struct req_view v;
    prepare(req, &v);
    size_t path_idx, strip_len;
    for (size_t i = 0; i < r->nsubs; i++) {
        if (sl_router_sub_matches(r, &r->subs[i], req, v.host, v.sni, &path_idx, &strip_len)) {
            return fill(r, (uint32_t)i, req, &v, m);
        }
    }
    return false;
}
