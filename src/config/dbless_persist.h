/* SPDX-License-Identifier: Apache-2.0 */
/* DB-less persistence (kong.md §6.2): the last configuration accepted by POST /config is kept
 * verbatim in <prefix>/dbless.config, so that a restart without `declarative_config` (or
 * `declarative_config_string`) serves it again (Kong keeps it in LMDB) and reports the same
 * configuration hash. Control thread only. */
#ifndef SL_CONFIG_DBLESS_PERSIST_H
#define SL_CONFIG_DBLESS_PERSIST_H

#include <stdbool.h>
#include <stddef.h>

/* The file's path under <prefix> into <out>. Returns 0, or -1 when it does not fit. */
int sl_dbless_path(const char *prefix, char *out, size_t outlen);

/* Replaces the kept configuration with <text> (<len> bytes) atomically and durably: a temporary
 * file in the same directory, fsync, rename, fsync of the directory. A crash leaves the old or the
 * new file, never a torn one. Returns 0, or -1 with the reason in <err>. */
int sl_dbless_save(const char *prefix, const char *text, size_t len, char *err, size_t errlen);

/* True when a kept configuration exists under <prefix>. */
bool sl_dbless_exists(const char *prefix);

#endif
