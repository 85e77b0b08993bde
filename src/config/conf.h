/* SPDX-License-Identifier: Apache-2.0 */
/* sluice.conf: Kong's `key = value` format (kong.md §8) with SLUICE_<KEY> environment overrides.
 * Precedence: built-in defaults < file < environment < the -p prefix given on the command line.
 * Unknown keys and bad values are errors. docs/configuration.md describes every key. */
#ifndef SL_CONFIG_CONF_H
#define SL_CONFIG_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "net/cidr.h"
#include "net/dns.h"
#include "net/listen.h"

#define SL_CONF_MAX_LISTEN 16
#define SL_CONF_MAX_TRUSTED 64
#define SL_CONF_MAX_PORT_MAPS 64
#define SL_CONF_MAX_SSL_PAIRS 2              /* certificate lists: one RSA and one ECDSA pair */
#define SL_CONF_MAX_TRUSTED_CERTS 8          /* lua_ssl_trusted_certificate files */
#define SL_CONF_MAX_FILE_BYTES (1024 * 1024) /* a sluice.conf larger than this is refused */
#define SL_CONF_MAX_GUI_URLS 8               /* entries of admin_gui_url */

struct sl_listen {
    char host[256]; /* IP literal ("0.0.0.0", "::", "127.0.0.1"), IPv6 without brackets */
    uint16_t port;  /* 1..65535 */
    bool ssl;
    bool http2;
    bool reuseport;
    bool proxy_protocol;
    int backlog;      /* backlog=N, default 16384 (Kong) */
    bool deferred;    /* TCP_DEFER_ACCEPT */
    bool bind;        /* nginx's `bind`: accepted; Sluice always binds each address */
    int ipv6only;     /* -1 unset (kernel default), 0 off, 1 on */
    int so_keepalive; /* -1 unset, 0 off, 1 on (system defaults or the three values below) */
    int keepidle_s;   /* so_keepalive=idle:intvl:cnt; 0 = system default */
    int keepintvl_s;
    int keepcnt;
};

/* The socket options of a listen entry, for sl_net_listen. */
static inline struct sl_net_listen_opts
sl_listen_opts(const struct sl_listen *l)
{
    return (struct sl_net_listen_opts){
        .backlog = l->backlog,
        .reuseport = l->reuseport,
        .deferred = l->deferred,
        .ipv6only = l->ipv6only,
        .so_keepalive = l->so_keepalive,
        .keepidle_s = l->keepidle_s,
        .keepintvl_s = l->keepintvl_s,
        .keepcnt = l->keepcnt,
    };
}

enum sl_database { SL_DB_SQLITE = 0, SL_DB_POSTGRES, SL_DB_OFF, SL_DB_MAX };

/* Bits of the `headers` key (kong.md §3.5). */
enum sl_header_flag {
    SL_HDR_SERVER = 1u << 0,           /* Server */
    SL_HDR_VIA = 1u << 1,              /* Via */
    SL_HDR_PROXY_LATENCY = 1u << 2,    /* X-Sluice-Proxy-Latency */
    SL_HDR_UPSTREAM_LATENCY = 1u << 3, /* X-Sluice-Upstream-Latency */
    SL_HDR_RESPONSE_LATENCY = 1u << 4, /* X-Sluice-Response-Latency */
    SL_HDR_REQUEST_ID = 1u << 5,       /* X-Sluice-Request-Id */
    SL_HDR_UPSTREAM_STATUS = 1u << 6,  /* X-Sluice-Upstream-Status */
};

enum sl_access_log_format { SL_ACCESS_LOG_COMBINED = 0, SL_ACCESS_LOG_JSON, SL_ACCESS_LOG_MAX };

/* Values of `error_default_type` (Kong's): the format of an error page Sluice writes in place of
 * an upstream's response (502, 504, 400 ...) when the request has neither Accept nor Content-Type.
 */
enum sl_error_type {
    SL_ERROR_TYPE_PLAIN = 0, /* text/plain, the default */
    SL_ERROR_TYPE_JSON,      /* application/json */
    SL_ERROR_TYPE_HTML,      /* text/html */
    SL_ERROR_TYPE_XML,       /* application/xml */
    SL_ERROR_TYPE_MAX
};

