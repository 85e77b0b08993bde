/* SPDX-License-Identifier: Apache-2.0 */
/* Admin API endpoints (kong.md §2.2-2.5, §6.2). Entities are read from the running snapshot; in
 * DB-less mode writes answer Kong's 405 and /config replaces the whole configuration atomically. */
#include <malloc.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/hex.h"
#include "admin/admin.h"
#include "admin/internal.h"
#include "config/render.h"
#include "config/declarative.h"
#include "config/dbless_persist.h"
#include "core/uuid.h"
#include "config/snapshot.h"
#include "config/store_bridge.h"
#include "config/yaml_json.h"
#include "core/clock.h"
#include "core/node_id.h"
#include "core/version.h"
#include "proxy/proxy.h"
#include "schema/errors.h"
#include "schema/schema.h"
#include "schema/typedefs.h"
#include "store/store.h"
#include "sluice/log.h"

/* The Kong Admin API level Sluice answers as, so that Kong's tools pick their 3.x behaviour. */
#define KONG_API_VERSION "3.10.0"

static const struct sl_conf *current_conf; /* set per request by sl_admin_dispatch */
static struct sl_store *store;             /* NULL in DB-less mode */

void
sl_admin_set_store(struct sl_store *st)
{
    store = st;
}

void
sl_admin_message(struct sl_admin_response *res, int status, const char *message)
{
    res->status = status;
    res->body = json_pack("{s:s}", "message", message);
}

static void
kong_error(struct sl_admin_response *res, int status, int code, const char *name,
           const char *message)
{
    res->status = status;
    res->body = json_pack("{s:i,s:s,s:s}", "code", code, "name", name, "message", message);
}

long
sl_admin_url_decode(const char *in, size_t len, char *out, size_t outlen, bool form)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (n + 1 >= outlen) {
            return -2;
        }
        char ch = in[i];
        if (ch == '%') {
            if (i + 2 >= len) {
                return -1;
            }
            int hi = sl_hex_value((unsigned char)in[i + 1]);
            int lo = sl_hex_value((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            ch = (char)(hi * 16 + lo);
            i += 2;
            if (ch == '\0') {
                return -1;
            }
        } else if (form && ch == '+') {
            ch = ' ';
        }
        out[n++] = ch;
    }
    out[n] = '\0';
    return (long)n;
}

bool
sl_admin_query_raw(const char *query, const char *name, const char **val, size_t *vlen)
{
    size_t nlen = strlen(name);
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len >= nlen && strncmp(p, name, nlen) == 0 && (len == nlen || p[nlen] == '=')) {
            *val = len == nlen ? p + len : p + nlen + 1;
            *vlen = len == nlen ? 0 : len - nlen - 1;
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

char *
sl_admin_query_arg_dup(const char *query, const char *name, enum sl_admin_arg *arg)
{
    size_t cap = strlen(query) + 1; /* decoded, a value is never longer than the query */
    char *out = malloc(cap);
    if (out != NULL) {
        *arg = sl_admin_query_arg(query, name, out, cap);
    }
    return out;
}

void
sl_admin_query_shown(const char *query, const char *name, char *out, size_t outlen)
{
    const char *v = "";
    size_t vlen = 0, n = 0;
    sl_admin_query_raw(query, name, &v, &vlen);
    for (; n < vlen && n + 1 < outlen; n++) {
        out[n] = v[n] >= 0x20 && v[n] < 0x7f ? v[n] : '?';
    }
    if (outlen > 0) {
        out[n] = '\0';
    }
}

enum sl_admin_arg
sl_admin_query_arg(const char *query, const char *name, char *out, size_t outlen)
{
    const char *v;
    size_t vlen;
    if (outlen > 0) {
        out[0] = '\0';
    }
    if (!sl_admin_query_raw(query, name, &v, &vlen)) {
        return SL_ADMIN_ARG_ABSENT;
    }
    long n = sl_admin_url_decode(v, vlen, out, outlen, true);
    if (n < 0) {
        if (outlen > 0) {
            out[0] = '\0';
        }
        return n == -2 ? SL_ADMIN_ARG_TOO_LONG : SL_ADMIN_ARG_INVALID;
    }
    return SL_ADMIN_ARG_FOUND;
}

size_t
sl_admin_count_args(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        n += end > i;
        i = end + 1;
    }
    return n;
}

/* The configuration_hash of the configuration served: its declarative text's MD5, 32 zeros when
 * it came from no text (Kong). Control thread. */
void
sl_admin_served_hash(char out[33])
{
    struct sl_snapshot *snap = sl_snapshot_acquire();
    if (snap != NULL && snap->config->md5[0] != '\0') {
        memcpy(out, snap->config->md5, 33);
    } else {
        sl_declarative_md5("", 0, out);
    }
    sl_snapshot_unref(snap);
}

int
sl_admin_apply_declarative(const char *text, size_t len, json_t *parsed, const char *name,
                           const char *keep_prefix, char *err, size_t errlen)
{
    char warn[4096] = "";
    struct sl_declarative_opts opts = {.warn = warn, .warnlen = sizeof(warn), .parsed = parsed};
    uint64_t t0 = sl_clock_mono_us();
    struct sl_config *cfg = sl_declarative_load_string_opts(text, len, name, &opts, err, errlen);
    /* freed before the compile, whose allocations then reuse the document's memory instead of
     * faulting in fresh pages (10k routes: 10 ms of the compile) */
    json_decref(parsed);
    if (cfg == NULL) {
        return -1;
    }
    uint64_t t1 = sl_clock_mono_us();
    size_t nroutes = cfg->nroutes, nservices = cfg->nservices;
    struct sl_snapshot *snap = sl_snapshot_build(cfg, err, errlen);
    if (snap == NULL) {
        return -1;
    }
    /* kept before it is served: a configuration that answered 201 survives a restart */
    if (keep_prefix != NULL && sl_dbless_save(keep_prefix, text, len, err, errlen) < 0) {
        sl_snapshot_unref(snap);
        return -2;
    }
    sl_snapshot_publish(snap);
    uint64_t t2 = sl_clock_mono_us();
    sl_log(SL_LOG_NOTICE,
           "configuration published: %zu services, %zu routes; parsed and validated in %.1f ms, "
           "compiled in %.1f ms",
           nservices, nroutes, (double)(t1 - t0) / 1000.0, (double)(t2 - t1) / 1000.0);
    return 0;
}

/* ---- helpers over the running snapshot ------------------------------------------------------ */

static const struct sl_service *
find_service(const struct sl_config *cfg, const char *key)
{
    bool uuid = sl_schema_is_uuid(key);
    for (size_t i = 0; i < cfg->nservices; i++) {
        const struct sl_service *s = cfg->services[i];
        if (uuid ? strcasecmp(s->id, key) == 0 : (s->name && strcmp(s->name, key) == 0)) {
            return s;
        }
    }
    return NULL;
}

static const struct sl_route *
find_route(const struct sl_config *cfg, const char *key)
{
    bool uuid = sl_schema_is_uuid(key);
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct sl_route *r = cfg->routes[i];
        if (uuid ? strcasecmp(r->id, key) == 0 : (r->name && strcmp(r->name, key) == 0)) {
            return r;
        }
    }
    return NULL;
}

static bool
has_tag(const struct sl_strv *tags, const char *tag, size_t len)
{
    for (size_t i = 0; i < tags->n; i++) {
        if (strlen(tags->v[i]) == len && strncmp(tags->v[i], tag, len) == 0) {
            return true;
        }
    }
    return false;
}

/* The tag filter of <q> (already validated) against one entity's tags. */
static bool
tags_match(const struct sl_strv *tags, const struct sl_admin_list_query *q)
{
    for (size_t i = 0; i < q->ntags; i++) {
        bool hit = has_tag(tags, q->tags[i], strlen(q->tags[i]));
        if (hit && q->tags_any) {
            return true;
        }
        if (!hit && !q->tags_any) {
            return false;
        }
    }
    return !q->tags_any;
}

