/* SPDX-License-Identifier: Apache-2.0 */
/* sluice.conf loading (src/config/conf.h): Kong's `key = value` syntax, built-in defaults, the
 * file, SLUICE_<KEY> environment overrides and the CLI prefix, then validation of every key with
 * Kong's messages where Kong has one. It only reads: it never creates the prefix or opens the logs.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/conf.h"
#include "core/file_read.h"
#include "schema/schema.h"
#include "sluice/log.h"

/* ------------------------------------------------------------------------------------------------
 */
/* Error collection */

/* Every problem becomes one line in the caller's buffer; the buffer truncates, the count does not.
 */
struct errs {
    char *buf;
    size_t cap;
    size_t len;
    unsigned n;
};

static void errs_add(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
errs_add(struct errs *e, const char *fmt, ...)
{
    e->n++;
    if (e->buf == NULL || e->cap == 0 || e->len + 1 >= e->cap) {
        return;
    }
    if (e->len > 0) {
        e->buf[e->len++] = '\n';
        e->buf[e->len] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(e->buf + e->len, e->cap - e->len, fmt, ap);
    va_end(ap);
    if (w > 0) {
        e->len += (size_t)w < e->cap - e->len ? (size_t)w : e->cap - e->len - 1;
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* Small string helpers */

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trims <s> in place and returns it. */
static char *
trim(char *s)
{
    while (is_space(*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

static bool
copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

/* Splits <s> (modified in place) on <sep>; calls <fn> with each trimmed piece. Stops when <fn>
 * returns non-zero and returns that value. */
static int
split_each(char *s, char sep, int (*fn)(void *arg, char *piece), void *arg)
{
    char *p = s;
    for (;;) {
        char *q = strchr(p, sep);
        if (q != NULL) {
            *q = '\0';
        }
        int r = fn(arg, trim(p));
        if (r != 0 || q == NULL) {
            return r;
        }
        p = q + 1;
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* Sizes and durations */

int
sl_conf_parse_size(const char *value, uint64_t *out)
{
    if (value == NULL || out == NULL || !isdigit((unsigned char)value[0])) {
        return -1;
    }
    uint64_t v = 0;
    const char *p = value;
    while (isdigit((unsigned char)*p)) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
        p++;
    }
    unsigned shift = 0;
    switch (*p) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        p++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        p++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        p++;
        break;
    default:
        return -1;
    }
    if (*p != '\0') {
        return -1;
    }
    if (shift != 0 && v > (UINT64_MAX >> shift)) {
        return -1;
    }
    *out = v << shift;
    return 0;
}

int
sl_conf_parse_duration_ms(const char *value, int64_t *out)
{
    if (value == NULL || out == NULL) {
        return -1;
    }
    const char *p = value;
    int64_t total = 0;
    int parts = 0;
    while (*p == ' ') {
        p++;
    }
    if (*p == '\0') {
        return -1;
    }
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p)) {
            return -1;
        }
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p - '0');
            if (n > INT_MAX) {
                return -1;
            }
            p++;
        }
        int64_t mul;
        if (p[0] == 'm' && p[1] == 's') {
            mul = 1;
            p += 2;
        } else if (*p == 's') {
            mul = 1000;
            p++;
        } else if (*p == 'm') {
            mul = 60 * 1000;
            p++;
        } else if (*p == 'h') {
            mul = 3600 * 1000;
            p++;
        } else if (*p == 'd') {
            mul = 86400 * (int64_t)1000;
            p++;
        } else if (*p == 'w') {
            mul = 7 * 86400 * (int64_t)1000;
            p++;
        } else {
            /* a unit-less number means seconds, and only when it stands alone */
            const char *q = p;
            while (*q == ' ') {
                q++;
            }
            if (parts > 0 || *q != '\0') {
                return -1;
            }
            mul = 1000;
        }
        total += n * mul;
        if (total > INT_MAX) {
            return -1;
        }
        parts++;
        while (*p == ' ') {
            p++;
        }
    }
    *out = total;
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Listeners */

static const char listen_usage[] =
    "must be of form: [off] | <ip>:<port> [ssl] [http2] [proxy_protocol] [deferred] [bind] "
    "[reuseport] [backlog=%d+] [ipv6only=on] [ipv6only=off] [so_keepalive=on] "
    "[so_keepalive=off] [so_keepalive=%w*:%w*:%d*], [... next entry ...]";

static int
all_digits(const char *s)
{
    if (*s == '\0') {
        return 0;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) {
            return 0;
        }
    }
    return 1;
}

/* Parses one so_keepalive time ("", "30", "30s", "5m"): seconds, 0 meaning the system default. */
static int
parse_keepalive_time(const char *s, size_t len, int *out)
{
    char tmp[32];
    if (len == 0) {
        *out = 0;
        return 0;
    }
    if (len >= sizeof(tmp)) {
        return -1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)tmp[i])) {
            return -1;
        }
    }
    int64_t ms;
    if (sl_conf_parse_duration_ms(tmp, &ms) != 0) {
        return -1;
    }
    *out = (int)(ms / 1000);
    return 0;
}

/* Recognises one flag token; returns 1 when <tok> was a flag, 0 when not, -1 when malformed. */
static int
parse_listen_flag(const char *tok, struct sl_listen *l)
{
    static const char *const bool_flags[] = {"ssl",      "http2", "proxy_protocol",
                                             "deferred", "bind",  "reuseport"};
    for (size_t i = 0; i < sizeof(bool_flags) / sizeof(bool_flags[0]); i++) {
        if (strcmp(tok, bool_flags[i]) == 0) {
            switch (i) {
            case 0:
                l->ssl = true;
                break;
            case 1:
                l->http2 = true;
                break;
            case 2:
                l->proxy_protocol = true;
                break;
            case 3:
                l->deferred = true;
                break;
            case 4:
                l->bind = true;
                break;
            default:
                l->reuseport = true;
                break;
            }
            return 1;
        }
    }
    if (strncmp(tok, "backlog=", 8) == 0) {
        const char *v = tok + 8;
        if (!all_digits(v) || strlen(v) > 9) {
            return -1;
        }
        long n = strtol(v, NULL, 10);
        if (n < 1 || n > 1000000) {
            return -1;
        }
        l->backlog = (int)n;
        return 1;
    }
    if (strcmp(tok, "ipv6only=on") == 0 || strcmp(tok, "ipv6only=off") == 0) {
        l->ipv6only = tok[10] == 'n';
        return 1;
    }
    if (strncmp(tok, "so_keepalive=", 13) == 0) {
        const char *v = tok + 13;
        if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
            l->so_keepalive = v[1] == 'n';
            return 1;
        }
        const char *c1 = strchr(v, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL || strchr(c2 + 1, ':') != NULL) {
            return -1;
        }
        if (parse_keepalive_time(v, (size_t)(c1 - v), &l->keepidle_s) != 0 ||
            parse_keepalive_time(c1 + 1, (size_t)(c2 - c1 - 1), &l->keepintvl_s) != 0) {
            return -1;
        }
        const char *cnt = c2 + 1;
        if (*cnt != '\0') {
            if (!all_digits(cnt) || strlen(cnt) > 4) {
                return -1;
            }
            l->keepcnt = atoi(cnt);
        }
        l->so_keepalive = 1;
        return 1;
    }
    return 0;
}

/* Parses "<ip>:<port>" into <l>. Returns 0, -1 for bad syntax, -2 for a port out of range. */
static int
parse_listen_addr(const char *a, struct sl_listen *l)
{
    const char *host;
    size_t hlen;
    const char *port;
    if (a[0] == '[') {
        const char *rb = strchr(a, ']');
        if (rb == NULL || rb[1] != ':') {
            return -1;
        }
        host = a + 1;
        hlen = (size_t)(rb - host);
        port = rb + 2;
    } else {
        const char *colon = strrchr(a, ':');
        if (colon == NULL || memchr(a, ':', (size_t)(colon - a)) != NULL) {
            return -1; /* a bare IPv6 address needs brackets */
        }
        host = a;
        hlen = (size_t)(colon - a);
        port = colon + 1;
    }
    if (!all_digits(port) || hlen == 0) {
        return -1;
    }
    if (strlen(port) > 5 || atol(port) < 1 || atol(port) > 65535) {
        return -2;
    }
    char tmp[64];
    if (hlen >= sizeof(tmp)) {
        return -1;
    }
    memcpy(tmp, host, hlen);
    tmp[hlen] = '\0';
    if (strcmp(tmp, "*") == 0) {
        strcpy(tmp, "0.0.0.0");
    } else if (strcmp(tmp, "localhost") == 0) {
        strcpy(tmp, "127.0.0.1");
    }
    struct sl_cidr c;
    if (sl_cidr_parse(tmp, strlen(tmp), &c) != 0 || strchr(tmp, '/') != NULL) {
        return -1;
    }
    if ((a[0] == '[') != (strchr(tmp, ':') != NULL)) {
        return -1; /* brackets exactly around IPv6 */
    }
    copy_str(l->host, sizeof(l->host), tmp);
    l->port = (uint16_t)atol(port);
    return 0;
}

static void
listen_defaults(struct sl_listen *l)
{
    memset(l, 0, sizeof(*l));
    l->backlog = 16384;
    l->ipv6only = -1;
    l->so_keepalive = -1;
}

