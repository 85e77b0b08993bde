/* SPDX-License-Identifier: Apache-2.0 */
/* Types of the configuration entities as the data plane sees them (kong.md §1). They are built by
 * the declarative loader (src/config/declarative.c) or, later, the store, and live in one config
 * arena: every pointer inside points into that same arena, and the whole set is immutable once
 * published. */
#ifndef SL_ENTITY_T_H
#define SL_ENTITY_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_UUID_LEN 36

enum sl_protocol {
    SL_PROTO_HTTP = 0,
    SL_PROTO_HTTPS,
    SL_PROTO_GRPC,
    SL_PROTO_GRPCS,
    SL_PROTO_TCP,
    SL_PROTO_TLS,
    SL_PROTO_TLS_PASSTHROUGH,
    SL_PROTO_UDP,
    SL_PROTO_MAX
};
#define SL_PROTO_BIT(p) (1u << (p))

/* A string set or array field: NULL/0 when the field is null in Kong's terms. */
struct sl_strv {
    const char **v; /* NUL-terminated strings in the config arena */
    size_t n;
};

struct sl_service {
    char id[SL_UUID_LEN + 1];
    const char *name; /* NULL when unset */
    enum sl_protocol protocol;
    const char *host; /* required; hostname or IP, no port */
    uint16_t port;
    const char *path; /* NULL when unset; else starts with '/' */
    int retries;      /* 0..32767, default 5 */
    int connect_timeout_ms;
    int write_timeout_ms;
    int read_timeout_ms;
    bool enabled;         /* false: its routes stay out of the router */
    int tls_verify;       /* -1 unset, 0 off, 1 on */
    int tls_verify_depth; /* -1 unset */
    struct sl_strv tags;
    int64_t created_at; /* unix seconds */
    int64_t updated_at;
    size_t index; /* position in sl_config.services; set when a snapshot is compiled */
    /* The host is the name of an upstream of the configuration. Kong then balances the service's
     * requests over that upstream's targets; Sluice has no balancer yet, so they answer Kong's
     * 503 "failure to get a peer from the ring-balancer" instead of going wherever DNS says the
     * name is (sl_config_mark_upstream_hosts). */
    bool names_upstream;
    /* TLS material of an https service: the ids it names (Kong: client_certificate, a foreign key
     * to certificates; ca_certificates, an array of ca_certificates ids), and what they resolved
     * to when the configuration was compiled (sl_config_attach_tls_material): PEM texts in the
     * config arena, NULL / 0 when none. <tls_missing>: an id named nothing (its requests answer
     * 500, never go out unverified or without the certificate the service asks for). */
    const char *client_certificate_id;
    struct sl_strv ca_certificate_ids;
    const char *client_cert_pem;
    const char *client_key_pem;
    struct sl_strv ca_pems;
    const char *tls_missing; /* "ca_certificates <id>" or "client_certificate <id>", or NULL */
};

struct sl_route_header {
    const char *name;      /* lowercased header name */
    struct sl_strv values; /* lowercased values; one "~*..." entry is a regex */
};

enum sl_path_handling { SL_PATH_HANDLING_V0 = 0, SL_PATH_HANDLING_V1, SL_PATH_HANDLING_MAX };

struct sl_route {
    char id[SL_UUID_LEN + 1];
    const char *name;       /* NULL when unset */
    uint32_t protocols;     /* SL_PROTO_BIT set; default http|https */
    struct sl_strv methods; /* uppercase */
    struct sl_strv hosts;   /* may carry '*' (leftmost or rightmost label) and ':port' */
    struct sl_strv paths;   /* "/prefix" or "~regex" */
    struct sl_route_header *headers;
    size_t nheaders;
    struct sl_strv snis;
    int https_redirect_status_code; /* 426 (default), 301, 302, 307, 308 */
    int64_t regex_priority; /* as configured (Kong accepts up to 2^53); the router orders by its
                               low 32 bits */
    bool strip_path;        /* default true */
    enum sl_path_handling path_handling;
    bool preserve_host; /* default false */
    bool request_buffering;
    bool response_buffering;
    const struct sl_service *service; /* NULL: a match answers 503 */
    struct sl_strv tags;
    int64_t created_at;
    int64_t updated_at;
};

/* The whole configuration the data plane runs on; owned by <arena>. Services come before the routes
 * that refer to them. */
struct sl_config {
    struct sl_arena *arena;
    struct sl_service **services;
    size_t nservices;
    struct sl_route **routes;
    size_t nroutes;
    /* The MD5 (lowercase hex) of the declarative text it was loaded from, Kong's
     * configuration_hash; empty when it came from no text (an empty configuration, the store). */
    char md5[33];
    /* The declarative text itself (a NUL-terminated copy in <arena>), its name (which chose the
     * parser) and the clock its missing timestamps were set from: GET /config loads it again to
     * export every table in full. NULL when it came from no text. */
    const char *source;
    size_t source_len;
    const char *source_name;
    int64_t loaded_at;
};

#endif