enum list_kind { LIST_SERVICES = 0, LIST_ROUTES, LIST_MAX };

/* The offsets of lists paged by position (DB-less entities, /tags): the base64 of the index of
 * the next item. False after filling <res> with Kong's 400 invalid offset. */
static bool
decode_position(const char *token, size_t *pos, struct sl_admin_response *res)
{
    unsigned char raw[512];
    size_t tlen = strlen(token);
    int n = tlen < sizeof(raw) * 3 / 4
                ? EVP_DecodeBlock(raw, (const unsigned char *)token, (int)tlen)
                : -1;
    char *end;
    long v = n > 0 ? strtol((char *)raw, &end, 10) : -1;
    if (n <= 0 || v < 0) {
        char msg[400];
        snprintf(msg, sizeof(msg), "'%.200s' is not a valid offset: bad base64 encoding", token);
        kong_error(res, 400, 7, "invalid offset", msg);
        return false;
    }
    *pos = (size_t)v;
    return true;
}

static void
encode_position(size_t pos, char token[64])
{
    char text[32];
    snprintf(text, sizeof(text), "%zu", pos);
    EVP_EncodeBlock((unsigned char *)token, (const unsigned char *)text, (int)strlen(text));
}

/* Kong's paginated list: {data, next, offset}; the offset is opaque (base64 of the position). */
static void
list_entities(const struct sl_admin_request *req, struct sl_admin_response *res,
              const struct sl_config *cfg, enum list_kind kind, const struct sl_service *parent,
              const char *base_path)
{
    struct sl_admin_list_query q;
    if (!sl_admin_parse_list_query(req, &q, res)) {
        return;
    }
    size_t start = 0;
    if (q.has_offset && !decode_position(q.offset, &start, res)) {
        return;
    }

    json_t *data = json_array();
    size_t total = kind == LIST_SERVICES ? cfg->nservices : cfg->nroutes;
    size_t i = start, emitted = 0;
    for (; i < total && emitted < q.size; i++) {
        const struct sl_strv *tags;
        json_t *item;
        if (kind == LIST_SERVICES) {
            tags = &cfg->services[i]->tags;
        } else {
            if (parent != NULL && cfg->routes[i]->service != parent) {
                continue;
            }
            tags = &cfg->routes[i]->tags;
        }
        if (q.ntags > 0 && !tags_match(tags, &q)) {
            continue;
        }
        item = kind == LIST_SERVICES ? sl_config_render_service(cfg->services[i])
                                     : sl_config_render_route(cfg->routes[i]);
        json_array_append_new(data, item);
        emitted++;
    }
    res->status = 200;
    res->body = json_object();
    json_object_set_new(res->body, "data", data);
    if (i < total) {
        char token[64], next[2560];
        encode_position(i, token);
        sl_admin_next_link(next, sizeof(next), base_path, token, &q);
        json_object_set_new(res->body, "offset", json_string(token));
        json_object_set_new(res->body, "next", json_string(next));
    } else {
        json_object_set_new(res->body, "next", json_null());
    }
}

/* ---- endpoint handlers ---------------------------------------------------------------------- */

/* "host:port", with brackets around an IPv6 host as in the listen value itself. */
static void
listen_address(const struct sl_listen *l, char *buf, size_t len)
{
    bool v6 = strchr(l->host, ':') != NULL;
    snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", l->host, v6 ? "]" : "", (unsigned)l->port);
}

/* <n> paths of a comma-list key (admin_ssl_cert ...) as a JSON array. */
static json_t *
path_array(const char (*paths)[1024], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_string(paths[i]));
    }
    return a;
}

static json_t *
listen_strings(const struct sl_listen *l, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char addr[300], buf[360];
        listen_address(&l[i], addr, sizeof(addr));
        snprintf(buf, sizeof(buf), "%s%s%s%s", addr, l[i].ssl ? " ssl" : "",
                 l[i].http2 ? " http2" : "", l[i].reuseport ? " reuseport" : "");
        json_array_append_new(a, json_string(buf));
    }
    return a;
}

/* Kong's parsed listeners (conf_loader's proxy_listeners, admin_listeners, ...): one object per
 * entry; Kong Manager reads their port and ssl. */
static json_t *
listen_objects(const struct sl_listen *l, size_t n)
{
    json_t *a = json_array();
    json_t *strings = listen_strings(l, n);
    for (size_t i = 0; i < n; i++) {
        bool v6 = strchr(l[i].host, ':') != NULL;
        char ip[300];
        snprintf(ip, sizeof(ip), "%s%s%s", v6 ? "[" : "", l[i].host, v6 ? "]" : "");
        json_array_append_new(a, json_pack("{s:O,s:s,s:i,s:b,s:b,s:b,s:b,s:b,s:b}", "listener",
                                           json_array_get(strings, i), "ip", ip, "port",
                                           (int)l[i].port, "ssl", l[i].ssl, "http2", l[i].http2,
                                           "proxy_protocol", l[i].proxy_protocol, "deferred",
                                           l[i].deferred, "bind", l[i].bind, "reuseport",
                                           l[i].reuseport));
    }
    json_decref(strings);
    return a;
}

static const char *const database_names[SL_DB_MAX] = {"sqlite", "postgres", "off"};

/* What Kong's conf_loader.remove_sensitive puts in place of a secret that is set. */
#define SENSITIVE_PLACEHOLDER "******"

/* The plain string settings GET / shows as they are held (the logs resolved under the prefix). */
static const struct {
    const char *key;
    size_t field; /* offset of its char array in struct sl_conf */
} shown_strings[] = {
    {"proxy_access_log", offsetof(struct sl_conf, proxy_access_log)},
    {"proxy_error_log", offsetof(struct sl_conf, proxy_error_log)},
    {"admin_access_log", offsetof(struct sl_conf, admin_access_log)},
    {"admin_error_log", offsetof(struct sl_conf, admin_error_log)},
    {"status_access_log", offsetof(struct sl_conf, status_access_log)},
    {"status_error_log", offsetof(struct sl_conf, status_error_log)},
    {"real_ip_header", offsetof(struct sl_conf, real_ip_header)},
};

/* GET /: Kong's shape (kong/api/routes/kong.lua). `configuration` is the sanitized configuration:
 * a secret that is set reads "******" (pg_password, declarative_config_string, and the admin key
 * paths Kong masks too, since they may hold the key itself); an unset one is absent. */