int
sl_conf_parse_listen(const char *value, struct sl_listen *out, size_t max, char *err, size_t errlen)
{
    struct errs e = {err, errlen, 0, 0};
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (value == NULL) {
        errs_add(&e, "%s", listen_usage);
        return -1;
    }
    size_t vlen = strlen(value);
    char *copy = malloc(vlen + 1);
    if (copy == NULL) {
        errs_add(&e, "out of memory");
        return -1;
    }
    memcpy(copy, value, vlen + 1);

    int count = 0;
    char *save = NULL;
    char *p = copy;
    bool first = true;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        char *entry = trim(p);
        if (first && strcmp(entry, "off") == 0) {
            break; /* Kong: "off" first disables the listener, whatever follows */
        }
        first = false;
        if ((size_t)count >= max) {
            errs_add(&e, "too many entries (at most %zu)", max);
            count = -1;
            break;
        }
        struct sl_listen l;
        listen_defaults(&l);
        bool have_addr = false;
        int rc = 0;
        for (char *tok = strtok_r(entry, " \t", &save); tok != NULL;
             tok = strtok_r(NULL, " \t", &save)) {
            int f = parse_listen_flag(tok, &l);
            if (f == 1) {
                continue;
            }
            if (f < 0 || have_addr) {
                rc = -1;
                break;
            }
            rc = parse_listen_addr(tok, &l);
            if (rc != 0) {
                if (rc == -2) {
                    errs_add(&e, "invalid port in '%s' (1-65535)", tok);
                }
                break;
            }
            have_addr = true;
        }
        if (rc == 0 && !have_addr) {
            rc = -1;
        }
        if (rc != 0) {
            if (rc == -1) {
                errs_add(&e, "%s", listen_usage);
            }
            count = -1;
            break;
        }
        out[count++] = l;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    free(copy);
    return count;
}

/* ------------------------------------------------------------------------------------------------
 */
/* Keys */

enum key_source {
    SRC_DEFAULT = 0,
    SRC_FILE,
    SRC_ENV,
    SRC_CLI,
};

struct ctx;
typedef void (*key_parse_fn)(struct ctx *c, const char *key, const char *value);

struct key_def {
    const char *name;
    const char *def;    /* built-in default, "" meaning unset */
    key_parse_fn parse; /* NULL: a plain string, copied into the field below */
    size_t field;       /* offset of that field in struct sl_conf */
    size_t cap;         /* and its size */
};

/* A key whose value <parse> checks and stores. */
#define PARSED_KEY(key, def_value, parse_fn)                                                       \
    {                                                                                              \
        .name = key, .def = def_value, .parse = parse_fn                                           \
    }

/* A key whose value is kept as it is written (a path, a host name), in sl_conf's char array
 * <member>; too long a value is an error. */
#define STRING_KEY(key, def_value, member)                                                         \
    {                                                                                              \
        .name = key, .def = def_value, .field = offsetof(struct sl_conf, member),                  \
        .cap = sizeof(((struct sl_conf *)0)->member)                                               \
    }

struct raw_value {
    char *value; /* malloc'd; NULL → default */
    enum key_source src;
    unsigned line;
};

struct ctx {
    struct sl_conf *conf;
    struct errs *e;
    const char *file; /* name used in messages */
    const struct key_def *key;
    const struct raw_value *raw;
};

static void kerr(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports a problem with the key being parsed, prefixed with where its value came from. */
static void
kerr(struct ctx *c, const char *fmt, ...)
{
    char msg[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    switch (c->raw ? c->raw->src : SRC_DEFAULT) {
    case SRC_FILE:
        errs_add(c->e, "%s:%u: %s", c->file, c->raw->line, msg);
        break;
    case SRC_ENV: {
        char env[80];
        size_t i = 0;
        for (const char *k = c->key->name; *k && i < sizeof(env) - 1; k++) {
            env[i++] = (char)toupper((unsigned char)*k);
        }
        env[i] = '\0';
        errs_add(c->e, "SLUICE_%s: %s", env, msg);
        break;
    }
    case SRC_CLI:
        errs_add(c->e, "-p: %s", msg);
        break;
    default:
        errs_add(c->e, "%s", msg);
        break;
    }
}

static int
parse_bool(struct ctx *c, const char *key, const char *v, bool *out)
{
    if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0) {
        *out = false;
        return 0;
    }
    kerr(c, "%s is not a boolean: '%s'", key, v);
    return -1;
}

/* Integers: Kong types these keys as numbers; a fraction is refused rather than truncated. */
static int
parse_int(struct ctx *c, const char *key, const char *v, long long lo, long long hi,
          const char *range_msg, long long *out)
{
    errno = 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE) {
        double d = strtod(v, &end);
        if (end != v && *end == '\0' && !isspace((unsigned char)v[0]) && d == d) {
            kerr(c, "%s must be an integer", key);
        } else {
            kerr(c, "%s is not a number: '%s'", key, v);
        }
        return -1;
    }
    if (n < lo || n > hi) {
        kerr(c, "%s", range_msg);
        return -1;
    }
    *out = n;
    return 0;
}

static void
parse_string_into(struct ctx *c, const char *key, const char *v, char *dst, size_t cap)
{
    if (!copy_str(dst, cap, v)) {
        kerr(c, "%s is too long (at most %zu bytes)", key, cap - 1);
    }
}

#define CONF_FIELD(name) (c->conf->name)

static void
k_daemon(struct ctx *c, const char *key, const char *v)
{
    parse_bool(c, key, v, &CONF_FIELD(daemon));
}

static void
k_worker_processes(struct ctx *c, const char *key, const char *v)
{
    if (strcmp(v, "auto") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        CONF_FIELD(worker_processes) = n < 1 ? 1 : (n > 1024 ? 1024 : (int)n);
        return;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || n < 1 || n > 1024) {
        kerr(c, "%s has an invalid value: '%s' (auto, or an integer between 1 and 1024)", key, v);
        return;
    }
    CONF_FIELD(worker_processes) = (int)n;
}

static void
k_log_level(struct ctx *c, const char *key, const char *v)
{
    int l = sl_log_level_parse(v);
    if (l < 0) {
        kerr(c,
             "%s has an invalid value: '%s' (debug, info, notice, warn, error, crit, alert, emerg)",
             key, v);
        return;
    }
    CONF_FIELD(log_level) = l;
}

static void
parse_listen_key(struct ctx *c, const char *key, const char *v, struct sl_listen *out, size_t *n)
{
    char err[512];
    int r = sl_conf_parse_listen(v, out, SL_CONF_MAX_LISTEN, err, sizeof(err));
    if (r < 0) {
        kerr(c, "%s %s", key, err);
        return;
    }
    *n = (size_t)r;
}

static void
k_proxy_listen(struct ctx *c, const char *key, const char *v)
{
    parse_listen_key(c, key, v, CONF_FIELD(proxy_listen), &CONF_FIELD(nproxy_listen));
}

static void
k_admin_listen(struct ctx *c, const char *key, const char *v)
{
    parse_listen_key(c, key, v, CONF_FIELD(admin_listen), &CONF_FIELD(nadmin_listen));
}

static void
k_status_listen(struct ctx *c, const char *key, const char *v)
{
    parse_listen_key(c, key, v, CONF_FIELD(status_listen), &CONF_FIELD(nstatus_listen));
}

static void
k_proxy_access_log_format(struct ctx *c, const char *key, const char *v)
{
    if (strcmp(v, "combined") == 0) {
        CONF_FIELD(proxy_access_log_format) = SL_ACCESS_LOG_COMBINED;
    } else if (strcmp(v, "json") == 0) {
        CONF_FIELD(proxy_access_log_format) = SL_ACCESS_LOG_JSON;
    } else {
        kerr(c, "%s has an invalid value: '%s' (combined, json)", key, v);
    }
}

struct list_state {
    struct ctx *c;
    const char *key;
    unsigned flags;
    size_t n;
    bool first;
    bool off;
    bool failed;
};

/* Calls <fn> on each comma-separated item of <v> (trimmed) with <st>, on a copy of <v>. */
static void
each_list_item(struct list_state *st, const char *v, int (*fn)(void *arg, char *piece))
{
    char *copy = strdup(v);
    if (copy == NULL) {
        kerr(st->c, "out of memory");
        return;
    }
    split_each(copy, ',', fn, st);
    free(copy);
}

static int
trusted_one(void *arg, char *piece)
{
    struct list_state *st = arg;
    struct sl_conf *conf = st->c->conf;
    if (strcmp(piece, "unix:") == 0) {
        return 0; /* connections over unix sockets: accepted, nothing to store yet */
    }
    struct sl_cidr cidr;
    if (sl_cidr_parse(piece, strlen(piece), &cidr) != 0) {
        kerr(st->c,
             "trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or "
             "CIDR block or 'unix:', got '%s'",
             piece);
        st->failed = true;
        return 0;
    }
    if (conf->ntrusted_ips >= SL_CONF_MAX_TRUSTED) {
        kerr(st->c, "trusted_ips has too many entries (at most %d)", SL_CONF_MAX_TRUSTED);
        st->failed = true;
        return 1;
    }
    conf->trusted_ips[conf->ntrusted_ips++] = cidr;
    return 0;
}

static void
k_trusted_ips(struct ctx *c, const char *key, const char *v)
{
    c->conf->ntrusted_ips = 0;
    if (*v == '\0') {
        return;
    }
    struct list_state st = {.c = c, .key = key};
    each_list_item(&st, v, trusted_one);
}

/* 1..65535 in decimal digits only, into <out>. */
static bool
parse_port_number(const char *p, size_t n, uint16_t *out)
{
    unsigned v = 0;
    if (n == 0 || n > 5) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return false;
    }
    *out = (uint16_t)v;
    return true;
}

