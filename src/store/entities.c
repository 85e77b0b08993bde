/* SPDX-License-Identifier: Apache-2.0 */
/* Store descriptors of Kong's core entities: which fields are unique, which reference what and
 * what deleting the parent does (kong/db/schema/entities/<name>.lua). Fields and checks live in the
 * schema layer; this file only says what the store must enforce. */
#include <string.h>

#include "store/store.h"

const struct sl_store_entity sl_store_entity_consumers = {
    .name = "consumers",
    .endpoint_key = "username",
    .unique = {"username", "custom_id"},
    .tags = true,
};

const struct sl_store_entity sl_store_entity_certificates = {
    .name = "certificates",
    .tags = true,
};

/* services.client_certificate and upstreams.client_certificate have no on_delete in Kong: a
 * certificate still used by them cannot be deleted. */
const struct sl_store_entity sl_store_entity_services = {
    .name = "services",
    .endpoint_key = "name",
    .unique = {"name"},
    .foreign = {{"client_certificate", "certificates", SL_STORE_ON_DELETE_RESTRICT}},
    .tags = true,
};

/* routes.service is not cascade in Kong: deleting a service with routes fails. */
const struct sl_store_entity sl_store_entity_routes = {
    .name = "routes",
    .endpoint_key = "name",
    .unique = {"name"},
    .foreign = {{"service", "services", SL_STORE_ON_DELETE_RESTRICT}},
    .tags = true,
};

/* snis.certificate has no on_delete: a certificate with SNIs cannot be deleted. */
const struct sl_store_entity sl_store_entity_snis = {
    .name = "snis",
    .endpoint_key = "name",
    .unique = {"name"},
    .foreign = {{"certificate", "certificates", SL_STORE_ON_DELETE_RESTRICT}},
    .tags = true,
};

const struct sl_store_entity sl_store_entity_upstreams = {
    .name = "upstreams",
    .endpoint_key = "name",
    .unique = {"name"},
    .foreign = {{"client_certificate", "certificates", SL_STORE_ON_DELETE_RESTRICT}},
    .tags = true,
};

/* Unique per upstream since Kong 3.0 (cache_key {upstream, target}). */
const struct sl_store_entity sl_store_entity_targets = {
    .name = "targets",
    .endpoint_key = "target",
    .groups = {{{"upstream", "target"}}},
    .foreign = {{"upstream", "upstreams", SL_STORE_ON_DELETE_CASCADE}},
    .tags = true,
};

/* cache_key {name, route, service, consumer}: one plugin of a name per scope. */
const struct sl_store_entity sl_store_entity_plugins = {
    .name = "plugins",
    .endpoint_key = "instance_name",
    .unique = {"instance_name"},
    .groups = {{{"name", "route", "service", "consumer"}}},
    .foreign =
        {
            {"route", "routes", SL_STORE_ON_DELETE_CASCADE},
            {"service", "services", SL_STORE_ON_DELETE_CASCADE},
            {"consumer", "consumers", SL_STORE_ON_DELETE_CASCADE},
        },
    .tags = true,
};

/* services.ca_certificates is an array of ids, not a foreign field: the "referenced by others"
 * check on delete belongs to the ca_certificates DAO logic above the store. */
const struct sl_store_entity sl_store_entity_ca_certificates = {
    .name = "ca_certificates",
    .unique = {"cert_digest"},
    .tags = true,
};

/* Kong's CORE_ENTITIES order: a parent always comes before its children. */
const struct sl_store_entity *const sl_store_core_entities[] = {
    &sl_store_entity_consumers,
    &sl_store_entity_certificates,
    &sl_store_entity_services,
    &sl_store_entity_routes,
    &sl_store_entity_snis,
    &sl_store_entity_upstreams,
    &sl_store_entity_targets,
    &sl_store_entity_plugins,
    &sl_store_entity_ca_certificates,
    NULL,
};

const struct sl_store_migration sl_store_core_migrations[] = {
    {"000_base_core", sl_store_core_entities},
    {NULL, NULL},
};

const struct sl_store_entity *
sl_store_core_entity(const char *name, size_t len)
{
    for (size_t i = 0; sl_store_core_entities[i] != NULL; i++) {
        const char *n = sl_store_core_entities[i]->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            return sl_store_core_entities[i];
        }
    }
    return NULL;
}