static void
get_root(const struct sl_admin_request *req, struct sl_admin_response *res)
{
    const struct sl_conf *c = req->conf;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    json_t *conf = json_object();
    json_object_set_new(conf, "prefix", json_string(c->prefix));
    json_object_set_new(conf, "database", json_string(database_names[c->database]));
    json_object_set_new(conf, "role", json_string("traditional"));
    json_object_set_new(conf, "proxy_listen", listen_strings(c->proxy_listen, c->nproxy_listen));
    json_object_set_new(conf, "admin_listen", listen_strings(c->admin_listen, c->nadmin_listen));
    json_object_set_new(conf, "status_listen", listen_strings(c->status_listen, c->nstatus_listen));
    json_object_set_new(conf, "proxy_listeners", listen_objects(c->proxy_listen, c->nproxy_listen));
    json_object_set_new(conf, "admin_listeners", listen_objects(c->admin_listen, c->nadmin_listen));
    json_object_set_new(conf, "status_listeners",
                        listen_objects(c->status_listen, c->nstatus_listen));
    json_object_set_new(conf, "log_level", json_string(sl_log_level_name(c->log_level)));
    if (c->node_id[0] != '\0') {
        json_object_set_new(conf, "node_id", json_string(c->node_id));
    }
    json_object_set_new(conf, "worker_processes", json_integer(c->worker_processes));
    if (c->declarative_config[0]) {
        json_object_set_new(conf, "declarative_config", json_string(c->declarative_config));
    }
    /* Kong's CONF_SENSITIVE: the document may hold credentials and private keys */
    if (c->declarative_config_string_id != 0) {
        json_object_set_new(conf, "declarative_config_string", json_string(SENSITIVE_PLACEHOLDER));
    }
    json_object_set_new(conf, "router_flavor", json_string("traditional_compatible"));
    /* The logs (the paths resolved under the prefix, where Kong shows them as written) and the
     * proxy settings scripts read most, typed as Kong's conf_loader leaves them: the real-IP
     * flag an nginx "on"/"off", the pool settings numbers. */
    for (size_t i = 0; i < sizeof(shown_strings) / sizeof(shown_strings[0]); i++) {
        const char *v = (const char *)c + shown_strings[i].field;
        json_object_set_new(conf, shown_strings[i].key, json_string(v));
    }
    json_object_set_new(conf, "real_ip_recursive",
                        json_string(c->real_ip_recursive ? "on" : "off"));
    json_object_set_new(conf, "upstream_keepalive_pool_size",
                        json_integer(c->upstream_keepalive_pool_size));
    json_object_set_new(conf, "upstream_keepalive_max_requests",
                        json_integer(c->upstream_keepalive_max_requests));
    json_object_set_new(conf, "upstream_keepalive_idle_timeout",
                        json_integer(c->upstream_keepalive_idle_timeout_s));
    /* Kong Manager shows the database connection from these (pg_port a number, pg_ssl a bool) */
    json_object_set_new(conf, "pg_host", json_string(c->pg_host));
    json_object_set_new(conf, "pg_port", json_integer(c->pg_port));
    json_object_set_new(conf, "pg_database", json_string(c->pg_database));
    json_object_set_new(conf, "pg_user", json_string(c->pg_user));
    json_object_set_new(conf, "pg_ssl", json_boolean(c->pg_ssl));
    json_object_set_new(conf, "pg_timeout", json_integer(c->pg_timeout_ms));
    if (c->pg_password[0] != '\0') {
        json_object_set_new(conf, "pg_password", json_string(SENSITIVE_PLACEHOLDER));
    }
    if (c->ssl_cert_key[0] != '\0') {
        json_object_set_new(conf, "ssl_cert_key", json_string(SENSITIVE_PLACEHOLDER));
    }
    json_object_set_new(conf, "admin_ssl_cert", path_array(c->admin_ssl_cert, c->nadmin_ssl_cert));
    if (c->nadmin_ssl_cert_key > 0) {
        json_object_set_new(conf, "admin_ssl_cert_key", json_string(SENSITIVE_PLACEHOLDER));
    }
    json_object_set_new(conf, "status_ssl_cert",
                        path_array(c->status_ssl_cert, c->nstatus_ssl_cert));
    if (c->nstatus_ssl_cert_key > 0) {
        json_object_set_new(conf, "status_ssl_cert_key", json_string(SENSITIVE_PLACEHOLDER));
    }
    /* Kong Manager's keys, as Kong's conf_loader leaves them: lists as arrays, an unset string
     * absent, admin_gui_origin derived from admin_gui_url, the key paths masked */
    json_object_set_new(conf, "admin_gui_listen",
                        listen_strings(c->admin_gui_listen, c->nadmin_gui_listen));
    json_object_set_new(conf, "admin_gui_listeners",
                        listen_objects(c->admin_gui_listen, c->nadmin_gui_listen));
    if (c->nadmin_gui_url > 0) {
        json_t *urls = json_array(), *origins = json_array();
        for (size_t i = 0; i < c->nadmin_gui_url; i++) {
            json_array_append_new(urls, json_string(c->admin_gui_url[i]));
            json_array_append_new(origins, json_string(c->admin_gui_origin[i]));
        }
        json_object_set_new(conf, "admin_gui_url", urls);
        json_object_set_new(conf, "admin_gui_origin", origins);
    }
    json_object_set_new(conf, "admin_gui_path", json_string(c->admin_gui_path));
    if (c->admin_gui_api_url[0] != '\0') {
        json_object_set_new(conf, "admin_gui_api_url", json_string(c->admin_gui_api_url));
    }
    json_object_set_new(conf, "admin_gui_access_log", json_string(c->admin_gui_access_log));
    json_object_set_new(conf, "admin_gui_error_log", json_string(c->admin_gui_error_log));
    json_object_set_new(conf, "admin_gui_ssl_cert",
                        path_array(c->admin_gui_ssl_cert, c->nadmin_gui_ssl_cert));
    if (c->nadmin_gui_ssl_cert_key > 0) {
        json_object_set_new(conf, "admin_gui_ssl_cert_key", json_string(SENSITIVE_PLACEHOLDER));
    }
    json_object_set_new(conf, "admin_gui_csp_header", json_boolean(c->admin_gui_csp_header));
    if (c->admin_gui_csp_header_value[0] != '\0') {
        json_object_set_new(conf, "admin_gui_csp_header_value",
                            json_string(c->admin_gui_csp_header_value));
    }
    /* The workers are threads of this one process: there are no worker pids to list. */
    json_t *pids = json_pack("{s:I,s:[]}", "master", (json_int_t)getpid(), "workers");
    res->status = 200;
    res->body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:i,s:i},s:{s:{},s:[]},s:s,s:o,s:o}", "tagline",
        "Welcome to kong", "version", KONG_API_VERSION, "sluice_version", SL_VERSION, "edition",
        "community", "hostname", host, "node_id", sl_node_id(), "timers", "running", 0, "pending",
        0, "plugins", "available_on_server", "enabled_in_cluster",
        /* read by Kong Manager's node information; Sluice runs no Lua */
        "lua_version", "none (sluice " SL_VERSION ")", "pids", pids, "configuration", conf);
}

/* One memory figure as Kong's /status gives it (kong.pdk.node get_memory_stats): a number of
 * bytes with unit b, else a string with <scale> decimals ("12.34 MiB"). */
static json_t *
memory_value(size_t bytes, char unit, int scale)
{
    static const char *const names[] = {"KiB", "MiB", "GiB"};
    if (unit == 'b') {
        return json_integer((json_int_t)bytes);
    }
    int shift = unit == 'k' ? 0 : unit == 'm' ? 1 : 2;
    double v = (double)bytes / (double)(1024ull << (10 * shift));
    return json_sprintf("%.*f %s", scale, v, names[shift]);
}

/* The process's heap in use (glibc's mallinfo2: arena and mmapped blocks). An allocator that
 * does not keep those figures (a sanitizer's) reports 0: the resident set stands in then. */
static size_t
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    size_t heap = mi.uordblks + mi.hblkhd;
    if (heap == 0) {
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long size = 0, resident = 0;
        if (f != NULL) {
            if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
                resident = 0;
            }
            fclose(f);
        }
        heap = (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
    }
    return heap;
}

