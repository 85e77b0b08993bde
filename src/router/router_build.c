/* SPDX-License-Identifier: Apache-2.0 */
/* Compiles routes into the immutable router (kong.md §3.2, Kong's traditional_compatible flavour):
 * splits every route by path group, computes Kong's 64-bit priority per sub-route, sorts, compiles
 * the regexes with PCRE2 (JIT when available) and builds the host and path indexes. Runs on the
 * control thread; it never sees a request. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/uuid.h"
#include "http/path.h"
#include "router/router_int.h"

/* Bounds on one regex evaluation, so that a hostile path cannot pin a worker (Kong's traditional
 * router used (*LIMIT_MATCH=10000); atc's Rust regex is linear). */
#define RT_MATCH_LIMIT 100000
#define RT_DEPTH_LIMIT 10000
#define RT_HEAP_LIMIT_KIB 1024

/* JIT compilation costs ~6 us per pattern and saves ~0.1 us per evaluation. The regexes of the
 * best-ranked sub-routes are JIT-compiled, at most this many per build, so that a config of 10k
 * regex routes still rebuilds in well under 100 ms; the rest run in PCRE2's interpreter, with the
 * same semantics and limits. */
#define RT_JIT_BUDGET 4096

/* Compiled regexes, owned by the arena through one cleanup. */
struct re_owner {
    pcre2_code **codes;
    size_t n, cap;
    pcre2_match_context *mctx;
};

/* Identical sources in one build share one compiled code (regex_priority routes often repeat). */
struct re_entry {
    uint64_t hash; /* 0: empty */
    const char *src;
    size_t len;
    uint32_t opts;
    pcre2_code *code;
    const char *const *names;
    uint32_t ngroups;
};

struct build {
    struct sl_arena *arena;
    char *err;
    size_t errlen;
    struct re_owner *owner;
    struct re_entry *recache;
    size_t recache_mask;
    bool regex_paths; /* some route path is a regex */
};

/* What the sub-routes of one route share. */
struct route_common {
    struct sl_str *methods;
    size_t nmethods;
    struct rt_host *hosts;
    size_t nhosts;
    struct rt_host *snis;
    size_t nsnis;
    struct rt_header *headers;
    size_t nheaders;
    bool plain_hosts; /* Kong: hosts is a table and no entry has a '*' */
    bool host_indexable;
};

static void __attribute__((format(printf, 2, 3))) set_err(struct build *b, const char *fmt, ...)
{
    if (b->err == NULL || b->errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, b->errlen, fmt, ap);
    va_end(ap);
}

static void *
b_alloc(struct build *b, size_t n, size_t size)
{
    if (n == 0) {
        return NULL;
    }
    void *p = sl_arena_calloc(b->arena, n, size);
    if (p == NULL) {
        set_err(b, "out of memory");
    }
    return p;
}

static int
lower_copy(struct build *b, const char *s, size_t len, struct sl_str *out)
{
    char *d = sl_arena_alloc(b->arena, len + 1);
    if (d == NULL) {
        set_err(b, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        d[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
    }
    d[len] = '\0';
    *out = (struct sl_str){d, len};
    return 0;
}

static void
free_owner(void *data)
{
    struct re_owner *o = data;
    for (size_t i = 0; i < o->n; i++) {
        pcre2_code_free(o->codes[i]);
    }
    free(o->codes);
    pcre2_match_context_free(o->mctx);
}

static uint64_t
hash_bytes(const char *s, size_t len, uint32_t salt)
{
    uint64_t h = RT_FNV_OFFSET ^ salt;
    for (size_t i = 0; i < len; i++) {
        h = rt_hash_step(h, (unsigned char)s[i]);
    }
    return rt_hash_final(h);
}

/* Capture names by group number, from PCRE2's name table. */
static int
capture_names(struct build *b, pcre2_code *code, uint32_t ngroups, const char *const **out)
{
    uint32_t count = 0, entry = 0;
    PCRE2_SPTR table = NULL;
    *out = NULL;
    if (pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count) != 0 || count == 0 ||
        pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry) != 0 ||
        pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table) != 0) {
        return 0;
    }
    const char **names = b_alloc(b, (size_t)ngroups + 1, sizeof(*names));
    if (names == NULL) {
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        PCRE2_SPTR e = table + (size_t)i * entry;
        uint32_t group = ((uint32_t)e[0] << 8) | e[1];
        if (group <= ngroups && names[group] == NULL) {
            names[group] = sl_arena_strdup(b->arena, (const char *)e + 2);
            if (names[group] == NULL) {
                set_err(b, "out of memory");
                return -1;
            }
        }
    }
    *out = names;
    return 0;
}

