/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's typedefs (kong/db/schema/typedefs.lua): the custom validators and shared field definitions
 * the entity schemas are built from, with Kong's messages. */
#ifndef SL_SCHEMA_TYPEDEFS_H
#define SL_SCHEMA_TYPEDEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/schema.h"

enum sl_host_kind { SL_HOST_KIND_NAME = 0, SL_HOST_KIND_IPV4, SL_HOST_KIND_IPV6, SL_HOST_KIND_MAX };

/* Kong's utils.normalize_ip(): classifies <s> as a name, IPv4 or IPv6 address with an optional port
 * (IPv6 with a port in brackets). Returns 0 with <kind> and <port> (-1 when absent), or -1 with
 * "invalid port number", "invalid ipv4 address: <s>", "invalid ipv6 address" or
 * "invalid hostname: <s>" in <err>. */
int sl_typedef_normalize_ip(const char *s, enum sl_host_kind *kind, long *port, char *err,
                            size_t errlen);

/* True when <s> is an IPv4/IPv6 address or a CIDR range of one (Kong's is_valid_ip_or_cidr). */
bool sl_typedef_is_ip_or_cidr(const char *s);

/* Kong's uri normalize(path, true): percent-decodes unreserved characters, upper-cases the other
 * escapes, removes dot segments and merges slashes. Writes into <out>; returns 0 or -1 when it does
 * not fit. */
int sl_typedef_normalize_path(const char *in, char *out, size_t outlen);

/* The custom validators (sl_schema_validator_fn) */
int sl_typedef_host(const json_t *v, char *err, size_t errlen);
int sl_typedef_host_with_optional_port(const json_t *v, char *err, size_t errlen);
int sl_typedef_sni(const json_t *v, char *err, size_t errlen);
int sl_typedef_wildcard_host(const json_t *v, char *err, size_t errlen);
int sl_typedef_route_host(const json_t *v, char *err, size_t errlen);
int sl_typedef_ip(const json_t *v, char *err, size_t errlen);
int sl_typedef_ip_or_cidr(const json_t *v, char *err, size_t errlen);
int sl_typedef_path(const json_t *v, char *err, size_t errlen);
int sl_typedef_router_path(const json_t *v, char *err, size_t errlen);
/* Compiles PCRE2 pattern <re> with <options> to check it: 0, or -1 with Kong's message
 * ("invalid regex: '<re>' (PCRE returned: pcre2_compile() failed: <why> in \"<re>\")"). */
int sl_typedef_regex(const char *re, uint32_t options, char *err, size_t errlen);
int sl_typedef_name(const json_t *v, char *err, size_t errlen);
int sl_typedef_utf8_name(const json_t *v, char *err, size_t errlen);
int sl_typedef_tag(const json_t *v, char *err, size_t errlen);
int sl_typedef_header_name(const json_t *v, char *err, size_t errlen);
int sl_typedef_cookie_name(const json_t *v, char *err, size_t errlen);
int sl_typedef_certificate(const json_t *v, char *err, size_t errlen);
int sl_typedef_key(const json_t *v, char *err, size_t errlen);

/* Shared field definitions (copy with a designated initializer to rename) */
extern const struct sl_field sl_typedef_tag_elem;
extern const struct sl_field sl_typedef_protocol_elem;
extern const struct sl_field sl_typedef_http_method_elem;
extern const struct sl_field sl_typedef_string_elem;
extern const struct sl_field sl_typedef_header_name_elem;
extern const struct sl_field sl_typedef_header_values;
/* A route's header values: as above, and a single "~*" value must be a valid regex (Sluice: the
 * router compiles it). */
extern const struct sl_field sl_typedef_route_header_values;
extern const struct sl_field sl_typedef_uuid_elem;
extern const struct sl_field sl_typedef_src_dst_elem;
extern const char *const sl_typedef_protocols[];      /* Kong's constants.PROTOCOLS, sorted */
extern const char *const sl_typedef_http_protocols[]; /* grpc, grpcs, http, https */

#define SL_TD_ID                                                                                   \
    {                                                                                              \
        .name = "id", .type = SL_FT_STRING, .uuid = true, .auto_kind = SL_AUTO_UUID                \
    }
#define SL_TD_CREATED_AT                                                                           \
    {                                                                                              \
        .name = "created_at", .type = SL_FT_INTEGER, .timestamp = true, .auto_kind = SL_AUTO_TS_S  \
    }
#define SL_TD_UPDATED_AT                                                                           \
    {                                                                                              \
        .name = "updated_at", .type = SL_FT_INTEGER, .timestamp = true, .auto_kind = SL_AUTO_TS_S  \
    }
#define SL_TD_TAGS                                                                                 \
    {                                                                                              \
        .name = "tags", .type = SL_FT_SET, .elements = &sl_typedef_tag_elem                        \
    }
#define SL_TD_UTF8_NAME(n)                                                                         \
    {                                                                                              \
        .name = (n), .type = SL_FT_STRING, .unique = true, .custom = sl_typedef_utf8_name          \
    }
#define SL_TD_PORT(n, def)                                                                         \
    {                                                                                              \
        .name = (n), .type = SL_FT_INTEGER, .has_between = true, .between_min = 0,                 \
        .between_max = 65535, .default_json = (def)                                                \
    }

#endif