struct sl_conf {
    char prefix[1024];    /* default /usr/local/sluice; made absolute, no trailing / */
    bool daemon;          /* default on */
    int worker_processes; /* "auto" → number of CPUs; 1..1024 */
    int log_level;        /* enum sl_log_level; default notice */
    char node_id[SL_UUID_STR_LEN +
                 1]; /* a UUID as given (either case), or empty: unset (core/node_id.h) */
    struct sl_listen proxy_listen[SL_CONF_MAX_LISTEN];
    size_t nproxy_listen; /* 0 when "off" */
    struct sl_listen admin_listen[SL_CONF_MAX_LISTEN];
    size_t nadmin_listen;
    struct sl_listen status_listen[SL_CONF_MAX_LISTEN];
    size_t nstatus_listen;
    char proxy_access_log[1024]; /* absolute path, or "off", or "stderr" */
    enum sl_access_log_format
        proxy_access_log_format; /* key proxy_access_log_format: combined|json */
    char proxy_error_log[1024];  /* absolute path, or "off", or "stderr" (Sluice extension) */
    /* The Admin and Status APIs' own logs (admin/logs.c), as proxy_access_log / proxy_error_log:
     * absolute paths, or "off", "stderr", "stdout" */
    char admin_access_log[1024];
    char admin_error_log[1024];
    char status_access_log[1024];
    char status_error_log[1024];
    struct sl_cidr trusted_ips[SL_CONF_MAX_TRUSTED];
    size_t ntrusted_ips;      /* `unix:` entries are accepted and not stored */
    char real_ip_header[128]; /* default X-Real-IP; "proxy_protocol" allowed */
    bool real_ip_recursive;   /* default off */
    /* port_maps "host:listen, ...": the port clients reach a listener port by (Kong's host_ports,
     * behind a container's port mapping); X-Forwarded-Port and the router see it */
    struct {
        uint16_t host_port, listen_port;
    } port_maps[SL_CONF_MAX_PORT_MAPS];
    size_t nport_maps;
    unsigned headers;                      /* enum sl_header_flag bits */
    unsigned headers_upstream;             /* SL_HDR_REQUEST_ID or 0 (key headers_upstream) */
    enum sl_error_type error_default_type; /* default text/plain */
    enum sl_database database;             /* default sqlite */
    char declarative_config[1024];    /* absolute (relative to the cwd at load); empty when unset */
    char sqlite_path[1024];           /* default <prefix>/sluice.db; relative → under prefix */
    int upstream_keepalive_pool_size; /* default 512; 0 disables pooling */
    int upstream_keepalive_max_requests;   /* default 10000; 0 = unlimited (Kong) */
    int upstream_keepalive_idle_timeout_s; /* default 60; 0 = no idle timeout (Kong) */
    int client_header_timeout_ms;          /* default 60000 (nginx) */
    int client_body_timeout_ms;            /* default 60000 */
    int send_timeout_ms;                   /* default 60000 */
    int keepalive_timeout_ms;              /* default 75000 (nginx keepalive_timeout); 0 disables */
    uint64_t client_max_body_size;         /* bytes; 0 = unlimited (Kong's default) */
    size_t
        large_client_header_buffers; /* max bytes of one header line / request line, default 8k */
    size_t max_header_bytes;         /* total head, default 64k */
    int lua_max_req_headers;         /* header count limit, default 100 (Kong's name) */
    int quit_timeout_s;              /* graceful drain bound, default 10 */
    /* dns_resolver, dns_hostsfile, dns_order, dns_valid_ttl, dns_stale_ttl, dns_not_found_ttl,
     * dns_error_ttl (Kong's names and defaults; net/dns.h) */
    struct sl_dns_settings dns;
    int dns_cache_size; /* default 10000; accepted: the cache holds exactly the names in use */
    bool dns_no_sync;   /* default off; accepted: one resolver serves every worker already */
    /* PostgreSQL (database = postgres); parsed and validated, used once the postgres store exists
     */
    char pg_host[256];     /* default 127.0.0.1 */
    int pg_port;           /* default 5432 */
    char pg_database[128]; /* default sluice */
    char pg_user[128];     /* default sluice */
    char pg_password[256]; /* default empty; a secret: never log it */
    int pg_timeout_ms;     /* default 5000 */
    bool pg_ssl;           /* default off */
    /* Kept for the features that will read them (DESIGN.md §6) */
    char plugins[1024];      /* default "bundled" */
    char ssl_cert[1024];     /* empty: unset */
    char ssl_cert_key[1024]; /* empty: unset; a secret path */
    /* The Admin API's `ssl` listeners (Kong's admin_ssl_cert / admin_ssl_cert_key): comma lists
     * of PEM file paths, made absolute (relative ones from the cwd); none set: the default
     * certificates under <prefix>/ssl are used, generated at start when missing. */
    char admin_ssl_cert[SL_CONF_MAX_SSL_PAIRS][1024];
    size_t nadmin_ssl_cert;
    /* paths of secrets: log the paths, never the contents */
    char admin_ssl_cert_key[SL_CONF_MAX_SSL_PAIRS][1024];
    size_t nadmin_ssl_cert_key;
    /* The Status API's `ssl` listeners (Kong's status_ssl_cert / status_ssl_cert_key): as the
     * admin ones, the default certificates being <prefix>/ssl/status-kong-default*. */
    char status_ssl_cert[SL_CONF_MAX_SSL_PAIRS][1024];
    size_t nstatus_ssl_cert;
    char status_ssl_cert_key[SL_CONF_MAX_SSL_PAIRS][1024]; /* paths of secrets */
    size_t nstatus_ssl_cert_key;
    /* declarative_config_string (Kong's, DB-less): a declarative document given in the key
     * itself, as Kubernetes deployments pass it in the environment. A secret (it may hold
     * credentials and private keys): never logged, "******" in GET /. 0 when unset, else which
     * load read it. The text is not kept here: this struct is copied by value (proxy settings,
     * reload) and the text may be a megabyte; sl_conf_declarative_string() gives it. */
    uint64_t declarative_config_string_id;
    /* Kong Manager's keys (Kong 3.x OSS admin_gui_*). Kong Manager itself is not bundled: they are
     * accepted and validated as Kong does so that a kong.conf setting them still starts, and shown
     * in GET /. Only admin_gui_url acts: its origins become the Admin API's CORS origin. */
    struct sl_listen admin_gui_listen[SL_CONF_MAX_LISTEN];
    size_t nadmin_gui_listen; /* 0 when "off"; never opened (a notice says so at start) */
    char admin_gui_url[SL_CONF_MAX_GUI_URLS][512]; /* as given, each <scheme>://<authority>... */
    size_t nadmin_gui_url;                         /* 0: unset */
    /* Kong's admin_gui_origin: "<scheme>://<authority>" of each admin_gui_url, in order (the path,
     * query and fragment dropped), what Access-Control-Allow-Origin may say */
    char admin_gui_origin[SL_CONF_MAX_GUI_URLS][512];
    char admin_gui_path[256];        /* default "/" */
    char admin_gui_api_url[512];     /* empty: unset */
    char admin_gui_access_log[1024]; /* as given (nothing is written there) */
    char admin_gui_error_log[1024];
    char admin_gui_ssl_cert[SL_CONF_MAX_SSL_PAIRS][1024]; /* made absolute, as admin_ssl_cert */
    size_t nadmin_gui_ssl_cert;
    char admin_gui_ssl_cert_key[SL_CONF_MAX_SSL_PAIRS][1024]; /* paths of secrets */
    size_t nadmin_gui_ssl_cert_key;
    bool admin_gui_csp_header;             /* default off (Kong 3.10) */
    char admin_gui_csp_header_value[1024]; /* empty: unset */
    /* TLS towards https upstreams, what a service does not set itself (kong.md §3.8):
     * nginx_proxy_proxy_ssl_verify (tls_verify when null; default off),
     * nginx_proxy_proxy_ssl_verify_depth (tls_verify_depth when null; default 1), the trusted
     * certificates when a service lists no ca_certificates
     * (nginx_proxy_proxy_ssl_trusted_certificate when set, else lua_ssl_trusted_certificate:
     * `system` and/or PEM files, default `system`), and the client certificate a service without
     * one presents (client_ssl with client_ssl_cert and client_ssl_cert_key). Paths are made
     * absolute; the files are read when a snapshot's defaults are loaded (config/upstream_tls.c).
     */
    bool proxy_ssl_verify;
    int proxy_ssl_verify_depth;
    char proxy_ssl_trusted_certificate[1024]; /* empty: unset */
    bool lua_ssl_trusted_system;              /* `system` is in lua_ssl_trusted_certificate */
    char lua_ssl_trusted_certificate[SL_CONF_MAX_TRUSTED_CERTS][1024];
    size_t nlua_ssl_trusted_certificate;
    bool client_ssl; /* default off */
    char client_ssl_cert[1024];
    char client_ssl_cert_key[1024]; /* a secret's path */
};