/* Compiles <src,len> with <opts>, or returns the code an identical source already got. */
static pcre2_code *
compile_re(struct build *b, const char *src, size_t len, uint32_t opts, const char *const **names,
           uint32_t *ngroups)
{
    uint64_t h = hash_bytes(src, len, opts);
    size_t i = h & b->recache_mask;
    while (b->recache[i].hash != 0) {
        struct re_entry *e = &b->recache[i];
        if (e->hash == h && e->opts == opts && e->len == len && memcmp(e->src, src, len) == 0) {
            *names = e->names;
            *ngroups = e->ngroups;
            return e->code;
        }
        i = (i + 1) & b->recache_mask;
    }

    int ec = 0;
    PCRE2_SIZE eo = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)src, len, opts, &ec, &eo, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ec, msg, sizeof(msg)) < 0) {
            snprintf((char *)msg, sizeof(msg), "error %d", ec);
        }
        if (eo > len) {
            eo = len;
        }
        set_err(b,
                "invalid regex: '%.*s' (PCRE returned: pcre2_compile() failed: %s in \"%.*s\" at "
                "\"%.*s\")",
                (int)len, src, (const char *)msg, (int)len, src, (int)(len - eo), src + eo);
        return NULL;
    }
    struct re_owner *o = b->owner;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        pcre2_code **v = realloc(o->codes, cap * sizeof(*v));
        if (v == NULL) {
            pcre2_code_free(code);
            set_err(b, "out of memory");
            return NULL;
        }
        o->codes = v;
        o->cap = cap;
    }
    o->codes[o->n++] = code;

    uint32_t groups = 0;
    (void)pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
    if (capture_names(b, code, groups, names) < 0) {
        return NULL;
    }
    *ngroups = groups;
    b->recache[i] = (struct re_entry){h, src, len, opts, code, *names, groups};
    return code;
}

static bool
is_regex_meta(unsigned char c)
{
    return c == '\\' || c == '^' || c == '$' || c == '.' || c == '|' || c == '?' || c == '*' ||
           c == '+' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}';
}

/* Whether <re> has an alternation at depth 0 (which makes any leading literal optional) or a
 * construct this small scanner does not follow (extended mode, verbs): both answer "no prefix". */
static bool
regex_prefix_unsafe(const char *re, size_t len)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)re[i];
        if (c == '\\') {
            if (i + 1 < len && re[i + 1] == 'Q') {
                const char *end = memmem(re + i + 2, len - i - 2, "\\E", 2);
                if (end == NULL) {
                    return false; /* quoted to the end: nothing else follows */
                }
                i = (size_t)(end - re) + 1;
            } else {
                i++;
            }
        } else if (c == '[') {
            size_t j = i + 1;
            if (j < len && re[j] == '^') {
                j++;
            }
            if (j < len && re[j] == ']') {
                j++; /* a leading ']' is a literal member */
            }
            while (j < len && re[j] != ']') {
                if (re[j] == '\\') {
                    j += 2;
                } else if (re[j] == '[' && j + 1 < len && re[j + 1] == ':') {
                    const char *end = memmem(re + j + 2, len - j - 2, ":]", 2);
                    j = end ? (size_t)(end - re) + 2 : len;
                } else {
                    j++;
                }
            }
            i = j;
        } else if (c == '(') {
            if (i + 1 < len && re[i + 1] == '*') {
                return true;
            }
            if (i + 1 < len && re[i + 1] == '?') {
                if (i + 2 < len && re[i + 2] == '#') {
                    const char *end = memchr(re + i + 3, ')', len - i - 3);
                    if (end == NULL) {
                        return true;
                    }
                    i = (size_t)(end - re);
                    continue;
                }
                for (size_t k = i + 2; k < len; k++) {
                    unsigned char o = (unsigned char)re[k];
                    if (o == 'x') {
                        return true;
                    }
                    if (!((o >= 'a' && o <= 'z') || (o >= 'A' && o <= 'Z') || o == '-' ||
                          o == '^')) {
                        break;
                    }
                }
            }
            depth++;
        } else if (c == ')') {
            if (depth > 0) {
                depth--;
            }
        } else if (c == '|' && depth == 0) {
            return true;
        }
    }
    return false;
}

size_t
sl_router_regex_literal_prefix(const char *re, size_t len)
{
    size_t n = 0;
    while (n < len && !is_regex_meta((unsigned char)re[n])) {
        n++;
    }
    /* "/ab?", "/ab*", "/ab{0}": the last literal may be absent ('+' keeps it required). */
    if (n > 0 && n < len && (re[n] == '?' || re[n] == '*' || re[n] == '{')) {
        n--;
    }
    if (n == 0 || regex_prefix_unsafe(re, len)) {
        return 0;
    }
    return n;
}

