/* SPDX-License-Identifier: Apache-2.0 */
/* The declarative configuration (DB-less, kong.md §6.2): Kong's `_format_version: "3.0"` file, YAML or
 * JSON, with services (nested routes allowed), top-level routes, the `url` shorthand, references by
 * name or id, and stable UUIDs for entities without an id. Services and routes are validated with
 * Kong's field rules, defaults and messages (kong.md §1.1-1.2). */
#ifndef SL_CONFIG_DECLARATIVE_H
#define SL_CONFIG_DECLARATIVE_H

#include <stddef.h>

#include "sluice/entity-t.h"

/* Loads and validates <path>. On success returns a config owning its own arena (free with
 * sl_config_free). On failure returns NULL and writes every error found, one per line, into <err>
 * (truncated to <errlen>), in Kong's nested form, e.g.
 *   in 'services': in entry 1 of 'services': in 'host': required field missing */
struct sl_config *sl_declarative_load_file(const char *path, char *err, size_t errlen);
/* The same from memory; <name> is used in messages (e.g. the file name). */
struct sl_config *sl_declarative_load_string(const char *buf, size_t len, const char *name, char *err,
                                             size_t errlen);
/* An empty configuration (no declarative file). */
struct sl_config *sl_config_new_empty(void);
void sl_config_free(struct sl_config *cfg);

#endif
