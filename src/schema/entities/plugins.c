/* SPDX-License-Identifier: Apache-2.0 */
/* plugins (kong.md §1.4): the generic fields; `config` and any scope restriction come from the
 * plugin's own schema, found through the sl_plugin_schema_lookup hook by the plugin's name. */
#include <stdio.h>

#include "schema/entities/entities.h"
#include "schema/typedefs.h"

static const char *const pk[] = {"id", NULL};
static const char *const cache_key[] = {"name", "route", "service", "consumer", NULL};

static const struct sl_field protocol_elem = {.type = SL_FT_STRING, .one_of = sl_typedef_protocols};

static const struct sl_field fields[] = {
    SL_TD_ID,
    {.name = "name", .type = SL_FT_STRING, .required = true},
    SL_TD_UTF8_NAME("instance_name"),
    SL_TD_CREATED_AT,
    SL_TD_UPDATED_AT,
    {.name = "route",
     .type = SL_FT_FOREIGN,
     .reference = "routes",
     .on_delete = SL_ON_DELETE_CASCADE},
    {.name = "service",
     .type = SL_FT_FOREIGN,
     .reference = "services",
     .on_delete = SL_ON_DELETE_CASCADE},
    {.name = "consumer",
     .type = SL_FT_FOREIGN,
     .reference = "consumers",
     .on_delete = SL_ON_DELETE_CASCADE},
    /* abstract: without a plugin schema no key is known */
    {.name = "config", .type = SL_FT_RECORD, .required = true},
    {.name = "protocols",
     .type = SL_FT_SET,
     .required = true,
     .default_json = "[\"grpc\",\"grpcs\",\"http\",\"https\"]",
     .elements = &protocol_elem},
    {.name = "enabled", .type = SL_FT_BOOLEAN, .default_json = "true"},
    SL_TD_TAGS,
    {0},
};

static const struct sl_schema *
plugin_subschema(const json_t *key, char *err, size_t errlen)
{
    if (!json_is_string(key)) {
        return NULL; /* sl_schema_process reports a missing or non-string name itself */
    }
    const char *name = json_string_value(key);
    const struct sl_schema *s = sl_plugin_schema_lookup ? sl_plugin_schema_lookup(name) : NULL;
    if (s == NULL) {
        snprintf(err, errlen,
                 "plugin '%s' not enabled; add it to the 'plugins' configuration property", name);
    }
    return s;
}

const struct sl_schema sl_schema_plugins = {
    .name = "plugins",
    .primary_key = pk,
    .endpoint_key = "instance_name",
    .cache_key = cache_key,
    .subschema_key = "name",
    .subschema = plugin_subschema,
    .workspaceable = true,
    .fields = fields,
};