static int
port_map_one(void *arg, char *piece)
{
    struct list_state *st = arg;
    struct sl_conf *conf = st->c->conf;
    const char *colon = strchr(piece, ':');
    uint16_t host_port, listen_port;
    if (colon == NULL || !parse_port_number(piece, (size_t)(colon - piece), &host_port) ||
        !parse_port_number(colon + 1, strlen(colon + 1), &listen_port)) {
        kerr(st->c, "invalid port mapping (`port_maps`): %s", piece);
        st->failed = true;
        return 0;
    }
    if (conf->nport_maps >= SL_CONF_MAX_PORT_MAPS) {
        kerr(st->c, "port_maps has too many entries (at most %d)", SL_CONF_MAX_PORT_MAPS);
        st->failed = true;
        return 1;
    }
    conf->port_maps[conf->nport_maps].host_port = host_port;
    conf->port_maps[conf->nport_maps].listen_port = listen_port;
    conf->nport_maps++;
    return 0;
}

static void
k_port_maps(struct ctx *c, const char *key, const char *v)
{
    c->conf->nport_maps = 0;
    if (*v == '\0') {
        return;
    }
    struct list_state st = {.c = c, .key = key};
    each_list_item(&st, v, port_map_one);
}

static bool
is_header_token(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!(isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch) != NULL)) {
            return false;
        }
    }
    return true;
}

static void
k_real_ip_header(struct ctx *c, const char *key, const char *v)
{
    if (!is_header_token(v)) {
        kerr(c, "%s has an invalid value: '%s' (a header name, or proxy_protocol)", key, v);
        return;
    }
    parse_string_into(c, key, v, CONF_FIELD(real_ip_header), sizeof(CONF_FIELD(real_ip_header)));
}

static void
k_real_ip_recursive(struct ctx *c, const char *key, const char *v)
{
    parse_bool(c, key, v, &CONF_FIELD(real_ip_recursive));
}

static const struct {
    const char *name;
    unsigned bits;
} header_names[] = {
    {"server_tokens", SL_HDR_SERVER | SL_HDR_VIA},
    {"latency_tokens", SL_HDR_PROXY_LATENCY | SL_HDR_UPSTREAM_LATENCY | SL_HDR_RESPONSE_LATENCY},
    {"server", SL_HDR_SERVER},
    {"via", SL_HDR_VIA},
    {"x-sluice-proxy-latency", SL_HDR_PROXY_LATENCY},
    {"x-sluice-upstream-latency", SL_HDR_UPSTREAM_LATENCY},
    {"x-sluice-response-latency", SL_HDR_RESPONSE_LATENCY},
    {"x-sluice-request-id", SL_HDR_REQUEST_ID},
    {"x-sluice-upstream-status", SL_HDR_UPSTREAM_STATUS},
};

static int
header_one(void *arg, char *piece)
{
    struct list_state *st = arg;
    bool first = st->first;
    st->first = false;
    if (strcasecmp(piece, "off") == 0) {
        if (first) {
            st->off = true; /* Kong: "off" as the first entry disables them all */
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(header_names) / sizeof(header_names[0]); i++) {
        if (strcasecmp(piece, header_names[i].name) == 0) {
            st->flags |= header_names[i].bits;
            return 0;
        }
    }
    kerr(st->c, "headers: invalid entry '%s'", piece);
    st->failed = true;
    return 0;
}

static void
k_headers(struct ctx *c, const char *key, const char *v)
{
    struct list_state st = {.c = c, .key = key, .first = true};
    each_list_item(&st, v, header_one);
    c->conf->headers = st.off ? 0 : st.flags;
}

/* Kong's headers_upstream: the headers Sluice adds to the upstream request that can be turned
 * off. Kong has one, its request id; "off" first disables it, as in `headers`. */
static int
header_upstream_one(void *arg, char *piece)
{
    struct list_state *st = arg;
    bool first = st->first;
    st->first = false;
    if (strcasecmp(piece, "off") == 0) {
        if (first) {
            st->off = true;
        }
        return 0;
    }
    if (strcasecmp(piece, "x-sluice-request-id") == 0) {
        st->flags |= SL_HDR_REQUEST_ID;
        return 0;
    }
    kerr(st->c, "headers_upstream: invalid entry '%s'", piece);
    st->failed = true;
    return 0;
}

static void
k_headers_upstream(struct ctx *c, const char *key, const char *v)
{
    struct list_state st = {.c = c, .key = key, .first = true};
    each_list_item(&st, v, header_upstream_one);
    c->conf->headers_upstream = st.off ? 0 : st.flags;
}

/* Kong's `plugins`: "bundled", "off" (skipped, as in Kong's conf_loader) and plugin names. A
 * name that is not installed refuses the configuration, as Kong refuses to start with
 * "<name> plugin is enabled but not installed": a configuration that counts on a plugin (an
 * authentication, a rate limit) must not be served without it. Installed plugins are those the
 * schema layer knows (sl_plugin_schema_lookup); no plugin is bundled yet. */
static int
plugin_one(void *arg, char *piece)
{
    struct list_state *st = arg;
    if (strcmp(piece, "bundled") == 0 || strcmp(piece, "off") == 0 || piece[0] == '\0') {
        return 0;
    }
    if (sl_plugin_schema_lookup != NULL && sl_plugin_schema_lookup(piece) != NULL) {
        return 0;
    }
    kerr(st->c,
         "%s has an invalid value: '%s' (%s plugin is enabled but not installed; bundled, off or "
         "the names of installed plugins)",
         st->key, piece, piece);
    st->failed = true;
    return 0;
}

static void
k_plugins(struct ctx *c, const char *key, const char *v)
{
    struct list_state st = {.c = c, .key = key};
    each_list_item(&st, v, plugin_one);
    parse_string_into(c, key, v, CONF_FIELD(plugins), sizeof(CONF_FIELD(plugins)));
}

static void
k_error_default_type(struct ctx *c, const char *key, const char *v)
{
    /* Kong's enum, in its order (conf_loader/constants.lua) */
    static const char *const names[SL_ERROR_TYPE_MAX] = {
        [SL_ERROR_TYPE_JSON] = "application/json",
        [SL_ERROR_TYPE_XML] = "application/xml",
        [SL_ERROR_TYPE_HTML] = "text/html",
        [SL_ERROR_TYPE_PLAIN] = "text/plain",
    };
    for (int i = 0; i < SL_ERROR_TYPE_MAX; i++) {
        if (strcmp(v, names[i]) == 0) {
            CONF_FIELD(error_default_type) = (enum sl_error_type)i;
            return;
        }
    }
    kerr(c,
         "%s has an invalid value: '%s' (application/json, application/xml, text/html, "
         "text/plain)",
         key, v);
}

static void
k_database(struct ctx *c, const char *key, const char *v)
{
    if (strcmp(v, "sqlite") == 0) {
        CONF_FIELD(database) = SL_DB_SQLITE;
    } else if (strcmp(v, "postgres") == 0) {
        CONF_FIELD(database) = SL_DB_POSTGRES;
    } else if (strcmp(v, "off") == 0) {
        CONF_FIELD(database) = SL_DB_OFF;
    } else {
        kerr(c, "%s has an invalid value: '%s' (sqlite, postgres, off)", key, v);
    }
}

/* declarative_config_string's text, kept out of struct sl_conf (conf.h says why): the one of the
 * last load that set the key. Each load drops the previous one, so nothing accumulates however
 * often the configuration is loaded (reloads, the fuzzer). */
static struct {
    char *text;
    size_t len;
    uint64_t id; /* the sl_conf.declarative_config_string_id it belongs to */
} dcs;
static uint64_t dcs_last_id;

static void
dcs_clear(void)
{
    free(dcs.text);
    dcs.text = NULL;
    dcs.len = 0;
    dcs.id = 0;
}

static void
k_declarative_config_string(struct ctx *c, const char *key, const char *v)
{
    if (v[0] == '\0') {
        return; /* unset */
    }
    /* Kong types it a plain string: whether it is a valid document is the declarative loader's
     * question, asked where the document is used (database = off), as Kong does. Nothing here
     * echoes the value. */
    char *copy = strdup(v);
    if (copy == NULL) {
        kerr(c, "%s: out of memory", key);
        return;
    }
    dcs.text = copy;
    dcs.len = strlen(copy);
    dcs.id = ++dcs_last_id;
    CONF_FIELD(declarative_config_string_id) = dcs.id;
}

const char *
sl_conf_declarative_string(const struct sl_conf *conf, size_t *len)
{
    if (conf->declarative_config_string_id == 0 || conf->declarative_config_string_id != dcs.id) {
        *len = 0;
        return NULL;
    }
    *len = dcs.len;
    return dcs.text;
}

static void
parse_nonneg(struct ctx *c, const char *key, const char *v, int *out)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "%s must be 0 or greater", key);
    long long n;
    if (parse_int(c, key, v, 0, INT_MAX, msg, &n) == 0) {
        *out = (int)n;
    }
}

static void
k_upstream_keepalive_pool_size(struct ctx *c, const char *key, const char *v)
{
    parse_nonneg(c, key, v, &CONF_FIELD(upstream_keepalive_pool_size));
}

static void
k_upstream_keepalive_max_requests(struct ctx *c, const char *key, const char *v)
{
    parse_nonneg(c, key, v, &CONF_FIELD(upstream_keepalive_max_requests));
}

static void
k_upstream_keepalive_idle_timeout(struct ctx *c, const char *key, const char *v)
{
    parse_nonneg(c, key, v, &CONF_FIELD(upstream_keepalive_idle_timeout_s));
}