void
sl_admin_get_status(const struct sl_admin_request *req, struct sl_admin_response *res)
{
    /* ?unit=b|k|m|g (default m) and ?scale=N decimals (default 2), validated as Kong does */
    char unit_arg[64] = "m", scale_arg[32] = "";
    switch (sl_admin_query_arg(req->query, "unit", unit_arg, sizeof(unit_arg))) {
    case SL_ADMIN_ARG_ABSENT:
        strcpy(unit_arg, "m");
        break;
    case SL_ADMIN_ARG_FOUND:
        break;
    case SL_ADMIN_ARG_INVALID:
    case SL_ADMIN_ARG_TOO_LONG:
        /* shown raw, it holds an escape or is too long: never one letter */
        sl_admin_query_shown(req->query, "unit", unit_arg, sizeof(unit_arg));
        break;
    }
    sl_admin_query_arg(req->query, "scale", scale_arg, sizeof(scale_arg));
    char unit = (char)(unit_arg[0] >= 'A' && unit_arg[0] <= 'Z' ? unit_arg[0] + 32 : unit_arg[0]);
    if (strlen(unit_arg) != 1 || strchr("bkmg", unit) == NULL || unit == '\0') {
        char msg[160];
        snprintf(msg, sizeof(msg), "invalid unit '%.64s' (expected 'k/K', 'm/M', or 'g/G')",
                 unit_arg);
        sl_admin_message(res, 400, msg);
        return;
    }
    char *end = NULL;
    long scale = scale_arg[0] ? strtol(scale_arg, &end, 10) : 2;
    if (scale_arg[0] && (*end != '\0' || scale < 0 || scale > 16)) {
        scale = 2; /* Kong falls back to its default for a scale it cannot use */
    }
    /* Sluice has no Lua VMs nor shared dictionaries: the one entry is this process (the workers
     * are its threads) and its heap in use, under Kong's key. */
    json_t *vm =
        json_pack("{s:o,s:I}", "http_allocated_gc", memory_value(heap_in_use(), unit, (int)scale),
                  "pid", (json_int_t)getpid());
    json_t *memory = json_pack("{s:[o],s:{}}", "workers_lua_vms", vm, "lua_shared_dicts");
    /* Read one by one while the workers run: waiting is what is left of active, never below 0. */
    unsigned long long active = atomic_load(&sl_proxy_stats.connections_active);
    unsigned long long reading = atomic_load(&sl_proxy_stats.connections_reading);
    unsigned long long writing = atomic_load(&sl_proxy_stats.connections_writing);
    unsigned long long busy = reading + writing;
    json_t *server = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "connections_accepted",
        (json_int_t)atomic_load(&sl_proxy_stats.connections_accepted), "connections_handled",
        (json_int_t)atomic_load(&sl_proxy_stats.connections_accepted), "connections_active",
        (json_int_t)active, "connections_reading", (json_int_t)reading, "connections_writing",
        (json_int_t)writing, "connections_waiting", (json_int_t)(active > busy ? active - busy : 0),
        "total_requests", (json_int_t)atomic_load(&sl_proxy_stats.total_requests));
    res->status = 200;
    res->body = json_pack("{s:o,s:o}", "memory", memory, "server", server);
    if (req->conf->database == SL_DB_OFF) {
        char hash[33];
        sl_admin_served_hash(hash);
        json_object_set_new(res->body, "configuration_hash", json_string(hash));
    } else {
        json_object_set_new(
            res->body, "database",
            json_pack("{s:b}", "reachable", sl_admin_database_reachable(req->conf)));
    }
}

bool
sl_admin_database_reachable(const struct sl_conf *conf)
{
    /* A real round trip to the database, as Kong's /status does, and a new connection, as its
     * kong.db:connect() makes: the open handle alone goes on reading (and writing) a file that
     * was removed or made unreadable under it. */
    size_t n = 0;
    struct sl_store_err serr = {0};
    bool reachable =
        store != NULL && sl_store_count(store, &sl_store_entity_services, &n, &serr) == SL_STORE_OK;
    sl_store_err_clear(&serr);
    if (reachable && conf->database == SL_DB_SQLITE) {
        reachable = sl_store_sqlite_connects(conf->sqlite_path);
    }
    return reachable;
}

/* Every endpoint served, with Kong's {placeholders}, sorted (kong.md §2.2). */
static void
get_endpoints(struct sl_admin_response *res)
{
    static const char *const fixed[] = {
        "/",
        "/config",
        "/endpoints",
        "/plugins/enabled",
        "/schemas/{name}", /* Kong's placeholder names (kong/api/routes/kong.lua) */
        "/schemas/{db_entity_name}/validate",
        "/schemas/plugins/validate",
        "/schemas/plugins/{name}",
        "/status",
        "/tags",
        "/tags/{tags}",
    };
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        json_array_append_new(a, json_string(fixed[i]));
    }
    for (const struct sl_store_entity *const *e = sl_store_core_entities; *e != NULL; e++) {
        const char *n = (*e)->name;
        const struct sl_admin_hooks *h = sl_admin_hooks_find(n);
        bool own = h == NULL || !h->disabled; /* Kong disables /targets* */
        if (own) {
            json_array_append_new(a, json_sprintf("/%s", n));
            json_array_append_new(a, json_sprintf("/%s/{%s}", n, n));
        }
        for (const struct sl_store_foreign *f = (*e)->foreign; f->field != NULL; f++) {
            if (own && (h == NULL || !h->no_parent_path)) {
                json_array_append_new(a, json_sprintf("/%s/{%s}/%s", n, n, f->field));
            }
            json_array_append_new(a, json_sprintf("/%s/{%s}/%s", f->entity, f->entity, n));
            json_array_append_new(a, json_sprintf("/%s/{%s}/%s/{%s}", f->entity, f->entity, n, n));
            if (h != NULL && h->raw_list != NULL) {
                json_array_append_new(
                    a, json_sprintf("/%s/{%s}/%s/%s", f->entity, f->entity, n, h->raw_list));
            }
        }
    }
    /* sort for a stable listing */
    size_t len = json_array_size(a);
    for (size_t i = 1; i < len; i++) {
        for (size_t j = i; j > 0; j--) {
            json_t *x = json_array_get(a, j - 1), *y = json_array_get(a, j);
            if (strcmp(json_string_value(x), json_string_value(y)) <= 0) {
                break;
            }
            json_incref(x);
            json_array_set(a, j - 1, y);
            json_array_set_new(a, j, x);
        }
    }
    res->status = 200;
    res->body = json_pack("{s:o}", "data", a);
}

/* GET /tags and /tags/{tag} (kong.md §2.2), over every tagged entity in the store, paged by
 * position like Kong's page of the tags table (`size`, `offset`, `next`; a `tags` argument is not
 * a filter here and is ignored, as in Kong). */
struct tag_walk {
    json_t *data;
    const char *entity;
    const char *only; /* NULL: every tag */
};

static int
tag_row(void *ud, json_t *row)
{
    struct tag_walk *w = ud;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(row, "tags"), i, t)
    {
        if (json_is_string(t) && (w->only == NULL || strcmp(w->only, json_string_value(t)) == 0)) {
            json_array_append_new(w->data,
                                  json_pack("{s:O,s:s,s:O}", "tag", t, "entity_name", w->entity,
                                            "entity_id", json_object_get(row, "id")));
        }
    }
    return 0;
}

static void
get_tags(const struct sl_admin_request *req, struct sl_admin_response *res, const char *only)
{
    if (only != NULL) {
        /* Kong's page_by_tag validates the tag as the tags field does: invalid unique tag */
        char err[300];
        json_t *v = json_string_nocheck(only);
        int bad = sl_typedef_tag(v, err, sizeof(err));
        json_decref(v);
        if (bad != 0) {
            res->status = 400;
            res->body = json_pack("{s:i,s:s,s:s}", "code", 10, "name", "invalid unique tag",
                                  "message", err);
            return;
        }
    }
    struct sl_admin_list_query q;
    size_t start = 0;
    if (!sl_admin_parse_page_query(req, &q, res) ||
        (q.has_offset && !decode_position(q.offset, &start, res))) {
        return;
    }
    struct tag_walk w = {json_array(), NULL, only};
    for (const struct sl_store_entity *const *e = sl_store_core_entities; *e != NULL; e++) {
        struct sl_store_err serr = {0};
        if (!(*e)->tags) {
            continue;
        }
        w.entity = (*e)->name;
        sl_store_for_each(store, *e, tag_row, &w, &serr);
        sl_store_err_clear(&serr);
    }
    size_t total = json_array_size(w.data);
    json_t *data = json_array();
    for (size_t i = start; i < total && i - start < q.size; i++) {
        json_array_append(data, json_array_get(w.data, i));
    }
    json_decref(w.data);
    res->status = 200;
    res->body = json_pack("{s:o}", "data", data);
    if (start + q.size < total) {
        char token[64], base[1600] = "/tags", next[2560];
        encode_position(start + q.size, token);
        if (only != NULL) {
            snprintf(base, sizeof(base), "/tags/");
            sl_admin_escape_component(only, base + 6, sizeof(base) - 6);
        }
        sl_admin_next_link(next, sizeof(next), base, token, &q);
        json_object_set_new(res->body, "offset", json_string(token));
        json_object_set_new(res->body, "next", json_string(next));
    } else {
        json_object_set_new(res->body, "next", json_null());
    }
}

