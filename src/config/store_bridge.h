/* SPDX-License-Identifier: Apache-2.0 */
/* Between the store and configurations: compile what the store holds into a struct sl_config (for a
 * snapshot), import a declarative configuration into the store (`sluice config db_import`), and
 * export the store as a declarative document (`db_export`). Control thread only. */
#ifndef SL_CONFIG_STORE_BRIDGE_H
#define SL_CONFIG_STORE_BRIDGE_H

#include <jansson.h>
#include <stddef.h>

#include "sluice/entity-t.h"
#include "store/store.h"

/* The store's services and routes as a declarative document (new reference), or NULL with <err>. */
json_t *sl_config_store_export(struct sl_store *st, char *err, size_t errlen);

/* Compiles the store's content into a configuration, validated by the same rules as a declarative
 * file. NULL with <err> on failure (a store that holds what the loader refuses is reported, never
 * served partially). */
struct sl_config *sl_config_from_store(struct sl_store *st, char *err, size_t errlen);

/* Inserts every entity of <cfg> into the store in one transaction (all or nothing). Returns 0, or
 * -1 with Kong's message for the first failure in <err>. */
int sl_config_store_import(struct sl_store *st, const struct sl_config *cfg, char *err,
                           size_t errlen);

#endif
