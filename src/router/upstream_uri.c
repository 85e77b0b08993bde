/* SPDX-License-Identifier: Apache-2.0 */
/* The upstream request-target after strip_path (kong.md §3.3): Kong's get_upstream_uri_v0
 * (kong/router/utils.lua) for every route (traditional_compatible has no v1 joining), the query
 * string appended as received, and the X-Forwarded-Prefix value (kong.md §3.4). Pure functions of
 * their arguments. */
#include <string.h>

#include "router/upstream_uri.h"

struct out {
    char *p;
    size_t cap; /* bytes available, the NUL included */
    size_t len;
    bool overflow;
};

static void
put(struct out *o, const char *s, size_t n)
{
    if (o->overflow || n == 0) {
        return;
    }
    if (o->cap == 0 || n > o->cap - 1 - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* utils.lua sanitize_uri_postfix: a leading "./" or "../" (or a bare "." / "..") is dropped. */
static struct sl_str
sanitize_postfix(struct sl_str s)
{
    if ((s.len == 1 && s.p[0] == '.') || (s.len == 2 && s.p[0] == '.' && s.p[1] == '.')) {
        return (struct sl_str){s.p, 0};
    }
    if (s.len >= 2 && s.p[0] == '.' && s.p[1] == '/') {
        return (struct sl_str){s.p + 2, s.len - 2};
    }
    if (s.len >= 3 && s.p[0] == '.' && s.p[1] == '.' && s.p[2] == '/') {
        return (struct sl_str){s.p + 3, s.len - 3};
    }
    return s;
}

static bool
ends_with_slash(struct sl_str s)
{
    return s.len > 0 && s.p[s.len - 1] == '/';
}

static bool
starts_with_slash(struct sl_str s)
{
    return s.len > 0 && s.p[0] == '/';
}

/* get_upstream_uri_v0, branch for branch. */
static void
join_v0(struct out *o, bool strip, struct sl_str base, struct sl_str postfix, struct sl_str path)
{
    if (ends_with_slash(base)) {
        if (!strip) {
            put(o, base.p, base.len); /* keep the request path, minus its first slash */
            if (path.len > 1) {
                put(o, path.p + 1, path.len - 1);
            }
            return;
        }
        if (postfix.len == 0) {
            if (base.len == 1) {
                put(o, "/", 1);
            } else if (ends_with_slash(path)) {
                put(o, base.p, base.len);
            } else {
                put(o, base.p, base.len - 1);
            }
            return;
        }
        if (starts_with_slash(postfix)) {
            put(o, base.p, base.len - 1); /* double "/", so drop the first */
        } else {
            put(o, base.p, base.len);
        }
        put(o, postfix.p, postfix.len);
        return;
    }
    if (!strip) {
        put(o, base.p, base.len);
        if (!(path.len == 1 && path.p[0] == '/')) {
            put(o, path.p, path.len);
        }
        return;
    }
    put(o, base.p, base.len);
    if (postfix.len == 0) {
        if (path.len > 1 && ends_with_slash(path)) {
            put(o, "/", 1);
        }
        return;
    }
    if (!starts_with_slash(postfix)) {
        put(o, "/", 1);
    }
    put(o, postfix.p, postfix.len);
}

long
sl_upstream_uri_build(const struct sl_route *route, const char *service_path, struct sl_str path,
                      size_t strip_len, struct sl_str query, bool has_query, char *out,
                      size_t outlen)
{
    struct out o = {out, outlen, 0, false};
    if (out == NULL || outlen == 0) {
        return -1;
    }
    out[0] = '\0';
    if (path.p == NULL) {
        path.len = 0;
    }
    if (query.p == NULL) {
        query.len = 0;
    }
    struct sl_str base = sl_str_from_cstr(service_path);
    if (base.len == 0) {
        base = SL_STR("/");
    }
    bool strip = route != NULL && route->strip_path;
    if (strip_len > path.len) {
        strip_len = path.len;
    }
    /* atc.lua: the postfix is what follows the matched path when stripping; without a path match
     * (strip_len 0) or without strip_path it is the request path minus its first slash. */
    struct sl_str postfix;
    if (strip && strip_len > 0) {
        postfix = (struct sl_str){path.p + strip_len, path.len - strip_len};
    } else if (starts_with_slash(path)) {
        postfix = (struct sl_str){path.p + 1, path.len - 1};
    } else {
        postfix = path;
    }
    postfix = sanitize_postfix(postfix);

    /* Always v0, also for a route stored with path_handling = "v1": Sluice's router is Kong's
     * traditional_compatible flavour, where Kong joins every route with get_upstream_uri_v0 (v1
     * only ever worked under router_flavor = traditional, which Sluice does not implement). */
    join_v0(&o, strip, base, postfix, path);
    if (o.len == 0 && !o.overflow) {
        put(&o, "/", 1); /* never an empty request-target */
    }
    if (has_query) {
        /* "/foo?" keeps its '?': Kong restores what nginx's $is_args would drop. */
        put(&o, "?", 1);
        put(&o, query.p, query.len);
    }
    if (o.overflow) {
        out[0] = '\0';
        return -1;
    }
    out[o.len] = '\0';
    return (long)o.len;
}

struct sl_str
sl_upstream_forwarded_prefix(const struct sl_route *route, struct sl_str path, size_t strip_len)
{
    if (route == NULL || !route->strip_path || strip_len == 0 || path.p == NULL) {
        return (struct sl_str){path.p, 0};
    }
    if (strip_len > path.len) {
        strip_len = path.len;
    }
    if (strip_len == 1 && path.p[0] == '/') {
        return (struct sl_str){path.p, 0}; /* handler.lua: only when the prefix is not "/" */
    }
    return (struct sl_str){path.p, strip_len};
}
