/* SPDX-License-Identifier: Apache-2.0 */
/* sluice.conf: Kong's `key = value` format (kong.md §8) with SLUICE_<KEY> environment overrides.
 * Precedence: built-in defaults < file < environment. Unknown keys and bad values are errors. */
#ifndef SL_CONFIG_CONF_H
#define SL_CONFIG_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/cidr.h"

#define SL_CONF_MAX_LISTEN 16
#define SL_CONF_MAX_TRUSTED 64

struct sl_listen {
    char host[256];   /* IP literal or "0.0.0.0" / "[::]" without brackets */
    uint16_t port;
    bool ssl;
    bool http2;
    bool reuseport;
    bool proxy_protocol;
    int backlog;      /* backlog=N, default 16384 (Kong) */
};

enum sl_database {
    SL_DB_SQLITE = 0,
    SL_DB_POSTGRES,
    SL_DB_OFF,
    SL_DB_MAX
};

/* Bits of the `headers` key (kong.md §3.5). */
enum sl_header_flag {
    SL_HDR_SERVER = 1u << 0,            /* Server */
    SL_HDR_VIA = 1u << 1,               /* Via */
    SL_HDR_PROXY_LATENCY = 1u << 2,     /* X-Sluice-Proxy-Latency */
    SL_HDR_UPSTREAM_LATENCY = 1u << 3,  /* X-Sluice-Upstream-Latency */
    SL_HDR_RESPONSE_LATENCY = 1u << 4,  /* X-Sluice-Response-Latency */
    SL_HDR_REQUEST_ID = 1u << 5,        /* X-Sluice-Request-Id */
    SL_HDR_UPSTREAM_STATUS = 1u << 6,   /* X-Sluice-Upstream-Status */
};

enum sl_access_log_format {
    SL_ACCESS_LOG_COMBINED = 0,
    SL_ACCESS_LOG_JSON,
    SL_ACCESS_LOG_MAX
};

struct sl_conf {
    char prefix[1024];                 /* default /usr/local/sluice; made absolute */
    bool daemon;                       /* default on */
    int worker_processes;              /* "auto" → number of CPUs */
    int log_level;                     /* enum sl_log_level; default notice */
    struct sl_listen proxy_listen[SL_CONF_MAX_LISTEN];
    size_t nproxy_listen;              /* 0 when "off" */
    struct sl_listen admin_listen[SL_CONF_MAX_LISTEN];
    size_t nadmin_listen;
    struct sl_listen status_listen[SL_CONF_MAX_LISTEN];
    size_t nstatus_listen;
    char proxy_access_log[1024];       /* relative → under prefix; "off" disables */
    enum sl_access_log_format proxy_access_log_format; /* key proxy_access_log_format: combined|json */
    char proxy_error_log[1024];
    struct sl_cidr trusted_ips[SL_CONF_MAX_TRUSTED];
    size_t ntrusted_ips;
    char real_ip_header[128];          /* default X-Real-IP; "proxy_protocol" allowed */
    bool real_ip_recursive;            /* default off */
    unsigned headers;                  /* enum sl_header_flag bits */
    enum sl_database database;         /* default sqlite */
    char declarative_config[1024];     /* empty when unset */
    char sqlite_path[1024];            /* default <prefix>/sluice.db */
    int upstream_keepalive_pool_size;  /* default 512; 0 disables pooling */
    int upstream_keepalive_max_requests; /* default 10000 */
    int upstream_keepalive_idle_timeout_s; /* default 60 */
    int client_header_timeout_ms;      /* default 60000 (nginx) */
    int client_body_timeout_ms;        /* default 60000 */
    int send_timeout_ms;               /* default 60000 */
    int keepalive_timeout_ms;          /* default 75000 (nginx keepalive_timeout) */
    uint64_t client_max_body_size;     /* bytes; 0 = unlimited (Kong's default) */
    size_t large_client_header_buffers; /* max bytes of one header line / request line, default 8k */
    size_t max_header_bytes;           /* total head, default 64k */
    int lua_max_req_headers;           /* header count limit, default 100 (Kong's name) */
    int quit_timeout_s;                /* graceful drain bound, default 10 */
};

/* Fills <conf> with defaults, then reads <path> (NULL: no file), then the environment. On error writes
 * "<file>:<line>: <message>" or "<KEY>: <message>" into <err> and returns -1. */
int sl_conf_load(struct sl_conf *conf, const char *path, char *err, size_t errlen);

/* Parses one `proxy_listen`-style value ("0.0.0.0:8000 reuseport backlog=16384, 0.0.0.0:8443 ssl"
 * or "off") into <out>. Returns the count, or -1 with a message in <err>. */
int sl_conf_parse_listen(const char *value, struct sl_listen *out, size_t max, char *err,
                         size_t errlen);

/* Parses a size like "10m", "8k", "1g", "123" (bytes). Returns 0 or -1. */
int sl_conf_parse_size(const char *value, uint64_t *out);

#endif