/* For a reload: every key a running process cannot change (worker_processes, daemon,
 * the database, the resolver's servers, ...) is set in <fresh> back to its value in <running>, and
 * <changed>(key, ctx) is called once per such key whose value the file changed, so the caller can
 * say that it takes effect only at the next start. Every other key is applied by the reload. */
void sl_conf_keep_restart_only(struct sl_conf *fresh, const struct sl_conf *running,
                               void (*changed)(const char *key, void *ctx), void *ctx);

/* Fills <conf> with defaults, then reads <path> (NULL: no file), then the environment. On error
 * writes every problem found, one per line, as "<file>:<line>: <message>" (a file value) or
 * "SLUICE_<KEY>: <message>" (an environment value), into <err> and returns -1. Not thread-safe (it
 * reads the environment); call it before threads start or from the control thread. */
int sl_conf_load(struct sl_conf *conf, const char *path, char *err, size_t errlen);

/* As sl_conf_load, with <prefix> (non-NULL: the CLI's -p) beating the file and the environment. */
int sl_conf_load_with_prefix(struct sl_conf *conf, const char *path, const char *prefix, char *err,
                             size_t errlen);

/* As sl_conf_load_with_prefix, with the file contents given in memory (<len> bytes at <buf>, no NUL
 * needed; <name> is used in messages). With <use_env> false the environment is not read (fuzzing,
 * tests). */