static void
parse_duration_key(struct ctx *c, const char *key, const char *v, int *out_ms)
{
    int64_t ms;
    if (sl_conf_parse_duration_ms(v, &ms) != 0) {
        kerr(c, "%s has an invalid value: '%s' (a duration such as 500ms, 60s, 1m)", key, v);
        return;
    }
    *out_ms = (int)ms;
}

/* A client timeout that bounds how long a peer may hold a connection: 0 would mean none (the
 * slowloris deadline gone), so it is refused rather than taken silently. */
static void
parse_bound_key(struct ctx *c, const char *key, const char *v, int *out_ms)
{
    int ms = -1;
    parse_duration_key(c, key, v, &ms);
    if (ms == 0) {
        kerr(c, "%s must be greater than 0", key);
        return;
    }
    if (ms > 0) {
        *out_ms = ms;
    }
}

static void
k_client_header_timeout(struct ctx *c, const char *key, const char *v)
{
    parse_bound_key(c, key, v, &CONF_FIELD(client_header_timeout_ms));
}

static void
k_client_body_timeout(struct ctx *c, const char *key, const char *v)
{
    parse_bound_key(c, key, v, &CONF_FIELD(client_body_timeout_ms));
}

static void
k_send_timeout(struct ctx *c, const char *key, const char *v)
{
    parse_bound_key(c, key, v, &CONF_FIELD(send_timeout_ms));
}

static void
k_keepalive_timeout(struct ctx *c, const char *key, const char *v)
{
    parse_duration_key(c, key, v, &CONF_FIELD(keepalive_timeout_ms));
}

static void
k_quit_timeout(struct ctx *c, const char *key, const char *v)
{
    int ms = 0;
    unsigned before = c->e->n;
    parse_duration_key(c, key, v, &ms);
    if (c->e->n == before) {
        CONF_FIELD(quit_timeout_s) = (int)((ms + 999LL) / 1000);
    }
}

static int
parse_size_key(struct ctx *c, const char *key, const char *v, uint64_t *out)
{
    if (sl_conf_parse_size(v, out) != 0) {
        kerr(c, "%s has an invalid value: '%s' (a size such as 8k, 10m, 1g)", key, v);
        return -1;
    }
    return 0;
}

static void
k_client_max_body_size(struct ctx *c, const char *key, const char *v)
{
    parse_size_key(c, key, v, &CONF_FIELD(client_max_body_size));
}

/* Calls <fn>(piece, arg) for each trimmed comma-separated piece of <v> until it returns non-zero;
 * returns that value (0 when every piece passed). */
static int
each_piece(const char *v, int (*fn)(const char *piece, void *arg), void *arg)
{
    char *copy = strdup(v);
    if (copy == NULL) {
        return -1;
    }
    int r = 0;
    for (char *p = copy, *q; r == 0; p = q + 1) {
        q = strchr(p, ',');
        if (q != NULL) {
            *q = '\0';
        }
        r = fn(trim(p), arg);
        if (q == NULL) {
            break;
        }
    }
    free(copy);
    return r;
}

struct piece_check {
    struct ctx *c;
    const char *key;
};

/* One dns_resolver entry parsed alone: a bad one gets Kong's message, with the entry. */
static int
resolver_piece(const char *piece, void *arg)
{
    struct piece_check *pc = arg;
    char csv[512], msg[256];
    if (sl_dns_parse_resolver(piece, csv, sizeof(csv), msg, sizeof(msg)) < 0) {
        kerr(pc->c,
             "%s must be a comma separated list in the form of IPv4/6 or IPv4/6:port, got '%s'",
             pc->key, piece);
        return 1;
    }
    return 0;
}

static void
k_dns_resolver(struct ctx *c, const char *key, const char *v)
{
    char msg[256];
    if (sl_dns_parse_resolver(v, CONF_FIELD(dns.servers), sizeof(CONF_FIELD(dns.servers)), msg,
                              sizeof(msg)) < 0) {
        struct piece_check pc = {c, key};
        if (each_piece(v, resolver_piece, &pc) == 0) {
            kerr(c, "%s: %s", key, msg); /* every entry is fine alone: too many of them */
        }
    }
}

/* Kong's conf_loader checks that the hosts file exists ("dns_hostsfile: file does not exist"):
 * a typo is found by `sluice check`, not at the first lookup. */
static void
k_dns_hostsfile(struct ctx *c, const char *key, const char *v)
{
    struct stat st;
    if (stat(v, &st) != 0 || !S_ISREG(st.st_mode)) {
        kerr(c, "%s: file does not exist", key);
        return;
    }
    parse_string_into(c, key, v, CONF_FIELD(dns.hostsfile), sizeof(CONF_FIELD(dns.hostsfile)));
}

/* One dns_order entry: Kong's message for a name that is not a record type. */
static int
order_piece(const char *piece, void *arg)
{
    static const char *const names[] = {"LAST", "SRV", "A", "AAAA", "CNAME"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(piece, names[i]) == 0) {
            return 0;
        }
    }
    struct piece_check *pc = arg;
    kerr(pc->c, "%s: invalid entry '%s'", pc->key, piece);
    return 1;
}

static void
k_dns_order(struct ctx *c, const char *key, const char *v)
{
    struct piece_check pc = {c, key};
    if (each_piece(v, order_piece, &pc) != 0) {
        return;
    }
    char msg[256];
    if (sl_dns_parse_order(v, CONF_FIELD(dns.order), &CONF_FIELD(dns.norder), msg, sizeof(msg)) <
        0) {
        kerr(c, "%s: %s", key, msg);
    }
}

static void
k_dns_valid_ttl(struct ctx *c, const char *key, const char *v)
{
    CONF_FIELD(dns.valid_ttl) = -1; /* unset: the records' own TTLs */
    if (v[0] != '\0') {
        parse_nonneg(c, key, v, &CONF_FIELD(dns.valid_ttl));
    }
}

static void
k_dns_stale_ttl(struct ctx *c, const char *key, const char *v)
{
    parse_nonneg(c, key, v, &CONF_FIELD(dns.stale_ttl));
}

static void
k_dns_not_found_ttl(struct ctx *c, const char *key, const char *v)
{
    parse_nonneg(c, key, v, &CONF_FIELD(dns.not_found_ttl));
}

static void
k_dns_error_ttl(struct ctx *c, const char *key, const char *v)
{
    parse_nonneg(c, key, v, &CONF_FIELD(dns.error_ttl));
}

static void
k_dns_cache_size(struct ctx *c, const char *key, const char *v)
{
    parse_nonneg(c, key, v, &CONF_FIELD(dns_cache_size));
}

static void
k_dns_no_sync(struct ctx *c, const char *key, const char *v)
{
    parse_bool(c, key, v, &CONF_FIELD(dns_no_sync));
}

static void
k_large_client_header_buffers(struct ctx *c, const char *key, const char *v)
{
    /* nginx's form is "<number> <size>" ("4 8k"): Sluice has no buffer count, only the size */
    const char *sp = strrchr(v, ' ');
    const char *size = v;
    if (sp != NULL) {
        char num[16];
        size_t nlen = (size_t)(sp - v);
        while (nlen > 0 && v[nlen - 1] == ' ') {
            nlen--;
        }
        if (nlen == 0 || nlen >= sizeof(num)) {
            kerr(c, "%s has an invalid value: '%s' (a size such as 8k)", key, v);
            return;
        }
        memcpy(num, v, nlen);
        num[nlen] = '\0';
        if (!all_digits(num)) {
            kerr(c, "%s has an invalid value: '%s' (a size such as 8k)", key, v);
            return;
        }
        size = sp + 1;
    }
    uint64_t n;
    if (parse_size_key(c, key, size, &n) != 0) {
        return;
    }
    if (n < 256 || n > 1024 * 1024) {
        kerr(c, "%s must be between 256 and 1m", key);
        return;
    }
    CONF_FIELD(large_client_header_buffers) = (size_t)n;
}

static void
k_max_header_bytes(struct ctx *c, const char *key, const char *v)
{
    uint64_t n;
    if (parse_size_key(c, key, v, &n) != 0) {
        return;
    }
    if (n < 1024 || n > 16 * 1024 * 1024) {
        kerr(c, "%s must be between 1k and 16m", key);
        return;
    }
    CONF_FIELD(max_header_bytes) = (size_t)n;
}

static void
k_lua_max_req_headers(struct ctx *c, const char *key, const char *v)
{
    long long n;
    if (parse_int(c, key, v, 1, 1000, "lua_max_req_headers must be an integer between 1 and 1000",
                  &n) == 0) {
        CONF_FIELD(lua_max_req_headers) = (int)n;
    }
}

/* Kong's node_id: any UUID (its is_valid_uuid: 8-4-4-4-12 hex digits, either case), kept as
 * written. Unset, the id comes from <prefix>/sluice.id (core/node_id.h). */
static void
k_node_id(struct ctx *c, const char *key, const char *v)
{
    (void)key;
    if (v[0] == '\0') {
        return;
    }
    if (!sl_uuid_valid(v)) {
        kerr(c, "node_id must be a valid UUID");
        return;
    }
    memcpy(CONF_FIELD(node_id), v, SL_UUID_STR_LEN + 1);
}

static void
k_pg_port(struct ctx *c, const char *key, const char *v)
{
    long long n;
    if (parse_int(c, key, v, 0, 65535, "pg_port must be an integer between 0 and 65535", &n) == 0) {
        CONF_FIELD(pg_port) = (int)n;
    }
}

