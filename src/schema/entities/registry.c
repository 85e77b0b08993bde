/* SPDX-License-Identifier: Apache-2.0 */
/* The registry of core entity schemas in Kong's CORE_ENTITIES order (dependencies first), so
 * loaders and exporters that walk it insert parents before children. */
#include <string.h>

#include "schema/entities/entities.h"

const struct sl_schema *const sl_schema_core[] = {
    &sl_schema_consumers,
    &sl_schema_certificates,
    &sl_schema_services,
    &sl_schema_routes,
    &sl_schema_snis,
    &sl_schema_upstreams,
    &sl_schema_targets,
    &sl_schema_plugins,
    &sl_schema_tags,
    &sl_schema_ca_certificates,
    NULL,
};

const struct sl_schema *
sl_schema_find(const char *entity_name)
{
    if (entity_name == NULL) {
        return NULL;
    }
    for (size_t i = 0; sl_schema_core[i] != NULL; i++) {
        const struct sl_schema *s = sl_schema_core[i];
        if (strcmp(s->name, entity_name) == 0 ||
            (s->admin_path != NULL && strcmp(s->admin_path, entity_name) == 0)) {
            return s;
        }
    }
    return NULL;
}