void
sl_router_split_id(const char *route_id, unsigned group, char out[SL_UUID_LEN + 1])
{
    uint8_t ns[16], u[16];
    char name[SL_UUID_LEN + 16];
    int n = snprintf(name, sizeof(name), "%.*s#%u", SL_UUID_LEN, route_id, group);
    size_t nlen = n < 0 ? 0 : (size_t)n < sizeof(name) ? (size_t)n : sizeof(name) - 1;
    if (sl_uuid_parse(RT_SPLIT_NAMESPACE, SL_UUID_LEN, ns) != 0 ||
        sl_uuid_v5(ns, name, nlen, u) != 0) {
        /* a fixed namespace and SHA-1 do not fail short of OOM; a zero id still sorts stably */
        memset(u, 0, sizeof(u));
    }
    sl_uuid_format(u, out);
}

/* "example.com:8000" → ("example.com", 8000). Like Kong's split_host_port, the part after the first
 * ':' must be a number, else the whole string is the host. */
static void
split_host_port(struct sl_str h, struct sl_str *name, int *port)
{
    const char *colon = memchr(h.p, ':', h.len);
    *name = h;
    *port = -1;
    if (colon == NULL) {
        return;
    }
    size_t at = (size_t)(colon - h.p);
    if (at + 1 >= h.len) {
        return;
    }
    long v = 0;
    for (size_t i = at + 1; i < h.len; i++) {
        unsigned char c = (unsigned char)h.p[i];
        if (c < '0' || c > '9') {
            return;
        }
        if (v <= 65535) {
            v = v * 10 + (c - '0');
        }
    }
    *name = (struct sl_str){h.p, at};
    *port = v > 65535 ? 65536 : (int)v; /* 65536 never equals a request port */
}

/* Compiles what every sub-route of <route> shares. Returns 0, 1 when the route can never match an
 * HTTP request (Kong drops it or its expression is always false), or -1 with <b->err> set. */
static int
compile_common(struct build *b, const struct sl_route *route, struct route_common *c)
{
    memset(c, 0, sizeof(*c));
    uint32_t protos = route->protocols
                          ? route->protocols
                          : (SL_PROTO_BIT(SL_PROTO_HTTP) | SL_PROTO_BIT(SL_PROTO_HTTPS));
    if ((protos & (SL_PROTO_BIT(SL_PROTO_HTTP) | SL_PROTO_BIT(SL_PROTO_HTTPS))) == 0) {
        return 1;
    }
    if (route->methods.n == 0 && route->hosts.n == 0 && route->nheaders == 0 &&
        route->paths.n == 0 && route->snis.n == 0) {
        return 1; /* Kong: "could not categorize route" */
    }

    if (route->methods.n > 0) {
        c->methods = b_alloc(b, route->methods.n, sizeof(*c->methods));
        if (c->methods == NULL) {
            return -1;
        }
        for (size_t i = 0; i < route->methods.n; i++) {
            c->methods[i] = sl_str_from_cstr(route->methods.v[i]);
        }
        c->nmethods = route->methods.n;
    }

    c->plain_hosts = route->hosts.v != NULL;
    c->host_indexable = route->hosts.n > 0;
    if (route->hosts.n > 0) {
        c->hosts = b_alloc(b, route->hosts.n, sizeof(*c->hosts));
        if (c->hosts == NULL) {
            return -1;
        }
        for (size_t i = 0; i < route->hosts.n; i++) {
            struct sl_str full;
            if (lower_copy(b, route->hosts.v[i], strlen(route->hosts.v[i]), &full) < 0) {
                return -1;
            }
            struct rt_host *h = &c->hosts[i];
            split_host_port(full, &h->name, &h->port);
            h->kind = RT_HOST_EXACT;
            bool keyed = h->name.len > 0;
            if (memchr(full.p, '*', full.len) != NULL) {
                c->plain_hosts = false;
                keyed = false;
                if (h->name.len > 0 && h->name.p[0] == '*') {
                    h->kind = RT_HOST_SUFFIX;
                    h->name.p++;
                    h->name.len--;
                    /* "*.example.com": every match has ".example.com" after some dot */
                    keyed = h->name.len > 1 && h->name.p[0] == '.' &&
                            memchr(h->name.p, '*', h->name.len) == NULL;
                } else if (h->name.len > 0 && h->name.p[h->name.len - 1] == '*') {
                    h->kind = RT_HOST_PREFIX;
                    h->name.len--;
                    keyed = h->name.len > 1 && h->name.p[h->name.len - 1] == '.' &&
                            memchr(h->name.p, '*', h->name.len) == NULL;
                }
            }
            if (!keyed) {
                c->host_indexable = false;
            }
        }
        c->nhosts = route->hosts.n;
    }

    if (route->snis.n > 0) {
        c->snis = b_alloc(b, route->snis.n, sizeof(*c->snis));
        if (c->snis == NULL) {
            return -1;
        }
        for (size_t i = 0; i < route->snis.n; i++) {
            /* transform.lua sni_op_transform / sni_val_transform: "*.x.com" is a suffix match on
             * ".x.com", "x.*" a prefix match on "x.", anything else an exact one */
            const char *v = route->snis.v[i];
            size_t len = strlen(v);
            struct rt_host *h = &c->snis[i];
            h->port = -1;
            h->kind = RT_HOST_EXACT;
            if (len > 0 && v[0] != '*' && v[len - 1] == '*') {
                h->kind = RT_HOST_PREFIX;
                len--;
            } else if (len > 1 && v[len - 1] == '.') {
                len--; /* "last dot in FQDNs must not be used for routing" */
            }
            if (h->kind == RT_HOST_EXACT && len > 0 && v[0] == '*') {
                h->kind = RT_HOST_SUFFIX;
                v++;
                len--;
            }
            if (lower_copy(b, v, len, &h->name) < 0) {
                return -1;
            }
        }
        c->nsnis = route->snis.n;
    }

    if (route->nheaders > 0) {
        c->headers = b_alloc(b, route->nheaders, sizeof(*c->headers));
        if (c->headers == NULL) {
            return -1;
        }
        for (size_t i = 0; i < route->nheaders; i++) {
            const struct sl_route_header *rh = &route->headers[i];
            struct rt_header *h = &c->headers[i];
            if (rh->name == NULL || rh->values.n == 0) {
                return 1;
            }
            if (lower_copy(b, rh->name, strlen(rh->name), &h->name) < 0) {
                return -1;
            }
            for (size_t k = 0; k < h->name.len; k++) {
                if (h->name.p[k] == '_') {
                    ((char *)h->name.p)[k] = '-';
                }
            }
            if (sl_str_eq(h->name, SL_STR("host"))) {
                return 1; /* Kong drops the Host header before header matching */
            }
            h->values = b_alloc(b, rh->values.n, sizeof(*h->values));
            if (h->values == NULL) {
                return -1;
            }
            for (size_t k = 0; k < rh->values.n; k++) {
                const char *v = rh->values.v[k];
                struct rt_header_value *hv = &h->values[k];
                if (lower_copy(b, v, strlen(v), &hv->value) < 0) {
                    return -1;
                }
                if (hv->value.len >= 2 && hv->value.p[0] == '~' && hv->value.p[1] == '*') {
                    /* Kong lowercases the pattern and the request value; PCRE2_CASELESS on the
                     * lowercased pattern is the same test without copying the value. */
                    const char *const *names;
                    uint32_t ngroups;
                    hv->re = compile_re(b, hv->value.p + 2, hv->value.len - 2, PCRE2_CASELESS,
                                        &names, &ngroups);
                    if (hv->re == NULL) {
                        return -1;
                    }
                }
            }
            h->nvalues = rh->values.n;
        }
        c->nheaders = route->nheaders;
    }
    return 0;
}