int sl_conf_load_buffer(struct sl_conf *conf, const char *buf, size_t len, const char *name,
                        const char *prefix, bool use_env, char *err, size_t errlen);

/* The name that stands for declarative_config_string's text wherever a file's path would be
 * (messages, GET /config's source): the text itself is never printed. */
#define SL_CONF_DECLARATIVE_STRING_NAME "declarative_config_string"

/* The text of <conf>'s declarative_config_string (NUL-terminated, its length in *<len>), or NULL
 * when the key is unset. Only the configuration loaded last has its text kept (each sl_conf_load*
 * call replaces it), so read it right after loading: an older configuration gets NULL. Not
 * thread-safe, as sl_conf_load. */
const char *sl_conf_declarative_string(const struct sl_conf *conf, size_t *len);

/* Where a key's value came from, for sl_conf_observe_keys. */
enum sl_conf_source {
    SL_CONF_SRC_DEFAULT = 0,
    SL_CONF_SRC_FILE,
    SL_CONF_SRC_ENV, /* a SLUICE_<KEY> variable */
    SL_CONF_SRC_CLI, /* -p */
};

/* One key as a load resolved it (file, environment and -p merged), before its value is parsed. */
struct sl_conf_key_value {
    const char *key;   /* static */
    const char *value; /* what is parsed: the value that won, else the default ("": unset) */
    const char *given; /* as the file, the variable or -p gave it (may be ""); NULL: the default */
    enum sl_conf_source src;
};

/* The CLI's --vv prints every key a load resolved, as Kong's conf_loader does: with <fn> set, each
 * following load calls it once per key, in the order of the key table, whether the load then
 * succeeds or not. NULL stops it. Not thread-safe, as the loads themselves. */
void sl_conf_observe_keys(void (*fn)(const struct sl_conf_key_value *kv, void *ctx), void *ctx);

/* Parses one `proxy_listen`-style value ("0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 ssl"
 * or "off") into <out>. Returns the count, or -1 with a message in <err> (without the key name,
 * e.g. "must be of form: [off] | <ip>:<port> [ssl] ..."). */
int sl_conf_parse_listen(const char *value, struct sl_listen *out, size_t max, char *err,
                         size_t errlen);

/* Parses a size like "10m", "8k", "1g", "123" (bytes; k/m/g in either case, powers of 1024).
 * Returns 0 or -1 (bad syntax or overflow). */
int sl_conf_parse_size(const char *value, uint64_t *out);

/* Parses an nginx-style duration: "60s", "500ms", "1m", "1h30m", "2d"; a plain number is seconds.
 * Units ms, s, m, h, d, w. Writes milliseconds. Returns 0 or -1 (bad syntax or above INT_MAX ms).
 */
int sl_conf_parse_duration_ms(const char *value, int64_t *out);

#endif