static void
k_pg_password(struct ctx *c, const char *key, const char *v)
{
    if (!copy_str(CONF_FIELD(pg_password), sizeof(CONF_FIELD(pg_password)), v)) {
        /* never echo a secret */
        kerr(c, "%s is too long (at most %zu bytes)", key, sizeof(CONF_FIELD(pg_password)) - 1);
    }
}

static void
k_pg_timeout(struct ctx *c, const char *key, const char *v)
{
    long long n;
    if (parse_int(c, key, v, 1, INT_MAX, "pg_timeout must be greater than 0", &n) == 0) {
        CONF_FIELD(pg_timeout_ms) = (int)n;
    }
}

static void
k_pg_ssl(struct ctx *c, const char *key, const char *v)
{
    parse_bool(c, key, v, &CONF_FIELD(pg_ssl));
}

/* Kong's certificate lists (admin_ssl_cert = a.crt, b.crt): file paths only. Kong also takes the
 * PEM text itself or its base64 here; that is refused with a clear message instead of being
 * mistaken for a file name. A value is never echoed: it may be a key. */
static void
parse_pem_path_list(struct ctx *c, const char *key, const char *v, char (*out)[1024], size_t *n)
{
    *n = 0;
    if (v[0] == '\0') {
        return;
    }
    char *copy = strdup(v);
    if (copy == NULL) {
        kerr(c, "out of memory");
        return;
    }
    char *p = copy;
    for (bool last = false; !last;) {
        char *q = strchr(p, ',');
        last = q == NULL;
        if (q != NULL) {
            *q = '\0';
        }
        char *item = trim(p);
        if (q != NULL) {
            p = q + 1;
        }
        if (item[0] == '\0') {
            kerr(c, "%s: an entry of the list is empty", key);
            break;
        }
        if (strncmp(item, "-----BEGIN", 10) == 0) {
            kerr(c, "%s: PEM content is not supported here; give the path of a PEM file", key);
            break;
        }
        if (*n == SL_CONF_MAX_SSL_PAIRS) {
            kerr(c, "%s: at most %d entries are supported (one RSA and one ECDSA certificate)", key,
                 SL_CONF_MAX_SSL_PAIRS);
            break;
        }
        if (!copy_str(out[*n], sizeof(out[*n]), item)) {
            kerr(c, "%s: an entry is too long (at most %zu bytes)", key, sizeof(out[*n]) - 1);
            break;
        }
        (*n)++;
    }
    free(copy);
}

/* Kong's lua_ssl_trusted_certificate: a comma list of `system` (the system's trusted store) and
 * PEM file paths; empty or `off`: none. PEM content is refused as in the lists above. */
static void
k_lua_ssl_trusted_certificate(struct ctx *c, const char *key, const char *v)
{
    CONF_FIELD(lua_ssl_trusted_system) = false;
    CONF_FIELD(nlua_ssl_trusted_certificate) = 0;
    char *copy = strdup(v);
    if (copy == NULL) {
        kerr(c, "out of memory");
        return;
    }
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        item = trim(item);
        size_t *n = &CONF_FIELD(nlua_ssl_trusted_certificate);
        if (item[0] == '\0' || strcmp(item, "off") == 0) {
            continue;
        }
        if (strcmp(item, "system") == 0) {
            CONF_FIELD(lua_ssl_trusted_system) = true;
        } else if (strncmp(item, "-----BEGIN", 10) == 0) {
            kerr(c, "%s: PEM content is not supported here; give the path of a PEM file", key);
            break;
        } else if (*n == SL_CONF_MAX_TRUSTED_CERTS) {
            kerr(c, "%s: at most %d files are supported", key, SL_CONF_MAX_TRUSTED_CERTS);
            break;
        } else if (!copy_str(CONF_FIELD(lua_ssl_trusted_certificate)[*n], 1024, item)) {
            kerr(c, "%s: an entry is too long (at most 1023 bytes)", key);
            break;
        } else {
            (*n)++;
        }
    }
    free(copy);
}

static void
k_proxy_ssl_verify(struct ctx *c, const char *key, const char *v)
{
    parse_bool(c, key, v, &CONF_FIELD(proxy_ssl_verify));
}

static void
k_proxy_ssl_verify_depth(struct ctx *c, const char *key, const char *v)
{
    long long n;
    if (parse_int(c, key, v, 0, 64, "nginx_proxy_proxy_ssl_verify_depth must be between 0 and 64",
                  &n) == 0) {
        CONF_FIELD(proxy_ssl_verify_depth) = (int)n;
    }
}

static void
k_client_ssl(struct ctx *c, const char *key, const char *v)
{
    parse_bool(c, key, v, &CONF_FIELD(client_ssl));
}

static void
k_admin_ssl_cert(struct ctx *c, const char *key, const char *v)
{
    parse_pem_path_list(c, key, v, CONF_FIELD(admin_ssl_cert), &CONF_FIELD(nadmin_ssl_cert));
}

static void
k_admin_ssl_cert_key(struct ctx *c, const char *key, const char *v)
{
    parse_pem_path_list(c, key, v, CONF_FIELD(admin_ssl_cert_key),
                        &CONF_FIELD(nadmin_ssl_cert_key));
}

/* Kong Manager's keys (Kong 3.x OSS, kong_defaults.lua and conf_loader). Kong Manager is not
 * bundled with Sluice; these are read so that a kong.conf setting them still starts, with Kong's
 * defaults and checks. */

static void
k_status_ssl_cert(struct ctx *c, const char *key, const char *v)
{
    parse_pem_path_list(c, key, v, CONF_FIELD(status_ssl_cert), &CONF_FIELD(nstatus_ssl_cert));
}

static void
k_status_ssl_cert_key(struct ctx *c, const char *key, const char *v)
{
    parse_pem_path_list(c, key, v, CONF_FIELD(status_ssl_cert_key),
                        &CONF_FIELD(nstatus_ssl_cert_key));
}

static void
k_admin_gui_listen(struct ctx *c, const char *key, const char *v)
{
    parse_listen_key(c, key, v, CONF_FIELD(admin_gui_listen), &CONF_FIELD(nadmin_gui_listen));
}

static bool
is_scheme_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '+' || ch == '-' || ch == '.';
}

/* RFC 3986 authority characters ([userinfo@]host[:port], IPv6 in brackets). The origin built from
 * it goes into a response header: a control character, a blank or a quote must not get there. */
static bool
is_authority_char(char ch)
{
    return isalnum((unsigned char)ch) || strchr("-._~%!$&'()*+,;=:@[]", ch) != NULL;
}

/* One admin_gui_url entry: Kong takes socket.url's scheme and authority of it as the origin
 * (conf_loader: parsed.scheme .. "://" .. parsed.authority), so an entry without both cannot give
 * one (Kong itself fails to start on it with a Lua error). */
static int
gui_url_one(void *arg, char *piece)
{
    struct list_state *st = arg;
    struct sl_conf *conf = st->c->conf;
    const char *p = piece;
    if (!isalpha((unsigned char)*p)) {
        goto bad;
    }
    while (is_scheme_char(*p)) {
        p++;
    }
    if (strncmp(p, "://", 3) != 0) {
        goto bad;
    }
    const char *auth = p + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0) {
        goto bad;
    }
    for (size_t i = 0; i < alen; i++) {
        if (!is_authority_char(auth[i])) {
            goto bad;
        }
    }
    for (const char *q = auth + alen; *q; q++) {
        if ((unsigned char)*q <= ' ' || *q == 0x7f) {
            goto bad; /* a URL has no blanks or control characters (an entry is one URL) */
        }
    }
    if (conf->nadmin_gui_url >= SL_CONF_MAX_GUI_URLS) {
        kerr(st->c, "%s has too many entries (at most %d)", st->key, SL_CONF_MAX_GUI_URLS);
        st->failed = true;
        return 1;
    }
    size_t n = conf->nadmin_gui_url;
    int w = snprintf(conf->admin_gui_origin[n], sizeof(conf->admin_gui_origin[n]), "%.*s://%.*s",
                     (int)(p - piece), piece, (int)alen, auth);
    if (w < 0 || (size_t)w >= sizeof(conf->admin_gui_origin[n]) ||
        !copy_str(conf->admin_gui_url[n], sizeof(conf->admin_gui_url[n]), piece)) {
        kerr(st->c, "%s: an entry is too long (at most %zu bytes)", st->key,
             sizeof(conf->admin_gui_url[n]) - 1);
        st->failed = true;
        return 1;
    }
    conf->nadmin_gui_url++;
    return 0;
bad:
    kerr(st->c,
         "%s must be a comma-separated list of URLs of the form "
         "<scheme>://<IP / HOSTNAME>[:<PORT>][<PATH>], got '%s'",
         st->key, piece);
    st->failed = true;
    return 1;
}

static void
k_admin_gui_url(struct ctx *c, const char *key, const char *v)
{
    c->conf->nadmin_gui_url = 0;
    if (*v == '\0') {
        return;
    }
    struct list_state st = {.c = c, .key = key};
    each_list_item(&st, v, gui_url_one);
}