/* POST /schemas/{entity}/validate: the schema engine's verdict, nothing stored. */
static void
validate_entity(const struct sl_admin_request *req, struct sl_admin_response *res,
                const struct sl_schema *sc)
{
    /* the bodies every other write takes: JSON, form, multipart, or none (Kong) */
    json_t *body = sl_admin_read_body(req, res, sc);
    if (body == NULL) {
        return;
    }
    json_t *errf = NULL;
    json_t *row = sl_schema_process(sc, body, SL_SCHEMA_INSERT, NULL, &errf);
    json_decref(body);
    if (row == NULL && errf == NULL) {
        sl_admin_message(res, 500, "An unexpected error occurred"); /* out of memory */
        return;
    }
    if (row == NULL) {
        res->status = 400;
        res->body = sl_err_schema_violation(errf);
        json_decref(errf);
        return;
    }
    json_decref(row);
    sl_admin_message(res, 200, "schema validation successful");
}

/* json_dump_callback's sink that appends <chunk> to the sl_buf <data> as the inside of a JSON
 * string, escaped as jansson escapes strings by default (the export's text was one before):
 * quote, backslash and the control bytes; UTF-8 and '/' as they are. */
static int
append_escaped_to_buf(const char *chunk, size_t size, void *data)
{
    struct sl_buf *b = data;
    size_t from = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char ch = (unsigned char)chunk[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') {
            continue;
        }
        char esc[8];
        const char *named = ch == '"'    ? "\\\""
                            : ch == '\\' ? "\\\\"
                            : ch == '\b' ? "\\b"
                            : ch == '\f' ? "\\f"
                            : ch == '\n' ? "\\n"
                            : ch == '\r' ? "\\r"
                            : ch == '\t' ? "\\t"
                                         : NULL;
        int n = named ? snprintf(esc, sizeof(esc), "%s", named)
                      : snprintf(esc, sizeof(esc), "\\u%04X", ch);
        if (sl_buf_append(b, chunk + from, i - from, SIZE_MAX) < 0 ||
            sl_buf_append(b, esc, (size_t)n, SIZE_MAX) < 0) {
            return -1;
        }
        from = i + 1;
    }
    return sl_buf_append(b, chunk + from, size - from, SIZE_MAX) < 0 ? -1 : 0;
}

static void
get_config(const struct sl_admin_request *req, struct sl_admin_response *res,
           const struct sl_config *cfg)
{
    /* Kong's export of the running configuration: every table, rows complete with their nulls.
     * The data plane keeps only what it proxies with, so the text it came from is loaded again
     * (same clock: the same timestamps); the compiled form is the fallback. */
    json_t *doc = NULL;
    if (cfg->source != NULL) {
        json_t *rows = NULL;
        char err[256];
        struct sl_declarative_opts opts = {.now = cfg->loaded_at, .rows = &rows};
        struct sl_config *again = sl_declarative_load_string_opts(
            cfg->source, cfg->source_len, cfg->source_name, &opts, err, sizeof(err));
        if (again != NULL && rows != NULL) {
            doc = sl_config_export_rows(rows);
        }
        json_decref(rows);
        sl_config_free(again);
    }
    if (doc == NULL) {
        doc = sl_config_render_config(cfg);
    }
    /* {"config": "<the document as indented JSON>"}: the document is dumped straight into the
     * string's escaped form, so that neither its text nor a second encoding of it is held (at
     * 100k routes each is tens of MB). JSON is YAML: the export loads back through POST /config
     * or declarative_config. */
    struct sl_buf b = {0};
    bool ok = doc != NULL && sl_admin_text_begin(&b) == 0 &&
              sl_buf_append(&b, "{\"config\":\"", 11, SIZE_MAX) == 0 &&
              json_dump_callback(doc, append_escaped_to_buf, &b,
                                 JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
              sl_buf_append(&b, "\"}", 2, SIZE_MAX) == 0;
    json_decref(doc);
    if (!ok) {
        sl_buf_free(&b);
        sl_admin_message(res, 500, "An unexpected error occurred");
        return;
    }
    res->status = 200;
    res->text = b;
}

/* Is <msg>, found right after "in entry N of '<key>'", the element's own error (Kong puts it at the
 * index as a string) rather than an entity check of a record: an entity of the file, or a route's
 * source or destination (Kong's {"@entity":[msg]}: "at least one of these fields must be
 * non-empty: 'ip', 'port'", an upstream's "failed conditional validation ...")? Elements of value
 * arrays (paths, tags...) only have their own errors; a record's own errors are its type, its
 * presence, and the uniqueness checks of declarative_config.lua. */
static bool
element_own_error(const char *key, const char *msg, bool top)
{
    /* the lists of records: entities of the declarative file, a route's sources/destinations;
     * `snis` and `ca_certificates` only at the top level, since a route's snis and a service's
     * ca_certificates are lists of values */
    static const char *const records[] = {"services",  "routes",       "sources",   "destinations",
                                          "consumers", "certificates", "upstreams", "targets",
                                          "plugins",   "filter_chains"};
    bool record = top && (strcmp(key, "snis") == 0 || strcmp(key, "ca_certificates") == 0);
    for (size_t i = 0; i < sizeof(records) / sizeof(records[0]) && !record; i++) {
        record = strcmp(key, records[i]) == 0;
    }
    if (!record) {
        return true;
    }
    return strcmp(msg, "expected a record") == 0 || strcmp(msg, "required field missing") == 0 ||
           strncmp(msg, "uniqueness violation: ", 22) == 0;
}

/* Appends <msg> to the array <node>[<key>], made when missing. */
static void
append_message(json_t *node, const char *key, const char *msg)
{
    json_t *arr = json_object_get(node, key);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(node, key, arr);
    }
    json_array_append_new(arr, json_string(msg));
}

/* Turns the loader's lines "in 'services': in entry 1 of 'services': in 'host': msg" into Kong's
 * nested fields object {"services":[{"host":"msg"}]}. */
static void
add_error_line(json_t *fields, const char *line)
{
    json_t *node = fields;
    const char *p = line;
    char key[256];
    for (;;) {
        long index = -1;
        if (sscanf(p, "in entry %ld of '%255[^']': ", &index, key) == 2) {
            const char *next = strstr(p, "': ");
            json_t *arr = json_object_get(node, key);
            if (!json_is_array(arr)) {
                arr = json_array();
                json_object_set_new(node, key, arr);
            }
            while ((long)json_array_size(arr) < index) {
                json_array_append_new(arr, json_null());
            }
            const char *rest = next + 3;
            bool entity_check =
                strncmp(rest, "in ", 3) != 0 && !element_own_error(key, rest, node == fields);
            if (strncmp(rest, "in ", 3) != 0 && !entity_check) {
                /* an element's own error: Kong puts the message at the index */
                json_array_set_new(arr, (size_t)(index - 1), json_string(rest));
                return;
            }
            json_t *elem = json_array_get(arr, (size_t)(index - 1));
            if (!json_is_object(elem)) {
                elem = json_object();
                json_array_set_new(arr, (size_t)(index - 1), elem);
            }
            if (entity_check) {
                /* beside the entity's field errors, as Kong's {"@entity": [...]} */
                append_message(elem, "@entity", rest);
                return;
            }
            node = elem;
            p = rest;
        } else if (sscanf(p, "in '%255[^']': ", key) == 1) {
            const char *next = strstr(p, "': ");
            if (next == NULL) {
                return;
            }
            const char *rest = next + 3;
            if (strncmp(rest, "in entry ", 9) == 0) {
                p = rest; /* the array level of the same key */
                continue;
            }
            if (strncmp(rest, "in '", 4) == 0) {
                json_t *child = json_object_get(node, key);
                if (!json_is_object(child)) {
                    child = json_object();
                    json_object_set_new(node, key, child);
                }
                node = child;
                p = rest;
                continue;
            }
            if (strncmp(rest, "invalid reference '", 19) == 0) {
                /* validate_references() lists an entity's unresolved references */
                append_message(node, key, rest);
            } else {
                json_object_set_new(node, key, json_string(rest));
            }
            return;
        } else if (node == fields &&
                   strncmp(p, "failed parsing declarative configuration", 40) == 0) {
            /* a document that does not parse: Kong's {error = "failed parsing ..."} */
            json_object_set_new(node, "error", json_string(p));
            return;
        } else {
            append_message(node, "@entity", p);
            return;
        }
    }
}

