/* SPDX-License-Identifier: Apache-2.0 */
/* Kong's declarative 1.1/2.1 → 3.0 route path migration (kong/db/declarative/migrations,
 * migrate_path_280_300). Only the declarative loader needs it; every other rule lives in the
 * schema engine (src/schema). */
#ifndef SL_CONFIG_PATH_MIGRATE_H
#define SL_CONFIG_PATH_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

/* A path made only of [A-Za-z0-9._~/%-] is normalized (slashes merged); anything else becomes a
 * "~" regex whose percent-escapes are decoded (regex metacharacters escaped, reserved characters
 * kept encoded). Writes to <out>; returns false when it does not fit (strlen(in) + 2 always
 * does). */
bool sl_config_migrate_path(const char *in, char *out, size_t outlen);

#endif