/* Kong's four checks of admin_gui_path (conf_loader), each reported, with its messages. */
static void
k_admin_gui_path(struct ctx *c, const char *key, const char *v)
{
    size_t n = strlen(v);
    bool bad = false;
    if (v[0] != '/') {
        kerr(c, "%s must start with a slash ('/')", key);
        bad = true;
    }
    if (n > 2 && v[0] == '/' && v[n - 1] == '/') {
        kerr(c, "%s must not end with a slash ('/')", key); /* "/" alone is the root */
        bad = true;
    }
    for (const char *p = v; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '/') {
            kerr(c,
                 "%s can only contain letters, digits, hyphens ('-'), underscores ('_'), and "
                 "slashes ('/')",
                 key);
            bad = true;
            break;
        }
    }
    if (strstr(v, "//") != NULL) {
        kerr(c, "%s must not contain continuous slashes ('/')", key);
        bad = true;
    }
    if (!bad) {
        parse_string_into(c, key, v, CONF_FIELD(admin_gui_path),
                          sizeof(CONF_FIELD(admin_gui_path)));
    }
}

static void
k_admin_gui_ssl_cert(struct ctx *c, const char *key, const char *v)
{
    parse_pem_path_list(c, key, v, CONF_FIELD(admin_gui_ssl_cert),
                        &CONF_FIELD(nadmin_gui_ssl_cert));
}

static void
k_admin_gui_ssl_cert_key(struct ctx *c, const char *key, const char *v)
{
    parse_pem_path_list(c, key, v, CONF_FIELD(admin_gui_ssl_cert_key),
                        &CONF_FIELD(nadmin_gui_ssl_cert_key));
}

static void
k_admin_gui_csp_header(struct ctx *c, const char *key, const char *v)
{
    parse_bool(c, key, v, &CONF_FIELD(admin_gui_csp_header));
}

/* Every key, in the order of docs/configuration.md. The defaults are the documented ones. */
static const struct key_def keys[] = {
    STRING_KEY("prefix", "/usr/local/sluice", prefix),
    PARSED_KEY("daemon", "on", k_daemon),
    PARSED_KEY("worker_processes", "auto", k_worker_processes),
    PARSED_KEY("log_level", "notice", k_log_level),
    PARSED_KEY("node_id", "", k_node_id),
    PARSED_KEY(
        "proxy_listen",
        "0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 http2 ssl reuseport backlog=16384",
        k_proxy_listen),
    PARSED_KEY(
        "admin_listen",
        "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384",
        k_admin_listen),
    PARSED_KEY("status_listen", "127.0.0.1:8007 reuseport backlog=16384", k_status_listen),
    STRING_KEY("proxy_access_log", "logs/access.log", proxy_access_log),
    PARSED_KEY("proxy_access_log_format", "combined", k_proxy_access_log_format),
    STRING_KEY("proxy_error_log", "logs/error.log", proxy_error_log),
    STRING_KEY("admin_access_log", "logs/admin_access.log", admin_access_log),
    STRING_KEY("admin_error_log", "logs/error.log", admin_error_log),
    STRING_KEY("status_access_log", "off", status_access_log),
    STRING_KEY("status_error_log", "logs/status_error.log", status_error_log),
    PARSED_KEY("trusted_ips", "", k_trusted_ips),
    PARSED_KEY("real_ip_header", "X-Real-IP", k_real_ip_header),
    PARSED_KEY("real_ip_recursive", "off", k_real_ip_recursive),
    PARSED_KEY("port_maps", "", k_port_maps),
    PARSED_KEY("headers", "server_tokens, latency_tokens, X-Sluice-Request-Id", k_headers),
    PARSED_KEY("headers_upstream", "X-Sluice-Request-Id", k_headers_upstream),
    PARSED_KEY("error_default_type", "text/plain", k_error_default_type),
    PARSED_KEY("database", "sqlite", k_database),
    STRING_KEY("declarative_config", "", declarative_config),
    PARSED_KEY("declarative_config_string", "", k_declarative_config_string),
    STRING_KEY("sqlite_path", "", sqlite_path),
    PARSED_KEY("upstream_keepalive_pool_size", "512", k_upstream_keepalive_pool_size),
    PARSED_KEY("upstream_keepalive_max_requests", "10000", k_upstream_keepalive_max_requests),
    PARSED_KEY("upstream_keepalive_idle_timeout", "60", k_upstream_keepalive_idle_timeout),
    PARSED_KEY("client_header_timeout", "60s", k_client_header_timeout),
    PARSED_KEY("client_body_timeout", "60s", k_client_body_timeout),
    PARSED_KEY("send_timeout", "60s", k_send_timeout),
    PARSED_KEY("keepalive_timeout", "75s", k_keepalive_timeout),
    PARSED_KEY("client_max_body_size", "0", k_client_max_body_size),
    PARSED_KEY("large_client_header_buffers", "8k", k_large_client_header_buffers),
    PARSED_KEY("max_header_bytes", "64k", k_max_header_bytes),
    PARSED_KEY("lua_max_req_headers", "100", k_lua_max_req_headers),
    PARSED_KEY("quit_timeout", "10", k_quit_timeout),
    PARSED_KEY("dns_resolver", "", k_dns_resolver),
    PARSED_KEY("dns_hostsfile", "/etc/hosts", k_dns_hostsfile),
    PARSED_KEY("dns_order", "LAST,SRV,A,CNAME", k_dns_order),
    PARSED_KEY("dns_valid_ttl", "", k_dns_valid_ttl),
    PARSED_KEY("dns_stale_ttl", "3600", k_dns_stale_ttl),
    PARSED_KEY("dns_not_found_ttl", "30", k_dns_not_found_ttl),
    PARSED_KEY("dns_error_ttl", "1", k_dns_error_ttl),
    PARSED_KEY("dns_cache_size", "10000", k_dns_cache_size),
    PARSED_KEY("dns_no_sync", "off", k_dns_no_sync),
    STRING_KEY("pg_host", "127.0.0.1", pg_host),
    PARSED_KEY("pg_port", "5432", k_pg_port),
    STRING_KEY("pg_database", "sluice", pg_database),
    STRING_KEY("pg_user", "sluice", pg_user),
    PARSED_KEY("pg_password", "", k_pg_password),
    PARSED_KEY("pg_timeout", "5000", k_pg_timeout),
    PARSED_KEY("pg_ssl", "off", k_pg_ssl),
    PARSED_KEY("plugins", "bundled", k_plugins),
    PARSED_KEY("lua_ssl_trusted_certificate", "system", k_lua_ssl_trusted_certificate),
    PARSED_KEY("nginx_proxy_proxy_ssl_verify", "off", k_proxy_ssl_verify),
    PARSED_KEY("nginx_proxy_proxy_ssl_verify_depth", "1", k_proxy_ssl_verify_depth),
    STRING_KEY("nginx_proxy_proxy_ssl_trusted_certificate", "", proxy_ssl_trusted_certificate),
    PARSED_KEY("client_ssl", "off", k_client_ssl),
    STRING_KEY("client_ssl_cert", "", client_ssl_cert),
    STRING_KEY("client_ssl_cert_key", "", client_ssl_cert_key),
    STRING_KEY("ssl_cert", "", ssl_cert),
    STRING_KEY("ssl_cert_key", "", ssl_cert_key),
    PARSED_KEY("admin_ssl_cert", "", k_admin_ssl_cert),
    PARSED_KEY("admin_ssl_cert_key", "", k_admin_ssl_cert_key),
    PARSED_KEY("status_ssl_cert", "", k_status_ssl_cert),
    PARSED_KEY("status_ssl_cert_key", "", k_status_ssl_cert_key),
    /* Kong's default is "0.0.0.0:8002, 0.0.0.0:8445 ssl"; Sluice serves no Kong Manager, so its
     * default says so instead of logging at every start that those ports are not served. */
    PARSED_KEY("admin_gui_listen", "off", k_admin_gui_listen),
    PARSED_KEY("admin_gui_url", "", k_admin_gui_url),
    PARSED_KEY("admin_gui_path", "/", k_admin_gui_path),
    STRING_KEY("admin_gui_api_url", "", admin_gui_api_url),
    PARSED_KEY("admin_gui_ssl_cert", "", k_admin_gui_ssl_cert),
    PARSED_KEY("admin_gui_ssl_cert_key", "", k_admin_gui_ssl_cert_key),
    STRING_KEY("admin_gui_access_log", "logs/admin_gui_access.log", admin_gui_access_log),
    STRING_KEY("admin_gui_error_log", "logs/admin_gui_error.log", admin_gui_error_log),
    PARSED_KEY("admin_gui_csp_header", "off", k_admin_gui_csp_header),
    STRING_KEY("admin_gui_csp_header_value", "", admin_gui_csp_header_value),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static bool
is_listen_key(key_parse_fn parse)
{
    return parse == k_proxy_listen || parse == k_admin_listen || parse == k_status_listen ||
           parse == k_admin_gui_listen;
}

static int
find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Kong's nginx directive keys (kong.md §6: a `nginx_main_`, `nginx_http_`, `nginx_proxy_`... key
 * injects a directive) whose directive Sluice has under a key of its own, taking the same values:
 * a kong.conf that sets them means that key. Any other nginx_* or lua_* key stays an unknown
 * property: Sluice cannot honour an arbitrary nginx directive, and ignoring one (an
 * ssl_protocols, a proxy_ssl_protocols) could weaken what the file asks for. The upstream TLS
 * directives Sluice honours (nginx_proxy_proxy_ssl_verify, ...) are keys of their own. */
static const char *const directive_prefixes[] = {"nginx_main_", "nginx_http_", "nginx_proxy_",
                                                 "nginx_"};
enum { PFX_MAIN = 1 << 0, PFX_HTTP = 1 << 1, PFX_PROXY = 1 << 2, PFX_NGINX = 1 << 3 };