/* json_dump_callback's sink: appends to the sl_buf <data>. */
static int
append_to_buf(const char *chunk, size_t size, void *data)
{
    return sl_buf_append(data, chunk, size, SIZE_MAX) < 0 ? -1 : 0;
}

static json_t *
render_service_at(const struct sl_config *cfg, size_t i, const char **id)
{
    *id = cfg->services[i]->id;
    return sl_config_render_service(cfg->services[i]);
}

static json_t *
render_route_at(const struct sl_config *cfg, size_t i, const char **id)
{
    *id = cfg->routes[i]->id;
    return sl_config_render_route(cfg->routes[i]);
}

/* Appends `"<name>":{"<id>":<entity>,...}` for the <n> entities render() gives. Each entity is
 * rendered, written and freed before the next is built: the body never holds the whole
 * configuration as a tree (about 5 KB of small allocations per route, 500 MB at 100k routes). */
static bool
append_entity_map(struct sl_buf *b, const char *name, const struct sl_config *cfg, size_t n,
                  json_t *(*render)(const struct sl_config *, size_t, const char **))
{
    if (sl_buf_appendf(b, SIZE_MAX, "\"%s\":{", name) < 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id;
        json_t *entity = render(cfg, i, &id);
        json_t *key = json_string(id);
        bool ok = entity != NULL && key != NULL &&
                  (i == 0 || sl_buf_append(b, ",", 1, SIZE_MAX) == 0) &&
                  json_dump_callback(key, append_to_buf, b, JSON_ENCODE_ANY) == 0 &&
                  sl_buf_append(b, ":", 1, SIZE_MAX) == 0 &&
                  json_dump_callback(entity, append_to_buf, b, SL_ADMIN_JSON_FLAGS) == 0;
        json_decref(key);
        json_decref(entity);
        if (!ok) {
            return false;
        }
    }
    return sl_buf_append(b, "}", 1, SIZE_MAX) == 0;
}

/* POST /config's 201 body: the loaded entities as Kong's flatten() returns them, one map per entity
 * type present, keyed by id ({"services": {"<id>": {...}}, "routes": {...}}), each entity as
 * GET /services/{id} shows it; written as JSON text into <res>. False when out of memory. */
static bool
loaded_entities(const struct sl_config *cfg, struct sl_admin_response *res)
{
    struct sl_buf b = {0};
    bool ok = sl_admin_text_begin(&b) == 0 && sl_buf_append(&b, "{", 1, SIZE_MAX) == 0 &&
              (cfg->nservices == 0 ||
               append_entity_map(&b, "services", cfg, cfg->nservices, render_service_at)) &&
              (cfg->nroutes == 0 ||
               ((cfg->nservices == 0 || sl_buf_append(&b, ",", 1, SIZE_MAX) == 0) &&
                append_entity_map(&b, "routes", cfg, cfg->nroutes, render_route_at))) &&
              sl_buf_append(&b, "}", 1, SIZE_MAX) == 0;
    if (!ok) {
        sl_buf_free(&b);
        return false;
    }
    res->text = b;
    return true;
}

/* check_hash: is <text> the configuration already running? */
static bool
same_hash(const char *text, size_t len)
{
    char hex[33], served[33];
    sl_declarative_md5(text, len, hex);
    sl_admin_served_hash(served);
    return strcmp(hex, served) == 0;
}

/* A POST /config option (check_hash, flatten_errors) as Kong's self.params reads it: from the
 * query string, a form body, or the JSON object holding `config`; as text in <out> ("true" for a
 * JSON true). Returns false when it is absent everywhere. */
