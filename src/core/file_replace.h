/* SPDX-License-Identifier: Apache-2.0 */
/* Replacing a small file whole or not at all, for what Sluice keeps under its prefix (the DB-less
 * configuration, the node id). */
#ifndef SL_CORE_FILE_REPLACE_H
#define SL_CORE_FILE_REPLACE_H

#include <stddef.h>

/* Writes <len> bytes of <data> to <path> in directory <dir>: a temporary file beside it (mode
 * 0600 whatever the umask, not following a planted link), synced, renamed over <path>, then <dir>
 * synced so that the rename survives a crash. Readers see the old file or the new one, never a
 * part. Returns 0, or -1 with a message in <err> naming the step that failed. */
int sl_file_replace(const char *dir, const char *path, const void *data, size_t len, char *err,
                    size_t errlen);

#endif
