/* SPDX-License-Identifier: Apache-2.0 */
/* The kept DB-less configuration (dbless_persist.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/dbless_persist.h"
#include "core/file_replace.h"

#define DBLESS_FILE "dbless.config"

int
sl_dbless_path(const char *prefix, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/" DBLESS_FILE, prefix);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

bool
sl_dbless_exists(const char *prefix)
{
    char path[4096];
    struct stat sb;
    return sl_dbless_path(prefix, path, sizeof(path)) == 0 && stat(path, &sb) == 0 &&
           S_ISREG(sb.st_mode);
}

int
sl_dbless_save(const char *prefix, const char *text, size_t len, char *err, size_t errlen)
{
    char path[4096];
    if (sl_dbless_path(prefix, path, sizeof(path)) < 0) {
        snprintf(err, errlen, "prefix path too long");
        return -1;
    }
    return sl_file_replace(prefix, path, text, len, err, errlen);
}
