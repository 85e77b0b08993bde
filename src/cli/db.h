/* SPDX-License-Identifier: Apache-2.0 */
/* The database verbs of the CLI (kong.md §7): migrations bootstrap|up|list|reset and
 * config db_import|db_export, on the store named by sluice.conf. */
#ifndef SL_CLI_DB_H
#define SL_CLI_DB_H

#include <stdbool.h>

#include "config/conf.h"
#include "store/store.h"

/* Opens the configured store (SQLite at sqlite_path). <bootstrap>: create an empty database.
 * Prints `Error: ...` and returns NULL on failure. */
struct sl_store *sl_cli_open_store(const struct sl_conf *conf, bool bootstrap);

int sl_cli_migrations(const struct sl_conf *conf, const char *verb, bool yes);
int sl_cli_db_import(const struct sl_conf *conf, const char *file);
int sl_cli_db_export(const struct sl_conf *conf, const char *file);

#endif