static uint64_t
sub_priority(const struct sl_route *route, const struct route_common *c, bool has_paths, bool regex,
             size_t prefix_len)
{
    uint64_t weight = (route->methods.n > 0) + (route->hosts.n > 0) + (route->nheaders > 0) +
                      (route->snis.n > 0) + (has_paths ? 1 : 0);
    uint64_t nheaders = route->nheaders > 255 ? 255 : route->nheaders;
    uint64_t p = (weight << RT_PRIO_WEIGHT_SHIFT) | (nheaders << RT_PRIO_HEADERS_SHIFT);
    if (c->plain_hosts) {
        p |= RT_PRIO_PLAIN_HOSTS;
    }
    if (regex) {
        /* Biased so that a negative regex_priority sorts below 0, as in the traditional router;
         * for regex_priority >= 0 the order is Kong's. */
        uint32_t rp = (uint32_t)route->regex_priority ^ 0x80000000u;
        p |= RT_PRIO_REGEX | ((uint64_t)rp << RT_PRIO_REGEX_PRIO_SHIFT);
    } else {
        p |= (uint64_t)prefix_len & RT_PRIO_LENGTH_MASK;
    }
    return p;
}

/* <p,len> as Kong's escape() forwards it (sl_http_path_escape), NUL-terminated in the arena. */
static int
escaped(struct build *b, const char *p, size_t len, struct sl_str *out)
{
    char *e = sl_arena_alloc(b->arena, SL_HTTP_PATH_NORM_MAX(len) + 1);
    if (e == NULL) {
        set_err(b, "out of memory");
        return -1;
    }
    size_t n = sl_http_path_escape(p, len, e);
    e[n] = '\0';
    *out = (struct sl_str){e, n};
    return 0;
}