static const struct {
    const char *key;
    unsigned prefixes; /* the directive_prefixes it may be written with (PFX_*) */
} directive_keys[] = {
    {"daemon", PFX_NGINX | PFX_MAIN},
    {"worker_processes", PFX_NGINX | PFX_MAIN},
    {"client_max_body_size", PFX_HTTP | PFX_PROXY},
    {"client_header_timeout", PFX_HTTP | PFX_PROXY},
    {"client_body_timeout", PFX_HTTP | PFX_PROXY},
    {"send_timeout", PFX_HTTP | PFX_PROXY},
    {"keepalive_timeout", PFX_HTTP | PFX_PROXY},
    {"large_client_header_buffers", PFX_HTTP | PFX_PROXY},
    {"real_ip_header", PFX_PROXY},
    {"real_ip_recursive", PFX_PROXY},
};

/* The key <name> means: its own, or the one whose directive it sets; -1 if none. */
static int
find_key_or_alias(const char *name)
{
    int k = find_key(name);
    if (k >= 0) {
        return k;
    }
    for (size_t p = 0; p < sizeof(directive_prefixes) / sizeof(directive_prefixes[0]); p++) {
        size_t n = strlen(directive_prefixes[p]);
        if (strncmp(name, directive_prefixes[p], n) != 0) {
            continue;
        }
        for (size_t i = 0; i < sizeof(directive_keys) / sizeof(directive_keys[0]); i++) {
            if ((directive_keys[i].prefixes & (1u << p)) != 0 &&
                strcmp(name + n, directive_keys[i].key) == 0) {
                return find_key(directive_keys[i].key);
            }
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------------
 */
/* The file */

/* Kong's comment rule: a `#` not preceded by a backslash starts a comment (with the blanks before
 * it); then every `\#` becomes `#`. Works in place. */
static void
strip_comment(char *v)
{
    for (char *p = v; *p; p++) {
        if (*p == '#' && (p == v || p[-1] != '\\')) {
            *p = '\0';
            break;
        }
    }
    char *w = v;
    for (char *r = v; *r; r++) {
        if (r[0] == '\\' && r[1] == '#') {
            continue;
        }
        *w++ = *r;
    }
    *w = '\0';
}

static void
raw_set(struct raw_value *r, const char *v, enum key_source src, unsigned line, struct errs *e)
{
    char *copy = strdup(v);
    if (copy == NULL) {
        errs_add(e, "out of memory");
        return;
    }
    free(r->value);
    r->value = copy;
    r->src = src;
    r->line = line;
}

static void
read_lines(const char *buf, size_t len, const char *name, struct raw_value *raw, struct errs *e)
{
    unsigned lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        lineno++;
        char *line = malloc(llen + 1);
        if (line == NULL) {
            errs_add(e, "out of memory");
            return;
        }
        memcpy(line, buf + pos, llen);
        line[llen] = '\0';
        pos += llen + (nl ? 1 : 0);
        if (memchr(line, '\0', llen) != NULL) {
            errs_add(e, "%s:%u: invalid NUL byte", name, lineno);
            free(line);
            continue;
        }
        char *t = trim(line);
        if (*t == '\0' || *t == '#') {
            free(line);
            continue;
        }
        char *eq = strchr(t, '=');
        if (eq == NULL) {
            errs_add(e, "%s:%u: expected 'key = value'", name, lineno);
            free(line);
            continue;
        }
        *eq = '\0';
        char *key = trim(t);
        char *val = eq + 1;
        strip_comment(val);
        val = trim(val);
        int k = find_key_or_alias(key);
        if (k < 0) {
            errs_add(e, "%s:%u: unknown property '%s'", name, lineno, key);
        } else {
            raw_set(&raw[k], val, SRC_FILE, lineno, e);
        }
        free(line);
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* Paths */

/* Joins <base> and <rel> into <dst>, dropping "." segments, doubled and trailing slashes. */
static bool
join_path(char *dst, size_t cap, const char *base, const char *rel)
{
    char tmp[4096];
    int n = base ? snprintf(tmp, sizeof(tmp), "%s/%s", base, rel)
                 : snprintf(tmp, sizeof(tmp), "%s", rel);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        return false;
    }
    size_t w = 0;
    char out[4096];
    const char *p = tmp;
    bool abs = *p == '/';
    while (*p) {
        while (*p == '/') {
            p++;
        }
        const char *s = p;
        while (*p && *p != '/') {
            p++;
        }
        size_t sl = (size_t)(p - s);
        if (sl == 0 || (sl == 1 && s[0] == '.')) {
            continue;
        }
        if (w > 0 || abs) {
            out[w++] = '/';
        }
        memcpy(out + w, s, sl);
        w += sl;
    }
    if (w == 0) {
        out[w++] = abs ? '/' : '.';
    }
    out[w] = '\0';
    return copy_str(dst, cap, out);
}

static bool
is_special_log(const char *v)
{
    return strcmp(v, "off") == 0 || strcmp(v, "stderr") == 0 || strcmp(v, "stdout") == 0;
}

static void
resolve_paths(struct sl_conf *conf, struct errs *e)
{
    char cwd[2048];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        errs_add(e, "cannot determine the current directory: %s", strerror(errno));
        return;
    }
    char tmp[1024];
    if (!join_path(tmp, sizeof(tmp), conf->prefix[0] == '/' ? NULL : cwd, conf->prefix)) {
        errs_add(e, "prefix is too long");
        return;
    }
    copy_str(conf->prefix, sizeof(conf->prefix), tmp);

    struct {
        const char *key;
        char *v;
        size_t cap;
        bool under_prefix;
    } paths[] = {
        {"proxy_access_log", conf->proxy_access_log, sizeof(conf->proxy_access_log), true},
        {"proxy_error_log", conf->proxy_error_log, sizeof(conf->proxy_error_log), true},
        {"admin_access_log", conf->admin_access_log, sizeof(conf->admin_access_log), true},
        {"admin_error_log", conf->admin_error_log, sizeof(conf->admin_error_log), true},
        {"status_access_log", conf->status_access_log, sizeof(conf->status_access_log), true},
        {"status_error_log", conf->status_error_log, sizeof(conf->status_error_log), true},
        {"sqlite_path", conf->sqlite_path, sizeof(conf->sqlite_path), true},
        {"declarative_config", conf->declarative_config, sizeof(conf->declarative_config), false},
        {"ssl_cert", conf->ssl_cert, sizeof(conf->ssl_cert), false},
        {"ssl_cert_key", conf->ssl_cert_key, sizeof(conf->ssl_cert_key), false},
        {"nginx_proxy_proxy_ssl_trusted_certificate", conf->proxy_ssl_trusted_certificate,
         sizeof(conf->proxy_ssl_trusted_certificate), false},
        {"client_ssl_cert", conf->client_ssl_cert, sizeof(conf->client_ssl_cert), false},
        {"client_ssl_cert_key", conf->client_ssl_cert_key, sizeof(conf->client_ssl_cert_key),
         false},
    };
    if (conf->sqlite_path[0] == '\0') {
        copy_str(conf->sqlite_path, sizeof(conf->sqlite_path), "sluice.db");
    }
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char *v = paths[i].v;
        if (v[0] == '\0' || v[0] == '/' || (paths[i].under_prefix && is_special_log(v))) {
            continue;
        }
        if (!join_path(tmp, sizeof(tmp), paths[i].under_prefix ? conf->prefix : cwd, v) ||
            !copy_str(v, paths[i].cap, tmp)) {
            errs_add(e, "%s is too long once made absolute", paths[i].key);
        }
    }
    struct {
        const char *key;
        char (*v)[1024];
        size_t n;
    } lists[] = {
        {"admin_ssl_cert", conf->admin_ssl_cert, conf->nadmin_ssl_cert},
        {"admin_ssl_cert_key", conf->admin_ssl_cert_key, conf->nadmin_ssl_cert_key},
        {"status_ssl_cert", conf->status_ssl_cert, conf->nstatus_ssl_cert},
        {"status_ssl_cert_key", conf->status_ssl_cert_key, conf->nstatus_ssl_cert_key},
        {"admin_gui_ssl_cert", conf->admin_gui_ssl_cert, conf->nadmin_gui_ssl_cert},
        {"admin_gui_ssl_cert_key", conf->admin_gui_ssl_cert_key, conf->nadmin_gui_ssl_cert_key},
        {"lua_ssl_trusted_certificate", conf->lua_ssl_trusted_certificate,
         conf->nlua_ssl_trusted_certificate},
    };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        for (size_t j = 0; j < lists[i].n; j++) {
            char *v = lists[i].v[j];
            if (v[0] != '/' && (!join_path(tmp, sizeof(tmp), cwd, v) ||
                                !copy_str(v, sizeof(lists[i].v[j]), tmp))) {
                errs_add(e, "%s is too long once made absolute", lists[i].key);
            }
        }
    }
}

static bool
any_ssl(const struct sl_listen *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (l[i].ssl) {
            return true;
        }
    }
    return false;
}

/* Kong's pairing of <what>_ssl_cert with <what>_ssl_cert_key (conf_loader): both or neither, and as
 * many of each. */
static void
check_cert_pairs(struct errs *e, const char *what, size_t ncert, size_t nkey)
{
    if (ncert > 0 && nkey == 0) {
        errs_add(e, "%s_ssl_cert_key must be specified", what);
    } else if (nkey > 0 && ncert == 0) {
        errs_add(e, "%s_ssl_cert must be specified", what);
    } else if (ncert != nkey) {
        errs_add(
            e, "%s_ssl_cert was specified %zu times while %s_ssl_cert_key was specified %zu times",
            what, ncert, what, nkey);
    }
}