static bool
config_option(const struct sl_admin_request *req, const json_t *parsed, bool form, const char *name,
              char *out, size_t outlen)
{
    if (sl_admin_query_arg(req->query, name, out, outlen) == SL_ADMIN_ARG_FOUND) {
        return true;
    }
    if (form && req->body != NULL &&
        sl_admin_query_arg(req->body, name, out, outlen) == SL_ADMIN_ARG_FOUND) {
        return true;
    }
    const json_t *v = json_object_get(parsed, name);
    if (json_is_string(v)) {
        snprintf(out, outlen, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
    } else if (json_is_true(v)) {
        snprintf(out, outlen, "true");
    } else {
        return false;
    }
    return true;
}

/* Kong's truthy() of kong/api/routes/config.lua, which reads flatten_errors */
static bool
truthy(const char *v)
{
    return strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0 ||
           strcasecmp(v, "yes") == 0;
}

static void
post_config(const struct sl_admin_request *req, struct sl_admin_response *res)
{
    if (req->conf->database != SL_DB_OFF) {
        sl_admin_message(res, 400,
                         "this endpoint is only available when Kong is configured to "
                         "not use a database");
        return;
    }
    const char *text = req->body;
    size_t len = req->body_len;
    char *owned = NULL;
    json_t *parsed = NULL;
    const char *ct = req->content_type ? req->content_type : "";
    bool form = strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
    if (form) {
        if (sl_admin_count_args(req->body, len) > SL_ADMIN_MAX_ARGS) {
            sl_admin_message(res, 400, "Too many arguments");
            return;
        }
        owned = malloc(len + 1);
        if (owned &&
            sl_admin_query_arg(req->body, "config", owned, len + 1) == SL_ADMIN_ARG_FOUND) {
            text = owned;
            len = strlen(owned);
        } else {
            len = 0;
        }
    } else if (strncasecmp(ct, "application/json", 16) == 0) {
        parsed = json_loadb(req->body, req->body_len, 0, NULL);
        if (parsed == NULL) {
            sl_admin_message(res, 400, "Cannot parse JSON body");
            return;
        }
        json_t *inner = json_object_get(parsed, "config");
        if (json_is_string(inner)) {
            text = json_string_value(inner);
            len = json_string_length(inner);
        }
    } else if (len > 0 && ct[0] != '\0' && strncasecmp(ct, "application/yaml", 16) != 0 &&
               strncasecmp(ct, "text/yaml", 9) != 0) {
        res->status = 415;
        return;
    }
    char flag[16];
    /* a document posted as the JSON body itself holds no options: they are its own keys */
    const json_t *opts = text == req->body ? NULL : parsed;
    if (len == 0) {
        sl_admin_message(res, 400, "expected a declarative configuration");
    } else if (config_option(req, opts, form, "check_hash", flag, sizeof(flag)) &&
               strcmp(flag, "1") == 0 && same_hash(text, len)) {
        res->status = 304;
    } else {
        /* the body parsed above is the document itself: the loader need not parse it again
         * (parse_document reads a text starting with '{' with the same call) */
        json_t *reuse = NULL;
        if (text == req->body && json_is_object(parsed)) {
            reuse = parsed; /* handed over: nothing below reads the body's options */
            parsed = NULL;
        }
        size_t errlen = 65536;
        char *err = malloc(errlen);
        int rc = -1;
        if (err != NULL) {
            rc = sl_admin_apply_declarative(text, len, reuse, "config.yml", req->conf->prefix, err,
                                            errlen);
        } else {
            json_decref(reuse);
        }
        if (rc == -2) {
            sl_log(SL_LOG_ERR, "POST /config: %s", err);
            sl_admin_message(res, 500, "An unexpected error occurred");
        } else if (rc < 0) {
            json_t *fields = json_object();
            char *save = NULL;
            for (char *line = err ? strtok_r(err, "\n", &save) : NULL; line;
                 line = strtok_r(NULL, "\n", &save)) {
                add_error_line(fields, line);
            }
            char flat[8];
            if (config_option(req, opts, form, "flatten_errors", flat, sizeof(flat)) &&
                truthy(flat)) {
                char yerr[256];
                json_t *input = sl_yaml_to_json(text, len, yerr, sizeof(yerr));
                res->body = sl_err_declarative_flattened(fields, input ? input : json_object());
                json_decref(input);
            } else {
                res->body = sl_err_declarative(fields);
            }
            res->status = 400;
            json_decref(fields);
        } else {
            struct sl_snapshot *snap = sl_snapshot_acquire();
            res->status = 201;
            if (snap == NULL || !loaded_entities(snap->config, res)) {
                res->body = json_object(); /* out of memory: the configuration is served all
                                              the same */
            }
            sl_snapshot_unref(snap);
            char hash[33];
            sl_admin_served_hash(hash);
            sl_log(SL_LOG_NOTICE, "POST /config: new configuration published (hash %s)", hash);
        }
        free(err);
    }
    free(owned);
    json_decref(parsed);
}

static void
dbless_write(struct sl_admin_response *res, const char *method, const char *entity)
{
    if (current_conf != NULL && current_conf->database != SL_DB_OFF) {
        /* With a database, entity writes arrive with the schema layer (issue #3). */
        sl_admin_message(res, 405, "Method not allowed");
        return;
    }
    const char *op = strcmp(method, "POST") == 0    ? "create"
                     : strcmp(method, "PUT") == 0   ? "create or update"
                     : strcmp(method, "PATCH") == 0 ? "update"
                                                    : "remove";
    char msg[200];
    snprintf(msg, sizeof(msg), "cannot %s '%s' entities when not using a database", op, entity);
    kong_error(res, 405, 12, "operation unsupported", msg);
}

/* Splits "/a/b/c" into at most 4 segments; 5 when there are more (no endpoint is that deep). */
static size_t
split_path(char *path, char *seg[4])
{
    size_t n = 0;
    char *save = NULL;
    for (char *p = strtok_r(path, "/", &save); p != NULL; p = strtok_r(NULL, "/", &save)) {
        if (n == 4) {
            return 5;
        }
        seg[n++] = p;
    }
    return n;
}

static bool
is_read(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static bool
is_write(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0 ||
           strcmp(m, "DELETE") == 0;
}

/* A key that is not a UUID names the entity by its name, which Kong's select_by_name validates
 * first: an invalid name is 400 code 10, as with a database, not a missing entity. False after
 * filling <res>. */
static bool
dbless_key_ok(const char *entity, const char *key, struct sl_admin_response *res)
{
    return sl_schema_is_uuid(key) ||
           sl_admin_check_unique_value(sl_schema_find(entity), "name", key, res);
}

static void
entity_endpoints(const struct sl_admin_request *req, struct sl_admin_response *res, char **seg,
                 size_t n, const struct sl_config *cfg)
{
    const char *m = req->method;
    bool services = strcmp(seg[0], "services") == 0;
    /* reads look their keys up; writes are refused whatever the key */
    if (is_read(m) && n >= 2 &&
        (!dbless_key_ok(seg[0], seg[1], res) ||
         (n == 4 && services && strcmp(seg[2], "routes") == 0 &&
          !dbless_key_ok("routes", seg[3], res)))) {
        return;
    }
    if (n == 1) {
        if (is_read(m)) {
            list_entities(req, res, cfg, services ? LIST_SERVICES : LIST_ROUTES, NULL,
                          services ? "/services" : "/routes");
        } else if (strcmp(m, "POST") == 0) {
            dbless_write(res, m, seg[0]);
        } else {
            sl_admin_message(res, 405, "Method not allowed");
        }
        return;
    }
    if (n == 2) {
        if (is_write(m) && strcmp(m, "POST") != 0) {
            dbless_write(res, m, seg[0]);
            return;
        }
        if (!is_read(m)) {
            sl_admin_message(res, 405, "Method not allowed");
            return;
        }
        json_t *item = NULL;
        if (services) {
            const struct sl_service *s = find_service(cfg, seg[1]);
            item = s ? sl_config_render_service(s) : NULL;
        } else {
            const struct sl_route *r = find_route(cfg, seg[1]);
            item = r ? sl_config_render_route(r) : NULL;
        }
        if (item == NULL) {
            sl_admin_message(res, 404, "Not found");
        } else {
            res->status = 200;
            res->body = item;
        }
        return;
    }
    if (services && strcmp(seg[2], "routes") == 0) {
        const struct sl_service *s = find_service(cfg, seg[1]);
        if (s == NULL) {
            sl_admin_message(res, 404, "Not found");
        } else if (n == 3 && is_read(m)) {
            char base[128];
            snprintf(base, sizeof(base), "/services/%s/routes", s->id);
            list_entities(req, res, cfg, LIST_ROUTES, s, base);
        } else if (is_write(m)) {
            dbless_write(res, m, "routes");
        } else if (n == 4 && is_read(m)) {
            const struct sl_route *r = find_route(cfg, seg[3]);
            if (r == NULL || r->service != s) {
                sl_admin_message(res, 404, "Not found");
            } else {
                res->status = 200;
                res->body = sl_config_render_route(r);
            }
        } else {
            sl_admin_message(res, 405, "Method not allowed");
        }
        return;
    }
    if (!services && n == 3 && strcmp(seg[2], "service") == 0) {
        const struct sl_route *r = find_route(cfg, seg[1]);
        if (r == NULL || r->service == NULL) {
            sl_admin_message(res, 404, "Not found");
        } else if (is_read(m)) {
            res->status = 200;
            res->body = sl_config_render_service(r->service);
        } else if (strcmp(m, "DELETE") == 0) {
            sl_admin_message(res, 405, "Method not allowed");
        } else {
            dbless_write(res, m, "services");
        }
        return;
    }
    sl_admin_message(res, 404, "Not found");
}

/* GET /consumers?custom_id= (kong.md §1.3): {data:[consumer], next:null}. */
static void
get_consumer_by_custom_id(const struct sl_admin_request *req, struct sl_admin_response *res)
{
    enum sl_admin_arg arg;
    char *cid = sl_admin_query_arg_dup(req->query, "custom_id", &arg);
    if (cid == NULL) {
        sl_admin_message(res, 500, "An unexpected error occurred");
        return;
    }
    if (arg == SL_ADMIN_ARG_FOUND && cid[0] == '\0') {
        sl_admin_message(res, 400, "custom_id must be an unempty string");
        free(cid);
        return;
    }
    json_t *row = NULL;
    if (arg == SL_ADMIN_ARG_FOUND) { /* a value with a bad escape or %00 names no consumer */
        struct sl_store_err serr = {0};
        sl_store_select_by(store, &sl_store_entity_consumers, "custom_id", cid, &row, &serr);
        sl_store_err_clear(&serr);
    }
    free(cid);
    res->status = 200;
    res->body = json_pack("{s:[],s:n}", "data", "next");
    if (row != NULL) {
        json_array_append_new(json_object_get(res->body, "data"), row);
    }
}

/* The methods of each kind of route, sorted as Kong lists them (HEAD wherever GET is). */
#define OPTIONS_HEADERS SL_ADMIN_OPTIONS_HEADERS
static const char allow_get[] = OPTIONS_HEADERS("GET, HEAD, OPTIONS");
static const char allow_get_post[] = OPTIONS_HEADERS("GET, HEAD, OPTIONS, POST");
static const char allow_post[] = OPTIONS_HEADERS("OPTIONS, POST");
static const char allow_one[] = OPTIONS_HEADERS("DELETE, GET, HEAD, OPTIONS, PATCH, PUT");

static const struct sl_store_entity *
core_entity(const char *name)
{
    for (const struct sl_store_entity *const *e = sl_store_core_entities; *e != NULL; e++) {
        if (strcmp((*e)->name, name) == 0) {
            return *e;
        }
    }
    return NULL;
}

/* The entity route <seg> matches (the families of kong.md §2.1 that sl_admin_crud serves, or in
 * DB-less mode those entity_endpoints serves), whether or not the entities it names exist. */
static const char *
entity_allowed_methods(char **seg, size_t n)
{
    bool dbless = store == NULL;
    const struct sl_store_entity *e = core_entity(seg[0]);
    const struct sl_admin_hooks *h = sl_admin_hooks_find(seg[0]);
    if (e == NULL || n > 4 || (h != NULL && h->disabled) ||
        (dbless && strcmp(seg[0], "services") != 0 && strcmp(seg[0], "routes") != 0)) {
        return NULL;
    }
    if (n <= 2) {
        return n == 1 ? allow_get_post : allow_one;
    }
    for (const struct sl_store_foreign *f = e->foreign; n == 3 && f->field != NULL; f++) {
        if (strcmp(f->field, seg[2]) == 0) {
            return h != NULL && h->no_parent_path ? NULL : allow_one;
        }
    }
    const struct sl_store_entity *child = core_entity(seg[2]);
    if (child == NULL || (dbless && strcmp(seg[2], "routes") != 0)) {
        return NULL;
    }
    for (const struct sl_store_foreign *f = child->foreign; f->field != NULL; f++) {
        if (strcmp(f->entity, seg[0]) != 0) {
            continue;
        }
        if (n == 3) {
            return allow_get_post;
        }
        const struct sl_admin_hooks *ch = sl_admin_hooks_find(seg[2]);
        return ch != NULL && ch->raw_list != NULL && strcmp(seg[3], ch->raw_list) == 0 ? allow_get
                                                                                       : allow_one;
    }
    return NULL;
}

/* OPTIONS: the Allow and CORS headers of the route <seg> matches, NULL when none does. Mirrors the
 * routing of sl_admin_dispatch. */
static const char *
allowed_methods(char **seg, size_t n)
{
    if (n == 0) {
        return allow_get;
    }
    if (n == 1 && (strcmp(seg[0], "status") == 0 || strcmp(seg[0], "endpoints") == 0)) {
        return allow_get;
    }
    if (n == 1 && strcmp(seg[0], "config") == 0) {
        return allow_get_post;
    }
    if (strcmp(seg[0], "schemas") == 0 && (n == 2 || n == 3)) {
        if (n == 3 && strcmp(seg[2], "validate") == 0) {
            return allow_post;
        }
        return n == 2 || strcmp(seg[1], "plugins") == 0 ? allow_get : NULL;
    }
    if (n == 2 && strcmp(seg[0], "plugins") == 0 && strcmp(seg[1], "enabled") == 0) {
        return allow_get;
    }
    if (store != NULL && n <= 2 && strcmp(seg[0], "tags") == 0) {
        return allow_get;
    }
    return entity_allowed_methods(seg, n);
}

void
sl_admin_dispatch(const struct sl_admin_request *req, struct sl_admin_response *res)
{
    const char *m = req->method;
    current_conf = req->conf;
    char *path = strdup(req->path);
    char *seg[4] = {0};
    size_t n = path ? split_path(path, seg) : 0;
    if (sl_admin_count_args(req->query, strlen(req->query)) > SL_ADMIN_MAX_ARGS) {
        /* Kong refuses rather than act on a truncated argument list */
        sl_admin_message(res, 400, "Too many arguments");
        free(path);
        return;
    }
    if (path != NULL && strcmp(m, "OPTIONS") == 0) {
        /* Kong answers OPTIONS from the route's own methods; a path no route matches is 404 */
        const char *allow = allowed_methods(seg, n);
        if (allow == NULL) {
            sl_admin_message(res, 404, "Not found");
        } else {
            res->status = 204;
            res->extra_headers = allow;
            /* Kong's preflight grants the headers the browser asks for, else Content-Type */
            res->allow_headers = req->acrh != NULL ? req->acrh : "Content-Type";
        }
        free(path);
        return;
    }
    struct sl_snapshot *snap = sl_snapshot_acquire();
    if (path == NULL || snap == NULL) {
        sl_admin_message(res, 500, "An unexpected error occurred");
    } else if (n == 0) {
        if (is_read(m)) {
            get_root(req, res);
        } else {
            sl_admin_message(res, 405, "Method not allowed");
        }
    } else if (n == 1 && strcmp(seg[0], "status") == 0) {
        is_read(m) ? sl_admin_get_status(req, res)
                   : sl_admin_message(res, 405, "Method not allowed");
    } else if (n == 1 && strcmp(seg[0], "endpoints") == 0) {
        is_read(m) ? get_endpoints(res) : sl_admin_message(res, 405, "Method not allowed");
    } else if (n == 1 && strcmp(seg[0], "config") == 0) {
        if (is_read(m)) {
            if (req->conf->database != SL_DB_OFF) {
                sl_admin_message(res, 400,
                                 "this endpoint is only available when Kong is "
                                 "configured to not use a database");
            } else {
                get_config(req, res, snap->config);
            }
        } else if (strcmp(m, "POST") == 0) {
            post_config(req, res);
        } else {
            sl_admin_message(res, 405, "Method not allowed");
        }
    } else if (n == 3 && strcmp(seg[0], "schemas") == 0 && strcmp(seg[1], "plugins") == 0 &&
               strcmp(seg[2], "validate") != 0) {
        if (!is_read(m)) {
            sl_admin_message(res, 405, "Method not allowed");
        } else {
            /* No plugin is bundled yet: every name is unknown (Kong's 404 text). */
            char msg[300];
            snprintf(msg, sizeof(msg), "No plugin named '%.200s'", seg[2]);
            sl_admin_message(res, 404, msg);
        }
    } else if (n == 3 && strcmp(seg[0], "schemas") == 0 && strcmp(seg[2], "validate") == 0) {
        const struct sl_schema *sc = sl_schema_find(seg[1]);
        if (sc == NULL) {
            char msg[300];
            snprintf(msg, sizeof(msg), "No entity named '%.200s'", seg[1]);
            sl_admin_message(res, 404, msg);
        } else if (strcmp(m, "POST") != 0) {
            sl_admin_message(res, 405, "Method not allowed");
        } else {
            validate_entity(req, res, sc);
        }
    } else if (n == 2 && strcmp(seg[0], "plugins") == 0 && strcmp(seg[1], "enabled") == 0) {
        res->status = 200;
        res->body = json_pack("{s:[]}", "enabled_plugins");
    } else if (store != NULL && n <= 2 && strcmp(seg[0], "tags") == 0) {
        is_read(m) ? get_tags(req, res, n == 2 ? seg[1] : NULL)
                   : sl_admin_message(res, 405, "Method not allowed");
    } else if (store != NULL && n == 1 && strcmp(seg[0], "consumers") == 0 && is_read(m) &&
               sl_admin_query_raw(req->query, "custom_id", &(const char *){NULL}, &(size_t){0})) {
        get_consumer_by_custom_id(req, res);
    } else if (n == 2 && strcmp(seg[0], "schemas") == 0) {
        const struct sl_schema *sc = sl_schema_find(seg[1]);
        if (!is_read(m)) {
            sl_admin_message(res, 405, "Method not allowed");
        } else if (sc == NULL) {
            char msg[300];
            snprintf(msg, sizeof(msg), "No entity named '%.200s'", seg[1]);
            sl_admin_message(res, 404, msg);
        } else {
            res->status = 200;
            res->body = sl_schema_to_json(sc);
        }
    } else if (store != NULL && sl_admin_crud(req, res, store, seg, n)) {
        /* served from the store */
    } else if (store == NULL && n <= 4 &&
               (strcmp(seg[0], "services") == 0 || strcmp(seg[0], "routes") == 0)) {
        entity_endpoints(req, res, seg, n, snap->config);
    } else {
        sl_admin_message(res, 404, "Not found");
    }
    sl_snapshot_unref(snap);
    free(path);
}