static int
compile_path(struct build *b, const char *path, struct rt_path *out)
{
    size_t len = strlen(path);
    if (len > 0 && path[0] == '~') {
        out->src = (struct sl_str){path + 1, len - 1};
        /* As Kong's atc-router (Rust's regex crate) reads a pattern. PCRE2_DOLLAR_ENDONLY: '$' is
         * the end of the path, never also before a final newline, which the decoded path ends
         * with for a request path ending in %0A ('~/items/\d+$' must not take "/items/1%0A").
         * PCRE2_UTF | PCRE2_UCP: '.' is one character, and \w, \d, \s and \b are Unicode's (the
         * router matches only paths that are valid UTF-8 once decoded, as Kong). */
        out->re = compile_re(b, out->src.p, out->src.len,
                             PCRE2_ANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_UTF | PCRE2_UCP,
                             &out->names, &out->ngroups);
        if (out->re == NULL) {
            return -1;
        }
        b->regex_paths = true;
        /* The literal text every match starts with, in Kong's decoded form like the subject;
         * escaped as prefix paths are, since the index probes the escaped request path. */
        return escaped(b, out->src.p, sl_router_regex_literal_prefix(out->src.p, out->src.len),
                       &out->key);
    }
    /* Prefix paths are written in Kong's decoded form ("/café", "/a{b"); requests are matched in
     * their normalised, forwarded form ("/caf%C3%A9", "/a%7Bb"), so the prefix is escaped the
     * same way. Priorities keep the configured length. */
    if (escaped(b, path, len, &out->src) < 0) {
        return -1;
    }
    out->key = out->src;
    return 0;
}

/* Appends the sub-routes of <route> to <subs>. */
static int
add_route(struct build *b, const struct sl_route *route, struct rt_sub *subs, size_t *nsubs)
{
    struct route_common c;
    int rc = compile_common(b, route, &c);
    if (rc != 0) {
        return rc < 0 ? -1 : 0;
    }
    uint32_t protos = route->protocols
                          ? route->protocols
                          : (SL_PROTO_BIT(SL_PROTO_HTTP) | SL_PROTO_BIT(SL_PROTO_HTTPS));
    struct rt_sub proto = {
        .route = route,
        .id = route->id,
        .methods = c.methods,
        .nmethods = c.nmethods,
        .hosts = c.hosts,
        .nhosts = c.nhosts,
        .snis = c.snis,
        .nsnis = c.nsnis,
        .headers = c.headers,
        .nheaders = c.nheaders,
        .https_only =
            (protos & SL_PROTO_BIT(SL_PROTO_HTTPS)) && !(protos & SL_PROTO_BIT(SL_PROTO_HTTP)),
        .where = c.host_indexable ? RT_WHERE_HOST : RT_WHERE_GENERIC,
    };

    size_t np = route->paths.n;
    if (np == 0) {
        proto.priority = sub_priority(route, &c, false, false, 0);
        proto.seq = (uint32_t)*nsubs;
        subs[(*nsubs)++] = proto;
        return 0;
    }

    /* Group key per path: 0 for a regex, else the prefix length + 1; groups in order of first
     * appearance (transform.lua group_by_regex_or_length). */
    size_t *keys = calloc(np, sizeof(*keys));
    size_t *group_of = calloc(np, sizeof(*group_of));
    size_t *group_keys = calloc(np, sizeof(*group_keys));
    if (keys == NULL || group_of == NULL || group_keys == NULL) {
        free(keys);
        free(group_of);
        free(group_keys);
        set_err(b, "out of memory");
        return -1;
    }
    size_t ngroups = 0;
    for (size_t i = 0; i < np; i++) {
        const char *p = route->paths.v[i];
        keys[i] = p[0] == '~' ? 0 : strlen(p) + 1;
        size_t g = 0;
        while (g < ngroups && group_keys[g] != keys[i]) {
            g++;
        }
        if (g == ngroups) {
            group_keys[ngroups++] = keys[i];
        }
        group_of[i] = g;
    }

    rc = 0;
    for (size_t g = 0; g < ngroups && rc == 0; g++) {
        size_t n = 0;
        for (size_t i = 0; i < np; i++) {
            n += group_of[i] == g;
        }
        struct rt_path *paths = b_alloc(b, n, sizeof(*paths));
        if (paths == NULL) {
            rc = -1;
            break;
        }
        size_t k = 0;
        for (size_t i = 0; i < np && rc == 0; i++) {
            if (group_of[i] == g) {
                rc = compile_path(b, route->paths.v[i], &paths[k++]);
            }
        }
        if (rc != 0) {
            break;
        }
        struct rt_sub s = proto;
        s.paths = paths;
        s.npaths = n;
        s.regex = group_keys[g] == 0;
        s.priority = sub_priority(route, &c, true, s.regex, s.regex ? 0 : group_keys[g] - 1);
        if (ngroups > 1) {
            char *id = sl_arena_alloc(b->arena, SL_UUID_LEN + 1);
            if (id == NULL) {
                set_err(b, "out of memory");
                rc = -1;
                break;
            }
            sl_router_split_id(route->id, (unsigned)(g + 1), id);
            s.id = id;
        }
        bool path_indexable = true;
        for (size_t i = 0; i < n; i++) {
            path_indexable = path_indexable && paths[i].key.len > 0;
        }
        if (s.where == RT_WHERE_GENERIC && path_indexable) {
            s.where = RT_WHERE_PATH;
        } else if (s.where == RT_WHERE_HOST && path_indexable) {
            s.where = RT_WHERE_MAX; /* either: decided once bucket sizes are known */
        }
        s.seq = (uint32_t)*nsubs;
        subs[(*nsubs)++] = s;
    }
    free(keys);
    free(group_of);
    free(group_keys);
    return rc;
}