/* "<message> <path>" for each of the <n> paths that is not a regular file. */
static void
check_files_exist(struct errs *e, const char *message, char (*paths)[1024], size_t n)
{
    struct stat st;
    for (size_t i = 0; i < n; i++) {
        if (stat(paths[i], &st) != 0 || !S_ISREG(st.st_mode)) {
            errs_add(e, "%s %s", message, paths[i]);
        }
    }
}

/* Kong's conf_loader on the upstream TLS files: each must exist (Kong: "no such file at"), and
 * client_ssl needs its pair. */
static void
check_upstream_tls_files(struct sl_conf *conf, struct errs *e)
{
    struct stat st;
    for (size_t i = 0; i < conf->nlua_ssl_trusted_certificate; i++) {
        const char *p = conf->lua_ssl_trusted_certificate[i];
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            errs_add(e, "lua_ssl_trusted_certificate: no such file at %s", p);
        }
    }
    const char *trusted = conf->proxy_ssl_trusted_certificate;
    if (trusted[0] != '\0' && (stat(trusted, &st) != 0 || !S_ISREG(st.st_mode))) {
        errs_add(e, "nginx_proxy_proxy_ssl_trusted_certificate: no such file at %s", trusted);
    }
    if (!conf->client_ssl) {
        return;
    }
    if (conf->client_ssl_cert[0] == '\0') {
        errs_add(e, "client_ssl_cert must be specified");
    } else if (stat(conf->client_ssl_cert, &st) != 0 || !S_ISREG(st.st_mode)) {
        errs_add(e, "client_ssl_cert: failed loading certificate from %s", conf->client_ssl_cert);
    }
    if (conf->client_ssl_cert_key[0] == '\0') {
        errs_add(e, "client_ssl_cert_key must be specified");
    } else if (stat(conf->client_ssl_cert_key, &st) != 0 || !S_ISREG(st.st_mode)) {
        errs_add(e, "client_ssl_cert_key: failed loading key from %s", conf->client_ssl_cert_key);
    }
}

static void
cross_checks(struct sl_conf *conf, struct errs *e)
{
    check_upstream_tls_files(conf, e);
    if (conf->large_client_header_buffers > conf->max_header_bytes) {
        errs_add(e, "large_client_header_buffers must not be larger than max_header_bytes");
    }
    /* Kong checks the proxy pair only when a proxy listener has `ssl`, as the admin one below:
     * proxy_listen = 127.0.0.1:8000 with a lone ssl_cert is accepted */
    bool proxy_ssl = any_ssl(conf->proxy_listen, conf->nproxy_listen);
    if (proxy_ssl && conf->ssl_cert[0] != '\0' && conf->ssl_cert_key[0] == '\0') {
        errs_add(e, "ssl_cert_key must be specified");
    } else if (proxy_ssl && conf->ssl_cert_key[0] != '\0' && conf->ssl_cert[0] == '\0') {
        errs_add(e, "ssl_cert must be specified");
    }
    /* Kong's conf_loader checks the admin pair only when an admin listener has `ssl` */
    if (any_ssl(conf->admin_listen, conf->nadmin_listen)) {
        check_cert_pairs(e, "admin", conf->nadmin_ssl_cert, conf->nadmin_ssl_cert_key);
    }
    if (any_ssl(conf->status_listen, conf->nstatus_listen)) {
        check_cert_pairs(e, "status", conf->nstatus_ssl_cert, conf->nstatus_ssl_cert_key);
    }
    /* Kong checks the Kong Manager pair the same way when an admin_gui_listen entry has `ssl`, and
     * loads each file (a missing one stops Kong), though Sluice serves nothing with them */
    if (any_ssl(conf->admin_gui_listen, conf->nadmin_gui_listen)) {
        check_cert_pairs(e, "admin_gui", conf->nadmin_gui_ssl_cert, conf->nadmin_gui_ssl_cert_key);
        check_files_exist(e, "admin_gui_ssl_cert: failed loading certificate from",
                          conf->admin_gui_ssl_cert, conf->nadmin_gui_ssl_cert);
        check_files_exist(e, "admin_gui_ssl_cert_key: failed loading key from",
                          conf->admin_gui_ssl_cert_key, conf->nadmin_gui_ssl_cert_key);
    }
}

/* ------------------------------------------------------------------------------------------------
 */
/* Entry points */

/* raw_value.src is handed to the observer as it is */
_Static_assert((int)SRC_FILE == (int)SL_CONF_SRC_FILE && (int)SRC_ENV == (int)SL_CONF_SRC_ENV &&
                   (int)SRC_CLI == (int)SL_CONF_SRC_CLI,
               "enum key_source and enum sl_conf_source must agree");

static void (*observe_fn)(const struct sl_conf_key_value *kv, void *ctx);
static void *observe_ctx;

void
sl_conf_observe_keys(void (*fn)(const struct sl_conf_key_value *kv, void *ctx), void *ctx)
{
    observe_fn = fn;
    observe_ctx = ctx;
}

static int
load(struct sl_conf *conf, const char *buf, size_t len, const char *name, const char *prefix,
     bool use_env, char *err, size_t errlen)
{
    struct errs e = {err, errlen, 0, 0};
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    memset(conf, 0, sizeof(*conf));
    dcs_clear(); /* the text of the configuration loaded before is no longer anyone's */
    struct raw_value raw[NKEYS];
    memset(raw, 0, sizeof(raw));

    if (buf != NULL) {
        read_lines(buf, len, name ? name : "sluice.conf", raw, &e);
    }
    if (use_env) {
        for (size_t i = 0; i < NKEYS; i++) {
            char env[96] = "SLUICE_";
            size_t w = strlen(env);
            for (const char *k = keys[i].name; *k && w < sizeof(env) - 1; k++) {
                env[w++] = (char)toupper((unsigned char)*k);
            }
            env[w] = '\0';
            const char *v = getenv(env);
            if (v != NULL) {
                char *copy = strdup(v);
                if (copy == NULL) {
                    errs_add(&e, "out of memory");
                    continue;
                }
                /* Kong: an environment value has no comment, but an escaped `\#` still
                 * becomes `#` (KONG_PG_PASSWORD='test\#123' is "test#123") */
                char *t = trim(copy), *out = t;
                for (const char *r = t; *r; r++) {
                    if (!(r[0] == '\\' && r[1] == '#')) {
                        *out++ = *r;
                    }
                }
                *out = '\0';
                raw_set(&raw[i], t, SRC_ENV, 0, &e);
                free(copy);
            }
        }
    }
    if (prefix != NULL) {
        raw_set(&raw[find_key("prefix")], prefix, SRC_CLI, 0, &e);
    }

    for (size_t i = 0; observe_fn != NULL && i < NKEYS; i++) {
        const char *v = raw[i].value;
        struct sl_conf_key_value kv = {
            .key = keys[i].name,
            .value = v != NULL && v[0] != '\0' ? v : keys[i].def,
            .given = v,
            .src = v != NULL ? (enum sl_conf_source)raw[i].src : SL_CONF_SRC_DEFAULT,
        };
        observe_fn(&kv, observe_ctx);
    }

    struct ctx c = {.conf = conf, .e = &e, .file = name ? name : "sluice.conf"};
    for (size_t i = 0; i < NKEYS; i++) {
        const char *v = raw[i].value;
        c.key = &keys[i];
        c.raw = &raw[i];
        if (v != NULL && v[0] == '\0' && raw[i].src == SRC_ENV && is_listen_key(keys[i].parse)) {
            /* Kong: KONG_ADMIN_LISTEN="" leaves no listener list at all, which is refused
             * rather than read as the default (an empty line in the file is the default) */
            kerr(&c, "%s %s", keys[i].name, listen_usage);
            continue;
        }
        if (v == NULL || v[0] == '\0') {
            /* an empty line in the file is unset (Kong's reader skips it): the default */
            v = keys[i].def;
            c.raw = NULL;
        }
        if (keys[i].parse != NULL) {
            keys[i].parse(&c, keys[i].name, v);
        } else {
            parse_string_into(&c, keys[i].name, v, (char *)c.conf + keys[i].field, keys[i].cap);
        }
    }
    for (size_t i = 0; i < NKEYS; i++) {
        free(raw[i].value);
    }
    if (e.n == 0) {
        resolve_paths(conf, &e);
        cross_checks(conf, &e);
    }
    return e.n == 0 ? 0 : -1;
}

int
sl_conf_load_buffer(struct sl_conf *conf, const char *buf, size_t len, const char *name,
                    const char *prefix, bool use_env, char *err, size_t errlen)
{
    return load(conf, buf, len, name, prefix, use_env, err, errlen);
}

int
sl_conf_load_with_prefix(struct sl_conf *conf, const char *path, const char *prefix, char *err,
                         size_t errlen)
{
    if (path == NULL) {
        return load(conf, NULL, 0, NULL, prefix, true, err, errlen);
    }
    size_t n;
    char *buf = sl_file_read_all(path, SL_CONF_MAX_FILE_BYTES, &n);
    if (buf == NULL) {
        if (errno == EFBIG) {
            snprintf(err, errlen, "%s: larger than %d bytes", path, SL_CONF_MAX_FILE_BYTES);
        } else {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        }
        memset(conf, 0, sizeof(*conf));
        return -1;
    }
    int r = load(conf, buf, n, path, prefix, true, err, errlen);
    free(buf);
    return r;
}

int
sl_conf_load(struct sl_conf *conf, const char *path, char *err, size_t errlen)
{
    return sl_conf_load_with_prefix(conf, path, NULL, err, errlen);
}
