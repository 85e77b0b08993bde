/* SPDX-License-Identifier: Apache-2.0 */
/* targets (kong.md §1.6): "host[:port]" with Kong's default port 8000 added on input
 * (kong/db/dao/targets.lua), weight 0..65535, millisecond timestamps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/entities/entities.h"
#include "schema/typedefs.h"

static const char *const pk[] = {"id", NULL};
static const char *const cache_key[] = {"upstream", "target", NULL};

#define SL_TARGET_DEFAULT_PORT 8000

static int
validate_target(const json_t *v, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    enum sl_host_kind kind;
    long port;
    char why[256];
    if (sl_typedef_normalize_ip(s, &kind, &port, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "Invalid target ('%s'); not a valid hostname or ip address", s);
        return -1;
    }
    return 0;
}

/* Adds ":8000" to a valid target without a port (IPv6 addresses in brackets). */
static int
target_default_port(json_t *in, enum sl_schema_op op, json_t *errors)
{
    const json_t *t = json_object_get(in, "target");
    if (!json_is_string(t)) {
        return 0;
    }
    const char *s = json_string_value(t);
    enum sl_host_kind kind;
    long port;
    char why[256];
    if (sl_typedef_normalize_ip(s, &kind, &port, why, sizeof(why)) != 0 || port >= 0) {
        return 0;
    }
    size_t n = strlen(s) + 16;
    char *out = malloc(n);
    if (out == NULL) {
        return 0;
    }
    if (kind == SL_HOST_KIND_IPV6 && s[0] != '[') {
        snprintf(out, n, "[%s]:%d", s, SL_TARGET_DEFAULT_PORT);
    } else {
        snprintf(out, n, "%s:%d", s, SL_TARGET_DEFAULT_PORT);
    }
    json_object_set_new(in, "target", json_string(out));
    free(out);
    return 0;
}

static const struct sl_field fields[] = {
    SL_TD_ID,
    {.name = "created_at", .type = SL_FT_NUMBER, .timestamp = true, .auto_kind = SL_AUTO_TS_MS},
    {.name = "updated_at", .type = SL_FT_NUMBER, .timestamp = true, .auto_kind = SL_AUTO_TS_MS},
    {.name = "upstream",
     .type = SL_FT_FOREIGN,
     .required = true,
     .reference = "upstreams",
     .on_delete = SL_ON_DELETE_CASCADE},
    {.name = "target", .type = SL_FT_STRING, .required = true, .custom = validate_target},
    {.name = "weight",
     .type = SL_FT_INTEGER,
     .default_json = "100",
     .has_between = true,
     .between_min = 0,
     .between_max = 65535},
    SL_TD_TAGS,
    {0},
};

const struct sl_schema sl_schema_targets = {
    .name = "targets",
    .primary_key = pk,
    .endpoint_key = "target",
    .cache_key = cache_key,
    .workspaceable = true,
    .fields = fields,
    .shorthand = target_default_port,
};