static int
cmp_name(const void *a, const void *b)
{
    const struct sl_str *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* r->header_names: every header name a sub-route matches on (already lowercased, '_' as '-'),
 * sorted and unique, for the UTF-8 check of sl_router_match. */
static int
collect_header_names(struct build *b, struct sl_router *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nsubs; i++) {
        n += r->subs[i].nheaders;
    }
    if (n == 0) {
        return 0;
    }
    struct sl_str *names = b_alloc(b, n, sizeof(*names));
    if (names == NULL) {
        return -1;
    }
    n = 0;
    for (size_t i = 0; i < r->nsubs; i++) {
        for (size_t k = 0; k < r->subs[i].nheaders; k++) {
            names[n++] = r->subs[i].headers[k].name;
        }
    }
    qsort(names, n, sizeof(*names), cmp_name);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u == 0 || cmp_name(&names[u - 1], &names[i]) != 0) {
            names[u++] = names[i];
        }
    }
    r->header_names = names;
    r->nheader_names = u;
    return 0;
}

static int
cmp_sub(const void *a, const void *b)
{
    const struct rt_sub *x = a, *y = b;
    if (x->priority != y->priority) {
        return x->priority > y->priority ? -1 : 1;
    }
    /* atc-router keeps matchers in a BTreeMap keyed by (priority, uuid) and walks it backwards. */
    int c = strcasecmp(x->id, y->id);
    if (c != 0) {
        return c > 0 ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static size_t
pow2_at_least(size_t n)
{
    size_t c = 8;
    while (c < n) {
        c <<= 1;
    }
    return c;
}

static int
table_init(struct build *b, struct rt_table *t, size_t nkeys)
{
    if (nkeys == 0) {
        t->slots = NULL;
        t->mask = 0;
        return 0;
    }
    size_t cap = pow2_at_least(nkeys * 2);
    t->slots = b_alloc(b, cap, sizeof(*t->slots));
    if (t->slots == NULL) {
        return -1;
    }
    t->mask = cap - 1;
    return 0;
}

/* Finds or adds the bucket of <key,len>. <reversed>: the table hashes keys from their last byte
 * (the suffix-host table, probed from the end of the request host). */
static struct rt_bucket *
table_get(struct rt_table *t, const char *key, size_t len, bool reversed)
{
    uint64_t h = RT_FNV_OFFSET;
    for (size_t i = 0; i < len; i++) {
        h = rt_hash_step(h, (unsigned char)key[reversed ? len - 1 - i : i]);
    }
    h = rt_hash_final(h);
    size_t i = h & t->mask;
    for (;;) {
        struct rt_bucket *bk = &t->slots[i];
        if (bk->hash == 0) {
            bk->hash = h;
            bk->key = key;
            bk->keylen = (uint32_t)len;
            return bk;
        }
        if (bk->hash == h && bk->keylen == len && memcmp(bk->key, key, len) == 0) {
            return bk;
        }
        i = (i + 1) & t->mask;
    }
}

const struct rt_bucket *
sl_router_table_find(const struct rt_table *t, uint64_t hash, const char *key, size_t len)
{
    if (t->slots == NULL) {
        return NULL;
    }
    size_t i = hash & t->mask;
    for (;;) {
        const struct rt_bucket *bk = &t->slots[i];
        if (bk->hash == 0) {
            return NULL;
        }
        if (bk->hash == hash && bk->keylen == len && memcmp(bk->key, key, len) == 0) {
            return bk;
        }
        i = (i + 1) & t->mask;
    }
}

static struct sl_str
sub_key(const struct rt_sub *s, enum rt_where where, size_t i)
{
    return where == RT_WHERE_HOST ? s->hosts[i].name : s->paths[i].key;
}

static size_t
sub_nkeys(const struct rt_sub *s, enum rt_where where)
{
    return where == RT_WHERE_HOST ? s->nhosts : s->npaths;
}

/* The table key <i> of <s> goes to under <where>: hosts by kind (exact, suffix, prefix). */
static struct rt_table *
key_table(struct sl_router *r, const struct rt_sub *s, enum rt_where where, size_t i)
{
    return where == RT_WHERE_HOST ? &r->hosts[s->hosts[i].kind] : &r->paths;
}

static struct rt_bucket *
key_bucket(struct sl_router *r, const struct rt_sub *s, enum rt_where where, size_t i)
{
    struct sl_str k = sub_key(s, where, i);
    bool reversed = where == RT_WHERE_HOST && s->hosts[i].kind == RT_HOST_SUFFIX;
    return table_get(key_table(r, s, where, i), k.p, k.len, reversed);
}

/* Largest potential bucket among the keys <s> would have under <where>. */
static uint32_t
index_cost(struct sl_router *r, const struct rt_sub *s, enum rt_where where)
{
    uint32_t cost = 0;
    for (size_t i = 0; i < sub_nkeys(s, where); i++) {
        struct rt_bucket *bk = key_bucket(r, s, where, i);
        cost = bk->potential > cost ? bk->potential : cost;
    }
    return cost;
}

static bool
can_use(const struct rt_sub *s, enum rt_where w)
{
    return s->where == w || s->where == RT_WHERE_MAX;
}

/* Places every sub-route in exactly one list: a host bucket per host when every host has a key
 * (exact name, ".suffix" of a leading wildcard, "prefix." of a trailing one), a path bucket per
 * path when every path has a literal prefix, else the generic list; when both indexes are
 * possible, the one with the smaller buckets. Lists are filled in rank order, so each is sorted
 * best-first. */
static int
build_index(struct build *b, struct sl_router *r)
{
    size_t nhost[RT_HOST_KIND_MAX] = {0}, npath = 0, ngeneric = 0;
    for (size_t i = 0; i < r->nsubs; i++) {
        const struct rt_sub *s = &r->subs[i];
        for (size_t k = 0; can_use(s, RT_WHERE_HOST) && k < s->nhosts; k++) {
            nhost[s->hosts[k].kind]++;
        }
        if (can_use(s, RT_WHERE_PATH)) {
            npath += s->npaths;
        }
    }
    for (int kind = 0; kind < RT_HOST_KIND_MAX; kind++) {
        if (table_init(b, &r->hosts[kind], nhost[kind]) < 0) {
            return -1;
        }
    }
    if (table_init(b, &r->paths, npath) < 0) {
        return -1;
    }
    for (size_t i = 0; i < r->nsubs; i++) {
        const struct rt_sub *s = &r->subs[i];
        for (enum rt_where w = RT_WHERE_HOST; w <= RT_WHERE_PATH; w++) {
            for (size_t k = 0; can_use(s, w) && k < sub_nkeys(s, w); k++) {
                key_bucket(r, s, w, k)->potential++;
            }
        }
    }
    for (size_t i = 0; i < r->nsubs; i++) {
        struct rt_sub *s = &r->subs[i];
        if (s->where == RT_WHERE_MAX) {
            uint32_t ch = index_cost(r, s, RT_WHERE_HOST);
            uint32_t cp = index_cost(r, s, RT_WHERE_PATH);
            s->where = cp < ch ? RT_WHERE_PATH : RT_WHERE_HOST;
        }
        if (s->where == RT_WHERE_GENERIC) {
            ngeneric++;
            continue;
        }
        for (size_t k = 0; k < sub_nkeys(s, s->where); k++) {
            key_bucket(r, s, s->where, k)->cap++;
        }
    }
    for (int ti = 0; ti <= RT_HOST_KIND_MAX; ti++) {
        struct rt_table *t = ti < RT_HOST_KIND_MAX ? &r->hosts[ti] : &r->paths;
        for (size_t i = 0; t->slots != NULL && i <= t->mask; i++) {
            struct rt_bucket *bk = &t->slots[i];
            if (bk->cap > 0) {
                bk->list = b_alloc(b, bk->cap, sizeof(*bk->list));
                if (bk->list == NULL) {
                    return -1;
                }
            }
        }
    }
    uint32_t *generic = b_alloc(b, ngeneric, sizeof(*generic));
    if (ngeneric > 0 && generic == NULL) {
        return -1;
    }
    size_t ng = 0, max_key = 0;
    for (size_t i = 0; i < r->nsubs; i++) {
        const struct rt_sub *s = &r->subs[i];
        if (s->where == RT_WHERE_GENERIC) {
            generic[ng++] = (uint32_t)i;
            continue;
        }
        for (size_t k = 0; k < sub_nkeys(s, s->where); k++) {
            struct rt_bucket *bk = key_bucket(r, s, s->where, k);
            if (bk->n == 0 || bk->list[bk->n - 1] != (uint32_t)i) {
                bk->list[bk->n++] = (uint32_t)i;
            }
            size_t *max = s->where == RT_WHERE_PATH ? &max_key : &r->host_max_key[s->hosts[k].kind];
            if (bk->keylen > *max) {
                *max = bk->keylen;
            }
        }
    }
    r->generic = generic;
    r->ngeneric = ng;
    r->max_key_len = max_key;
    if (r->paths.slots != NULL) {
        uint8_t *present = b_alloc(b, max_key + 1, 1);
        if (present == NULL) {
            return -1;
        }
        for (size_t i = 0; i <= r->paths.mask; i++) {
            const struct rt_bucket *bk = &r->paths.slots[i];
            if (bk->n > 0) {
                present[bk->keylen] = 1;
            }
        }
        r->key_len_present = present;
    }
    return 0;
}

static void
jit_one(pcre2_code *re, size_t *budget)
{
    size_t jit_size = 0;
    if (re == NULL || *budget == 0 ||
        (pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &jit_size) == 0 && jit_size > 0)) {
        return; /* none, over budget, or shared with a sub-route already done */
    }
    /* Without JIT (unsupported CPU, no executable memory) the interpreter runs the same pattern. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    (*budget)--;
}

/* JIT-compiles the regexes in rank order, the ones tried first first, within RT_JIT_BUDGET. */
static void
jit_compile(struct sl_router *r)
{
    size_t budget = RT_JIT_BUDGET;
    for (size_t i = 0; i < r->nsubs && budget > 0; i++) {
        const struct rt_sub *s = &r->subs[i];
        for (size_t k = 0; k < s->npaths; k++) {
            jit_one(s->paths[k].re, &budget);
        }
        for (size_t h = 0; h < s->nheaders; h++) {
            for (size_t k = 0; k < s->headers[h].nvalues; k++) {
                jit_one(s->headers[h].values[k].re, &budget);
            }
        }
    }
}

/* Upper bound of the regexes a build compiles, to size the dedup table once. */
static size_t
count_regexes(struct sl_route *const *routes, size_t nroutes)
{
    size_t n = 0;
    for (size_t i = 0; i < nroutes; i++) {
        const struct sl_route *rt = routes[i];
        if (rt == NULL) {
            continue;
        }
        for (size_t k = 0; k < rt->paths.n; k++) {
            n += rt->paths.v[k][0] == '~';
        }
        for (size_t h = 0; h < rt->nheaders; h++) {
            for (size_t k = 0; k < rt->headers[h].values.n; k++) {
                const char *v = rt->headers[h].values.v[k];
                n += v[0] == '~' && v[1] == '*';
            }
        }
    }
    return n;
}

struct sl_router *
sl_router_build(struct sl_route *const *routes, size_t nroutes, struct sl_arena *arena, char *err,
                size_t errlen)
{
    struct build b = {.arena = arena, .err = err, .errlen = errlen};
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    struct sl_router *r = b_alloc(&b, 1, sizeof(*r));
    b.owner = b_alloc(&b, 1, sizeof(*b.owner));
    if (r == NULL || b.owner == NULL) {
        return NULL;
    }
    if (sl_arena_add_cleanup(arena, free_owner, b.owner) < 0) {
        set_err(&b, "out of memory");
        return NULL;
    }
    b.owner->mctx = pcre2_match_context_create(NULL);
    if (b.owner->mctx == NULL) {
        set_err(&b, "out of memory");
        return NULL;
    }
    pcre2_set_match_limit(b.owner->mctx, RT_MATCH_LIMIT);
    pcre2_set_depth_limit(b.owner->mctx, RT_DEPTH_LIMIT);
    pcre2_set_heap_limit(b.owner->mctx, RT_HEAP_LIMIT_KIB);
    r->mctx = b.owner->mctx;

    size_t recache_cap = pow2_at_least(count_regexes(routes, nroutes) * 2);
    b.recache = calloc(recache_cap, sizeof(*b.recache));
    if (b.recache == NULL) {
        set_err(&b, "out of memory");
        return NULL;
    }
    b.recache_mask = recache_cap - 1;

    size_t maxsubs = 0;
    for (size_t i = 0; i < nroutes; i++) {
        if (routes[i] != NULL) {
            maxsubs += routes[i]->paths.n > 0 ? routes[i]->paths.n : 1;
        }
    }
    struct rt_sub *subs = maxsubs ? b_alloc(&b, maxsubs, sizeof(*subs)) : NULL;
    if (maxsubs > 0 && subs == NULL) {
        free(b.recache);
        return NULL;
    }
    size_t nsubs = 0;
    for (size_t i = 0; i < nroutes; i++) {
        if (routes[i] != NULL && add_route(&b, routes[i], subs, &nsubs) < 0) {
            free(b.recache);
            return NULL;
        }
    }
    free(b.recache);
    if (nsubs > 1) {
        qsort(subs, nsubs, sizeof(*subs), cmp_sub);
    }
    r->subs = subs;
    r->nsubs = nsubs;
    r->regex_paths = b.regex_paths;
    for (size_t i = 0; i < nsubs && !r->any_paths; i++) {
        r->any_paths = subs[i].npaths > 0;
    }
    if (collect_header_names(&b, r) < 0) {
        return NULL;
    }
    jit_compile(r);
    if (build_index(&b, r) < 0) {
        return NULL;
    }
    return r;
}
